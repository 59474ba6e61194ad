package metrics

import (
	"time"
)

// Span is what the scenarios a fault affected measured over a stretch of
// time, from the exact completion times of their iterations.
type Span struct {
	From, To    time.Duration // from the run's start
	Count       int64
	Errors      int64
	ErrorsBy    map[string]int64
	SuccessRate float64 // NaN when nothing completed
	Rate        float64 // completions per second; 0 when the span has no length
	// Latency is over every completion (Count of them); SuccessLatency over
	// the successful ones (Count − Errors), which a fast failure (a refused
	// connection) does not flatter.
	Latency        Latency
	SuccessLatency Latency
}

// Effect is a fault's measured effect on the scenarios it affected
// (engine/fault.Window computes it; docs/FAULTS.md defines it).
type Effect struct {
	Before, During, After Span
	// ErrorsStopped runs from the fault's end (its undo returned) to the
	// last failed completion that belongs to the fault; LatencyReturned to
	// the point from which latency stayed within LatencyLimit. Each is
	// known (OK) once the scenarios stayed within the rule long enough.
	ErrorsStopped, LatencyReturned     time.Duration
	ErrorsStoppedOK, LatencyReturnedOK bool
	// LatencyLimit and SuccessLimit are the recovery rule's limits derived
	// from the baseline (SuccessLimit NaN without one).
	LatencyLimit time.Duration
	SuccessLimit float64
	// Recovered is true when both are known; Recovery is then the larger.
	// Unknown (false) without a baseline, when the fault lasted to the end
	// of the run, or when the scenarios did not come back before it ended.
	Recovered bool
	Recovery  time.Duration
	// Why says why no recovery time could be given, if none was.
	Why string
}
