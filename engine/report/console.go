package report

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/runplan/runplan/engine/check"
	"github.com/runplan/runplan/engine/driver"
)

// ConsoleOptions tune the console summary.
type ConsoleOptions struct {
	// Color enables ANSI colours; use it only on a terminal.
	Color bool
}

type painter bool

func (p painter) paint(code, s string) string {
	if !p {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// WriteConsole writes the human summary, readable at 80 columns.
func WriteConsole(w io.Writer, r *Report, opts ConsoleOptions) error {
	p := painter(opts.Color)
	var b strings.Builder
	title := r.Plan.Name
	if title == "" {
		title = r.Plan.Path
	}
	facts := fmt.Sprintf("%.1fs · seed %d · run %s", r.Duration, r.Seed, r.RunID)
	if r.Segment != nil {
		facts += fmt.Sprintf(" · segment %d/%d", r.Segment.Index, r.Segment.Count)
	}
	fmt.Fprintf(&b, "%s  %s\n", p.paint("1", "runplan · "+title), facts)
	switch {
	case r.NotStarted:
		fmt.Fprintln(&b, p.paint("33", "NOT STARTED: the run did not start; nothing was measured."))
	case r.Partial:
		fmt.Fprintln(&b, p.paint("33", "PARTIAL: the run did not complete; figures cover what ran."))
	}
	if r.Error != "" {
		fmt.Fprintln(&b, p.paint("31", "error: "+r.Error))
	}
	if r.Invalid() {
		fmt.Fprintln(&b, p.paint("1;31", "INVALID MEASUREMENT: the load generator could not hold the requested load."))
		for _, reason := range r.Generator.Reasons {
			fmt.Fprintln(&b, p.paint("31", "  - "+reason))
		}
		if a := r.Generator.Advice; a != "" {
			fmt.Fprintln(&b, wrapText("  ", a, 80, "  "))
		}
	}
	for _, n := range r.Notices {
		fmt.Fprintln(&b, p.paint("1;33", wrapText("NOTICE: ", n, 80, "  ")))
	}
	writeState(&b, r, p)
	for _, t := range r.Targets {
		line := fmt.Sprintf("target %s: %s, %s", t.Name, t.Driver, kindText(t))
		if len([]rune(line))+1+len([]rune(t.Addr)) <= 80 {
			fmt.Fprintf(&b, "%s %s\n", line, t.Addr)
		} else {
			fmt.Fprintf(&b, "%s\n    %s\n", line, cut(t.Addr, 76))
		}
	}
	serverView(&b, r.Targets)
	fmt.Fprintln(&b)
	fmt.Fprintf(&b, "%-22s %8s %8s %7s %7s %7s %7s %7s\n", "SCENARIO / STEP", "COUNT", "RATE/s", "ERRORS", "P50", "P95", "P99", "MAX")
	for _, s := range r.Scenarios {
		scen := s.Stats
		if len(s.Steps) == 1 {
			scen.Metrics = nil // shown on the step
		}
		row(&b, r.StepMetrics, s.Name, scen, "")
		for _, st := range s.Steps {
			row(&b, r.StepMetrics, "  "+st.Name, st.Stats, "  ")
		}
		notes := []string{s.Model + " model"}
		if s.Warmup > 0 {
			notes = append(notes, fmt.Sprintf("warmup %ss not measured", num(s.Warmup)))
		}
		if s.Aborted != "" {
			notes = append(notes, "aborted: "+s.Aborted)
		}
		if s.LatencyBasis == "response" {
			notes = append(notes, "latency from scheduled start")
		}
		fmt.Fprintf(&b, "  (%s)\n", strings.Join(notes, ", "))
		out := outcomesText(s)
		if a := arrivalText(s); a != "" {
			out += "; " + a
		}
		fmt.Fprintln(&b, wrapText("  ", out, 80, "    "))
		if h := hitRatioText(s); h != "" {
			fmt.Fprintln(&b, wrapText("  ", h, 80, "    "))
		}
	}
	if len(r.Faults) > 0 {
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, p.paint("1", "FAULTS"))
		for _, f := range r.Faults {
			head := fmt.Sprintf(" %s on %s: %s", f.Name, f.Target, f.Describe)
			switch {
			case !f.Applied && f.Error != "":
				fmt.Fprintln(&b, wrapText(" ", head+" — failed to start: "+f.Error, 80, "   "))
			case !f.Applied:
				fmt.Fprintln(&b, wrapText(" ", head+" — not applied: "+f.Skipped, 80, "   "))
			default:
				fmt.Fprintf(&b, "%s, %.1fs–%.1fs\n", head, f.Start, f.End)
				for _, w := range []struct {
					label string
					w     *Window
				}{{"before", f.Before}, {"during", f.During}, {"after ", f.After}} {
					fmt.Fprintln(&b, wrapText("   "+w.label+"  ", winCell(w.w), 80, "           "))
				}
				if f.Recovery != nil {
					fmt.Fprintln(&b, wrapText("   ", "recovered after "+recoveryText(f), 80, "     "))
				} else {
					fmt.Fprintln(&b, wrapText("   ", "recovery "+recoveryText(f), 80, "     "))
				}
			}
			if f.UndoError != "" {
				fmt.Fprintln(&b, p.paint("31", "   UNDO FAILED: "+f.UndoError))
			}
		}
		fmt.Fprintln(&b)
	}
	gen := "cpu " + cpuText(r.Generator.CPU)
	if r.Generator.Lag != nil {
		gen += fmt.Sprintf(", scheduling lag p99 %s, late %d of %d", short(r.Generator.Lag.P99), r.Generator.Late, r.Generator.Scheduled)
	}
	if r.NotStarted {
		gen = validityText(r)
	} else {
		gen += " — " + validityText(r)
	}
	fmt.Fprintln(&b, wrapText("generator: ", gen, 80, "  "))
	fmt.Fprintln(&b)
	if len(r.Checks) > 0 {
		fmt.Fprintln(&b, p.paint("1", "CHECKS"))
		for _, c := range r.Checks {
			mark := p.paint("32", "✓")
			switch {
			case c.NA():
				mark = p.paint("33", "?")
			case !c.Passed:
				mark = p.paint("31", "✗")
			}
			extra := ""
			if c.Partial {
				extra += fmt.Sprintf(" credit %.0f%%", c.Credit*100)
			}
			if c.Critical {
				extra += " critical"
			}
			val := c.Display
			if c.Error != "" {
				val = "error"
			}
			fmt.Fprintf(&b, " %s %-28s %12s  weight %s%s\n", mark, cut(c.Name, 28), cut(val, 24), num(c.Weight), extra)
			fmt.Fprintf(&b, "     %s\n", cut(c.Expr, 74))
			for _, n := range c.Notes {
				fmt.Fprintln(&b, p.paint("33", wrapText("     note: ", n, 80, "       ")))
			}
			if c.Error != "" {
				fmt.Fprintln(&b, wrapText("     error: ", c.Error, 80, "       "))
			}
			if c.NA() {
				fmt.Fprintln(&b, wrapText("     n/a, not measured: ", strings.Join(c.Missing, ", "), 80, "       "))
			}
		}
		fmt.Fprintln(&b)
	}
	score := "n/a (no checks)"
	if r.Score != nil {
		score = scoreText(r)
	}
	verdictColor := map[string]string{"ready": "32", "degraded": "33", "not_ready": "31", "invalid": "35"}[r.Verdict]
	v := r.Verdict
	switch {
	case r.VerdictCapped:
		v += " (a critical check failed)"
	case r.Verdict == "invalid":
		v += " (see INVALID MEASUREMENT above)"
	}
	fmt.Fprintf(&b, "SCORE %s   VERDICT %s\n", score, p.paint("1;"+verdictColor, v))
	if len(r.Recommendations) > 0 {
		fmt.Fprintln(&b, "\n"+p.paint("1", "RECOMMENDATIONS"))
		for _, rec := range r.Recommendations {
			fmt.Fprintln(&b, wrapText(" - ", rec, 80, "   "))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeState prints what earlier dead runs left on the targets, and what
// this run could not undo or clean up, each change on its own line.
func writeState(b *strings.Builder, r *Report, p painter) {
	for _, d := range r.DeadRuns {
		fmt.Fprintln(b, p.paint("33", wrapText("WARNING: ", deadRunLine(d), 80, "  ")))
		fmt.Fprintln(b, p.paint("33", "  restore with: "+cleanupCommand(d.Server)))
	}
	if len(r.Leftovers) == 0 {
		return
	}
	fmt.Fprintln(b, p.paint("1;31", "NOT UNDONE: the run left its targets changed:"))
	for _, l := range r.Leftovers {
		fmt.Fprintln(b, p.paint("31", wrapText("  - "+l.Target+": ", leftoverLine(l), 80, "    ")))
	}
	for _, server := range leftoverServers(r.Leftovers) {
		// Never wrapped nor cut: it is meant to be copied.
		fmt.Fprintln(b, p.paint("31", "  restore with: "+cleanupCommand(server)))
	}
	if r.Journal != "" {
		fmt.Fprintln(b, p.paint("31", "  journal: "+r.Journal))
	}
}

func row(b *strings.Builder, decl []MetricInfo, name string, s Stats, indent string) {
	errs := fmt.Sprintf("%d", s.Errors)
	if s.Count == 0 {
		errs = "-" // nothing completed: the error count is unknown, not 0
	}
	fmt.Fprintf(b, "%-22s %8d %8.1f %7s %7s %7s %7s %7s\n", cut(name, 22), s.Count, s.Rate, errs,
		latencyText(s.Latency, "p50"), latencyText(s.Latency, "p95"), latencyText(s.Latency, "p99"), latencyText(s.Latency, "max"))
	notes := metricNotes(decl, &s, true)
	if len(s.ErrorsBy) > 0 {
		classes := make([]string, 0, len(s.ErrorsBy))
		for k := range s.ErrorsBy {
			classes = append(classes, k)
		}
		sort.Strings(classes)
		var parts []string
		for _, k := range classes {
			parts = append(parts, fmt.Sprintf("%s %d", k, s.ErrorsBy[k]))
		}
		notes = append(notes, "errors: "+strings.Join(parts, ", "))
	}
	for _, n := range notes {
		fmt.Fprintf(b, "%s  %s\n", indent, n)
	}
	for _, e := range s.ErrorSamples {
		fmt.Fprintln(b, wrapText(indent+"  ", errorSampleText(e), 80, indent+"    "))
	}
}

// errorSampleText is one error sample on a line: "template ×3 at
// plan.yaml:12:7: {{ uniform(vars.n) }}: ...".
func errorSampleText(e ErrorSample) string {
	t := fmt.Sprintf("%s ×%d", e.Class, e.Count)
	if e.At != "" {
		t += " at " + e.At
	}
	return t + ": " + e.Message
}

// short prints milliseconds compactly in at most 7 characters.
func short(msf float64) string {
	d := time.Duration(msf * 1e6)
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", msf*1000)
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", msf)
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.1fms", msf)
	case d < time.Second:
		return fmt.Sprintf("%.0fms", msf)
	case d < 100*time.Second:
		return fmt.Sprintf("%.2fs", msf/1000)
	default:
		return fmt.Sprintf("%.0fs", msf/1000)
	}
}

func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// serverView prints each target's own figures, and names those its server
// did not provide.
func serverView(b *strings.Builder, targets []Target) {
	for _, t := range targets {
		if len(t.Server) == 0 {
			continue
		}
		have, missing := serverFigures(t)
		line := "  server view of " + t.Name + ": "
		if len(have) == 0 {
			line += "no figures"
		}
		fmt.Fprintln(b, wrap(line, have, 80))
		if len(missing) > 0 {
			fmt.Fprintln(b, wrap("    unavailable from this server: ", missing, 80))
		}
		if n := spansNote(t); n != "" {
			fmt.Fprintln(b, wrapText("    ", "note: "+n, 80, "      "))
		}
		if t.ServerError != "" {
			fmt.Fprintf(b, "    last sampling error: %s\n", t.ServerError)
		}
	}
}

// figure prints a server figure with four significant digits and no
// exponent for everyday magnitudes (0.00008967, not 8.967e-05).
// serverFigures are t's server figures for people ("usec_per_call 23µs"),
// and the names of those its server did not provide.
func serverFigures(t Target) (have, missing []string) {
	units := serverUnits(t)
	for _, f := range t.Server {
		if f.Value == nil {
			missing = append(missing, f.Name)
			continue
		}
		have = append(have, f.Name+" "+serverFigureText(units, f))
	}
	return have, missing
}

// serverUnits maps the server figures of t that are durations to their
// unit (driver.ServerMetric.Unit), from the declarations of t's driver
// when this binary has it (a report read back included); empty otherwise,
// and the figures are then shown as plain numbers.
func serverUnits(t Target) map[string]string {
	units := map[string]string{}
	d, err := driver.Lookup(t.Driver)
	if err != nil {
		return units
	}
	if sm, ok := d.(driver.ServerMetricser); ok {
		for _, m := range sm.ServerMetrics() {
			if _, ok := driver.DurationUnits[m.Unit]; ok {
				units[m.Name] = m.Unit
			}
		}
	}
	return units
}

// serverFigureText is a server figure for people: a duration as a latency
// ("23µs", "1.20ms", like the client-side ones), anything else as a plain
// number. The value must be known.
func serverFigureText(units map[string]string, f ServerFigure) string {
	if ms, ok := driver.DurationUnits[units[f.Name]]; ok {
		return short(*f.Value * ms)
	}
	return figure(*f.Value)
}

// figure prints a number for people, a count in full, never with an
// exponent (check.FormatNumber).
func figure(v float64) string { return check.FormatNumber(v) }

// num prints a number as it is (a weight, seconds of a run), never with an
// exponent.
func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// wrap joins items after prefix, breaking lines before width.
func wrap(prefix string, items []string, width int) string {
	var b strings.Builder
	b.WriteString(prefix)
	col := len([]rune(prefix))
	indent := strings.Repeat(" ", 6)
	for i, it := range items {
		sep := ""
		if i > 0 {
			sep = ", "
		}
		// +1: the comma that follows every item but the last.
		if i > 0 && col+len(sep)+len([]rune(it))+1 > width {
			b.WriteString(",\n" + indent)
			col = len(indent)
			sep = ""
		}
		b.WriteString(sep + it)
		col += len(sep) + len([]rune(it))
	}
	return b.String()
}

func winP99(w *Window) string {
	if w == nil || w.Latency == nil {
		return "-"
	}
	return short(w.Latency.P99)
}

// wrapText word-wraps text after prefix to width columns, continuing lines
// with indent; a word longer than a line is cut.
func wrapText(prefix, text string, width int, indent string) string {
	var b strings.Builder
	b.WriteString(prefix)
	col := len([]rune(prefix))
	start := true
	for _, w := range strings.Fields(text) {
		n := len([]rune(w))
		if !start && col+1+n > width {
			b.WriteString("\n" + indent)
			col = len([]rune(indent))
			start = true
		}
		if !start {
			b.WriteByte(' ')
			col++
		}
		if col+n > width {
			w = cut(w, max(width-col, 2))
			n = len([]rune(w))
		}
		b.WriteString(w)
		col += n
		start = false
	}
	return b.String()
}

// errorSampleLines are the scenarios' and steps' error samples, one line
// each: "scenario › step: template ×3 at plan.yaml:12:7: ...".
func errorSampleLines(scenarios []Scenario) []string {
	var out []string
	for _, s := range scenarios {
		for _, e := range s.ErrorSamples {
			out = append(out, s.Name+": "+errorSampleText(e))
		}
		for _, st := range s.Steps {
			for _, e := range st.ErrorSamples {
				out = append(out, s.Name+" › "+st.Name+": "+errorSampleText(e))
			}
		}
	}
	return out
}
