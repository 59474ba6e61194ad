package engine

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	mrand "math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/fault"
	"github.com/runplan/runplan/engine/metrics"
	"github.com/runplan/runplan/engine/plan"
)

// preparedFault is a fault of the timeline, ready to run: a network fault
// on the target's proxies or a driver's own fault.
type preparedFault struct {
	spec    *plan.Fault
	network *fault.Network
	driver  driver.Fault
}

// prepareFaults validates the timeline without I/O.
func (prog *Program) prepareFaults(p *plan.Plan, add func(n *plan.Fault, err error)) {
	prog.netTargets = map[string]bool{}
	for _, f := range p.Faults {
		if f.Invalid {
			continue
		}
		d, ok := prog.drivers[f.Target]
		if !ok {
			continue // the target's problem is reported already
		}
		pf := &preparedFault{spec: f}
		if f.Network() {
			n, err := fault.PrepareNetwork(f.Name, f.Kind, f.Node)
			if err != nil {
				add(f, err)
				continue
			}
			pf.network = n
			prog.netTargets[f.Target] = true
		} else {
			fr, ok := d.(driver.Faulter)
			var kinds []string
			if ok {
				kinds = fr.FaultKinds()
			}
			if !slices.Contains(kinds, f.Kind) {
				all := append(append([]string{}, plan.NetworkFaultKinds...), kinds...)
				msg := fmt.Sprintf("fault %s: unknown fault kind %q for target %s (driver %s)", f.Name, f.Kind, f.Target, prog.specs[f.Target].Driver)
				if s := diag.Suggest(f.Kind, all); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				msg += "; kinds: " + strings.Join(all, ", ")
				add(f, diag.Errorf(f.KindNode, "%s", msg))
				continue
			}
			df, err := fr.PrepareFault(driver.FaultSpec{Name: f.Name, Kind: f.Kind, Node: f.Node, For: f.For, Target: prog.specs[f.Target]})
			if err != nil {
				add(f, err)
				continue
			}
			pf.driver = df
		}
		prog.faults = append(prog.faults, pf)
	}
}

// faultRun is a fault as it happens.
type faultRun struct {
	pf      *preparedFault
	target  driver.Target
	proxies *fault.Proxies
	sum     *metrics.FaultSummary
	undo    func(context.Context) error
	active  bool
	// win measures the fault from its scenarios' completions; nil for a
	// fault not drawn.
	win *fault.Window
}

// timeline switches the faults on and off. It is driven by one goroutine;
// Active may be read from others.
type timeline struct {
	prog  *Program
	runs  []*faultRun
	mu    sync.Mutex
	done  chan struct{}
	start time.Time
}

// startTimeline runs the fault timeline from start until stop is closed;
// then it undoes every fault still active. wait returns the records.
func (prog *Program) startTimeline(ctx context.Context, start time.Time, targets map[string]driver.Target, proxies map[string]*fault.Proxies, stop <-chan struct{}) *timeline {
	tl := &timeline{prog: prog, done: make(chan struct{}), start: start}
	interval := prog.plan.Interval
	if interval <= 0 {
		interval = time.Second
	}
	for _, pf := range prog.faults {
		f := pf.spec
		fr := &faultRun{pf: pf, target: targets[f.Target], proxies: proxies[f.Target], sum: &metrics.FaultSummary{
			Name: f.Name, Target: f.Target, Kind: f.Kind, PlannedAt: f.At, PlannedFor: f.For, UntilEnd: f.For == 0,
		}}
		if pf.network != nil {
			fr.sum.Describe = pf.network.String()
		} else if s, ok := pf.driver.(fmt.Stringer); ok {
			fr.sum.Describe = s.String()
		} else {
			fr.sum.Describe = f.Kind
		}
		for _, s := range prog.plan.Scenarios {
			for _, st := range s.Steps {
				if st.Target == f.Target && !slices.Contains(fr.sum.Scenarios, s.Name) {
					fr.sum.Scenarios = append(fr.sum.Scenarios, s.Name)
				}
			}
		}
		// The dice are the plan's: the same seed makes the same faults.
		if f.Probability < 1 {
			h := fnv.New64a()
			h.Write([]byte(f.Name))
			if mrand.New(mrand.NewPCG(prog.seed, h.Sum64())).Float64() >= f.Probability {
				fr.sum.Skipped = fmt.Sprintf("not drawn (probability %g)", f.Probability)
			}
		}
		if fr.sum.Skipped == "" {
			fr.win = fault.NewWindow(baselineFrom(f, interval), fault.Rule{Latency: f.Recovery.Latency,
				Success: f.Recovery.Success, Stretch: time.Duration(max(f.Recovery.Intervals, 1)) * interval},
				func() time.Duration { return time.Since(start) })
		}
		tl.runs = append(tl.runs, fr)
	}
	tl.observe()
	go tl.loop(ctx, stop)
	return tl
}

// baselineFrom is where a fault's before window starts: as long before the
// fault as the fault lasts (at least one interval), or from the run's start
// for a fault that lasts until the end.
func baselineFrom(f *plan.Fault, interval time.Duration) time.Duration {
	if f.For <= 0 {
		return 0
	}
	return max(f.At-max(f.For, interval), 0)
}

// observe has every scenario's iteration series report its completions to
// the windows of the faults that affect it. It runs before the scenarios
// start.
func (tl *timeline) observe() {
	tl.prog.mu.Lock()
	runs := tl.prog.runs
	tl.prog.mu.Unlock()
	for _, sr := range runs {
		var wins []*fault.Window
		for _, r := range tl.runs {
			if r.win != nil && slices.Contains(r.sum.Scenarios, sr.sc.Name) {
				wins = append(wins, r.win)
			}
		}
		if len(wins) == 0 {
			continue
		}
		sr.iter.Observe(func(x metrics.Sample) {
			c := fault.Completion{At: x.At, Sent: x.At - x.Service, Latency: x.Service, Class: x.ErrClass}
			if x.Response > 0 {
				c.Latency = x.Response
			}
			for _, w := range wins {
				w.Observe(c)
			}
		})
	}
}

type event struct {
	at    time.Duration
	run   *faultRun
	begin bool
}

func (tl *timeline) loop(ctx context.Context, stop <-chan struct{}) {
	defer close(tl.done)
	var events []event
	for _, r := range tl.runs {
		if r.sum.Skipped != "" {
			continue
		}
		events = append(events, event{at: r.pf.spec.At, run: r, begin: true})
		if r.pf.spec.For > 0 {
			events = append(events, event{at: r.pf.spec.At + r.pf.spec.For, run: r})
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
func (tl *timeline) markNotReached(ev event) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, r := range tl.runs {
		if !r.sum.Applied && r.sum.Skipped == "" && r.sum.Err == "" && r.pf.spec.At >= ev.at {
			r.sum.Skipped = "the run ended before it was due"
		}
	}
}

func (tl *timeline) begin(ctx context.Context, r *faultRun) {
	log := tl.prog.opts.Log
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var err error
	var undo func(context.Context) error
	r.win.Begin()
	switch {
	case r.pf.network != nil:
		if r.proxies == nil {
			err = errors.New("no fault proxy for the target")
			break
		}
		err = r.pf.network.Start(r.proxies)
		n, p := r.pf.network, r.proxies
		undo = func(context.Context) error { return n.Stop(p) }
	default:
		undo, err = r.pf.driver.Start(sctx, r.target)
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
			if uerr := tl.prog.undoFault(r.sum.Name, undo); uerr != nil {
				r.sum.UndoErr = uerr.Error()
			}
		}
		return
	}
	r.active, r.sum.Applied, r.sum.Start = true, true, now
	log.Info().Str("fault", r.sum.Name).Str("target", r.sum.Target).Str("kind", r.sum.Kind).Msg("fault on")
}

func (tl *timeline) end(r *faultRun) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.endLocked(r)
}

func (tl *timeline) endLocked(r *faultRun) {
	if !r.active {
		return
	}
	r.active = false
	// The window ends when the undo has returned: until then the fault may
	// still act.
	err := tl.prog.undoFault(r.sum.Name, r.undo)
	r.sum.End = r.win.Ended()
	if err != nil {
		r.sum.UndoErr = err.Error()
		tl.prog.opts.Log.Error().Str("fault", r.sum.Name).Err(err).Msg("undoing the fault failed: the target may still be affected")
		return
	}
	tl.prog.opts.Log.Info().Str("fault", r.sum.Name).Msg("fault off")
}

// undoAll undoes every active fault: at the end of the run, after an
// error, an interruption or a panic in the timeline.
func (tl *timeline) undoAll() {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, r := range tl.runs {
		tl.endLocked(r)
	}
}

// Active names the faults active now that affect the scenario.
func (tl *timeline) Active(scenario string) []string {
	if tl == nil {
		return nil
	}
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var out []string
	for _, r := range tl.runs {
		if r.active && slices.Contains(r.sum.Scenarios, scenario) {
			out = append(out, r.sum.Name)
		}
	}
	return out
}

// wait waits for the timeline to finish (every fault undone) and measures
// each applied fault's effect on the scenarios it affected, from the
// completions its window observed. The scenarios are done: nothing is
// observed any more.
func (tl *timeline) wait(_ []*metrics.ScenarioSummary, _ time.Duration) []*metrics.FaultSummary {
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
