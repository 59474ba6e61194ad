package engine_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/plan"
	"github.com/runplan/runplan/engine/report"
)

func runPlan(t *testing.T, src string, opts engine.Options, ctx context.Context) *report.Report {
	t.Helper()
	p, err := plan.Parse("t.yaml", []byte(src), plan.Options{StepKinds: driver.Drivers(), Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	if diags := engine.Validate(p).Errors(); len(diags) > 0 {
		t.Fatal(diags)
	}
	prog, err := engine.Prepare(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := prog.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func scenario(t *testing.T, r *report.Report, name string) report.Scenario {
	t.Helper()
	for _, s := range r.Scenarios {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no scenario %s", name)
	return report.Scenario{}
}

func check(t *testing.T, r *report.Report, name string) report.Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %s", name)
	return report.Check{}
}

// The open model's response time shows a 1-second stall that a naive closed
// loop hides: coordinated omission.
func TestCoordinatedOmission(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		src := `version: 1
targets: {p: {driver: probe}}
scenarios:
  open:
    load: {rate: 100/s, duration: 10s, max_vus: 500}
    steps: [{probe: {delay: 1ms, stall_at: 4s, stall_for: 1s}}]
checks:
  - {name: response_p99, expr: "open.latency.p99 > ms(900)"}
  - {name: windowed, expr: "worst(open, s(2)).latency.p99 > ms(900)"}
`
		r := runPlan(t, src, engine.Options{}, context.Background())
		s := scenario(t, r, "open")
		if s.LatencyBasis != "response" || s.Latency.P99 < 900 {
			t.Fatalf("open model p99 %vms (basis %s); want ≥ 900ms", s.Latency.P99, s.LatencyBasis)
		}
		if s.Count != 1000 || s.Dropped != 0 {
			t.Fatalf("count %d dropped %d", s.Count, s.Dropped)
		}
		for _, c := range r.Checks {
			if !c.Passed {
				t.Errorf("check %s failed: %v", c.Name, c.Display)
			}
		}

		closed := `version: 1
targets: {p: {driver: probe}}
scenarios:
  naive:
    load: {vus: 1, duration: 10s}
    steps: [{probe: {delay: 1ms, stall_at: 4s, stall_for: 1s}}]
`
		r = runPlan(t, closed, engine.Options{}, context.Background())
		n := scenario(t, r, "naive")
		if n.LatencyBasis != "service" || n.Latency.P99 > 2 {
			t.Fatalf("naive closed loop p99 %vms; want about 1ms (it hides the stall)", n.Latency.P99)
		}
		if n.Latency.Max < 900 {
			t.Fatalf("the stall should still be its max, got %vms", n.Latency.Max)
		}
	})
}

// The time series shows the shape of each load model: counts per interval.
func TestLoadShapesInTimeSeries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		load string
		want []int64 // completed iterations per 1s interval
	}{
		{"constant rate", "{rate: 20/s, duration: 4s}", []int64{20, 20, 20, 20}},
		{"ramping rate", "{rate: 0/s, stages: [{duration: 2s, target: 20/s}, {duration: 2s, target: 20/s}]}", []int64{5, 15, 20, 20}},
		{"burst", "{burst: {size: 30, every: 2s, count: 2}}", []int64{30, 0, 30}},
		{"closed", "{vus: 2, duration: 3s}", []int64{20, 20, 20}},
		{"per-VU iterations", "{vus: 3, per_vu_iterations: 9}", []int64{27}},
		// VU k joins when the ramp reaches k - 0.5: at 0.25, 0.75, 1.25, 1.75s.
		{"ramping VUs", "{stages: [{duration: 2s, target: 4}, {duration: 1s, target: 4}]}", []int64{9, 29, 40}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				src := "version: 1\ntargets: {p: {driver: probe}}\nscenarios:\n  sc:\n    load: " + tt.load +
					"\n    steps: [{probe: {delay: 100ms}}]\n"
				r := runPlan(t, src, engine.Options{}, context.Background())
				s := scenario(t, r, "sc")
				var got []int64
				for _, p := range s.Series {
					got = append(got, p.Count)
				}
				// Iterations finish on interval edges (virtual time is exact),
				// so a trailing interval may hold a straggler or two.
				for len(got) > len(tt.want) && got[len(got)-1] <= 4 {
					got = got[:len(got)-1]
				}
				if len(got) != len(tt.want) {
					t.Fatalf("series %v, want %v", got, tt.want)
				}
				for i := range got {
					// Within the iterations that end exactly on an edge.
					if math.Abs(float64(got[i]-tt.want[i])) > 2 {
						t.Fatalf("series %v, want %v", got, tt.want)
					}
				}
			})
		})
	}
}

func TestWarmupIsNotMeasured(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		src := `version: 1
targets: {p: {driver: probe}}
scenarios:
  sc:
    load: {rate: 10/s, duration: 5s, warmup: 2s}
    steps: [{probe: {delay: 1ms}}]
checks:
  - {name: rate, expr: "sc.rate > 9.9 && sc.rate < 10.1"}
`
		r := runPlan(t, src, engine.Options{}, context.Background())
		s := scenario(t, r, "sc")
		if s.Count != 30 {
			t.Fatalf("measured %d iterations, want 30 (the 20 of the warmup excluded)", s.Count)
		}
		if !check(t, r, "rate").Passed {
			t.Fatalf("rate over the measured part: %v", check(t, r, "rate").Display)
		}
	})
}

func TestInterruptedRunIsPartial(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		src := `version: 1
targets: {p: {driver: probe}}
scenarios:
  sc:
    load: {vus: 2, duration: 1h}
    steps: [{probe: {delay: 10ms}}]
`
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(3*time.Second, cancel)
		start := time.Now()
		r := runPlan(t, src, engine.Options{}, ctx)
		if !r.Partial {
			t.Fatal("an interrupted run must be partial")
		}
		if el := time.Since(start); el > 4*time.Second {
			t.Fatalf("took %v to stop", el)
		}
		if s := scenario(t, r, "sc"); s.Count < 590 || s.Count > 602 {
			t.Fatalf("count %d, want about 600", s.Count)
		}
	})
}

func TestAbortAndErrorsAndServerView(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		src := `version: 1
targets: {p: {driver: probe}}
scenarios:
  a:
    load: {vus: 1, duration: 10s}
    # The target's calls are shared: a aborts when a and f made 20 together.
    steps: [{probe: {delay: 100ms, abort_after: 20}}]
  f:
    load: {vus: 1, iterations: 10}
    steps: [{probe: {delay: 1ms, fail_every: 5}}, {sleep: 1ms}]
checks:
  - {name: calls, expr: "p.server.calls == 20"}
  - {name: missing, expr: "!known(p.server.missing)"}
  - {name: failures, expr: "f.errors_by.probe == 2 && f.steps.probe.errors == 2 && f.steps.sleep.count == 8"}
`
		r := runPlan(t, src, engine.Options{ServerInterval: 500 * time.Millisecond}, context.Background())
		a := scenario(t, r, "a")
		if !strings.Contains(a.Aborted, "budget spent") || a.Count > 25 {
			t.Fatalf("aborted %q after %d iterations", a.Aborted, a.Count)
		}
		for _, c := range r.Checks {
			if !c.Passed {
				t.Errorf("check %s failed (%s)", c.Name, c.Display)
			}
		}
		var sawMissing bool
		for _, f := range r.Targets[0].Server {
			if f.Name == "missing" && f.Value == nil {
				sawMissing = true
			}
		}
		if !sawMissing {
			t.Fatal("an unavailable server figure must be null, not zero")
		}
	})
}

func benchPlan(b *testing.B, src string) *report.Report {
	b.Helper()
	p, err := plan.Parse("b.yaml", []byte(src), plan.Options{StepKinds: driver.Drivers(), Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		b.Fatal(err)
	}
	prog, err := engine.Prepare(p, engine.Options{})
	if err != nil {
		b.Fatal(err)
	}
	rep, err := prog.Run(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return rep
}

// BenchmarkIterationOverhead measures the engine's own cost per iteration
// of a no-op step in the closed model: executor, iteration, two histogram
// records (step and iteration). ns/op and allocs/op are per iteration.
func BenchmarkIterationOverhead(b *testing.B) {
	src := fmt.Sprintf(`version: 1
targets: {p: {driver: probe}}
scenarios:
  noop:
    load: {vus: 1, iterations: %d}
    steps: [{probe: {}}]
`, max(b.N, 1))
	b.ReportAllocs()
	b.ResetTimer()
	r := benchPlan(b, src)
	b.StopTimer()
	if r.Scenarios[0].Count != int64(max(b.N, 1)) {
		b.Fatalf("count %d, want %d", r.Scenarios[0].Count, b.N)
	}
}

// BenchmarkOpenRateAccuracy runs the open model at 5,000 iterations/s for
// 10 s of a no-op step and reports the achieved arrival rate (from the
// generator's actual send times, so a generator that falls behind shows)
// and its error against the plan, the scheduling lag's p99, and the
// iterations it was late for or dropped. Run it alone:
// go test -run '^$' -bench RateAccuracy.
func BenchmarkOpenRateAccuracy(b *testing.B) {
	for range b.N {
		r := benchPlan(b, `version: 1
targets: {p: {driver: probe}}
scenarios:
  open:
    load: {rate: 5000/s, duration: 10s, max_vus: 200}
    steps: [{probe: {}}]
`)
		s := r.Scenarios[0]
		if s.ArrivalRate == nil || s.PlannedRate == nil {
			b.Fatal("no arrival rate in the report")
		}
		b.ReportMetric(*s.ArrivalRate, "arrival/s")
		b.ReportMetric(100*math.Abs(*s.ArrivalRate-*s.PlannedRate) / *s.PlannedRate, "rate_error_%")
		b.ReportMetric(r.Generator.Lag.P99*1000, "lag_p99_µs")
		b.ReportMetric(float64(s.Late+s.Dropped), "late+dropped")
	}
}

// A fault's window, effect and recovery are measured from completion times,
// and the fault is undone at its end.
func TestFaultEffectAndRecovery(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		src := `version: 1
targets: {p: {driver: probe}}
scenarios:
  sc:
    load: {rate: 50/s, duration: 10s, max_vus: 100}
    steps: [{probe: {delay: 1ms}}]
faults:
  - {name: slow, target: p, at: 3s, for: 2s, slow: {delay: 100ms}}
  - {name: never, target: p, at: 1s, for: 1s, probability: 0, slow: {delay: 1s}}
checks:
  - {name: during, expr: "faults.slow.during.latency.p50 >= ms(100)"}
  - {name: before, expr: "faults.slow.before.latency.p99 < ms(5)"}
  # Calls in flight when the fault ended complete in the after window.
  - {name: after, expr: "faults.slow.after.latency.p50 < ms(5)"}
  - {name: recovered, expr: "faults.slow.recovered && faults.slow.recovery <= s(1)"}
  - {name: not_drawn, expr: "!faults.never.applied"}
`
		r := runPlan(t, src, engine.Options{}, context.Background())
		for _, c := range r.Checks {
			if !c.Passed {
				t.Errorf("check %s failed: %s", c.Name, c.Display)
			}
		}
		if len(r.Faults) != 2 {
			t.Fatalf("%d faults reported", len(r.Faults))
		}
		f := r.Faults[0]
		if !f.Applied || f.Start != 3 || f.End != 5 || f.UndoError != "" {
			t.Fatalf("fault %+v", f)
		}
		if r.Faults[1].Applied || r.Faults[1].Skipped == "" {
			t.Fatalf("probability 0 fault: %+v", r.Faults[1])
		}
	})
}

// A fault lasting until the end is undone when the run is interrupted.
func TestFaultUndoneOnInterrupt(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		src := `version: 1
targets: {p: {driver: probe}}
scenarios:
  sc:
    load: {vus: 1, duration: 1h}
    steps: [{probe: {delay: 10ms}}]
faults:
  - {name: slow, target: p, at: 1s, slow: {delay: 10ms}}
`
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(3*time.Second, cancel)
		r := runPlan(t, src, engine.Options{}, ctx)
		f := r.Faults[0]
		if !f.Applied || f.End < 3 || f.UndoError != "" || f.Recovery != nil {
			t.Fatalf("fault %+v", f)
		}
		if !r.Partial {
			t.Fatal("not partial")
		}
	})
}

// A mix runs one step per iteration, drawn by weight from the seeded source.
func TestWeightedMix(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		src := `version: 1
seed: 3
targets: {p: {driver: probe}}
scenarios:
  sc:
    load: {vus: 4, iterations: 4400}
    mix:
      - {name: set, weight: 1, probe: {delay: 1ms}}
      - {name: get, weight: 10, probe: {delay: 1ms}}
`
		r := runPlan(t, src, engine.Options{}, context.Background())
		s := scenario(t, r, "sc")
		set, get := s.Steps[0].Count, s.Steps[1].Count
		if s.Count != 4400 || set+get != 4400 {
			t.Fatalf("iterations %d, steps %d + %d", s.Count, set, get)
		}
		if ratio := float64(get) / float64(set); ratio < 8.5 || ratio > 11.5 {
			t.Fatalf("get:set = %d:%d (%.2f), want about 10", get, set, ratio)
		}
		again := runPlan(t, src, engine.Options{}, context.Background())
		if again.Scenarios[0].Steps[0].Count != set {
			t.Fatal("the same seed drew a different mix")
		}
	})
}

// A call that carries several operations (a pipeline) counts once in count
// and rate, and fully in ops and ops_rate.
func TestOpsOfPipelinedCalls(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		src := `version: 1
targets: {p: {driver: probe}}
scenarios:
  sc:
    load: {rate: 10/s, duration: 2s}
    steps: [{name: pipe, probe: {delay: 1ms, ops: 16}}]
checks:
  - {name: ops, expr: "sc.steps.pipe.ops == 16 * sc.steps.pipe.count && sc.steps.pipe.ops_rate == 16 * sc.steps.pipe.rate"}
`
		r := runPlan(t, src, engine.Options{}, context.Background())
		st := r.Scenarios[0].Steps[0]
		if st.Count != 20 || st.Ops != 320 || st.OpsRate != 160 || !r.Checks[0].Passed {
			t.Fatalf("count %d ops %d ops_rate %v check %v", st.Count, st.Ops, st.OpsRate, r.Checks[0].Passed)
		}
	})
}
