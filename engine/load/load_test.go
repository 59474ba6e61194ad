package load

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestConstantPacer(t *testing.T) {
	t.Parallel()
	p := ConstantPacer{Rate: 4, Duration: time.Second}
	tests := []struct {
		name    string
		elapsed time.Duration
		hits    uint64
		wait    time.Duration
		stop    bool
	}{
		{"first hit is due at once", 0, 0, 0, false},
		{"second hit waits a quarter second", 0, 1, 250 * time.Millisecond, false},
		{"part of the wait has passed", 100 * time.Millisecond, 1, 150 * time.Millisecond, false},
		{"a late hit is due now, no negative wait", 900 * time.Millisecond, 1, 0, false},
		{"last hit inside the window", 0, 3, 750 * time.Millisecond, false},
		{"a hit due at the window's end is not sent", 0, 4, 0, true},
		{"zero rate stops", 0, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pp := p
			if tt.name == "zero rate stops" {
				pp.Rate = 0
			}
			wait, stop := pp.Pace(tt.elapsed, tt.hits)
			if wait != tt.wait || stop != tt.stop {
				t.Fatalf("Pace(%v, %d) = %v, %v; want %v, %v", tt.elapsed, tt.hits, wait, stop, tt.wait, tt.stop)
			}
		})
	}
}

func TestClosedDurationAndIterations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		cfg        Closed
		iterTime   time.Duration
		wantIters  int64
		wantElapse time.Duration
	}{
		// 2 VUs, 100ms per iteration, 1s: 10 iterations each.
		// 3 VUs with 4 iterations each.
		{"per-VU iterations", Closed{VUs: 3, PerVUIterations: 4, Stop: Stop{GracefulStop: time.Second}}, 100 * time.Millisecond, 12, 400 * time.Millisecond},
		{"duration", Closed{VUs: 2, Duration: time.Second, Stop: Stop{GracefulStop: time.Second}}, 100 * time.Millisecond, 20, time.Second},
		// Shared iterations stop early: 5 iterations over 2 VUs take 3 rounds.
		{"iterations", Closed{VUs: 2, Iterations: 5, Stop: Stop{GracefulStop: time.Second}}, 100 * time.Millisecond, 5, 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				var ran atomic.Int64
				res := tt.cfg.Run(context.Background(), func(ctx context.Context, vu int, n int64, _ time.Time) bool {
					time.Sleep(tt.iterTime)
					ran.Add(1)
					return true
				})
				if res.Iterations != tt.wantIters || ran.Load() != tt.wantIters {
					t.Fatalf("iterations: result %d, ran %d; want %d", res.Iterations, ran.Load(), tt.wantIters)
				}
				if res.Elapsed != tt.wantElapse {
					t.Fatalf("elapsed %v, want %v", res.Elapsed, tt.wantElapse)
				}
			})
		})
	}
}

func TestClosedGracefulStopInterrupts(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		res := Closed{VUs: 1, Duration: time.Second, Stop: Stop{GracefulStop: 500 * time.Millisecond}}.Run(context.Background(),
			func(ctx context.Context, vu int, n int64, _ time.Time) bool {
				select {
				case <-time.After(10 * time.Second):
					return true
				case <-ctx.Done():
					return false
				}
			})
		if res.Interrupted != 1 || res.Iterations != 1 {
			t.Fatalf("got %+v; want one interrupted iteration", res)
		}
		if res.Elapsed != 1500*time.Millisecond {
			t.Fatalf("elapsed %v; want duration + graceful stop", res.Elapsed)
		}
	})
}

func TestOpenKeepsScheduleAndDrops(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var late atomic.Int64
		// 10/s for 1s with one VU whose iterations take 250ms: the schedule
		// does not slow down; due iterations that find the VU busy are
		// dropped, and those that run start exactly on schedule.
		res := Open{Pacer: ConstantPacer{Rate: 10, Duration: time.Second}, MaxVUs: 1, Stop: Stop{GracefulStop: time.Second}}.Run(context.Background(),
			func(ctx context.Context, vu int, n int64, scheduled time.Time) bool {
				if want := start.Add(time.Duration(n) * 100 * time.Millisecond); !scheduled.Equal(want) {
					t.Errorf("iteration %d scheduled at %v, want %v", n, scheduled.Sub(start), want.Sub(start))
				}
				if time.Since(scheduled) > 0 {
					late.Add(1)
				}
				time.Sleep(250 * time.Millisecond)
				return true
			})
		// Iterations at 0, 300, 600, 900ms run; 6 are dropped.
		if res.Iterations != 4 || res.Dropped != 6 {
			t.Fatalf("got %d iterations, %d dropped; want 4 and 6", res.Iterations, res.Dropped)
		}
		if late.Load() != 0 {
			t.Fatalf("%d iterations started late", late.Load())
		}
	})
}

func TestOpenStopsOnCancel(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(350*time.Millisecond, cancel)
		res := Open{Pacer: ConstantPacer{Rate: 10, Duration: 10 * time.Second}, MaxVUs: 5, Stop: Stop{GracefulStop: time.Second}}.Run(ctx,
			func(ctx context.Context, vu int, n int64, scheduled time.Time) bool { return true })
		if res.Iterations != 4 {
			t.Fatalf("got %d iterations; want 4 (0, 100, 200, 300ms)", res.Iterations)
		}
	})
}

func TestRampPacer(t *testing.T) {
	t.Parallel()
	// 0 → 10/s over 2s (10 hits), then 10/s for 1s (10 more).
	p := RampPacer{Start: 0, Stages: []Stage{{2 * time.Second, 10}, {time.Second, 10}}}
	tests := []struct {
		hits uint64
		due  time.Duration
	}{
		{0, 0},
		{1, 632455532},  // 2.5·t² = 1 → t = √0.4 s
		{5, 1414213562}, // 2.5·t² = 5 → t = √2 s
		{10, 2 * time.Second},
		{15, 2500 * time.Millisecond},
		{19, 2900 * time.Millisecond},
		{20, Never},
	}
	for _, tt := range tests {
		if got := p.Due(tt.hits); (got - tt.due).Abs() > time.Microsecond {
			t.Errorf("Due(%d) = %v, want %v", tt.hits, got, tt.due)
		}
	}
	// A constant stage equals the constant pacer.
	c := ConstantPacer{Rate: 50, Duration: time.Second}
	r := RampPacer{Start: 50, Stages: []Stage{{time.Second, 50}}}
	for n := uint64(0); n <= 50; n++ {
		if a, b := c.Due(n), r.Due(n); (a - b).Abs() > time.Microsecond {
			t.Fatalf("hit %d: constant %v, ramp %v", n, a, b)
		}
	}
}

func TestBurstPacer(t *testing.T) {
	t.Parallel()
	p := BurstPacer{Size: 3, Every: 2 * time.Second, Count: 2}
	want := []time.Duration{0, 0, 0, 2 * time.Second, 2 * time.Second, 2 * time.Second, Never}
	for n, w := range want {
		if got := p.Due(uint64(n)); got != w {
			t.Errorf("Due(%d) = %v, want %v", n, got, w)
		}
	}
	if wait, stop := p.Pace(500*time.Millisecond, 3); wait != 1500*time.Millisecond || stop {
		t.Errorf("Pace = %v %v", wait, stop)
	}
}

func TestVUsAt(t *testing.T) {
	t.Parallel()
	stages := []Stage{{10 * time.Second, 10}, {10 * time.Second, 10}, {5 * time.Second, 0}}
	tests := []struct {
		at   time.Duration
		want int
		done bool
	}{
		{0, 0, false}, {5 * time.Second, 5, false}, {10 * time.Second, 10, false},
		{15 * time.Second, 10, false}, {22500 * time.Millisecond, 5, false}, {25 * time.Second, 0, true},
	}
	for _, tt := range tests {
		if n, done := VUsAt(0, stages, tt.at); n != tt.want || done != tt.done {
			t.Errorf("VUsAt(%v) = %d %v, want %d %v", tt.at, n, done, tt.want, tt.done)
		}
	}
}

func TestClosedRamp(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		// Ramp 0 → 4 VUs over 2s, hold 1s; iterations take 100ms.
		var most, now atomic.Int64
		res := Closed{Stages: []Stage{{2 * time.Second, 4}, {time.Second, 4}}, Stop: Stop{GracefulStop: time.Second}}.Run(context.Background(),
			func(ctx context.Context, vu int, n int64, _ time.Time) bool {
				c := now.Add(1)
				for m := most.Load(); c > m && !most.CompareAndSwap(m, c); m = most.Load() {
				}
				time.Sleep(100 * time.Millisecond)
				now.Add(-1)
				return true
			})
		if most.Load() != 4 || res.MaxVUs != 4 {
			t.Fatalf("at most %d VUs ran (max %d), want 4", most.Load(), res.MaxVUs)
		}
		// VU k joins when round(2t) reaches k: at 0.25, 0.75, 1.25 and
		// 1.75s; all run until 3s: 8 VU-seconds, 80 iterations, give or
		// take the 10ms join granularity and iterations begun before 3s.
		if res.Iterations < 78 || res.Iterations > 86 {
			t.Fatalf("%d iterations", res.Iterations)
		}
	})
}

// lyingPacer says to wait, but reports the hit as due long before: the
// dispatcher is then "late", as after a stall of the generator itself.
type lyingPacer struct{}

func (lyingPacer) Due(n uint64) time.Duration {
	if n >= 3 {
		return Never
	}
	return 0
}
func (lyingPacer) Pace(elapsed time.Duration, n uint64) (time.Duration, bool) {
	if n >= 3 {
		return 0, true
	}
	return time.Duration(n) * 50 * time.Millisecond, false
}

func TestOpenSkipsLateHitsInsteadOfBursting(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var ran atomic.Int64
		res := Open{Pacer: lyingPacer{}, MaxVUs: 5, Late: LateSkip, Stop: Stop{GracefulStop: time.Second}}.Run(context.Background(),
			func(ctx context.Context, vu int, n int64, s time.Time) bool { ran.Add(1); return true })
		if res.Late != 2 || res.Skipped != 2 || ran.Load() != 1 || res.Scheduled != 3 {
			t.Fatalf("late %d skipped %d ran %d scheduled %d; want 2, 2, 1, 3", res.Late, res.Skipped, ran.Load(), res.Scheduled)
		}
		if res.Lag.Max() < int64(90*time.Millisecond) {
			t.Fatalf("lag max %v", time.Duration(res.Lag.Max()))
		}
	})
}

func TestKillCancelsAtOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		kill, fire := context.WithCancel(context.Background())
		ctx, stop := context.WithCancel(context.Background())
		time.AfterFunc(time.Second, stop)
		time.AfterFunc(1500*time.Millisecond, fire)
		start := time.Now()
		res := Closed{VUs: 2, Duration: time.Hour, Stop: Stop{GracefulStop: time.Minute, Kill: kill}}.Run(ctx,
			func(ctx context.Context, vu int, n int64, _ time.Time) bool {
				select {
				case <-time.After(10 * time.Second):
					return true
				case <-ctx.Done():
					return false
				}
			})
		if time.Since(start) != 1500*time.Millisecond || res.Interrupted != 2 {
			t.Fatalf("ended after %v with %d interrupted; want 1.5s and 2", time.Since(start), res.Interrupted)
		}
	})
}

// The open model's spin before a hit gives up at once on a clock that
// stands still (synctest's, while goroutines run) instead of yielding
// maxSpins times for every hit, and still spins a real clock to the due
// time.
func TestSpinUntil(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		step   func(yields int) time.Duration // the clock after so many yields
		due    time.Duration
		ok     bool
		yields int
	}{
		{"already due", func(int) time.Duration { return 5 }, 5, true, 0},
		{"a moving clock reaches the due time", func(n int) time.Duration { return time.Duration(n) * time.Microsecond }, 150 * time.Microsecond, true, 150},
		{"a clock standing still", func(int) time.Duration { return 0 }, time.Microsecond, false, stallCheck},
		{"a clock that stops after a while", func(n int) time.Duration { return time.Duration(min(n, 100)) }, time.Second, false, 192},
		{"a crawling clock gives up at maxSpins", func(n int) time.Duration { return time.Duration(n) }, time.Second, false, maxSpins},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			yields := 0
			ok := spinUntil(tt.due, func() time.Duration { return tt.step(yields) }, func() { yields++ })
			if ok != tt.ok || yields != tt.yields {
				t.Fatalf("spinUntil = %v after %d yields, want %v after %d", ok, yields, tt.ok, tt.yields)
			}
		})
	}
}

// With LateSend, the late hits are sent (from their due time) and counted
// as late, none skipped.
func TestOpenSendsLateHits(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var ran atomic.Int64
		res := Open{Pacer: lyingPacer{}, MaxVUs: 5, Late: LateSend, Stop: Stop{GracefulStop: time.Second}}.Run(context.Background(),
			func(ctx context.Context, vu int, n int64, s time.Time) bool { ran.Add(1); return true })
		if res.Late != 2 || res.Skipped != 0 || ran.Load() != 3 || res.Scheduled != 3 {
			t.Fatalf("late %d skipped %d ran %d scheduled %d; want 2, 0, 3, 3", res.Late, res.Skipped, ran.Load(), res.Scheduled)
		}
	})
}

// The late policies when the dispatcher stalls for 55 ms before a hit: at
// 100/s the next hits fall due during the stall, so auto skips them rather
// than catch up in a burst (send sends them all); at 1/s the late hit is
// alone, and auto sends it. Hits due at one instant (a burst) are all sent.
func TestLatePolicies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                    string
		pacer                   Pacer
		policy                  LatePolicy
		late, skipped, ran, due int64
	}{
		{"auto at 100/s skips the catch-up", ConstantPacer{Rate: 100, Duration: 200 * time.Millisecond}, LateAuto, 5, 5, 15, 20},
		{"send at 100/s catches up", ConstantPacer{Rate: 100, Duration: 200 * time.Millisecond}, LateSend, 5, 0, 20, 20},
		{"skip at 100/s", ConstantPacer{Rate: 100, Duration: 200 * time.Millisecond}, LateSkip, 5, 5, 15, 20},
		{"auto at 1/s sends the lone late hit", ConstantPacer{Rate: 1, Duration: 5 * time.Second}, LateAuto, 1, 0, 5, 5},
		{"skip at 1/s", ConstantPacer{Rate: 1, Duration: 5 * time.Second}, LateSkip, 1, 1, 4, 5},
		{"auto sends a late burst whole", BurstPacer{Size: 5, Every: time.Second, Count: 2}, LateAuto, 5, 0, 10, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				var ran atomic.Int64
				stallAt := uint64(3)
				if _, ok := tt.pacer.(BurstPacer); ok {
					stallAt = 5 // the second burst's first hit
				}
				res := Open{Pacer: tt.pacer, MaxVUs: 20, Late: tt.policy, Stop: Stop{GracefulStop: time.Second},
					BeforeDispatch: func(hit uint64) {
						if hit == stallAt {
							time.Sleep(55 * time.Millisecond)
						}
					}}.Run(context.Background(),
					func(ctx context.Context, vu int, n int64, s time.Time) bool { ran.Add(1); return true })
				if res.Late != tt.late || res.Skipped != tt.skipped || ran.Load() != tt.ran || res.Scheduled != tt.due {
					t.Fatalf("late %d skipped %d ran %d due %d; want %d, %d, %d, %d",
						res.Late, res.Skipped, ran.Load(), res.Scheduled, tt.late, tt.skipped, tt.ran, tt.due)
				}
			})
		})
	}
}

// TestPacingSpin: the open model spins before a hit is due only with
// processors to spare; on fewer it sleeps on its timer.
func TestPacingSpin(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		procs int
		want  time.Duration
	}{{1, 0}, {2, 0}, {3, 0}, {4, spinWindow}, {64, spinWindow}} {
		if got := pacingSpin(tt.procs); got != tt.want {
			t.Errorf("pacingSpin(%d) = %v, want %v", tt.procs, got, tt.want)
		}
	}
}
