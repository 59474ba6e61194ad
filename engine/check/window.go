package check

import (
	"errors"
	"fmt"
	"math"

	"github.com/runplan/runplan/engine/metrics"
)

// WindowEnv is what worst(x, width) returns: the worst value each figure
// took over every window of that width (the highest latencies and error
// rate, the lowest success rate and rate).
type WindowEnv struct {
	Latency     LatencyEnv `expr:"latency"`
	ErrorRate   float64    `expr:"error_rate"`
	SuccessRate float64    `expr:"success_rate"`
	Rate        float64    `expr:"rate"`
	// At is where the window with the highest p99 starts, from the run's
	// start.
	At Duration `expr:"at"`
	// Count, Errors and ErrorsBy are given for fault windows.
	Count    int            `expr:"count"`
	Errors   int            `expr:"errors"`
	ErrorsBy map[string]int `expr:"errors_by"`
	// measured is false for a fault window that held no data (see
	// unknown.go).
	measured bool
}

// worstFn implements worst(scenario or step, width).
func worstFn(p ...any) (any, error) {
	width, ok := p[1].(Duration)
	if !ok || !width.OK || width.D <= 0 {
		return nil, errors.New("worst: the window must be a positive duration, like s(5)")
	}
	var st *StepEnv
	switch x := p[0].(type) {
	case *StepEnv:
		st = x
	case *ScenarioEnv:
		st = &x.StepEnv
	default:
		return nil, fmt.Errorf("worst: want a scenario or a step, got %T", p[0])
	}
	nan := math.NaN()
	out := &WindowEnv{ErrorRate: nan, SuccessRate: nan, Rate: nan}
	if st == nil || st.interval <= 0 {
		return out, nil // nothing measured: every figure unknown
	}
	w, err := metrics.Worst(st.points, st.interval, width.D)
	if err != nil {
		return nil, err
	}
	if w.OK {
		out.Latency = latencyEnv(w.Latency)
		out.ErrorRate, out.SuccessRate = w.ErrorRate, w.SuccessRate
		out.At = Duration{D: w.At, OK: true}
	}
	out.Rate = w.Rate
	return out, nil
}
