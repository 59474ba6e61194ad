package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/fault"
	"github.com/runplan/runplan/engine/plan"
)

// prepareFaults validates the fault timeline without I/O and prepares its
// faults for a fault.Timeline (engine/fault runs it).
func (prog *Program) prepareFaults(p *plan.Plan, add func(n *plan.Fault, err error)) {
	prog.netTargets = map[string]bool{}
	interval := p.Interval
	if interval <= 0 {
		interval = time.Second
	}
	for _, f := range p.Faults {
		if f.Invalid {
			continue
		}
		d, ok := prog.drivers[f.Target]
		if !ok {
			continue // the target's problem is reported already
		}
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
				if s := plan.Suggest(f.Kind, all); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				msg += "; kinds: " + strings.Join(all, ", ")
				add(f, &driver.PosError{Line: f.KindNode.Line, Col: f.KindNode.Column, Err: errors.New(msg)})
				continue
			}
			df, err := fr.PrepareFault(driver.FaultSpec{Name: f.Name, Kind: f.Kind, Node: f.Node, For: f.For, Target: prog.specs[f.Target]})
			if err != nil {
				add(f, err)
				continue
			}
			pf.Driver = df
		}
		prog.faults = append(prog.faults, pf)
	}
}
