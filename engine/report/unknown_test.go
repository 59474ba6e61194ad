package report

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/runplan/runplan/schema"
)

// TestNACheckNamesMissingFigures: a check that read a figure never
// measured is shown as n/a, not as a value, and every output names the
// missing figure (issue 11).
func TestNACheckNamesMissingFigures(t *testing.T) {
	t.Parallel()
	r := buildFixture(fixtureOptions{})
	tests := []renderCase{
		{"console", func(w io.Writer) error { return WriteConsole(w, r, ConsoleOptions{}) },
			[]string{" ? restart_errors", "n/a, not measured: faults.redis_restart.errors"}, nil},
		{"markdown", func(w io.Writer) error { return WriteMarkdown(w, r) },
			[]string{"| ❔ | restart_errors | **n/a: not measured: faults.redis_restart.errors** |"}, nil},
		{"html", func(w io.Writer) error { return WriteHTML(w, r) },
			[]string{`title="not measured">?</span>`, "n/a: not measured: faults.redis_restart.errors"}, nil},
		{"junit", func(w io.Writer) error { return WriteJUnit(w, r) },
			[]string{`type="runplan.CheckNotMeasured"`, "faults.redis_restart.errors"}, nil},
		{"json", func(w io.Writer) error { return WriteJSON(w, r) },
			[]string{`"missing": [`, `"faults.redis_restart.errors"`}, nil},
	}
	checkRenders(t, tests)
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
	s.Steps[0].Count, s.Steps[0].Errors, s.Steps[0].Rate, s.Steps[0].Latency, s.Steps[0].Metrics = 0, 0, 0, nil, nil
	r.Faults[0].During = &Window{ErrorsBy: map[string]int64{}}
	tests := []renderCase{
		{"console", func(w io.Writer) error { return WriteConsole(w, r, ConsoleOptions{}) }, []string{
			"strategy_cache                0      0.0       -       -       -       -       -",
			"  lookup                      0      0.0       -       -       -       -       -",
			"during  no calls"}, nil},
		{"markdown", func(w io.Writer) error { return WriteMarkdown(w, r) }, []string{
			"| **strategy_cache** (closed) | 0 | 0.00 | - | - | - | - | - |",
			"| ↳ lookup | 0 | 0.00 | - | - | - | - | - |",
			"| no calls | p99 990µs, 99.9% ok of 2950 | - |"}, nil},
	}
	checkRenders(t, tests)
}

// TestUnmeasuredCountsAreNullInJSON: the JSON report gives the counts of a
// scenario with nothing due or completed, and of a step that completed no
// call, as null (unknown), not 0; a scenario whose due iterations were all
// dropped keeps its counts, which are known. Read back, the report renders
// as before.
func TestUnmeasuredCountsAreNullInJSON(t *testing.T) {
	t.Parallel()
	r := buildFixture(fixtureOptions{})
	never := &r.Scenarios[0]
	never.Count, never.Errors, never.Rate, never.Latency, never.Outcomes = 0, 0, 0, nil, Outcomes{}
	never.ErrorsBy = map[string]int64{}
	for i := range never.Steps {
		never.Steps[i].Count, never.Steps[i].Errors, never.Steps[i].Rate, never.Steps[i].Latency = 0, 0, 0, nil
	}
	dropped := &r.Scenarios[1]
	dropped.Count, dropped.Errors, dropped.Rate = 0, 40, 0
	dropped.Outcomes = Outcomes{Due: 40, Dropped: 40}
	b := marshal(t, r)
	var doc struct {
		Scenarios []struct {
			Name     string           `json:"name"`
			Errors   *int64           `json:"errors"`
			ErrorsBy map[string]int64 `json:"errors_by"`
			Rate     *float64         `json:"rate"`
			Steps    []struct {
				Errors *int64   `json:"errors"`
				Rate   *float64 `json:"rate"`
			} `json:"steps"`
		} `json:"scenarios"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	s0, s1 := doc.Scenarios[0], doc.Scenarios[1]
	if s0.Errors != nil || s0.Rate != nil || s0.ErrorsBy != nil {
		t.Errorf("scenario that measured nothing: errors %v, rate %v, errors_by %v; want null", s0.Errors, s0.Rate, s0.ErrorsBy)
	}
	for i, st := range s0.Steps {
		if st.Errors != nil || st.Rate != nil {
			t.Errorf("step %d that completed no call: errors %v, rate %v; want null", i, st.Errors, st.Rate)
		}
	}
	if s1.Errors == nil || *s1.Errors != 40 || s1.Rate == nil {
		t.Errorf("scenario whose 40 due iterations were dropped: errors %v, rate %v; want 40 and 0", s1.Errors, s1.Rate)
	}
	_, err := schema.Report()
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateJSON(decodeJSON(t, b)); err != nil {
		t.Errorf("does not validate against schema/report.schema.json:\n%v", err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := WriteConsole(&out, &back, ConsoleOptions{}); err != nil {
		t.Fatal(err)
	}
	if want := "strategy_cache                0      0.0       -"; !strings.Contains(out.String(), want) {
		t.Errorf("read back, the console lacks %q:\n%s", want, out.String())
	}
}

// TestUnknownGeneratorCPU: where the system does not give runplan's CPU
// time, the generator's CPU share is unknown in every output — null in the
// JSON, which the schema accepts — never 0%.
func TestUnknownGeneratorCPU(t *testing.T) {
	t.Parallel()
	r := buildFixture(fixtureOptions{cpuUnknown: true})
	if r.Generator.CPU != nil {
		t.Fatalf("CPU %v; want nil (unknown)", *r.Generator.CPU)
	}
	checkRenders(t, []renderCase{
		{"console", func(w io.Writer) error { return WriteConsole(w, r, ConsoleOptions{}) }, []string{"generator: cpu unknown, scheduling lag"}, nil},
		{"markdown", func(w io.Writer) error { return WriteMarkdown(w, r) }, []string{"generator CPU unknown, scheduling lag"}, nil},
		{"html", func(w io.Writer) error { return WriteHTML(w, r) }, []string{"<dt>generator CPU</dt><dd>unknown on this system, peak memory"}, nil},
		{"json", func(w io.Writer) error { return WriteJSON(w, r) }, []string{`"cpu": null,`}, nil},
	})
	_, err := schema.Report()
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateJSON(decodeJSON(t, marshal(t, r))); err != nil {
		t.Errorf("does not validate against schema/report.schema.json:\n%v", err)
	}
}

// renderCase is one output of a report, the strings it must contain and
// those it must not.
type renderCase struct {
	name       string
	render     func(io.Writer) error
	want, deny []string
}

// checkRenders renders each case in a parallel subtest and fails the ones
// whose output lacks a string they want or has one they deny.
func checkRenders(t *testing.T, tests []renderCase) {
	t.Helper()
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
			for _, d := range tt.deny {
				if strings.Contains(b.String(), d) {
					t.Errorf("%s output has %q", tt.name, d)
				}
			}
		})
	}
}
