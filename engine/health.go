package engine

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/runplan/runplan/engine/metrics"
	"github.com/runplan/runplan/engine/plan"
)

// Validity of a measurement, documented in docs/LOAD.md: past a scenario's
// validity limits (validity: the plan's `validity:` and the scenario's
// load.validity, defaults plan.DefaultLagP99 and plan.DefaultLate) the
// generator did not hold the requested load, and the figures describe the
// generator as much as the target. Two floors keep a short run from being
// judged on noise:
const (
	// MinLate late iterations are always tolerated in a scenario, so that
	// one hiccup in a short run is not a verdict.
	MinLate = 5
	// MinLagSamples due iterations are needed before a scenario's lag p99
	// is judged.
	MinLagSamples = 100
)

// validity is a scenario's validity limits, as the plan gives them
// (plan.Validity), held by the Program apart from the plan.
type validity struct {
	// LagP99 is the largest open-model scheduling lag p99 allowed.
	LagP99 time.Duration
	// Late is the largest share of due open-model iterations that may be
	// late (0..1).
	Late float64
}

// healthInput is what generatorHealth judges.
type healthInput struct {
	scenarios []*metrics.ScenarioSummary
	// limits gives a scenario's validity limits by name; scenarios it
	// does not know get the defaults.
	limits map[string]validity
	// cpu is the process's CPU time over wall, when cpuKnown (the system
	// said, at both ends); procs the CPUs it may use.
	cpu, wall time.Duration
	cpuKnown  bool
	procs     int
	// host is the host over the run (unknown outside Linux).
	host hostView
}

// generatorHealth judges, scenario by scenario, whether the generator held
// the requested load. It is a pure function of its input.
func generatorHealth(in healthInput) metrics.Generator {
	g := metrics.Generator{Valid: true}
	for _, s := range in.scenarios {
		if s == nil || s.Lag == nil {
			continue
		}
		if g.Lag == nil {
			g.Lag = metrics.NewHistogram()
		}
		g.Lag.Merge(s.Lag)
		g.Scheduled += s.Scheduled
		g.Late += s.Late
		g.Dropped += s.Dropped
	}
	g.CPU = math.NaN() // unknown, not 0, where the system does not say
	if in.cpuKnown && in.wall > 0 && in.procs > 0 {
		g.CPU = in.cpu.Seconds() / in.wall.Seconds() / float64(in.procs)
	}
	for _, s := range in.scenarios {
		if s == nil || s.Lag == nil || s.Scheduled <= 0 {
			continue
		}
		lim, ok := in.limits[s.Name]
		if !ok {
			lim = validity{LagP99: plan.DefaultLagP99, Late: plan.DefaultLate}
		}
		if share := float64(s.Late) / float64(s.Scheduled); share > lim.Late && s.Late > MinLate {
			g.Valid = false
			g.Reasons = append(g.Reasons, fmt.Sprintf("%s: the generator was late for %d of %d due iterations (%s; limit %s)",
				s.Name, s.Late, s.Scheduled, percent(share), percent(lim.Late)))
		}
		if p99 := time.Duration(s.Lag.ValueAtQuantile(99)); p99 > lim.LagP99 && s.Scheduled >= MinLagSamples {
			g.Valid = false
			g.Reasons = append(g.Reasons, fmt.Sprintf("%s: scheduling lag p99 %v is above %v", s.Name, p99.Round(time.Microsecond), lim.LagP99))
		}
	}
	if h := in.host; h.OK {
		g.HostKnown, g.HostBusy, g.HostSteal, g.HostLoad, g.HostCores = true, h.Busy, h.Steal, h.Load1, h.Cores
	}
	if !g.Valid {
		g.Cause, g.Advice = diagnose(in, g.CPU)
	}
	return g
}

// Thresholds of the diagnosis, documented in docs/SCORING.md.
const (
	// diagSteal is the share of stolen CPU time past which the hypervisor
	// is the cause.
	diagSteal = 0.05
	// diagOthers is the share of the host's CPU time used by other
	// processes past which the host was busy; diagLoad the load average
	// per CPU past which it was, whatever runplan used.
	diagOthers = 0.25
	diagLoad   = 1.5
	// diagNeighbour is runplan's CPU share past which a closed-model
	// scenario beside the open model took the CPU the scheduler needed;
	// diagCPU the share past which runplan itself was CPU-bound.
	diagNeighbour = 0.5
	diagCPU       = 0.7
)

// diagnose names the visible cause of an invalid measurement and what to
// do, from the host's view, runplan's CPU share and the run's scenarios.
// Lowering the rate only helps when runplan itself was the bottleneck.
// An unknown CPU share (NaN) names no cause: only the host's figures can.
func diagnose(in healthInput, cpu float64) (cause, advice string) {
	h := in.host
	ours := math.NaN() // runplan's share of the whole host
	if in.cpuKnown && h.OK && in.wall > 0 && h.Cores > 0 {
		ours = in.cpu.Seconds() / in.wall.Seconds() / float64(h.Cores)
	}
	others := h.Busy - ours // NaN, and no cause, when ours is unknown
	var closed []string
	for _, s := range in.scenarios {
		if s != nil && s.Model == string(plan.Closed) && s.Iteration != nil && s.Iteration.Count > 0 {
			closed = append(closed, s.Name)
		}
	}
	limits := "or state what a shared runner can hold with the plan's validity: {lag_p99, late}; lowering the rate will not help"
	switch {
	case h.OK && h.Steal >= diagSteal:
		return "host_steal", fmt.Sprintf("Cause: the machine was busy: the hypervisor stole %.0f%% of its CPU time during the run. Run on a machine with dedicated CPUs, %s.",
			h.Steal*100, limits)
	case h.OK && (others >= diagOthers || h.Load1 >= diagLoad*float64(h.Cores)):
		busy := fmt.Sprintf("other processes used %.0f%% of its %d CPUs (load average %.2f) while runplan used %.0f%%",
			max(others, 0)*100, h.Cores, h.Load1, ours*100)
		if math.IsNaN(ours) {
			busy = fmt.Sprintf("its load average was %.2f on %d CPUs (runplan's own CPU use is unknown on this system)", h.Load1, h.Cores)
		}
		return "host_busy", fmt.Sprintf("Cause: the machine was busy: %s. Run runplan on a quieter machine, apart from the target, %s.", busy, limits)
	case len(closed) > 0 && cpu >= diagNeighbour:
		return "closed_model", fmt.Sprintf("Cause: the closed-model scenario %s ran beside the open model while runplan used %.0f%% of its CPUs: it took the CPU the open-model scheduler needed. Run the closed-model scenario separately or lower its VUs.",
			strings.Join(closed, ", "), cpu*100)
	case cpu >= diagCPU:
		return "generator_cpu", fmt.Sprintf("Cause: runplan was CPU-bound (%.0f%% of its CPUs). Lower the rate, or spread the load over several runplan processes or machines.", cpu*100)
	}
	used := fmt.Sprintf("runplan used %.0f%% of its CPUs", cpu*100)
	if math.IsNaN(cpu) {
		used = "runplan's CPU use is unknown"
	}
	host := "the host's load is unknown on this system"
	if h.OK {
		host = fmt.Sprintf("the host was not busy (load average %.2f on %d CPUs, %.0f%% stolen)", h.Load1, h.Cores, h.Steal*100)
	}
	return "unknown", fmt.Sprintf("Cause not visible: %s and %s. Look for pauses the figures do not show (a container's CPU quota, swapping, a suspended VM), then lower the rate if they are not the cause.",
		used, host)
}

// percent prints a share as a percentage with enough digits for the small
// limits validity uses (0.1%, 0.05%).
func percent(f float64) string {
	return strconv.FormatFloat(f*100, 'g', 3, 64) + "%"
}
