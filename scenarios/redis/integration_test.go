package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/tmpl"
	"github.com/runplan/runplan/scenarios/redis/managed"
	"github.com/runplan/runplan/scenarios/redis/redistest"
)

// TestMain shares the slow-starting topologies (sentinel, cluster) between
// the tests of the package, and stops them at the end.
func TestMain(m *testing.M) {
	code := m.Run()
	redistest.CloseShared()
	os.Exit(code)
}

// Shared deployments. Tests on them use their own key prefix (the run id
// is the test's name) and never stop their servers.
func sentinelDeployment(t testing.TB) *managed.Deployment {
	return redistest.Shared(t, "sentinel", managed.Config{Topology: managed.Sentinel, Replicas: 1})
}

func clusterDeployment(t testing.TB) *managed.Deployment {
	return redistest.Shared(t, "cluster", managed.Config{Topology: managed.Cluster, Replicas: 1})
}

func tlsDeployment(t testing.TB) *managed.Deployment {
	return redistest.Shared(t, "tls", managed.Config{TLS: true})
}

// targetYAML returns the YAML options that reach deployment d.
func targetYAML(d *managed.Deployment) string {
	addrs := func(list []string) string { return "[" + strings.Join(list, ", ") + "]" }
	switch d.Topology() {
	case managed.Sentinel:
		return fmt.Sprintf("sentinel: {master: %s, addrs: %s}\n", d.MasterName(), addrs(d.Sentinels()))
	case managed.Cluster:
		return fmt.Sprintf("cluster: {addrs: %s}\n", addrs(d.Nodes()))
	}
	if c := d.Certs(); c != nil {
		return fmt.Sprintf("url: rediss://%s\ntls: {ca_file: %s, cert_file: %s, key_file: %s}\n", d.Addr(), c.CAFile, c.ClientCertFile, c.ClientKeyFile)
	}
	return "url: redis://" + d.Addr() + "\n"
}

// backend opens a target of one kind; extra is appended to the target's YAML.
type backend struct {
	name string
	open func(t *testing.T, extra string) *Target
}

func backends() []backend {
	return []backend{
		{"embedded", func(t *testing.T, extra string) *Target { return openTarget(t, "", extra) }},
		{"external", func(t *testing.T, extra string) *Target {
			return openTarget(t, redistest.Start(t).URL(), extra)
		}},
		{"go-redis", func(t *testing.T, extra string) *Target {
			return openTarget(t, redistest.Start(t).URL(), "fast_path: false\n"+extra)
		}},
		{"tls", func(t *testing.T, extra string) *Target { return openTarget(t, "", targetYAML(tlsDeployment(t))+extra) }},
		{"sentinel", func(t *testing.T, extra string) *Target {
			return openTarget(t, "", targetYAML(sentinelDeployment(t))+extra)
		}},
		{"cluster", func(t *testing.T, extra string) *Target {
			return openTarget(t, "", targetYAML(clusterDeployment(t))+extra)
		}},
	}
}

// runIDs remembers which test got which run id, so that a test run again
// (go test -count=N) on a shared deployment gets keys of its own.
var runIDs = struct {
	sync.Mutex
	byName map[string]runIDUse
}{byName: map[string]runIDUse{}}

type runIDUse struct {
	t    testing.TB
	id   string
	runs int
}

// runID derives a run id from the test's name, unique within the package
// and the same for every call of one test.
func runID(t testing.TB) string {
	name := strings.NewReplacer("/", "-", " ", "_", "{", "(", "}", ")").Replace(t.Name())
	runIDs.Lock()
	defer runIDs.Unlock()
	u, ok := runIDs.byName[name]
	switch {
	case !ok:
		u = runIDUse{t: t, id: name, runs: 1}
	case u.t != t:
		u.runs++
		u.t, u.id = t, fmt.Sprintf("%s-%d", name, u.runs)
	}
	runIDs.byName[name] = u
	return u.id
}

// openTarget opens a target whose run id is unique to the test, and closes
// it when the test ends. url goes to the spec's URL as the engine does.
func openTarget(t testing.TB, url, extra string) *Target {
	t.Helper()
	src := "driver: redis\n"
	if url != "" {
		src += "url: " + url + "\n"
	}
	src += extra
	if url == "" && !strings.Contains(extra, "url:") && !strings.Contains(extra, "managed:") && !strings.Contains(extra, "sentinel:") &&
		!strings.Contains(extra, "cluster:") && !strings.Contains(extra, "local_server:") {
		// The tests written for the in-process server keep it; the default
		// (a redis-server when installed) has tests of its own.
		src += "local_server: miniredis\n"
	}
	spec := driver.TargetSpec{Name: "cache", Driver: "redis", URL: url, Node: node(t, src), RunID: runID(t)}
	if url == "" {
		if u := node(t, src); u != nil {
			for i := 0; i+1 < len(u.Content); i += 2 {
				if u.Content[i].Value == "url" {
					spec.URL = u.Content[i+1].Value
				}
			}
		}
	}
	if err := checkTarget(spec); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tg, err := openTargetSpec(ctx, spec, driver.Env{Seed: 1, Log: func(string) {}})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := tg.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return tg.(*Target)
}

// bind prepares the step whose `redis:` value is src and binds it to tg.
func bind(t testing.TB, tg *Target, src string) driver.Step {
	t.Helper()
	spec := stepSpec(t, src)
	target := driver.TargetSpec{Name: "cache", Node: node(t, "managed: {}\n")} // runplan's own: nothing refused
	step, err := prepareOn(target, spec)
	if err != nil {
		t.Fatalf("Prepare(%s): %v", src, err)
	}
	if err := step.Bind(tg); err != nil {
		t.Fatalf("Bind: %v", err)
	}
	return step
}

func newIter(vu int) *driver.Iteration {
	rng := rand.New(rand.NewPCG(1, uint64(vu)))
	return &driver.Iteration{Scenario: "sc", VU: vu, Rand: rng, Templates: tmpl.NewState("sc", vu, rng)}
}

// do runs the step as iteration n.
func do(t testing.TB, step driver.Step, it *driver.Iteration, n int64) driver.Outcome {
	t.Helper()
	it.Number, it.VUIter = n, n
	it.Templates.SetIteration(n)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return step.Do(ctx, it)
}

func mustDo(t *testing.T, step driver.Step, it *driver.Iteration, n int64) driver.Outcome {
	t.Helper()
	o := do(t, step, it, n)
	if o.Err != nil {
		t.Fatalf("Do: %v (class %q)", o.Err, o.Class)
	}
	return o
}

// keysUnder lists the keys matching prefix*, on every primary of a cluster.
func keysUnder(t *testing.T, tg *Target, prefix string) []string {
	t.Helper()
	ctx := context.Background()
	var mu sync.Mutex
	var keys []string
	scan := func(ctx context.Context, c goredis.UniversalClient) error {
		iter := c.Scan(ctx, 0, globEscape(prefix)+"*", 1000).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			keys = append(keys, iter.Val())
			mu.Unlock()
		}
		return iter.Err()
	}
	var err error
	if tg.cluster != nil {
		err = tg.cluster.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error { return scan(ctx, c) })
	} else {
		err = scan(ctx, tg.client)
	}
	if err != nil {
		t.Fatalf("SCAN: %v", err)
	}
	slices.Sort(keys)
	return keys
}

// filterPrefix keeps the keys that start with p.
func filterPrefix(keys []string, p string) []string {
	var out []string
	for _, k := range keys {
		if strings.HasPrefix(k, p) {
			out = append(out, k)
		}
	}
	return out
}

// allKeys lists every key of the target's database.
func allKeys(t *testing.T, tg *Target) []string { return keysUnder(t, tg, "") }

func TestRegistered(t *testing.T) {
	t.Parallel()
	d, err := driver.Lookup("redis")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.(Driver); !ok {
		t.Fatalf("registered driver is %T", d)
	}
}

func TestKinds(t *testing.T) {
	t.Parallel()
	emb := openTarget(t, "", "")
	if emb.Kind() != driver.KindEmbedded || !strings.HasPrefix(emb.Addr(), "redis://127.0.0.1:") {
		t.Errorf("embedded: kind %q addr %q", emb.Kind(), emb.Addr())
	}
	srv := redistest.Start(t)
	ext := openTarget(t, srv.URL(), "")
	if ext.Kind() != driver.KindExternal || ext.Addr() != srv.URL() {
		t.Errorf("external: kind %q addr %q, want %q", ext.Kind(), ext.Addr(), srv.URL())
	}
	if err := ext.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if emb.KeyPrefix() != "runplan:"+t.Name()+":" {
		t.Errorf("KeyPrefix = %q", emb.KeyPrefix())
	}
}

func TestCommandSteps(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			tg := b.open(t, "")
			p := tg.prefix
			it := newIter(1)
			set := bind(t, tg, `[SET, "k:{{ seq(3) }}", "v{{ iteration }}", EX, 60]`)
			for n := range int64(3) {
				mustDo(t, set, it, n)
			}
			// Hash tags keep multi-key commands in one cluster slot.
			mustDo(t, bind(t, tg, `[MSET, "{t}a", 1, "{t}b", 2]`), it, 0)
			mustDo(t, bind(t, tg, `[HSET, h, f, "{{ vu }}"]`), it, 0)
			mustDo(t, bind(t, tg, `[INCRBY, n, 5]`), it, 0)
			mustDo(t, bind(t, tg, `[PUBLISH, chan, hi]`), it, 0)
			mustDo(t, bind(t, tg, `[PING]`), it, 0)
			// A nil reply is no error.
			mustDo(t, bind(t, tg, `[GET, "signal:latest"]`), it, 0)
			// Generated values, pipelines and transactions.
			mustDo(t, bind(t, tg, `[SET, v, {value_size: 300}]`), it, 0)
			mustDo(t, bind(t, tg, `[SET, "r:{{ iteration }}", {value_size: {min: 10, max: 20}}]`), it, 0)
			mustDo(t, bind(t, tg, `{command: [RPUSH, "{l}list", "{{ iteration }}"], pipeline: 4}`), it, 0)
			mustDo(t, bind(t, tg, `{commands: [[INCR, "{x}c"], [EXPIRE, "{x}c", 60], [GET, "{x}c"]], transaction: true}`), it, 0)
			mustDo(t, bind(t, tg, `{commands: [[SET, "{x}d", 1], [GET, "{x}missing"]], pipeline: 2}`), it, 0)

			want := []string{p + "h", p + "k:0", p + "k:1", p + "k:2", p + "n", p + "r:0", p + "v",
				p + "{l}list", p + "{t}a", p + "{t}b", p + "{x}c", p + "{x}d"}
			slices.Sort(want)
			if got := keysUnder(t, tg, ""); !slices.Equal(filterPrefix(got, p), want) {
				t.Fatalf("keys = %v, want %v", filterPrefix(got, p), want)
			}
			if got := keysUnder(t, tg, p); !slices.Equal(got, want) {
				t.Fatalf("keys under the prefix = %v, want %v", got, want)
			}
			ctx := context.Background()
			c := tg.client
			if v := c.Get(ctx, p+"k:2").Val(); v != "v2" {
				t.Errorf("k:2 = %q, want v2", v)
			}
			if ttl := c.TTL(ctx, p+"k:0").Val(); ttl <= 0 || ttl > time.Minute {
				t.Errorf("TTL k:0 = %v, want about 60s", ttl)
			}
			if v := c.HGet(ctx, p+"h", "f").Val(); v != "1" {
				t.Errorf("h f = %q, want 1", v)
			}
			if n := c.StrLen(ctx, p+"v").Val(); n != 300 {
				t.Errorf("generated value has %d bytes, want 300", n)
			}
			if n := c.StrLen(ctx, p+"r:0").Val(); n < 10 || n > 20 {
				t.Errorf("generated value has %d bytes, want 10 to 20", n)
			}
			if n := c.LLen(ctx, p+"{l}list").Val(); n != 4 {
				t.Errorf("pipeline of 4 RPUSH left %d elements", n)
			}
			if ttl := c.TTL(ctx, p+"{x}c").Val(); ttl <= 0 || c.Get(ctx, p+"{x}c").Val() != "1" {
				t.Errorf("transaction: TTL %v, value %q", ttl, c.Get(ctx, p+"{x}c").Val())
			}

			// A server error reply, alone, in a pipeline, in a transaction.
			o := do(t, bind(t, tg, `[LPUSH, "{t}a", x]`), it, 0)
			if o.Err == nil || o.Class != ClassRedis || !strings.Contains(o.Err.Error(), "WRONGTYPE") ||
				!strings.HasPrefix(o.Err.Error(), "redis: LPUSH: ") {
				t.Errorf("LPUSH on a string: %v (class %q), want a WRONGTYPE redis error", o.Err, o.Class)
			}
			for _, src := range []string{`{commands: [[GET, "{t}a"], [LPUSH, "{t}a", x]]}`, `{commands: [[GET, "{t}a"], [LPUSH, "{t}a", x]], transaction: true}`} {
				o := do(t, bind(t, tg, src), it, 0)
				if o.Err == nil || o.Class != ClassRedis || !strings.Contains(o.Err.Error(), "WRONGTYPE") {
					t.Errorf("%s: %v (class %q), want a WRONGTYPE redis error", src, o.Err, o.Class)
				}
			}
			// A template that fails at run time (vu is 1: a literal 0 is refused at validation).
			o = do(t, bind(t, tg, `[GET, "{{ uniform(vu - 1) }}"]`), it, 0)
			if o.Err == nil || o.Class != ClassTemplate {
				t.Errorf("uniform(0): %v (class %q), want a template error", o.Err, o.Class)
			}
		})
	}
}

func TestCacheGet(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			tg := b.open(t, "")
			ctx := context.Background()
			it := newIter(1)
			step := bind(t, tg, `{cache_get: {key: "strategy:{{ seq(2) }}", on_miss: {value_size: 512, ttl: 5m, load_delay: 5ms}}}`)
			wantCache := []cacheResult{cacheMiss, cacheMiss, cacheHit, cacheHit}
			for n, want := range wantCache {
				start := time.Now()
				o := mustDo(t, step, it, int64(n))
				if cacheOf(o) != want {
					t.Errorf("iteration %d: cache %v, want %v", n, cacheOf(o), want)
				}
				if want == cacheMiss && time.Since(start) < 5*time.Millisecond {
					t.Errorf("iteration %d: a miss took %v, less than load_delay", n, time.Since(start))
				}
			}
			key := tg.prefix + "strategy:1"
			if v := tg.client.Get(ctx, key).Val(); len(v) != 512 {
				t.Errorf("filled value has %d bytes, want 512", len(v))
			}
			if ttl := tg.client.TTL(ctx, key).Val(); ttl <= 4*time.Minute || ttl > 5*time.Minute {
				t.Errorf("TTL = %v, want about 5m", ttl)
			}

			// Without on_miss a miss is not filled.
			probe := bind(t, tg, `{cache_get: {key: probe}}`)
			for n := range 2 {
				if o := mustDo(t, probe, it, int64(n)); cacheOf(o) != cacheMiss {
					t.Errorf("probe %d: cache %v, want a miss", n, cacheOf(o))
				}
			}
			// No ttl: no expiry on runplan's own servers, the safety TTL on
			// others; sub-second ttl: PX; value_size default.
			mustDo(t, bind(t, tg, `{cache_get: {key: forever, on_miss: {}}}`), it, 0)
			if ttl := tg.client.TTL(ctx, tg.prefix+"forever").Val(); tg.owned && ttl != -1 || !tg.owned && (ttl <= 0 || ttl > tg.safetyTTL) {
				t.Errorf("TTL without ttl = %v, want -1 (none) on an owned target, at most the safety TTL (%v) elsewhere", ttl, tg.safetyTTL)
			}
			if n := tg.client.StrLen(ctx, tg.prefix+"forever").Val(); n != defaultValueSize {
				t.Errorf("default value_size = %d, want %d", n, defaultValueSize)
			}
			// PX 1500, not EX 1 or 2: the TTL left is 1.5 s less the time
			// since the SET, which is measured rather than assumed short.
			set := time.Now()
			mustDo(t, bind(t, tg, `{cache_get: {key: brief, on_miss: {ttl: 1500ms}}}`), it, 0)
			ttl := tg.client.PTTL(ctx, tg.prefix+"brief").Val()
			if since := time.Since(set); ttl < 1500*time.Millisecond-since-time.Millisecond || ttl > 1500*time.Millisecond {
				t.Errorf("PTTL = %v %v after the SET, want 1.5s less that", ttl, since)
			}

			// Keys expire, the embedded server included.
			short := bind(t, tg, `{cache_get: {key: short, on_miss: {ttl: 100ms}}}`)
			for n, want := range []cacheResult{cacheMiss, cacheHit} {
				if o := mustDo(t, short, it, int64(n)); cacheOf(o) != want {
					t.Errorf("short %d: cache %v, want %v", n, cacheOf(o), want)
				}
			}
			deadline := time.Now().Add(30 * time.Second) // a hang guard
			for tg.client.Exists(ctx, tg.prefix+"short").Val() == 1 {
				if time.Now().After(deadline) {
					t.Fatal("key with ttl 100ms did not expire")
				}
				time.Sleep(20 * time.Millisecond)
			}
			if o := mustDo(t, short, it, 2); cacheOf(o) != cacheMiss {
				t.Errorf("after expiry: cache %v, want a miss", cacheOf(o))
			}

			// A failing lookup reports neither hit nor miss: a lookup error,
			// which the hit ratio counts as a lookup.
			mustDo(t, bind(t, tg, `[LPUSH, list, x]`), it, 0)
			o := do(t, bind(t, tg, `{cache_get: {key: list}}`), it, 0)
			if o.Err == nil || o.Class != ClassRedis || cacheOf(o) != cacheError {
				t.Errorf("cache_get on a list: %+v", o)
			}
		})
	}
}

func TestCleanup(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		for _, keep := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/keep=%v", b.name, keep), func(t *testing.T) {
				t.Parallel()
				tg := b.open(t, fmt.Sprintf("keep: %v\n", keep))
				ctx := context.Background()
				unrelated := []string{"unrelated-" + tg.prefix, "runplan:other-run:" + tg.prefix, strings.TrimSuffix(tg.prefix, ":")}
				t.Cleanup(func() { tg.client.Del(context.Background(), unrelated...) })
				for _, k := range unrelated {
					tg.client.Set(ctx, k, "x", 0)
				}
				it := newIter(1)
				set := bind(t, tg, `[SET, "k:{{ iteration }}", v]`)
				for n := range int64(2500) { // more than one SCAN batch
					mustDo(t, set, it, n)
				}
				mustDo(t, bind(t, tg, `{cache_get: {key: c, on_miss: {}}}`), it, 0)
				if err := tg.Cleanup(ctx); err != nil {
					t.Fatalf("Cleanup: %v", err)
				}
				want := 0
				if keep {
					want = 2501
				}
				if got := keysUnder(t, tg, tg.prefix); len(got) != want {
					t.Fatalf("%d keys left, want %d", len(got), want)
				}
				for _, k := range unrelated {
					if tg.client.Exists(ctx, k).Val() != 1 {
						t.Errorf("Cleanup removed unrelated key %q", k)
					}
				}
				if keep {
					tg.keep = false
					if err := tg.Cleanup(ctx); err != nil {
						t.Fatal(err)
					}
				}
			})
		}
	}
}

func TestCleanupGlobPrefix(t *testing.T) {
	t.Parallel()
	tg := openTarget(t, "", "key_prefix: \"a*[b]?:\"\n")
	ctx := context.Background()
	other := "aXXbY:" + strings.TrimPrefix(tg.prefix, "a*[b]?:") + "k" // matched by the unescaped glob
	tg.client.Set(ctx, other, "x", 0)
	mustDo(t, bind(t, tg, `[SET, k, v]`), newIter(1), 0)
	if err := tg.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if got := allKeys(t, tg); !slices.Equal(got, []string{other}) {
		t.Fatalf("keys = %v", got)
	}
}

func TestAuthAndRedaction(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, "--requirepass", "s3cret-pw")
	tg := openTarget(t, "redis://default:s3cret-pw@"+srv.Addr()+"/0", "")
	if want := "redis://default:****@" + srv.Addr() + "/0"; tg.Addr() != want {
		t.Errorf("Addr = %q, want %q", tg.Addr(), want)
	}
	mustDo(t, bind(t, tg, `[SET, k, v]`), newIter(1), 0)

	closed := closedPort(t)
	tests := []struct {
		name, url, secret, want string
		class                   string
	}{
		{"wrong password", "redis://default:wr0ng-pw@" + srv.Addr(), "wr0ng-pw", "WRONGPASS", ClassRedis},
		{"no password", srv.URL(), "", "NOAUTH", ClassRedis},
		{"unreachable", "redis://user:hunter2@" + closed, "hunter2", "redis://user:****@" + closed, ClassRefused},
		{"unreachable encoded", "redis://user:hun%74er2@" + closed, "hun", "redis://user:****@" + closed, ClassRefused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := driver.TargetSpec{Name: "cache", URL: tc.url, Node: node(t, "url: x\ntimeout: 1s\n"), RunID: "r"}
			tg, err := openTargetSpec(context.Background(), spec, driver.Env{})
			if err == nil {
				tg.Close()
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			if tc.secret != "" && strings.Contains(msg, tc.secret) {
				t.Errorf("error leaks the password: %s", msg)
			}
			if !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, "redis: ") {
				t.Errorf("error %q, want it to contain %q", msg, tc.want)
			}
			if c := classify(err); c != tc.class {
				t.Errorf("class %q, want %q (%v)", c, tc.class, err)
			}
		})
	}
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestTimeouts(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	tg := openTarget(t, srv.URL(), "timeout: 100ms\n")
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer admin.Close()
	ctx := context.Background()
	it := newIter(1)
	get := bind(t, tg, `[GET, k]`)
	cache := bind(t, tg, `{cache_get: {key: k}}`)
	mustDo(t, get, it, 0) // a pooled connection exists before the pause

	// A pause far longer than the timeouts: only they can end the calls.
	if err := admin.Do(ctx, "CLIENT", "PAUSE", "30000", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for _, s := range []driver.Step{get, cache} {
		o := do(t, s, it, 1) // read timeout of the target
		if o.Class != ClassTimeout || o.Err == nil {
			t.Errorf("during CLIENT PAUSE: %v (class %q), want a timeout", o.Err, o.Class)
		}
	}
	// The caller's deadline.
	dctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	o := get.Do(dctx, it)
	cancel()
	if o.Class != ClassTimeout {
		t.Errorf("past the caller's deadline: %v (class %q), want a timeout", o.Err, o.Class)
	}
	// Without timeouts the calls would wait for the pause to end.
	if el := time.Since(start); el > 20*time.Second {
		t.Errorf("timeouts took %v", el)
	}
}

func TestTimeoutEmbedded(t *testing.T) {
	t.Parallel()
	tg := openTarget(t, "", "")
	it := newIter(1)
	slow := bind(t, tg, `{cache_get: {key: k, on_miss: {load_delay: 1s}}}`)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	o := slow.Do(ctx, it)
	if o.Class != ClassTimeout || cacheOf(o) != cacheMiss {
		t.Errorf("load_delay past the deadline: %+v", o)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if o := bind(t, tg, `[GET, k]`).Do(ctx, it); o.Err == nil || o.Class != ClassCanceled {
		t.Errorf("canceled context: %+v", o)
	}
}

func TestServerGone(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	tg := openTarget(t, srv.URL(), "timeout: 1s\n")
	it := newIter(1)
	get := bind(t, tg, `[GET, k]`)
	mustDo(t, get, it, 0)
	srv.Stop()
	var classes []string
	for n := range int64(3) {
		o := do(t, get, it, n)
		if o.Err == nil {
			t.Fatal("Do succeeded with the server gone")
		}
		classes = append(classes, o.Class)
	}
	for _, c := range classes {
		if c != ClassConnection && c != ClassRefused {
			t.Errorf("classes %v: want connection or refused", classes)
		}
	}
	if classes[len(classes)-1] != ClassRefused {
		t.Errorf("classes %v: want the last one refused", classes)
	}
}

func TestBindWrongTarget(t *testing.T) {
	t.Parallel()
	for _, src := range []string{`[GET, k]`, `{cache_get: {key: k}}`} {
		step, err := prepareStep(stepSpec(t, src))
		if err != nil {
			t.Fatal(err)
		}
		if err := step.Bind(otherTarget{}); err == nil || !strings.HasPrefix(err.Error(), "redis: ") {
			t.Errorf("Bind(other target) = %v", err)
		}
	}
}

type otherTarget struct{}

func (otherTarget) Kind() string { return driver.KindExternal }
func (otherTarget) Addr() string { return "http://x" }
func (otherTarget) Close() error { return nil }

func TestOpenRejectsBadConfig(t *testing.T) {
	t.Parallel()
	spec := driver.TargetSpec{Name: "c", Node: node(t, "pool_size: 0\n")}
	if _, err := openTargetSpec(context.Background(), spec, driver.Env{}); err == nil {
		t.Fatal("Open accepted pool_size 0")
	}
}

// TestConcurrentDo runs steps from many goroutines, each with its own
// iteration state, as the engine does; run with -race.
func TestConcurrentDo(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			tg := b.open(t, "pool_size: 4\n")
			steps := []driver.Step{
				bind(t, tg, `[SET, "k:{{ vu }}:{{ uniform(50) }}", "{{ randstr(40) }}"]`),
				bind(t, tg, `[MGET, "{m}k:{{ vu }}:{{ uniform(50) }}", "{m}k:1:{{ uniform(50) }}", "{m}static"]`),
				bind(t, tg, `{cache_get: {key: "c:{{ zipf(100, 1.1) }}", on_miss: {value_size: 32}}}`),
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			hits := 0
			for vu := 1; vu <= 8; vu++ {
				wg.Go(func() {
					it := newIter(vu)
					for n := range int64(200) {
						for _, s := range steps {
							o := do(t, s, it, n)
							if o.Err != nil {
								t.Errorf("vu %d: %v", vu, o.Err)
								return
							}
							if cacheOf(o) == cacheHit {
								mu.Lock()
								hits++
								mu.Unlock()
							}
						}
					}
				})
			}
			wg.Wait()
			if hits == 0 {
				t.Error("no cache hits")
			}
			// Nothing was written outside the prefix.
			for _, bare := range []string{"k:", "c:", "static"} {
				if got := keysUnder(t, tg, bare); len(got) > 0 {
					t.Errorf("keys outside the prefix: %v", got)
				}
			}
			if len(keysUnder(t, tg, tg.prefix)) == 0 {
				t.Error("no keys under the prefix")
			}
		})
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: err}}
	}
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{context.DeadlineExceeded, ClassTimeout},
		{fmt.Errorf("x: %w", os.ErrDeadlineExceeded), ClassTimeout},
		{goredis.ErrPoolTimeout, ClassTimeout},
		{&net.OpError{Op: "read", Err: timeoutErr{}}, ClassTimeout},
		{context.Canceled, ClassCanceled},
		{opErr(syscall.ECONNREFUSED), ClassRefused},
		{opErr(syscall.ECONNRESET), ClassConnection},
		{io.EOF, ClassConnection},
		{goredis.ErrClosed, ClassConnection},
		{fmt.Errorf("%w: bad line %q", errProtocol, "?"), ClassProtocol},
		{errors.New("WRONGTYPE"), ""},
	}
	for _, tc := range tests {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("classify(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// BenchmarkDo measures a step's client-side cost: against the embedded
// server, and against a real redis-server through the fast path and
// through go-redis, one call at a time (the round trip's latency) and from
// 50 goroutines at once (throughput, as 50 VUs). -benchmem shows the
// allocations per call; ops/s counts Redis commands.
func BenchmarkDo(b *testing.B) {
	srv := redistest.Start(b)
	targets := []struct {
		name string
		tg   *Target
	}{
		{"embedded", openTarget(b, "", "pool_size: 64\n")},
		{"fast", openTarget(b, srv.URL(), "pool_size: 64\n")},
		{"go-redis", openTarget(b, srv.URL(), "pool_size: 64\nfast_path: false\n")},
	}
	steps := []struct {
		name, src string
		cmds      int
	}{
		{"get static", `[GET, k]`, 1},
		{"set templated", `[SET, "k:{{ uniform(1000) }}", "v", EX, 60]`, 1},
		{"set generated value", `[SET, "k:{{ uniform(1000) }}", {value_size: {min: 100, max: 1000}}]`, 1},
		{"get pipeline 16", `{command: [GET, "k:{{ uniform(1000) }}"], pipeline: 16}`, 16},
		{"transaction", `{commands: [[INCR, n], [GET, k]], transaction: true}`, 2},
		{"cache_get", `{cache_get: {key: "s:{{ zipf(1000, 1.1) }}", on_miss: {value_size: 512}}}`, 1},
	}
	for _, tc := range targets {
		for _, st := range steps {
			step := bind(b, tc.tg, st.src)
			ctx := context.Background()
			b.Run(tc.name+"/"+st.name+"/serial", func(b *testing.B) {
				it := newIter(1)
				b.ReportAllocs()
				for b.Loop() {
					if o := step.Do(ctx, it); o.Err != nil {
						b.Fatal(o.Err)
					}
				}
				b.ReportMetric(float64(b.N*st.cmds)/b.Elapsed().Seconds(), "cmds/s")
			})
			b.Run(tc.name+"/"+st.name+"/50-parallel", func(b *testing.B) {
				b.ReportAllocs()
				b.SetParallelism(max(50/runtime.GOMAXPROCS(0), 1))
				var vu atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					it := newIter(int(vu.Add(1)))
					for pb.Next() {
						if o := step.Do(ctx, it); o.Err != nil {
							b.Error(o.Err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N*st.cmds)/b.Elapsed().Seconds(), "cmds/s")
			})
		}
	}
}
