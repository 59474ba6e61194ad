package explain

import (
	"testing"
	"time"
)

func TestWords(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ expr, want string }{
		{"cache.hit_ratio > 0.9", "cache: hit ratio above 90 %"},
		{"s.success_rate >= 0.999", "s: success rate at least 99.9 %"},
		{"s.steps.get.latency.p99 < ms(100)", "s step get: p99 latency below 100 ms"},
		{"s.latency.max <= s(2)", "s: max latency at most 2 s"},
		{"faults.f.during.errors_by.timeout > 0", "during fault f: timeout errors above 0"},
		{"faults.f.recovery < s(3)", "recovery time after fault f below 3 s"},
		{"faults.f.applied", "fault f was applied"},
		{"hook.server.retries >= hook.server.faulted", "hook (server): retries at least hook (server): faulted"},
		{"a.errors == 0 || not (a.count < 10)", "a: errors equal to 0 or not (a: count below 10)"},
		{"a.success_rate == 1", "a: success rate equal to 100 %"},
		// Arithmetic is said as written, not in words.
		{"a.errors / a.count < 0.1", ""},
		{"len(a.errors_by) > 0", ""},
		{"a.errors >", ""},
	} {
		if got := Words(tc.expr); got != tc.want {
			t.Errorf("Words(%q) = %q, want %q", tc.expr, got, tc.want)
		}
	}
}

func TestScenarioPeak(t *testing.T) {
	t.Parallel()
	ramp := Scenario{Model: Open, Start: 2 * time.Second, Duration: 4 * time.Second,
		Shape: []Point{{0, 0}, {2 * time.Second, 100}, {4 * time.Second, 100}}}
	burst := Scenario{Model: Open, Duration: 4*time.Second + 1, Burst: &Burst{Size: 5, Every: 2 * time.Second, Count: 3}}
	iters := Scenario{Model: Closed, VUs: 2, Iterations: 10}
	for _, tc := range []struct {
		name   string
		s      *Scenario
		t0, t1 time.Duration
		want   float64
		on     bool
	}{
		{"before the start", &ramp, 0, 2 * time.Second, 0, false},
		{"ramp rising: its end", &ramp, 2 * time.Second, 3 * time.Second, 50, true},
		{"across the top", &ramp, 3 * time.Second, 5 * time.Second, 100, true},
		{"after the end", &ramp, 6 * time.Second, 7 * time.Second, 0, false},
		{"a burst", &burst, 2 * time.Second, 3 * time.Second, 5, true},
		{"between bursts", &burst, 500 * time.Millisecond, time.Second, 0, true},
		{"two bursts in one column", &burst, 0, 3 * time.Second, 10, true},
		{"unknown length", &iters, 0, time.Second, 0, false},
	} {
		v, on := tc.s.peak(tc.t0, tc.t1)
		if on != tc.on || v < tc.want-0.01 || v > tc.want+0.01 {
			t.Errorf("%s: peak = %v, %v; want %v, %v", tc.name, v, on, tc.want, tc.on)
		}
	}
}
