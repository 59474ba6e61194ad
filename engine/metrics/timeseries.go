package metrics

import (
	"maps"
	"math"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Point is one interval of a series: what completed between Start and
// Start + Width, on the same latency basis as the series (response time
// under the open model, service time otherwise).
type Point struct {
	Start time.Duration // from the run's start
	// Width is the interval's length: the series' interval, or a
	// power-of-two multiple of it once the series is coarsened (MaxPoints).
	Width time.Duration
	// Measured is how much of [Start, Start+Width) lay inside the series'
	// measured span (see Series.SetSpan): 0 when none — nothing was
	// measured, the interval's figures are unknown — and less than Width for
	// a partial interval (the span began or ended inside it).
	Measured time.Duration
	Count    int64
	Errors   int64
	// ErrorsBy counts the interval's errors by class (nil when none).
	ErrorsBy map[string]int64
	// Latency summarises the interval, read off its histogram at full
	// precision (3 significant digits) — or, for a point merged by
	// coarsening, off Hist. Hist is the interval's histogram in the sparse
	// form at PointDigits significant digits, for windowed figures (nil
	// when nothing completed). It is never changed once the point is made:
	// copies of the point share it.
	Latency Latency
	Hist    *hdrhistogram.PackedHistogram
}

// Partial reports whether only part of the interval was measured.
func (p Point) Partial() bool { return p.Measured > 0 && p.Measured < p.Width }

// Rate is the operations completed per second of the interval's measured
// part; NaN when none of it was measured.
func (p Point) Rate() float64 {
	if p.Measured <= 0 {
		return math.NaN()
	}
	return float64(p.Count) / p.Measured.Seconds()
}

// full reports whether the whole interval was measured.
func (p Point) full() bool { return p.Measured > 0 && p.Measured == p.Width }

// ringSize is how many intervals a shard keeps open: the collector may be
// up to ringSize-1 intervals late before data would be lost.
const ringSize = 4

// slot is one open interval of a shard. Its histogram is in the sparse
// form: an interval holds few distinct latencies, and a dense histogram per
// slot (a quarter of a megabyte, ringSize per shard per series) would be
// most of a run's memory. Reset keeps its storage, so that recording into
// it stays free of allocations once the slot has seen a typical interval.
type slot struct {
	idx    int64 // interval index; -1 when empty
	h      *hdrhistogram.PackedHistogram
	count  int64
	errors int64
	by     map[string]int64
}

// SetInterval sets the time-series interval; samples are attributed to
// interval floor(At / interval). Call it before recording.
func (s *Series) SetInterval(d time.Duration) { s.interval = d }

// SetSpan sets where the series' measured span begins, from the run's start:
// the scenario's start offset plus its warmup. Intervals wholly before it are
// unmeasured (their figures unknown, not zero). Without it the span begins
// at the run's start. Call it before the first Roll.
func (s *Series) SetSpan(from time.Duration) {
	s.pmu.Lock()
	s.from = from
	s.pmu.Unlock()
}

// EndSpan ends the measured span at at, from the run's start: when the
// scenario's last iteration returned (or, for a scenario that never started,
// before its span began). Intervals after it are unmeasured and the one it
// falls in is partial. Until it is called the span has no end. It is safe to
// call concurrently with Roll, and corrects intervals already closed.
func (s *Series) EndSpan(at time.Duration) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	s.until, s.ended = at, true
	for i := len(s.points) - 1; i >= 0; i-- {
		p := &s.points[i]
		if p.Start+p.Width <= at {
			break
		}
		p.Measured = s.measured(p.Start, p.Width)
	}
}

// measured is how much of [start, start+width) lies in the measured span.
// s.pmu is held.
func (s *Series) measured(start, width time.Duration) time.Duration {
	lo, hi := max(start, s.from), start+width
	if s.ended {
		hi = min(hi, s.until)
	}
	return max(hi-lo, 0)
}

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

// MaxPoints bounds the points a series keeps, so that its memory does not
// grow with the run's length: when it has this many, adjacent points are
// merged in pairs (their counts added, their histograms merged), and from
// then on each point spans twice as many intervals. A run of n intervals
// keeps fewer than MaxPoints points of width interval × 2^k, the smallest
// power of two that fits, and at least MaxPoints/2 once coarsened; Points
// adds the one being filled, narrower (the intervals closed since the last
// whole point). It is even.
const MaxPoints = 512

// Roll closes interval number idx, which starts at idx × the interval from
// the run's start, and adds it to the series' points (as a point of its
// own, or into the current wider point once the series is coarsened). It
// returns the interval (its Hist empty once the series is coarsened). The
// collector calls it once per interval, in order, from one goroutine at a
// time, once the interval is over; it is safe to call while Record,
// Points, Last and EndSpan run.
func (s *Series) Roll(idx int64) Point {
	if s.scratch == nil {
		s.scratch = newSparse()
	}
	h := s.scratch
	h.Reset()
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
	p := Point{Start: time.Duration(idx) * s.interval, Width: s.interval, Count: count, Errors: errs, ErrorsBy: by, Latency: SummarizeSparse(h)}
	s.pmu.Lock()
	defer s.pmu.Unlock()
	p.Measured = s.measured(p.Start, p.Width)
	s.last, s.hasLast = p, true
	if s.factor <= 1 {
		if count > 0 {
			p.Hist = pointHist(h)
		}
		s.points = append(s.points, p)
	} else {
		if s.pendN == 0 {
			s.pend = Point{Start: p.Start}
			if s.pendH == nil {
				s.pendH = newSparse()
			}
			s.pendH.Reset()
		}
		addCounts(&s.pend, p)
		s.pend.Width += p.Width
		if count > 0 {
			s.pendH.Merge(h)
		}
		s.pendN++
		if s.pendN == s.factor {
			s.points = append(s.points, s.pending())
			s.pendN = 0
		}
	}
	if len(s.points) >= s.maxPoints {
		s.coarsen()
	}
	return p
}

// addCounts adds p's counts to o's.
func addCounts(o *Point, p Point) {
	o.Count += p.Count
	o.Errors += p.Errors
	for k, v := range p.ErrorsBy {
		if o.ErrorsBy == nil {
			o.ErrorsBy = map[string]int64{}
		}
		o.ErrorsBy[k] += v
	}
}

// pending is the point being filled, closed as it stands. s.pmu is held.
func (s *Series) pending() Point {
	p := s.pend
	p.ErrorsBy = maps.Clone(p.ErrorsBy)
	p.Measured = s.measured(p.Start, p.Width)
	p.Latency = SummarizeSparse(s.pendH)
	if p.Count > 0 {
		p.Hist = pointHist(s.pendH)
	}
	return p
}

// PointDigits is the precision, in significant digits, of the histograms
// points keep for windowed figures (Worst): 1 % rather than the 0.1 % of a
// series' whole-run histograms, so that a point holds about an eighth of
// the buckets (a point of a busy one-second interval keeps 2 KB rather
// than 15 KB, and a series of MaxPoints points a megabyte rather than
// eight). A value moves to the coarser bucket that contains its bucket,
// and percentiles read a bucket's highest equivalent value: a windowed
// figure is never below the one full precision gives, and at most 1 %
// above it.
const PointDigits = 2

// pointHist copies h (full precision) into a new histogram at PointDigits,
// its storage sized to fit.
func pointHist(h *hdrhistogram.PackedHistogram) *hdrhistogram.PackedHistogram {
	p := hdrhistogram.NewPacked(lowest, highest, PointDigits)
	p.Merge(h)
	p.Compact()
	return p
}

// coarsen merges the points in pairs and doubles the width of the points
// to come. It runs when the series has MaxPoints points (an even number)
// and no pending one, so that pairs line up on the doubled grid. s.pmu is
// held.
func (s *Series) coarsen() {
	n := len(s.points) / 2
	for i := range n {
		a, b := s.points[2*i], s.points[2*i+1]
		m := Point{Start: a.Start, Width: a.Width + b.Width}
		addCounts(&m, a)
		addCounts(&m, b)
		m.Measured = s.measured(m.Start, m.Width)
		for _, d := range []*hdrhistogram.PackedHistogram{a.Hist, b.Hist} {
			if d == nil {
				continue
			}
			if m.Hist == nil {
				m.Hist = hdrhistogram.NewPacked(lowest, highest, PointDigits)
			}
			m.Hist.Merge(d)
		}
		if m.Hist != nil {
			m.Hist.Compact()
		}
		m.Latency = SummarizeSparse(m.Hist)
		s.points[i] = m
	}
	clear(s.points[n:])
	s.points = s.points[:n]
	s.factor *= 2
}

// Points returns the closed points so far, the one being filled included
// (narrower than the others) once the series is coarsened.
func (s *Series) Points() []Point {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	out := append(make([]Point, 0, len(s.points)+1), s.points...)
	if s.pendN > 0 {
		out = append(out, s.pending())
	}
	return out
}

// Last returns the most recent closed interval, if any (one interval, even
// once the series is coarsened).
func (s *Series) Last() (Point, bool) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	return s.last, s.hasLast
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

// Worst slides a window of width (a whole number of intervals, at least
// one, rounded up) over the points of the measured span and returns, for
// each figure, its worst value. Only windows of intervals measured whole
// count — a partial interval at either edge of the span is left out —
// unless there is no such window (the measured span is shorter than the
// window), when the whole measured span is the only window. With no
// measured interval every figure is unknown (NaN, and OK false).
func Worst(points []Point, interval, width time.Duration) (Window, error) {
	w := Window{Width: width, ErrorRate: math.NaN(), SuccessRate: math.NaN(), Rate: math.NaN()}
	lo, hi := 0, len(points)
	for lo < hi && points[lo].Measured <= 0 {
		lo++
	}
	for hi > lo && points[hi-1].Measured <= 0 {
		hi--
	}
	points = points[lo:hi]
	if len(points) == 0 || interval <= 0 {
		return w, nil
	}
	step := interval
	for _, p := range points {
		step = max(step, p.Width)
	}
	k := int(width / step)
	if width%step != 0 {
		k++
	}
	k = max(k, 1)
	// The windows: every k consecutive whole intervals.
	var starts []int
	run := 0 // whole intervals in a row so far
	for i, p := range points {
		if !p.full() {
			run = 0
			continue
		}
		run++
		if run >= k {
			starts = append(starts, i-k+1)
		}
	}
	if len(starts) == 0 {
		k, starts = len(points), []int{0}
	}
	// One dense histogram, reset for each window, gathers the window's
	// sparse ones, at their precision: gathered into finer buckets, a
	// coarse bucket's values would be read as its lowest.
	var h *hdrhistogram.Histogram
	for _, start := range starts {
		if h == nil {
			h = hdrhistogram.New(lowest, highest, PointDigits)
		} else {
			h.Reset()
		}
		var count, errs int64
		var measured time.Duration
		for i := start; i < start+k; i++ {
			count += points[i].Count
			errs += points[i].Errors
			measured += points[i].Measured
			if d := points[i].Hist; d != nil {
				d.MergeInto(h)
			}
		}
		rate := float64(count) / measured.Seconds()
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
