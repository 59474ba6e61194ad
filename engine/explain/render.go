package explain

import (
	"fmt"
	"io"
	"strings"

	"github.com/runplan/runplan/schema"
)

// dur writes a duration as a plan does.
var dur = schema.FormatDuration

// legend says how to read the chart.
func (tl *timeline) legend() string {
	return fmt.Sprintf("one column = %s; each load row is scaled to its own peak (▁ low … █ peak, ░▒▓ warmup: run, not measured, · none); █ fault active (▒ maybe: probability below 1, … until the end)", dur(tl.step))
}

// loadWords says a scenario's load shape in words.
func loadWords(s *Scenario) string {
	var parts []string
	switch {
	case s.Burst != nil:
		parts = append(parts, fmt.Sprintf("open model: %d at once every %s, %d times", s.Burst.Size, dur(s.Burst.Every), s.Burst.Count))
	case s.Model == Open && len(s.Shape) > 2:
		parts = append(parts, "open model: "+ramp(s, "/s"))
	case s.Model == Open:
		parts = append(parts, fmt.Sprintf("open model: %s/s for %s", number(s.Peak()), dur(s.Duration)))
	case len(s.Shape) > 2:
		parts = append(parts, "closed model: "+ramp(s, " VUs"))
	case s.Iterations > 0 && s.PerVU:
		parts = append(parts, fmt.Sprintf("closed model: %d VUs, %d iterations each", s.VUs, s.Iterations))
	case s.Iterations > 0:
		parts = append(parts, fmt.Sprintf("closed model: %d VUs share %d iterations", s.VUs, s.Iterations))
	default:
		parts = append(parts, fmt.Sprintf("closed model: %d VUs for %s", s.VUs, dur(s.Duration)))
	}
	if s.Iterations > 0 && s.Duration > 0 && len(s.Shape) <= 2 && s.Model == Closed {
		parts[0] += fmt.Sprintf(" (or %s, whichever ends first)", dur(s.Duration))
	}
	if end := s.End(); end > 0 {
		parts = append(parts, fmt.Sprintf("runs %s → %s", dur(s.Start), dur(end)))
	} else {
		parts = append(parts, "starts at "+dur(s.Start))
	}
	if s.Warmup > 0 {
		parts = append(parts, fmt.Sprintf("warmup %s (not measured)", dur(s.Warmup)))
	}
	if s.Model == Open {
		parts = append(parts, fmt.Sprintf("at most %d in flight", s.MaxVUs))
		if s.Late != "" && s.Late != "auto" {
			parts = append(parts, "late: "+s.Late)
		}
	}
	if s.GracefulStop > 0 {
		parts = append(parts, "graceful stop "+dur(s.GracefulStop))
	}
	return strings.Join(parts, "; ")
}

// ramp says stages: "0/s → 200/s over 30s, hold 1m, → 0/s over 30s".
func ramp(s *Scenario, unit string) string {
	sh := s.Shape
	out := []string{"from " + number(sh[0].Value) + unit}
	for i := 1; i < len(sh); i++ {
		d := dur(sh[i].At - sh[i-1].At)
		if sh[i].Value == sh[i-1].Value {
			out = append(out, "hold "+d)
		} else {
			out = append(out, fmt.Sprintf("to %s%s over %s", number(sh[i].Value), unit, d))
		}
	}
	return strings.Join(out, ", ")
}

// stepLine says a step in a line; code quotes its detail.
func stepLine(s *Scenario, i int, code func(string) string) string {
	st := s.Steps[i]
	line := fmt.Sprintf("%d. %s", i+1, st.Name)
	if st.Kind == "sleep" && st.Name == "sleep" {
		line = fmt.Sprintf("%d. %s", i+1, st.Detail)
	}
	if s.Mix {
		line += fmt.Sprintf(" (weight %s)", number(st.Weight))
	}
	switch {
	case st.Kind == "sleep" && st.Name == "sleep":
	case st.Kind == "sleep":
		line += ": " + st.Detail
	default:
		line += fmt.Sprintf(" → %s (%s): %s", st.Target, st.Kind, code(st.Detail))
	}
	return line
}

// faultWhen says when a fault acts.
func faultWhen(f Fault) string {
	s := dur(f.At) + " → "
	if f.For > 0 {
		s += fmt.Sprintf("%s (%s)", dur(f.At+f.For), dur(f.For))
	} else {
		s += "end of run"
	}
	if f.Probability < 1 {
		s += fmt.Sprintf(", probability %s %%", number(f.Probability*100))
	}
	return s
}

func critical(c Check) string {
	if c.Critical {
		return "critical: failing it caps the verdict at not_ready"
	}
	return ""
}

func validityWords(v Validity) string {
	return fmt.Sprintf("scheduling lag p99 at most %s, late iterations at most %s %%", dur(v.LagP99), number(v.Late*100))
}

// WriteText writes the plan's explanation as plain text for a terminal.
func WriteText(w io.Writer, p *Plan) error {
	var b strings.Builder
	fmt.Fprintf(&b, "plan %s (%s)\n", p.Name, p.Path)
	if p.Description != "" {
		fmt.Fprintf(&b, "  %s\n", p.Description)
	}
	b.WriteString("  " + seedWords(p) + "\n")

	b.WriteString("\ntargets\n")
	for _, t := range p.Targets {
		fmt.Fprintf(&b, "  %s: %s, %s", t.Name, t.Driver, t.Kind)
		if t.Note != "" {
			fmt.Fprintf(&b, " (%s)", t.Note)
		}
		if t.Addr != "" {
			fmt.Fprintf(&b, " at %s", t.Addr)
		}
		b.WriteString("\n")
	}

	if len(p.Data) > 0 {
		b.WriteString("\ndata\n")
		for _, d := range p.Data {
			fmt.Fprintf(&b, "  %s: %s (%s)\n", d.Name, d.File, dataWords(d))
		}
	}

	if tl := chart(p); tl != nil {
		fmt.Fprintf(&b, "\ntimeline 0s → %s\n", dur(p.End()))
		for _, l := range tl.lines() {
			b.WriteString("  " + l + "\n")
		}
		b.WriteString("  " + tl.legend() + "\n")
	}

	b.WriteString("\nscenarios\n")
	for i := range p.Scenarios {
		s := &p.Scenarios[i]
		fmt.Fprintf(&b, "  %s: %s\n", s.Name, loadWords(s))
		if s.Description != "" {
			fmt.Fprintf(&b, "    %s\n", s.Description)
		}
		if len(s.Vars) > 0 {
			fmt.Fprintf(&b, "    vars (each iteration): %s\n", strings.Join(s.Vars, ", "))
		}
		if s.Mix {
			b.WriteString("    each iteration runs one step, drawn by weight:\n")
		}
		for j := range s.Steps {
			fmt.Fprintf(&b, "    %s\n", stepLine(s, j, func(s string) string { return s }))
		}
		if s.Validity != p.Validity {
			fmt.Fprintf(&b, "    validity: %s\n", validityWords(s.Validity))
		}
	}

	if len(p.Faults) > 0 {
		b.WriteString("\nfaults\n")
		for _, f := range p.Faults {
			fmt.Fprintf(&b, "  %s: %s on %s, %s: %s\n", f.Name, f.Kind, f.Target, faultWhen(f), f.Describe)
			if f.Description != "" {
				fmt.Fprintf(&b, "    %s\n", f.Description)
			}
			if len(f.Scenarios) > 0 {
				fmt.Fprintf(&b, "    affects %s\n", strings.Join(f.Scenarios, ", "))
			}
		}
	}

	if len(p.Checks) > 0 {
		fmt.Fprintf(&b, "\nchecks (weights total %s)\n", number(p.TotalWeight()))
		for _, c := range p.Checks {
			fmt.Fprintf(&b, "  %s: weight %s", c.Name, number(c.Weight))
			if c.Critical {
				b.WriteString(", CRITICAL")
			}
			b.WriteString("\n")
			if c.Description != "" {
				fmt.Fprintf(&b, "    %s\n", c.Description)
			}
			fmt.Fprintf(&b, "    expr: %s\n", c.Expr)
			if c.Words != "" {
				fmt.Fprintf(&b, "    in words: %s\n", c.Words)
			}
			if c.HasBounds {
				fmt.Fprintf(&b, "    partial credit: full weight at %s, none at %s\n", c.Good, c.Bad)
			}
			if c.Critical {
				fmt.Fprintf(&b, "    %s\n", critical(c))
			}
		}
	}
	b.WriteString("\nverdict\n")
	fmt.Fprintf(&b, "  %s\n", readinessWords(p.Readiness))
	fmt.Fprintf(&b, "  invalid when the generator misses the load: %s\n", validityWords(p.Validity))

	if len(p.Recommendations) > 0 {
		b.WriteString("\nrecommendations\n")
		for _, r := range p.Recommendations {
			fmt.Fprintf(&b, "  when %s", r.When)
			if r.Words != "" {
				fmt.Fprintf(&b, " (%s)", r.Words)
			}
			fmt.Fprintf(&b, "\n    say %q\n", r.Say)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// dataWords says how a data source is read.
func dataWords(d DataSource) string {
	var parts []string
	if d.Format != "" {
		parts = append(parts, d.Format)
	}
	if d.Rows > 0 {
		parts = append(parts, fmt.Sprintf("%d rows", d.Rows))
	}
	if len(d.Columns) > 0 {
		parts = append(parts, "columns "+strings.Join(d.Columns, ", "))
	}
	how := "one row per iteration"
	if d.Pick != "" {
		how += ", " + d.Pick
	}
	if d.Cursor != "" {
		how += ", cursor " + d.Cursor
	}
	if d.Exhausted != "" && d.Pick == "unique" {
		how += ", when the rows run out: " + d.Exhausted
	}
	parts = append(parts, how)
	return strings.Join(parts, "; ")
}

func seedWords(p *Plan) string {
	s := "seed: none (each run draws one)"
	if p.HasSeed {
		s = fmt.Sprintf("seed %d", p.Seed)
	}
	return s + fmt.Sprintf("; time-series interval %s", dur(p.Interval))
}

func readinessWords(r Readiness) string {
	return fmt.Sprintf("ready at a score of %s or more, degraded at %s or more, not_ready below", number(r.Ready), number(r.Degraded))
}

// WriteMarkdown writes the plan's explanation as GitHub-flavoured
// Markdown, for a pull request comment.
func WriteMarkdown(w io.Writer, p *Plan) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### Plan `%s`\n\n", p.Name)
	if p.Description != "" {
		fmt.Fprintf(&b, "%s\n\n", md(p.Description))
	}
	fmt.Fprintf(&b, "`%s` · %s\n\n", p.Path, seedWords(p))

	b.WriteString("#### Targets\n\n| target | driver | kind | address |\n|---|---|---|---|\n")
	for _, t := range p.Targets {
		kind := t.Kind
		if t.Note != "" {
			kind += ": " + md(t.Note)
		}
		addr := "—"
		if t.Addr != "" {
			addr = "`" + t.Addr + "`"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.Name, t.Driver, kind, addr)
	}

	if len(p.Data) > 0 {
		b.WriteString("\n#### Data\n\n| source | file | read |\n|---|---|---|\n")
		for _, d := range p.Data {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", d.Name, code(d.File), md(dataWords(d)))
		}
	}

	if tl := chart(p); tl != nil {
		fmt.Fprintf(&b, "\n#### Timeline 0s → %s\n\n```text\n", dur(p.End()))
		for _, l := range tl.lines() {
			b.WriteString(l + "\n")
		}
		b.WriteString("```\n\n" + md(tl.legend()) + "\n")
	}

	b.WriteString("\n#### Scenarios\n")
	for i := range p.Scenarios {
		s := &p.Scenarios[i]
		fmt.Fprintf(&b, "\n**%s** — %s\n", s.Name, md(loadWords(s)))
		if s.Description != "" {
			fmt.Fprintf(&b, "\n%s\n", md(s.Description))
		}
		b.WriteString("\n")
		if len(s.Vars) > 0 {
			fmt.Fprintf(&b, "- vars (each iteration): %s\n", code(strings.Join(s.Vars, ", ")))
		}
		if s.Mix {
			b.WriteString("- each iteration runs one step, drawn by weight:\n")
		}
		for j := range s.Steps {
			b.WriteString(stepLine(s, j, code) + "\n")
		}
		if s.Validity != p.Validity {
			fmt.Fprintf(&b, "\nvalidity: %s\n", validityWords(s.Validity))
		}
	}

	if len(p.Faults) > 0 {
		b.WriteString("\n#### Faults\n\n| fault | target | kind | when | what | affects |\n|---|---|---|---|---|---|\n")
		for _, f := range p.Faults {
			name := f.Name
			if f.Description != "" {
				name += "<br>" + md(f.Description)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", name, f.Target, f.Kind, faultWhen(f), md(f.Describe), strings.Join(f.Scenarios, ", "))
		}
	}

	if len(p.Checks) > 0 {
		fmt.Fprintf(&b, "\n#### Checks (weights total %s)\n\n| check | weight | critical | expression | in words |\n|---|--:|---|---|---|\n", number(p.TotalWeight()))
		for _, c := range p.Checks {
			crit := ""
			if c.Critical {
				crit = "**yes**"
			}
			name := c.Name
			if c.Description != "" {
				name += "<br>" + md(c.Description)
			}
			words := md(c.Words)
			if c.HasBounds {
				words += fmt.Sprintf("<br>partial credit: full weight at %s, none at %s", code(c.Good), code(c.Bad))
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", name, number(c.Weight), crit, code(c.Expr), words)
		}
	}
	b.WriteString("\n#### Verdict\n\n")
	fmt.Fprintf(&b, "- %s\n", readinessWords(p.Readiness))
	fmt.Fprintf(&b, "- invalid when the generator misses the load: %s\n", validityWords(p.Validity))

	if len(p.Recommendations) > 0 {
		b.WriteString("\n#### Recommendations\n\n| when | says |\n|---|---|\n")
		for _, r := range p.Recommendations {
			when := code(r.When)
			if r.Words != "" {
				when += "<br>" + md(r.Words)
			}
			fmt.Fprintf(&b, "| %s | %s |\n", when, md(r.Say))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// md escapes text for a Markdown table cell or paragraph.
func md(s string) string {
	r := strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`, "`", "\\`")
	return r.Replace(s)
}

// code writes s as inline code, safe in a table cell.
func code(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\n", " "), "|", `\|`)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}
