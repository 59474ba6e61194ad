package engine

import (
	"context"
	"math"
	"time"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/report"
)

// clockProbes is how many times measureClock asks the server for its
// time; the answer with the shortest round trip is kept.
const clockProbes = 5

// measureClock measures this process's clock against the clock of the
// first target the run's segments share whose driver can tell the server's
// time (driver.Clocker): the same reference for every segment, so that
// runplan merge can tell how far apart the segments' clocks were, and so
// how far from common their --start-at was (docs/SCALE.md). It returns nil
// for a whole run, or when no shared target tells its time. It runs
// before the common start, on the goroutine running Run.
func (prog *Program) measureClock(ctx context.Context, targets []openTarget) *report.Clock {
	if prog.opts.Segment.Whole() {
		return nil
	}
	for _, t := range targets {
		c, ok := t.target.(driver.Clocker)
		if !ok || !sharedTarget(t.preparedTarget) {
			continue
		}
		best := time.Duration(math.MaxInt64)
		var offset time.Duration
		for range clockProbes {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			before := time.Now()
			server, err := c.ServerTime(cctx)
			after := time.Now()
			cancel()
			if err != nil {
				prog.opts.Log.Warn().Str("target", t.name).Err(err).Msg("could not read the server's clock")
				break
			}
			if rtt := after.Sub(before); rtt < best {
				best = rtt
				// The server read its clock somewhere in the round trip:
				// at its middle, give or take half of it.
				offset = server.Sub(before.Add(rtt / 2))
			}
		}
		if best == time.Duration(math.MaxInt64) {
			continue
		}
		return &report.Clock{Target: t.name, OffsetMS: ms(offset), UncertaintyMS: ms(best / 2)}
	}
	return nil
}

// sharedTarget says whether the segments of a run share t (driver.Sharer;
// without it, whether t has a URL).
func sharedTarget(t *preparedTarget) bool {
	if s, ok := t.config.(driver.Sharer); ok {
		return s.Shared()
	}
	return t.url != ""
}

// ms is d in milliseconds, to the microsecond (never -0).
func ms(d time.Duration) float64 {
	v := math.Round(float64(d)/1e3) / 1e3
	if v == 0 {
		return 0
	}
	return v
}
