package report

import (
	"fmt"
	"strings"
)

// Helpers shared by the JUnit, Markdown, HTML, compare and trend renderers.

// title is the name a report goes by: the plan's name, else its path.
func title(r *Report) string {
	if r.Plan.Name != "" {
		return r.Plan.Name
	}
	if r.Plan.Path != "" {
		return r.Plan.Path
	}
	return "runplan"
}

// validityText says how the measurement was judged: valid, INVALID, not
// judged because the run did not start, or not judged because no scenario
// used the open model (validity is the open model's scheduling).
func validityText(r *Report) string {
	switch {
	case r.NotStarted:
		return "measurement not judged (the run did not start)"
	case r.Invalid():
		return "measurement INVALID"
	case r.Generator.Lag == nil && r.Generator.Scheduled == 0:
		return "validity not judged (closed model)"
	default:
		return "measurement valid"
	}
}

// scoreText is the score as "75.0/100", or "n/a" for an unscored report;
// the score of an invalid measurement is marked untrusted.
func scoreText(r *Report) string {
	if r.Score == nil {
		return "n/a"
	}
	if r.Invalid() {
		return fmt.Sprintf("%.1f/100 (untrusted)", *r.Score)
	}
	return fmt.Sprintf("%.1f/100", *r.Score)
}

// failedChecks counts the checks that failed (errored checks included).
func failedChecks(r *Report) int {
	n := 0
	for _, c := range r.Checks {
		if !c.Passed {
			n++
		}
	}
	return n
}

// checkValue is a check's value for people: the error when it has one.
func checkValue(c Check) string {
	if c.Error != "" {
		return "error: " + c.Error
	}
	if c.NA() {
		return "n/a: not measured: " + strings.Join(c.Missing, ", ")
	}
	if c.Display == "" {
		return "n/a"
	}
	return c.Display
}

// latencyText prints the named figure of l ("p99") compactly, "-" when
// unmeasured, with "≥" when it is a lower bound (Latency.AtLeast).
func latencyText(l *Latency, name string) string {
	if l == nil {
		return "-"
	}
	if l.IsAtLeast(name) {
		return "≥" + short(latencyPick[name](l))
	}
	return short(latencyPick[name](l))
}

// outcomesText is a scenario's outcomes side by side: what became of every
// iteration due in its measured window.
func outcomesText(s Scenario) string {
	o := s.Outcomes
	t := fmt.Sprintf("due %d: ok %d, failed %d, dropped %d, interrupted %d, late %d", o.Due, o.OK, o.Failed, o.Dropped,
		o.Interrupted, o.Late)
	if s.Model == "open" {
		t += fmt.Sprintf(" (sent late %d)", o.SentLate)
	}
	return t
}

// arrivalText is the open model's achieved and planned arrival rates, ""
// when the scenario has none.
func arrivalText(s Scenario) string {
	if s.ArrivalRate == nil || s.PlannedRate == nil {
		return ""
	}
	return fmt.Sprintf("arrival %s/s of %s/s planned", rateText(*s.ArrivalRate), rateText(*s.PlannedRate))
}

// sentLateText is the sent-late count of an open-model scenario, "-" in the
// closed model (which is never late).
func sentLateText(s Scenario) string {
	if s.Model != "open" {
		return "-"
	}
	return fmt.Sprintf("%d", s.Outcomes.SentLate)
}

// arrivalCell is "achieved (planned)" per second, "-" without them.
func arrivalCell(s Scenario) string {
	if s.ArrivalRate == nil || s.PlannedRate == nil {
		return "-"
	}
	return rateText(*s.ArrivalRate) + " (" + rateText(*s.PlannedRate) + ")"
}

// cpuText is the generator's CPU share, "unknown" where the system did not
// say.
func cpuText(f *float64) string {
	if f == nil {
		return "unknown"
	}
	return fmt.Sprintf("%.0f%%", *f*100)
}

func pct(f *float64) string {
	if f == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.2f%%", *f*100)
}

// rateText prints a rate per second with sensible precision.
func rateText(f float64) string {
	switch {
	case f >= 100:
		return fmt.Sprintf("%.0f", f)
	case f >= 10:
		return fmt.Sprintf("%.1f", f)
	default:
		return fmt.Sprintf("%.2f", f)
	}
}

// Percentile pickers, by the names used in compare tolerances.
var latencyPick = map[string]func(*Latency) float64{
	"p50":  func(l *Latency) float64 { return l.P50 },
	"p90":  func(l *Latency) float64 { return l.P90 },
	"p95":  func(l *Latency) float64 { return l.P95 },
	"p99":  func(l *Latency) float64 { return l.P99 },
	"p999": func(l *Latency) float64 { return l.P999 },
	"max":  func(l *Latency) float64 { return l.Max },
	"min":  func(l *Latency) float64 { return l.Min },
	"mean": func(l *Latency) float64 { return l.Mean },
}

// mdEscape makes s safe inside a Markdown table cell: pipes cannot end the
// cell and no markup or HTML gets through. Underscores stay: inside a word
// (snake_case names) they emphasise nothing in GitHub-flavoured Markdown.
func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "\\", "\\\\")
	s = strings.ReplaceAll(s, "|", "\\|")
	s = strings.ReplaceAll(s, "\n", " ")
	for _, c := range []string{"*", "<", ">", "[", "]", "`"} {
		s = strings.ReplaceAll(s, c, "\\"+c)
	}
	return s
}

// mdCode puts s in a code span inside a table cell: pipes stay escaped
// (GitHub splits cells on them even in code), backticks get a longer fence.
func mdCode(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	s = strings.ReplaceAll(s, "\n", " ")
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}
