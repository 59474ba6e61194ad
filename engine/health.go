package engine

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/runplan/runplan/engine/metrics"
)

// Validity thresholds of a measurement, documented in docs/LOAD.md: past
// them the generator did not hold the requested load, and the figures
// describe the generator as much as the target.
const (
	// MaxLateShare is the largest share of due open-model iterations the
	// generator may handle late (sent late or skipped); MinLate late iterations are
	// always tolerated, so that one hiccup in a short run is not a verdict.
	MaxLateShare = 0.001
	MinLate      = 5
	// MaxLagP99 is the largest p99 scheduling lag of the open model,
	// judged once at least MinLagSamples iterations were due.
	MaxLagP99     = 10 * time.Millisecond
	MinLagSamples = 100
)

// generatorHealth judges whether the generator held the requested load.
func generatorHealth(scenarios []*metrics.ScenarioSummary, cpu, wall time.Duration) metrics.Generator {
	g := metrics.Generator{Valid: true}
	for _, s := range scenarios {
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
	if wall > 0 {
		g.CPU = cpu.Seconds() / wall.Seconds() / float64(runtime.GOMAXPROCS(0))
	}
	g.PeakRSS = peakRSS()
	if g.Scheduled > 0 {
		if share := float64(g.Late) / float64(g.Scheduled); share > MaxLateShare && g.Late > MinLate {
			g.Valid = false
			g.Reasons = append(g.Reasons, fmt.Sprintf("the generator was late for %d of %d due iterations (%.2f%%; limit %.1f%%)",
				g.Late, g.Scheduled, share*100, MaxLateShare*100))
		}
		if p99 := time.Duration(g.Lag.ValueAtQuantile(99)); p99 > MaxLagP99 && g.Scheduled >= MinLagSamples {
			g.Valid = false
			g.Reasons = append(g.Reasons, fmt.Sprintf("scheduling lag p99 %v is above %v", p99.Round(time.Microsecond), MaxLagP99))
		}
	}
	return g
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
