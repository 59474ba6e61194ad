package engine

import (
	"context"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/metrics"
)

// startSampling starts a metrics.Sampler on every open target that offers
// server statistics, with the figures its driver derives from them.
func (prog *Program) startSampling(ctx context.Context, targets []openTarget) *metrics.Sampler {
	var sts []metrics.SampledTarget
	for _, t := range targets {
		st, ok := t.target.(driver.ServerStatser)
		if !ok {
			continue
		}
		read := func(ctx context.Context) (map[string]float64, string, error) {
			stats, err := st.ServerStats(ctx)
			return stats, "", err
		}
		if is, ok := st.(driver.IdentifiedServerStatser); ok {
			read = is.IdentifiedServerStats
		}
		sts = append(sts, metrics.SampledTarget{Name: t.name, Read: read, Figures: t.figures})
	}
	return metrics.StartSampler(ctx, sts, prog.opts.ServerInterval)
}

// stopSampling takes the final samples and derives every target's server
// figures, server changes timed from the run's start.
func (rs *runState) stopSampling(s *metrics.Sampler) []*metrics.TargetSummary {
	rs.mu.Lock()
	runStart := rs.runStart
	rs.mu.Unlock()
	return s.Stop(runStart)
}
