package redis

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/scenarios/redis/redistest"
)

// TestDestructiveGate checks which targets may run destructive commands:
// those runplan starts, and others only with both opt-ins.
func TestDestructiveGate(t *testing.T) {
	t.Parallel()
	targets := []struct {
		name    string
		spec    driver.TargetSpec
		allowed bool
	}{
		{"external", driver.TargetSpec{Name: "prod", URL: "redis://cache:6379", Node: node(t, "driver: redis\nurl: redis://cache:6379\n")}, false},
		{"external, plan opt-in only", driver.TargetSpec{Name: "prod", URL: "redis://cache:6379",
			Node: node(t, "driver: redis\nurl: redis://cache:6379\nallow_destructive: true\n")}, false},
		{"external, both opt-ins", driver.TargetSpec{Name: "prod", URL: "redis://cache:6379", AllowDestructive: true,
			Node: node(t, "driver: redis\nurl: redis://cache:6379\nallow_destructive: true\n")}, true},
		{"sentinel", driver.TargetSpec{Name: "prod", Node: node(t, "sentinel: {master: m, addrs: [\"h:26379\"]}\n")}, false},
		{"cluster", driver.TargetSpec{Name: "prod", Node: node(t, "cluster: {addrs: [\"h:7000\"]}\n")}, false},
		{"embedded", driver.TargetSpec{Name: "local", Node: node(t, "driver: redis\n")}, true},
		{"managed", driver.TargetSpec{Name: "local", Node: node(t, "driver: redis\nmanaged: {topology: cluster}\n")}, true},
	}
	steps := []string{
		`[FLUSHALL]`, `[flushdb, ASYNC]`, `[CONFIG, SET, maxmemory, 1mb]`, `[DEBUG, SLEEP, 0]`, `[SHUTDOWN, NOSAVE]`,
		`[CLIENT, PAUSE, 10]`, `[CLIENT, KILL, TYPE, normal]`, `[FAILOVER]`, `[KEYS, "*"]`, `[SCAN, 0]`,
		`{command: [FLUSHALL], pipeline: 2}`, `{commands: [[GET, k], [FLUSHDB]], transaction: true}`,
	}
	for _, tg := range targets {
		for _, src := range steps {
			t.Run(tg.name+"/"+src, func(t *testing.T) {
				t.Parallel()
				spec := stepSpec(t, src)
				target := tg.spec
				_, err := prepareOn(target, spec)
				switch {
				case tg.allowed && err != nil:
					t.Errorf("refused: %v", err)
				case !tg.allowed && err == nil:
					t.Errorf("accepted on %s", tg.name)
				case !tg.allowed && !strings.Contains(err.Error(), "allow_destructive: true on the target and pass --allow-destructive"):
					t.Errorf("error %q does not say how to allow it", err)
				}
			})
		}
	}
	// Commands that take over or change a pooled connection are refused
	// everywhere.
	for _, src := range []string{`[MONITOR]`, `[SELECT, 1]`, `[AUTH, pw]`, `[SUBSCRIBE, ch]`, `[MULTI]`, `[WATCH, k]`} {
		spec := stepSpec(t, src)
		target := driver.TargetSpec{Name: "local", Node: node(t, "driver: redis\n"), AllowDestructive: true}
		if _, err := prepareOn(target, spec); err == nil || !strings.Contains(err.Error(), "is refused") {
			t.Errorf("%s: %v, want refused", src, err)
		}
	}
}

// TestDestructiveRuns runs destructive commands where they are allowed.
func TestDestructiveRuns(t *testing.T) {
	t.Parallel()
	tg := openTarget(t, "", "managed: {}\n")
	it := newIter(1)
	mustDo(t, bind(t, tg, `[SET, k, v]`), it, 0)
	mustDo(t, bind(t, tg, `[CONFIG, SET, maxmemory-policy, allkeys-lru]`), it, 0)
	mustDo(t, bind(t, tg, `[DEBUG, SLEEP, 0]`), it, 0)
	mustDo(t, bind(t, tg, `[FLUSHALL]`), it, 0)
	if keys := allKeys(t, tg); len(keys) != 0 {
		t.Errorf("keys after FLUSHALL: %v", keys)
	}
	if got := tg.client.ConfigGet(context.Background(), "maxmemory-policy").Val()["maxmemory-policy"]; got != "allkeys-lru" {
		t.Errorf("maxmemory-policy = %q", got)
	}
}

// logSink collects what the driver logs.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logSink) log(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.WriteString(msg + "\n")
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestPasswordNeverShown follows a canary password through every place
// the driver writes to: validation errors, Addr, logs, open, step, INFO and
// cleanup errors, and the managed servers' command lines.
func TestPasswordNeverShown(t *testing.T) {
	t.Parallel()
	const canary = "Canary-7d1e-pw"
	check := func(t *testing.T, where, s string) {
		t.Helper()
		if strings.Contains(s, canary) || strings.Contains(s, strings.ToLower(canary)) {
			t.Errorf("%s shows the password: %s", where, s)
		}
	}
	srv := redistest.Start(t, "--requirepass", canary)

	t.Run("validation", func(t *testing.T) {
		t.Parallel()
		for _, src := range []string{
			"url: redis://u:" + canary + "@host:bad\n",
			"url: redis://u:" + canary + "@host/x\n",
			"url: redis://:" + canary + "@host\npassword: " + canary + "\n",
			"url: redis://host\npassword: [" + canary + "]\n",
			"sentinel: {master: m, addrs: [h1], password: " + canary + "}\n",
			"managed: {password: " + canary + ", topology: nope}\n",
			"url: redis://host?password=" + canary + "&bogus=1\n",
		} {
			n := node(t, src)
			spec := driver.TargetSpec{Name: "t", Node: n}
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == "url" {
					spec.URL = n.Content[i+1].Value
				}
			}
			err := checkTarget(spec)
			if err == nil {
				t.Errorf("%s: no error", src)
				continue
			}
			check(t, "Configure", err.Error())
		}
	})

	t.Run("external", func(t *testing.T) {
		t.Parallel()
		var logs logSink
		for _, fast := range []bool{true, false} {
			for _, src := range []string{
				fmt.Sprintf("url: redis://:%s@%s\n", canary, srv.Addr()),
				fmt.Sprintf("url: redis://%s\npassword: %s\n", srv.Addr(), canary),
			} {
				src += fmt.Sprintf("fast_path: %v\ntimeout: 500ms\n", fast)
				spec := driver.TargetSpec{Name: "cache", Node: node(t, src), RunID: runID(t)}
				tgi, err := openTargetSpec(context.Background(), spec, driver.Env{Log: logs.log})
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				tg := tgi.(*Target)
				check(t, "Addr", tg.Addr())
				mustDo(t, bind(t, tg, `[SET, k, v]`), newIter(1), 0)
				tg.Close()
			}
		}
		// Failures: a wrong password, and a server gone.
		for _, src := range []string{
			fmt.Sprintf("url: redis://:%sX@%s\n", canary, srv.Addr()),
			fmt.Sprintf("url: redis://:%s@%s\n", canary, closedPort(t)),
			fmt.Sprintf("url: redis://%s\npassword: %s\ntimeout: 300ms\n", closedPort(t), canary),
		} {
			spec := driver.TargetSpec{Name: "cache", Node: node(t, src), RunID: runID(t)}
			_, err := openTargetSpec(context.Background(), spec, driver.Env{Log: logs.log})
			if err == nil {
				t.Fatalf("%s: Open succeeded", src)
			}
			check(t, "Open error", err.Error())
		}
		check(t, "the log", logs.String())
	})

	t.Run("server gone", func(t *testing.T) {
		t.Parallel()
		for _, fast := range []bool{true, false} {
			srv := redistest.Start(t, "--requirepass", canary)
			tg := openTarget(t, "", fmt.Sprintf("url: redis://:%s@%s\ntimeout: 500ms\nfast_path: %v\n", canary, srv.Addr(), fast))
			check(t, "Addr", tg.Addr())
			get := bind(t, tg, `[GET, k]`)
			cache := bind(t, tg, `{cache_get: {key: k}}`)
			mustDo(t, get, newIter(1), 0)
			srv.Stop()
			for _, s := range []driver.Step{get, cache} {
				if o := do(t, s, newIter(1), 1); o.Err == nil {
					t.Error("Do succeeded with the server gone")
				} else {
					check(t, "Do error", o.Err.Error())
				}
			}
			if _, err := tg.ServerStats(context.Background()); err == nil {
				t.Error("ServerStats succeeded with the server gone")
			} else {
				check(t, "ServerStats error", err.Error())
			}
			if err := tg.Cleanup(context.Background()); err == nil {
				t.Error("Cleanup succeeded with the server gone")
			} else {
				check(t, "Cleanup error", err.Error())
			}
		}
	})

	t.Run("managed", func(t *testing.T) {
		t.Parallel()
		var logs logSink
		spec := driver.TargetSpec{Name: "cache", Node: node(t, "managed: {topology: sentinel, sentinels: 1, password: "+canary+"}\n"), RunID: runID(t)}
		tgi, err := openTargetSpec(context.Background(), spec, driver.Env{Log: logs.log})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		tg := tgi.(*Target)
		defer tg.Close()
		check(t, "Addr", tg.Addr())
		mustDo(t, bind(t, tg, `[SET, k, v]`), newIter(1), 0)
		for _, s := range tg.Deployment().Servers() {
			cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(s.Pid()) + "/cmdline")
			if err != nil {
				t.Skipf("no /proc: %v", err)
			}
			check(t, s.Role()+" command line", string(cmdline))
			check(t, s.Role()+" output", s.Log())
		}
		check(t, "the log", logs.String())
	})
}
