package schema

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// cacheMetrics declare the figures of fixture's cache step as its
// driver would.
var cacheMetrics = []Metric{
	{Name: "hits", Kind: "counter"},
	{Name: "misses", Kind: "counter"},
	{Name: "lookup_errors", Kind: "counter"},
	{Name: "hit_ratio", Kind: "ratio"},
}

// fixture is engine/report's committed synthetic report: a cache step with
// hits, misses and hit_ratio.
func fixture(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "engine", "report", "testdata", "fixture.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return doc.(map[string]any)
}

func firstStep(doc map[string]any) map[string]any {
	return doc["scenarios"].([]any)[0].(map[string]any)["steps"].([]any)[0].(map[string]any)
}

// TestValidateReportWithDeclaredMetrics: a report's step metrics are held
// to their declarations: an undeclared key, or a value of the wrong shape
// for its kind, is refused; without declarations the report schema allows
// any step metric, as a number.
func TestValidateReportWithDeclaredMetrics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		decl   []Metric
		change func(doc map[string]any)
		want   string // "" when valid
	}{
		{"as written", cacheMetrics, func(map[string]any) {}, ""},
		{"as written, without declarations", nil, func(map[string]any) {}, ""},
		{"undeclared figure", cacheMetrics, func(doc map[string]any) { firstStep(doc)["p99"] = 1 }, "p99"},
		{"counter not a whole number", cacheMetrics, func(doc map[string]any) { firstStep(doc)["hits"] = 1.5 }, "hits"},
		{"ratio above 1", cacheMetrics, func(doc map[string]any) { firstStep(doc)["hit_ratio"] = 2 }, "hit_ratio"},
		{"declared but missing from the plan's drivers", cacheMetrics[:1], func(map[string]any) {}, "misses"},
		{"any figure without declarations", nil, func(doc map[string]any) { firstStep(doc)["p99"] = 1 }, ""},
		{"a figure is a number", nil, func(doc map[string]any) { firstStep(doc)["p99"] = "fast" }, "p99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := fixture(t)
			tt.change(doc)
			err := ValidateReportWith(doc, tt.decl)
			if (err == nil) != (tt.want == "") || err != nil && !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ValidateReport = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestReportDocForRefusesTheReportsOwnNames(t *testing.T) {
	t.Parallel()
	if _, err := ReportDocFor([]Metric{{Name: "latency_ms", Kind: "counter"}}); err == nil {
		t.Fatal("a step metric named latency_ms was accepted")
	}
	if _, err := ReportFor([]Metric{{Name: "retries", Kind: "counter"}, {Name: "wait", Kind: "duration"}}); err != nil {
		t.Fatal(err)
	}
}

func TestReportDocForRefusesAnUnknownKind(t *testing.T) {
	t.Parallel()
	if _, err := ReportDocFor([]Metric{{Name: "depth", Kind: "gauge"}}); err == nil || !strings.Contains(err.Error(), "gauge") {
		t.Fatalf("err = %v, want the unknown kind named", err)
	}
}
