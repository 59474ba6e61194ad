// Package engine orchestrates a run: it prepares a validated plan (drivers,
// steps, checks), opens its targets, drives every scenario concurrently from
// its start offset, cleans up, evaluates the checks and builds the report.
//
// Data flows forward only: plan → prepare → execute → evaluate → report.
// Nothing here imports a driver: drivers register themselves with
// engine/driver, and the binary links the ones it wants.
package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	mrand "math/rand/v2"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/check"
	"github.com/runplan/runplan/engine/data"
	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/fault"
	"github.com/runplan/runplan/engine/journal"
	"github.com/runplan/runplan/engine/load"
	"github.com/runplan/runplan/engine/metrics"
	"github.com/runplan/runplan/engine/notify"
	"github.com/runplan/runplan/engine/plan"
	"github.com/runplan/runplan/engine/redact"
	"github.com/runplan/runplan/engine/report"
	"github.com/runplan/runplan/engine/tmpl"
)

// DefaultGracefulStop bounds how long iterations in flight at a scenario's
// end may finish before they are cancelled and counted as interrupted.
const DefaultGracefulStop = 30 * time.Second

// ErrTarget wraps failures to open or reach a target (exit code 3).
var ErrTarget = errors.New("engine: target unavailable")

// TargetError is a target that could not be opened or reached when the run
// started, so that the run did not start. Its message names the target, its
// address (credentials masked) and the cause, without the layers of
// wrapping in between: "target cache (redis://127.0.0.1:1): connection
// refused". It wraps ErrTarget and the driver's error. A TargetError is
// not changed once built: safe to share between goroutines.
type TargetError struct {
	Target string
	// Addr is the plan's address for the target, credentials masked;
	// empty when the plan gives none (an embedded or managed target).
	Addr string
	// Cause is the root of Err, masked: what a person needs to act on.
	Cause string
	Err   error
}

func (e *TargetError) Error() string {
	where := "target " + e.Target
	if e.Addr != "" {
		where += " (" + e.Addr + ")"
	}
	return where + ": " + e.Cause
}

func (e *TargetError) Unwrap() []error { return []error{ErrTarget, e.Err} }

// newTargetError builds the TargetError for target name at raw (its plan
// URL) from the driver's error.
func newTargetError(name, raw string, err error) *TargetError {
	// The driver masks what it knows; the cause may come from deeper down
	// (a URL parser quoting part of a password), so mask again here.
	red := redact.New()
	red.AddURL(raw)
	cause := red.String(rootCause(err).Error())
	if errors.Is(err, context.DeadlineExceeded) {
		cause = "no answer in time (" + cause + ")"
	}
	return &TargetError{Target: name, Addr: redact.MaskURL(raw), Cause: cause, Err: err}
}

// rootCause follows err's chain of single wraps to the error that says what
// went wrong (connection refused, NOAUTH, no such host), stopping early at
// errors whose own text says which thing failed (a file, a program).
func rootCause(err error) error {
	for {
		switch err.(type) {
		case *fs.PathError, *exec.Error:
			return err
		}
		next := errors.Unwrap(err)
		if next == nil || next.Error() == "" {
			return err
		}
		err = next
	}
}

// Options tune a run.
type Options struct {
	// Seed overrides the plan's seed when HasSeed.
	Seed    uint64
	HasSeed bool
	// RunID names the run (key prefixes, report); random when empty.
	RunID string
	// Log receives progress; the zero logger discards.
	Log zerolog.Logger
	// GracefulStop overrides DefaultGracefulStop when positive.
	GracefulStop time.Duration
	// OpenTimeout bounds opening each target (default 60s: opening may
	// start a managed deployment — a cluster, sentinels — which a busy
	// machine takes its time over; it is a hang guard, not a measurement).
	OpenTimeout time.Duration
	// ServerInterval is how often server statistics are sampled (default 1s).
	ServerInterval time.Duration
	// Kill, when done, cancels iterations in flight at once instead of
	// giving them their graceful stop (a second Ctrl-C).
	Kill context.Context
	// LateTolerance overrides load.DefaultLateTolerance when positive.
	LateTolerance time.Duration
	// AllowDestructive is the command line's --allow-destructive. A target
	// gets destructive operations only when its plan entry also says
	// allow_destructive: true.
	AllowDestructive bool
	// JournalDir is where the run journals what it changes on servers it
	// did not start, so that `runplan cleanup` can restore it after a
	// crash (package journal); "" keeps the journal in memory only (the
	// report still lists what was not undone). The command line passes
	// journal.DefaultDir().
	JournalDir string
	// Segment, when set (Count > 1), runs only that execution segment of
	// the plan's load (load.Segment, docs/SCALE.md): every scenario its
	// part, the driver faults only in segment 0. The zero value runs the
	// whole plan.
	Segment load.Segment
	// StartAt, when not zero, is the wall-clock instant the scenarios'
	// clock starts at: the run opens its targets, then waits for it
	// (segments of one run share it). A run that cannot start within
	// StartTolerance of it is marked invalid.
	StartAt time.Time

	// beforeDispatch is load.Open.BeforeDispatch for every open-model
	// scenario: a test seam (export_test.go) that makes the generator late.
	beforeDispatch func(hit uint64)
}

// Program is a prepared plan, ready to run: every target configured
// (driver.Config), every step prepared, the load of every scenario built
// into its executor (with its validity limits), the mix weights summed,
// the checks compiled and the fault timeline planned, plus the plain facts
// the report and the caller need from the plan (PlanInfo, the layout of
// steps and faults on targets, Notifications). It performs no I/O until
// Run.
//
// A Program is immutable and plan-free: it is never written after Prepare
// and keeps no engine/plan value (the plan may be dropped once Prepare
// returns; TestProgramIsPlanFree holds it to that). The live state of a
// run (open targets, proxies, journal, scenarios in flight, the running
// fault timeline) belongs to the run (runState), kept apart from the
// Program. A Program runs once: Run binds its steps to the targets it
// opens, and a second Run returns ErrRanAlready. Its methods are safe for
// concurrent use.
type Program struct {
	opts  Options
	seed  uint64
	runID string
	// file is the plan's path, for the journal.
	file     string
	interval time.Duration
	// targets are the configured targets, in plan order.
	targets   []*preparedTarget
	scenarios []*preparedScenario
	// faults is the planned fault timeline (engine/fault runs it).
	faults []*fault.Planned
	checks *check.Program
	// info describes the plan and layout places its steps and faults on
	// their targets, for the report.
	info   report.PlanInfo
	layout report.Layout
	// notify is the plan's notify: entries, for the caller.
	notify []notify.Notification
	// red masks the credentials of the targets' URLs in the error messages
	// a run samples (and in what render prints); the command line masks
	// every output again with the secrets it knows.
	red *redact.Redactor
	// data are the data sources some scenario reads, in plan order.
	data []data.Spec

	// live is the run, from the moment Run starts: Progress reads it, and
	// it is set once (a Program runs once).
	live atomic.Pointer[runState]
}

// ErrRanAlready is returned by Program.Run on a Program that has run: its
// steps are bound to the targets of that run. Prepare the plan again.
var ErrRanAlready = errors.New("engine: the program has run already")

// Validate prepares p without any I/O and returns every problem found;
// warnings included.
func Validate(p *plan.Plan) diag.Diagnostics {
	return ValidateWith(p, Options{})
}

// ValidateWith is Validate with the options that change what is valid
// (AllowDestructive).
func ValidateWith(p *plan.Plan, opts Options) diag.Diagnostics {
	opts.RunID = "validate"
	_, diags := prepare(p, opts)
	return diags
}

// Check loads the plan at path and validates it as far as it can: problems
// of loading and of every later stage (drivers, checks), all at once,
// sorted. The step kinds are the registered drivers unless lo names
// them. The plan is nil when it has errors. It is what `runplan validate`
// runs.
func Check(path string, lo plan.Options, opts Options) (*plan.Plan, diag.Diagnostics) {
	opts.RunID = "validate"
	p, _, diags := loadPlan(path, lo, opts)
	return p, diags
}

// Load is Check and Prepare in one pass, what `runplan run` runs: it loads
// the plan at path and prepares it for a run with opts, so that every
// driver decodes and validates each target and step once. The program is
// nil when the plan has errors; the diagnostics list every problem and
// warning, sorted.
func Load(path string, lo plan.Options, opts Options) (*Program, diag.Diagnostics) {
	_, prog, diags := loadPlan(path, lo, opts)
	return prog, diags
}

// loadPlan loads the plan at path and prepares it: the plan and its program,
// both nil when the plan has errors.
func loadPlan(path string, lo plan.Options, opts Options) (*plan.Plan, *Program, diag.Diagnostics) {
	if lo.StepKinds == nil {
		lo.StepKinds = driver.Drivers()
	}
	if lo.Schema == nil {
		sch, err := PlanSchema()
		if err != nil {
			return nil, nil, diag.Diagnostics{{File: path, Msg: err.Error()}}
		}
		lo.Schema = sch
	}
	p, diags := plan.LoadAll(path, lo)
	if p == nil {
		return nil, nil, diags.Sorted()
	}
	prog, pdiags := prepare(p, opts)
	diags = append(diags, pdiags...).Sorted()
	if len(diags.Errors()) > 0 {
		return nil, nil, diags
	}
	return p, prog, diags
}

// PlanInfo describes the plan the program was prepared from (name,
// description, path, digest), as the report does.
func (prog *Program) PlanInfo() report.PlanInfo { return prog.info }

// Notifications are the plan's notify: entries (notify.FromPlan), in plan
// order; the caller sends them (notify.Send) once the run is over. The
// slice is the caller's.
func (prog *Program) Notifications() []notify.Notification { return slices.Clone(prog.notify) }

// Prepare prepares p for a run. Problems are returned as diag.Diagnostics.
func Prepare(p *plan.Plan, opts Options) (*Program, error) {
	prog, diags := prepare(p, opts)
	if len(diags.Errors()) > 0 {
		return nil, diags.Sorted()
	}
	return prog, nil
}

func prepare(p *plan.Plan, opts Options) (*Program, diag.Diagnostics) {
	prog := &Program{
		opts:     opts,
		runID:    opts.RunID,
		file:     p.File,
		interval: p.Interval,
		info:     report.PlanInfo{Name: p.Name, Description: p.Description, Path: p.File, Digest: p.Digest},
		notify:   notify.FromPlan(p),
		red:      redact.New(),
	}
	for _, t := range p.Targets {
		prog.red.AddURL(t.URL)
	}
	if prog.interval <= 0 {
		prog.interval = time.Second
	}
	if prog.runID == "" {
		prog.runID = newRunID()
	}
	prog.seed = p.Seed
	if opts.HasSeed {
		prog.seed = opts.Seed
	} else if !p.HasSeed {
		prog.seed = mrand.Uint64()
	}
	var diags diag.Diagnostics
	// Drivers report positioned errors (engine/diag); one without a
	// position is placed at the plan element it belongs to.
	at := func(pos diag.Pos, err error) { diags = append(diags, diag.FromError(p.File, pos, err)...) }
	drivers := map[string]driver.Driver{}
	configured := map[string]*preparedTarget{}
	for _, t := range p.Targets {
		d, err := driver.Lookup(t.Driver)
		if err != nil {
			if !t.Invalid {
				msg := fmt.Sprintf("target %s: unknown driver %q", t.Name, t.Driver)
				if s := diag.Suggest(t.Driver, driver.Drivers()); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				msg += " (registered: " + strings.Join(driver.Drivers(), ", ") + ")"
				pos := t.Pos
				if _, dn := driverNode(t); dn != nil {
					pos = diag.PosOf(dn)
				}
				diags = append(diags, diag.New(p.File, pos, msg))
			}
			continue
		}
		spec := driver.TargetSpec{Name: t.Name, Driver: t.Driver, URL: t.URL, Node: t.Node, RunID: prog.runID,
			RunLength:    plannedRunLength(p, opts.GracefulStop),
			SegmentIndex: opts.Segment.Index, SegmentCount: opts.Segment.Count,
			AllowDestructive: opts.AllowDestructive && t.AllowDestructive}
		// The driver's own names (server figures, advice) are known
		// without a configuration: checks on an invalid target are still
		// checked against them.
		drivers[t.Name] = d
		cfg, err := d.Configure(spec)
		if err != nil && !t.Invalid {
			at(t.Pos, err) // an invalid target's problems are reported already
		}
		if err != nil && cfg != nil {
			// The driver's best reading of a target with problems: its
			// steps and faults are still checked against it, so that one
			// validation lists every problem. The plan has errors, so no
			// Program is returned and nothing opens it.
			configured[t.Name] = &preparedTarget{name: t.Name, driver: t.Driver, url: t.URL, config: cfg}
		}
		if err != nil {
			continue
		}
		pt := &preparedTarget{name: t.Name, driver: t.Driver, url: t.URL, config: cfg}
		if sm, ok := d.(driver.ServerMetricser); ok {
			for _, m := range sm.ServerMetrics() {
				pt.figures = append(pt.figures, metrics.ServerFigure{Name: m.Name, Help: m.Help, Compute: m.Compute})
			}
		}
		if ic, ok := cfg.(driver.Identifier); ok {
			pt.identity = ic.Identity()
		}
		configured[t.Name] = pt
		prog.targets = append(prog.targets, pt)
	}
	steps := map[*plan.Step]driver.Step{}
	dataUse := map[*plan.Scenario]*tmpl.DataUse{}
	sources := p.DataSources()
	for _, s := range p.Scenarios {
		// The scenario's steps may read its vars, and only those, and the
		// plan's data sources: those they read are recorded, for the
		// scenario to draw their rows.
		use := &tmpl.DataUse{}
		dataUse[s] = use
		compiler := tmpl.NewCompiler(s.VarNames...).WithData(sources, use)
		for i, st := range s.Steps {
			if st.Kind == "sleep" || st.Invalid {
				continue
			}
			pt, ok := configured[st.Target]
			if !ok {
				continue // reported with the target
			}
			// ... and the captures of the steps before it.
			spec := driver.StepSpec{Name: st.Name, Node: st.Node, Expect: st.Expect, Templates: s.StepCompiler(compiler, i),
				WantReply: st.CaptureNode != nil,
				Load:      loadInfo(s.Load),
				Warn: func(n *yaml.Node, msg string) {
					pos := st.Pos
					if n != nil {
						pos = diag.PosOf(n)
					}
					d := diag.New(p.File, pos, msg)
					d.Warning = true
					diags = append(diags, d)
				}}
			ds, err := pt.config.Prepare(spec)
			if err != nil {
				at(st.Pos, err)
				continue
			}
			steps[st] = ds
		}
	}
	for _, s := range p.Scenarios {
		ps := prepareScenario(p, s, steps, drivers, opts)
		ps.data = readData(s.VarsData, dataUse[s].Names())
		prog.scenarios = append(prog.scenarios, ps)
	}
	prog.data = prepareData(p, prog.scenarios)
	names := check.Names{Server: map[string][]string{}, Advisors: map[string]driver.Advisor{}}
	for _, t := range p.Targets {
		if sm, ok := drivers[t.Name].(driver.ServerMetricser); ok {
			for _, m := range sm.ServerMetrics() {
				names.Server[t.Name] = append(names.Server[t.Name], m.Name)
			}
		}
		names.AddStepMetrics(driver.StepMetricsOf(drivers[t.Name]))
		if a, ok := drivers[t.Name].(driver.Advisor); ok {
			names.Advisors[t.Driver] = a
		}
	}
	prog.layout = planLayout(p)
	prog.faults = prepareFaults(p, drivers, configured, func(f *plan.Fault, err error) { at(f.Pos, err) })
	for _, f := range prog.faults {
		shared := false
		if pt := configured[f.Target]; pt != nil {
			shared = sharedTarget(pt)
		}
		f.Elsewhere = faultElsewhere(f, opts.Segment, shared)
	}
	checks, cdiags := check.Compile(p, names)
	diags = append(diags, cdiags...)
	prog.checks = checks
	for _, n := range p.Notify {
		if err := notify.Check(notify.Notification{URL: n.URL, Flavor: n.Flavor}); err != nil {
			diags = append(diags, diag.New(p.File, n.Pos, err.Error()))
		}
	}
	return prog, diags
}

// planLayout is where p's steps and faults act, for the report.
func planLayout(p *plan.Plan) report.Layout {
	var l report.Layout
	for _, s := range p.Scenarios {
		sl := report.ScenarioLayout{Name: s.Name}
		for _, st := range s.Steps {
			sl.Steps = append(sl.Steps, report.StepLayout{Name: st.Name, Target: st.Target})
		}
		l.Scenarios = append(l.Scenarios, sl)
	}
	for _, f := range p.Faults {
		l.Faults = append(l.Faults, report.FaultLayout{Name: f.Name, Target: f.Target})
	}
	return l
}

func driverNode(t *plan.Target) (*yaml.Node, *yaml.Node) {
	if t.Node == nil || t.Node.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(t.Node.Content); i += 2 {
		if t.Node.Content[i].Value == "driver" {
			return t.Node.Content[i], t.Node.Content[i+1]
		}
	}
	return nil, nil
}

func loadInfo(l plan.LoadSpec) driver.LoadInfo {
	li := driver.LoadInfo{Model: string(l.Model), VUs: l.VUs, Rate: l.Rate, Duration: l.Duration}
	if l.Model == plan.Open {
		li.VUs = l.MaxVUs
	}
	return li
}

func newRunID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}

// RunID returns the run's identifier.
func (prog *Program) RunID() string { return prog.runID }

// Seed returns the seed in force.
func (prog *Program) Seed() uint64 { return prog.seed }

// openTarget is a target the run opened.
type openTarget struct {
	*preparedTarget
	target driver.Target
}

// runState is the live state of a Program's one run: created by Run,
// never shared with another run. Its fields are written by the goroutine
// running Run, except runs, runStart and timeline, set once under mu and
// read by Progress.
type runState struct {
	prog *Program
	// proxies are the network fault proxies, by target.
	proxies map[string]*fault.Proxies
	// journal records what the drivers change on servers runplan did not
	// start.
	journal *journal.Journal

	// sources are the data sources open for the run, by name.
	sources map[string]*data.Source

	mu       sync.Mutex
	runs     []*scenarioRun
	runStart time.Time
	timeline *fault.Timeline
}

// Run opens the targets, runs every scenario and returns the report. When a
// target cannot be opened the error is a *TargetError (it wraps ErrTarget)
// and the report, still returned, is marked partial and not started: its
// measurement is not judged. Targets are cleaned up and closed in every
// case. A Program runs once: a second Run returns ErrRanAlready and no
// report.
func (prog *Program) Run(ctx context.Context) (*report.Report, error) {
	rs := &runState{prog: prog, proxies: map[string]*fault.Proxies{}}
	if !prog.live.CompareAndSwap(nil, rs) {
		return nil, ErrRanAlready
	}
	return rs.run(ctx)
}

func (rs *runState) run(ctx context.Context) (*report.Report, error) {
	prog := rs.prog
	log := prog.opts.Log
	started := time.Now()
	deadRuns := prog.deadRuns()
	rs.journal = journal.New(prog.opts.JournalDir, journal.Run{RunID: prog.runID, Plan: prog.file, Started: started})
	targets, openErr := rs.open(ctx)
	defer rs.closeAll(targets)

	sum := &metrics.RunSummary{Started: started}
	var runErr error
	running := false        // whether the scenarios started
	var clock *report.Clock // this clock against a shared server's (segments)
	if openErr != nil {
		runErr = openErr
		sum.Partial = true
	} else {
		byName := map[string]driver.Target{}
		for _, t := range targets {
			byName[t.name] = t.target
		}
		for _, sc := range prog.scenarios {
			for _, st := range sc.steps {
				if st.step == nil {
					continue
				}
				if err := st.step.Bind(byName[st.target]); err != nil {
					runErr = fmt.Errorf("engine: bind step %s: %w", st.name, err)
				}
			}
		}
		if runErr == nil {
			runErr = rs.openData()
			defer rs.closeData()
		}
		if runErr == nil {
			runErr = prog.prefill(ctx, targets)
		}
		if runErr == nil {
			clock = prog.measureClock(ctx, targets)
			sampler := prog.startSampling(ctx, targets)
			log.Info().Str("run_id", prog.runID).Uint64("seed", prog.seed).Msg("run started")
			running = true
			rs.execute(ctx, sum, targets)
			sum.Targets = rs.stopSampling(sampler)
			if ctx.Err() != nil {
				sum.Partial = true
			}
		}
	}
	sum.Duration = time.Since(started)
	cleaned := prog.cleanup(targets)
	leftovers := rs.leftovers(sum.Faults, cleaned)
	journalFile := rs.closeJournal()
	for _, l := range leftovers {
		log.Error().Str("target", l.Target).Str("fault", l.Fault).Str("error", l.Error).Msg("NOT UNDONE: " + l.What)
	}

	outcome := prog.checks.Evaluate(sum)
	var seg *report.Segment
	if !prog.opts.Segment.Whole() {
		seg = &report.Segment{Index: prog.opts.Segment.Index, Count: prog.opts.Segment.Count}
	}
	var startAt *time.Time
	if at := prog.opts.StartAt; !at.IsZero() {
		at = at.UTC()
		startAt = &at
	}
	rep := report.Build(report.Input{
		Clock:     clock,
		Segment:   seg,
		StartAt:   startAt,
		Plan:      prog.info,
		Layout:    prog.layout,
		Summary:   sum,
		Outcome:   outcome,
		RunID:     prog.runID,
		Seed:      prog.seed,
		Version:   Version,
		Targets:   prog.targetInfo(targets, cleaned),
		DeadRuns:  deadRuns,
		Leftovers: leftovers,
		Journal:   journalFile,
	})
	if runErr != nil {
		rep.Error = runErr.Error()
		rep.Partial = true
		rep.NotStarted = !running
	}
	return rep, runErr
}

func (prog *Program) targetInfo(open []openTarget, cleaned map[string]cleanupResult) []report.Target {
	var out []report.Target
	for _, t := range prog.targets {
		rt := report.Target{Name: t.name, Driver: t.driver, Kind: "not opened"}
		for _, o := range open {
			if o.name == t.name {
				rt.Kind, rt.Addr = o.target.Kind(), o.target.Addr()
				if d, ok := o.target.(driver.Describer); ok {
					rt.Software, rt.Notices = d.Software(), d.Notices()
				}
			}
		}
		if c, ok := cleaned[t.name]; ok {
			rc := &report.Cleanup{What: c.res.What, KeysRemoved: c.res.KeysRemoved, Deferred: c.res.Deferred}
			if c.res.KeysLeft >= 0 {
				n := c.res.KeysLeft
				rc.KeysLeft = &n
			}
			if c.err != nil {
				rc.Error = c.err.Error()
			}
			rt.Cleanup = rc
		}
		out = append(out, rt)
	}
	return out
}

// open opens every target (all targets, in plan order).
func (rs *runState) open(ctx context.Context) ([]openTarget, error) {
	prog := rs.prog
	timeout := prog.opts.OpenTimeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	var out []openTarget
	for _, t := range prog.targets {
		octx, cancel := context.WithTimeout(ctx, timeout)
		env := driver.Env{Seed: prog.seed, Log: func(msg string) { prog.opts.Log.Info().Str("target", t.name).Msg(msg) }}
		if t.network {
			// Network faults act on a proxy between runplan and the target:
			// the driver dials through it.
			px := fault.NewProxies(t.name)
			rs.proxies[t.name] = px
			env.Via = px.Via
		}
		tg, err := t.config.Open(octx, env)
		if err != nil && tg != nil {
			_ = tg.Close() // the contract: Close also after a failed Open
			tg = nil
		}
		if err == nil {
			if p, ok := tg.(driver.Pinger); ok {
				if perr := p.Ping(octx); perr != nil {
					_ = tg.Close()
					err = perr
				}
			}
		}
		if err == nil {
			// Before anything is written: the journal must know the
			// run's key namespace should the run die.
			if jerr := rs.bindJournal(t, tg); jerr != nil {
				_ = tg.Close()
				err = fmt.Errorf("%w (set XDG_STATE_HOME to a writable directory)", jerr)
			}
		}
		cancel()
		if err != nil {
			prog.opts.Log.Debug().Str("target", t.name).Err(err).Msg("target unavailable")
			return out, newTargetError(t.name, t.url, err)
		}
		prog.opts.Log.Info().Str("target", t.name).Str("kind", tg.Kind()).Str("addr", tg.Addr()).Msg("target open")
		out = append(out, openTarget{preparedTarget: t, target: tg})
	}
	return out, nil
}

// prefill runs every target's prefill before anything is measured.
func (prog *Program) prefill(ctx context.Context, targets []openTarget) error {
	for _, t := range targets {
		pf, ok := t.target.(driver.Prefiller)
		if !ok {
			continue
		}
		start := time.Now()
		if err := pf.Prefill(ctx); err != nil {
			return fmt.Errorf("engine: prefill %s: %w", t.name, err)
		}
		prog.opts.Log.Info().Str("target", t.name).Float64("took_ms", float64(time.Since(start).Microseconds())/1000).Msg("prefill done")
	}
	return nil
}

// cleanup cleans every target that leaves state behind, and returns what
// each cleanup did (for the report).
func (prog *Program) cleanup(targets []openTarget) map[string]cleanupResult {
	out := map[string]cleanupResult{}
	for _, t := range targets {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupBudget)
		var cr cleanupResult
		switch c := t.target.(type) {
		case driver.ResultCleaner:
			cr.res, cr.err = c.Clean(ctx)
		case driver.Cleaner:
			cr.res.KeysLeft = -1
			if cr.err = c.Cleanup(ctx); cr.err == nil {
				cr.res.KeysLeft = 0
			}
		default:
			cancel()
			continue
		}
		cancel()
		if cr.err != nil {
			prog.opts.Log.Error().Str("target", t.name).Err(cr.err).Int64("keys_left", cr.res.KeysLeft).Msg("cleanup failed")
		}
		out[t.name] = cr
	}
	return out
}

func (rs *runState) closeAll(targets []openTarget) {
	for _, t := range targets {
		if err := t.target.Close(); err != nil {
			rs.prog.opts.Log.Warn().Str("target", t.name).Err(err).Msg("close failed")
		}
	}
	for _, px := range rs.proxies {
		px.Close()
	}
}

// Rescore evaluates the program's checks and recommendations on rep's
// figures (rep.Summary: a merged report's, runplan merge) and replaces
// rep's checks, score, verdict and recommendations with theirs. rep must be
// a report of this program's plan (the same digest) with mergeable state.
// It changes only rep.
func (prog *Program) Rescore(rep *report.Report) error {
	if rep.Plan.Digest != prog.info.Digest {
		return fmt.Errorf("the report is of another plan (digest %.12s, plan %s %.12s)", rep.Plan.Digest, prog.info.Path, prog.info.Digest)
	}
	sum, err := rep.Summary()
	if err != nil {
		return err
	}
	rep.Rescore(prog.checks.Evaluate(sum), prog.layout)
	return nil
}
