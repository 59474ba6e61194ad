package cli

import (
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runplan/runplan/engine/export/promrw/promtest"
	"github.com/runplan/runplan/engine/report"
)

// exportPlan is a short plan for the export tests (about 1.5 s): an open
// model of cache lookups on a redis-server started for the run, with a
// latency fault in its middle, and a few deliveries to the embedded sink.
const exportPlan = `version: 1
name: export-check
seed: 7
interval: 250ms
targets:
  cache: {driver: redis, url: ""}
  hook: {driver: webhook, url: "", flavor: discord}
scenarios:
  lookups:
    load: {rate: 100/s, duration: 1500ms, max_vus: 20}
    steps:
      - name: get
        redis:
          cache_get:
            key: "k:{{ uniform(20) }}"
            on_miss: {value_size: 16, ttl: 1m}
  deliver:
    load: {vus: 1, iterations: 3}
    steps:
      - name: post
        webhook:
          json: {content: "signal {{ iteration }}"}
        expect: {status: [200, 204]}
faults:
  - name: slow_cache
    target: cache
    at: 400ms
    for: 800ms
    latency: {delay: 2ms}
checks:
  - name: redis_p99
    expr: lookups.steps.get.latency.p99 < s(10)
`

func writeExportPlan(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "export.yaml")
	if err := os.WriteFile(p, []byte(exportPlan), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A run with --export prometheus-rw leaves runplan_* series in a real
// Prometheus, labelled by plan, run, scenario, step and target, whose final
// values are the report's.
func TestExportPrometheusRemoteWrite(t *testing.T) {
	t.Parallel()
	prom := promtest.Start(t)
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runMain(t, "run", writeExportPlan(t), "--out", out, "--no-progress", "--log-format", "json",
		"--export", "prometheus-rw="+prom.WriteURL()+"?interval=200ms")
	rep, err := report.Read(out)
	if err != nil {
		t.Fatalf("exit %d: %v\n%s\n%s", code, err, stdout, stderr)
	}
	if want := verdictCode(rep); code != want {
		t.Fatalf("exit %d, want %d (the report's)\n%s", code, want, stderr)
	}
	for _, n := range rep.Notices {
		if strings.Contains(n, "export") {
			t.Errorf("notice %q: the receiver was up", n)
		}
	}
	if strings.Contains(stderr, "metrics not exported") {
		t.Errorf("warning logged with the receiver up:\n%s", stderr)
	}
	run := fmt.Sprintf(`plan="export-check",run_id=%q`, rep.RunID)
	one := func(q string) float64 {
		t.Helper()
		r := prom.Query(t, q)
		if len(r) != 1 {
			t.Fatalf("%s: %d series, want 1: %v\nprometheus log:\n%s", q, len(r), r, prom.Log())
		}
		return r[0].Value
	}
	for _, sc := range rep.Scenarios {
		o := sc.Outcomes
		outcomes := map[string]int64{"ok": o.OK, "failed": o.Failed, "interrupted": o.Interrupted}
		if sc.Model == "open" {
			outcomes["dropped"], outcomes["late"] = o.Dropped, o.Late
			if got := one(fmt.Sprintf(`runplan_generator_scheduled_total{%s,scenario=%q}`, run, sc.Name)); got != float64(sc.Scheduled) {
				t.Errorf("%s: scheduled %v, report %d", sc.Name, got, sc.Scheduled)
			}
		}
		for oc, n := range outcomes {
			if got := one(fmt.Sprintf(`runplan_iterations_total{%s,scenario=%q,outcome=%q}`, run, sc.Name, oc)); got != float64(n) {
				t.Errorf("%s: %s %v, report %d", sc.Name, oc, got, n)
			}
		}
		for _, st := range sc.Steps {
			target := map[string]string{"get": "cache", "post": "hook"}[st.Name]
			sel := fmt.Sprintf(`%s,scenario=%q,step=%q,target=%q`, run, sc.Name, st.Name, target)
			if got := one(`runplan_step_calls_total{` + sel + `,outcome="ok"}`); got != float64(st.Count-st.Errors) {
				t.Errorf("%s.%s: ok calls %v, report %d", sc.Name, st.Name, got, st.Count-st.Errors)
			}
			if st.Latency != nil {
				if got := one(`runplan_step_run_latency_seconds{` + sel + `,quantile="0.99"}`); math.Abs(got-st.Latency.P99/1000) > 1e-9 {
					t.Errorf("%s.%s: p99 %vs, report %vms", sc.Name, st.Name, got, st.Latency.P99)
				}
			}
			for _, m := range st.Metrics {
				if m.Name == "hit_ratio" {
					if got := one(`runplan_step_metric_ratio{` + sel + `,metric="hit_ratio"}`); math.Abs(got-m.Value) > 1e-9 {
						t.Errorf("hit ratio %v, report %v", got, m.Value)
					}
				}
			}
		}
	}
	// Written during the run, not only at its end: the live writes and the
	// final one.
	if n := one(fmt.Sprintf(`count_over_time(runplan_step_calls_total{%s,step="get",outcome="ok"}[1h])`, run)); n < 2 {
		t.Errorf("%v samples of the lookups' calls, want the live ones and the final one", n)
	}
	if got := one(fmt.Sprintf(`runplan_verdict{%s,verdict=%q}`, run, rep.Verdict)); got != 1 {
		t.Errorf("verdict %s: %v", rep.Verdict, got)
	}
	if n := one(fmt.Sprintf(`sum(runplan_verdict{%s})`, run)); n != 1 {
		t.Errorf("%v verdicts set", n)
	}
	if rep.Score != nil {
		if got := one(fmt.Sprintf(`runplan_score{%s}`, run)); got != *rep.Score {
			t.Errorf("score %v, report %v", got, *rep.Score)
		}
	}
	if got := one(fmt.Sprintf(`runplan_valid{%s}`, run)); got != map[bool]float64{true: 1}[rep.Valid] {
		t.Errorf("valid %v, report %v", got, rep.Valid)
	}
	if got := one(fmt.Sprintf(`runplan_check_passed{%s,check="redis_p99"}`, run)); got != map[bool]float64{true: 1}[rep.Checks[0].Passed] {
		t.Errorf("check %v, report %v", got, rep.Checks[0].Passed)
	}
	// The fault window: off at the end; on while it was active, if a live
	// write fell inside it (one every 200 ms in an 800 ms window: unless the
	// machine stalled the writer for the whole window).
	fault := fmt.Sprintf(`runplan_fault_active{%s,fault="slow_cache",target="cache"}`, run)
	if got := one(fault); got != 0 {
		t.Errorf("fault active %v at the end", got)
	}
	if rep.Faults[0].Applied {
		if got := one("max_over_time(" + fault + "[1h])"); got != 1 {
			t.Logf("no live write fell inside the fault window (max %v)", got)
		}
	}
}

// A receiver that is down costs a warning (once) and a note in the report,
// never the run nor its exit code; its credentials show nowhere.
func TestExportReceiverDown(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // closed: connections are refused
	out := filepath.Join(t.TempDir(), "r.json")
	const pw, token = "Receiver-Pass-42", "Receiver-Token-42"
	code, stdout, stderr := runMain(t, "run", writeExportPlan(t), "--out", out, "--no-progress", "--log-format", "json",
		"--export", "prometheus-rw=http://runplan:"+pw+"@"+addr+"/api/v1/write?interval=100ms&token="+token)
	rep, err := report.Read(out)
	if err != nil {
		t.Fatalf("exit %d: %v\n%s\n%s", code, err, stdout, stderr)
	}
	if rep.Partial || rep.Error != "" {
		t.Errorf("run partial %v, error %q", rep.Partial, rep.Error)
	}
	if want := verdictCode(rep); code != want {
		t.Errorf("exit %d, want %d (the report's)\n%s", code, want, stderr)
	}
	if n := strings.Count(stderr, "metrics not exported"); n != 1 {
		t.Errorf("%d warnings, want 1 (one streak of failures):\n%s", n, stderr)
	}
	var note string
	for _, n := range rep.Notices {
		if strings.Contains(n, "export prometheus-rw") {
			note = n
		}
	}
	if !strings.Contains(note, "writes failed") || !strings.Contains(note, "connection refused") {
		t.Errorf("notices %q lack the export's", rep.Notices)
	}
	if !strings.Contains(stdout, "NOTICE: export prometheus-rw") {
		t.Errorf("the console does not show the note:\n%s", stdout)
	}
	b, _ := os.ReadFile(out)
	for _, s := range []string{stdout, stderr, string(b)} {
		if strings.Contains(s, pw) || strings.Contains(s, token) {
			t.Errorf("a credential shows:\n%s", s)
		}
	}
}

func TestExportFlagErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ spec, want string }{
		{"graphite=tcp://h:2003", `unknown kind "graphite" (kinds: prometheus-rw)`},
		{"prometheus-rw", "want KIND=TARGET"},
		{"prometheus-rw=http://h/api/v1/write?interval=1ms", "want a duration from 100ms to 5m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runMain(t, "run", quickPlan, "--export", tt.spec)
			if code != ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, ExitUsage, tt.want)
			}
		})
	}
}
