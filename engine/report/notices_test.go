package report

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runplan/runplan/engine/check"
	"github.com/runplan/runplan/engine/metrics"
)

const testNotice = "in-process miniredis: figures are not Redis measurements"

// noticeReport builds a report whose cache target has a notice (as the
// redis driver gives a miniredis target) when notice is set.
func noticeReport(notice bool) *Report {
	lookup := synthStats("lookup", 100, time.Millisecond, false, 0, "", 0, 0)
	fetch := synthStats("fetch", 10, time.Millisecond, true, 0, "", 0, 0)
	deliver := synthStats("deliver", 10, time.Millisecond, false, 0, "", 0, 0)
	post := synthStats("post", 10, time.Millisecond, false, 0, "", 0, 0)
	sum := &metrics.RunSummary{
		Started: fixtureStart, Duration: 5 * time.Second, Interval: time.Second,
		Generator: metrics.Generator{Lag: lagHistogram(), Valid: true},
		Scenarios: []*metrics.ScenarioSummary{
			{Name: "strategy_cache", Model: "closed", Iteration: synthStats("", 100, time.Millisecond, false, 0, "", 0, 0),
				Steps: []*metrics.Stats{lookup}, Elapsed: 5 * time.Second},
			{Name: "signal_delivery", Model: "closed", Iteration: synthStats("", 10, time.Millisecond, false, 0, "", 0, 0),
				Steps: []*metrics.Stats{fetch, deliver}, Elapsed: 5 * time.Second},
			{Name: "webhook_only", Model: "closed", Iteration: synthStats("", 10, time.Millisecond, false, 0, "", 0, 0),
				Steps: []*metrics.Stats{post}, Elapsed: 5 * time.Second},
		},
	}
	layout := Layout{
		Scenarios: []ScenarioLayout{
			{Name: "strategy_cache", Steps: []StepLayout{{Name: "lookup", Target: "cache"}}},
			{Name: "signal_delivery", Steps: []StepLayout{{Name: "fetch", Target: "cache"}, {Name: "deliver", Target: "discord"}}},
			{Name: "webhook_only", Steps: []StepLayout{{Name: "post", Target: "discord"}}},
		},
		Faults: []FaultLayout{{Name: "slow_cache", Target: "cache"}, {Name: "outage", Target: "discord"}},
	}
	cache := Target{Name: "cache", Driver: "redis", Kind: "managed", Software: "redis-server 7.0.15", Addr: "redis://127.0.0.1:1"}
	if notice {
		cache = Target{Name: "cache", Driver: "redis", Kind: "embedded", Software: "miniredis", Addr: "redis://127.0.0.1:1",
			Notices: []string{testNotice}}
	}
	ms := func(v int) check.Duration { return check.Duration{D: time.Duration(v) * time.Millisecond, OK: true} }
	outcome := &check.Outcome{Verdict: check.Ready, Score: 100, Checks: []check.Result{
		{Name: "redis_latency", Expr: "strategy_cache.steps.lookup.latency.p99 < ms(100)", Passed: true, Weight: 1, Value: ms(1)},
		{Name: "hit_ratio", Expr: "strategy_cache.hit_ratio > 0.9", Passed: true, Weight: 1, Value: 0.95},
		{Name: "delivery_worst", Expr: "worst(signal_delivery, s(1)).latency.p95 < s(2)", Passed: true, Weight: 1, Value: ms(1)},
		{Name: "slow_cache_during", Expr: "faults.slow_cache.during.latency.p99 < ms(200)", Passed: true, Weight: 1, Value: ms(1)},
		{Name: "outage_during", Expr: "faults.outage.during.latency.p99 < s(3)", Passed: true, Weight: 1, Value: ms(1)},
		{Name: "webhook_latency", Expr: "webhook_only.latency.p99 < s(1)", Passed: true, Weight: 1, Value: ms(1)},
	}}
	return Build(Input{Plan: PlanInfo{Name: "notices"}, Layout: layout, Summary: sum, Outcome: outcome, RunID: "r", Version: "test",
		Targets: []Target{cache, {Name: "discord", Driver: "webhook", Kind: "embedded", Addr: "http://127.0.0.1:2/x"}}})
}

// TestTargetNoticeInEveryOutput: a target's notice is a banner in the
// console, JSON, Markdown, HTML and JUnit outputs, and every check that
// reads a latency figure of a scenario or fault window on that target
// carries it as a note; checks of other figures or targets do not.
func TestTargetNoticeInEveryOutput(t *testing.T) {
	t.Parallel()
	noted := []string{"redis_latency", "delivery_worst", "slow_cache_during"}
	for _, notice := range []bool{true, false} {
		r := noticeReport(notice)
		for _, c := range r.Checks {
			want := notice && slices.Contains(noted, c.Name)
			if got := len(c.Notes) > 0; got != want {
				t.Errorf("notice %v: check %s notes %q, want notes: %v", notice, c.Name, c.Notes, want)
			}
			for _, n := range c.Notes {
				if !strings.Contains(n, "target cache: "+testNotice) {
					t.Errorf("check %s note %q does not name the target and its notice", c.Name, n)
				}
			}
		}
		outputs := map[string]func(*bytes.Buffer) error{
			"console":  func(b *bytes.Buffer) error { return WriteConsole(b, r, ConsoleOptions{}) },
			"json":     func(b *bytes.Buffer) error { return WriteJSON(b, r) },
			"markdown": func(b *bytes.Buffer) error { return WriteMarkdown(b, r) },
			"html":     func(b *bytes.Buffer) error { return WriteHTML(b, r) },
			"junit":    func(b *bytes.Buffer) error { return WriteJUnit(b, r) },
		}
		for name, write := range outputs {
			var b bytes.Buffer
			if err := write(&b); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			out := b.String()
			// The console wraps long notes: count in the text with its
			// line breaks and indents folded.
			if got := strings.Count(strings.Join(strings.Fields(out), " "), testNotice); notice && got < 1+len(noted) || !notice && got != 0 {
				t.Errorf("notice %v: %s output holds the notice %d times (banner + %d check notes wanted when set):\n%s",
					notice, name, got, len(noted), clip(out))
			}
			if !notice {
				continue
			}
			banner := map[string]string{"console": "NOTICE: target cache: ", "json": `"notices": [`,
				"markdown": "> **Notice**: target cache: ", "html": "<strong>Notice:</strong> target cache: ",
				"junit": "notice: target cache: "}[name]
			if !strings.Contains(out, banner) {
				t.Errorf("%s output lacks the banner %q:\n%s", name, banner, clip(out))
			}
			if name == "json" {
				var doc struct {
					Notices []string `json:"notices"`
					Targets []struct {
						Kind, Software string
						Notices        []string
					} `json:"targets"`
				}
				if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
					t.Fatal(err)
				}
				if len(doc.Notices) != 1 || doc.Targets[0].Kind != "embedded" || doc.Targets[0].Software != "miniredis" ||
					len(doc.Targets[0].Notices) != 1 {
					t.Errorf("JSON notices %q, cache target %+v", doc.Notices, doc.Targets[0])
				}
			}
		}
	}
}
