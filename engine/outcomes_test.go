package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/report"
)

// accounted fails the test unless every due iteration of s has exactly one
// outcome.
func accounted(t *testing.T, s report.Scenario) {
	t.Helper()
	o := s.Outcomes
	if sum := o.OK + o.Failed + o.Dropped + o.Interrupted + o.Late; sum != o.Due || o.Due == 0 {
		t.Fatalf("outcomes %+v sum to %d, want due %d (> 0)", o, sum, o.Due)
	}
	if s.Model == "open" && o.Due != s.Scheduled {
		t.Fatalf("due %d, scheduled %d", o.Due, s.Scheduled)
	}
}

// Every iteration due in the measured window has exactly one outcome, and
// the success and error rates are over all of them: dropped and interrupted
// iterations are errors of their own classes, never left out.
func TestEveryDueIterationIsAccounted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		load string
		step string
		// want: outcome counts (ranges where virtual-time ties decide).
		check       func(t *testing.T, s report.Scenario)
		failedCheck string // a check that must fail
	}{
		{
			// 40/s for 5s, 4 VUs, 500ms each: 8 iterations/s at most.
			name: "dropped for want of a free VU",
			load: "{rate: 40/s, duration: 5s, max_vus: 4}",
			step: "{probe: {delay: 500ms}}",
			check: func(t *testing.T, s report.Scenario) {
				o := s.Outcomes
				if o.Due != 200 || o.Dropped < 155 || o.Dropped > 165 || o.Interrupted != 0 || o.Failed != 0 {
					t.Fatalf("outcomes %+v; want 200 due, about 163 dropped", o)
				}
				if s.SuccessRate == nil || *s.SuccessRate > 0.25 || *s.SuccessRate != float64(o.OK)/200 {
					t.Fatalf("success rate %v, want ok/due = %d/200", s.SuccessRate, o.OK)
				}
				if *s.ErrorRate != float64(o.Dropped)/200 || s.Errors != o.Dropped || s.ErrorsBy["dropped"] != o.Dropped {
					t.Fatalf("error rate %v, errors %d by %v; want the %d dropped", *s.ErrorRate, s.Errors, s.ErrorsBy, o.Dropped)
				}
			},
			failedCheck: "sc.success_rate > 0.95",
		},
		{
			// The target stalls from 4s on: the 10 iterations due from then
			// are still in flight when the graceful stop (2s) ends.
			name: "interrupted at the graceful stop",
			load: "{rate: 10/s, duration: 5s, max_vus: 50, graceful_stop: 2s}",
			step: "{probe: {delay: 1ms, stall_at: 4s, stall_for: 1m}}",
			check: func(t *testing.T, s report.Scenario) {
				o := s.Outcomes
				if o.Due != 50 || o.OK != 40 || o.Interrupted != 10 || o.Dropped != 0 {
					t.Fatalf("outcomes %+v; want 50 due, 40 ok, 10 interrupted", o)
				}
				if s.Errors != 10 || s.ErrorsBy["interrupted"] != 10 || *s.SuccessRate != 0.8 || *s.ErrorRate != 0.2 {
					t.Fatalf("errors %d by %v, success %v; want the 10 interrupted", s.Errors, s.ErrorsBy, *s.SuccessRate)
				}
			},
			failedCheck: "sc.errors == 0",
		},
		{
			name: "closed model: due is started",
			load: "{vus: 2, duration: 3s, graceful_stop: 1s}",
			step: "{probe: {delay: 100ms, stall_at: 2500ms, stall_for: 1m}}",
			check: func(t *testing.T, s report.Scenario) {
				o := s.Outcomes
				if o.Interrupted != 2 || o.OK != 50 || o.Due != 52 {
					t.Fatalf("outcomes %+v; want 50 ok and the 2 stalled interrupted", o)
				}
			},
			failedCheck: "sc.interrupted == 0 && sc.success_rate == 1",
		},
		{
			// Iterations due in the warmup are run but have no outcome.
			name: "warmup has no outcomes",
			load: "{rate: 10/s, duration: 5s, warmup: 2s, max_vus: 1}",
			step: "{probe: {delay: 150ms}}",
			check: func(t *testing.T, s report.Scenario) {
				o := s.Outcomes
				// One VU, 150ms each at 10/s: every other hit is dropped.
				if o.Due != 30 || o.OK < 14 || o.OK > 16 || o.Dropped != 30-o.OK {
					t.Fatalf("outcomes %+v; want the 30 due after the warmup, half dropped", o)
				}
			},
			failedCheck: "sc.dropped == 0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				src := "version: 1\ntargets: {p: {driver: probe}}\nscenarios:\n  sc:\n    load: " + tt.load +
					"\n    steps: [" + tt.step + "]\nchecks:\n  - {name: honest, expr: \"" + tt.failedCheck + "\"}\n"
				r := runPlan(t, src, engine.Options{}, context.Background())
				s := scenario(t, r, "sc")
				accounted(t, s)
				tt.check(t, s)
				if c := check(t, r, "honest"); c.Passed {
					t.Fatalf("check %q passed (%s) although the outcomes say otherwise", c.Expr, c.Display)
				}
				renderedOutcomes(t, r, s)
			})
		})
	}
}

// An interrupted iteration's wait is a lower bound of its latency: it is in
// the histogram, and the percentiles it may have lowered say "≥".
func TestInterruptedWaitIsALowerBound(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		// The 10 iterations due from 4s stall until the graceful stop ends,
		// 2s after the last hit (4.9s): each waited 2.0s to 2.9s.
		src := `version: 1
targets: {p: {driver: probe}}
scenarios:
  sc:
    load: {rate: 10/s, duration: 5s, max_vus: 50, graceful_stop: 2s}
    steps: [{probe: {delay: 1ms, stall_at: 4s, stall_for: 1m}}]
checks:
  - {name: p99, expr: "sc.latency.p99 < ms(100)"}
`
		r := runPlan(t, src, engine.Options{}, context.Background())
		s := scenario(t, r, "sc")
		if s.Outcomes.Interrupted != 10 || s.LowerBounds != 10 {
			t.Fatalf("interrupted %d, lower bounds %d; want 10", s.Outcomes.Interrupted, s.LowerBounds)
		}
		if s.Latency == nil || s.Latency.P99 < 2000 || s.Latency.Max < 2900 || !s.Latency.IsAtLeast("p99") || !s.Latency.IsAtLeast("max") {
			t.Fatalf("latency %+v; want p99 ≥ 2s and max ≥ 2.9s, marked as lower bounds", s.Latency)
		}
		if s.Latency.IsAtLeast("p50") {
			t.Fatalf("p50 %vms is below every lower bound, yet marked", s.Latency.P50)
		}
		if c := check(t, r, "p99"); c.Passed {
			t.Fatalf("p99 < 100ms passed (%s) although 10 iterations waited 2s", c.Display)
		}
		var con, md, html bytes.Buffer
		if err := report.WriteConsole(&con, r, report.ConsoleOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := report.WriteMarkdown(&md, r); err != nil {
			t.Fatal(err)
		}
		if err := report.WriteHTML(&html, r); err != nil {
			t.Fatal(err)
		}
		for name, out := range map[string]string{"console": con.String(), "markdown": md.String(), "html": html.String()} {
			if !strings.Contains(out, "≥2.") {
				t.Errorf("%s does not mark the p99 as a lower bound (≥):\n%s", name, out)
			}
		}
	})
}

// sendsLate checks a run whose late hit was sent: the alert is delivered,
// its lateness shows in the response time, and it is counted as sent_late.
func sendsLate(t *testing.T, r *report.Report, s report.Scenario) {
	t.Helper()
	o := s.Outcomes
	if s.Count != 5 || o.OK != 5 || o.SentLate != 1 || o.Late != 0 || *s.SuccessRate != 1 {
		t.Fatalf("count %d outcomes %+v success %v; want all 5 sent, 1 of them late", s.Count, o, *s.SuccessRate)
	}
	if s.Latency.Max < 50 {
		t.Fatalf("max response time %vms: the 50ms lateness must show", s.Latency.Max)
	}
	if !check(t, r, "all").Passed {
		t.Fatal("success_rate == 1 failed although every alert was delivered")
	}
}

// A lone hit the generator dispatches late (at 1/s the next one is not due
// yet) is sent late by default (late: auto), and under late: send; it is
// counted as sent_late for validity. Under late: skip it is not sent: its
// outcome is late, and the success rate says so.
func TestLatePolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, late string
		check      func(t *testing.T, r *report.Report, s report.Scenario)
	}{
		{"auto by default sends a lone late hit", "", sendsLate},
		{"auto", "auto", sendsLate},
		{"send", "send", sendsLate},
		{"skip", "skip", func(t *testing.T, r *report.Report, s report.Scenario) {
			o := s.Outcomes
			if s.Count != 4 || o.OK != 4 || o.Late != 1 || o.SentLate != 0 || *s.SuccessRate != 0.8 {
				t.Fatalf("count %d outcomes %+v success %v; want 4 sent, 1 skipped as late", s.Count, o, *s.SuccessRate)
			}
			if check(t, r, "all").Passed {
				t.Fatal("success_rate == 1 passed although an alert was never sent")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				late := ""
				if tt.late != "" {
					late = ", late: " + tt.late
				}
				src := `version: 1
targets: {p: {driver: probe}}
scenarios:
  sc:
    load: {rate: 1/s, duration: 5s` + late + `}
    steps: [{probe: {delay: 1ms}}]
checks:
  - {name: all, expr: "sc.success_rate == 1"}
  - {name: calls, expr: "p.server.calls == sc.count"}
`
				// The generator is 50ms late for the third hit (past the 10ms
				// tolerance): the dispatcher sleeps before taking its lag.
				opts := engine.WithBeforeDispatch(engine.Options{}, func(hit uint64) {
					if hit == 2 {
						time.Sleep(50 * time.Millisecond)
					}
				})
				r := runPlan(t, src, opts, context.Background())
				s := scenario(t, r, "sc")
				accounted(t, s)
				if s.Late != 1 || r.Generator.Late != 1 || r.Generator.Scheduled != 5 {
					t.Fatalf("generator late %d (scenario %d) of %d; want 1 of 5 either way", r.Generator.Late, s.Late, r.Generator.Scheduled)
				}
				if !check(t, r, "calls").Passed {
					t.Fatalf("the target saw %s calls, the scenario counted %d", check(t, r, "calls").Display, s.Count)
				}
				tt.check(t, r, s)
			})
		})
	}
}

// The open model's achieved arrival rate comes from the generator's actual
// send times, not from the plan: a generator slowed to one dispatch per
// 150ms cannot hold 10/s, and the report says so; a target that stalls at
// the end is the target's fault, and leaves the arrival rate alone.
func TestAchievedArrivalRate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		step    string
		slow    time.Duration
		arrival float64 // want, iterations/s
	}{
		// Hit k is sent at 150ms·(k+1) (late: send, so that every late
		// hit is sent): the last of 50 at 7.5s, 2.6s after its due time:
		// 50 in 7.6s.
		{"slowed generator", "{probe: {delay: 1ms}}", 150 * time.Millisecond, 50 / 7.6},
		{"stalled target", "{probe: {delay: 1ms, stall_at: 4s, stall_for: 1m}}", 0, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				src := `version: 1
targets: {p: {driver: probe}}
scenarios:
  sc:
    load: {rate: 10/s, duration: 5s, max_vus: 50, graceful_stop: 2s, late: send}
    steps: [` + tt.step + `]
checks:
  - {name: held, expr: "sc.arrival_rate > 9.5 && sc.planned_rate == 10"}
`
				opts := engine.WithBeforeDispatch(engine.Options{}, func(uint64) { time.Sleep(tt.slow) })
				r := runPlan(t, src, opts, context.Background())
				s := scenario(t, r, "sc")
				accounted(t, s)
				if s.PlannedRate == nil || *s.PlannedRate != 10 {
					t.Fatalf("planned rate %v, want 10", s.PlannedRate)
				}
				if s.ArrivalRate == nil || math.Abs(*s.ArrivalRate-tt.arrival) > 0.001 {
					t.Fatalf("arrival rate %v, want %.3f", s.ArrivalRate, tt.arrival)
				}
				if held := check(t, r, "held").Passed; held != (tt.arrival > 9.5) {
					t.Fatalf("check held = %v with an arrival rate of %v", held, *s.ArrivalRate)
				}
			})
		})
	}
}

// renderedOutcomes fails the test unless every output shows s's outcomes
// side by side.
func renderedOutcomes(t *testing.T, r *report.Report, s report.Scenario) {
	t.Helper()
	o := s.Outcomes
	var con, md, html, junit bytes.Buffer
	for _, err := range []error{report.WriteConsole(&con, r, report.ConsoleOptions{}), report.WriteMarkdown(&md, r),
		report.WriteHTML(&html, r), report.WriteJUnit(&junit, r)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	line := fmt.Sprintf("due %d: ok %d, failed %d, dropped %d, interrupted %d, late %d", o.Due, o.OK, o.Failed, o.Dropped, o.Interrupted, o.Late)
	row := fmt.Sprintf("| **%s** | %d | %d | %d | %d | %d | %d |", s.Name, o.Due, o.OK, o.Failed, o.Dropped, o.Interrupted, o.Late)
	cells := fmt.Sprintf(`<td class="n">%d</td><td class="n">%d</td><td class="n">%d</td><td class="n">%d</td><td class="n">%d</td><td class="n">%d</td>`,
		o.Due, o.OK, o.Failed, o.Dropped, o.Interrupted, o.Late)
	for _, c := range []struct{ name, out, want string }{
		{"console", con.String(), line}, {"junit", junit.String(), line}, {"markdown", md.String(), row}, {"html", html.String(), cells},
	} {
		if !strings.Contains(c.out, c.want) {
			t.Errorf("%s lacks the outcomes %q:\n%s", c.name, c.want, c.out)
		}
	}
}
