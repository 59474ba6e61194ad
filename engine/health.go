package engine

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/runplan/runplan/engine/metrics"
	"github.com/runplan/runplan/engine/plan"
)

// Validity of a measurement, documented in docs/LOAD.md: past a scenario's
// validity limits (plan.Validity: the plan's `validity:` and the scenario's
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

// healthInput is what generatorHealth judges.
type healthInput struct {
	scenarios []*metrics.ScenarioSummary
	// limits gives a scenario's validity limits by name; scenarios it
	// does not know get the defaults.
	limits map[string]plan.Validity
	// cpu is the process's CPU time over wall; procs the CPUs it may use.
	cpu, wall time.Duration
	procs     int
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
	if in.wall > 0 && in.procs > 0 {
		g.CPU = in.cpu.Seconds() / in.wall.Seconds() / float64(in.procs)
	}
	for _, s := range in.scenarios {
		if s == nil || s.Lag == nil || s.Scheduled <= 0 {
			continue
		}
		lim, ok := in.limits[s.Name]
		if !ok {
			lim = plan.Validity{LagP99: plan.DefaultLagP99, Late: plan.DefaultLate}
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
	return g
}

// percent prints a share as a percentage with enough digits for the small
// limits validity uses (0.1%, 0.05%).
func percent(f float64) string {
	return strconv.FormatFloat(f*100, 'f', -1, 64) + "%"
}

// peakRSS reads the process's peak resident set size from /proc (Linux);
// it returns 0 elsewhere.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return kb * 1024
				}
			}
		}
	}
	return 0
}
