package webhook

import (
	"time"

	"github.com/runplan/runplan/engine/driver"
)

// slotRateWait is rate_limit_wait's slot in driver.Outcome.Counters.
const slotRateWait = 0

// stepMetrics are the figures of deliveries. rate_limit_wait is part of a
// delivery's measured time (docs/WEBHOOKS.md) but not of the service's.
var stepMetrics = []driver.StepMetric{
	{Name: "rate_limit_wait", Kind: driver.Duration, Help: "time deliveries spent waiting on rate limits before sending, all deliveries together"},
}

// StepMetrics declares the figures of the driver's steps (rate_limit_wait).
// Safe for concurrent use.
func (Driver) StepMetrics() []driver.StepMetric { return stepMetrics }

// waitedCounters are an outcome's counters for a delivery that waited w.
func waitedCounters(w time.Duration) (c driver.Counters) {
	c[slotRateWait] = int64(w)
	return c
}
