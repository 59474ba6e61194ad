package schema

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The report's step metrics. report.schema.json allows any step metric on
// a scenario or step (every key it does not list, holding a number ≥ 0),
// since which ones a report holds depends on the drivers of its plan. The
// schema of a report whose step metrics are known is assembled from their
// declarations (ReportFor): each becomes a property of scenarios and steps
// with its kind's shape, and no other key is allowed. engine/report's
// ValidateJSON does so with the declarations of a report's targets' drivers.

// Metric declares one step metric for the report schema: a driver's
// driver.StepMetric, its kind by name. The package knows no driver: callers
// pass the declarations in.
type Metric struct {
	Name string
	// Kind is "counter", "ratio" or "duration" (in milliseconds).
	Kind string
	Help string
}

// ReportDocFor returns the report schema document with the step metrics
// ms declared, as JSON.
func ReportDocFor(ms []Metric) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(ReportJSON, &doc); err != nil {
		return nil, fmt.Errorf("schema: report.schema.json: %w", err)
	}
	defs, _ := doc["$defs"].(map[string]any)
	stats, _ := defs["statsProperties"].(map[string]any)
	props, _ := stats["properties"].(map[string]any)
	step, _ := defs["step"].(map[string]any)
	scenario, _ := defs["scenario"].(map[string]any)
	if props == nil || step == nil || scenario == nil {
		return nil, fmt.Errorf("schema: report.schema.json: no $defs statsProperties, step or scenario")
	}
	for _, m := range ms {
		var shape map[string]any
		switch m.Kind {
		case "counter":
			shape = map[string]any{"$ref": "#/$defs/count"}
		case "ratio":
			shape = map[string]any{"$ref": "#/$defs/ratio"}
		case "duration":
			shape = map[string]any{"type": "number", "minimum": 0}
		default:
			return nil, fmt.Errorf("schema: step metric %q: unknown kind %q", m.Name, m.Kind)
		}
		desc := m.Kind
		if m.Kind == "duration" {
			desc += ", in milliseconds"
		}
		if m.Help != "" {
			desc = m.Help + " (" + desc + ")"
		}
		shape["description"] = desc
		if _, taken := props[m.Name]; taken {
			return nil, fmt.Errorf("schema: step metric %q: the name is the report's own", m.Name)
		}
		props[m.Name] = shape
	}
	step["unevaluatedProperties"] = false
	scenario["unevaluatedProperties"] = false
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return b, nil
}

// ReportFor returns the report schema compiled with the step metrics ms
// declared (ReportDocFor), formats asserted. Each call compiles anew.
func ReportFor(ms []Metric) (*jsonschema.Schema, error) {
	b, err := ReportDocFor(ms)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(ReportURL, doc); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	sch, err := c.Compile(ReportURL)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return sch, nil
}

// ValidateReportWith validates a decoded JSON report against the report
// schema with the step metrics ms declared (ReportFor); with none, against
// report.schema.json as it is (any step metric).
func ValidateReportWith(doc any, ms []Metric) error {
	var sch *jsonschema.Schema
	var err error
	if len(ms) > 0 {
		sch, err = ReportFor(ms)
	} else {
		sch, err = Report()
	}
	if err != nil {
		return err
	}
	return sch.Validate(doc)
}
