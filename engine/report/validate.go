package report

import (
	"slices"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/schema"
)

// ValidateJSON validates a decoded JSON report (as jsonschema.UnmarshalJSON
// gives it) against the report schema with the step metrics its targets'
// drivers declare, those this binary registers; with none, against
// report.schema.json as it is, which allows any step metric as a number.
// Safe for concurrent use.
func ValidateJSON(doc any) error {
	return schema.ValidateReportWith(doc, docMetrics(doc))
}

// docMetrics gathers the step metrics of the registered drivers a decoded
// report's targets name, each once.
func docMetrics(doc any) []schema.Metric {
	var ms []schema.Metric
	m, _ := doc.(map[string]any)
	targets, _ := m["targets"].([]any)
	for _, t := range targets {
		tm, _ := t.(map[string]any)
		name, _ := tm["driver"].(string)
		d, err := driver.Lookup(name)
		if err != nil {
			continue
		}
		for _, sm := range driver.StepMetricsOf(d) {
			if !slices.ContainsFunc(ms, func(x schema.Metric) bool { return x.Name == sm.Name }) {
				ms = append(ms, SchemaMetric(sm))
			}
		}
	}
	return ms
}

// SchemaMetric is a driver's declaration as the report schema takes it.
func SchemaMetric(m driver.StepMetric) schema.Metric {
	return schema.Metric{Name: m.Name, Kind: m.Kind.String(), Help: m.Help}
}
