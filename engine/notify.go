package engine

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/plan"
	"github.com/runplan/runplan/engine/redact"
	"github.com/runplan/runplan/engine/report"
	"github.com/runplan/runplan/engine/tmpl"
)

// Notification is where to post a run's outcome: a plan's `notify:` entry
// or a --notify URL.
type Notification struct {
	URL string
	// Flavor is discord, slack or generic; empty guesses from the URL.
	Flavor string
	// Always posts every outcome; otherwise only a failed one (a failed
	// check, a verdict other than ready, an invalid or partial run).
	Always bool
}

// GuessFlavor picks the message shape from a webhook URL.
func GuessFlavor(url string) string {
	switch {
	case strings.Contains(url, "discord.com/api/webhooks") || strings.Contains(url, "discordapp.com/api/webhooks") || strings.Contains(url, "/api/webhooks/"):
		return "discord"
	case strings.Contains(url, "hooks.slack.com"):
		return "slack"
	}
	return "generic"
}

// Failed reports whether a report is a failure for notifications.
func Failed(r *report.Report) bool {
	if r.Partial || r.Invalid() || (r.Verdict != "ready" && r.Verdict != "unscored") {
		return true
	}
	for _, c := range r.Checks {
		if !c.Passed {
			return true
		}
	}
	return false
}

// Notify posts the outcome to each notification through the registered
// webhook driver, so that rate limits, retries and redaction apply. It
// returns one error per notification that could not be delivered; the
// caller logs them — a notification never changes the run's outcome.
//
// Every notification URL is registered with red (a webhook URL is a
// secret), and what is posted and returned passes through it: the body
// carries no secret red knows or that looks like a credential, and no
// error prints a notification's token. A nil red masks what looks like a
// credential and the notification URLs. Notify is safe for concurrent use
// (red is).
func Notify(ctx context.Context, r *report.Report, to []Notification, red *redact.Redactor) []error {
	if red == nil {
		red = redact.New()
	}
	for _, n := range to {
		red.AddURL(n.URL)
	}
	var errs []error
	d, err := driver.Lookup("webhook")
	if err != nil {
		if len(to) > 0 {
			errs = append(errs, fmt.Errorf("engine: notify: %w", err))
		}
		return errs
	}
	for _, n := range to {
		if !n.Always && !Failed(r) {
			continue
		}
		if err := notifyOne(ctx, d, r, n, red); err != nil {
			errs = append(errs, red.Error(err))
		}
	}
	return errs
}

// CheckNotification checks a notification without any I/O: its URL parses,
// its scheme is http or https, it has a host, and its flavor is one runplan
// knows. The error never prints the URL's secrets. It is what runplan runs
// on --notify URLs and a plan's notify: entries before a run starts, so
// that a typo is not found only when the run is over. Safe for concurrent
// use.
func CheckNotification(n Notification) error {
	d, err := driver.Lookup("webhook")
	if err != nil {
		return fmt.Errorf("engine: notify: %w", err)
	}
	if _, err := notifySpec(d, n, "check"); err != nil {
		red := redact.New()
		red.AddURL(n.URL)
		return red.Error(err)
	}
	return nil
}

// notifySpec is the webhook target that posts n, checked.
func notifySpec(d driver.Driver, n Notification, runID string) (driver.TargetSpec, error) {
	flavor := n.Flavor
	if flavor == "" {
		flavor = GuessFlavor(n.URL)
	}
	switch flavor {
	case "discord", "slack", "generic":
	default:
		return driver.TargetSpec{}, fmt.Errorf("engine: notify: flavor %q: use discord, slack or generic", flavor)
	}
	var tnode yaml.Node
	if err := tnode.Encode(map[string]any{"driver": "webhook", "url": n.URL, "flavor": flavor, "timeout": "10s"}); err != nil {
		return driver.TargetSpec{}, fmt.Errorf("engine: notify: %w", err)
	}
	spec := driver.TargetSpec{Name: "notify", Driver: "webhook", URL: n.URL, Node: &tnode, RunID: runID}
	if err := d.CheckTarget(spec); err != nil {
		return driver.TargetSpec{}, fmt.Errorf("engine: notify: %w", err)
	}
	return spec, nil
}

func notifyOne(ctx context.Context, d driver.Driver, r *report.Report, n Notification, red *redact.Redactor) error {
	spec, err := notifySpec(d, n, r.RunID)
	if err != nil {
		return err
	}
	flavor := n.Flavor
	if flavor == "" {
		flavor = GuessFlavor(n.URL)
	}
	body := message(r, flavor)
	red.Walk(&body)
	var snode yaml.Node
	if err := snode.Encode(map[string]any{"json": escapeTemplates(body)}); err != nil {
		return fmt.Errorf("engine: notify: %w", err)
	}
	step, err := d.Prepare(driver.StepSpec{Name: "notify", Target: spec, Node: &snode, Templates: tmpl.NewCompiler(),
		Warn: func(*yaml.Node, string) {}})
	if err != nil {
		return fmt.Errorf("engine: notify: %w", err)
	}
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	t, err := d.Open(octx, spec, driver.Env{Log: func(string) {}})
	if err != nil {
		return fmt.Errorf("engine: notify: %w", err)
	}
	defer t.Close()
	if err := step.Bind(t); err != nil {
		return fmt.Errorf("engine: notify: %w", err)
	}
	it := &driver.Iteration{Scenario: "notify", VU: 1, Templates: tmpl.NewState("notify", 1, nil)}
	out := step.Do(octx, it)
	if out.Err != nil {
		return fmt.Errorf("engine: notify: %w", out.Err)
	}
	return nil
}

// escapeTemplates keeps `{{` in report text from being read as a template.
func escapeTemplates(v any) any {
	switch x := v.(type) {
	case string:
		return strings.ReplaceAll(x, "{{", "{ {")
	case map[string]any:
		for k, e := range x {
			x[k] = escapeTemplates(e)
		}
	case []any:
		for i, e := range x {
			x[i] = escapeTemplates(e)
		}
	}
	return v
}

// message builds the notification body for a flavor: a Discord embed, a
// Slack message, or the generic summary JSON.
func message(r *report.Report, flavor string) any {
	title := fmt.Sprintf("runplan: %s — %s", firstNonEmpty(r.Plan.Name, r.Plan.Path), strings.ToUpper(strings.ReplaceAll(r.Verdict, "_", " ")))
	score := "n/a"
	if r.Score != nil {
		score = fmt.Sprintf("%.1f/100", *r.Score)
		if r.Invalid() {
			score += " (untrusted)"
		}
	}
	var failed []report.Check
	for _, c := range r.Checks {
		if !c.Passed {
			failed = append(failed, c)
		}
	}
	recs := r.Recommendations
	if len(recs) > 3 {
		recs = recs[:3]
	}
	var notes []string
	if r.Partial {
		notes = append(notes, "partial run")
	}
	switch {
	case r.NotStarted:
		notes = append(notes, "the run did not start: "+r.Error)
	case !r.Valid:
		notes = append(notes, "invalid measurement: "+strings.Join(r.Generator.Reasons, "; "))
	}
	line := func(c report.Check) string {
		v := c.Display
		switch {
		case c.Error != "":
			v = "error: " + c.Error
		case c.NA():
			v = "n/a, not measured: " + strings.Join(c.Missing, ", ")
		}
		return fmt.Sprintf("%s = %s (want %s)", c.Name, v, c.Expr)
	}
	switch flavor {
	case "discord":
		color := map[string]int{"ready": 0x2ecc71, "degraded": 0xf1c40f, "invalid": 0x8250df}[r.Verdict]
		if color == 0 {
			color = 0xe74c3c
		}
		fields := []any{map[string]any{"name": "Score", "value": score, "inline": true},
			map[string]any{"name": "Verdict", "value": r.Verdict, "inline": true}}
		if len(failed) > 0 {
			var b strings.Builder
			for _, c := range failed {
				b.WriteString("✗ " + line(c) + "\n")
			}
			fields = append(fields, map[string]any{"name": fmt.Sprintf("Failed checks (%d)", len(failed)), "value": clip(b.String(), 1024)})
		}
		if len(recs) > 0 {
			fields = append(fields, map[string]any{"name": "Recommendations", "value": clip("• "+strings.Join(recs, "\n• "), 1024)})
		}
		desc := fmt.Sprintf("run %s, %.1fs", r.RunID, r.Duration)
		if len(notes) > 0 {
			desc += " — " + strings.Join(notes, "; ")
		}
		return map[string]any{"username": "runplan", "embeds": []any{map[string]any{
			"title": clip(title, 256), "description": clip(desc, 4096), "color": color, "fields": fields,
		}}}
	case "slack":
		var b strings.Builder
		fmt.Fprintf(&b, "*%s* (score %s)\n", title, score)
		for _, n := range notes {
			b.WriteString("_" + n + "_\n")
		}
		for _, c := range failed {
			b.WriteString("✗ " + line(c) + "\n")
		}
		for _, rec := range recs {
			b.WriteString("• " + rec + "\n")
		}
		return map[string]any{"text": b.String()}
	default:
		fc := []any{}
		for _, c := range failed {
			f := map[string]any{"name": c.Name, "expr": c.Expr, "value": c.Display, "error": c.Error}
			if c.NA() {
				f["missing"] = c.Missing
			}
			fc = append(fc, f)
		}
		var sc any
		if r.Score != nil && !math.IsNaN(*r.Score) {
			sc = *r.Score
		}
		rs := make([]any, len(recs))
		for i, x := range recs {
			rs[i] = x
		}
		return map[string]any{"plan": firstNonEmpty(r.Plan.Name, r.Plan.Path), "run_id": r.RunID, "verdict": r.Verdict,
			"score": sc, "valid": validity(r), "partial": r.Partial, "failed_checks": fc, "recommendations": rs}
	}
}

// validity is the generic message's "valid": true, false, or null when the
// run did not start (not judged), as in the JSON report.
func validity(r *report.Report) any {
	if r.NotStarted {
		return nil
	}
	return r.Valid
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Notifications returns the plan's notify entries.
func Notifications(p *plan.Plan) []Notification {
	var out []Notification
	for _, n := range p.Notify {
		out = append(out, Notification{URL: n.URL, Flavor: n.Flavor, Always: n.When == "always"})
	}
	return out
}
