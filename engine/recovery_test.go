package engine_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/report"
)

// A 100ms delay removed at once leaves less than 0.1s of residue (the calls
// in flight at the undo), whether the fault ends at 5.4s or at 5.6s: the
// fault's edges are exact, not rounded to the 1s interval grid.
func TestRecoveryIsNotRoundedToIntervals(t *testing.T) {
	t.Parallel()
	got := map[string]float64{}
	for _, length := range []string{"2.4s", "2.6s"} {
		t.Run("for "+length, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// 48/s: no call is sent at the very instant the fault ends.
				src := fmt.Sprintf(`version: 1
targets: {p: {driver: probe}}
scenarios:
  sc:
    load: {rate: 48/s, duration: 10s, max_vus: 100}
    steps: [{probe: {delay: 1ms}}]
faults:
  - {name: slow, target: p, at: 3s, for: %s, slow: {delay: 100ms}}
checks:
  - {name: fast, expr: "faults.slow.recovery < ms(100)"}
  - {name: split, expr: "faults.slow.errors_stopped == ms(0) && faults.slow.latency_returned > ms(0)"}
`, length)
				r := runPlan(t, src, engine.Options{}, context.Background())
				f := r.Faults[0]
				if f.Recovery == nil || *f.Recovery >= 0.1 {
					t.Fatalf("recovery %v (%s), want < 0.1s", fmtPtr(f.Recovery), f.RecoveryNote)
				}
				if f.ErrorsStopped == nil || *f.ErrorsStopped != 0 || f.LatencyReturned == nil || *f.LatencyReturned != *f.Recovery {
					t.Fatalf("errors stopped %v, latency returned %v, recovery %v", fmtPtr(f.ErrorsStopped), fmtPtr(f.LatencyReturned), fmtPtr(f.Recovery))
				}
				for _, c := range r.Checks {
					if !c.Passed {
						t.Errorf("check %s failed: %s", c.Name, c.Display)
					}
				}
				got[length] = *f.Recovery
			})
		})
	}
	// The residue depends only on where the last call in flight was sent:
	// the two answers differ by less than the spacing of calls.
	if d := math.Abs(got["2.4s"] - got["2.6s"]); len(got) != 2 || d >= 1.0/48 {
		t.Fatalf("recoveries %v", got)
	}
}

// When errors stop and when latency returns are reported apart: a server
// that fails for 0.5s after the fault's undo, then answers 50ms slower for
// another second.
func TestRecoveryErrorsAndLatencyApart(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		src := `version: 1
targets: {p: {driver: probe}}
scenarios:
  sc:
    load: {rate: 50/s, duration: 10s, max_vus: 100}
    steps: [{probe: {delay: 1ms}}]
faults:
  - {name: a, target: p, at: 3s, for: 2s, aftermath: {delay: 50ms, fail_for: 500ms, slow_for: 1500ms}}
checks:
  - {name: errors, expr: "faults.a.errors_stopped > ms(450) && faults.a.errors_stopped < ms(500)"}
  - {name: latency, expr: "faults.a.latency_returned > ms(1500) && faults.a.latency_returned < ms(1550)"}
  - {name: recovery, expr: "faults.a.recovery == faults.a.latency_returned"}
`
		r := runPlan(t, src, engine.Options{}, context.Background())
		f := r.Faults[0]
		// The last failure: the call sent at 5.48s, failing after 1ms; the
		// last slow call: sent at 6.48s, answered after 51ms.
		if f.ErrorsStopped == nil || *f.ErrorsStopped != 0.481 || f.LatencyReturned == nil || *f.LatencyReturned != 1.531 ||
			f.Recovery == nil || *f.Recovery != 1.531 || !f.Recovered {
			t.Fatalf("errors stopped %v, latency returned %v, recovery %v (%s)", fmtPtr(f.ErrorsStopped), fmtPtr(f.LatencyReturned),
				fmtPtr(f.Recovery), f.RecoveryNote)
		}
		for _, c := range r.Checks {
			if !c.Passed {
				t.Errorf("check %s failed: %s", c.Name, c.Display)
			}
		}
		// Only the call sent at the instant the fault was applied succeeded.
		if f.During.SuccessRate == nil || *f.During.SuccessRate > 0.02 {
			t.Errorf("during: success rate %v", fmtPtr(f.During.SuccessRate))
		}
	})
}

func fmtPtr(p *float64) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

// Calls that fail fast keep a window's latency low: the window's success
// rate says what happened, and a check on it fails; the latency of the
// successful calls is unknown when none succeeded.
func TestFastFailuresDoNotFlatterTheWindow(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		src := `version: 1
targets: {p: {driver: probe}}
scenarios:
  sc:
    load: {rate: 50/s, duration: 8s, max_vus: 100}
    steps: [{probe: {delay: 1ms}}]
faults:
  - {name: a, target: p, at: 3010ms, for: 2s, aftermath: {}}
checks:
  - {name: fast, expr: "faults.a.during.latency.p99 < ms(5)"}
  - {name: healthy, expr: "faults.a.during.success_rate > 0.9"}
  - {name: ok_fast, expr: "faults.a.during.success_latency.p99 < ms(5)"}
  - {name: ok_before, expr: "faults.a.before.success_latency.p99 < ms(5) && faults.a.before.success_rate == 1"}
`
		r := runPlan(t, src, engine.Options{}, context.Background())
		want := map[string]bool{"fast": true, "healthy": false, "ok_fast": false, "ok_before": true}
		for _, c := range r.Checks {
			if c.Passed != want[c.Name] {
				t.Errorf("check %s passed %v (%s), want %v", c.Name, c.Passed, c.Display, want[c.Name])
			}
		}
		d := r.Faults[0].During
		if d.Count != 100 || d.Errors != 100 || d.SuccessRate == nil || *d.SuccessRate != 0 || d.SuccessLatency != nil || d.Latency == nil {
			t.Fatalf("during: %d calls, %d errors, success rate %v, latency %+v, success latency %+v", d.Count, d.Errors,
				fmtPtr(d.SuccessRate), d.Latency, d.SuccessLatency)
		}
	})
}

// Server figures gathered across a failover say that they span two servers,
// and when the second one answered first; every output notes it.
func TestServerFiguresAcrossFailover(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		faults string
		spans  int
		at     []float64
	}{
		{"failover", `faults: [{name: f, target: p, at: 2500ms, failover: {}}]`, 2, []float64{3}},
		{"no failover", ``, 0, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				src := `version: 1
targets: {p: {driver: probe}}
scenarios:
  sc:
    load: {rate: 10/s, duration: 5s, max_vus: 10}
    steps: [{probe: {delay: 1ms}}]
` + tt.faults + "\n"
				r := runPlan(t, src, engine.Options{}, context.Background())
				tg := r.Targets[0]
				if tg.SpansServers != tt.spans || fmt.Sprint(tg.ServerChangedAt) != fmt.Sprint(tt.at) {
					t.Fatalf("spans %d servers, changed at %v; want %d, %v", tg.SpansServers, tg.ServerChangedAt, tt.spans, tt.at)
				}
				var out strings.Builder
				if err := report.WriteConsole(&out, r, report.ConsoleOptions{}); err != nil {
					t.Fatal(err)
				}
				note := "note: server figures of p span 2 servers (another answered from 3.0s)"
				if strings.Contains(out.String(), note) != (tt.spans == 2) {
					t.Errorf("console (note %q expected: %v):\n%s", note, tt.spans == 2, out.String())
				}
			})
		})
	}
}
