package webhook

import (
	"testing"
	"time"

	"github.com/runplan/runplan/engine/driver"
)

// waitedOf reads an outcome's rate_limit_wait, by the driver's
// declaration.
func waitedOf(o driver.Outcome) time.Duration {
	return time.Duration(o.Counters[driver.Slot(stepMetrics, "rate_limit_wait")])
}

// TestStepMetricsDeclaration: the declaration is valid and waitedCounters
// fills rate_limit_wait's slot, and only it.
func TestStepMetricsDeclaration(t *testing.T) {
	t.Parallel()
	if err := driver.CheckStepMetrics(Driver{}.StepMetrics()); err != nil {
		t.Fatal(err)
	}
	for _, w := range []time.Duration{0, time.Nanosecond, 3 * time.Second} {
		c := waitedCounters(w)
		if got := waitedOf(driver.Outcome{Counters: c}); got != w {
			t.Errorf("waitedCounters(%s) reads %s", w, got)
		}
		var sum int64
		for _, v := range c {
			sum += v
		}
		if sum != int64(w) {
			t.Errorf("waitedCounters(%s) = %v: other slots filled", w, c)
		}
	}
}
