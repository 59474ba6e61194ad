package engine

import (
	"slices"
	"time"

	"github.com/runplan/runplan/engine/load"
	"github.com/runplan/runplan/engine/metrics"
	"github.com/runplan/runplan/engine/report"
)

// ScenarioProgress is a scenario's state during the run, for live display
// and live export (engine/export).
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
	// OK, Failed and Interrupted count the measured iterations by outcome
	// so far. Open is true for the open model, whose generator counts
	// Scheduled (due), Late and Dropped hits as it dispatches them, and
	// LagNow is the scheduling lag of its latest hit (LagOK false before
	// the first). They stay zero in the closed model.
	OK, Failed, Interrupted  int64
	Open                     bool
	Scheduled, Late, Dropped int64
	LagNow                   time.Duration
	LagOK                    bool
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
	// Steps are the scenario's steps, in plan order.
	Steps []StepProgress
}

// StepProgress is a step's figures so far.
type StepProgress struct {
	Name string
	// Target is the step's target ("" for a sleep).
	Target string
	// Totals count the step's measured calls so far, by error class.
	Totals metrics.Totals
	// Rate and Latency describe the last closed interval, as the
	// scenario's do: RateOK false when none of it was measured, Latency.OK
	// false when nothing completed in it. The latency is the response time
	// under the open model, the service time otherwise.
	Rate    float64
	RateOK  bool
	Latency metrics.Latency
}

// FaultProgress is a planned fault during the run.
type FaultProgress struct {
	Name, Target string
	// Active is true while the fault is in force.
	Active bool
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
			Done: r.done.Load(), Completed: r.completed.Load(), Errors: r.errors.Load(),
			OK: r.ok.Load(), Failed: r.failed.Load(), Interrupted: r.interrupted.Load(), Open: r.sc.open}
		if p.Open {
			p.Scheduled, p.Late, p.Dropped = r.live.Scheduled.Load(), r.live.Late.Load(), r.live.Dropped.Load()
			p.LagNow, p.LagOK = time.Duration(r.live.LastLag.Load()), p.Scheduled > 0
		}
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
		for i, st := range r.sc.steps {
			sp := StepProgress{Name: st.name, Target: st.target, Totals: r.series[i].Totals()}
			if pt, ok := r.series[i].Last(); ok {
				if pt.Measured > 0 {
					sp.Rate, sp.RateOK = pt.Rate(), true
				}
				sp.Latency = pt.Latency
			}
			p.Steps = append(p.Steps, sp)
		}
		out = append(out, p)
	}
	return out
}

// FaultProgress returns every planned fault of the plan, in plan order,
// and whether it is active now. It is safe to call from another goroutine
// while Run runs; before the fault timeline starts (and after Run) none is
// active.
func (prog *Program) FaultProgress() []FaultProgress {
	var active []string
	if rs := prog.live.Load(); rs != nil {
		rs.mu.Lock()
		tl := rs.timeline
		rs.mu.Unlock()
		active = tl.ActiveNames()
	}
	out := make([]FaultProgress, 0, len(prog.layout.Faults))
	for _, f := range prog.layout.Faults {
		out = append(out, FaultProgress{Name: f.Name, Target: f.Target, Active: slices.Contains(active, f.Name)})
	}
	return out
}

// Layout is where the plan's steps and faults act (their targets), as the
// report has it. The value is the caller's.
func (prog *Program) Layout() report.Layout {
	l := report.Layout{Faults: slices.Clone(prog.layout.Faults)}
	for _, s := range prog.layout.Scenarios {
		l.Scenarios = append(l.Scenarios, report.ScenarioLayout{Name: s.Name, Steps: slices.Clone(s.Steps)})
	}
	return l
}

// Segment is the execution segment the program runs (docs/SCALE.md); the
// zero value, or a Count of 1, is the whole plan.
func (prog *Program) Segment() load.Segment { return prog.opts.Segment }
