package metrics

import (
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
