package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// verdictMark is the emoji a Markdown heading starts with.
var verdictMark = map[string]string{"ready": "✅", "degraded": "⚠️", "not_ready": "❌", "unscored": "➖", "invalid": "🚫"}

// WriteMarkdown writes a compact summary for pull-request comments and
// GitHub job summaries: the verdict and score, the checks with their
// values, one row per scenario and step, and the recommendations.
func WriteMarkdown(w io.Writer, r *Report) error {
	var b strings.Builder
	mark := verdictMark[r.Verdict]
	if mark == "" {
		mark = "➖"
	}
	fmt.Fprintf(&b, "### %s runplan · %s: %s, %s\n\n", mark, mdEscape(title(r)), verdictText(r), scoreText(r))

	var facts []string
	if n := len(r.Checks); n > 0 {
		if f := failedChecks(r); f > 0 {
			facts = append(facts, fmt.Sprintf("**%d of %d checks failed**", f, n))
		} else {
			facts = append(facts, fmt.Sprintf("all %d checks passed", n))
		}
	}
	facts = append(facts, fmt.Sprintf("%.1f s", r.Duration), fmt.Sprintf("seed %d", r.Seed), "run "+mdCode(r.RunID))
	if r.Segment != nil {
		facts = append(facts, fmt.Sprintf("segment %d/%d", r.Segment.Index, r.Segment.Count))
	}
	if r.Plan.Path != "" {
		facts = append(facts, mdCode(r.Plan.Path))
	}
	if r.RunplanVersion != "" {
		facts = append(facts, "runplan "+mdEscape(r.RunplanVersion))
	}
	b.WriteString(strings.Join(facts, " · ") + "\n\n")

	if r.Partial || r.Error != "" {
		b.WriteString("> [!WARNING]\n")
		if r.NotStarted {
			b.WriteString("> **Not started**: the run did not start; nothing was measured, and the measurement is not judged.")
		} else {
			b.WriteString("> **Partial run**: the run did not complete; the figures cover what ran.")
		}
		if r.Error != "" {
			b.WriteString("  \n> Error: " + mdEscape(r.Error))
		}
		b.WriteString("\n\n")
	}
	if r.Invalid() {
		b.WriteString("> [!CAUTION]\n")
		b.WriteString("> **Invalid measurement**: the load generator could not hold the requested load; the checks are not to be trusted.\n")
		for _, reason := range r.Generator.Reasons {
			b.WriteString("> - " + mdEscape(reason) + "\n")
		}
		if a := r.Generator.Advice; a != "" {
			b.WriteString(">\n> " + mdEscape(a) + "\n")
		}
		b.WriteString("\n")
	}

	for _, n := range r.Notices {
		b.WriteString("> [!WARNING]\n> **Notice**: " + mdEscape(n) + "\n\n")
	}
	for _, d := range r.DeadRuns {
		b.WriteString("> [!WARNING]\n")
		b.WriteString("> **Left by an earlier run**: " + mdEscape(deadRunLine(d)) + "  \n")
		b.WriteString("> Restore with " + mdCode(cleanupCommand(d.Server)) + "\n\n")
	}
	if len(r.Leftovers) > 0 {
		b.WriteString("> [!CAUTION]\n")
		b.WriteString("> **Not undone**: the run left its targets changed.\n")
		for _, l := range r.Leftovers {
			b.WriteString("> - " + mdEscape(l.Target+": "+leftoverLine(l)) + "\n")
		}
		for _, server := range leftoverServers(r.Leftovers) {
			b.WriteString(">\n> Restore with " + mdCode(cleanupCommand(server)) + "\n")
		}
		b.WriteString("\n")
	}
	if len(r.Checks) > 0 {
		b.WriteString("| | check | value | expression | weight |\n|:-:|---|--:|---|--:|\n")
		for _, c := range r.Checks {
			m, val := "✓", mdEscape(checkValue(c))
			switch {
			case c.NA():
				m, val = "❔", "**"+val+"**"
			case !c.Passed:
				m, val = "✗", "**"+val+"**"
			}
			weight := num(c.Weight)
			if c.Partial {
				weight += fmt.Sprintf(" · credit %.0f%%", c.Credit*100)
			}
			if c.Critical {
				weight += " critical"
			}
			expr := mdCode(c.Expr)
			for _, n := range c.Notes {
				expr += "<br>⚠ " + mdEscape(n)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", m, mdEscape(c.Name), val, expr, weight)
		}
		b.WriteString("\n")
	}

	if len(r.Scenarios) > 0 {
		b.WriteString("| scenario / step | count | rate/s | errors | p50 | p95 | p99 | max | notes |\n")
		b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|---|\n")
		for _, s := range r.Scenarios {
			notes := scenarioNotes(s)
			if len(s.Steps) != 1 || len(s.Steps[0].Metrics) == 0 {
				notes = append(statNotes(r.StepMetrics, s.Stats), notes...)
			}
			mdRow(&b, "**"+mdEscape(s.Name)+"** ("+s.Model+")", s.Stats, notes)
			for _, st := range s.Steps {
				mdRow(&b, "↳ "+mdEscape(st.Name), st.Stats, statNotes(r.StepMetrics, st.Stats))
			}
		}
		b.WriteString("\n")
		// Every due iteration's outcome, side by side.
		b.WriteString("| outcomes | due | ok | failed | dropped | interrupted | late | sent late | arrival/s (planned) |\n")
		b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, s := range r.Scenarios {
			o := s.Outcomes
			fmt.Fprintf(&b, "| **%s** | %d | %d | %d | %d | %d | %d | %s | %s |\n", mdEscape(s.Name), o.Due, o.OK, o.Failed,
				o.Dropped, o.Interrupted, o.Late, sentLateText(s), arrivalCell(s))
		}
		b.WriteString("\n")
		writeMarkdownErrorSamples(&b, r.Scenarios)
	}

	if len(r.Faults) > 0 {
		b.WriteString("| fault | target | window | before | during | after | errors during | recovery |\n")
		b.WriteString("|---|---|---|--:|--:|--:|--:|---|\n")
		for _, f := range r.Faults {
			h := htmlFaultOf(f)
			name := "**" + mdEscape(f.Name) + "** " + mdEscape(f.Describe)
			if h.Note != "" {
				name += " — " + mdEscape(h.Note)
			}
			if h.Problem != "" {
				name += " — **" + mdEscape(h.Problem) + "**"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", name, mdEscape(f.Target), h.When, h.Before,
				h.During, h.After, h.Errors, mdEscape(h.Recovery))
		}
		b.WriteString("\n")
	}

	if len(r.Recommendations) > 0 {
		b.WriteString("**Recommendations**\n\n")
		for _, rec := range r.Recommendations {
			b.WriteString("- " + mdEscape(rec) + "\n")
		}
		b.WriteString("\n")
	}

	var targets []string
	for _, t := range r.Targets {
		if have, missing := serverFigures(t); len(have)+len(missing) > 0 {
			fmt.Fprintf(&b, "<details><summary>server view of %s: %d figures from %d samples</summary>\n\n", mdEscape(t.Name), len(t.Server), t.ServerSamples)
			if len(have) > 0 {
				b.WriteString(mdEscape(strings.Join(have, " · ")) + "\n\n")
			}
			if len(missing) > 0 {
				b.WriteString("unavailable from this server: " + mdEscape(strings.Join(missing, ", ")) + "\n\n")
			}
			b.WriteString("</details>\n\n")
		}
		targets = append(targets, fmt.Sprintf("%s: %s, %s", mdEscape(t.Name), mdEscape(t.Driver), mdEscape(kindText(t))))
		if n := spansNote(t); n != "" {
			b.WriteString("> **Note**: " + mdEscape(n) + "\n\n")
		}
	}
	gen := "generator CPU " + cpuText(r.Generator.CPU)
	if r.Generator.Lag != nil {
		gen += fmt.Sprintf(", scheduling lag p99 %s", short(r.Generator.Lag.P99))
	}
	gen += " · " + validityText(r)
	line := gen
	if len(targets) > 0 {
		line = "targets " + strings.Join(targets, "; ") + " · " + gen
	}
	b.WriteString("<sub>" + line + "</sub>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func verdictText(r *Report) string {
	v := strings.ReplaceAll(r.Verdict, "_", " ")
	switch {
	case r.VerdictCapped:
		v += " (a critical check failed)"
	case r.Verdict == "invalid":
		v = "invalid measurement"
	}
	return v
}

func mdRow(b *strings.Builder, name string, s Stats, notes []string) {
	errs := fmt.Sprintf("%d", s.Errors)
	if s.Count == 0 {
		errs = "-" // nothing completed: the error count is unknown, not 0
	}
	if s.Errors > 0 && s.ErrorRate != nil {
		errs = fmt.Sprintf("%d (%s)", s.Errors, pct(s.ErrorRate))
	}
	l := s.Latency
	fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", name, s.Count, rateText(s.Rate), errs,
		latencyText(l, "p50"), latencyText(l, "p95"), latencyText(l, "p99"),
		latencyText(l, "max"), mdEscape(strings.Join(notes, "; ")))
}

// statNotes are the figures of a row that have no column.
func statNotes(decl []MetricInfo, s Stats) []string {
	notes := metricNotes(decl, &s, false)
	if len(s.ErrorsBy) > 0 {
		classes := make([]string, 0, len(s.ErrorsBy))
		for k := range s.ErrorsBy {
			classes = append(classes, k)
		}
		sort.Strings(classes)
		for _, k := range classes {
			notes = append(notes, fmt.Sprintf("%s %d", k, s.ErrorsBy[k]))
		}
	}
	return notes
}

func scenarioNotes(s Scenario) []string {
	var notes []string
	if h := hitRatioText(s); h != "" {
		notes = append(notes, h)
	}
	if s.LatencyBasis == "response" {
		notes = append(notes, "latency from scheduled start")
	}
	if s.Warmup > 0 {
		notes = append(notes, "warmup "+num(s.Warmup)+"s")
	}
	if s.Aborted != "" {
		notes = append(notes, "aborted: "+s.Aborted)
	}
	return notes
}

// writeMarkdownErrorSamples lists the scenarios' and steps' first distinct
// error messages, when there are any.
func writeMarkdownErrorSamples(b *strings.Builder, scenarios []Scenario) {
	var lines []string
	add := func(where string, samples []ErrorSample) {
		for _, e := range samples {
			lines = append(lines, "- "+where+": "+mdEscape(errorSampleText(e)))
		}
	}
	for _, s := range scenarios {
		add("**"+mdEscape(s.Name)+"**", s.ErrorSamples)
		for _, st := range s.Steps {
			add("**"+mdEscape(s.Name)+"** ↳ "+mdEscape(st.Name), st.ErrorSamples)
		}
	}
	if len(lines) == 0 {
		return
	}
	b.WriteString("**Errors** (first distinct messages)\n\n")
	b.WriteString(strings.Join(lines, "\n") + "\n\n")
}
