package load

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
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
	Iterations  int64
	Dropped     int64 // open model: due iterations that found no free VU
	Interrupted int64 // iterations cut short at the end
}

// Closed is the closed model: VUs loop over iterations until Duration has
// passed or, when Iterations > 0, until that many iterations (shared by all
// VUs) have started.
type Closed struct {
	VUs          int
	Iterations   int64
	Duration     time.Duration
	GracefulStop time.Duration
}

// Open is the open model: Pacer says when iterations start; at most MaxVUs
// run at once, and an iteration due while all are busy is dropped, never
// queued, so a slow target cannot slow the schedule (no coordinated
// omission).
type Open struct {
	Pacer        Pacer
	MaxVUs       int
	GracefulStop time.Duration
}

// stopper gives the two contexts of an executor: stop ends the starting of
// new iterations; hard cancels those in flight GracefulStop later.
func stopper(ctx context.Context, d, grace time.Duration) (stop, hard context.Context, cancel func()) {
	var cancelStop context.CancelFunc
	if d > 0 {
		stop, cancelStop = context.WithTimeout(ctx, d)
	} else {
		stop, cancelStop = context.WithCancel(ctx)
	}
	hard, cancelHard := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		select {
		case <-stop.Done():
		case <-done:
			return
		}
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C:
			cancelHard()
		case <-done:
		}
	}()
	var once sync.Once
	return stop, hard, func() { once.Do(func() { close(done); cancelStop(); cancelHard() }) }
}

// Run runs the closed model.
func (c Closed) Run(ctx context.Context, fn IterFunc) Result {
	res := Result{Started: time.Now()}
	stop, hard, cancel := stopper(ctx, c.Duration, c.GracefulStop)
	defer cancel()
	var next, started, interrupted atomic.Int64
	var wg sync.WaitGroup
	for vu := 1; vu <= max(c.VUs, 1); vu++ {
		wg.Go(func() {
			for stop.Err() == nil {
				if c.Duration > 0 && time.Since(res.Started) >= c.Duration {
					return
				}
				n := next.Add(1) - 1
				if c.Iterations > 0 && n >= c.Iterations {
					return
				}
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

type job struct {
	n         int64
	scheduled time.Time
}

// Run runs the open model.
func (o Open) Run(ctx context.Context, fn IterFunc) Result {
	res := Result{Started: time.Now()}
	stop, hard, cancel := stopper(ctx, 0, o.GracefulStop)
	defer cancel()
	// Every VU has its own mailbox; free holds the VUs waiting for work, so
	// the dispatcher knows without blocking whether one is free.
	n := max(o.MaxVUs, 1)
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
	var hits uint64
loop:
	for stop.Err() == nil {
		wait, done := o.Pacer.Pace(time.Since(res.Started), hits)
		if done {
			break
		}
		if wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-stop.Done():
				timer.Stop()
				break loop
			}
		}
		scheduled := res.Started.Add(o.Pacer.Due(hits))
		select {
		case vu := <-free:
			mail[vu] <- job{n: int64(hits), scheduled: scheduled}
		default:
			res.Dropped++
		}
		hits++
	}
	// The pacer's end is the scenario's end: stop, then give in-flight
	// iterations their graceful stop.
	for vu := 1; vu <= n; vu++ {
		close(mail[vu])
	}
	stopDone := make(chan struct{})
	go func() { wg.Wait(); close(stopDone) }()
	select {
	case <-stopDone:
	default:
		// Start the graceful-stop clock now.
		graceCtx, c2 := context.WithTimeout(context.Background(), o.GracefulStop)
		select {
		case <-stopDone:
		case <-graceCtx.Done():
			cancel()
			<-stopDone
		}
		c2()
	}
	res.Elapsed = time.Since(res.Started)
	res.Iterations = int64(hits) - res.Dropped
	res.Interrupted = interrupted.Load()
	return res
}
