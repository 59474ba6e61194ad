package metrics

import (
	"math"
	"time"
)

// Span is what the scenarios a fault affected measured over a stretch of
// time.
type Span struct {
	From, To    time.Duration // from the run's start
	Count       int64
	Errors      int64
	ErrorsBy    map[string]int64
	SuccessRate float64 // NaN when nothing completed
	Rate        float64
	Latency     Latency
}

// Effect is a fault's measured effect on the scenarios it affected.
type Effect struct {
	Before, During, After Span
	// Recovered is true when the scenarios came back within the recovery
	// tolerance; Recovery is then the time from the fault's end until they
	// did. Unknown (false) without a baseline or when the fault lasted to
	// the end of the run.
	Recovered bool
	Recovery  time.Duration
	// Why says why no recovery time could be given, if none was.
	Why string
}

// Tolerance is a fault's recovery rule (see plan.Recovery).
type Tolerance struct {
	Latency   float64 // allowed p99 growth over the baseline, a fraction
	Success   float64 // allowed success-rate drop below the baseline
	Intervals int     // consecutive intervals within tolerance
}

// minLatencySlack keeps a baseline of microseconds from making recovery
// impossible: a p99 within this much of the baseline is within tolerance.
const minLatencySlack = 5 * time.Millisecond

// MergePoints adds the points of several series interval by interval (series of
// one run share their interval starts).
func MergePoints(series ...[]Point) []Point {
	var out []Point
	for _, s := range series {
		for i, p := range s {
			if i >= len(out) {
				out = append(out, Point{Start: p.Start, Width: p.Width, Measured: p.Measured})
			}
			o := &out[i]
			o.Count += p.Count
			o.Errors += p.Errors
			for k, v := range p.ErrorsBy {
				if o.ErrorsBy == nil {
					o.ErrorsBy = map[string]int64{}
				}
				o.ErrorsBy[k] += v
			}
			if p.Hist == "" {
				continue
			}
			h, err := Decode(p.Hist)
			if err != nil {
				continue
			}
			if o.Hist != "" {
				if prev, err := Decode(o.Hist); err == nil {
					h.Merge(prev)
				}
			}
			o.Hist, _ = Encode(h)
			o.Latency = Summarize(h)
		}
	}
	return out
}

// span aggregates the points that start in [from, to).
func span(points []Point, interval, from, to time.Duration) Span {
	w := Span{From: from, To: to, SuccessRate: math.NaN(), ErrorsBy: map[string]int64{}}
	h := NewHistogram()
	var n int
	for _, p := range points {
		if p.Start < from || p.Start >= to {
			continue
		}
		n++
		w.Count += p.Count
		w.Errors += p.Errors
		for k, v := range p.ErrorsBy {
			w.ErrorsBy[k] += v
		}
		if p.Hist != "" {
			if d, err := Decode(p.Hist); err == nil {
				h.Merge(d)
			}
		}
	}
	if w.Count > 0 {
		w.SuccessRate = float64(w.Count-w.Errors) / float64(w.Count)
	}
	if n > 0 {
		w.Rate = float64(w.Count) / (time.Duration(n) * interval).Seconds()
	}
	w.Latency = Summarize(h)
	return w
}

// Measure computes a fault's effect from the affected scenarios' merged
// points: the window before the fault (as long as the fault, at most from
// the start), during it, and after it (as long as the fault), and the
// recovery time. untilEnd is true when the fault lasted to the end.
func Measure(points []Point, interval, start, end time.Duration, untilEnd bool, tol Tolerance) Effect {
	// Windows are whole intervals: the fault's edges are rounded to the
	// nearest interval boundary. Once a long run's series is coarsened
	// (see MaxPoints), an interval is a point's width.
	for _, p := range points {
		interval = max(interval, p.Width)
	}
	if interval > 0 {
		start = start.Round(interval)
		end = max(end.Round(interval), start+interval)
	}
	length := max(end-start, interval)
	e := Effect{
		Before: span(points, interval, max(start-length, 0), start),
		During: span(points, interval, start, end),
		After:  span(points, interval, end, end+length),
	}
	switch {
	case untilEnd:
		e.Why = "the fault lasted until the end of the run"
		return e
	case e.Before.Count == 0 || !e.Before.Latency.OK:
		e.Why = "no baseline: nothing completed before the fault"
		return e
	}
	baseP99 := e.Before.Latency.P99
	maxP99 := max(time.Duration(float64(baseP99)*(1+tol.Latency)), baseP99+minLatencySlack)
	minSuccess := e.Before.SuccessRate - tol.Success
	k := max(tol.Intervals, 1)
	ok := func(p Point) bool {
		if p.Count == 0 || !p.Latency.OK {
			return false
		}
		return p.Latency.P99 <= maxP99 && float64(p.Count-p.Errors)/float64(p.Count) >= minSuccess
	}
	for i, p := range points {
		if p.Start+interval <= end {
			continue // intervals that end before the fault did
		}
		if i+k > len(points) {
			break
		}
		good := true
		for j := i; j < i+k; j++ {
			if !ok(points[j]) {
				good = false
				break
			}
		}
		if good {
			e.Recovered = true
			e.Recovery = max(p.Start-end, 0)
			return e
		}
	}
	e.Why = "the scenarios did not come back within tolerance before the run ended"
	return e
}
