package fault

import (
	"testing"
	"time"
)

const msec = time.Millisecond

// feed runs a fault over a synthetic stream of completions: one call sent
// every 20ms from 0 to 10s, the fault on from 3s and undone at end; lat
// and class say what the call sent at t gets.
func feed(end time.Duration, lat func(sent time.Duration) time.Duration, class func(sent time.Duration) string) *Window {
	var clock time.Duration
	w := NewWindow(time.Second, Rule{Latency: 0.5, Success: 0.02, Stretch: 2 * time.Second}, func() time.Duration { return clock })
	type ev struct {
		at   time.Duration
		edge int // 0: completion, 1: begin/in effect at 3s, 2: ended at end
		c    Completion
	}
	var evs []ev
	for sent := time.Duration(0); sent < 10*time.Second; sent += 20 * msec {
		l := lat(sent)
		evs = append(evs, ev{at: sent + l, c: Completion{At: sent + l, Sent: sent, Latency: l, Class: class(sent)}})
	}
	evs = append(evs, ev{at: 3 * time.Second, edge: 1}, ev{at: end, edge: 2})
	// Completions in time order; an edge before a completion at the same time.
	for i := range evs {
		for j := i + 1; j < len(evs); j++ {
			if evs[j].at < evs[i].at || evs[j].at == evs[i].at && evs[j].edge > evs[i].edge {
				evs[i], evs[j] = evs[j], evs[i]
			}
		}
	}
	for _, e := range evs {
		clock = e.at
		switch e.edge {
		case 1:
			w.Begin()
			w.InEffect()
		case 2:
			w.Ended()
		default:
			w.Observe(e.c)
		}
	}
	return w
}

func TestWindowRecovery(t *testing.T) {
	t.Parallel()
	type want struct {
		errors, latency time.Duration // -1: unknown
	}
	tests := []struct {
		name  string
		end   time.Duration
		lat   func(sent, end time.Duration) time.Duration
		class func(sent, end time.Duration) string
		want  want
	}{
		// A 100ms delay removed at once: the calls in flight at the undo
		// are the only residue, whatever the interval grid says.
		{"delay removed at once, 5.4s", 5400 * msec, delayed(100*msec, 0), nil, want{0, 81 * msec}},
		{"delay removed at once, 5.6s", 5600 * msec, delayed(100*msec, 0), nil, want{0, 81 * msec}},
		// Errors stop 0.5s after the undo, latency 1.5s after it.
		{"errors then latency", 5 * time.Second, func(sent, end time.Duration) time.Duration {
			if sent >= end+500*msec && sent < end+1500*msec {
				return 51 * msec
			}
			return msec
		}, func(sent, end time.Duration) string {
			if sent >= 3*time.Second && sent < end+500*msec {
				return "refused"
			}
			return ""
		}, want{481 * msec, 1531 * msec}},
		// One isolated slow call long after the fault is within the p99 rule.
		{"isolated outlier", 5 * time.Second, func(sent, end time.Duration) time.Duration {
			switch {
			case sent >= 3*time.Second && sent < end:
				return 101 * msec
			case sent == end+900*msec:
				return 40 * msec
			}
			return msec
		}, nil, want{0, 81 * msec}},
		// Iterations cut at the end of the run are not the target's
		// failures.
		{"interrupted at the end", 7 * time.Second, delayed(100*msec, 0), func(sent, end time.Duration) string {
			if sent >= 8800*msec && sent/(20*msec)%2 == 0 {
				return "interrupted"
			}
			return ""
		}, want{0, 81 * msec}},
		// Never back within tolerance: unknown.
		{"stays slow", 5 * time.Second, func(sent, end time.Duration) time.Duration {
			if sent >= 3*time.Second {
				return 30 * msec
			}
			return msec
		}, nil, want{0, -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			class := func(time.Duration) string { return "" }
			if tt.class != nil {
				class = func(s time.Duration) string { return tt.class(s, tt.end) }
			}
			w := feed(tt.end, func(s time.Duration) time.Duration { return tt.lat(s, tt.end) }, class)
			e := w.Effect(false, 11*time.Second)
			got := want{-1, -1}
			if e.ErrorsStoppedOK {
				got.errors = e.ErrorsStopped
			}
			if e.LatencyReturnedOK {
				got.latency = e.LatencyReturned
			}
			if got != tt.want {
				t.Fatalf("errors stopped %v, latency returned %v (%s); want %v, %v", got.errors, got.latency, e.Why, tt.want.errors, tt.want.latency)
			}
			if e.Recovered != (tt.want.errors >= 0 && tt.want.latency >= 0) || e.Recovered && e.Recovery != max(got.errors, got.latency) {
				t.Fatalf("recovered %v after %v", e.Recovered, e.Recovery)
			}
			if !e.Recovered && e.Why == "" {
				t.Fatal("an unknown recovery must say why")
			}
		})
	}
}

// delayed: calls sent while the fault is on take d more (base 1ms).
func delayed(d, _ time.Duration) func(sent, end time.Duration) time.Duration {
	return func(sent, end time.Duration) time.Duration {
		if sent >= 3*time.Second && sent < end {
			return msec + d
		}
		return msec
	}
}
