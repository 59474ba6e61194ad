package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Golden tests for every renderer, over the synthetic fixture (Build with
// fixed figures, so the output is stable): go test ./engine/report -update
// rewrites them.

// slower is the fixture's second run: 60ms more on every delivery.
func slower() *Report { return buildFixture(fixtureOptions{extra: 60 * time.Millisecond}) }

// trendFixture is five nightly runs whose delivery slowly degrades.
func trendFixture(t testing.TB) []*Report {
	var rs []*Report
	for i := 0; i < 5; i++ {
		r := fixture(t, fixtureOptions{extra: time.Duration(i*i) * 10 * time.Millisecond})
		shift := time.Duration(i) * 24 * time.Hour
		r.StartedAt, r.EndedAt = r.StartedAt.Add(shift), r.EndedAt.Add(shift)
		r.RunID = "2026010" + string(rune('2'+i)) + "T030405-night"
		rs = append(rs, r)
	}
	// Out of order on purpose: the trend sorts by start time.
	rs[1], rs[3] = rs[3], rs[1]
	return rs
}

// compareChanges is the fixture as a new run that moved in every way
// compare judges beyond the figures: invalid, a check failing, another
// removed, one added, a fault that no longer recovered and one slower.
func compareChanges(t testing.TB) *Report {
	r := fixture(t, fixtureOptions{invalid: true})
	r.Checks[0].Passed = false
	r.Checks[1].Display = "0.871"
	r.Checks = append(r.Checks[:5], Check{Name: "hit_ratio_floor", Expr: "strategy_cache.hit_ratio > 0.5", Passed: true, Value: 0.871, Display: "0.871"})
	r.Faults[0].Recovery = val(4.5)
	r.Faults[1].Recovered = true
	r.Faults[1].Recovery = val(0.5)
	return r
}

// withoutUplot replaces the inlined uPlot library, which the goldens need
// not repeat.
func withoutUplot(b []byte) []byte {
	b = bytes.Replace(b, []byte(uplotJS), []byte("/* uPlot.iife.min.js */"), 1)
	return bytes.Replace(b, []byte(uplotCSS), []byte("/* uPlot.min.css */"), 1)
}

// closedOnly is the fixture with only its closed-model scenario: the
// measurement's validity is not judged.
func closedOnly() *Report {
	r := buildFixture(fixtureOptions{})
	r.Scenarios = r.Scenarios[:1]
	r.Generator.Lag, r.Generator.Scheduled, r.Generator.Late, r.Generator.Dropped = nil, 0, 0, 0
	return r
}

func TestGoldens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		golden string
		render func(io.Writer) error
	}{
		{"console.golden", func(w io.Writer) error {
			return WriteConsole(w, buildFixture(fixtureOptions{}), ConsoleOptions{})
		}},
		{"console-color.golden", func(w io.Writer) error {
			return WriteConsole(w, buildFixture(fixtureOptions{}), ConsoleOptions{Color: true})
		}},
		{"junit.golden.xml", func(w io.Writer) error { return WriteJUnit(w, buildFixture(fixtureOptions{})) }},
		{"console-closed.golden", func(w io.Writer) error { return WriteConsole(w, closedOnly(), ConsoleOptions{}) }},
		{"markdown-closed.golden.md", func(w io.Writer) error { return WriteMarkdown(w, closedOnly()) }},
		{"console-invalid.golden", func(w io.Writer) error {
			return WriteConsole(w, buildFixture(fixtureOptions{invalid: true}), ConsoleOptions{})
		}},
		{"markdown-invalid.golden.md", func(w io.Writer) error {
			return WriteMarkdown(w, buildFixture(fixtureOptions{invalid: true}))
		}},
		{"markdown.golden.md", func(w io.Writer) error { return WriteMarkdown(w, buildFixture(fixtureOptions{})) }},
		{"html.golden.html", func(w io.Writer) error {
			var b bytes.Buffer
			if err := WriteHTML(&b, buildFixture(fixtureOptions{})); err != nil {
				return err
			}
			_, err := w.Write(withoutUplot(b.Bytes()))
			return err
		}},
		{"compare.golden", func(w io.Writer) error {
			return WriteCompareConsole(w, Compare(buildFixture(fixtureOptions{}), slower(), DefaultTolerances()), CompareOptions{})
		}},
		{"compare.golden.md", func(w io.Writer) error {
			return WriteCompareMarkdown(w, Compare(buildFixture(fixtureOptions{}), slower(), DefaultTolerances()))
		}},
		{"compare-changes.golden", func(w io.Writer) error {
			return WriteCompareConsole(w, Compare(fixture(t, fixtureOptions{}), compareChanges(t), DefaultTolerances()), CompareOptions{})
		}},
		{"compare-changes.golden.md", func(w io.Writer) error {
			return WriteCompareMarkdown(w, Compare(fixture(t, fixtureOptions{}), compareChanges(t), DefaultTolerances()))
		}},
		{"compare-notjudged.golden", func(w io.Writer) error {
			return WriteCompareConsole(w, Compare(fixture(t, fixtureOptions{invalid: true}), fixture(t, fixtureOptions{invalid: true}), DefaultTolerances()), CompareOptions{})
		}},
		{"trend.golden.md", func(w io.Writer) error { return WriteTrendMarkdown(w, NewTrend(trendFixture(t))) }},
		{"trend.golden.html", func(w io.Writer) error {
			var b bytes.Buffer
			if err := WriteTrendHTML(&b, NewTrend(trendFixture(t))); err != nil {
				return err
			}
			_, err := w.Write(withoutUplot(b.Bytes()))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := tt.render(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden, b.Bytes())
		})
	}
}

// TestConsoleReadableAt80Columns checks every line of the console
// summary, of the fixture and of the real sample, and of compare.
func TestConsoleReadableAt80Columns(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		render func(io.Writer) error
	}{
		{"fixture", func(w io.Writer) error { return WriteConsole(w, buildFixture(fixtureOptions{}), ConsoleOptions{}) }},
		{"invalid", func(w io.Writer) error {
			return WriteConsole(w, buildFixture(fixtureOptions{invalid: true}), ConsoleOptions{})
		}},
		{"closed", func(w io.Writer) error { return WriteConsole(w, closedOnly(), ConsoleOptions{}) }},
		{"sample.json", func(w io.Writer) error { return WriteConsole(w, readFixture(t, "sample.json"), ConsoleOptions{}) }},
		{"sample-faults.json", func(w io.Writer) error {
			return WriteConsole(w, readFixture(t, "sample-faults.json"), ConsoleOptions{})
		}},
		{"compare", func(w io.Writer) error {
			return WriteCompareConsole(w, Compare(buildFixture(fixtureOptions{}), slower(), DefaultTolerances()), CompareOptions{})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := tt.render(&b); err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b.Bytes(), []byte("\x1b[")) {
				t.Error("colour codes without ConsoleOptions.Color")
			}
			for i, line := range strings.Split(b.String(), "\n") {
				if n := utf8.RuneCountInString(line); n > 80 {
					t.Errorf("line %d is %d columns wide:\n%s", i+1, n, line)
				}
			}
		})
	}
}

// TestConsoleColorOnlyWhenAsked: the colour golden has ANSI codes, the
// plain one none (the CLI asks for colour only on a terminal).
func TestConsoleColorOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	r := buildFixture(fixtureOptions{})
	for _, color := range []bool{false, true} {
		var b bytes.Buffer
		if err := WriteConsole(&b, r, ConsoleOptions{Color: color}); err != nil {
			t.Fatal(err)
		}
		if got := bytes.Contains(b.Bytes(), []byte("\x1b[")); got != color {
			t.Errorf("Color %v: ANSI codes present = %v", color, got)
		}
	}
}

// xmllint returns the path of xmllint, failing the test when it is missing:
// the JUnit XSD check must not be skipped.
func xmllint(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint is not installed: the JUnit XML cannot be validated against its XSD. " +
			"Install Debian's libxml2-utils (apt-get install -y libxml2-utils).")
	}
	return path
}

// TestJUnitValidatesAgainstXSD validates the JUnit XML of the fixture, of
// the real samples and of edge cases against runplan's testdata/junit.xsd,
// the Jenkins schema and Ant's JUnit.xsd.
func TestJUnitValidatesAgainstXSD(t *testing.T) {
	t.Parallel()
	noChecks := buildFixture(fixtureOptions{})
	noChecks.Checks, noChecks.Score, noChecks.Verdict = []Check{}, nil, "unscored"
	broken := buildFixture(fixtureOptions{})
	broken.Partial, broken.Valid = true, false
	broken.Error = "engine: step \x00deliver\x1b: <reset> & \"]]>\" ]]> done"
	broken.Generator.Reasons = []string{"lag p99 15ms > 10ms ]]>"}
	broken.Checks[0].Error = "bad \x07 expression ]]>"
	broken.Checks[0].Passed = false
	broken.Faults[0].UndoError = "cannot undo: \x01"
	broken.Plan.Name = "plan <&> \"quoted\""
	tests := []struct {
		name string
		r    *Report
	}{
		{"fixture", buildFixture(fixtureOptions{})},
		{"sample.json", readFixture(t, "sample.json")},
		{"sample-faults.json", readFixture(t, "sample-faults.json")},
		{"no checks", noChecks},
		{"partial, invalid, control characters and CDATA ends", broken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := WriteJUnit(&b, tt.r); err != nil {
				t.Fatal(err)
			}
			validateJUnit(t, b.Bytes())
			checkJUnitCounts(t, b.Bytes(), tt.r)
		})
	}
}

// checkJUnitCounts parses the XML back: one test case per check plus the
// run's two, and counts that add up.
func checkJUnitCounts(t *testing.T, doc []byte, r *Report) {
	t.Helper()
	var got junitSuites
	if err := xml.Unmarshal(doc, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Suites) != 1 {
		t.Fatalf("%d suites, want 1", len(got.Suites))
	}
	s := got.Suites[0]
	if len(s.Cases) != len(r.Checks)+2 || s.Tests != len(s.Cases) {
		t.Errorf("tests=%d, %d cases, want %d", s.Tests, len(s.Cases), len(r.Checks)+2)
	}
	var failures, errs int
	for i, c := range s.Cases {
		if c.Failure != nil {
			failures++
		}
		if c.Error != nil {
			errs++
		}
		if i < len(r.Checks) {
			ch := r.Checks[i]
			if c.Name != ch.Name {
				t.Errorf("case %d is %q, want check %q", i, c.Name, ch.Name)
			}
			switch {
			case ch.Error != "" && c.Error == nil:
				t.Errorf("check %s errored but has no <error>", ch.Name)
			case ch.Error == "" && ch.NA():
				if c.Failure == nil || c.Failure.Type != "runplan.CheckNotMeasured" || !strings.Contains(c.Failure.Message, ch.Expr) ||
					!strings.Contains(c.Failure.Message, strings.Join(ch.Missing, ", ")) {
					t.Errorf("check %s is n/a; want a not-measured <failure> naming its expression and missing figures, got %+v", ch.Name, c.Failure)
				}
			case ch.Error == "" && !ch.Passed && (c.Failure == nil || !strings.Contains(c.Failure.Message, ch.Expr) ||
				!strings.Contains(c.Failure.Message, checkValue(ch))):
				t.Errorf("check %s failed; want a <failure> naming its value and expression, got %+v", ch.Name, c.Failure)
			case ch.Passed && (c.Failure != nil || c.Error != nil):
				t.Errorf("check %s passed but the case is not green", ch.Name)
			}
		}
	}
	if s.Failures != failures || s.Errors != errs {
		t.Errorf("counts: suite failures=%d errors=%d; cases have %d failures, %d errors",
			s.Failures, s.Errors, failures, errs)
	}
	props := map[string]string{}
	for _, p := range s.Properties {
		props[p.Name] = p.Value
	}
	if props["verdict"] != r.Verdict || props["score"] == "" {
		t.Errorf("properties lack score/verdict: %v", props)
	}
}

func TestMarkdown(t *testing.T) {
	t.Parallel()
	pipes := buildFixture(fixtureOptions{})
	pipes.Checks[0].Expr = "a.rate > 1 || b.rate > 1"
	pipes.Checks[0].Name = "either"
	pipes.Recommendations = []string{"<script>alert(1)</script> *bold* [link](x)"}
	invalid := buildFixture(fixtureOptions{})
	invalid.Valid = false
	invalid.Generator.Reasons = []string{"scheduling lag p99 15ms is above 10ms"}
	tests := []struct {
		name       string
		r          *Report
		want, deny []string
	}{
		{"verdict, score, checks and scenarios", buildFixture(fixtureOptions{}),
			[]string{"### ❌ runplan · phase1-fixture: not ready (a critical check failed),", "| ✓ | redis_latency |",
				"| ✗ | cache_hit_ratio | **0.922** |", "error: unknown name", "↳ lookup", "**Recommendations**",
				"| **redis_latency** adds 50ms", "credit 60%"},
			[]string{"[!CAUTION]"}},
		{"pipes stay inside their cell, markup is escaped", pipes,
			[]string{"`a.rate > 1 \\|\\| b.rate > 1`", "\\<script\\>", "\\*bold\\*", "\\[link\\]"},
			[]string{"<script>"}},
		{"invalid measurement warns", invalid,
			[]string{"> [!CAUTION]", "> - scheduling lag p99 15ms is above 10ms"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := WriteMarkdown(&b, tt.r); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("lacks %q:\n%s", w, b.String())
				}
			}
			for _, d := range tt.deny {
				if strings.Contains(b.String(), d) {
					t.Errorf("has %q:\n%s", d, b.String())
				}
			}
			// Every table row has the same number of cells as its header.
			cells := 0
			for _, line := range strings.Split(b.String(), "\n") {
				if !strings.HasPrefix(line, "|") {
					cells = 0
					continue
				}
				n := strings.Count(strings.ReplaceAll(line, "\\|", ""), "|")
				if cells == 0 {
					cells = n
				} else if n != cells {
					t.Errorf("row has %d cells, header %d: %s", n-1, cells-1, line)
				}
			}
		})
	}
}
