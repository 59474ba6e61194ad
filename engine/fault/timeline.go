package fault

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	mrand "math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/metrics"
)

// Planned is a fault of the timeline, prepared and checked, with nothing of
// the plan left in it: a network fault on the target's proxies (Network)
// or a driver's own fault (Driver), exactly one of the two. A Planned is
// not changed once built: safe to share between goroutines.
type Planned struct {
	Name, Target, Kind string
	// At is when the fault starts, from the run's start; For how long it
	// lasts, zero for until the end of the run.
	At, For time.Duration
	// Probability that the fault happens at all; the draw is the seed's.
	Probability float64
	// Recovery is the fault's recovery rule; a zero Stretch is one
	// interval of the timeline.
	Recovery Rule
	// Scenarios names the scenarios with a step on the fault's target: the
	// ones it affects.
	Scenarios []string
	Network   *Network
	Driver    driver.Fault
	// Elsewhere, when set, says which other process applies the fault (an
	// execution segment's other than this one's): the timeline reports it
	// skipped for that reason and never applies it.
	Elsewhere string
}

// Describe is what the report (and `runplan explain`) says the fault does.
func (p *Planned) Describe() string { return p.describe() }

// describe is what the report says the fault does.
func (p *Planned) describe() string {
	if p.Network != nil {
		return p.Network.String()
	}
	if s, ok := p.Driver.(fmt.Stringer); ok {
		return s.String()
	}
	return p.Kind
}

// Config is what a timeline runs on.
type Config struct {
	Faults []*Planned
	// Targets are the open targets by name, for driver faults; Proxies the
	// fault proxies by target name, for network faults.
	Targets map[string]driver.Target
	Proxies map[string]*Proxies
	// Interval is the time-series interval (default 1s): the shortest
	// baseline and the unit of a recovery stretch.
	Interval time.Duration
	// Seed draws the faults whose probability is below 1: the same seed
	// makes the same faults.
	Seed uint64
	// Log receives the faults switching on and off.
	Log zerolog.Logger
}

// Undo retries: a fault's undo is tried up to undoTries times, all within
// undoBudget (a restarted server may take most of it to come back).
const (
	undoTries  = 3
	undoBudget = 30 * time.Second
)

// run is a fault as it happens.
type run struct {
	p       *Planned
	target  driver.Target
	proxies *Proxies
	sum     *metrics.FaultSummary
	undo    func(context.Context) error
	active  bool
	// win measures the fault from its scenarios' completions; nil for a
	// fault not drawn.
	win *Window
}

// Timeline switches a run's faults on and off at their planned times,
// undoes every one still active when the run stops — also after an error,
// an interruption or a panic in the timeline — and measures each one's
// effect on the scenarios it affects.
//
// Lifecycle: Start before the scenarios start; Observer for each scenario,
// before it starts; Active from any goroutine; Done and Wait once the
// scenarios are done and stop is closed. The timeline is driven by one
// goroutine of its own.
type Timeline struct {
	cfg   Config
	runs  []*run
	mu    sync.Mutex
	done  chan struct{}
	start time.Time
}

// Start runs the fault timeline from start until stop is closed (or ctx is
// done); then it undoes every fault still active.
func Start(ctx context.Context, start time.Time, cfg Config, stop <-chan struct{}) *Timeline {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	tl := &Timeline{cfg: cfg, done: make(chan struct{}), start: start}
	for _, p := range cfg.Faults {
		r := &run{p: p, target: cfg.Targets[p.Target], proxies: cfg.Proxies[p.Target], sum: &metrics.FaultSummary{
			Name: p.Name, Target: p.Target, Kind: p.Kind, PlannedAt: p.At, PlannedFor: p.For, UntilEnd: p.For == 0,
			Describe: p.describe(), Scenarios: slices.Clone(p.Scenarios),
		}}
		// The dice are the plan's: the same seed makes the same faults.
		if p.Elsewhere != "" {
			r.sum.Skipped = p.Elsewhere
		} else if p.Probability < 1 {
			h := fnv.New64a()
			h.Write([]byte(p.Name))
			if mrand.New(mrand.NewPCG(cfg.Seed, h.Sum64())).Float64() >= p.Probability {
				r.sum.Skipped = fmt.Sprintf("not drawn (probability %g)", p.Probability)
			}
		}
		if r.sum.Skipped == "" {
			rule := p.Recovery
			if rule.Stretch <= 0 {
				rule.Stretch = cfg.Interval
			}
			r.win = NewWindow(baselineFrom(p, cfg.Interval), rule, func() time.Duration { return time.Since(start) })
		}
		tl.runs = append(tl.runs, r)
	}
	go tl.loop(ctx, stop)
	return tl
}

// baselineFrom is where a fault's before window starts: as long before the
// fault as the fault lasts (at least one interval), or from the run's start
// for a fault that lasts until the end.
func baselineFrom(p *Planned, interval time.Duration) time.Duration {
	if p.For <= 0 {
		return 0
	}
	return max(p.At-max(p.For, interval), 0)
}

// Observer returns what a scenario's iteration series reports its
// completions to (metrics.Series.Observe): the windows of the faults that
// affect it. It is nil when no fault drawn affects the scenario.
func (tl *Timeline) Observer(scenario string) func(metrics.Sample) {
	var wins []*Window
	for _, r := range tl.runs {
		if r.win != nil && slices.Contains(r.sum.Scenarios, scenario) {
			wins = append(wins, r.win)
		}
	}
	if len(wins) == 0 {
		return nil
	}
	return func(x metrics.Sample) {
		c := Completion{At: x.At, Sent: x.At - x.Service, Latency: x.Service, Class: x.ErrClass}
		if x.Response > 0 {
			c.Latency = x.Response
		}
		for _, w := range wins {
			w.Observe(c)
		}
	}
}

type event struct {
	at    time.Duration
	run   *run
	begin bool
}

func (tl *Timeline) loop(ctx context.Context, stop <-chan struct{}) {
	defer close(tl.done)
	var events []event
	for _, r := range tl.runs {
		if r.sum.Skipped != "" {
			continue
		}
		events = append(events, event{at: r.p.At, run: r, begin: true})
		if r.p.For > 0 {
			events = append(events, event{at: r.p.At + r.p.For, run: r})
		}
	}
	// Ends before begins at the same instant, so back-to-back windows do
	// not overlap.
	sort.SliceStable(events, func(i, j int) bool {
		if events[i].at != events[j].at {
			return events[i].at < events[j].at
		}
		return !events[i].begin && events[j].begin
	})
	defer tl.undoAll()
	for _, ev := range events {
		wait := time.Until(tl.start.Add(ev.at))
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-stop:
				t.Stop()
				tl.markNotReached(ev)
				return
			case <-ctx.Done():
				t.Stop()
				tl.markNotReached(ev)
				return
			}
		}
		if ev.begin {
			tl.begin(ctx, ev.run)
		} else {
			tl.end(ev.run)
		}
	}
	select {
	case <-stop:
	case <-ctx.Done():
	}
}

// markNotReached records the faults whose start the run never reached.
func (tl *Timeline) markNotReached(ev event) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, r := range tl.runs {
		if !r.sum.Applied && r.sum.Skipped == "" && r.sum.Err == "" && r.p.At >= ev.at {
			r.sum.Skipped = "the run ended before it was due"
		}
	}
}

func (tl *Timeline) begin(ctx context.Context, r *run) {
	log := tl.cfg.Log
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var err error
	var undo func(context.Context) error
	r.win.Begin()
	switch {
	case r.p.Network != nil:
		if r.proxies == nil {
			err = errors.New("no fault proxy for the target")
			break
		}
		err = r.p.Network.Start(r.proxies)
		n, p := r.p.Network, r.proxies
		undo = func(context.Context) error { return n.Stop(p) }
	case r.p.Driver == nil:
		err = errors.New("the fault has nothing to start")
	default:
		undo, err = r.p.Driver.Start(sctx, r.target)
	}
	now := r.win.InEffect()
	tl.mu.Lock()
	defer tl.mu.Unlock()
	r.undo = undo
	if err != nil {
		r.sum.Err = err.Error()
		log.Warn().Str("fault", r.sum.Name).Err(err).Msg("fault failed to start")
		// Undo what a partial start did.
		if undo != nil {
			if uerr := tl.undo(r.sum.Name, undo); uerr != nil {
				r.sum.UndoErr = uerr.Error()
			}
		}
		return
	}
	r.active, r.sum.Applied, r.sum.Start = true, true, now
	log.Info().Str("fault", r.sum.Name).Str("target", r.sum.Target).Str("kind", r.sum.Kind).Msg("fault on")
}

func (tl *Timeline) end(r *run) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.endLocked(r)
}

func (tl *Timeline) endLocked(r *run) {
	if !r.active {
		return
	}
	r.active = false
	// The window ends when the undo has returned: until then the fault may
	// still act.
	err := tl.undo(r.sum.Name, r.undo)
	r.sum.End = r.win.Ended()
	if err != nil {
		r.sum.UndoErr = err.Error()
		tl.cfg.Log.Error().Str("fault", r.sum.Name).Err(err).Msg("undoing the fault failed: the target may still be affected")
		return
	}
	tl.cfg.Log.Info().Str("fault", r.sum.Name).Msg("fault off")
}

// undo runs a fault's undo until it succeeds, at most undoTries times
// within undoBudget, backing off between tries.
func (tl *Timeline) undo(name string, undo func(context.Context) error) error {
	deadline := time.Now().Add(undoBudget)
	var err error
	for try := 0; try < undoTries; try++ {
		if try > 0 {
			wait := time.Duration(try) * 250 * time.Millisecond
			if time.Until(deadline) <= wait {
				break
			}
			tl.cfg.Log.Warn().Str("fault", name).Err(err).Int("try", try+1).Msg("undoing the fault failed; trying again")
			time.Sleep(wait)
		}
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		err = undo(ctx)
		cancel()
		if err == nil {
			return nil
		}
	}
	return err
}

// undoAll undoes every active fault: at the end of the run, after an
// error, an interruption or a panic in the timeline.
func (tl *Timeline) undoAll() {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, r := range tl.runs {
		tl.endLocked(r)
	}
}

// Active names the faults active now that affect the scenario. A nil
// Timeline has none.
func (tl *Timeline) Active(scenario string) []string {
	return tl.activeWhere(func(r *run) bool { return slices.Contains(r.sum.Scenarios, scenario) })
}

// ActiveNames names every fault active now, whichever scenarios it
// affects. A nil Timeline has none.
func (tl *Timeline) ActiveNames() []string {
	return tl.activeWhere(func(*run) bool { return true })
}

// activeWhere names the faults active now for which keep is true.
func (tl *Timeline) activeWhere(keep func(*run) bool) []string {
	if tl == nil {
		return nil
	}
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var out []string
	for _, r := range tl.runs {
		if r.active && keep(r) {
			out = append(out, r.sum.Name)
		}
	}
	return out
}

// Done is closed when the timeline has finished: stop was closed (or the
// context ended) and every fault is undone.
func (tl *Timeline) Done() <-chan struct{} { return tl.done }

// Wait waits for the timeline to finish (every fault undone) and measures
// each applied fault's effect on the scenarios it affected, from the
// completions its window observed. The scenarios must be done: nothing is
// observed any more.
func (tl *Timeline) Wait() []*metrics.FaultSummary {
	<-tl.done
	now := time.Since(tl.start)
	var out []*metrics.FaultSummary
	for _, r := range tl.runs {
		s := r.sum
		if s.Applied {
			s.Effect = r.win.Effect(s.UntilEnd, now)
		}
		out = append(out, s)
	}
	return out
}
