package report

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/runplan/runplan/engine/metrics"
)

// refusedFault is a fault that refused connections: 177 of its 178 calls
// failed, fast, so its p99 is that of the window before.
func refusedFault() Fault {
	win := func(from, to time.Duration, n, errs int64) *Window {
		all, ok := metrics.NewHistogram(), metrics.NewHistogram()
		for i := int64(0); i < n; i++ {
			v := int64(8*time.Millisecond) + i%7*int64(50*time.Microsecond)
			_ = all.RecordValue(v)
			if i >= errs {
				_ = ok.RecordValue(v + int64(time.Millisecond))
			}
		}
		s := metrics.Span{From: from, To: to, Count: n, Errors: errs, ErrorsBy: map[string]int64{}, SuccessRate: math.NaN(),
			Rate: float64(n) / (to - from).Seconds(), Latency: metrics.Summarize(all), SuccessLatency: metrics.Summarize(ok)}
		if errs > 0 {
			s.ErrorsBy["connection"] = errs
		}
		if n > 0 {
			s.SuccessRate = float64(n-errs) / float64(n)
		}
		return window(s)
	}
	return Fault{Name: "cache_down", Target: "cache", Kind: "down", Describe: "proxy down: connections refused",
		PlannedAt: 2, PlannedFor: ptr(2), Start: 2, End: 4, Applied: true, Scenarios: []string{"sc"},
		Before: win(0, 2*time.Second, 178, 0), During: win(2*time.Second, 4*time.Second, 178, 177),
		After: win(4*time.Second, 6*time.Second, 178, 0), Recovered: true, Recovery: ptr(0.012),
		ErrorsStopped: ptr(0.012), LatencyReturned: ptr(0), LatencyLimit: ptr(13.4), SuccessLimit: ptr(0.98)}
}

// A window whose calls failed fast renders its success rate and call count
// next to its p99, in every output.
func TestFaultWindowShowsSuccessRate(t *testing.T) {
	t.Parallel()
	r := buildFixture(fixtureOptions{})
	r.Faults = []Fault{refusedFault()}
	renders := map[string]func(*bytes.Buffer) error{
		"console":  func(b *bytes.Buffer) error { return WriteConsole(b, r, ConsoleOptions{}) },
		"markdown": func(b *bytes.Buffer) error { return WriteMarkdown(b, r) },
		"html":     func(b *bytes.Buffer) error { return WriteHTML(b, r) },
		"junit":    func(b *bytes.Buffer) error { return WriteJUnit(b, r) },
	}
	for name, render := range renders {
		var b bytes.Buffer
		if err := render(&b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out := b.String()
		for _, want := range []string{"p99 8.30ms, 100% ok of 178", "p99 8.30ms, 0.6% ok of 178", "ok calls p99 9.10ms",
			"errors stopped after 12ms", "p99 back under 13.4ms"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s does not say %q", name, want)
			}
		}
		if name == "console" {
			i := strings.Index(out, "FAULTS\n")
			j := strings.Index(out[i:], "\n\n")
			golden(t, "console-refused-fault.golden", []byte(out[i:i+j+1]))
		}
	}
}

// Server figures answered by two servers (a failover) carry a note in every
// output.
func TestSpansServersNote(t *testing.T) {
	t.Parallel()
	r := buildFixture(fixtureOptions{})
	r.Targets[0].SpansServers, r.Targets[0].ServerChangedAt = 2, []float64{4.25}
	renders := map[string]func(*bytes.Buffer) error{
		"console":  func(b *bytes.Buffer) error { return WriteConsole(b, r, ConsoleOptions{}) },
		"markdown": func(b *bytes.Buffer) error { return WriteMarkdown(b, r) },
		"html":     func(b *bytes.Buffer) error { return WriteHTML(b, r) },
		"junit":    func(b *bytes.Buffer) error { return WriteJUnit(b, r) },
	}
	for name, render := range renders {
		var b bytes.Buffer
		if err := render(&b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := "server figures of cache span 2 servers (another answered from 4.2s)"; !strings.Contains(b.String(), want) {
			t.Errorf("%s does not say %q", name, want)
		}
	}
}
