package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// JUnit XML, in the Ant/Surefire layout that CI test-report parsers read
// (Jenkins, GitLab, GitHub test reporters, Azure, CircleCI): one test suite
// per report, one test case per check. The document is valid under Ant's
// JUnit.xsd (the <testsuites> wrapper without attributes, each suite with
// id, package, hostname and timestamp, properties and both system streams,
// at most one failure or error per case and no <skipped>) and under the
// Jenkins JUnit schema; the tests validate it against both. A failed check is a <failure> whose
// message gives the measured value against the expression; a check whose
// expression could not be evaluated is an <error>. Two more test cases say
// whether the run completed and whether the measurement is valid, so that a
// run the generator could not drive never shows up as plain green.

// junitSuites is the aggregate form; Ant's schema allows it no attributes
// (the parsers add up the suites).
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Hostname   string          `xml:"hostname,attr"`
	ID         int             `xml:"id,attr"`
	Package    string          `xml:"package,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  cdata           `xml:"system-out"`
	SystemErr  cdata           `xml:"system-err"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

// cdata keeps line breaks readable in the XML (character data would
// encode them as &#xA;). Its text must go through xmlSafe.
type cdata struct {
	Text string `xml:",cdata"`
}

// xmlSafe replaces the characters XML 1.0 forbids (most control
// characters, which an error message may carry) with U+FFFD.
func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return r
		case r < 0x20, r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
			return '\uFFFD'
		}
		return r
	}, s)
}

// WriteJUnit writes r as JUnit XML.
func WriteJUnit(w io.Writer, r *Report) error {
	name := title(r)
	class := "runplan." + name
	suite := junitSuite{
		Name:      name,
		Time:      seconds(r.Duration),
		Timestamp: r.StartedAt.UTC().Format("2006-01-02T15:04:05"),
		// The report does not record the generator's host name; Ant's
		// schema asks for "localhost" when it cannot be determined.
		Hostname: "localhost",
		Package:  "runplan",
	}
	suite.Properties = junitProperties(r)
	for _, c := range r.Checks {
		tc := junitCase{Name: c.Name, Classname: class, Time: "0.000"}
		switch {
		case c.Error != "":
			tc.Error = &junitProblem{Type: "runplan.CheckError", Message: "cannot evaluate " + c.Expr + ": " + c.Error,
				Text: checkDetail(c)}
			suite.Errors++
		case c.NA():
			tc.Failure = &junitProblem{Type: "runplan.CheckNotMeasured",
				Message: fmt.Sprintf("n/a: %s read figures never measured (%s); unknown never passes", c.Expr, strings.Join(c.Missing, ", ")),
				Text:    checkDetail(c)}
			suite.Failures++
		case !c.Passed:
			tc.Failure = &junitProblem{Type: "runplan.CheckFailed",
				Message: fmt.Sprintf("value %s does not satisfy %s", checkValue(c), c.Expr), Text: checkDetail(c)}
			suite.Failures++
		}
		suite.Cases = append(suite.Cases, tc)
	}
	completed := junitCase{Name: "run_completed", Classname: class, Time: seconds(r.Duration)}
	switch {
	case r.Error != "":
		completed.Error = &junitProblem{Type: "runplan.RunError", Message: r.Error,
			Text: "The run stopped with an error; the figures cover what ran."}
	case r.Partial:
		completed.Error = &junitProblem{Type: "runplan.RunPartial", Message: "the run was interrupted",
			Text: "The run did not complete; the figures cover what ran."}
	}
	valid := junitCase{Name: "measurement_valid", Classname: class, Time: "0.000"}
	switch {
	case r.NotStarted:
		// An error, not <skipped>: Ant's schema has no skipped test case,
		// and a run that never started must not show green.
		valid.Error = &junitProblem{Type: "runplan.NotStarted", Message: "not judged: the run did not start",
			Text: "Nothing was measured: a target could not be opened."}
	case r.Invalid():
		valid.Error = &junitProblem{Type: "runplan.InvalidMeasurement",
			Message: "the load generator could not hold the requested load",
			Text:    "The checks are not to be trusted:\n- " + strings.Join(r.Generator.Reasons, "\n- ")}
	}
	cases := []junitCase{completed, valid}
	if len(r.Leftovers) > 0 {
		// Only when something is left: a clean run's suite is unchanged.
		undone := junitCase{Name: "target_state_restored", Classname: class, Time: "0.000"}
		var text []string
		for _, l := range r.Leftovers {
			text = append(text, l.Target+": "+leftoverLine(l))
		}
		for _, server := range leftoverServers(r.Leftovers) {
			text = append(text, "restore with: "+cleanupCommand(server))
		}
		undone.Error = &junitProblem{Type: "runplan.NotUndone",
			Message: fmt.Sprintf("%d change(s) on the targets were not undone", len(r.Leftovers)), Text: strings.Join(text, "\n")}
		cases = append(cases, undone)
	}
	for _, tc := range cases {
		if tc.Error != nil {
			suite.Errors++
		}
		suite.Cases = append(suite.Cases, tc)
	}
	suite.Tests = len(suite.Cases)
	suite.SystemOut = cdata{junitOut(r)}
	var errs strings.Builder
	if r.Error != "" {
		errs.WriteString("error: " + r.Error + "\n")
	}
	writeNoticesText(&errs, r)
	for _, d := range r.DeadRuns {
		fmt.Fprintf(&errs, "warning: %s; restore with: %s\n", deadRunLine(d), cleanupCommand(d.Server))
	}
	for _, f := range r.Faults {
		if f.UndoError != "" {
			fmt.Fprintf(&errs, "fault %s: undo failed, %s may still be affected: %s\n", f.Name, f.Target, f.UndoError)
		}
	}
	suite.SystemErr = cdata{errs.String()}
	doc := junitSuites{Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("report: junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	for i := range doc.Suites {
		st := &doc.Suites[i]
		st.SystemOut.Text, st.SystemErr.Text = xmlSafe(st.SystemOut.Text), xmlSafe(st.SystemErr.Text)
		for j := range st.Cases {
			for _, p := range []*junitProblem{st.Cases[j].Failure, st.Cases[j].Error} {
				if p != nil {
					p.Text = xmlSafe(p.Text)
				}
			}
		}
	}
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("report: junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("report: junit: %w", err)
	}
	return nil
}

// validity is the measurement's validity as a word: true, false, or
// not_judged for a run that never started.
func validity(r *Report) string {
	if r.NotStarted {
		return "not_judged"
	}
	return strconv.FormatBool(r.Valid)
}

func junitProperties(r *Report) []junitProperty {
	score := "n/a"
	if r.Score != nil {
		score = strconv.FormatFloat(*r.Score, 'f', 1, 64)
	}
	props := []junitProperty{
		{"score", score},
		{"verdict", r.Verdict},
		{"verdict_capped_by_critical", strconv.FormatBool(r.VerdictCapped)},
		{"valid", validity(r)},
		{"partial", strconv.FormatBool(r.Partial)},
		{"plan", r.Plan.Path},
		{"plan_digest", r.Plan.Digest},
		{"run_id", r.RunID},
		{"seed", strconv.FormatUint(r.Seed, 10)},
		{"started_at", r.StartedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00")},
		{"runplan_version", r.RunplanVersion},
	}
	for _, t := range r.Targets {
		props = append(props, junitProperty{"target." + t.Name, strings.TrimSpace(t.Driver + " " + t.Kind + " " + t.Addr)})
	}
	for i, n := range r.Notices {
		props = append(props, junitProperty{"notice." + strconv.Itoa(i+1), n})
	}
	return props
}

func checkDetail(c Check) string {
	var b strings.Builder
	fmt.Fprintf(&b, "check:      %s\nexpression: %s\nvalue:      %s", c.Name, c.Expr, checkValue(c))
	if f, ok := c.Value.(float64); ok && c.Unit != "" {
		fmt.Fprintf(&b, " (%s %s)", strconv.FormatFloat(f, 'f', -1, 64), c.Unit)
	}
	for _, n := range c.Notes {
		fmt.Fprintf(&b, "\nnote:       %s", n)
	}
	fmt.Fprintf(&b, "\nweight:     %s", num(c.Weight))
	if c.Partial {
		fmt.Fprintf(&b, ", partial credit %.0f%% of it earned", c.Credit*100)
	}
	if c.Critical {
		b.WriteString(" (critical: failing it makes the verdict not_ready)")
	}
	b.WriteString("\n")
	return b.String()
}

func junitOut(r *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "runplan %s: verdict %s, score %s", title(r), r.Verdict, scoreText(r))
	if r.VerdictCapped {
		b.WriteString(" (a critical check failed)")
	}
	b.WriteString("\n")
	for _, reason := range r.Generator.Reasons {
		fmt.Fprintf(&b, "invalid measurement: %s\n", reason)
	}
	for _, s := range r.Scenarios {
		fmt.Fprintf(&b, "scenario %s: %s", s.Name, outcomesText(s))
		if a := arrivalText(s); a != "" {
			b.WriteString("; " + a)
		}
		b.WriteString("\n")
	}
	for _, l := range errorSampleLines(r.Scenarios) {
		b.WriteString("error: " + l + "\n")
	}
	for _, t := range r.Targets {
		if n := spansNote(t); n != "" {
			b.WriteString("note: " + n + "\n")
		}
	}
	for _, f := range r.Faults {
		h := htmlFaultOf(f)
		fmt.Fprintf(&b, "fault %s on %s: %s, %s", f.Name, f.Target, f.Describe, h.When)
		if f.Applied {
			fmt.Fprintf(&b, "; before %s; during %s; after %s; errors during %s; recovery %s", h.Before, h.During, h.After,
				h.Errors, h.Recovery)
		}
		for _, n := range []string{h.Note, h.Problem} {
			if n != "" {
				b.WriteString("; " + n)
			}
		}
		b.WriteString("\n")
	}
	if len(r.Recommendations) > 0 {
		b.WriteString("recommendations:\n")
		for _, rec := range r.Recommendations {
			fmt.Fprintf(&b, "- %s\n", rec)
		}
	}
	return b.String()
}

func seconds(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) }
