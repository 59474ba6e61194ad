package cli

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/runplan/runplan/engine"
)

type fixedProgress []engine.ScenarioProgress

func (f fixedProgress) Progress() []engine.ScenarioProgress { return f }

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// Off a terminal (CI), progress is a structured log line per running
// scenario every period; finished and not-yet-started scenarios are quiet.
func TestProgressLogLines(t *testing.T) {
	t.Parallel()
	src := fixedProgress{
		{Name: "running", Started: true, Elapsed: 3 * time.Second, Planned: 10 * time.Second, Completed: 150, Errors: 2,
			Rate: 50, RateOK: true, P99: 4 * time.Millisecond, P99OK: true, Faults: []string{"slow_cache"}},
		{Name: "warming", Started: true, Elapsed: time.Second, Planned: 10 * time.Second},
		{Name: "later"},
		{Name: "finished", Started: true, Done: true},
	}
	synctest.Test(t, func(t *testing.T) {
		var out syncBuf
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); logLines(ctx, src, zerolog.New(&out), time.Second) }()
		time.Sleep(2500 * time.Millisecond) // two periods
		synctest.Wait()
		cancel()
		<-done
		got := out.String()
		for _, want := range []string{`"scenario":"running"`, `"elapsed_s":3`, `"planned_s":10`, `"p99_ms":4,`, `"completed":150`, `"errors":2`, `"rate_per_s":50`, `"faults":["slow_cache"]`, `"message":"progress"`} {
			if !strings.Contains(got, want) {
				t.Errorf("log lacks %s:\n%s", want, got)
			}
		}
		if n := strings.Count(got, `"message":"progress"`); n != 4 {
			t.Errorf("%d lines in two periods of two running scenarios, want 4:\n%s", n, got)
		}
		for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
			if strings.Contains(line, `"warming"`) && strings.Contains(line, `"rate_per_s"`) {
				t.Errorf("a scenario in its warmup has no rate yet, not 0: %s", line)
			}
		}
		if strings.Contains(got, "later") || strings.Contains(got, "finished") {
			t.Errorf("quiet scenarios were logged:\n%s", got)
		}
	})
}

// On a terminal, bars draw the same figures.
func TestProgressBars(t *testing.T) {
	t.Parallel()
	src := fixedProgress{{Name: "running", Started: true, Elapsed: 3 * time.Second, Planned: 10 * time.Second, Rate: 50,
		RateOK: true, P99: 4 * time.Millisecond, P99OK: true, Errors: 2}}
	synctest.Test(t, func(t *testing.T) {
		var out syncBuf
		stop := showProgress(context.Background(), src, &out, true, zerolog.Nop())
		time.Sleep(600 * time.Millisecond) // three refreshes
		stop()
		got := out.String()
		for _, want := range []string{"running", "50.0/s", "p99 4ms", "errors 2"} {
			if !strings.Contains(got, want) {
				t.Errorf("bars lack %q:\n%q", want, got)
			}
		}
	})
}
