// Package schema holds the JSON Schemas of runplan's plan (and, later, report)
// formats, embedded in the binary, and compiles them for validation.
//
// Compiled schemas are immutable and safe for concurrent use.
package schema

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// PlanJSON is the plan schema document (draft 2020-12).
//
//go:embed plan.schema.json
var PlanJSON []byte

// PlanURL is the plan schema's $id.
const PlanURL = "https://runplan.dev/schema/plan.schema.json"

var (
	planOnce sync.Once
	plan     *jsonschema.Schema
	planDoc  map[string]any
	planErr  error
)

// Plan returns the compiled plan schema.
func Plan() (*jsonschema.Schema, error) {
	planOnce.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(PlanJSON))
		if err != nil {
			planErr = fmt.Errorf("schema: plan.schema.json: %w", err)
			return
		}
		var raw map[string]any
		if err := json.Unmarshal(PlanJSON, &raw); err != nil {
			planErr = fmt.Errorf("schema: plan.schema.json: %w", err)
			return
		}
		planDoc = raw
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		c.RegisterFormat(&jsonschema.Format{Name: "duration", Validate: validateDuration})
		c.RegisterFormat(&jsonschema.Format{Name: "rate", Validate: validateRate})
		if err := c.AddResource(PlanURL, doc); err != nil {
			planErr = fmt.Errorf("schema: %w", err)
			return
		}
		plan, planErr = c.Compile(PlanURL)
	})
	return plan, planErr
}

// PlanDoc returns the plan schema as decoded JSON, for looking up the
// properties a location allows (to suggest a key).
func PlanDoc() map[string]any {
	_, _ = Plan()
	return planDoc
}

// ErrBadDuration and ErrBadRate explain the duration and rate formats.
var (
	ErrBadDuration = errors.New("use a number with a unit, like 500ms, 20s or 1m30s")
	ErrBadRate     = errors.New("use a count per unit, like 4/s, 120/m or 2/h")
)

func validateDuration(v any) error {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	if _, err := ParseDuration(s); err != nil {
		return err
	}
	return nil
}

// ParseDuration parses a plan duration: a Go duration with a unit. A bare
// number is refused, since "5" could mean seconds or milliseconds.
func ParseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || s == "0" {
		return 0, ErrBadDuration
	}
	if d < 0 {
		return 0, errors.New("must not be negative")
	}
	return d, nil
}

var rateRE = regexp.MustCompile(`^\s*([0-9]+(?:\.[0-9]+)?)\s*/\s*(s|sec|m|min|h|hour)\s*$`)

func validateRate(v any) error {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	_, err := ParseRate(s)
	return err
}

// ParseRate parses "N/s", "N/m" or "N/h" into iterations per second.
func ParseRate(s string) (float64, error) {
	m := rateRE.FindStringSubmatch(s)
	if m == nil {
		return 0, ErrBadRate
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil || n < 0 {
		return 0, errors.New("rate must not be negative")
	}
	switch m[2] {
	case "m", "min":
		n /= 60
	case "h", "hour":
		n /= 3600
	}
	return n, nil
}

// ReportJSON is the JSON report's schema document (draft 2020-12).
//
//go:embed report.schema.json
var ReportJSON []byte

// ReportURL is the report schema's $id.
const ReportURL = "https://runplan.dev/schema/report.schema.json"

var (
	reportOnce   sync.Once
	reportSchema *jsonschema.Schema
	reportErr    error
)

// Report returns the compiled report schema, with formats (date-time)
// asserted.
func Report() (*jsonschema.Schema, error) {
	reportOnce.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(ReportJSON))
		if err != nil {
			reportErr = fmt.Errorf("schema: report.schema.json: %w", err)
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if err := c.AddResource(ReportURL, doc); err != nil {
			reportErr = fmt.Errorf("schema: %w", err)
			return
		}
		reportSchema, reportErr = c.Compile(ReportURL)
	})
	return reportSchema, reportErr
}
