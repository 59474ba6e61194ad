package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/runplan/runplan/engine"
)

// progressSource is what the display reads; engine.Program implements it.
type progressSource interface {
	Progress() []engine.ScenarioProgress
}

// showProgress displays the run's progress until ctx ends: live bars on a
// terminal, a structured log line every few seconds otherwise (CI). The
// returned function stops the display and waits for it to finish.
func showProgress(ctx context.Context, src progressSource, w io.Writer, terminal bool, log zerolog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	if terminal {
		go func() { defer close(done); bars(ctx, src, w) }()
	} else {
		go func() { defer close(done); logLines(ctx, src, log, 5*time.Second) }()
	}
	return func() { cancel(); <-done }
}

func describe(p engine.ScenarioProgress) string {
	p99 := "-"
	if p.P99OK {
		p99 = p.P99.Round(10 * time.Microsecond).String()
	}
	rate := "-"
	if p.RateOK {
		rate = fmt.Sprintf("%.1f", p.Rate)
	}
	s := fmt.Sprintf("%7s/s p99 %-8s errors %d", rate, p99, p.Errors)
	if len(p.Faults) > 0 {
		s += " fault " + strings.Join(p.Faults, ",")
	}
	return s
}

// bars draws one bar per scenario: elapsed of planned time (or iterations),
// the last interval's rate and p99, and the errors so far.
func bars(ctx context.Context, src progressSource, w io.Writer) {
	// Lines stay within 78 columns: name, a 16-column bar, the figures.
	// w is a terminal behind Main's masking writer, which mpb cannot see
	// through: ForceTTY keeps its cursor movements.
	pb := mpb.NewWithContext(ctx, mpb.WithOutput(w), mpb.WithWidth(78), mpb.WithRefreshRate(200*time.Millisecond), mpb.ForceAutoRefresh(), mpb.ForceTTY())
	type entry struct {
		bar   *mpb.Bar
		total int64
		mu    sync.Mutex // last is read by mpb's render goroutine
		last  engine.ScenarioProgress
	}
	var entries []*entry
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		ps := src.Progress()
		if entries == nil && len(ps) > 0 {
			for _, p := range ps {
				e := &entry{last: p}
				total := int64(max(p.Planned.Milliseconds(), 1))
				if p.PlannedIterations > 0 {
					total = p.PlannedIterations
				}
				e.total = total
				e.bar = pb.AddBar(total, mpb.BarWidth(16),
					mpb.PrependDecorators(decor.Name(fmt.Sprintf("%-14.14s", p.Name))),
					mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
						e.mu.Lock()
						defer e.mu.Unlock()
						return describe(e.last)
					})),
				)
				entries = append(entries, e)
			}
		}
		for i, e := range entries {
			if i >= len(ps) {
				break
			}
			e.mu.Lock()
			e.last = ps[i]
			e.mu.Unlock()
			p := ps[i]
			cur := p.Elapsed.Milliseconds()
			if p.PlannedIterations > 0 {
				cur = p.Completed
			}
			if p.Done {
				e.bar.SetTotal(-1, true)
				continue
			}
			e.bar.SetCurrent(min(cur, e.total))
		}
		select {
		case <-ctx.Done():
			for _, e := range entries {
				if !e.bar.Completed() {
					e.bar.Abort(false)
				}
			}
			pb.Wait()
			return
		case <-tick.C:
		}
	}
}

// logLines logs each running scenario's progress every period.
func logLines(ctx context.Context, src progressSource, log zerolog.Logger, period time.Duration) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, p := range src.Progress() {
			if !p.Started || p.Done {
				continue
			}
			// Each field's unit is in its name (docs/METRICS.md, Logs).
			ev := log.Info().Str("scenario", p.Name).Float64("elapsed_s", p.Elapsed.Round(time.Second).Seconds()).
				Int64("completed", p.Completed).Int64("errors", p.Errors)
			if p.RateOK { // not in the warmup: an unmeasured interval has no rate, not 0
				ev = ev.Float64("rate_per_s", p.Rate)
			}
			if p.Planned > 0 {
				ev = ev.Float64("planned_s", p.Planned.Seconds())
			}
			if p.P99OK {
				ev = ev.Float64("p99_ms", ms(p.P99))
			}
			if len(p.Faults) > 0 {
				ev = ev.Strs("faults", p.Faults)
			}
			ev.Msg("progress")
		}
	}
}

// ms is d in milliseconds, to the microsecond, for a log field named *_ms.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
