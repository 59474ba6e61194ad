package report

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/runplan/runplan/engine/metrics"
)

// benchSegment builds segment index of count for BenchmarkMerge: one
// open-model scenario of two steps over a 10-minute run at 1 s intervals,
// each interval holding perInterval latencies spread from 100 µs to 50 ms
// (the shape, not the values, sets the cost: histogram buckets in use).
func benchSegment(b *testing.B, index, count, intervals, perInterval int) *Report {
	b.Helper()
	rng := rand.New(rand.NewPCG(uint64(index), 1))
	started := time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)
	full := metrics.NewHistogram()
	stepState := func() (StepState, []Point) {
		st := StepState{Name: "", Counters: map[string]int64{}}
		var pts []Point
		for i := range intervals {
			packed := hdrhistogram.NewPacked(1, int64(time.Hour), metrics.PointDigits)
			for range perInterval {
				v := int64(100_000 + rng.ExpFloat64()*2_000_000)
				_ = packed.RecordValue(min(v, int64(50*time.Millisecond)))
				_ = full.RecordValue(min(v, int64(50*time.Millisecond)))
			}
			enc, err := packed.Encode()
			if err != nil {
				b.Fatal(err)
			}
			st.Intervals = append(st.Intervals, IntervalState{T: float64(i), Histogram: string(enc)})
			pts = append(pts, Point{T: float64(i), Width: 1, Measured: ptr(1), Count: int64(perInterval)})
		}
		return st, pts
	}
	enc, err := metrics.Encode(full)
	if err != nil {
		b.Fatal(err)
	}
	n := int64(intervals * perInterval)
	var steps []Step
	var states []StepState
	for _, name := range []string{"get", "set"} {
		st, pts := stepState()
		st.Name = name
		states = append(states, st)
		steps = append(steps, Step{Name: name, Stats: Stats{Count: n, ErrorsBy: map[string]int64{}, LatencyBasis: "response",
			Latency: latency(metrics.Summarize(full)), Histogram: enc, ServiceHistogram: enc, Series: pts}})
	}
	_, pts := stepState()
	return &Report{
		FormatVersion: FormatVersion, Plan: PlanInfo{Name: "p", Digest: "abc"}, RunID: "run1",
		Segment: &Segment{Index: index, Count: count}, StartedAt: started, EndedAt: started.Add(time.Duration(intervals) * time.Second),
		Valid: true, Interval: 1,
		Scenarios: []Scenario{{Name: "s", Model: "open", Elapsed: float64(intervals),
			Stats: Stats{Count: n, ErrorsBy: map[string]int64{}, LatencyBasis: "response", Latency: latency(metrics.Summarize(full)),
				Histogram: enc, ServiceHistogram: enc, Series: pts},
			Outcomes: Outcomes{Due: n, OK: n}, Steps: steps}},
		State: &State{Scenarios: []ScenarioState{{Name: "s", PlannedElapsed: float64(intervals),
			Intervals: states[0].Intervals, Steps: states}}},
	}
}

// BenchmarkMerge is the cost of runplan merge's combining step for N
// segments of a 10-minute run (600 intervals, two steps, 1,000 samples per
// interval and step): time and memory per merge, and the size of one
// segment's JSON report (docs/SCALE.md).
func BenchmarkMerge(b *testing.B) {
	for _, n := range []int{2, 8, 32} {
		b.Run(fmt.Sprintf("segments=%d", n), func(b *testing.B) {
			segs := make([]*Report, n)
			for i := range segs {
				segs[i] = benchSegment(b, i, n, 600, 1000)
			}
			js, err := json.Marshal(segs[0])
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Merge(segs); err != nil {
					b.Fatal(err)
				}
			}
			// After the loop: b.Loop's first call resets reported metrics.
			b.ReportMetric(float64(len(js))/1024, "KiB/segment")
		})
	}
}
