package redis

import (
	"fmt"
	"math"
	"strings"

	"github.com/runplan/runplan/engine/driver"
)

// Thresholds of the cache advice, documented in docs/SCORING.md.
const (
	adviseHitRatio   = 0.80 // below it, with at least adviseMinLookups lookups
	adviseMinLookups = 100
)

var _ driver.Advisor = Driver{}

// AdviseScenario advises on a scenario's cache hit ratio: its hits over its
// hits and misses, over every Redis step of the scenario.
func (Driver) AdviseScenario(s driver.ScenarioFigures) []string {
	var hits, misses int64
	for _, st := range s.Steps {
		hits += st.Counters[stepMetrics[slotHits].Name]
		misses += st.Counters[stepMetrics[slotMisses].Name]
	}
	n := hits + misses
	if n < adviseMinLookups {
		return nil
	}
	r := float64(hits) / float64(n)
	if r >= adviseHitRatio {
		return nil
	}
	return []string{fmt.Sprintf("%s: cache hit ratio %.1f%% (%d hits of %d lookups): keys expire or are evicted before they are reused; lengthen TTLs, pre-warm hot keys or give the cache more memory.",
		s.Scenario, r*100, hits, n)}
}

// AdviseErrors has nothing to add to the engine's advice on error classes.
func (Driver) AdviseErrors(driver.ErrorFigures) []string { return nil }

// AdviseTarget advises on keys the server evicted during the run (the
// evicted_* server figures).
func (Driver) AdviseTarget(t driver.TargetFigures) []string {
	var out []string
	for _, name := range t.Order {
		v := t.Server[name]
		if strings.Contains(name, "evicted") && !math.IsNaN(v) && v > 0 {
			out = append(out, fmt.Sprintf("%s: the server evicted %.0f keys during the run (%s): it reached maxmemory; raise maxmemory, shorten TTLs or store less.", t.Target, v, name))
		}
	}
	return out
}
