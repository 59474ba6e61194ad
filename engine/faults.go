package engine

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/runplan/runplan/engine/diag"
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
	driverOf := map[string]string{}
	for _, t := range p.Targets {
		driverOf[t.Name] = t.Driver
	}
	for _, f := range p.Faults {
		if f.Invalid {
			continue
		}
		d, ok := prog.drivers[f.Target]
		cfg := prog.configs[f.Target]
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
				msg := fmt.Sprintf("fault %s: unknown fault kind %q for target %s (driver %s)", f.Name, f.Kind, f.Target, driverOf[f.Target])
				if s := diag.Suggest(f.Kind, all); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				msg += "; kinds: " + strings.Join(all, ", ")
				add(f, diag.Errorf(f.KindNode, "%s", msg))
				continue
			}
			fp, ok := cfg.(driver.FaultPreparer)
			if !ok {
				add(f, diag.Errorf(f.KindNode, "fault %s: driver %s lists fault kind %q but its targets prepare no faults", f.Name, driverOf[f.Target], f.Kind))
				continue
			}
			df, err := fp.PrepareFault(driver.FaultSpec{Name: f.Name, Kind: f.Kind, Node: f.Node, For: f.For})
			if err != nil {
				add(f, err)
				continue
			}
			pf.Driver = df
		}
		prog.faults = append(prog.faults, pf)
	}
}
