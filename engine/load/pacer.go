// Package load drives iterations: the closed model (virtual users looping,
// a fixed or ramping number of them) and the open model (iterations started
// at an arrival rate — constant, ramping or in bursts — whatever the
// target's speed).
//
// Pacers and the VU ramp are pure functions of elapsed time, in the manner
// of vegeta, and are table-tested without a clock. Executors are safe to run
// concurrently with each other; each call runs one scenario to its end.
package load

import (
	"math"
	"time"
)

// Never is the due time of a hit that will not happen.
const Never = time.Duration(math.MaxInt64)

// Pacer says when hit number n (0-based) is due.
type Pacer interface {
	// Pace returns how long to wait from elapsed until hit number hits is
	// due (0 when it is already due), or stop when no more hits are due.
	Pace(elapsed time.Duration, hits uint64) (wait time.Duration, stop bool)
	// Due returns the offset from the start at which hit number hits is
	// due, or Never.
	Due(hits uint64) time.Duration
}

// pace implements Pacer.Pace from a Due function.
func pace(due, elapsed time.Duration) (time.Duration, bool) {
	if due == Never {
		return 0, true
	}
	if due <= elapsed {
		return 0, false
	}
	return due - elapsed, false
}

// ConstantPacer paces Rate hits per second for Duration.
type ConstantPacer struct {
	Rate     float64 // hits per second, > 0
	Duration time.Duration
}

var _ Pacer = ConstantPacer{}

// Due implements Pacer.
func (p ConstantPacer) Due(hits uint64) time.Duration {
	if p.Rate <= 0 {
		return Never
	}
	d := time.Duration(float64(hits) * float64(time.Second) / p.Rate)
	if d >= p.Duration {
		return Never
	}
	return d
}

// Pace implements Pacer.
func (p ConstantPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	return pace(p.Due(hits), elapsed)
}

// Stage moves a value (VUs, or hits per second) linearly to Target over
// Duration.
type Stage struct {
	Duration time.Duration
	Target   float64
}

// RampPacer paces hits at a rate that starts at Start (per second) and
// follows Stages linearly: the cumulative number of hits is the integral of
// the rate, and hit n is due when it reaches n.
type RampPacer struct {
	Start  float64
	Stages []Stage
}

var _ Pacer = RampPacer{}

// Due implements Pacer.
func (p RampPacer) Due(hits uint64) time.Duration {
	want := float64(hits)
	r0, acc, t0 := p.Start, 0.0, 0.0
	for _, st := range p.Stages {
		d := st.Duration.Seconds()
		r1 := st.Target
		area := (r0 + r1) / 2 * d
		if d > 0 && acc+area > want {
			need := want - acc
			// Solve r0·x + (r1-r0)/(2d)·x² = need for x in [0, d].
			a := (r1 - r0) / (2 * d)
			var x float64
			if math.Abs(a) < 1e-12 {
				x = need / r0
			} else {
				x = (-r0 + math.Sqrt(max(r0*r0+4*a*need, 0))) / (2 * a)
			}
			return time.Duration((t0 + min(max(x, 0), d)) * float64(time.Second))
		}
		acc += area
		t0 += d
		r0 = r1
	}
	return Never
}

// Pace implements Pacer.
func (p RampPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	return pace(p.Due(hits), elapsed)
}

// BurstPacer releases Size hits at once every Every, Count times, the first
// at the start.
type BurstPacer struct {
	Size  int
	Every time.Duration
	Count int
}

var _ Pacer = BurstPacer{}

// Due implements Pacer.
func (p BurstPacer) Due(hits uint64) time.Duration {
	if p.Size <= 0 || hits >= uint64(p.Size)*uint64(p.Count) {
		return Never
	}
	return time.Duration(hits/uint64(p.Size)) * p.Every
}

// Pace implements Pacer.
func (p BurstPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	return pace(p.Due(hits), elapsed)
}

// VUsAt returns how many VUs a closed-model ramp wants active at elapsed:
// from start, linearly through the stages, rounded to the nearest VU;
// done is true after the last stage.
func VUsAt(start float64, stages []Stage, elapsed time.Duration) (n int, done bool) {
	v0 := start
	var t0 time.Duration
	for _, st := range stages {
		if elapsed < t0+st.Duration {
			frac := float64(elapsed-t0) / float64(st.Duration)
			return int(math.Round(v0 + (st.Target-v0)*frac)), false
		}
		t0 += st.Duration
		v0 = st.Target
	}
	return int(math.Round(v0)), true
}
