package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/plan"
)

// schemaProbe is a test driver whose options, step and fault kind only its
// schema fragment describes: the engine validates a plan with it without
// knowing the driver.
type schemaProbe struct{}

var schemaProbeFragment = func() driver.SchemaFragment {
	f, err := driver.ParseSchemaFragment([]byte(`{
  "target": {
    "type": "object",
    "additionalProperties": false,
    "properties": {"driver": true, "depth": {"$ref": "#/$defs/schemaprobeDepth"}, "every": {"$ref": "#/$defs/duration"}}
  },
  "step": {
    "type": "object",
    "additionalProperties": false,
    "required": ["op"],
    "properties": {"op": {"enum": ["ping", "echo"]}}
  },
  "faults": {
    "wobble": {"type": "object", "additionalProperties": false, "properties": {"amount": {"type": "integer", "minimum": 1}}}
  },
  "$defs": {
    "schemaprobeDepth": {"type": "integer", "minimum": 1}
  }
}`))
	if err != nil {
		panic(err)
	}
	return f
}()

func (schemaProbe) Schema() driver.SchemaFragment                       { return schemaProbeFragment }
func (schemaProbe) CheckTarget(driver.TargetSpec) error                 { return nil }
func (schemaProbe) FaultKinds() []string                                { return []string{"wobble"} }
func (schemaProbe) PrepareFault(driver.FaultSpec) (driver.Fault, error) { return wobble{}, nil }
func (schemaProbe) Prepare(driver.StepSpec) (driver.Step, error) {
	return prepStep{}, nil
}
func (schemaProbe) Open(context.Context, driver.TargetSpec, driver.Env) (driver.Target, error) {
	return prepTarget{}, nil
}

type wobble struct{}

func (wobble) Start(context.Context, driver.Target) (func(context.Context) error, error) {
	return func(context.Context) error { return nil }, nil
}

func init() { driver.Register("schemaprobe", schemaProbe{}) }

// A driver's schema fragment is part of the plan schema: its target
// options, step and fault kind are checked and located like the core's,
// with nothing about the driver written in the engine or the schema package.
func TestDriverSchemaFragment(t *testing.T) {
	t.Parallel()
	const head = "version: 1\ntargets:\n  p: {driver: schemaprobe, depth: 2}\n"
	const scen = "scenarios:\n  sc: {load: {vus: 1, iterations: 1}, steps: [{schemaprobe: {op: ping}}]}\n"
	tests := []struct {
		name, src string
		want      []string // empty: the plan is valid
	}{
		{"valid", head + scen + "faults: [{name: w, target: p, at: 1s, wobble: {amount: 3}}]\n", nil},
		{"a misspelt target option", "version: 1\ntargets:\n  p: {driver: schemaprobe, deph: 2}\n" + scen,
			[]string{`plan.yaml:3:28: unknown key "deph" in targets.p (did you mean "depth"?)`}},
		{"a target option out of range", "version: 1\ntargets:\n  p: {driver: schemaprobe, depth: 0}\n" + scen,
			[]string{`plan.yaml:3:35: targets.p.depth: must be at least 1 (got 0)`}},
		{"a core format in a driver option", "version: 1\ntargets:\n  p: {driver: schemaprobe, every: 5}\n" + scen,
			[]string{`plan.yaml:3:35: targets.p.every: a duration needs a unit, like 500ms, 20s or 1m30s (got 5)`}},
		{"a step value", head + "scenarios:\n  sc: {load: {vus: 1, iterations: 1}, steps: [{schemaprobe: {op: pong}}]}\n",
			[]string{`plan.yaml:5:66: scenarios.sc.steps[0].schemaprobe.op: "pong" is not one of "ping", "echo" (did you mean "ping"?)`}},
		{"a fault parameter", head + scen + "faults: [{name: w, target: p, at: 1s, wobble: {amont: 3}}]\n",
			[]string{`plan.yaml:6:48: unknown key "amont" in faults[0].wobble (did you mean "amount"?)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "plan.yaml")
			if err := os.WriteFile(path, []byte(tt.src), 0o600); err != nil {
				t.Fatal(err)
			}
			_, diags := engine.Check(path, plan.Options{Env: func(string) (string, bool) { return "", false }}, engine.Options{})
			got := diags.Error()
			if len(tt.want) == 0 {
				if len(diags.Errors()) > 0 {
					t.Fatalf("a valid plan was refused:\n%s", got)
				}
				return
			}
			for _, w := range tt.want {
				if !strings.Contains(got, filepath.Dir(path)+string(filepath.Separator)+w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			if n := len(diags.Errors()); n != len(tt.want) {
				t.Errorf("%d diagnostics, want %d:\n%s", n, len(tt.want), got)
			}
		})
	}
}

// The assembled schema names the test driver's parts, as `runplan schema`
// prints them.
func TestPlanSchemaAssemblesRegisteredDrivers(t *testing.T) {
	t.Parallel()
	s, err := engine.PlanSchema()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"schemaprobeTarget": {`, `"schemaprobeStep": {`, `"schemaprobeDepth": {`, `"wobble": {`, `"const": "schemaprobe"`} {
		if !strings.Contains(string(s.JSON()), w) {
			t.Errorf("the plan schema lacks %s", w)
		}
	}
}
