package redis

import (
	"testing"

	"github.com/runplan/runplan/engine/driver"
)

// cacheResult is what an outcome's counters say of a cache lookup.
type cacheResult int

const (
	cacheNone cacheResult = iota
	cacheHit
	cacheMiss
	cacheError
)

func (c cacheResult) String() string {
	return [...]string{"none", "hit", "miss", "lookup error"}[c]
}

// cacheOf reads an outcome's cache lookup from its counters, by the
// driver's declaration.
func cacheOf(o driver.Outcome) cacheResult {
	at := func(name string) int64 { return o.Counters[driver.Slot(stepMetrics, name)] }
	switch {
	case at("hits") == 1:
		return cacheHit
	case at("misses") == 1:
		return cacheMiss
	case at("lookup_errors") == 1:
		return cacheError
	}
	return cacheNone
}

// TestStepMetricsDeclaration: the declaration is valid, its slots are the
// ones the outcomes fill, and every outcome counts exactly one lookup.
func TestStepMetricsDeclaration(t *testing.T) {
	t.Parallel()
	if err := driver.CheckStepMetrics(Driver{}.StepMetrics()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		c    driver.Counters
		want cacheResult
	}{
		{"hits", outHit, cacheHit},
		{"misses", outMiss, cacheMiss},
		{"lookup_errors", outLookupError, cacheError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := cacheOf(driver.Outcome{Counters: tt.c}); got != tt.want {
				t.Errorf("counters %v read as %v, want %v", tt.c, got, tt.want)
			}
			var sum int64
			for _, v := range tt.c {
				sum += v
			}
			if sum != 1 || tt.c[driver.Slot(stepMetrics, tt.name)] != 1 {
				t.Errorf("counters %v: want one lookup in %s's slot", tt.c, tt.name)
			}
		})
	}
}
