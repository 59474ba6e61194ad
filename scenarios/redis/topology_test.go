package redis

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/scenarios/redis/managed"
	"github.com/runplan/runplan/scenarios/redis/redistest"
)

// TestConnections opens one target per way of reaching a server and runs a
// command, a pipeline, a transaction and a cache lookup through it.
func TestConnections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// yaml returns the target's options.
		yaml func(t *testing.T) string
		kind string
		addr func(t *testing.T, tg *Target) string // the expected Addr, "" to skip
		fast bool
	}{
		{"embedded", func(*testing.T) string { return "" }, driver.KindEmbedded, nil, true},
		{"local redis-server", func(*testing.T) string { return "local_server: redis-server\n" }, driver.KindManaged,
			func(_ *testing.T, tg *Target) string { return "redis://" + tg.Deployment().Addr() }, true},
		{"url", func(t *testing.T) string { return "url: " + redistest.Start(t).URL() + "\n" }, driver.KindExternal, nil, true},
		{"url go-redis", func(t *testing.T) string {
			return "url: " + redistest.Start(t).URL() + "\nfast_path: false\n"
		}, driver.KindExternal, nil, false},
		{"unix socket", func(t *testing.T) string {
			sock := filepath.Join(t.TempDir(), "redis.sock")
			redistest.Start(t, "--unixsocket", sock, "--unixsocketperm", "700")
			return "url: unix://" + sock + "\n"
		}, driver.KindExternal, nil, true},
		{"acl user and db", func(t *testing.T) string {
			s := redistest.Start(t, "--user", "app", "on", ">app-secret-1", "~*", "&*", "+@all", "--user", "default", "off")
			return fmt.Sprintf("url: redis://%s\nusername: app\npassword: app-secret-1\ndb: 3\n", s.Addr())
		}, driver.KindExternal, nil, true},
		{"acl user in url", func(t *testing.T) string {
			s := redistest.Start(t, "--user", "app", "on", ">app-secret-2", "~*", "&*", "+@all", "--user", "default", "off")
			return fmt.Sprintf("url: redis://app:app-secret-2@%s/2\nfast_path: false\n", s.Addr())
		}, driver.KindExternal, nil, false},
		{"tls with client certificate", func(t *testing.T) string { return targetYAML(tlsDeployment(t)) }, driver.KindExternal,
			func(t *testing.T, _ *Target) string { return "rediss://" + tlsDeployment(t).Addr() }, true},
		{"tls go-redis", func(t *testing.T) string {
			return targetYAML(tlsDeployment(t)) + "fast_path: false\n"
		}, driver.KindExternal, nil, false},
		{"tls without client certificate", func(t *testing.T) string {
			d := tlsDeployment(t)
			return fmt.Sprintf("url: rediss://%s\ntls: {ca_file: %s}\n", d.Addr(), d.Certs().CAFile)
		}, driver.KindExternal, nil, true},
		{"tls insecure", func(t *testing.T) string {
			return fmt.Sprintf("url: rediss://%s\ntls: {insecure_skip_verify: true}\n", tlsDeployment(t).Addr())
		}, driver.KindExternal, nil, true},
		{"sentinel", func(t *testing.T) string { return targetYAML(sentinelDeployment(t)) }, driver.KindExternal,
			func(t *testing.T, _ *Target) string {
				d := sentinelDeployment(t)
				return "redis-sentinel://" + strings.Join(d.Sentinels(), ",") + "/" + d.MasterName()
			}, false},
		{"cluster", func(t *testing.T) string { return targetYAML(clusterDeployment(t)) }, driver.KindExternal,
			func(t *testing.T, _ *Target) string {
				return "redis-cluster://" + strings.Join(clusterDeployment(t).Nodes(), ",")
			}, false},
		{"managed standalone", func(*testing.T) string { return "managed: {replicas: 1}\n" }, driver.KindManaged,
			func(_ *testing.T, tg *Target) string { return "redis://" + tg.Deployment().Addr() }, true},
		{"managed sentinel", func(*testing.T) string { return "managed: {topology: sentinel, sentinels: 1, password: managed-pw}\n" }, driver.KindManaged,
			func(_ *testing.T, tg *Target) string {
				return "redis-sentinel://" + tg.Deployment().Sentinels()[0] + "/runplan"
			}, false},
		{"managed cluster tls", func(*testing.T) string { return "managed: {topology: cluster, tls: true, config: {maxmemory: 64mb}}\n" }, driver.KindManaged,
			func(_ *testing.T, tg *Target) string {
				return "rediss-cluster://" + strings.Join(tg.Deployment().Primaries(), ",")
			}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tg := openTarget(t, "", tc.yaml(t))
			if tg.Kind() != tc.kind {
				t.Errorf("Kind = %q, want %q", tg.Kind(), tc.kind)
			}
			if tc.addr != nil {
				if want := tc.addr(t, tg); tg.Addr() != want {
					t.Errorf("Addr = %q, want %q", tg.Addr(), want)
				}
			}
			if (tg.fast != nil) != tc.fast {
				t.Errorf("fast path in use: %v, want %v", tg.fast != nil, tc.fast)
			}
			it := newIter(1)
			mustDo(t, bind(t, tg, `[SET, "{k}a", {value_size: 100}]`), it, 0)
			mustDo(t, bind(t, tg, `{command: [GET, "{k}a"], pipeline: 8}`), it, 0)
			mustDo(t, bind(t, tg, `{commands: [[INCR, "{k}n"], [GET, "{k}a"]], transaction: true}`), it, 0)
			get := bind(t, tg, `{cache_get: {key: "{k}c", on_miss: {value_size: [{size: 10, weight: 1}, {min: 20, max: 30, weight: 1}]}}}`)
			for n, want := range []cacheResult{cacheMiss, cacheHit} {
				if o := mustDo(t, get, it, int64(n)); cacheOf(o) != want {
					t.Errorf("cache_get %d: %v, want %v", n, cacheOf(o), want)
				}
			}
			if err := tg.Ping(context.Background()); err != nil {
				t.Error(err)
			}
			stats, err := tg.ServerStats(context.Background())
			if err != nil {
				t.Fatalf("ServerStats: %v", err)
			}
			if stats["total_commands_processed"] <= 0 {
				t.Errorf("ServerStats lacks total_commands_processed: %v", stats)
			}
			if tc.kind != driver.KindEmbedded && stats["used_memory"] <= 0 {
				t.Errorf("ServerStats lacks used_memory")
			}
			if err := tg.Cleanup(context.Background()); err != nil {
				t.Fatalf("Cleanup: %v", err)
			}
			if keys := keysUnder(t, tg, tg.prefix); len(keys) > 0 {
				t.Errorf("keys left after Cleanup: %v", keys)
			}
		})
	}
}

// TestDBIndex checks that db selects the database on both clients.
func TestDBIndex(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	for _, fast := range []bool{true, false} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			t.Parallel()
			tg := openTarget(t, "", fmt.Sprintf("url: %s\ndb: 5\nfast_path: %v\n", srv.URL(), fast))
			mustDo(t, bind(t, tg, `[SET, k, v]`), newIter(1), 0)
			if got := tg.client.Do(context.Background(), "CLIENT", "INFO").String(); !strings.Contains(got, "db=5") {
				t.Errorf("go-redis client not on db 5: %s", got)
			}
			if n := tg.client.Exists(context.Background(), tg.prefix+"k").Val(); n != 1 {
				t.Errorf("key not in db 5")
			}
		})
	}
}

// TestTLSFailures checks that certificate problems fail Open clearly.
func TestTLSFailures(t *testing.T) {
	t.Parallel()
	d := tlsDeployment(t)
	other, err := managed.GenerateCerts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, yaml, want string
	}{
		{"untrusted CA", fmt.Sprintf("url: rediss://%s\ntls: {ca_file: %s}\n", d.Addr(), other.CAFile), "certificate"},
		{"plain text to a TLS port", fmt.Sprintf("url: redis://%s\ntimeout: 1s\n", d.Addr()), "redis: target"},
		{"system CAs", fmt.Sprintf("url: rediss://%s\n", d.Addr()), "certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := driver.TargetSpec{Name: "cache", Node: node(t, tc.yaml), RunID: runID(t)}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			tg, err := Driver{}.Open(ctx, spec, driver.Env{})
			if err == nil {
				tg.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open: %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// TestManagedLifecycle checks that Close stops a managed deployment and
// removes its files, and that a missing redis-server is a clear error.
func TestManagedLifecycle(t *testing.T) {
	t.Parallel()
	tg := openTarget(t, "", "managed: {topology: sentinel, sentinels: 1}\n")
	d := tg.Deployment()
	servers := d.Servers()
	if len(servers) != 3 {
		t.Fatalf("%d processes, want a primary, a replica and a sentinel", len(servers))
	}
	mustDo(t, bind(t, tg, `[SET, k, v]`), newIter(1), 0)
	if err := tg.Close(); err != nil {
		t.Fatal(err)
	}
	for _, s := range servers {
		if !s.Exited() {
			t.Errorf("%s %s still running after Close", s.Role(), s.Addr())
		}
	}
	if _, err := os.Stat(d.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still exists after Close: %v", d.Dir(), err)
	}

	spec := driver.TargetSpec{Name: "cache", Node: node(t, "managed: {redis_server: /nonexistent/redis-server}\n"), RunID: "r"}
	_, err := Driver{}.Open(context.Background(), spec, driver.Env{})
	if !errors.Is(err, managed.ErrNotInstalled) || !strings.Contains(err.Error(), "redis-server is not installed") {
		t.Errorf("Open without redis-server: %v, want ErrNotInstalled", err)
	}
}

// TestSentinelFailover checks that a sentinel target follows the primary
// through a failover, and that FAILOVER-like commands pass on targets
// runplan started.
func TestSentinelFailover(t *testing.T) {
	t.Parallel()
	tg := openTarget(t, "", "managed: {topology: sentinel, sentinels: 1, node_timeout: 500ms}\n")
	d := tg.Deployment()
	it := newIter(1)
	set := bind(t, tg, `[SET, k, "{{ iteration }}"]`)
	mustDo(t, set, it, 0)
	old := d.Primaries()[0]
	ctx := context.Background()
	sentinel := d.Servers()[2]
	if sentinel.Role() != managed.RoleSentinel {
		t.Fatalf("third process is a %s", sentinel.Role())
	}
	sc := redistest.SentinelClient(sentinel.Addr())
	defer sc.Close()
	if err := sc.Failover(ctx, d.MasterName()).Err(); err != nil {
		t.Fatalf("SENTINEL FAILOVER: %v", err)
	}
	// A hang guard, not a timing: the loop ends as soon as a write succeeds
	// on the new primary.
	deadline := time.Now().Add(60 * time.Second)
	var last driver.Outcome
	for n := int64(1); ; n++ {
		addr, err := sc.GetMasterAddrByName(ctx, d.MasterName()).Result()
		if err == nil && strings.Join(addr, ":") != old {
			if last = do(t, set, it, n); last.Err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write succeeded on a new primary within a minute (master %v, %v; last write: %v, class %q)",
				addr, err, last.Err, last.Class)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
