package engine

import (
	"time"

	"github.com/runplan/runplan/engine/plan"
)

// plannedRunLength returns how long a run of p is planned to last: the
// latest end of a scenario (its start plus its duration) plus the graceful
// stop its iterations in flight may take (the scenario's own, else
// graceful, else DefaultGracefulStop). It is zero when unknown: a scenario
// bounded by an iteration count only may run for any time. Drivers size
// the expiry of what they leave on servers from it (driver.TargetSpec).
func plannedRunLength(p *plan.Plan, graceful time.Duration) time.Duration {
	if graceful <= 0 {
		graceful = DefaultGracefulStop
	}
	var length time.Duration
	for _, s := range p.Scenarios {
		if s.Load.Duration <= 0 {
			return 0
		}
		stop := graceful
		if s.Load.GracefulStop > 0 {
			stop = s.Load.GracefulStop
		}
		length = max(length, s.Start+s.Load.Duration+stop)
	}
	return length
}
