package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/runplan/runplan/schema"
)

// notStarted is the report of a run whose target could not be opened: as
// engine.Run builds it, nothing measured, the generator's own view invalid
// for want of any data.
func notStarted() *Report {
	r := buildFixture(fixtureOptions{})
	r.Partial, r.NotStarted, r.Valid = true, true, false
	r.Error = "target cache (redis://127.0.0.1:1): connection refused"
	r.Generator.Reasons = nil
	return r
}

// A run that never started is not an invalid measurement: no rendering
// calls it one, each says that the run did not start, and its JSON has
// "valid": null and reads back the same.
func TestNotStartedIsNotJudged(t *testing.T) {
	t.Parallel()
	r := notStarted()
	renders := map[string]func(*bytes.Buffer) error{
		"console":  func(b *bytes.Buffer) error { return WriteConsole(b, r, ConsoleOptions{}) },
		"markdown": func(b *bytes.Buffer) error { return WriteMarkdown(b, r) },
		"html":     func(b *bytes.Buffer) error { return WriteHTML(b, r) },
		"junit":    func(b *bytes.Buffer) error { return WriteJUnit(b, r) },
		"compare console": func(b *bytes.Buffer) error {
			return WriteCompareConsole(b, Compare(r, r, DefaultTolerances()), CompareOptions{})
		},
		"compare markdown": func(b *bytes.Buffer) error {
			return WriteCompareMarkdown(b, Compare(buildFixture(fixtureOptions{}), r, DefaultTolerances()))
		},
		"trend markdown": func(b *bytes.Buffer) error { return WriteTrendMarkdown(b, NewTrend([]*Report{r})) },
		"trend html":     func(b *bytes.Buffer) error { return WriteTrendHTML(b, NewTrend([]*Report{r})) },
	}
	says := map[string]string{
		"console": "NOT STARTED", "markdown": "**Not started**", "html": "not judged: the run did not start",
		"junit": "not judged: the run did not start", "compare console": "the base run did not start",
		"compare markdown": "the new run did not start", "trend markdown": "(not started)", "trend html": "(not started)",
	}
	for name, render := range renders {
		var b bytes.Buffer
		if err := render(&b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out := b.String()
		low := strings.ToLower(out)
		if strings.Contains(low, "invalid measurement") || strings.Contains(out, "(invalid)") || strings.Contains(out, "InvalidMeasurement") ||
			strings.Contains(out, `name="valid" value="false"`) || strings.Contains(out, "<strong>invalid</strong>") {
			t.Errorf("%s calls a run that never started an invalid measurement:\n%s", name, out)
		}
		if !strings.Contains(out, says[name]) {
			t.Errorf("%s does not say %q:\n%s", name, says[name], out)
		}
	}

	js := marshal(t, r)
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	if v, ok := m["valid"]; !ok || v != nil || m["not_started"] != true {
		t.Errorf("JSON: valid %v (present %v), not_started %v; want null and true", v, ok, m["not_started"])
	}
	_, err := schema.Report()
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateJSON(decodeJSON(t, js)); err != nil {
		t.Errorf("a not-started report does not validate: %v", err)
	}
	var back Report
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if !back.NotStarted || back.Invalid() || !bytes.Equal(marshal(t, &back), js) {
		t.Errorf("read back: not started %v, invalid %v, same JSON %v", back.NotStarted, back.Invalid(), bytes.Equal(marshal(t, &back), js))
	}

	// A started run's JSON keeps "valid" a boolean, and its field order.
	started := buildFixture(fixtureOptions{})
	if !bytes.Contains(marshal(t, started), []byte(`"valid": true,`)) {
		t.Errorf("a started run's JSON changed: %s", clip(string(marshal(t, started))))
	}
}

// The JUnit XML of a run that never started is valid against the schemas,
// with the measurement case in error (Ant's schema has no <skipped>), never
// green.
func TestNotStartedJUnitValidates(t *testing.T) {
	t.Parallel()
	r := notStarted()
	var b bytes.Buffer
	if err := WriteJUnit(&b, r); err != nil {
		t.Fatal(err)
	}
	validateJUnit(t, b.Bytes())
	checkJUnitCounts(t, b.Bytes(), r)
	if !strings.Contains(b.String(), `<error message="not judged: the run did not start" type="runplan.NotStarted"`) {
		t.Errorf("the measurement case is not an error saying the run did not start:\n%s", b.String())
	}
}
