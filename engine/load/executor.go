package load

import (
	"context"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/runplan/runplan/engine/metrics"
)

// IterFunc runs one iteration for virtual user vu (1-based) as iteration
// number n of the scenario. scheduled is when the open model wanted it to
// start (zero in the closed model). It returns false when the iteration was
// interrupted by ctx before it completed.
type IterFunc func(ctx context.Context, vu int, n int64, scheduled time.Time) bool

// Result is what an executor counted.
type Result struct {
	Started     time.Time
	Elapsed     time.Duration
	Iterations  int64 // started, warmup included
	Interrupted int64 // cut short at the end (graceful stop) or by a kill
	// Open model only, over the hits due in the measured window (at or
	// after Open.Warmup):
	Scheduled int64 // hits the pacer made due
	Dropped   int64 // due while every VU was busy (the target's saturation)
	// Late counts the hits the generator handled after the late tolerance
	// (its own lag): sent late or, under the skip policy, Skipped.
	Late    int64
	Skipped int64
	// Lag is the scheduling lag of every measured due hit: dispatch time
	// minus due time (nanoseconds). Nil in the closed model.
	Lag *hdrhistogram.Histogram
	// LastDue is when the last measured hit was due, from Started, and
	// LastLag how late the generator handled it (dispatched, dropped or
	// skipped): the achieved schedule's end is LastDue + LastLag.
	LastDue, LastLag time.Duration
	// MaxVUs is the most VUs that existed.
	MaxVUs int
}

// DefaultLateTolerance is how far behind its due time a hit may be
// dispatched before it counts as late: sent late, or skipped (Open.Late).
const DefaultLateTolerance = 10 * time.Millisecond

// LatePolicy says what the open model does with a hit it could not
// dispatch within its late tolerance (docs/LOAD.md).
type LatePolicy int

const (
	// LateAuto, the zero value, sends a late hit unless the next one is
	// due already: a lone late hit (a low rate, a short hiccup) is sent,
	// while a generator behind by more than one hit's gap skips all but
	// the latest overdue hit instead of catching up in a burst. Hits due
	// at the same instant (a burst pacer's) are all sent.
	LateAuto LatePolicy = iota
	// LateSend sends every late hit, catching up as fast as it can.
	LateSend
	// LateSkip skips every late hit.
	LateSkip
)

// sends reports whether the late hit due at due, the pacer's hit number
// next-1, is sent at elapsed (from the executor's start).
func (p LatePolicy) sends(pacer Pacer, due time.Duration, next uint64, elapsed time.Duration) bool {
	switch p {
	case LateSend:
		return true
	case LateSkip:
		return false
	}
	nextDue := pacer.Due(next)
	return nextDue <= due || nextDue > elapsed
}

// spinWindow is how long before a hit's due time the open model stops
// sleeping and yields the processor until the hit is due — when it has
// processors to spare (spinProcs).
const spinWindow = 200 * time.Microsecond

// spinProcs is the fewest processors (GOMAXPROCS) with which the open
// model spins before a hit is due. Yielding in a loop keeps one processor
// busy: with fewer, that processor is taken from the iterations and from a
// server on the same machine, and the latencies measured grow far more
// than the timer's lateness the spin saves (docs/BENCHMARKS.md: at 5,000
// GETs/s on 2 CPUs, response p99 12.5 ms spinning, 1.4 ms on timers).
const spinProcs = 4

// pacingSpin is the spin window for procs processors: spinWindow with
// spinProcs or more, none with fewer. It is a pure function.
func pacingSpin(procs int) time.Duration {
	if procs >= spinProcs {
		return spinWindow
	}
	return 0
}

// maxSpins bounds the yielding, after which the open model sleeps again.
const maxSpins = 20000

// stallCheck is how many yields may pass before a clock that has not moved
// at all is taken for a stopped one.
const stallCheck = 64

// spinUntil yields (yield) until elapsed reaches due and reports whether it
// did. It gives up, returning false, after maxSpins yields, or as soon as
// stallCheck yields in a row left the clock where it was: a real monotonic
// clock moves across a few yields, while testing/synctest's stands still
// until every goroutine sleeps — spinning on it would only burn the CPU
// that the rest of the tests (and a loaded machine) need.
func spinUntil(due time.Duration, elapsed func() time.Duration, yield func()) bool {
	last := elapsed()
	for spins := 1; last < due; spins++ {
		if spins > maxSpins {
			return false
		}
		yield()
		now := elapsed()
		if spins%stallCheck == 0 {
			if now == last {
				return false
			}
			last = now
		} else if now >= due {
			return true
		}
	}
	return true
}

// Stop controls the end of a run.
type Stop struct {
	// GracefulStop bounds how long iterations in flight at the end may
	// finish before they are cancelled.
	GracefulStop time.Duration
	// Kill, when done, cancels iterations in flight at once (a second
	// Ctrl-C). Nil never fires.
	Kill context.Context
	// OnStart, when set, is called once with the executor's start, before
	// the first iteration: the open model's due times count from it.
	OnStart func(start time.Time)
}

// Closed is the closed model: VUs loop over iterations.
//
//   - {VUs, Duration}: VUs loop until Duration has passed;
//   - Iterations > 0: the VUs share that many iterations;
//   - PerVUIterations > 0: each VU runs that many;
//   - Stages: the number of active VUs ramps from VUs through the stages;
//     VUs above the target finish their iteration and wait.
//
// VUs, Iterations and Stages describe the whole load; Segment, when set,
// runs only its part (Segment.Share): its share of the VUs (at every
// moment of a ramp) and of the shared iterations, each of its VUs running
// PerVUIterations. A segment with no VU runs nothing.
type Closed struct {
	VUs             int
	Iterations      int64
	PerVUIterations int64
	Duration        time.Duration
	Stages          []Stage
	Segment         Segment
	Stop
}

// Open is the open model: Pacer says when iterations start; at most MaxVUs
// run at once (all allocated before the clock starts), and an iteration due
// while all are busy is dropped, never queued, so a slow target cannot slow
// the schedule (no coordinated omission). A hit the generator itself could
// not dispatch within LateTolerance of its due time is late, and Late says
// whether it is still sent (its response time runs from its due time, so the
// lateness shows) or skipped, so that the schedule does not catch up in a
// burst.
type Open struct {
	Pacer         Pacer
	MaxVUs        int
	LateTolerance time.Duration
	Late          LatePolicy
	// Warmup: hits due before it run but are not counted in the Result.
	Warmup time.Duration
	// BeforeDispatch, when set, is called by the dispatcher with each hit's
	// number once the hit is due, before its lag is taken. It is a test
	// seam: a hook that sleeps makes the generator late on purpose. Nil in
	// production.
	BeforeDispatch func(hit uint64)
	// Live, when set, is kept current with the measured hits as they are
	// dispatched, for live displays and exports; the Result is the
	// authority at the end.
	Live *Live
	Stop
}

// Live is an open-model executor's count of measured due hits so far, and
// the lag of the latest: written by the dispatcher, safe to read from any
// goroutine while it runs.
type Live struct {
	Scheduled, Late, Dropped atomic.Int64
	// LastLag is the scheduling lag of the latest measured hit, in ns.
	LastLag atomic.Int64
}

// stopper gives the two contexts of an executor: stop ends the starting of
// new iterations (the caller's ctx, or a deadline d); hard cancels those in
// flight GracefulStop after stop, or at once when Kill fires.
func (s Stop) stopper(ctx context.Context, d time.Duration) (stop, hard context.Context, graceNow func(), cancel func()) {
	var cancelStop context.CancelFunc
	if d > 0 {
		stop, cancelStop = context.WithTimeout(ctx, d)
	} else {
		stop, cancelStop = context.WithCancel(ctx)
	}
	hard, cancelHard := context.WithCancel(context.Background())
	done := make(chan struct{})
	kill := s.Kill
	if kill == nil {
		kill = context.Background()
	}
	startGrace := make(chan struct{})
	var graceOnce sync.Once
	graceNow = func() { graceOnce.Do(func() { close(startGrace) }) }
	go func() {
		select {
		case <-stop.Done():
		case <-startGrace:
		case <-kill.Done():
			cancelHard()
			return
		case <-done:
			return
		}
		t := time.NewTimer(s.GracefulStop)
		defer t.Stop()
		select {
		case <-t.C:
			cancelHard()
		case <-kill.Done():
			cancelHard()
		case <-done:
		}
	}()
	var once sync.Once
	return stop, hard, graceNow, func() { once.Do(func() { close(done); cancelStop(); cancelHard() }) }
}

// Run runs the closed model.
func (c Closed) Run(ctx context.Context, fn IterFunc) Result {
	res := Result{}
	stop, hard, _, cancel := c.stopper(ctx, c.Duration)
	defer cancel()
	nvus := max(c.VUs, 1)
	if len(c.Stages) > 0 {
		nvus = max(int(math.Ceil(maxTarget(float64(c.VUs), c.Stages))), 1)
	}
	nvus = int(c.Segment.Share(int64(nvus)))
	// bounded by the shared iterations: the segment's share of them (a
	// share of 0 runs none).
	bounded, iterations := c.Iterations > 0, c.Segment.Share(c.Iterations)
	res.MaxVUs = nvus
	var next, started, interrupted atomic.Int64
	var wg sync.WaitGroup
	res.Started = time.Now()
	if c.OnStart != nil {
		c.OnStart(res.Started)
	}
	for vu := 1; vu <= nvus; vu++ {
		wg.Go(func() {
			var mine int64
			for stop.Err() == nil {
				el := time.Since(res.Started)
				if c.Duration > 0 && el >= c.Duration {
					return
				}
				if len(c.Stages) > 0 {
					active, done := VUsAt(float64(c.VUs), c.Stages, el)
					if done {
						return
					}
					active = int(c.Segment.Share(int64(active)))
					if vu > active {
						// Not wanted now: wait a little, then look again.
						t := time.NewTimer(10 * time.Millisecond)
						select {
						case <-t.C:
						case <-stop.Done():
							t.Stop()
						}
						continue
					}
				}
				if c.PerVUIterations > 0 && mine >= c.PerVUIterations {
					return
				}
				n := next.Add(1) - 1
				if bounded && n >= iterations {
					return
				}
				mine++
				started.Add(1)
				if !fn(hard, vu, n, time.Time{}) {
					interrupted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(res.Started)
	res.Iterations = started.Load()
	res.Interrupted = interrupted.Load()
	return res
}

func maxTarget(start float64, stages []Stage) float64 {
	m := start
	for _, s := range stages {
		m = max(m, s.Target)
	}
	return m
}

type job struct {
	n         int64
	scheduled time.Time
}

// Run runs the open model.
func (o Open) Run(ctx context.Context, fn IterFunc) Result {
	res := Result{Lag: metrics.NewHistogram()}
	stop, hard, graceNow, cancel := o.stopper(ctx, 0)
	defer cancel()
	tolerance := o.LateTolerance
	if tolerance <= 0 {
		tolerance = DefaultLateTolerance
	}
	// Every VU has its own mailbox; free holds the VUs waiting for work, so
	// the dispatcher knows without blocking whether one is free. All VUs
	// exist before the clock starts.
	n := max(o.MaxVUs, 1)
	res.MaxVUs = n
	free := make(chan int, n)
	mail := make([]chan job, n+1)
	var interrupted atomic.Int64
	var wg sync.WaitGroup
	for vu := 1; vu <= n; vu++ {
		mail[vu] = make(chan job, 1)
		free <- vu
		wg.Go(func() {
			for j := range mail[vu] {
				if !fn(hard, vu, j.n, j.scheduled) {
					interrupted.Add(1)
				}
				free <- vu
			}
		})
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	spin := pacingSpin(runtime.GOMAXPROCS(0))
	var hits uint64
	var dispatched int64
	res.Started = time.Now()
	if o.OnStart != nil {
		o.OnStart(res.Started)
	}
loop:
	for stop.Err() == nil {
		wait, done := o.Pacer.Pace(time.Since(res.Started), hits)
		if done {
			break
		}
		due := o.Pacer.Due(hits)
		if wait > 0 {
			// Sleep until just before the hit is due, then yield until it
			// is: timer wake-ups alone are late by up to a millisecond.
			// Without processors to spare, sleep until it is due.
			if wait > spin {
				timer.Reset(wait - spin)
				select {
				case <-timer.C:
				case <-stop.Done():
					timer.Stop()
					break loop
				}
			}
			if !spinUntil(due, func() time.Duration { return time.Since(res.Started) }, runtime.Gosched) {
				// Still not due (a fake clock, or a starved process):
				// sleep for the rest.
				if rest := due - time.Since(res.Started); rest > 0 {
					timer.Reset(rest)
					select {
					case <-timer.C:
					case <-stop.Done():
						timer.Stop()
						break loop
					}
				}
			}
		}
		if o.BeforeDispatch != nil {
			o.BeforeDispatch(hits)
		}
		scheduled := res.Started.Add(due)
		lag := time.Since(scheduled)
		measured := due >= o.Warmup
		hits++
		if measured {
			_ = res.Lag.RecordValue(max(int64(lag), 1))
			res.Scheduled++
			res.LastDue, res.LastLag = due, lag
			if o.Live != nil {
				o.Live.Scheduled.Add(1)
				o.Live.LastLag.Store(int64(lag))
			}
		}
		late := lag > tolerance
		if late && measured {
			res.Late++
			if o.Live != nil {
				o.Live.Late.Add(1)
			}
		}
		if late && !o.Late.sends(o.Pacer, due, hits, time.Since(res.Started)) {
			if measured {
				res.Skipped++
			}
			continue
		}
		select {
		case vu := <-free:
			dispatched++
			mail[vu] <- job{n: int64(hits - 1), scheduled: scheduled}
		default:
			if measured {
				res.Dropped++
				if o.Live != nil {
					o.Live.Dropped.Add(1)
				}
			}
		}
	}
	// The pacer's end is the scenario's end: in-flight iterations get their
	// graceful stop from now on.
	graceNow()
	for vu := 1; vu <= n; vu++ {
		close(mail[vu])
	}
	wg.Wait()
	res.Elapsed = time.Since(res.Started)
	res.Iterations = dispatched
	res.Interrupted = interrupted.Load()
	return res
}
