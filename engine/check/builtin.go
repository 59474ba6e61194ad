package check

import (
	"fmt"
	"sort"
	"strings"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/metrics"
)

// adviseCPU is runplan's own CPU share above which it may have limited the
// load, documented in docs/SCORING.md with the drivers' thresholds.
const adviseCPU = 0.90

// builtinAdvice returns recommendations grounded in what was measured, each
// naming the figures that triggered it. They follow the plan's own. The
// engine's advice is generic; the drivers of l's targets add theirs, in
// their own vocabulary, through advisors (by driver name).
func builtinAdvice(l *layout, advisors map[string]driver.Advisor, sum *metrics.RunSummary) []string {
	if sum == nil {
		return nil
	}
	var out []string
	g := sum.Generator
	if !g.Valid && len(g.Reasons) > 0 {
		advice := g.Advice
		if advice == "" { // a summary without a diagnosis
			advice = "Run runplan on a less loaded machine, apart from the target, or lower the rate."
		}
		out = append(out, "The measurement is invalid: "+strings.Join(g.Reasons, "; ")+". "+advice)
	}
	if g.CPU > adviseCPU && g.Cause != "generator_cpu" && g.Cause != "closed_model" {
		out = append(out, fmt.Sprintf("runplan used %.0f%% of its CPUs: the generator may have limited the load; run it on another machine than the target.", g.CPU*100))
	}
	drivers := l.drivers
	for _, sc := range sum.Scenarios {
		if sc == nil || sc.Iteration == nil {
			continue
		}
		// The steps of each driver, drivers in the order of their first step.
		var order []string
		byDriver := map[string][]driver.StepFigures{}
		for _, st := range sc.Steps {
			d := drivers[sc.Name][st.Name]
			if advisors[d] == nil {
				continue
			}
			if _, seen := byDriver[d]; !seen {
				order = append(order, d)
			}
			counters := map[string]int64{}
			for _, f := range st.Figures() {
				if f.Kind != driver.Ratio {
					counters[f.Name] = f.N
				}
			}
			byDriver[d] = append(byDriver[d], driver.StepFigures{Name: st.Name, Calls: st.Count, Errors: st.Errors, Counters: counters})
		}
		for _, d := range order {
			out = append(out, advisors[d].AdviseScenario(driver.ScenarioFigures{Scenario: sc.Name, Steps: byDriver[d]})...)
		}
		if sc.Dropped > 0 {
			due := sc.Scheduled
			out = append(out, fmt.Sprintf("%s: %d of %d due iterations were dropped because all %d VUs were busy: the target did not keep up with the arrival rate; raise max_vus only if more concurrency is realistic.",
				sc.Name, sc.Dropped, due, sc.MaxVUs))
		}
		for _, st := range sc.Steps {
			out = append(out, stepAdvice(sc.Name, st, advisors[drivers[sc.Name][st.Name]])...)
		}
	}
	for _, t := range sum.Targets {
		if a := advisors[l.targets[t.Name]]; a != nil {
			out = append(out, a.AdviseTarget(driver.TargetFigures{Target: t.Name, Order: t.Order, Server: t.Server})...)
		}
	}
	return out
}

// stepAdvice looks at a step's errors by class: the engine's generic advice
// on a class, then the step's driver's (a nil advisor has none).
func stepAdvice(scenario string, st *metrics.Stats, a driver.Advisor) []string {
	if st.Errors == 0 {
		return nil
	}
	var out []string
	classes := make([]string, 0, len(st.ErrorsBy))
	for c := range st.ErrorsBy {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	for _, c := range classes {
		e := driver.ErrorFigures{Scenario: scenario, Step: st.Name, Class: c, Errors: st.ErrorsBy[c], Calls: st.Count}
		switch c {
		case "timeout":
			out = append(out, fmt.Sprintf("%s: %s calls timed out: find what stalls the target (slow commands, a saturated connection pool, the network) before raising the timeout.", e.Where(), e.Share()))
		case "refused", "connection", "reset", "dns", "tls":
			out = append(out, fmt.Sprintf("%s: %s calls failed to connect (%s): check that the target is up and reachable, and its connection limits.", e.Where(), e.Share(), c))
		}
		if a != nil {
			out = append(out, a.AdviseErrors(e)...)
		}
	}
	return out
}
