// Package explain is what `runplan explain` shows of a plan: what it does
// over time, for a reviewer who judges a change to it without running it.
// The model (Plan) is built by engine.Explain from a loaded and prepared
// plan, without opening any target; this package holds the model, the load
// shape arithmetic, the words for check expressions, and the text and
// Markdown renderers. It imports no other part of runplan.
//
// A Plan is plain data: not changed once built, safe to share between
// goroutines; the renderers only read it.
package explain

import (
	"time"
)

// Plan is what a plan does, for a reviewer.
type Plan struct {
	Name, Description, Path string
	// Seed is the plan's seed; HasSeed is false when it gives none (each
	// run draws one).
	Seed     uint64
	HasSeed  bool
	Interval time.Duration

	Targets         []Target
	Data            []DataSource
	Scenarios       []Scenario
	Faults          []Fault
	Checks          []Check
	Readiness       Readiness
	Validity        Validity
	Recommendations []Recommendation
}

// Target is a named connection and where its figures will come from.
type Target struct {
	Name, Driver string
	// Kind is embedded, managed or external (driver.KindPlanner); Note a
	// few words on it, "" when there is nothing to add.
	Kind, Note string
	// Addr is the plan's URL with its credentials masked; "" without one.
	Addr string
}

// DataSource is a file the plan's templates read rows from.
type DataSource struct {
	Name, File string
	// Format, Pick, Cursor and Exhausted are as the plan says them (csv,
	// sequential, shared, ...).
	Format, Pick, Cursor, Exhausted string
	Columns                         []string
	// Rows is the file's row count, zero when not counted.
	Rows int64
}

// Model is a load model.
type Model string

// Load models, as in the plan.
const (
	Closed Model = "closed"
	Open   Model = "open"
)

// Scenario is a workload: when it runs, its load shape and its steps.
type Scenario struct {
	Name, Description string
	Model             Model
	// Start is its offset from the run's start; Duration its planned
	// length, zero when it is bounded by an iteration count only.
	Start, Duration time.Duration
	// Warmup is its leading part that runs but is not measured (inside
	// Duration).
	Warmup time.Duration
	// Shape is the load over the scenario's own time (0 at Start): VUs
	// (closed) or iterations per second (open), linear between points.
	// Empty for bursts and for a scenario bounded by iterations only.
	Shape []Point
	// Burst is the open model's bursts, nil otherwise.
	Burst *Burst
	// VUs is the closed model's VU count (the start with stages);
	// MaxVUs the open model's cap on iterations in flight.
	VUs, MaxVUs int
	// Iterations is the planned count (shared or, with PerVU, for each VU).
	Iterations int64
	PerVU      bool
	// GracefulStop is how long iterations in flight at the end may finish.
	GracefulStop time.Duration
	// Late is the open model's late policy in force.
	Late string
	// Mix is true when each iteration runs one step drawn by weight.
	Mix   bool
	Vars  []string
	Steps []Step
	// Validity is the scenario's validity limits in force.
	Validity Validity
}

// Point is the load at a moment of a scenario.
type Point struct {
	At    time.Duration
	Value float64
}

// Burst releases Size iterations at once every Every, Count times.
type Burst struct {
	Size  int
	Every time.Duration
	Count int
}

// End is the scenario's planned end from the run's start; zero when
// unknown (bounded by iterations only).
func (s *Scenario) End() time.Duration {
	if s.Duration <= 0 {
		return 0
	}
	return s.Start + s.Duration
}

// Unit is what its load counts: "VUs" or "/s" (iterations per second), or
// "at once" for bursts.
func (s *Scenario) Unit() string {
	switch {
	case s.Burst != nil:
		return "at once"
	case s.Model == Closed:
		return "VUs"
	}
	return "/s"
}

// Peak is the highest load of the scenario, in its Unit.
func (s *Scenario) Peak() float64 {
	if s.Burst != nil {
		return float64(s.Burst.Size)
	}
	var m float64
	for _, p := range s.Shape {
		m = max(m, p.Value)
	}
	return m
}

// peak is the highest load over [t0, t1) of the run's time, and whether the
// scenario runs at all then.
func (s *Scenario) peak(t0, t1 time.Duration) (float64, bool) {
	end := s.End()
	if end == 0 || t1 <= s.Start || t0 >= end {
		return 0, false
	}
	a, b := max(t0, s.Start)-s.Start, min(t1, end)-s.Start
	if s.Burst != nil {
		var v float64
		for i := range s.Burst.Count {
			at := time.Duration(i) * s.Burst.Every
			if at >= a && at < b {
				v += float64(s.Burst.Size)
			}
		}
		return v, true
	}
	v := s.valueAt(a)
	for _, p := range s.Shape {
		if p.At > a && p.At < b {
			v = max(v, p.Value)
		}
	}
	// Just before b: a ramp rising through the column peaks at its end.
	return max(v, s.valueAt(b-1)), true
}

// valueAt is the load at t of the scenario's own time, linear between the
// points of its shape.
func (s *Scenario) valueAt(t time.Duration) float64 {
	sh := s.Shape
	if len(sh) == 0 {
		return 0
	}
	if t <= sh[0].At {
		return sh[0].Value
	}
	for i := 1; i < len(sh); i++ {
		if t <= sh[i].At {
			p, q := sh[i-1], sh[i]
			if q.At == p.At {
				return q.Value
			}
			return p.Value + (q.Value-p.Value)*float64(t-p.At)/float64(q.At-p.At)
		}
	}
	return sh[len(sh)-1].Value
}

// Step is one step of a scenario, in a line.
type Step struct {
	Name string
	// Kind is the step's driver, or "sleep".
	Kind, Target string
	// Detail is the step as written, on one line (flow YAML), shortened.
	Detail string
	// Weight is its share of the iterations in a mix.
	Weight float64
}

// Fault is one entry of the fault timeline.
type Fault struct {
	Name, Description, Target, Kind string
	// Describe is what the fault does, as the report says it.
	Describe string
	// At is its start from the run's start; For its length, zero for
	// until the end of the run.
	At, For time.Duration
	// Probability that it happens at all.
	Probability float64
	// Scenarios are the scenarios with a step on its target that may run
	// while it is active.
	Scenarios []string
}

// Check is a pass/fail expression with its weight.
type Check struct {
	Name, Description, Expr string
	// Words is the expression in plain words, "" when it cannot be said
	// more plainly than it is written.
	Words    string
	Weight   float64
	Critical bool
	// Good and Bad, when HasBounds, give partial credit, as written.
	Good, Bad string
	HasBounds bool
}

// Readiness holds the score bands of the verdicts.
type Readiness struct{ Ready, Degraded float64 }

// Validity holds the limits past which a measurement is invalid.
type Validity struct {
	LagP99 time.Duration
	// Late is a share (0..1).
	Late float64
}

// Recommendation is advice the plan gives when its condition holds.
type Recommendation struct {
	When, Words, Say string
}

// End is the end of the plan's timeline: the latest planned end of a
// scenario or of a fault; zero when nothing has a known end.
func (p *Plan) End() time.Duration {
	var end time.Duration
	for i := range p.Scenarios {
		end = max(end, p.Scenarios[i].End())
	}
	for _, f := range p.Faults {
		if f.For > 0 {
			end = max(end, f.At+f.For)
		} else {
			end = max(end, f.At)
		}
	}
	return end
}

// TotalWeight is the sum of the checks' weights.
func (p *Plan) TotalWeight() float64 {
	var w float64
	for _, c := range p.Checks {
		w += c.Weight
	}
	return w
}
