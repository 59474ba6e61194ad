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
		{"duration", Closed{VUs: 2, Duration: time.Second, GracefulStop: time.Second}, 100 * time.Millisecond, 20, time.Second},
		// Shared iterations stop early: 5 iterations over 2 VUs take 3 rounds.
		{"iterations", Closed{VUs: 2, Iterations: 5, GracefulStop: time.Second}, 100 * time.Millisecond, 5, 300 * time.Millisecond},
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
		res := Closed{VUs: 1, Duration: time.Second, GracefulStop: 500 * time.Millisecond}.Run(context.Background(),
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
		res := Open{Pacer: ConstantPacer{Rate: 10, Duration: time.Second}, MaxVUs: 1, GracefulStop: time.Second}.Run(context.Background(),
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
		res := Open{Pacer: ConstantPacer{Rate: 10, Duration: 10 * time.Second}, MaxVUs: 5, GracefulStop: time.Second}.Run(ctx,
			func(ctx context.Context, vu int, n int64, scheduled time.Time) bool { return true })
		if res.Iterations != 4 {
			t.Fatalf("got %d iterations; want 4 (0, 100, 200, 300ms)", res.Iterations)
		}
	})
}
