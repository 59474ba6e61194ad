package metrics

import (
	"math"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Point is one interval of a series: what completed between Start and
// Start + the interval, on the same latency basis as the series (response
// time under the open model, service time otherwise).
type Point struct {
	Start  time.Duration // from the run's start
	Count  int64
	Errors int64
	// ErrorsBy counts the interval's errors by class (nil when none).
	ErrorsBy map[string]int64
	// Latency summarises the interval; Hist is its histogram, compressed,
	// for windowed figures (empty when nothing completed).
	Latency Latency
	Hist    string
}

// ringSize is how many intervals a shard keeps open: the collector may be
// up to ringSize-1 intervals late before data would be lost.
const ringSize = 4

// slot is one open interval of a shard.
type slot struct {
	idx    int64 // interval index; -1 when empty
	h      *hdrhistogram.Histogram
	count  int64
	errors int64
	by     map[string]int64
}

// SetInterval sets the time-series interval; samples are attributed to
// interval floor(At / interval). Call it before recording.
func (s *Series) SetInterval(d time.Duration) { s.interval = d }

// slotFor returns the shard's slot for a sample completed at at. A sample
// for an interval already collected goes to the first open one. The shard's
// lock is held.
func (s *Series) slotFor(sh *shard, at time.Duration) *slot {
	var idx int64
	if s.interval > 0 && at > 0 {
		idx = int64(at / s.interval)
	}
	if r := s.rolled.Load(); idx < r {
		idx = r
	}
	sl := &sh.ring[idx%ringSize]
	if sl.idx != idx {
		// The slot held an older interval the collector missed (more than
		// ringSize-1 late): its data moves into this one rather than vanish.
		sl.idx = idx
	}
	return sl
}

// Roll closes interval number idx, which starts at idx × the interval from
// the run's start, and appends it to the series' points. The collector
// calls it once per interval, in order, once the interval is over; it is
// safe to call while Record runs.
func (s *Series) Roll(idx int64) Point {
	h := NewHistogram()
	var count, errs int64
	var by map[string]int64
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		sl := &sh.ring[idx%ringSize]
		if sl.idx == idx || (sl.idx >= 0 && sl.idx < idx) {
			if sl.count > 0 {
				h.Merge(sl.h)
				sl.h.Reset()
			}
			for k, v := range sl.by {
				if by == nil {
					by = map[string]int64{}
				}
				by[k] += v
				delete(sl.by, k)
			}
			count += sl.count
			errs += sl.errors
			sl.count, sl.errors, sl.idx = 0, 0, -1
		}
		sh.mu.Unlock()
	}
	s.rolled.Store(idx + 1)
	p := Point{Start: time.Duration(idx) * s.interval, Count: count, Errors: errs, ErrorsBy: by, Latency: Summarize(h)}
	if count > 0 {
		p.Hist, _ = Encode(h)
	}
	s.pmu.Lock()
	s.points = append(s.points, p)
	s.pmu.Unlock()
	return p
}

// Points returns the closed intervals so far.
func (s *Series) Points() []Point {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	return append([]Point(nil), s.points...)
}

// Last returns the most recent closed interval, if any.
func (s *Series) Last() (Point, bool) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	if len(s.points) == 0 {
		return Point{}, false
	}
	return s.points[len(s.points)-1], true
}

// Window is the worst of every window of a given width over a series.
type Window struct {
	Width time.Duration
	// OK is false when no window held an operation.
	OK bool
	// Latency holds, per percentile, the highest value any window had.
	Latency Latency
	// ErrorRate is the highest, SuccessRate and Rate the lowest of any
	// window that held operations (Rate counts every full window).
	ErrorRate, SuccessRate, Rate float64
	// At is where the window with the highest p99 started.
	At time.Duration
}

// Worst slides a window of width (a whole number of intervals, at least one)
// over points and returns, for each figure, its worst value. Only windows
// that lie wholly inside the series count, unless the series is shorter
// than one window, when the whole series is the only window.
func Worst(points []Point, interval, width time.Duration) (Window, error) {
	w := Window{Width: width, ErrorRate: math.NaN(), SuccessRate: math.NaN(), Rate: math.NaN()}
	if len(points) == 0 || interval <= 0 {
		return w, nil
	}
	k := int(width / interval)
	if width%interval != 0 {
		k++
	}
	k = max(k, 1)
	if k > len(points) {
		k = len(points)
	}
	decoded := make([]*hdrhistogram.Histogram, len(points))
	get := func(i int) (*hdrhistogram.Histogram, error) {
		if decoded[i] == nil && points[i].Hist != "" {
			h, err := Decode(points[i].Hist)
			if err != nil {
				return nil, err
			}
			decoded[i] = h
		}
		return decoded[i], nil
	}
	for start := 0; start+k <= len(points); start++ {
		// Release what slid out, so memory stays at one window.
		if start > 0 {
			decoded[start-1] = nil
		}
		h := NewHistogram()
		var count, errs int64
		for i := start; i < start+k; i++ {
			count += points[i].Count
			errs += points[i].Errors
			d, err := get(i)
			if err != nil {
				return w, err
			}
			if d != nil {
				h.Merge(d)
			}
		}
		rate := float64(count) / (time.Duration(k) * interval).Seconds()
		if math.IsNaN(w.Rate) || rate < w.Rate {
			w.Rate = rate
		}
		if count == 0 {
			continue
		}
		l := Summarize(h)
		er := float64(errs) / float64(count)
		if !w.OK {
			w.OK, w.Latency, w.ErrorRate, w.SuccessRate, w.At = true, l, er, 1-er, points[start].Start
			continue
		}
		if l.P99 > w.Latency.P99 {
			w.At = points[start].Start
		}
		w.Latency = Latency{OK: true,
			Min: max(w.Latency.Min, l.Min), Mean: max(w.Latency.Mean, l.Mean),
			P50: max(w.Latency.P50, l.P50), P90: max(w.Latency.P90, l.P90), P95: max(w.Latency.P95, l.P95),
			P99: max(w.Latency.P99, l.P99), P999: max(w.Latency.P999, l.P999), Max: max(w.Latency.Max, l.Max)}
		w.ErrorRate = max(w.ErrorRate, er)
		w.SuccessRate = min(w.SuccessRate, 1-er)
	}
	return w, nil
}
