package check

import "github.com/runplan/runplan/engine/driver"

// testKinds stand for the registered drivers: plan loading is only told
// which step kinds exist, as engine.Check tells it from the registry.
var testKinds = []string{"redis", "webhook"}

// testMetrics stand for the step metrics drivers declare: a cache's
// counters and ratio, a client's wait. Slots: hits 0, misses 1,
// lookup_errors 2, rate_limit_wait 3.
var testMetrics = []driver.StepMetric{
	{Name: "hits", Kind: driver.Counter},
	{Name: "misses", Kind: driver.Counter},
	{Name: "lookup_errors", Kind: driver.Counter},
	{Name: "hit_ratio", Kind: driver.Ratio, Numerator: "hits", Denominator: []string{"hits", "misses", "lookup_errors"}},
	{Name: "rate_limit_wait", Kind: driver.Duration},
}

// testNames are the names of a plan whose drivers declare testMetrics.
func testNames() Names {
	var n Names
	n.AddStepMetrics(testMetrics)
	return n
}
