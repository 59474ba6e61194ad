// Package check compiles a plan's check expressions and recommendations
// against the metric names the plan defines, evaluates them on a run's
// summary, and turns the results into a score and a verdict.
//
// Compiled programs are immutable and safe for concurrent use.
package check

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/metrics"
	"github.com/runplan/runplan/engine/plan"
)

// Duration is a latency in check expressions. It compares only with other
// durations (ms(100), s(2)), so `latency.p99 < 100` is a type error rather
// than a silent unit mistake. OK is false when nothing was measured: every
// comparison with an unknown duration is false.
type Duration struct {
	D  time.Duration
	OK bool
}

func (d Duration) String() string {
	if !d.OK {
		return "n/a"
	}
	return FormatDuration(d.D)
}

// FormatDuration prints a duration with three significant digits: 87.3ms.
func FormatDuration(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d.Nanoseconds())
	case d < time.Millisecond:
		return trim(float64(d)/1e3) + "µs"
	case d < time.Second:
		return trim(float64(d)/1e6) + "ms"
	default:
		return trim(d.Seconds()) + "s"
	}
}

func trim(f float64) string {
	switch {
	case f >= 100:
		return strconv.FormatFloat(f, 'f', 0, 64)
	case f >= 10:
		return strconv.FormatFloat(f, 'f', 1, 64)
	default:
		return strconv.FormatFloat(f, 'f', 2, 64)
	}
}

// LatencyEnv is `<scenario>.latency` and `<scenario>.steps.<step>.latency`.
type LatencyEnv struct {
	Min  Duration `expr:"min"`
	Mean Duration `expr:"mean"`
	P50  Duration `expr:"p50"`
	P90  Duration `expr:"p90"`
	P95  Duration `expr:"p95"`
	P99  Duration `expr:"p99"`
	P999 Duration `expr:"p999"`
	Max  Duration `expr:"max"`
}

// StepEnv is `<scenario>.steps.<step>`.
type StepEnv struct {
	// Latency is on the scenario's basis: response time under the open
	// model, service time otherwise. Both are also given by name.
	Latency         LatencyEnv     `expr:"latency"`
	ServiceLatency  LatencyEnv     `expr:"service_latency"`
	ResponseLatency LatencyEnv     `expr:"response_latency"`
	Count           int            `expr:"count"`
	Errors          int            `expr:"errors"`
	ErrorsBy        map[string]int `expr:"errors_by"`
	SuccessRate     float64        `expr:"success_rate"`
	ErrorRate       float64        `expr:"error_rate"`
	Rate            float64        `expr:"rate"`
	// Ops and OpsRate count operations (a pipeline's commands); equal to
	// Count and Rate when every call carried one.
	Ops     int     `expr:"ops"`
	OpsRate float64 `expr:"ops_rate"`
	// Counters, Ratios and Durations are the declared step metrics of the
	// plan's drivers (Names.StepMetrics) by kind and name; expressions
	// read them as `x.<name>` (see stepmetrics.go).
	Counters  map[string]int      `expr:"__counters"`
	Ratios    map[string]float64  `expr:"__ratios"`
	Durations map[string]Duration `expr:"__durations"`

	// points and interval feed worst().
	points   []metrics.Point
	interval time.Duration
	// measured is false when nothing completed: the counts are then
	// unknown, not 0 (see unknown.go).
	measured bool
}

// ScenarioEnv is `<scenario>`: whole iterations, plus its steps. Due and
// the outcomes (ok, failed, dropped, interrupted, late) account for every
// iteration due in the measured window; see docs/METRICS.md.
type ScenarioEnv struct {
	StepEnv
	Due         int `expr:"due"`
	OK          int `expr:"ok"`
	Failed      int `expr:"failed"`
	Dropped     int `expr:"dropped"`
	Interrupted int `expr:"interrupted"`
	Late        int `expr:"late"`
	SentLate    int `expr:"sent_late"`
	// ArrivalRate and PlannedRate are the open model's achieved and planned
	// arrival rates (unknown in the closed model).
	ArrivalRate float64             `expr:"arrival_rate"`
	PlannedRate float64             `expr:"planned_rate"`
	Steps       map[string]*StepEnv `expr:"steps"`
	// present is false when the scenario is absent from the summary.
	present bool
}

// TargetEnv is `<target>`: the server's own view of the run.
type TargetEnv struct {
	// Server holds the driver's server metrics; NaN when unavailable.
	Server map[string]float64 `expr:"server"`
}

// Names lists what comes from drivers rather than from the plan: the names
// checks may use, and the drivers' advice.
type Names struct {
	// Server maps a target's name to the names of its server metrics
	// (`<target>.server.<name>`), for targets whose driver reports them.
	Server map[string][]string
	// Advisors maps a driver's name to its Advisor, for the drivers of the
	// plan's targets that give advice of their own (driver.Advisor).
	Advisors map[string]driver.Advisor
	// StepMetrics are the step metrics the plan's drivers declare
	// (driver.StepMetricser), each name once (AddStepMetrics): every
	// scenario and step has them, `<scenario>.<name>` and
	// `<scenario>.steps.<step>.<name>`.
	StepMetrics []driver.StepMetric
}

// FaultEnv is `faults.<name>`: a fault's measured effect.
type FaultEnv struct {
	// Applied is false when the fault did not happen.
	Applied bool `expr:"applied"`
	// Recovery runs from the fault's end (its undo returned) until the
	// affected scenarios were back within tolerance: the larger of
	// ErrorsStopped and LatencyReturned; unknown when they were not (or no
	// baseline).
	Recovery  Duration `expr:"recovery"`
	Recovered bool     `expr:"recovered"`
	// ErrorsStopped and LatencyReturned split it (docs/FAULTS.md).
	ErrorsStopped   Duration `expr:"errors_stopped"`
	LatencyReturned Duration `expr:"latency_returned"`
	// Errors counts the affected scenarios' failed iterations during it.
	Errors int             `expr:"errors"`
	Before *FaultWindowEnv `expr:"before"`
	During *FaultWindowEnv `expr:"during"`
	After  *FaultWindowEnv `expr:"after"`
}

// FaultWindowEnv is `faults.<name>.{before,during,after}`: a window's
// figures (latency over every completion, success_latency over the
// successful ones). Figures of a window that held no completion are unknown.
type FaultWindowEnv struct {
	WindowEnv
	SuccessLatency LatencyEnv `expr:"success_latency"`
}

// RunEnv is `run`.
type RunEnv struct {
	Duration Duration `expr:"duration"`
	Partial  bool     `expr:"partial"`
	// Valid is false when the generator could not hold the requested load.
	Valid     bool         `expr:"valid"`
	Generator GeneratorEnv `expr:"generator"`
}

// GeneratorEnv is `run.generator`: the load generator's own health.
type GeneratorEnv struct {
	Lag       LatencyEnv `expr:"lag"`
	CPU       float64    `expr:"cpu"`
	Scheduled int        `expr:"scheduled"`
	Late      int        `expr:"late"`
	Dropped   int        `expr:"dropped"`
}

func latencyEnv(l metrics.Latency) LatencyEnv {
	d := func(x time.Duration) Duration { return Duration{D: x, OK: l.OK} }
	return LatencyEnv{Min: d(l.Min), Mean: d(l.Mean), P50: d(l.P50), P90: d(l.P90), P95: d(l.P95), P99: d(l.P99), P999: d(l.P999), Max: d(l.Max)}
}

func stepEnv(names []driver.StepMetric, st *metrics.Stats, sc *metrics.ScenarioSummary) StepEnv {
	h := st.Service
	if st.Response != nil {
		// Under the open model the honest latency runs from the scheduled
		// start (coordinated omission); see docs/METRICS.md.
		h = st.Response
	}
	by := make(map[string]int, len(st.ErrorsBy))
	for k, v := range st.ErrorsBy {
		by[k] = int(v)
	}
	resp := LatencyEnv{}
	if st.Response != nil {
		resp = latencyEnv(metrics.Summarize(st.Response))
	}
	e := StepEnv{
		Latency:         latencyEnv(metrics.Summarize(h)),
		ServiceLatency:  latencyEnv(metrics.Summarize(st.Service)),
		ResponseLatency: resp,
		points:          st.Points,
		Count:           int(st.Count),
		Errors:          int(st.Errors),
		ErrorsBy:        by,
		SuccessRate:     st.SuccessRate(),
		ErrorRate:       st.ErrorRate(),
		Rate:            sc.Rate(st.Count),
		Ops:             int(max(st.Ops, st.Count)),
		OpsRate:         sc.Rate(max(st.Ops, st.Count)),
		measured:        st.Count > 0,
	}
	e.Counters, e.Ratios, e.Durations = zeroFigures(names)
	e.setFigures(names, st.Figures(), e.measured)
	return e
}

// Env builds the expression environment from a run summary. Scenarios of the
// plan that did not run get zero counts and unknown (NaN) ratios. It only
// reads p, and returns a new environment on each call.
func Env(p *plan.Plan, names Names, sum *metrics.RunSummary) map[string]any {
	return envOf(layoutOf(p), names, sum)
}

// envOf is Env on a plan's layout.
func envOf(l *layout, names Names, sum *metrics.RunSummary) map[string]any {
	env := zeroEnvOf(l, names)
	if sum == nil {
		return env
	}
	faults := env["faults"].(map[string]*FaultEnv)
	for _, f := range sum.Faults {
		if fe, ok := faults[f.Name]; ok && f.Applied {
			e := f.Effect
			fe.Applied = true
			fe.Recovered = e.Recovered
			fe.Recovery = Duration{D: e.Recovery, OK: e.Recovered}
			fe.ErrorsStopped = Duration{D: e.ErrorsStopped, OK: e.ErrorsStoppedOK}
			fe.LatencyReturned = Duration{D: e.LatencyReturned, OK: e.LatencyReturnedOK}
			fe.Errors = int(e.During.Errors)
			fe.Before, fe.During, fe.After = spanEnv(e.Before), spanEnv(e.During), spanEnv(e.After)
		}
	}
	for _, t := range sum.Targets {
		te, ok := env[t.Name].(*TargetEnv)
		if !ok {
			continue
		}
		for k, v := range t.Server {
			if _, known := te.Server[k]; known {
				te.Server[k] = v
			}
		}
	}
	g := sum.Generator
	env["run"] = &RunEnv{Duration: Duration{D: sum.Duration, OK: true}, Partial: sum.Partial, Valid: g.Valid,
		Generator: GeneratorEnv{Lag: latencyEnv(metrics.Summarize(g.Lag)), CPU: g.CPU,
			Scheduled: int(g.Scheduled), Late: int(g.Late), Dropped: int(g.Dropped)}}
	for _, sc := range sum.Scenarios {
		se, ok := env[sc.Name].(*ScenarioEnv)
		if !ok {
			continue
		}
		var figures [][]metrics.Figure
		for _, st := range sc.Steps {
			e := stepEnv(names.StepMetrics, st, sc)
			se.Steps[st.Name] = &e
			figures = append(figures, st.Figures())
		}
		se.StepEnv = stepEnv(names.StepMetrics, sc.Iteration, sc)
		for _, st := range se.Steps {
			st.interval = sum.Interval
		}
		se.interval = sum.Interval
		o := sc.Outcomes
		se.Due, se.OK, se.Failed, se.Dropped = int(o.Due), int(o.OK), int(o.Failed), int(o.Dropped)
		se.Interrupted, se.Late, se.SentLate = int(o.Interrupted), int(o.Late), int(o.SentLate)
		se.present = true
		// Due iterations make the counts known even when none completed:
		// all dropped, interrupted or skipped are errors or late, not 0.
		se.measured = se.measured || o.Due > 0
		// A scenario's step metrics are its steps' together: a ratio over
		// every step's lookups, not an average of the steps' ratios.
		se.setFigures(names.StepMetrics, metrics.MergeFigures(figures...), se.measured)
		se.ArrivalRate, se.PlannedRate = sc.ArrivalRate(), sc.PlannedRate()
	}
	return env
}

// ZeroEnv is the environment of a run that measured nothing: every name the
// plan defines is present, with zero counts and unknown figures. Checks are
// compiled against it and run once on it at validation time. It only reads
// p, and returns a new environment on each call.
func ZeroEnv(p *plan.Plan, names Names) map[string]any {
	return zeroEnvOf(layoutOf(p), names)
}

// zeroEnvOf is ZeroEnv on a plan's layout.
func zeroEnvOf(l *layout, names Names) map[string]any {
	nan := math.NaN()
	zero := func() StepEnv {
		e := StepEnv{ErrorsBy: map[string]int{}, SuccessRate: nan, ErrorRate: nan}
		e.Counters, e.Ratios, e.Durations = zeroFigures(names.StepMetrics)
		return e
	}
	env := map[string]any{"run": &RunEnv{Valid: true}, recName: (*recorder)(nil)}
	faults := map[string]*FaultEnv{}
	for _, f := range l.faults {
		faults[f] = zeroFault()
	}
	env["faults"] = faults
	for target, ms := range names.Server {
		te := &TargetEnv{Server: map[string]float64{}}
		for _, m := range ms {
			te.Server[m] = nan
		}
		env[target] = te
	}
	for _, s := range l.scenarios {
		se := &ScenarioEnv{StepEnv: zero(), Steps: map[string]*StepEnv{}, ArrivalRate: nan, PlannedRate: nan}
		for _, st := range s.steps {
			z := zero()
			se.Steps[st] = &z
		}
		env[s.name] = se
	}
	return env
}

func zeroFault() *FaultEnv {
	z := func() *FaultWindowEnv {
		return &FaultWindowEnv{WindowEnv: WindowEnv{ErrorRate: math.NaN(), SuccessRate: math.NaN(), Rate: math.NaN(), ErrorsBy: map[string]int{}}}
	}
	return &FaultEnv{Before: z(), During: z(), After: z()}
}

func spanEnv(s metrics.Span) *FaultWindowEnv {
	w := &FaultWindowEnv{WindowEnv: WindowEnv{Latency: latencyEnv(s.Latency), SuccessRate: s.SuccessRate, ErrorRate: math.NaN(), Rate: s.Rate,
		Count: int(s.Count), Errors: int(s.Errors), ErrorsBy: map[string]int{}}, SuccessLatency: latencyEnv(s.SuccessLatency)}
	if s.Count > 0 {
		w.ErrorRate = float64(s.Errors) / float64(s.Count)
		w.measured = true
	}
	for k, v := range s.ErrorsBy {
		w.ErrorsBy[k] = int(v)
	}
	return w
}
