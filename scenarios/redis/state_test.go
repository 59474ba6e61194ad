package redis_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/journal"
	"github.com/runplan/runplan/engine/plan"
	"github.com/runplan/runplan/engine/report"
	"github.com/runplan/runplan/scenarios/redis/managed"
	"github.com/runplan/runplan/scenarios/redis/redistest"
)

// interruptedRun runs src through the engine with --allow-destructive and
// cancels the run's context — as the first Ctrl-C does — as soon as the
// engine reports fault `f` active. It returns the report.
func interruptedRun(t *testing.T, src string) *report.Report {
	t.Helper()
	return runUntil(t, src, engine.Options{}, func() bool { return true })
}

// runUntil runs src through the engine with --allow-destructive (opts
// otherwise), waits until the engine reports fault `f` active, then until
// ready says so, and cancels the run's context as the first Ctrl-C does.
func runUntil(t *testing.T, src string, opts engine.Options, ready func() bool) *report.Report {
	t.Helper()
	p, err := plan.Parse("state.yaml", []byte(src), plan.Options{StepKinds: driver.Drivers(), Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	opts.AllowDestructive = true
	opts.RunID = strings.ReplaceAll(t.Name(), "/", "-")
	prog, err := engine.Prepare(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// The engine's own signal that the fault is on: no fixed sleep.
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		on := false
		for range tick.C {
			if ctx.Err() != nil {
				return
			}
			for _, sp := range prog.Progress() {
				on = on || slices.Contains(sp.Faults, "f")
			}
			if on && ready() {
				cancel()
				return
			}
		}
	}()
	rep, err := prog.Run(ctx)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return rep
}

// freshClient is a client of the test's own, outside the run: one attempt
// per command, and a read timeout far below what is left of the fault's
// own length, so a server still paused fails the command.
func freshClient(url string) *goredis.Client {
	o, _ := goredis.ParseURL(url)
	o.MaxRetries = -1
	o.ReadTimeout = 30 * time.Second
	return goredis.NewClient(o)
}

// Ctrl-C during a CLIENT PAUSE ALL (the reproduction of issue 10): the
// pause, planned for ten minutes, is lifted before Run returns — on a
// single server, on every primary of a cluster, on the primary a Sentinel
// set names — the run's keys are cleaned up although the data path was
// paused, and the report says the undo succeeded. A server left paused
// would fail the fresh client's commands (30 s read timeout, nine minutes
// of pause left).
func TestPauseUndoneOnInterrupt(t *testing.T) {
	t.Parallel()
	single := func(t *testing.T) (string, []string, func(string) *goredis.Client) {
		srv := redistest.Start(t)
		return fmt.Sprintf(`{driver: redis, url: "%s", allow_destructive: true}`, srv.URL()), []string{srv.Addr()}, nil
	}
	tests := []struct {
		name, mode string
		// deploy starts the servers; probe, when not nil, returns the
		// test's own client of a primary (default: plain text).
		deploy func(t *testing.T) (target string, primaries []string, probe func(addr string) *goredis.Client)
	}{
		{"all", "all", single},
		{"write", "write", single},
		{"default mode", "", single},
		{"cluster", "all", func(t *testing.T) (string, []string, func(string) *goredis.Client) {
			d := redistest.Deploy(t, managed.Config{Topology: managed.Cluster})
			return fmt.Sprintf(`{driver: redis, cluster: {addrs: [%s]}, allow_destructive: true}`, strings.Join(d.Primaries(), ", ")),
				d.Primaries(), nil
		}},
		{"sentinel", "all", func(t *testing.T) (string, []string, func(string) *goredis.Client) {
			d := redistest.Deploy(t, managed.Config{Topology: managed.Sentinel})
			return fmt.Sprintf(`{driver: redis, sentinel: {master: %s, addrs: [%s]}, allow_destructive: true}`,
				d.MasterName(), strings.Join(d.Sentinels(), ", ")), d.Primaries(), nil
		}},
		// The monitor connection authenticates and speaks TLS as the
		// target does.
		{"tls and password", "all", func(t *testing.T) (string, []string, func(string) *goredis.Client) {
			d := redistest.Deploy(t, managed.Config{TLS: true, Password: "pw"})
			c := d.Certs()
			probe := func(addr string) *goredis.Client {
				return goredis.NewClient(&goredis.Options{Addr: addr, Password: "pw", TLSConfig: d.ClientTLS(), MaxRetries: -1,
					ReadTimeout: 30 * time.Second})
			}
			return fmt.Sprintf(`{driver: redis, url: "rediss://:pw@%s", tls: {ca_file: %s, cert_file: %s, key_file: %s}, allow_destructive: true}`,
				d.Addr(), c.CAFile, c.ClientCertFile, c.ClientKeyFile), []string{d.Addr()}, probe
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target, primaries, probe := tt.deploy(t)
			if probe == nil {
				probe = func(addr string) *goredis.Client { return freshClient("redis://" + addr) }
			}
			pause := "{}"
			if tt.mode != "" {
				pause = fmt.Sprintf("{mode: %s}", tt.mode)
			}
			// Writes before the pause leave keys to clean up; the pause
			// starts once some have been written.
			src := fmt.Sprintf(`version: 1
targets:
  cache: %s
scenarios:
  sc:
    load: {vus: 4, duration: 10m}
    steps: [{redis: [SET, "k:{{ iteration }}", v]}]
faults:
  - {name: f, target: cache, at: 500ms, for: 10m, client_pause: %s}
`, target, pause)
			rep := interruptedRun(t, src)
			ctx := context.Background()
			var keys int64
			for _, addr := range primaries {
				c := probe(addr)
				if err := c.Ping(ctx).Err(); err != nil {
					t.Errorf("PING %s after the run: %v (the server is still paused)", addr, err)
				}
				// PUBLISH waits under a write pause too, and names no key
				// a cluster node could redirect.
				if err := c.Publish(ctx, "runplan-probe", "x").Err(); err != nil {
					t.Errorf("PUBLISH %s after the run: %v (the server is still paused for writes)", addr, err)
				}
				n, err := c.DBSize(ctx).Result()
				if err != nil {
					t.Errorf("DBSIZE %s: %v", addr, err)
				}
				keys += n
				_ = c.Close()
			}
			if keys != 0 {
				t.Errorf("%d keys after the run; want 0 (the run's keys cleaned up)", keys)
			}
			if len(rep.Faults) != 1 {
				t.Fatalf("faults = %+v", rep.Faults)
			}
			f := rep.Faults[0]
			if !f.Applied || f.UndoError != "" {
				t.Errorf("fault: applied %v, undo error %q", f.Applied, f.UndoError)
			}
			if len(rep.Leftovers) != 0 {
				t.Errorf("leftovers: %+v", rep.Leftovers)
			}
			if len(rep.Targets) != 1 || rep.Targets[0].Cleanup == nil || rep.Targets[0].Cleanup.KeysRemoved == 0 ||
				rep.Targets[0].Cleanup.Error != "" {
				t.Errorf("cleanup: %+v", rep.Targets[0].Cleanup)
			}
		})
	}
}

// A server that dies during a memory squeeze cannot be restored: the
// report lists, with the error, each setting left changed (with its
// original value) and the run's keys (how many unknown), the console
// prints them in red under NOT UNDONE with the command that restores them,
// and the journal file keeps them for runplan cleanup.
func TestLeftoversReported(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, "--maxmemory", "100mb", "--maxmemory-policy", "allkeys-lfu")
	src := fmt.Sprintf(`version: 1
targets:
  cache: {driver: redis, url: "%s", allow_destructive: true, timeout: 500ms}
scenarios:
  sc:
    load: {vus: 2, duration: 10m}
    steps: [{redis: [SET, "k:{{ iteration }}", v]}]
faults:
  - {name: f, target: cache, at: 300ms, for: 10m, memory_squeeze: {maxmemory: 64mb, policy: allkeys-lru}}
`, srv.URL())
	dir := t.TempDir()
	rep := runUntil(t, src, engine.Options{JournalDir: dir}, func() bool {
		// The squeeze is on: the server dies before it can be undone.
		srv.Stop()
		return true
	})
	var settings, keys []report.Leftover
	for _, l := range rep.Leftovers {
		switch l.Kind {
		case "setting":
			settings = append(settings, l)
		case "keys":
			keys = append(keys, l)
		}
	}
	want := map[string]string{"maxmemory": "104857600", "maxmemory-policy": "allkeys-lfu"}
	if len(settings) != 2 {
		t.Fatalf("settings left: %+v", settings)
	}
	for _, l := range settings {
		if l.Was != want[l.Name] || l.Fault != "f" || l.Error == "" || l.Server != srv.URL()+"/0" {
			t.Errorf("leftover %+v; want was=%s, fault f, an error, server %s/0", l, want[l.Name], srv.URL())
		}
	}
	if len(keys) != 1 || keys[0].KeysLeft != nil || keys[0].Error == "" || !strings.Contains(keys[0].Name, rep.RunID) {
		t.Errorf("keys left: %+v", keys)
	}
	if c := rep.Targets[0].Cleanup; c == nil || c.Error == "" || c.KeysLeft != nil {
		t.Errorf("cleanup: %+v", c)
	}
	var b strings.Builder
	if err := report.WriteConsole(&b, rep, report.ConsoleOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"NOT UNDONE", "maxmemory=", "(was 104857600)", "(fault f)", "keys left, how many unknown",
		"restore with: runplan cleanup " + srv.URL() + "/0", "journal: " + dir} {
		if !strings.Contains(strings.Join(strings.Fields(b.String()), " "), w) {
			t.Errorf("console lacks %q:\n%s", w, b.String())
		}
	}
	runs, errs := journal.Load(dir)
	if len(errs) > 0 || len(runs) != 1 || len(runs[0].Targets) != 1 || len(runs[0].Targets[0].Entries) != 3 {
		t.Fatalf("journal: %+v %v", runs, errs)
	}
	if rep.Journal != runs[0].Path() {
		t.Errorf("report's journal %q, file %q", rep.Journal, runs[0].Path())
	}
}

// A network fault that overlaps a Redis fault does not hold up its start
// nor its undo: the fault's admin connections bypass the fault proxy.
func TestAdminConnectionsBypassProxy(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, "--maxmemory", "100mb", "--maxmemory-policy", "allkeys-lfu")
	src := fmt.Sprintf(`version: 1
targets:
  cache: {driver: redis, url: "%s", allow_destructive: true, timeout: 200ms}
scenarios:
  sc:
    load: {vus: 2, duration: 3s}
    steps: [{redis: [GET, "k:{{ iteration }}"]}]
faults:
  - {name: hole, target: cache, at: 500ms, blackhole: {stream: both}}
  - {name: squeeze, target: cache, at: 1s, for: 1s, memory_squeeze: {maxmemory: 64mb, policy: allkeys-lru}}
`, srv.URL())
	rep := runFaultPlan(t, src)
	for _, f := range rep.Faults {
		if !f.Applied || f.Error != "" || f.UndoError != "" {
			t.Errorf("fault %s: applied %v, error %q, undo error %q", f.Name, f.Applied, f.Error, f.UndoError)
		}
	}
	c := freshClient(srv.URL())
	defer c.Close()
	got, err := c.ConfigGet(context.Background(), "maxmemory*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if got["maxmemory"] != "104857600" || got["maxmemory-policy"] != "allkeys-lfu" {
		t.Errorf("not restored: maxmemory %s, policy %s", got["maxmemory"], got["maxmemory-policy"])
	}
	if len(rep.Leftovers) != 0 {
		t.Errorf("leftovers: %+v", rep.Leftovers)
	}
}

// Where no connection can be kept outside a PAUSE ALL (an ACL refuses
// MONITOR), an early undo cannot lift it: the report says so, and says
// when the pause ends by itself, instead of claiming success.
func TestPauseWithoutGuardReported(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, "--user", "default", "off", "--user", "runplan", "on", ">pw", "~*", "&*", "+@all", "-monitor")
	url := "redis://runplan:pw@" + srv.Addr()
	src := fmt.Sprintf(`version: 1
targets:
  cache: {driver: redis, url: "%s", allow_destructive: true, keep: true, timeout: 300ms}
scenarios:
  sc:
    load: {vus: 2, duration: 10m}
    steps: [{redis: [GET, "k:{{ iteration }}"]}]
faults:
  - {name: f, target: cache, at: 300ms, for: 10m, client_pause: {mode: all}}
`, url)
	rep := interruptedRun(t, src)
	f := rep.Faults[0]
	if !f.Applied || !strings.Contains(f.UndoError, "MONITOR") || !strings.Contains(f.UndoError, "ends by itself") {
		t.Errorf("fault: applied %v, undo error %q", f.Applied, f.UndoError)
	}
	if strings.Contains(f.UndoError, "pw@") {
		t.Errorf("the password shows: %s", f.UndoError)
	}
	if len(rep.Leftovers) != 1 || rep.Leftovers[0].Kind != "pause" || rep.Leftovers[0].Until == nil ||
		rep.Leftovers[0].Error != f.UndoError {
		t.Fatalf("leftovers: %+v", rep.Leftovers)
	}
	if until := *rep.Leftovers[0].Until; until.Before(rep.EndedAt) {
		t.Errorf("the pause ends at %v, before the run's end %v", until, rep.EndedAt)
	}
}
