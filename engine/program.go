package engine

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/load"
	"github.com/runplan/runplan/engine/metrics"
	"github.com/runplan/runplan/engine/plan"
	"github.com/runplan/runplan/engine/tmpl"
)

// What a Program holds: everything a run needs, built by prepare from the
// plan and never written afterwards. Run reads these, not the plan.

// preparedTarget is one configured target.
type preparedTarget struct {
	name, driver string
	// url is the plan's address for the target (for errors, masked there).
	url    string
	config driver.Config
	// figures are the server figures its driver derives from the target's
	// statistics (driver.ServerMetricser).
	figures []metrics.ServerFigure
	// identity is its journal identity (driver.Identifier), "" when its
	// driver journals nothing on it.
	identity string
	// network is true when the plan has network faults on the target: the
	// run reaches it through a fault proxy.
	network bool
}

// preparedStep is one step of a scenario: a driver's prepared step, or a
// sleep.
type preparedStep struct {
	name   string
	target string
	// step is nil for a sleep step.
	step  driver.Step
	sleep time.Duration
	// metrics are the figures the step's driver declares
	// (driver.StepMetricser); none for a sleep.
	metrics []driver.StepMetric
	// capture saves values of the step's reply for the steps after it;
	// nil when the step captures nothing.
	capture *tmpl.Captures
	// at is the step's place in the plan, "file:line:col", for its error
	// samples and render.
	at string
	// kind is the step's driver ("sleep" for a sleep), for render.
	kind string
}

// executor runs a scenario's iterations under its load model: a load.Closed
// or a load.Open.
type executor interface {
	Run(context.Context, load.IterFunc) load.Result
}

// preparedScenario is one scenario, its load turned into an executor.
type preparedScenario struct {
	name string
	// start is the scenario's offset from the run's start.
	start time.Duration
	// model is "closed" or "open"; open is model == "open".
	model string
	open  bool
	// warmup is measured from the executor's start; duration is the
	// planned length (zero when bounded by an iteration count).
	warmup, duration time.Duration
	// plannedIterations is the iteration count planned (zero when bounded
	// by a duration), for progress.
	plannedIterations int64
	// vus is how many virtual users the executor may run at once (in
	// this segment); allVUs how many the whole plan's scenario has, for
	// the templates.
	vus, allVUs int
	// segment is the run's execution segment: VU v of the executor is the
	// whole plan's VU segment.GlobalVU(v), iteration n its Global(n).
	segment load.Segment
	// salt seeds the VUs' random sources apart from other scenarios'.
	salt uint64
	// exec is built up front; its Stop.OnStart is set for each run
	// (withOnStart).
	exec  executor
	steps []preparedStep
	// mix draws one step per iteration by weight: cumWeights[i] is the sum
	// of the weights of steps 0..i.
	mix        bool
	cumWeights []float64
	// vars are the scenario's iteration variables, evaluated before the
	// first step of each iteration; nil when it has none.
	vars *tmpl.Vars
	// varsAt is where the scenario is in the plan, "file:line:col": the
	// place of an iteration whose vars failed.
	varsAt   string
	validity validity
	// data are the data sources the scenario reads (its vars or steps),
	// sorted: each iteration draws a row from each before its vars.
	data []string
}

// prepareScenario builds the run's view of scenario s of p. steps are the
// drivers' prepared steps (absent: a sleep, or a step that failed to
// prepare); drivers are the targets' drivers, by target.
func prepareScenario(p *plan.Plan, s *plan.Scenario, steps map[*plan.Step]driver.Step, drivers map[string]driver.Driver, opts Options) *preparedScenario {
	l := s.Load
	ps := &preparedScenario{name: s.Name, start: s.Start, model: string(l.Model), open: l.Model == plan.Open,
		warmup: l.Warmup, duration: l.Duration, mix: s.Mix, vars: s.Vars, varsAt: posString(scenarioFile(p, s), s.Pos),
		validity: validity{LagP99: s.Validity.LagP99, Late: s.Validity.Late}}
	switch {
	case l.Iterations > 0:
		ps.plannedIterations = l.Iterations
	case l.PerVUIterations > 0:
		ps.plannedIterations = l.PerVUIterations * int64(max(l.VUs, 1))
	}
	ps.vus = l.VUs
	switch {
	case l.Model == plan.Open:
		ps.vus = l.MaxVUs
	case len(l.Stages) > 0:
		ps.vus = max(int(l.MaxStageTarget(float64(l.VUs))+0.999999), 1)
	}
	ps.vus = max(ps.vus, 1)
	ps.allVUs, ps.segment = ps.vus, opts.Segment
	if l.Model == plan.Open {
		ps.vus = opts.Segment.ShareCeil(ps.vus)
	} else {
		ps.vus = int(opts.Segment.Share(int64(ps.vus)))
	}
	if ps.plannedIterations > 0 {
		switch {
		case l.Iterations > 0:
			ps.plannedIterations = opts.Segment.Share(l.Iterations)
		default:
			ps.plannedIterations = l.PerVUIterations * opts.Segment.Share(int64(max(l.VUs, 1)))
		}
	}
	h := fnv.New64a()
	h.Write([]byte(s.Name))
	ps.salt = h.Sum64()
	var cum float64
	for _, st := range s.Steps {
		ps.steps = append(ps.steps, preparedStep{name: st.Name, target: st.Target, step: steps[st], sleep: st.Sleep,
			metrics: driver.StepMetricsOf(drivers[st.Target]), capture: st.Capture, at: posString(p.FileOf(st.Node), st.Pos), kind: st.Kind})
		cum += st.Weight
		ps.cumWeights = append(ps.cumWeights, cum)
	}
	ps.exec = buildExecutor(l, latePolicy(p.LatePolicy(s)), opts)
	return ps
}

// scenarioFile is the file scenario s is written in: the plan's, or a
// fragment's it includes (told by its steps' nodes).
func scenarioFile(p *plan.Plan, s *plan.Scenario) string {
	for _, st := range s.Steps {
		if st.Node != nil {
			return p.FileOf(st.Node)
		}
	}
	return p.File
}

// posString is pos in file as diagnostics print it, "file:line:col"; the
// file alone without a position.
func posString(file string, pos diag.Pos) string {
	if pos.Line == 0 {
		return file
	}
	return fmt.Sprintf("%s:%d:%d", file, pos.Line, pos.Col)
}

// buildExecutor builds the load package's executor for load l.
func buildExecutor(l plan.LoadSpec, late load.LatePolicy, opts Options) executor {
	stop := load.Stop{GracefulStop: opts.GracefulStop, Kill: opts.Kill}
	if l.GracefulStop > 0 {
		stop.GracefulStop = l.GracefulStop
	}
	if stop.GracefulStop <= 0 {
		stop.GracefulStop = DefaultGracefulStop
	}
	stages := make([]load.Stage, len(l.Stages))
	for i, s := range l.Stages {
		stages[i] = load.Stage{Duration: s.Duration, Target: s.Target}
	}
	if l.Model == plan.Closed {
		return load.Closed{VUs: l.VUs, Iterations: l.Iterations, PerVUIterations: l.PerVUIterations,
			Duration: l.Duration, Stages: stages, Segment: opts.Segment, Stop: stop}
	}
	var pacer load.Pacer
	switch {
	case l.Burst != nil:
		pacer = load.BurstPacer{Size: l.Burst.Size, Every: l.Burst.Every, Count: l.Burst.Count}
	case len(stages) > 0:
		pacer = load.RampPacer{Start: l.Rate, Stages: stages}
	default:
		pacer = load.ConstantPacer{Rate: l.Rate, Duration: l.Duration}
	}
	// The open model's VU pool is a bound, not load: every segment keeps
	// its share rounded up.
	return load.Open{Pacer: load.Segmented(pacer, opts.Segment), MaxVUs: opts.Segment.ShareCeil(l.MaxVUs), LateTolerance: opts.LateTolerance, Warmup: l.Warmup,
		Late: late, BeforeDispatch: opts.beforeDispatch, Stop: stop}
}

// withOnStart returns a copy of e that calls f with the executor's own
// start and, for the open model, keeps live up to date; e itself is left
// as prepared.
func withOnStart(e executor, f func(time.Time), live *load.Live) executor {
	switch x := e.(type) {
	case load.Closed:
		x.Stop.OnStart = f
		return x
	case load.Open:
		x.Stop.OnStart = f
		x.Live = live
		return x
	}
	return e
}

// latePolicy maps the plan's late policy to the executor's.
func latePolicy(p plan.LatePolicy) load.LatePolicy {
	switch p {
	case plan.LateSend:
		return load.LateSend
	case plan.LateSkip:
		return load.LateSkip
	}
	return load.LateAuto
}

// pick maps u in [0, 1) to a step of the mix by the steps' weights: the
// first step whose cumulative weight exceeds u times the total. No
// allocation: it runs on every iteration of a mix.
func (ps *preparedScenario) pick(u float64) int {
	cum := ps.cumWeights
	last := len(cum) - 1
	x := u * cum[last]
	lo, hi := 0, last
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if x < cum[mid] {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}
