package report

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/metrics"
	"github.com/runplan/runplan/schema"
)

// queueMetrics are a driver's figures none of the core knows: a counter
// and a duration.
var queueMetrics = []driver.StepMetric{
	{Name: "requeued", Kind: driver.Counter, Help: "messages put back"},
	{Name: "queue_wait", Kind: driver.Duration, Help: "time spent queued"},
}

// withQueueMetrics is the fixture with the figures of queueMetrics on the
// deliver step, as Build makes them.
func withQueueMetrics(t *testing.T) *Report {
	t.Helper()
	r := buildFixture(fixtureOptions{})
	fs := metrics.Figures(queueMetrics, &driver.Counters{3, int64(1500 * time.Millisecond)})
	r.Scenarios[1].Steps[1].Metrics = reportMetrics(fs, &r.StepMetrics)
	r.Scenarios[1].Metrics = reportMetrics(metrics.MergeFigures(fs), &r.StepMetrics)
	return r
}

// TestStepMetricsInEveryFormat: a declared figure appears under its name
// in the JSON (before latency_ms), and in the console, Markdown and HTML
// reports, by kind.
func TestStepMetricsInEveryFormat(t *testing.T) {
	t.Parallel()
	r := withQueueMetrics(t)
	js := marshal(t, r)
	if err := schema.ValidateReportWith(decodeJSON(t, js), schemaMetrics(append(append([]driver.StepMetric{}, fixtureMetrics...), queueMetrics...))); err != nil {
		t.Errorf("does not validate with its declarations: %v", err)
	}
	var raw struct {
		Scenarios []struct {
			Steps []json.RawMessage `json:"steps"`
		} `json:"scenarios"`
	}
	if err := json.Unmarshal(js, &raw); err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw.Scenarios[1].Steps[1]); err != nil {
		t.Fatal(err)
	}
	step := compact.String()
	if !strings.Contains(step, `"requeued":3,"queue_wait":1500,"latency_ms":`) {
		t.Errorf("deliver step JSON lacks the figures before latency_ms:\n%s", step)
	}
	var console, md, html bytes.Buffer
	if err := WriteConsole(&console, r, ConsoleOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&html, r); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"console": console.String(), "markdown": md.String(), "html": html.String()} {
		for _, want := range []string{"requeued 3", "queue wait 1.50s"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s report lacks %q", name, want)
			}
		}
	}
}

// TestStepMetricsReadBack: a report read back keeps its figures; their
// kinds come from the drivers' declarations, or, for a driver this binary
// lacks, from the numbers: a fraction is a ratio, a whole number a count.
func TestStepMetricsReadBack(t *testing.T) {
	t.Parallel()
	var back Report
	if err := json.Unmarshal(marshal(t, withQueueMetrics(t)), &back); err != nil {
		t.Fatal(err)
	}
	want := map[string]Metric{
		"hits":       {Name: "hits", Kind: "counter", Value: 4610},
		"hit_ratio":  {Name: "hit_ratio", Kind: "ratio", Value: 0.922},
		"requeued":   {Name: "requeued", Kind: "counter", Value: 3},
		"queue_wait": {Name: "queue_wait", Kind: "counter", Value: 1500},
	}
	got := map[string]Metric{}
	for _, s := range back.Scenarios {
		for _, st := range s.Steps {
			for _, m := range st.Metrics {
				got[m.Name] = m
			}
		}
	}
	for name, w := range want {
		if g := got[name]; g != w {
			t.Errorf("%s read back as %+v, want %+v", name, g, w)
		}
	}
	if again := marshal(t, &back); !bytes.Equal(again, marshal(t, withQueueMetrics(t))) {
		t.Error("the report read back does not write the same JSON")
	}
}

// TestReservedNamesCoverTheReport: no step metric may take the name of a
// field of a scenario or step in the JSON report.
func TestReservedNamesCoverTheReport(t *testing.T) {
	t.Parallel()
	for key := range ownKeys {
		if !slices.Contains(driver.ReservedNames, key) {
			t.Errorf("%q is a key of the report's scenarios or steps but not in driver.ReservedNames", key)
		}
	}
}
