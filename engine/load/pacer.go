// Package load drives iterations: the closed model (a fixed number of
// virtual users looping) and the open model (iterations started at an arrival
// rate by a pacer, whatever the target's speed).
//
// Pacers are pure functions of elapsed time and hits so far, in the manner of
// vegeta, and are table-tested without a clock. Executors are safe to run
// concurrently with each other; each call runs one scenario to its end.
package load

import (
	"math"
	"time"
)

// Pacer says when hit number hits (0-based) is due.
type Pacer interface {
	// Pace returns how long to wait from elapsed until the next hit is due
	// (0 when it is already due) or stop when no more hits are due.
	Pace(elapsed time.Duration, hits uint64) (wait time.Duration, stop bool)
	// Due returns the offset from the start at which hit number hits is due.
	Due(hits uint64) time.Duration
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
		return math.MaxInt64
	}
	return time.Duration(float64(hits) * float64(time.Second) / p.Rate)
}

// Pace implements Pacer.
func (p ConstantPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	due := p.Due(hits)
	if p.Rate <= 0 || due >= p.Duration {
		return 0, true
	}
	if due <= elapsed {
		return 0, false
	}
	return due - elapsed, false
}
