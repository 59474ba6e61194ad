package notify

import (
	"fmt"
	"math"
	"strings"

	"github.com/runplan/runplan/engine/report"
)

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
	case Discord:
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
	case Slack:
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
