package report

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// TestNACheckNamesMissingFigures: a check that read a figure never
// measured is shown as n/a, not as a value, and every output names the
// missing figure (issue 11).
func TestNACheckNamesMissingFigures(t *testing.T) {
	t.Parallel()
	r := buildFixture(fixtureOptions{})
	tests := []struct {
		name   string
		render func(io.Writer) error
		want   []string
	}{
		{"console", func(w io.Writer) error { return WriteConsole(w, r, ConsoleOptions{}) },
			[]string{" ? restart_errors", "n/a, not measured: faults.redis_restart.errors"}},
		{"markdown", func(w io.Writer) error { return WriteMarkdown(w, r) },
			[]string{"| ❔ | restart_errors | **n/a: not measured: faults.redis_restart.errors** |"}},
		{"html", func(w io.Writer) error { return WriteHTML(w, r) },
			[]string{`title="not measured">?</span>`, "n/a: not measured: faults.redis_restart.errors"}},
		{"junit", func(w io.Writer) error { return WriteJUnit(w, r) },
			[]string{`type="runplan.CheckNotMeasured"`, "faults.redis_restart.errors"}},
		{"json", func(w io.Writer) error { return WriteJSON(w, r) },
			[]string{`"missing": [`, `"faults.redis_restart.errors"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := tt.render(&b); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("%s output lacks %q", tt.name, w)
				}
			}
		})
	}
	var doc struct {
		Checks []struct {
			Name    string   `json:"name"`
			Value   any      `json:"value"`
			Text    string   `json:"value_text"`
			Passed  bool     `json:"passed"`
			Missing []string `json:"missing"`
		} `json:"checks"`
	}
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range doc.Checks {
		if c.Name == "restart_errors" && (c.Value != nil || c.Text != "n/a" || c.Passed) {
			t.Fatalf("n/a check in JSON: %+v; want value null, value_text n/a, not passed", c)
		}
	}
}

// TestUnmeasuredCountsAreUnknown: a scenario or step that completed nothing,
// and a fault window with no data, show their error counts as unknown ("-"),
// not as 0 (issue 11).
func TestUnmeasuredCountsAreUnknown(t *testing.T) {
	t.Parallel()
	r := buildFixture(fixtureOptions{})
	s := &r.Scenarios[0]
	s.Count, s.Errors, s.Rate, s.Latency = 0, 0, 0, nil
	s.Steps[0].Count, s.Steps[0].Errors, s.Steps[0].Rate, s.Steps[0].Latency, s.Steps[0].HitRatio = 0, 0, 0, nil, nil
	r.Faults[0].During = &Window{ErrorsBy: map[string]int64{}}
	tests := []struct {
		name   string
		render func(io.Writer) error
		want   []string
	}{
		{"console", func(w io.Writer) error { return WriteConsole(w, r, ConsoleOptions{}) }, []string{
			"strategy_cache                0      0.0       -       -       -       -       -",
			"  lookup                      0      0.0       -       -       -       -       -",
			"during  no calls"}},
		{"markdown", func(w io.Writer) error { return WriteMarkdown(w, r) }, []string{
			"| **strategy_cache** (closed) | 0 | 0.00 | - | - | - | - | - |",
			"| ↳ lookup | 0 | 0.00 | - | - | - | - | - |",
			"| no calls | p99 990µs, 99.9% ok of 2950 | - |"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := tt.render(&b); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("%s output lacks %q:\n%s", tt.name, w, b.String())
				}
			}
		})
	}
}
