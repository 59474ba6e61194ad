package metrics

import (
	"math"
	"testing"
	"time"

	"github.com/runplan/runplan/engine/driver"
)

// cacheDecl declares a cache's figures the way a driver would: a ratio over
// three counters, and a duration.
var cacheDecl = []driver.StepMetric{
	{Name: "hits", Kind: driver.Counter},
	{Name: "misses", Kind: driver.Counter},
	{Name: "ratio", Kind: driver.Ratio, Numerator: "hits", Denominator: []string{"hits", "misses", "failed"}},
	{Name: "failed", Kind: driver.Counter},
	{Name: "wait", Kind: driver.Duration},
}

// TestFiguresFromCounters: samples' counters are summed by slot (ratios
// take none) and the declaration turns them into figures; a ratio over
// nothing is unknown, and a failed lookup lowers it rather than vanishing.
func TestFiguresFromCounters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		hits, misses, errs int64
		want               float64
	}{
		{9, 1, 0, 0.9},
		{9, 1, 10, 0.45},
		{0, 0, 4, 0},
		{0, 0, 0, math.NaN()},
	}
	for _, tc := range tests {
		s := NewSeries("x")
		s.Metrics = cacheDecl
		for i := int64(0); i < tc.hits+tc.misses+tc.errs; i++ {
			var c driver.Counters
			switch {
			case i < tc.hits:
				c[0] = 1
			case i < tc.hits+tc.misses:
				c[1] = 1
			default:
				c[2] = 1
			}
			c[3] = int64(time.Millisecond)
			s.Record(0, Sample{Counters: c})
		}
		fs := s.Stats().Figures()
		if len(fs) != len(cacheDecl) {
			t.Fatalf("%d figures, want %d", len(fs), len(cacheDecl))
		}
		got := fs[FigureIndex(fs, "ratio")].Ratio()
		n := tc.hits + tc.misses + tc.errs
		if fs[3].N != tc.errs || fs[4].Duration() != time.Duration(n)*time.Millisecond || !(got == tc.want || math.IsNaN(got) && math.IsNaN(tc.want)) {
			t.Errorf("%d hits, %d misses, %d failed: ratio %v, failed %d, wait %v; want %v", tc.hits, tc.misses, tc.errs, got, fs[3].N, fs[4].Duration(), tc.want)
		}
	}
}

// TestMergeFigures: a scenario's figures add its steps' by name, ratios
// from both sides, in the order names first appear.
func TestMergeFigures(t *testing.T) {
	t.Parallel()
	a := Figures(cacheDecl, &driver.Counters{3, 1, 0, 5})
	b := Figures(cacheDecl[:3], &driver.Counters{1, 3})
	other := []Figure{{StepMetric: driver.StepMetric{Name: "extra", Kind: driver.Counter}, N: 7}}
	m := MergeFigures(nil, other, a, b)
	want := []struct {
		name string
		n    int64
	}{{"extra", 7}, {"hits", 4}, {"misses", 4}, {"ratio", 4}, {"failed", 0}, {"wait", 5}}
	if len(m) != len(want) {
		t.Fatalf("merged %d figures, want %d", len(m), len(want))
	}
	for i, w := range want {
		if m[i].Name != w.name || m[i].N != w.n {
			t.Errorf("figure %d: %s=%d, want %s=%d", i, m[i].Name, m[i].N, w.name, w.n)
		}
	}
	if r := m[3].Ratio(); r != 0.5 {
		t.Errorf("merged ratio %v, want 0.5", r)
	}
}
