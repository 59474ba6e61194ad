package redis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/runplan/runplan/cmd/runplan/cli"
	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/plan"
	"github.com/runplan/runplan/engine/report"
	_ "github.com/runplan/runplan/scenarios/all" // the drivers, as the binary links them (chaos-cache.yaml's sink is a webhook)
	"github.com/runplan/runplan/scenarios/redis/managed"
	"github.com/runplan/runplan/scenarios/redis/redistest"
)

// runFaultPlan runs a plan in-process through the engine, as the command
// line does, with --allow-destructive.
func runFaultPlan(t *testing.T, src string) *report.Report {
	t.Helper()
	p, err := plan.Parse("fault.yaml", []byte(src), plan.Options{StepKinds: driver.Drivers(), Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	opts := engine.Options{AllowDestructive: true, RunID: strings.ReplaceAll(t.Name(), "/", "-")}
	if diags := engine.ValidateWith(p, opts).Errors(); len(diags) > 0 {
		t.Fatal(diags)
	}
	prog, err := engine.Prepare(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := prog.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// faultOf returns the report's only fault, which must have been applied
// and undone without error.
func faultOf(t *testing.T, r *report.Report) report.Fault {
	t.Helper()
	if len(r.Faults) != 1 {
		t.Fatalf("faults = %+v", r.Faults)
	}
	f := r.Faults[0]
	if !f.Applied || f.Error != "" || f.UndoError != "" || f.During == nil || f.After == nil {
		t.Fatalf("fault not applied and undone cleanly: %+v", f)
	}
	return f
}

func maxLatency(ws ...*report.Window) float64 {
	m := 0.0
	for _, w := range ws {
		if w != nil && w.Latency != nil {
			m = max(m, w.Latency.Max)
		}
	}
	return m
}

// fullAfter returns the intervals of the scenario's series that begin at
// or after from and end by the end of its planned schedule (planned from
// the run's start): the series may go on past it with a partial interval of
// stragglers, iterations still in flight when the schedule ended, which
// says nothing about the target.
func fullAfter(r *report.Report, s report.Scenario, from float64, planned time.Duration) []report.Point {
	end := s.Start + planned.Seconds()
	var out []report.Point
	for _, p := range s.Series {
		if p.T >= from-1e-9 && p.T+r.Interval <= end+1e-9 {
			out = append(out, p)
		}
	}
	return out
}

// servedAgain checks that the target served calls again after a fault
// that ended at from (seconds from the run's start): some full interval
// after it holds successes. Had the fault not been undone, none would. How
// many, and whether timeouts come with them, is the machine's speed: a
// loaded machine may even stall the generator for a whole interval.
func servedAgain(t *testing.T, r *report.Report, from float64, planned time.Duration) {
	t.Helper()
	// The fault's edge is rounded to the nearest interval, as its windows
	// are.
	from = math.Round(from/r.Interval) * r.Interval
	points := fullAfter(r, r.Scenarios[0], from, planned)
	for _, p := range points {
		if p.Count > p.Errors {
			return
		}
	}
	t.Errorf("no call served in the full intervals after the fault (from %.1fs): %+v", from, points)
}

func logSeries(t *testing.T, r *report.Report) {
	t.Helper()
	for _, s := range r.Scenarios {
		for _, p := range s.Series {
			t.Logf("  %s t=%v count=%d errors=%d latency=%+v", s.Name, p.T, p.Count, p.Errors, p.Latency)
		}
	}
}

// Each Redis fault kind, run by the engine on a timeline under load: its
// effect shows in the fault's measured windows, and what it changed is
// restored afterwards. A loaded machine adds its own latency to every call,
// so latencies are checked only as the bounds a fault implies (a pause of
// 1 s makes some call wait most of it), and targets get timeouts far above
// that noise unless the test is about timeouts.
func TestFaultKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// target is the target's YAML (flow mapping); %s is a fresh
		// server's URL when server is set.
		target string
		server []string // the fresh server's extra arguments, when there is one
		step   string
		fault  string
		run    time.Duration // the scenario's duration
		check  func(t *testing.T, r *report.Report, f report.Fault, url string)
	}{
		{
			name:   "client_pause_write",
			target: `{driver: redis, url: "%s", allow_destructive: true, timeout: 10s}`, server: []string{},
			step:  `[SET, "k:{{ uniform(100) }}", v]`,
			fault: `{name: f, target: cache, at: 1s, for: 1s, client_pause: {mode: write}}`, run: 4 * time.Second,
			check: func(t *testing.T, _ *report.Report, f report.Fault, _ string) {
				// Writes wait for the pause to end: those issued as it began
				// complete at its end, up to 1 s late.
				if m := maxLatency(f.During, f.After); m < 800 {
					t.Errorf("max latency around the pause = %.1f ms, want >= 800", m)
				}
				if f.After.Errors > 0 || f.During.Errors > 0 {
					t.Errorf("errors during %d, after %d", f.During.Errors, f.After.Errors)
				}
			},
		},
		{
			name:   "client_pause_write_leaves_reads",
			target: `{driver: redis, url: "%s", allow_destructive: true, timeout: 10s}`, server: []string{},
			step:  `[GET, "k:{{ uniform(100) }}"]`,
			fault: `{name: f, target: cache, at: 1s, for: 3s, client_pause: {mode: write}}`, run: 5 * time.Second,
			check: func(t *testing.T, _ *report.Report, f report.Fault, _ string) {
				// Paused reads issued as the 3 s pause began would wait
				// nearly all of it.
				if m := maxLatency(f.During, f.After); m > 2500 {
					t.Errorf("reads held up by a write pause: max %.1f ms", m)
				}
				if f.During.Count <= f.During.Errors {
					t.Errorf("no read served during the write pause: %+v", f.During)
				}
			},
		},
		{
			name:   "client_pause_all",
			target: `{driver: redis, url: "%s", allow_destructive: true, timeout: 10s}`, server: []string{},
			step:  `[GET, "k:{{ uniform(100) }}"]`,
			fault: `{name: f, target: cache, at: 1s, for: 1s, client_pause: {mode: all}}`, run: 4 * time.Second,
			check: func(t *testing.T, r *report.Report, f report.Fault, _ string) {
				if m := maxLatency(f.During, f.After); m < 800 {
					t.Errorf("max latency around the pause = %.1f ms, want >= 800", m)
				}
				servedAgain(t, r, f.End, 4*time.Second)
			},
		},
		{
			name:   "debug_sleep",
			target: `{driver: redis, url: "%s", allow_destructive: true, timeout: 10s}`, server: []string{},
			step:  `[GET, "k:{{ uniform(100) }}"]`,
			fault: `{name: f, target: cache, at: 1s, debug_sleep: {duration: 1s}}`, run: 4 * time.Second,
			check: func(t *testing.T, _ *report.Report, f report.Fault, _ string) {
				// Until the end of the run: the during window is the rest of it.
				if m := maxLatency(f.During); m < 800 {
					t.Errorf("max latency during the sleep = %.1f ms, want >= 800", m)
				}
			},
		},
		{
			name: "memory_squeeze",
			target: `{driver: redis, url: "%s", allow_destructive: true, timeout: 10s,
                 prefill: {key: "p:{{ iteration }}", count: 3000, value_size: 1024}}`,
			server: []string{"--maxmemory", "100mb", "--maxmemory-policy", "allkeys-lfu"},
			step:   `[SET, "k:{{ uniform(100) }}", {value_size: 512}]`,
			fault:  `{name: f, target: cache, at: 1s, for: 1s, memory_squeeze: {maxmemory: 1mb, policy: noeviction}}`, run: 4 * time.Second,
			check: func(t *testing.T, r *report.Report, f report.Fault, url string) {
				if f.During.ErrorsBy["redis"] == 0 {
					t.Errorf("no OOM errors during the squeeze: %+v", f.During)
				}
				servedAgain(t, r, f.End, 4*time.Second)
				o, _ := goredis.ParseURL(url)
				c := goredis.NewClient(o)
				defer c.Close()
				got, err := c.ConfigGet(context.Background(), "maxmemory*").Result()
				if err != nil {
					t.Fatal(err)
				}
				if got["maxmemory"] != "104857600" || got["maxmemory-policy"] != "allkeys-lfu" {
					t.Errorf("not restored: maxmemory %s, policy %s", got["maxmemory"], got["maxmemory-policy"])
				}
			},
		},
		{
			name:   "flush",
			target: `{driver: redis, url: "%s", allow_destructive: true, keep: true, key_prefix: "t:", prefill: {key: "p:{{ iteration }}", count: 500, value_size: 16}}`,
			server: []string{},
			step:   `[GET, "p:{{ uniform(500) }}"]`,
			fault:  `{name: f, target: cache, at: 1s, flush: {}}`, run: 2 * time.Second,
			check: func(t *testing.T, _ *report.Report, f report.Fault, url string) {
				o, _ := goredis.ParseURL(url)
				c := goredis.NewClient(o)
				defer c.Close()
				if n, err := c.DBSize(context.Background()).Result(); err != nil || n != 0 {
					t.Errorf("DBSIZE after the flush = %d, %v; want 0 (the prefill is kept otherwise)", n, err)
				}
			},
		},
		{
			name:   "error_replies",
			target: `{driver: redis, timeout: 10s, local_server: miniredis}`,
			step:   `[GET, "k:{{ uniform(100) }}"]`,
			fault:  `{name: f, target: cache, at: 1s, for: 1s, error_replies: {error: LOADING}}`, run: 3 * time.Second,
			check: func(t *testing.T, r *report.Report, f report.Fault, _ string) {
				if f.During.ErrorsBy["redis"] == 0 || f.During.ErrorsBy["redis"] < f.During.Count/2 {
					t.Errorf("during: %+v, want mostly redis errors", f.During)
				}
				// Calls answered just before the undo may end just after the
				// fault's window: the after window may hold a few.
				if f.After.Count <= f.After.Errors {
					t.Errorf("after: %+v, want successes", f.After)
				}
				servedAgain(t, r, f.End, 3*time.Second)
			},
		},
		{
			name: "kill_restart_standalone",
			// Calls to the dead server are refused at once; the timeout is
			// for the machine's own speed.
			target: `{driver: redis, managed: {topology: standalone}, timeout: 10s}`,
			step:   `[SET, "k:{{ uniform(100) }}", v]`,
			fault:  `{name: f, target: cache, at: 1s, for: 1s, kill: {node: primary, restart: true}}`, run: 5 * time.Second,
			check: func(t *testing.T, r *report.Report, f report.Fault, _ string) {
				if f.During.Errors == 0 {
					t.Errorf("no errors while the server was dead: %+v", f.During)
				}
				// The restart waits until the new process answers (its undo
				// succeeded), however long that takes on a busy machine;
				// then the target serves again.
				servedAgain(t, r, f.End, 5*time.Second)
				// The server figures span the killed process and the
				// restarted one, which answered from the kill on.
				for _, tg := range r.Targets {
					if tg.Name == "cache" && (tg.SpansServers != 2 || len(tg.ServerChangedAt) != 1 || tg.ServerChangedAt[0] < f.Start) {
						t.Errorf("server figures span %d servers, changed at %v; want 2, once after %v", tg.SpansServers, tg.ServerChangedAt, f.Start)
					}
				}
			},
		},
		{
			name:   "cluster_failover",
			target: `{driver: redis, managed: {topology: cluster, primaries: 3, replicas: 1}, timeout: 10s}`,
			step:   `[SET, "k:{{ uniform(100) }}", v]`,
			fault:  `{name: f, target: cache, at: 1s, cluster_failover: {}}`, run: 3 * time.Second,
			check: func(t *testing.T, r *report.Report, f report.Fault, _ string) {
				// Writes go on through the handover (the cluster client
				// follows the MOVED to the promoted replica).
				if f.Describe != "cluster failover" || f.During.Count <= f.During.Errors {
					t.Errorf("describe %q, during %+v", f.Describe, f.During)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target, url := tt.target, ""
			if tt.server != nil {
				url = redistest.Start(t, tt.server...).URL()
				target = fmt.Sprintf(tt.target, url)
			}
			src := fmt.Sprintf(`version: 1
targets:
  cache: %s
scenarios:
  sc:
    load: {rate: 100/s, duration: %s, max_vus: 200}
    steps: [{redis: %s}]
faults:
  - %s
`, target, tt.run, tt.step, tt.fault)
			r := runFaultPlan(t, src)
			f := faultOf(t, r)
			tt.check(t, r, f, url)
			if t.Failed() {
				t.Logf("fault %+v\nduring %+v\nafter %+v", f, f.During, f.After)
				logSeries(t, r)
			}
		})
	}
}

// A Sentinel failover through a sentinel: afterwards the sentinels name
// another primary, and the client followed it.
func TestFaultSentinelFailover(t *testing.T) {
	t.Parallel()
	d := redistest.Deploy(t, managed.Config{Topology: managed.Sentinel, Replicas: 1, NodeTimeout: time.Second})
	before := d.Primaries()[0]
	const run = 6 * time.Second
	src := fmt.Sprintf(`version: 1
targets:
  cache: {driver: redis, sentinel: {master: %s, addrs: [%s]}, allow_destructive: true, timeout: 10s}
scenarios:
  sc:
    load: {rate: 100/s, duration: %s, max_vus: 200}
    steps: [{redis: [SET, "k:{{ uniform(100) }}", v]}]
faults:
  - {name: f, target: cache, at: 1s, failover: {}, recovery: {latency: 1, success: 0.05}}
`, d.MasterName(), strings.Join(d.Sentinels(), ", "), run)
	r := runFaultPlan(t, src)
	f := faultOf(t, r)
	if f.Describe != "sentinel failover" {
		t.Errorf("describe = %q", f.Describe)
	}
	// The sentinels name the promoted replica once the failover is over,
	// which on a busy machine may be after the run: wait for it.
	s := redistest.SentinelClient(d.Sentinels()[0])
	defer s.Close()
	var now string
	deadline := time.Now().Add(60 * time.Second)
	for {
		addr, err := s.GetMasterAddrByName(context.Background(), d.MasterName()).Result()
		if err == nil {
			if now = addr[0] + ":" + addr[1]; now != before {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sentinels still name %s as the primary (%v) a minute after the run", now, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Writes to the demoted primary fail (READONLY): writes served at the
	// end of the run went to the new one. (The last interval that holds
	// anything: a busy machine may stall the generator for one.)
	points := fullAfter(r, r.Scenarios[0], f.Start, run)
	for len(points) > 1 && points[len(points)-1].Count == 0 {
		points = points[:len(points)-1]
	}
	if len(points) == 0 || points[len(points)-1].Count <= points[len(points)-1].Errors {
		t.Errorf("last full intervals %+v: want writes served at the end", points)
		logSeries(t, r)
	}
}

// Faults are refused when the plan is validated — located, and without
// the password — where they cannot or may not act.
func TestFaultValidation(t *testing.T) {
	t.Parallel()
	const pw = "s3cret-pw"
	tests := []struct {
		name, target, fault string
		allow               bool // --allow-destructive
		want                string
	}{
		{"destructive on url", `{driver: redis, url: "redis://:` + pw + `@127.0.0.1:1"}`, `flush: {}`, false, "runplan did not start target"},
		{"destructive on url, plan only", `{driver: redis, url: "redis://127.0.0.1:1", allow_destructive: true}`, `client_pause: {mode: write}`, false, "--allow-destructive"},
		{"command line only", `{driver: redis, url: "redis://127.0.0.1:1"}`, `memory_squeeze: {maxmemory: 1mb}`, true, "allow_destructive: true"},
		{"pause until the end", `{driver: redis, managed: {}}`, `client_pause: {mode: write}`, false, "client_pause needs `for:`"},
		{"pause mode", `{driver: redis, managed: {}}`, `client_pause: {mode: reads}`, false, "expected write or all"},
		{"pause on miniredis", `{driver: redis, local_server: miniredis}`, `client_pause: {}`, false, "needs a real redis-server"},
		{"sleep on miniredis", `{driver: redis, local_server: miniredis}`, `debug_sleep: {duration: 1s}`, false, "needs a real redis-server"},
		{"pause on the default target", `{driver: redis}`, `client_pause: {mode: write}`, false, "client_pause needs `for:`"},
		{"sleep without duration", `{driver: redis, managed: {}}`, `debug_sleep: {}`, false, "needs a duration"},
		{"kill on url", `{driver: redis, url: "redis://127.0.0.1:1", allow_destructive: true}`, `kill: {}`, true, "needs a managed: target"},
		{"kill node", `{driver: redis, managed: {}}`, `kill: {node: sentinel}`, false, "expected primary or replica"},
		{"kill missing replica", `{driver: redis, managed: {}}`, `kill: {node: replica}`, false, "has no replica"},
		{"failover on standalone", `{driver: redis, managed: {}}`, `failover: {}`, false, "needs a Sentinel target"},
		{"cluster failover on sentinel", `{driver: redis, managed: {topology: sentinel}}`, `cluster_failover: {}`, false, "needs a managed cluster"},
		{"cluster failover without replicas", `{driver: redis, managed: {topology: cluster}}`, `cluster_failover: {}`, false, "needs a replica"},
		{"squeeze size", `{driver: redis, managed: {}}`, `memory_squeeze: {maxmemory: lots}`, false, "expected a size"},
		{"squeeze policy", `{driver: redis, managed: {}}`, `memory_squeeze: {maxmemory: 2mb, policy: lru}`, false, "memory_squeeze.policy"},
		{"error replies on managed", `{driver: redis, managed: {}}`, `error_replies: {error: LOADING}`, false, "needs the in-process miniredis"},
		{"error replies on the default target", `{driver: redis}`, `error_replies: {error: LOADING}`, false, "needs the in-process miniredis"},
		{"error replies code", `{driver: redis, local_server: miniredis}`, `error_replies: {error: BUSY}`, false, "expected LOADING, READONLY or MASTERDOWN"},
		{"unknown parameter", `{driver: redis}`, `flush: {db: 3}`, false, `unknown key "db"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := fmt.Sprintf(`version: 1
targets:
  cache: %s
scenarios:
  sc:
    load: {vus: 1, duration: 1s}
    steps: [{redis: [GET, k]}]
faults:
  - {name: f, target: cache, at: 1s, %s}
`, tt.target, tt.fault)
			p, err := plan.Parse("fault.yaml", []byte(src), plan.Options{StepKinds: driver.Drivers(), Env: func(string) (string, bool) { return "", false }})
			if err != nil {
				t.Fatal(err)
			}
			diags := engine.ValidateWith(p, engine.Options{AllowDestructive: tt.allow}).Errors()
			if len(diags) == 0 {
				t.Fatal("accepted")
			}
			msg := fmt.Sprint(diags)
			if !strings.Contains(msg, tt.want) {
				t.Errorf("diagnostics %s\nwant %q", msg, tt.want)
			}
			if strings.Contains(msg, pw) {
				t.Errorf("the password shows: %s", msg)
			}
			if diags[0].Line != 9 {
				t.Errorf("located at line %d, want 9 (the fault): %s", diags[0].Line, msg)
			}
		})
	}
}

// The fault plans run end to end through the command line: a killed
// Sentinel primary is failed over and the sessions are served again, and
// the cache chaos plan measures each of its faults. The plans' own timing
// checks (how soon they recover) judge the target on the machine it runs
// on; here only what the faults imply is required of them. A check on a
// fault's window needs calls in it: a loaded machine may stall the
// generator through a whole one-second window, which the report then
// shows as an invalid measurement (late iterations), not as a fault's
// effect.
func TestFaultPlans(t *testing.T) {
	t.Parallel()
	//
	// The plans' cache timeouts (250 and 300 ms) make calls fail fast; on a
	// loaded machine under the race detector, calls that take that long
	// anyway would time out whatever the faults did, so the test raises
	// them: failover.yaml's calls to a dead primary are refused at once
	// anyway, and chaos-cache.yaml's blackhole (1 s) still outlasts 500 ms.
	tests := []struct {
		plan     string
		sets     []string
		duration time.Duration     // of the first scenario
		checks   []string          // checks that must pass
		windows  map[string]string // checks on a fault's window: check → fault
	}{
		{"failover.yaml", []string{"targets.sessions.timeout=10s"}, 16 * time.Second, nil,
			map[string]string{"outage_visible": "primary_killed"}},
		{"chaos-cache.yaml", []string{"targets.cache.timeout=500ms"}, 18 * time.Second, []string{"pause_applied", "signals_delivered"},
			map[string]string{"latency_felt": "slow_cache", "blackhole_times_out": "cache_blackhole"}},
	}
	for _, tc := range tests {
		t.Run(tc.plan, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "report.json")
			args := []string{"run", filepath.Join("..", "..", "plans", tc.plan), "--out", out, "--no-progress", "--color", "never"}
			for _, s := range tc.sets {
				args = append(args, "--set", s)
			}
			var stdout, stderr syncBuffer
			code := cli.Main(args, &stdout, &stderr)
			if code != cli.ExitOK && code != cli.ExitChecks && code != cli.ExitInvalid {
				t.Fatalf("exit %d:\n%s\n%s", code, stdout.String(), stderr.String())
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var rep report.Report
			if err := json.Unmarshal(data, &rep); err != nil {
				t.Fatal(err)
			}
			faults := map[string]report.Fault{}
			var lastEnd float64
			for _, f := range rep.Faults {
				faults[f.Name] = f
				if !f.Applied || f.Error != "" || f.UndoError != "" {
					t.Errorf("fault %s: %+v", f.Name, f)
				}
				lastEnd = max(lastEnd, f.End)
			}
			passed := map[string]bool{}
			for _, c := range rep.Checks {
				passed[c.Name] = c.Passed
			}
			for _, name := range tc.checks {
				if !passed[name] {
					t.Errorf("check %s failed", name)
				}
			}
			for name, fault := range tc.windows {
				f := faults[fault]
				switch {
				case passed[name]:
				case f.During != nil && f.During.Count == 0 && !rep.Valid:
					t.Logf("check %s not judged: nothing completed during %s, the generator was late", name, fault)
				default:
					t.Errorf("check %s failed (during %+v)", name, f.During)
				}
			}
			servedAgain(t, &rep, lastEnd, tc.duration)
			if t.Failed() {
				t.Logf("report:\n%s", stdout.String())
				logSeries(t, &rep)
			}
			if f := rep.Faults[0]; f.Recovered && f.Recovery != nil {
				t.Logf("%s: recovered %.1fs after the fault's end; %d errors during it", f.Name, *f.Recovery, f.During.Errors)
			} else {
				t.Logf("%s: no recovery within the plan's tolerance on this machine: %s", f.Name, f.RecoveryNote)
			}
		})
	}
}

// A target with problems still has its steps and faults checked, against
// the driver's best reading of it: one validation lists every problem,
// whether the plan schema or the driver found the target's.
func TestBrokenTargetStillChecksItsFaults(t *testing.T) {
	t.Parallel()
	sch, err := engine.PlanSchema()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		target string
		want   []string // each in the diagnostics
	}{
		{"found by the schema", `{driver: redis, pool_sise: 10}`, []string{`:4:26: unknown key "pool_sise"`, `:9:73: redis: fault f: client_pause.mode: expected write or all, got "readz"`}},
		{"found by the driver", `{driver: redis, safety_ttl: 500ms}`, []string{`:4:38: redis: safety_ttl must be at least 1s`, `:9:73: redis: fault f: client_pause.mode: expected write or all, got "readz"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := fmt.Sprintf(`version: 1
targets:
  # a comment
  cache: %s
scenarios:
  sc:
    load: {vus: 1, duration: 1s}
    steps: [{redis: [GET, k]}]
faults: [{name: f, target: cache, at: 1s, for: 1s, client_pause: {mode: readz}}]
`, tt.target)
			p, diags := plan.ParseAll("broken.yaml", []byte(src), plan.Options{StepKinds: driver.Drivers(), Schema: sch, Env: func(string) (string, bool) { return "", false }})
			if p != nil {
				diags = append(diags, engine.ValidateWith(p, engine.Options{AllowDestructive: true})...)
			}
			msg := fmt.Sprint(diags)
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("diagnostics %s\nwant %q", msg, w)
				}
			}
		})
	}
}
