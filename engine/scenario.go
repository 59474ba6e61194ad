package engine

import (
	"context"
	"errors"
	mrand "math/rand/v2"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/runplan/runplan/engine/data"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/fault"
	"github.com/runplan/runplan/engine/load"
	"github.com/runplan/runplan/engine/metrics"
	"github.com/runplan/runplan/engine/tmpl"
)

// execute runs all scenarios concurrently, each from its start offset, and
// rolls their time series every interval.
func (rs *runState) execute(ctx context.Context, sum *metrics.RunSummary, targets []openTarget) {
	prog := rs.prog
	runs := make([]*scenarioRun, len(prog.scenarios))
	for i, s := range prog.scenarios {
		runs[i] = prog.newScenarioRun(s, rs.sources)
	}
	// A common start (segments of one run): wait for it, and tell if it
	// was missed.
	if at := prog.opts.StartAt; time.Until(at) > 0 {
		prog.opts.Log.Info().Str("start_at", at.Format(time.RFC3339Nano)).Float64("in_ms", float64(time.Until(at).Microseconds())/1000).Msg("waiting for the common start")
	}
	start := waitStart(ctx, prog.opts.StartAt)
	late := lateStart(prog.opts.StartAt, start)
	if late != "" {
		prog.opts.Log.Warn().Str("start_at", prog.opts.StartAt.Format(time.RFC3339Nano)).Msg(late)
	}
	for _, r := range runs {
		r.runStart = start
	}
	rs.mu.Lock()
	rs.runs = runs
	rs.runStart = start
	rs.mu.Unlock()
	interval := prog.interval
	sum.Interval = interval
	cpu0, cpuOK0 := cpuTime()
	host0 := readHost()

	for _, r := range runs {
		// The measured span begins at the scenario's planned start plus
		// its warmup: nothing is recorded before.
		from := r.sc.start + r.sc.warmup
		for _, se := range append([]*metrics.Series{r.iter}, r.series...) {
			se.SetInterval(interval)
			se.SetSpan(from)
		}
	}
	// The collector closes each interval a little after it ends; samples
	// are attributed by their completion time, so a late collector moves
	// nothing between intervals.
	collectorDone := make(chan struct{})
	stopCollector := make(chan struct{})
	go func() {
		defer close(collectorDone)
		grace := min(interval/10, 100*time.Millisecond)
		var next int64
		rollUntil := func(now time.Time, inclusive bool) {
			for {
				end := start.Add(time.Duration(next+1) * interval)
				if inclusive {
					// The last interval is the one now falls in; one
					// starting at now would measure nothing.
					if !now.After(start.Add(time.Duration(next) * interval)) {
						return
					}
				} else if now.Before(end.Add(grace)) {
					return
				}
				for _, r := range runs {
					r.roll(next)
				}
				next++
			}
		}
		t := time.NewTimer(interval + grace)
		defer t.Stop()
		for {
			select {
			case <-stopCollector:
				rollUntil(time.Now(), true)
				return
			case now := <-t.C:
				rollUntil(now, false)
				t.Reset(time.Until(start.Add(time.Duration(next+1)*interval + grace)))
			}
		}
	}()

	byName := map[string]driver.Target{}
	for _, t := range targets {
		byName[t.name] = t.target
	}
	scenariosDone := make(chan struct{})
	tl := fault.Start(ctx, start, fault.Config{Faults: prog.faults, Targets: byName, Proxies: rs.proxies,
		Interval: interval, Seed: prog.seed, Log: prog.opts.Log}, scenariosDone)
	for _, r := range runs {
		if f := tl.Observer(r.sc.name); f != nil {
			r.iter.Observe(f)
		}
	}
	rs.mu.Lock()
	rs.timeline = tl
	rs.mu.Unlock()

	out := make([]*metrics.ScenarioSummary, len(runs))
	var wg sync.WaitGroup
	for i, r := range runs {
		wg.Go(func() {
			out[i] = r.run(ctx, start)
			// Every iteration has returned: the measured span ends here, or
			// at the end of the part its rates cover (an open model's
			// schedule) if later.
			end := max(time.Since(start), out[i].Offset+out[i].Warmup+out[i].Elapsed)
			for _, se := range append([]*metrics.Series{r.iter}, r.series...) {
				se.EndSpan(end)
			}
		})
	}
	wg.Wait()
	close(scenariosDone)
	// Faults are undone before the last interval closes, so that every
	// fault window ends inside the time series.
	<-tl.Done()
	close(stopCollector)
	<-collectorDone
	for i, r := range runs {
		r.finish(out[i])
	}
	sum.Scenarios = out
	sum.Faults = tl.Wait()
	wall := time.Since(start)
	limits := make(map[string]validity, len(prog.scenarios))
	for _, s := range prog.scenarios {
		limits[s.name] = s.validity
	}
	cpu1, cpuOK1 := cpuTime()
	sum.Generator = generatorHealth(healthInput{scenarios: out, limits: limits, cpu: cpu1 - cpu0, cpuKnown: cpuOK0 && cpuOK1,
		wall: wall, procs: runtime.GOMAXPROCS(0), host: hostOver(host0, readHost(), runtime.NumCPU())})
	sum.Generator.PeakRSS = peakRSS()
	if late != "" {
		sum.Generator.Valid = false
		sum.Generator.Reasons = append(sum.Generator.Reasons, late)
		if sum.Generator.Cause == "" || sum.Generator.Cause == "unknown" {
			sum.Generator.Cause, sum.Generator.Advice = "late_start",
				"start the segments with a --start-at far enough ahead for every one to open its targets, on hosts whose clocks NTP keeps in step"
		}
	}
}

type vuState struct {
	it driver.Iteration
	// cursors draw the VU's rows from the data sources its scenario reads.
	cursors []*data.Cursor
}

// scenarioRun is one scenario in flight, part of a run's live state. Its
// fields are set before the run starts; iterate is called concurrently by
// the executor's VUs.
type scenarioRun struct {
	prog   *Program
	sc     *preparedScenario
	series []*metrics.Series
	iter   *metrics.Series
	// samples keep each step's first distinct error messages;
	// iterSamples those of iterations that failed before any step (vars).
	samples     []*metrics.ErrorSampler
	iterSamples *metrics.ErrorSampler
	vus         []*vuState
	abort       context.CancelCauseFunc
	// runStart is the run's start, for time-series attribution.
	runStart time.Time

	// started is the scenario's own start (after its offset), in unix ns;
	// measureFrom is when the warmup ends. Zero until the scenario starts.
	started     atomic.Int64
	measureFrom atomic.Int64
	done        atomic.Bool
	completed   atomic.Int64
	errors      atomic.Int64
	// Outcomes of the measured iterations the VUs ran (the executor counts
	// the dropped and late ones).
	ok, failed, interrupted atomic.Int64
	// live is the open-model executor's count of due, late and dropped
	// hits so far (load.Live), for Progress.
	live load.Live
}

// newScenarioRun prepares the live state of scenario s, its VUs' cursors
// on the run's open data sources.
func (prog *Program) newScenarioRun(s *preparedScenario, sources map[string]*data.Source) *scenarioRun {
	sr := &scenarioRun{prog: prog, sc: s, iter: metrics.NewSeries(s.name), iterSamples: metrics.NewErrorSampler(s.varsAt)}
	for _, st := range s.steps {
		se := metrics.NewSeries(st.name)
		se.Metrics = st.metrics
		sr.series = append(sr.series, se)
		sr.samples = append(sr.samples, metrics.NewErrorSampler(st.at))
	}
	for vu := 1; vu <= s.vus; vu++ {
		// A segment's VU draws as the whole plan's VU of the same global
		// number (docs/SCALE.md), and templates see that number.
		g := s.segment.GlobalVU(vu)
		rng := mrand.New(mrand.NewPCG(prog.seed, s.salt^uint64(g)*0x9e3779b97f4a7c15))
		ts := tmpl.NewState(s.name, g, rng)
		ts.SetVUs(s.allVUs)
		vs := &vuState{it: driver.Iteration{
			Scenario: s.name, VU: g, Rand: rng, Templates: ts,
		}}
		for _, name := range s.data {
			if src := sources[name]; src != nil {
				c := src.NewCursor()
				ts.SetData(name, c.Row())
				vs.cursors = append(vs.cursors, c)
			}
		}
		sr.vus = append(sr.vus, vs)
	}
	return sr
}

func (sr *scenarioRun) roll(idx int64) {
	sr.iter.Roll(idx)
	for _, se := range sr.series {
		se.Roll(idx)
	}
}

// executor is the scenario's prepared executor, telling the scenario
// when it starts: the warmup counts from the executor's own start, so
// that the executor and iterate agree on which iterations are measured.
func (sr *scenarioRun) executor() executor {
	warmup := sr.sc.warmup
	return withOnStart(sr.sc.exec, func(start time.Time) { sr.measureFrom.Store(start.Add(warmup).UnixNano()) }, &sr.live)
}

func (sr *scenarioRun) run(ctx context.Context, runStart time.Time) *metrics.ScenarioSummary {
	s := sr.sc
	prog := sr.prog
	sum := &metrics.ScenarioSummary{Name: s.name, Model: s.model, Warmup: s.warmup}
	defer sr.done.Store(true)
	if wait := time.Until(runStart.Add(s.start)); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return sum
		}
	}
	now := time.Now()
	sr.started.Store(now.UnixNano())
	sr.measureFrom.Store(now.Add(s.warmup).UnixNano())
	sum.Offset = now.Sub(runStart)
	prog.opts.Log.Info().Str("scenario", s.name).Str("model", s.model).Msg("scenario started")
	// A driver may abort the scenario (driver.ErrAbortScenario): that stops
	// the starting of iterations like the end of the run does.
	sctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	sr.abort = abort
	res := sr.executor().Run(sctx, sr.iterate)
	if cause := context.Cause(sctx); cause != nil && ctx.Err() == nil && !errors.Is(cause, context.Canceled) {
		sum.Aborted = cause.Error()
		prog.opts.Log.Warn().Str("scenario", s.name).Str("reason", sum.Aborted).Msg("scenario aborted")
	}
	o := metrics.Outcomes{OK: sr.ok.Load(), Failed: sr.failed.Load(), Interrupted: sr.interrupted.Load(),
		Dropped: res.Dropped, Late: res.Skipped, SentLate: res.Late - res.Skipped}
	o.Due = o.OK + o.Failed + o.Interrupted + o.Dropped + o.Late
	if s.open {
		// Every due hit has its outcome: the pacer's count is the check.
		if o.Due != res.Scheduled {
			prog.opts.Log.Error().Str("scenario", s.name).Int64("due", res.Scheduled).Int64("accounted", o.Due).
				Msg("iterations unaccounted for: please report this bug")
		}
		o.Due = res.Scheduled
	}
	sum.Outcomes = o
	sum.Dropped, sum.Interrupted, sum.Elapsed = o.Dropped, o.Interrupted, res.Elapsed
	sum.Scheduled, sum.Late, sum.Lag, sum.MaxVUs = res.Scheduled, res.Late, res.Lag, res.MaxVUs
	if s.open && sctx.Err() == nil {
		// The open model's window is the schedule the generator achieved:
		// the plan's, stretched by how late it handled the last due hit
		// (the actual send time), never the target's slowness in
		// finishing the iterations in flight.
		sum.PlannedElapsed = s.duration
		sum.Elapsed = s.duration + max(res.LastLag, 0)
	}
	sum.Elapsed = max(sum.Elapsed-s.warmup, 0) // rates cover the measured part
	if s.open {
		if sum.PlannedElapsed == 0 {
			// Cut short: the plan's window is the part that ran.
			sum.PlannedElapsed = res.Elapsed
		}
		sum.PlannedElapsed = max(sum.PlannedElapsed-s.warmup, 0)
	}
	prog.opts.Log.Info().Str("scenario", s.name).Int64("iterations", res.Iterations).Int64("dropped", res.Dropped).Msg("scenario done")
	return sum
}

// finish fills the summary's figures once the time series are closed.
func (sr *scenarioRun) finish(sum *metrics.ScenarioSummary) {
	sum.Iteration = sr.iter.Stats()
	sum.Iteration.Account(sum.Outcomes)
	sum.Iteration.ErrorSamples = sr.iterSamples.Samples()
	sum.Steps = sum.Steps[:0]
	for i, se := range sr.series {
		st := se.Stats()
		st.ErrorSamples = sr.samples[i].Samples()
		sum.Steps = append(sum.Steps, st)
	}
}

// iterate runs one iteration: the steps in order, stopping at the first
// failed step. An iteration due during the warmup (scheduled before its
// end in the open model, started before it in the closed) is run but not
// recorded; a measured one gets exactly one outcome: ok, failed or
// interrupted.
func (sr *scenarioRun) iterate(ctx context.Context, vu int, n int64, scheduled time.Time) (completed bool) {
	st := sr.vus[vu-1]
	n = sr.sc.segment.Global(n) // the whole plan's iteration number
	begin := time.Now()
	due := begin
	if !scheduled.IsZero() {
		due = scheduled
	}
	measure := due.UnixNano() >= sr.measureFrom.Load()
	// A panicking driver must not take the run down without its faults
	// undone and its report written: the iteration fails instead.
	defer func() {
		if p := recover(); p != nil {
			sr.prog.opts.Log.Error().Str("scenario", sr.sc.name).Interface("panic", p).Msg("a step panicked")
			if measure {
				sr.iter.Record(vu, metrics.Sample{Service: time.Since(begin), ErrClass: "panic", At: time.Since(sr.runStart)})
				sr.errors.Add(1)
				sr.failed.Add(1)
			}
			completed = true
		}
	}()
	st.it.Number = n
	st.it.Templates.SetIteration(n)
	// The iteration's rows, drawn before its vars (which may read them).
	// A unique source that ran out with exhausted: stop ends the scenario:
	// this iteration, due, does not run, and counts as interrupted.
	failed, stop := sr.drawData(st)
	if stop {
		if measure {
			sr.interrupted.Add(1)
		}
		st.it.VUIter++
		return false
	}
	// The iteration's vars, drawn once before its first step; a var that
	// fails fails the iteration as a step's template would, no step runs.
	if failed == "" {
		failed = sr.evalVars(st)
	}
	steps := sr.sc.steps
	first, last := 0, len(steps)
	if sr.sc.mix {
		// One step per iteration, drawn by weight from the VU's seeded
		// source: reproducible with --seed.
		first = sr.sc.pick(st.it.Rand.Float64())
		last = first + 1
	}
	if failed != "" {
		last = first // no step runs
	}
	for i := first; i < last; i++ {
		step := &steps[i]
		t0 := time.Now()
		var out driver.Outcome
		if step.step == nil {
			out = sleep(ctx, step.sleep)
		} else {
			out = step.step.Do(ctx, &st.it)
		}
		t1 := time.Now()
		if ctx.Err() != nil && out.Err != nil {
			// Cut short at the end of the run: interrupted. How long it had
			// waited is a lower bound of its latency, and is recorded as one.
			if measure {
				sr.interrupted.Add(1)
				lb := metrics.Sample{Service: t1.Sub(begin)}
				sl := metrics.Sample{Service: t1.Sub(t0)}
				if !scheduled.IsZero() {
					lb.Response = t1.Sub(scheduled)
					if i == first {
						sl.Response = lb.Response
					}
				}
				sr.iter.RecordLowerBound(vu, lb)
				sr.series[i].RecordLowerBound(vu, sl)
			}
			st.it.VUIter++
			return false
		}
		if step.capture != nil && out.Err == nil {
			// The step's values for the steps after it: one that cannot be
			// taken fails the step, as its later readers could not run.
			if err := step.capture.Eval(st.it.Templates, out.Reply); err != nil {
				out.Err, out.Class = err, classCapture
			}
		}
		x := metrics.Sample{Service: t1.Sub(t0), ErrClass: classify(out), At: t1.Sub(sr.runStart), Ops: out.Ops, Counters: out.Counters}
		if i == first && !scheduled.IsZero() {
			x.Response = t1.Sub(scheduled)
		}
		if measure {
			sr.series[i].Record(vu, x)
		}
		if x.ErrClass != "" {
			if errors.Is(out.Err, driver.ErrAbortScenario) {
				sr.abort(out.Err)
			}
			failed = x.ErrClass
			sr.sample(sr.samples[i], step.name, x.ErrClass, out.Err)
			break
		}
	}
	end := time.Now()
	x := metrics.Sample{Service: end.Sub(begin), ErrClass: failed, At: end.Sub(sr.runStart)}
	if !scheduled.IsZero() {
		x.Response = end.Sub(scheduled)
	}
	if measure {
		sr.iter.Record(vu, x)
		sr.completed.Add(1)
		if failed != "" {
			sr.errors.Add(1)
			sr.failed.Add(1)
		} else {
			sr.ok.Add(1)
		}
	}
	st.it.VUIter++
	return true
}

// classTemplate is the error class of an iteration whose vars failed, the
// class drivers give a step whose template failed.
const classTemplate = "template"

// classCapture is the error class of a step whose `capture:` could not
// take its value from the reply (a missing field, a nil value).
const classCapture = "capture"

// evalVars computes the iteration's vars for VU state st, and returns the
// iteration's error class when one fails ("" when they are computed).
func (sr *scenarioRun) evalVars(st *vuState) string {
	if sr.sc.vars == nil {
		return ""
	}
	if err := sr.sc.vars.Eval(st.it.Templates); err != nil {
		sr.sample(sr.iterSamples, "", classTemplate, err)
		return classTemplate
	}
	return ""
}

// sample records a failure of class with err in sampler s (a step's, named
// step, or the iterations' when step is ""): its message masked, counted,
// and logged as a warning the first time it is seen, at debug level
// after. It runs on the error path only.
func (sr *scenarioRun) sample(s *metrics.ErrorSampler, step, class string, err error) {
	raw := err.Error()
	log := sr.prog.opts.Log
	if kept, msg := s.Add(class, raw, sr.prog.red.String); kept {
		ev := log.Warn().Str("scenario", sr.sc.name)
		if step != "" {
			ev = ev.Str("step", step)
		}
		what := "step failed (first time with this message)"
		if step == "" {
			what = "iteration failed before its steps (first time with this message)"
		}
		ev.Str("class", class).Str("at", s.At()).Str("error", msg).Msg(what)
		return
	}
	if ev := log.Debug(); ev.Enabled() {
		if step != "" {
			ev = ev.Str("step", step)
		}
		ev.Str("scenario", sr.sc.name).Str("class", class).Str("error", sr.prog.red.String(raw)).Msg("step failed")
	}
}

func sleep(ctx context.Context, d time.Duration) driver.Outcome {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return driver.Outcome{}
	case <-ctx.Done():
		return driver.Outcome{Err: ctx.Err(), Class: "interrupted"}
	}
}

// classify names an error's class when the driver did not.
func classify(out driver.Outcome) string {
	if out.Err == nil {
		return ""
	}
	if out.Class != "" {
		return out.Class
	}
	var ne net.Error
	switch {
	case errors.Is(out.Err, context.DeadlineExceeded), errors.As(out.Err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(out.Err, context.Canceled):
		return "interrupted"
	case errors.Is(out.Err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(out.Err, syscall.ECONNRESET), errors.Is(out.Err, os.ErrDeadlineExceeded):
		return "connection"
	}
	return "error"
}
