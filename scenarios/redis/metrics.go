package redis

import "github.com/runplan/runplan/engine/driver"

// Slots of the step metrics in driver.Outcome.Counters: counters take one
// each, in the order stepMetrics declares them (hit_ratio, a ratio, none).
const (
	slotHits = iota
	slotMisses
	slotLookupErrors
)

// stepMetrics are the figures of cache_get steps. A lookup that failed (a
// timeout, a refused connection, an error reply) before it could tell hit
// from miss counts as a lookup in hit_ratio, neither hit nor miss: it
// served nothing from the cache, so it lowers the ratio rather than
// vanishing from it (docs/METRICS.md).
var stepMetrics = []driver.StepMetric{
	{Name: "hits", Kind: driver.Counter, Help: "cache lookups (cache_get) that found the key"},
	{Name: "misses", Kind: driver.Counter, Help: "cache lookups (cache_get) that did not find the key"},
	{Name: "lookup_errors", Kind: driver.Counter, Help: "cache lookups that failed (timeout, connection, error reply); hit_ratio counts them as lookups"},
	{Name: "hit_ratio", Kind: driver.Ratio, Help: "hits / (hits + misses + lookup_errors)",
		Numerator: "hits", Denominator: []string{"hits", "misses", "lookup_errors"}},
}

// StepMetrics declares the figures of the driver's steps (hits, misses,
// lookup_errors, hit_ratio). Safe for concurrent use.
func (Driver) StepMetrics() []driver.StepMetric { return stepMetrics }

// Outcomes of cache lookups, built once: returning one allocates nothing.
var (
	outHit, outMiss, outLookupError driver.Counters
)

func init() {
	outHit[slotHits] = 1
	outMiss[slotMisses] = 1
	outLookupError[slotLookupErrors] = 1
}
