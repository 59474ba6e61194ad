package engine

import (
	"time"
)

// ScenarioProgress is a scenario's state during the run, for live display.
type ScenarioProgress struct {
	Name    string
	Started bool
	Done    bool
	// Elapsed since the scenario started; Planned its planned length (zero
	// when it runs by iteration count).
	Elapsed, Planned time.Duration
	// Iterations planned (zero when it runs for a duration).
	PlannedIterations int64
	// Completed iterations and failed ones so far (after the warmup).
	Completed, Errors int64
	// Rate and P99 describe the last closed interval: Rate per second of
	// its measured part (RateOK false when none of it was measured — the
	// warmup, before the scenario's start), P99OK false when it held
	// nothing.
	Rate   float64
	RateOK bool
	P99    time.Duration
	P99OK  bool
	// Faults names the faults active now on the scenario's targets.
	Faults []string
}

// Progress returns every scenario's progress. It is safe to call from
// another goroutine while Run runs; before the scenarios start it returns
// nil.
func (prog *Program) Progress() []ScenarioProgress {
	rs := prog.live.Load()
	if rs == nil {
		return nil
	}
	rs.mu.Lock()
	runs := rs.runs
	tl := rs.timeline
	rs.mu.Unlock()
	if runs == nil {
		return nil
	}
	out := make([]ScenarioProgress, 0, len(runs))
	for _, r := range runs {
		p := ScenarioProgress{Name: r.sc.name, Planned: r.sc.duration, PlannedIterations: r.sc.plannedIterations,
			Done: r.done.Load(), Completed: r.completed.Load(), Errors: r.errors.Load()}
		if ns := r.started.Load(); ns != 0 {
			p.Started = true
			p.Elapsed = time.Since(time.Unix(0, ns))
		}
		if pt, ok := r.iter.Last(); ok {
			if pt.Measured > 0 {
				p.Rate, p.RateOK = pt.Rate(), true
			}
			p.P99, p.P99OK = pt.Latency.P99, pt.Latency.OK
		}
		p.Faults = tl.Active(r.sc.name)
		out = append(out, p)
	}
	return out
}
