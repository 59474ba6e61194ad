package driver

import "fmt"

// Advisor is implemented by drivers that know what their figures mean and
// can say what to do about them: built-in recommendations in the driver's
// own vocabulary (a cache's hit ratio and expiries, a server's evictions, a
// service's rate limits). The report lists them after the plan's own
// recommendations and among the engine's generic ones (an invalid
// measurement, dropped iterations, timeouts, connection failures), in the
// order docs/SCORING.md gives.
//
// The engine calls an Advisor once per run, after the run, while it
// evaluates the checks: AdviseScenario for every scenario with steps on the
// driver's targets, AdviseErrors for every class of failures of such a
// step (classes in sorted order, after the engine's own advice on that
// class), AdviseTarget for every target of the driver with server figures.
// An Advisor sees figures only, never a target: it does no I/O. Runs in one
// process may evaluate at once, so implementations are safe for concurrent
// use. Each method returns nil when it has nothing to say; every piece of
// advice names the figures that triggered it.
type Advisor interface {
	AdviseScenario(s ScenarioFigures) []string
	AdviseErrors(e ErrorFigures) []string
	AdviseTarget(t TargetFigures) []string
}

// ScenarioFigures is what an Advisor is shown of one scenario: the steps
// that ran against the driver's targets, in plan order.
type ScenarioFigures struct {
	Scenario string
	Steps    []StepFigures
}

// StepFigures are one step's counts over the run's measured window.
type StepFigures struct {
	Name string
	// Calls counts the step's completed calls; Errors the failed ones.
	Calls, Errors int64
	// Counters are the sums of the driver's declared counters and
	// durations (StepMetricser; durations in nanoseconds), by name; a name
	// the step did not report is absent.
	Counters map[string]int64
}

// ErrorFigures are the failures of one class (Outcome.Class) of one step.
type ErrorFigures struct {
	Scenario, Step, Class string
	// Errors counts the step's failures of the class, of Calls.
	Errors, Calls int64
}

// Where names the step for people: "<scenario>.<step>".
func (e ErrorFigures) Where() string { return e.Scenario + "." + e.Step }

// Share says how many calls failed with the class: "12 of 400 (3.0%)".
func (e ErrorFigures) Share() string {
	return fmt.Sprintf("%d of %d (%.1f%%)", e.Errors, e.Calls, 100*float64(e.Errors)/float64(max(e.Calls, 1)))
}

// TargetFigures are one target's server figures (ServerMetricser), in the
// driver's order; NaN marks a figure the server did not provide.
type TargetFigures struct {
	Target string
	Order  []string
	Server map[string]float64
}
