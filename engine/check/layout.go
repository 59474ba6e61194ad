package check

import "github.com/runplan/runplan/engine/plan"

// layout is what evaluation needs of a plan, copied from it at compile
// time so that a compiled Program holds no engine/plan value: the names
// the environment defines, where each step acts and the score bands. It
// is never changed after layoutOf returns, so Programs share it freely.
type layout struct {
	// faults are the plan's fault names, in plan order.
	faults []string
	// scenarios are the plan's scenarios and their steps, in plan order.
	scenarios []scenarioLayout
	// drivers maps a scenario's steps to the driver of their target: ""
	// for a sleep, or a step on an unknown target.
	drivers map[string]map[string]string
	// targets maps a target's name to its driver (the first target of a
	// name, as plan.TargetByName finds it).
	targets map[string]string
	// ready and degraded are the score bands of the verdicts.
	ready, degraded float64
}

type scenarioLayout struct {
	name  string
	steps []string
}

// layoutOf copies p's layout; a nil p has none (no names, no drivers).
func layoutOf(p *plan.Plan) *layout {
	l := &layout{drivers: map[string]map[string]string{}, targets: map[string]string{}}
	if p == nil {
		return l
	}
	l.ready, l.degraded = p.Readiness.Ready, p.Readiness.Degraded
	for _, f := range p.Faults {
		l.faults = append(l.faults, f.Name)
	}
	for _, t := range p.Targets {
		if _, dup := l.targets[t.Name]; !dup {
			l.targets[t.Name] = t.Driver
		}
	}
	for _, sc := range p.Scenarios {
		sl := scenarioLayout{name: sc.Name}
		l.drivers[sc.Name] = map[string]string{}
		for _, st := range sc.Steps {
			sl.steps = append(sl.steps, st.Name)
			l.drivers[sc.Name][st.Name] = l.targets[st.Target]
		}
		l.scenarios = append(l.scenarios, sl)
	}
	return l
}
