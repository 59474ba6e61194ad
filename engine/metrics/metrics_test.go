package metrics

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// series builds a series with one interval per entry: n operations of the
// given latency, errs of them failed.
func series(t *testing.T, intervals []struct {
	n, errs int
	lat     time.Duration
}) []Point {
	t.Helper()
	s := NewSeries("s")
	s.SetInterval(time.Second)
	for i, iv := range intervals {
		for j := range iv.n {
			x := Sample{Service: iv.lat, At: time.Duration(i)*time.Second + time.Duration(j)*time.Millisecond}
			if j < iv.errs {
				x.ErrClass = "timeout"
			}
			s.Record(j, x)
		}
		s.Roll(int64(i))
	}
	return s.Points()
}

type iv = struct {
	n, errs int
	lat     time.Duration
}

func TestEncodeRoundTrip(t *testing.T) {
	t.Parallel()
	h := NewHistogram()
	for i := range 1000 {
		_ = h.RecordValue(int64(i) * int64(time.Microsecond))
	}
	s, err := Encode(h)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(s)
	if err != nil || back.TotalCount() != 1000 || back.ValueAtQuantile(99) != h.ValueAtQuantile(99) {
		t.Fatalf("round trip: %v %d", err, back.TotalCount())
	}
}

func TestWorstWindow(t *testing.T) {
	t.Parallel()
	points := series(t, []iv{{100, 0, time.Millisecond}, {100, 0, time.Millisecond}, {100, 50, 500 * time.Millisecond},
		{100, 0, time.Millisecond}, {100, 0, time.Millisecond}})
	w, err := Worst(points, time.Second, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Every 2-second window that holds interval 2 has half its calls at
	// 500ms: p99 500ms, error rate 25%.
	if !w.OK || w.Latency.P99 < 490*time.Millisecond || math.Abs(w.ErrorRate-0.25) > 1e-9 || w.At != time.Second {
		t.Fatalf("worst %+v", w)
	}
	if w.Rate != 100 {
		t.Fatalf("lowest rate %v", w.Rate)
	}
}

func TestLateSampleGoesToTheOpenInterval(t *testing.T) {
	t.Parallel()
	s := NewSeries("s")
	s.SetInterval(time.Second)
	s.Record(0, Sample{Service: time.Millisecond, At: 500 * time.Millisecond})
	s.Roll(0)
	// Completed in interval 0, recorded after it closed: counted in 1, not lost.
	s.Record(0, Sample{Service: time.Millisecond, At: 900 * time.Millisecond})
	s.Roll(1)
	p := s.Points()
	if len(p) != 2 || p[0].Count != 1 || p[1].Count != 1 || s.Stats().Count != 2 {
		t.Fatalf("points %+v", p)
	}
}

// A percentile is marked "at least" when a lower bound may have lowered it:
// when the smallest lower bound is at most the percentile.
func TestLowerBoundsMarkPercentiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		bounds []time.Duration // recorded as lower bounds beside 100 × 1ms
		want   []string
	}{
		{"none", nil, nil},
		{"one long wait lifts only the top", []time.Duration{30 * time.Second}, []string{"mean", "p999", "max"}},
		{"three long waits reach the p99", []time.Duration{2 * time.Second, 2 * time.Second, 3 * time.Second}, []string{"mean", "p99", "p999", "max"}},
		{"a short wait may lower every figure", []time.Duration{time.Microsecond}, []string{"min", "mean", "p50", "p90", "p95", "p99", "p999", "max"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := NewSeries("x")
			for range 100 {
				s.Record(1, Sample{Service: time.Millisecond})
			}
			for _, b := range tt.bounds {
				s.RecordLowerBound(1, Sample{Service: b})
			}
			st := s.Stats()
			l := st.ServiceLatency()
			if st.Count != 100 || st.LowerBounds != int64(len(tt.bounds)) {
				t.Fatalf("count %d lower bounds %d", st.Count, st.LowerBounds)
			}
			if fmt.Sprint(l.AtLeast) != fmt.Sprint(tt.want) {
				t.Fatalf("at least %v, want %v (p99 %v)", l.AtLeast, tt.want, l.P99)
			}
		})
	}
}

// Only the measured span counts: intervals before it are unknown, not 0/s,
// a partial interval at its end has its rate over its measured part and is
// left out of worst() windows.
func TestMeasuredSpan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		from, until  time.Duration // until 0: never ended
		measured     []time.Duration
		worstRate    float64 // NaN: unknown
		worstWindows time.Duration
	}{
		{"whole run", 0, 0, []time.Duration{time.Second, time.Second, time.Second, time.Second}, 10, time.Second},
		{"start and warmup", 2 * time.Second, 0, []time.Duration{0, 0, time.Second, time.Second}, 10, time.Second},
		{"partial end", 0, 3500 * time.Millisecond, []time.Duration{time.Second, time.Second, time.Second, 500 * time.Millisecond}, 10, time.Second},
		{"partial start", 1500 * time.Millisecond, 0, []time.Duration{0, 500 * time.Millisecond, time.Second, time.Second}, 10, time.Second},
		{"shorter than the window", 1500 * time.Millisecond, 3500 * time.Millisecond, []time.Duration{0, 500 * time.Millisecond, time.Second, 500 * time.Millisecond}, 10, 5 * time.Second},
		{"never started", time.Hour, 3 * time.Second, []time.Duration{0, 0, 0, 0}, math.NaN(), time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := NewSeries("s")
			s.SetInterval(time.Second)
			s.SetSpan(tt.from)
			for i := range 4 {
				// 10 operations per second of the measured span.
				for j := range 10 {
					at := time.Duration(i)*time.Second + time.Duration(j)*100*time.Millisecond
					if at >= tt.from && (tt.until == 0 || at < tt.until) {
						s.Record(j, Sample{Service: time.Millisecond, At: at})
					}
				}
				if i == 3 && tt.until > 0 {
					s.EndSpan(tt.until)
				}
				s.Roll(int64(i))
			}
			points := s.Points()
			for i, p := range points {
				if p.Measured != tt.measured[i] || p.Width != time.Second {
					t.Fatalf("point %d: measured %v of %v, want %v", i, p.Measured, p.Width, tt.measured[i])
				}
				if p.Measured == 0 {
					if !math.IsNaN(p.Rate()) {
						t.Errorf("point %d: unmeasured, rate %v; want NaN", i, p.Rate())
					}
				} else if p.Rate() != 10 {
					t.Errorf("point %d: rate %v over %v, want 10", i, p.Rate(), p.Measured)
				}
				if p.Partial() != (p.Measured > 0 && p.Measured < time.Second) {
					t.Errorf("point %d: partial %v", i, p.Partial())
				}
			}
			w, err := Worst(points, time.Second, tt.worstWindows)
			if err != nil {
				t.Fatal(err)
			}
			if math.IsNaN(tt.worstRate) != math.IsNaN(w.Rate) || (!math.IsNaN(w.Rate) && math.Abs(w.Rate-tt.worstRate) > 1e-9) {
				t.Errorf("worst rate %v, want %v", w.Rate, tt.worstRate)
			}
			if math.IsNaN(tt.worstRate) && (w.OK || !math.IsNaN(w.SuccessRate)) {
				t.Errorf("worst of nothing measured: %+v", w)
			}
		})
	}
}

// A span ended after its last interval closed corrects it.
func TestEndSpanCorrectsClosedIntervals(t *testing.T) {
	t.Parallel()
	s := NewSeries("s")
	s.SetInterval(time.Second)
	s.Roll(0)
	s.Roll(1)
	s.EndSpan(1200 * time.Millisecond)
	p := s.Points()
	if p[0].Measured != time.Second || p[1].Measured != 200*time.Millisecond || !p[1].Partial() {
		t.Fatalf("points %+v", p)
	}
}

// A series keeps a bounded number of points however long the run: old
// intervals are merged in pairs, and nothing is lost in the merging.
func TestSeriesIsCoarsenedToBoundedPoints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		intervals int
		max       int           // points kept at most
		sparse    int           // operations every sparse intervals (for speed)
		points    int           // kept at the end
		width     time.Duration // of every point but maybe the last
	}{
		{7, 8, 1, 7, 10 * time.Millisecond},
		{8, 8, 1, 4, 20 * time.Millisecond},
		{100, 8, 1, 7, 160 * time.Millisecond},
		{103, 8, 1, 7, 160 * time.Millisecond}, // the last point holds 7 intervals
		// The real bound: 120 s at 10 ms.
		{12000, MaxPoints, 997, 375, 32 * 10 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.intervals, " of ", tt.max), func(t *testing.T) {
			t.Parallel()
			s := NewSeries("s")
			s.SetInterval(10 * time.Millisecond)
			s.SetSpan(0)
			s.maxPoints = tt.max
			maxKept := 0
			for i := range tt.intervals {
				at := time.Duration(i) * 10 * time.Millisecond
				if i%tt.sparse == 0 {
					s.Record(0, Sample{Service: time.Duration(i%7+1) * time.Millisecond, At: at})
					if i%3 == 0 {
						s.Record(1, Sample{Service: time.Millisecond, At: at, ErrClass: "timeout"})
					}
				}
				s.Roll(int64(i))
				s.pmu.Lock()
				maxKept = max(maxKept, len(s.points))
				s.pmu.Unlock()
			}
			if maxKept >= tt.max {
				t.Errorf("kept up to %d points, want fewer than %d", maxKept, tt.max)
			}
			s.EndSpan(time.Duration(tt.intervals)*10*time.Millisecond - 5*time.Millisecond)
			points := s.Points()
			if len(points) != tt.points {
				t.Fatalf("%d points, want %d", len(points), tt.points)
			}
			var count, errs, timeouts int64
			var next, measured time.Duration
			for i, p := range points {
				if p.Start != next {
					t.Fatalf("point %d starts at %v, want %v", i, p.Start, next)
				}
				if i < len(points)-1 && p.Width != tt.width {
					t.Fatalf("point %d is %v wide, want %v", i, p.Width, tt.width)
				}
				next += p.Width
				count += p.Count
				errs += p.Errors
				timeouts += p.ErrorsBy["timeout"]
				measured += p.Measured
				if h := p.Hist; (h == nil) != (p.Count == 0) || (h != nil && h.TotalCount() != p.Count) {
					t.Fatalf("point %d: histogram %v for %d operations", i, h, p.Count)
				}
			}
			last := points[len(points)-1]
			if next != time.Duration(tt.intervals)*10*time.Millisecond || !last.Partial() {
				t.Errorf("the points end at %v (last partial %v), want %v", next, last.Partial(), time.Duration(tt.intervals)*10*time.Millisecond)
			}
			st := s.Stats()
			if count != st.Count || errs != st.Errors || timeouts != st.ErrorsBy["timeout"] {
				t.Errorf("points hold %d operations, %d errors (%d timeouts); the series %d, %d", count, errs, timeouts, st.Count, st.Errors)
			}
			if want := time.Duration(tt.intervals)*10*time.Millisecond - 5*time.Millisecond; measured != want {
				t.Errorf("measured %v, want %v", measured, want)
			}
			if p, ok := s.Last(); !ok || p.Width != 10*time.Millisecond {
				t.Errorf("last interval %+v, want one interval", p)
			}
			// worst() over coarse points: windows are whole points.
			w, err := Worst(points, 10*time.Millisecond, 10*time.Millisecond)
			if err != nil || !w.OK || w.Latency.Max < time.Millisecond || w.ErrorRate <= 0 {
				t.Errorf("worst %+v (%v)", w, err)
			}
		})
	}
}
