package engine_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/report"
)

// rates reads a series' rates: NaN-free, -1 standing for null.
func rates(ps []report.Point) []float64 {
	out := make([]float64, len(ps))
	for i, p := range ps {
		out[i] = -1
		if p.Rate != nil {
			out[i] = *p.Rate
		}
	}
	return out
}

// Intervals before a scenario's start and in its warmup were not measured:
// their rate is null, not an outage of 0/s; worst() windows cover only the
// measured span; the last interval, cut by the scenario's end, is partial and
// its rate is over its real length.
func TestSeriesMeasuredSpan(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		// Starts at 2 s, warms up until 3 s, schedules until 5.5 s.
		src := `version: 1
targets: {p: {driver: probe}}
scenarios:
  late:
    start: 2s
    load: {rate: 10/s, duration: 3500ms, warmup: 1s, max_vus: 10}
    steps: [{probe: {delay: 1ms}}]
checks:
  - {name: worst_rate, expr: "worst(late, s(1)).rate >= 10"}
  - {name: worst_p99, expr: "worst(late, s(1)).latency.p99 < ms(2)"}
`
		r := runPlan(t, src, engine.Options{}, context.Background())
		s := scenario(t, r, "late")
		got := rates(s.Series)
		// [0,1) [1,2) before the start, [2,3) the warmup: null; then
		// 10/s; [5,5.5) is partial: 5 iterations over 0.5 s.
		want := []float64{-1, -1, -1, 10, 10, 10}
		if len(got) != len(want) {
			t.Fatalf("rates %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("rates %v, want %v", got, want)
			}
		}
		for i, p := range s.Series {
			wantMeasured, partial := 1.0, false
			switch {
			case i < 3:
				wantMeasured = 0
			case i == 5:
				wantMeasured, partial = 0.5, true
			}
			if p.Width != 1 || p.Measured == nil || *p.Measured != wantMeasured || p.Partial != partial {
				t.Errorf("point %d: width %v measured %v partial %v; want 1, %v, %v", i, p.Width, *p.Measured, p.Partial, wantMeasured, partial)
			}
		}
		if c := check(t, r, "worst_rate"); !c.Passed {
			t.Errorf("worst(late, s(1)).rate: %s, want 10 (the intervals before the start are not measured)", c.Display)
		}
		if c := check(t, r, "worst_p99"); !c.Passed {
			t.Errorf("worst(late, s(1)).latency.p99: %s", c.Display)
		}
	})
}

// A scenario that never started measured nothing: its worst window is
// unknown, and unknown does not pass.
func TestWorstOfNothingIsUnknown(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		src := `version: 1
targets: {p: {driver: probe}}
scenarios:
  never:
    start: 1h
    load: {rate: 10/s, duration: 1s, max_vus: 10}
    steps: [{probe: {delay: 1ms}}]
checks:
  - {name: worst_rate, expr: "worst(never, s(1)).rate >= 0"}
`
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(3*time.Second, cancel)
		r := runPlan(t, src, engine.Options{}, ctx)
		if c := check(t, r, "worst_rate"); c.Passed || c.Value != nil {
			t.Errorf("worst over no measured span: passed %v, value %v (%s); want unknown", c.Passed, c.Value, c.Display)
		}
		for _, p := range scenario(t, r, "never").Series {
			if p.Rate != nil || p.Measured == nil || *p.Measured != 0 {
				t.Errorf("never: point at %vs has rate %v, measured %v; want null, 0", p.T, p.Rate, p.Measured)
			}
		}
	})
}

// The live progress has no rate for an interval it did not measure (the
// warmup): it says so rather than show an outage of 0/s; once an interval
// is measured, its rate is the scenario's.
func TestProgressRateUnknownInWarmup(t *testing.T) {
	t.Parallel()
	p := parseProbePlan(t, `version: 1
targets: {p: {driver: probe}}
scenarios:
  sc:
    load: {rate: 100/s, warmup: 2s, duration: 3s, max_vus: 10}
    steps: [{probe: {}}]
`)
	synctest.Test(t, func(t *testing.T) {
		prog, done := startRun(t, p)
		at := func(d time.Duration) engine.ScenarioProgress {
			time.Sleep(d)
			synctest.Wait()
			ps := prog.Progress()
			if len(ps) != 1 {
				t.Fatalf("progress %+v", ps)
			}
			return ps[0]
		}
		if sp := at(1500 * time.Millisecond); sp.RateOK || sp.Rate != 0 {
			t.Errorf("in the warmup: rate %v (known %v), want unknown", sp.Rate, sp.RateOK)
		}
		if sp := at(2 * time.Second); !sp.RateOK || sp.Rate != 100 {
			t.Errorf("after the warmup: rate %v (known %v), want 100", sp.Rate, sp.RateOK)
		}
		<-done
	})
}
