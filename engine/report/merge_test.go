package report

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/runplan/runplan/engine/metrics"
)

// segmentReport builds a segment's report of one open-model scenario with
// one step whose latencies are samples (µs), all in the interval at t.
func segmentReport(t *testing.T, index, count int, samples []int64, errs int64, hits, misses int64, t0 float64) *Report {
	t.Helper()
	full := metrics.NewHistogram()
	packed := hdrhistogram.NewPacked(1, int64(time.Hour), metrics.PointDigits)
	for _, us := range samples {
		_ = full.RecordValue(us * 1000)
		_ = packed.RecordValue(us * 1000)
	}
	enc, err := metrics.Encode(full)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := packed.Encode()
	if err != nil {
		t.Fatal(err)
	}
	n := int64(len(samples))
	stats := func() Stats {
		return Stats{Count: n, Errors: errs, ErrorsBy: map[string]int64{"timeout": errs}, LatencyBasis: "response",
			Latency: latency(metrics.Summarize(full)), Histogram: enc, ServiceHistogram: enc,
			Series: []Point{{T: t0, Width: 1, Measured: ptr(1), Count: n, Errors: errs}}}
	}
	started := time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)
	return &Report{
		FormatVersion: FormatVersion, Plan: PlanInfo{Name: "p", Digest: "abc"}, RunID: "run1",
		Segment: &Segment{Index: index, Count: count}, StartedAt: started, EndedAt: started.Add(10 * time.Second),
		Valid: true, Interval: 1,
		StepMetrics: []MetricInfo{{Name: "hits", Kind: "counter"}, {Name: "misses", Kind: "counter"},
			{Name: "hit_ratio", Kind: "ratio", Numerator: "hits", Denominator: []string{"hits", "misses"}}},
		Scenarios: []Scenario{{Name: "s", Model: "open", Elapsed: 10, Stats: stats(),
			Outcomes: Outcomes{Due: n, OK: n - errs, Failed: errs},
			Steps:    []Step{{Name: "get", Stats: stats()}}}},
		State: &State{Scenarios: []ScenarioState{{Name: "s", PlannedElapsed: 10,
			Intervals: []IntervalState{{T: t0, Histogram: string(pb)}},
			Steps: []StepState{{Name: "get", Counters: map[string]int64{"hits": hits, "misses": misses},
				Intervals: []IntervalState{{T: t0, Histogram: string(pb)}}}}}}},
	}
}

func valuesIn(from, to int64) []int64 {
	var out []int64
	for v := from; v <= to; v++ {
		out = append(out, v)
	}
	return out
}

func TestMergeExact(t *testing.T) {
	t.Parallel()
	a, b := valuesIn(100, 1100), valuesIn(5000, 5300)
	r0 := segmentReport(t, 0, 2, a, 3, 90, 10, 2)
	r1 := segmentReport(t, 1, 2, b, 4, 1, 99, 2)
	m, err := Merge([]*Report{r1, r0}) // any order
	if err != nil {
		t.Fatal(err)
	}
	all := metrics.NewHistogram()
	for _, us := range append(append([]int64{}, a...), b...) {
		_ = all.RecordValue(us * 1000)
	}
	want := latency(metrics.Summarize(all))
	sc := m.Scenarios[0]
	for _, st := range []Stats{sc.Stats, sc.Steps[0].Stats} {
		if !reflect.DeepEqual(*st.Latency, *want) {
			t.Errorf("merged latency %+v, want that of all samples %+v", *st.Latency, *want)
		}
		if st.Count != int64(len(a)+len(b)) || st.Errors != 7 || st.ErrorsBy["timeout"] != 7 {
			t.Errorf("count %d errors %d by %v, want %d, 7, timeout 7", st.Count, st.Errors, st.ErrorsBy, len(a)+len(b))
		}
		if st.Latency.Max != r1.Scenarios[0].Latency.Max {
			t.Errorf("max %v, want the largest segment max %v", st.Latency.Max, r1.Scenarios[0].Latency.Max)
		}
		if len(st.Series) != 1 || st.Series[0].Count != st.Count || st.Series[0].Latency == nil {
			t.Fatalf("series %+v: want one aligned interval with every sample", st.Series)
		}
		p := hdrhistogram.NewPacked(1, int64(time.Hour), metrics.PointDigits)
		for _, us := range append(append([]int64{}, a...), b...) {
			_ = p.RecordValue(us * 1000)
		}
		if l := metrics.SummarizeSparse(p); st.Series[0].Latency.P99 != ms(l.P99) {
			t.Errorf("interval p99 %v, want %v", st.Series[0].Latency.P99, ms(l.P99))
		}
	}
	if sc.Outcomes.Due != int64(len(a)+len(b)) || sc.Outcomes.Failed != 7 {
		t.Errorf("outcomes %+v", sc.Outcomes)
	}
	// The hit ratio recomputes from the summed counters (91/200), not
	// from the segments' ratios (0.9 and 0.01, averaging 0.455).
	if hr := sc.Steps[0].Metric("hit_ratio"); hr == nil || hr.Value != 91.0/200 {
		t.Errorf("hit_ratio %+v, want 91/200", hr)
	}
	if m.Segments != 2 || m.Segment != nil || !m.Valid {
		t.Errorf("segments %d, segment %v, valid %v", m.Segments, m.Segment, m.Valid)
	}
}

func TestMergeAlignsOnWallClock(t *testing.T) {
	t.Parallel()
	r0 := segmentReport(t, 0, 2, valuesIn(1, 10), 0, 0, 0, 3)
	r1 := segmentReport(t, 1, 2, valuesIn(1, 20), 0, 0, 0, 2)
	r1.StartedAt = r1.StartedAt.Add(time.Second) // interval 2 of r1 is interval 3 of r0
	m, err := Merge([]*Report{r0, r1})
	if err != nil {
		t.Fatal(err)
	}
	s := m.Scenarios[0].Series
	if len(s) != 1 || s[0].T != 3 || s[0].Count != 30 {
		t.Errorf("series %+v, want one interval at 3 s with 30 completions", s)
	}
}

func TestMergeValidity(t *testing.T) {
	t.Parallel()
	r0 := segmentReport(t, 0, 2, valuesIn(1, 10), 0, 0, 0, 0)
	r1 := segmentReport(t, 1, 2, valuesIn(1, 10), 0, 0, 0, 0)
	r1.Valid = false
	r1.Generator.Reasons = []string{"lag p99 12ms"}
	m, err := Merge([]*Report{r0, r1})
	if err != nil {
		t.Fatal(err)
	}
	if m.Valid || m.Verdict != "invalid" || len(m.Generator.Reasons) != 1 || m.Generator.Reasons[0] != "segment 1: lag p99 12ms" {
		t.Errorf("valid %v verdict %q reasons %q", m.Valid, m.Verdict, m.Generator.Reasons)
	}
}

func TestMergeRefuses(t *testing.T) {
	t.Parallel()
	seg := func(i, n int) *Report { return segmentReport(t, i, n, valuesIn(1, 10), 0, 0, 0, 0) }
	cases := []struct {
		name string
		reps func() []*Report
		want string
	}{
		{"other plan", func() []*Report { r := seg(1, 2); r.Plan.Digest = "def"; return []*Report{seg(0, 2), r} }, "report 2 is of another plan"},
		{"other run", func() []*Report { r := seg(1, 2); r.RunID = "run2"; return []*Report{seg(0, 2), r} }, `report 2 is of another run (run id "run2", report 1 "run1")`},
		{"other count", func() []*Report { return []*Report{seg(0, 2), seg(1, 3)} }, "report 2 is of 3 segments, report 1 of 2"},
		{"missing", func() []*Report { return []*Report{seg(0, 3), seg(2, 3)} }, "segment(s) 1 of 3 missing"},
		{"duplicated", func() []*Report { return []*Report{seg(0, 2), seg(0, 2)} }, "segment 0/2 given twice (report 2)"},
		{"no state", func() []*Report { r := seg(1, 2); r.State = nil; return []*Report{seg(0, 2), r} }, "report 2 (segment 1/2) has no mergeable state"},
		{"not a segment", func() []*Report { r := seg(1, 2); r.Segment = nil; return []*Report{seg(0, 2), r} }, "report 2 is not a segment's report"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := Merge(c.reps())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// TestMergedConsoleGolden renders a merged report for people.
func TestMergedConsoleGolden(t *testing.T) {
	t.Parallel()
	r0 := segmentReport(t, 0, 2, valuesIn(100, 1100), 3, 90, 10, 2)
	r1 := segmentReport(t, 1, 2, valuesIn(5000, 5300), 4, 1, 99, 2)
	r1.Valid = false
	r1.Generator.Reasons = []string{"scheduling lag p99 12ms"}
	m, err := Merge([]*Report{r0, r1})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteConsole(&b, m, ConsoleOptions{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "merged-console.golden", b.Bytes())
}

// TestMergeClockSkew: the segments' clocks, read against one shared
// server's, are compared; apart by more than MaxClockSkew beyond the
// readings' uncertainty, the merged measurement is invalid.
func TestMergeClockSkew(t *testing.T) {
	t.Parallel()
	clock := func(target string, off, unc float64) *Clock {
		return &Clock{Target: target, OffsetMS: off, UncertaintyMS: unc}
	}
	tests := []struct {
		name   string
		clocks []*Clock
		skew   *ClockSkew
		valid  bool
	}{
		{"in step", []*Clock{clock("c", 0.2, 0.1), clock("c", -0.1, 0.1), clock("c", 0, 0.05)},
			&ClockSkew{Target: "c", SkewMS: 0.3, UncertaintyMS: 0.2, Segments: [2]int{0, 1}}, true},
		{"equal", []*Clock{clock("c", 5, 1), clock("c", 5, 1)}, &ClockSkew{Target: "c", SkewMS: 0, UncertaintyMS: 2, Segments: [2]int{0, 1}}, true},
		{"within the uncertainty", []*Clock{clock("c", 0, 1), clock("c", 101, 1)},
			&ClockSkew{Target: "c", SkewMS: 101, UncertaintyMS: 2, Segments: [2]int{0, 1}}, true},
		{"apart", []*Clock{clock("c", 250, 0.5), clock("c", 10, 0.5), clock("c", 20, 0.5)},
			&ClockSkew{Target: "c", SkewMS: 240, UncertaintyMS: 1, Segments: [2]int{0, 1}}, false},
		{"one reading", []*Clock{clock("c", 0, 1), nil}, nil, true},
		{"other target ignored", []*Clock{clock("c", 0, 1), clock("d", 900, 1), clock("c", 1, 1)},
			&ClockSkew{Target: "c", SkewMS: 1, UncertaintyMS: 2, Segments: [2]int{0, 2}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var segs []*Report
			for i, c := range tt.clocks {
				r := segmentReport(t, i, len(tt.clocks), valuesIn(1, 10), 0, 1, 1, 0)
				r.Clock = c
				segs = append(segs, r)
			}
			m, err := Merge(segs)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m.ClockSkew, tt.skew) {
				t.Errorf("skew %+v, want %+v", m.ClockSkew, tt.skew)
			}
			if m.Valid != tt.valid {
				t.Errorf("valid %v, want %v (reasons %v)", m.Valid, tt.valid, m.Generator.Reasons)
			}
			if !tt.valid && (m.Generator.Cause != "clock_skew" || !strings.Contains(strings.Join(m.Generator.Reasons, "\n"), "clock skew: the clocks of segments 0 and 1 were 240.0ms")) {
				t.Errorf("cause %q, reasons %v", m.Generator.Cause, m.Generator.Reasons)
			}
		})
	}
}
