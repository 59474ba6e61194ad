package engine

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/fault"
	"github.com/runplan/runplan/engine/load"
	"github.com/runplan/runplan/engine/plan"
)

// prepareFaults validates the fault timeline without I/O and prepares its
// faults for a fault.Timeline (engine/fault runs it): a driver's fault on
// its target's Config (driver.FaultPreparer), a network fault here. It
// marks the targets with network faults (preparedTarget.network). drivers
// and targets hold the targets that were configured.
func prepareFaults(p *plan.Plan, drivers map[string]driver.Driver, targets map[string]*preparedTarget, add func(n *plan.Fault, err error)) []*fault.Planned {
	var out []*fault.Planned
	interval := p.Interval
	if interval <= 0 {
		interval = time.Second
	}
	for _, f := range p.Faults {
		if f.Invalid {
			continue
		}
		d, ok := drivers[f.Target]
		if !ok {
			continue // the target's problem is reported already
		}
		// t is nil when the target did not configure (its problems are
		// reported): the fault is checked as far as it can be.
		t := targets[f.Target]
		pf := &fault.Planned{Name: f.Name, Target: f.Target, Kind: f.Kind, At: f.At, For: f.For, Probability: f.Probability,
			Recovery: fault.Rule{Latency: f.Recovery.Latency, Success: f.Recovery.Success,
				Stretch: time.Duration(max(f.Recovery.Intervals, 1)) * interval}}
		for _, s := range p.Scenarios {
			for _, st := range s.Steps {
				if st.Target == f.Target && !slices.Contains(pf.Scenarios, s.Name) {
					pf.Scenarios = append(pf.Scenarios, s.Name)
				}
			}
		}
		if f.Network() {
			n, err := fault.PrepareNetwork(f.Name, f.Kind, f.Node)
			if err != nil {
				add(f, err)
				continue
			}
			pf.Network = n
			if t != nil {
				t.network = true
			}
		} else {
			fr, ok := d.(driver.Faulter)
			var kinds []string
			if ok {
				kinds = fr.FaultKinds()
			}
			if !slices.Contains(kinds, f.Kind) {
				all := append(append([]string{}, plan.NetworkFaultKinds...), kinds...)
				msg := fmt.Sprintf("fault %s: unknown fault kind %q for target %s (driver %s)", f.Name, f.Kind, f.Target, p.TargetByName(f.Target).Driver)
				if s := diag.Suggest(f.Kind, all); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				msg += "; kinds: " + strings.Join(all, ", ")
				add(f, diag.Errorf(f.KindNode, "%s", msg))
				continue
			}
			if t == nil {
				continue
			}
			fp, ok := t.config.(driver.FaultPreparer)
			if !ok {
				add(f, diag.Errorf(f.KindNode, "fault %s: driver %s lists fault kind %q but its targets prepare no faults", f.Name, t.driver, f.Kind))
				continue
			}
			df, err := fp.PrepareFault(driver.FaultSpec{Name: f.Name, Kind: f.Kind, Node: f.Node, For: f.For})
			if err != nil {
				add(f, err)
				continue
			}
			pf.Driver = df
		}
		out = append(out, pf)
	}
	return out
}

// faultElsewhere says why segment seg does not apply fault f itself (""
// when it does; docs/SCALE.md): a driver's fault on a target the segments
// share (it has a URL) changes state they share — a server paused,
// killed, failed over, squeezed or flushed, a sink made to fail — and is
// applied once, by segment 0. A network fault acts on the segment's own
// proxy, and a target without a URL is started by each segment for
// itself (an embedded sink, a managed redis-server): every segment
// applies those, for the same window. shared is whether f's target is
// shared by the segments.
func faultElsewhere(f *fault.Planned, seg load.Segment, shared bool) string {
	if seg.Whole() || seg.Index == 0 || f.Network != nil || !shared {
		return ""
	}
	return fmt.Sprintf("applied by segment 0 of %d (it changes state the segments share)", seg.Count)
}
