package redis

import (
	"math"
	"slices"
	"testing"

	"github.com/runplan/runplan/engine/driver"
)

func TestAdvice(t *testing.T) {
	t.Parallel()
	steps := func(hits, misses int64) driver.ScenarioFigures {
		// The ratio is over every Redis step of the scenario.
		return driver.ScenarioFigures{Scenario: "sc", Steps: []driver.StepFigures{
			{Name: "a", Calls: hits, Counters: map[string]int64{"hits": hits}},
			{Name: "b", Calls: misses + 7, Counters: map[string]int64{"misses": misses, "lookup_errors": 7}}}}
	}
	for _, tt := range []struct {
		name string
		got  []string
		want []string
	}{
		{"low hit ratio", Driver{}.AdviseScenario(steps(100, 100)), []string{"sc: cache hit ratio 50.0% (100 hits of 200 lookups): keys expire or are evicted before they are reused; lengthen TTLs, pre-warm hot keys or give the cache more memory."}},
		{"healthy hit ratio", Driver{}.AdviseScenario(steps(160, 40)), nil},
		{"too few lookups", Driver{}.AdviseScenario(steps(10, 89)), nil},
		{"evictions", Driver{}.AdviseTarget(driver.TargetFigures{Target: "cache", Order: []string{"used_memory", "evicted_keys", "evicted_clients"},
			Server: map[string]float64{"used_memory": 1e6, "evicted_keys": 42, "evicted_clients": math.NaN()}}),
			[]string{"cache: the server evicted 42 keys during the run (evicted_keys): it reached maxmemory; raise maxmemory, shorten TTLs or store less."}},
		{"no evictions", Driver{}.AdviseTarget(driver.TargetFigures{Target: "cache", Order: []string{"evicted_keys"}, Server: map[string]float64{"evicted_keys": 0}}), nil},
		{"errors", Driver{}.AdviseErrors(driver.ErrorFigures{Scenario: "sc", Step: "a", Class: "timeout", Errors: 1, Calls: 2}), nil},
	} {
		if !slices.Equal(tt.got, tt.want) {
			t.Errorf("%s: advice %q\nwant %q", tt.name, tt.got, tt.want)
		}
	}
}
