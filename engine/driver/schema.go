package driver

import (
	"encoding/json"
	"fmt"
)

// SchemaFragment is a driver's part of the plan's JSON Schema (draft
// 2020-12): what its targets, steps and faults accept. The engine assembles
// the plan schema from the core and the fragments of the registered drivers
// (package schema), validates plans with it, and `runplan schema` prints it;
// schema/plan.schema.json is generated from it. A plan that the fragment
// refuses is reported at the offending node ("file:line:col: unknown key
// "pool_sise" in targets.c (did you mean "pool_size"?)"), before the driver
// sees it; the driver still checks what a schema cannot say.
//
// Each schema may refer to the core's definitions (#/$defs/duration,
// #/$defs/rate) and to the fragment's own Defs. A fragment is usually an
// embedded JSON document of the same shape, read with ParseSchemaFragment.
type SchemaFragment struct {
	// Target is the schema of a target mapping whose driver is this one,
	// keys "driver" and "url" included (declare them, e.g. "driver": true);
	// nil accepts any options.
	Target json.RawMessage `json:"target,omitempty"`
	// Step is the schema of the value under the driver's key in a step:
	// the driver's name is its step kind. nil accepts any value.
	Step json.RawMessage `json:"step,omitempty"`
	// Faults maps each fault kind of the driver (Faulter.FaultKinds) to the
	// schema of the value under the kind's key in a fault.
	Faults map[string]json.RawMessage `json:"faults,omitempty"`
	// Defs are definitions the schemas refer to as "#/$defs/<name>". Every
	// name starts with the driver's name (redisSentinel), so that drivers
	// never collide; <driver>Target and <driver>Step are taken by Target
	// and Step.
	Defs map[string]json.RawMessage `json:"$defs,omitempty"`
}

// ParseSchemaFragment decodes a fragment written as one JSON document with
// the keys "target", "step", "faults" and "$defs" (see SchemaFragment).
func ParseSchemaFragment(data []byte) (SchemaFragment, error) {
	var f SchemaFragment
	if err := json.Unmarshal(data, &f); err != nil {
		return SchemaFragment{}, fmt.Errorf("driver: schema fragment: %w", err)
	}
	return f, nil
}

// MustParseSchemaFragment is ParseSchemaFragment for a fragment embedded
// in a driver's package (go:embed), decoded once at init: a fragment that
// does not decode is a bug of the build, and it panics, naming the driver,
// so that every test of the package fails.
func MustParseSchemaFragment(driverName string, data []byte) SchemaFragment {
	f, err := ParseSchemaFragment(data)
	if err != nil {
		panic(driverName + ": schema.json: " + err.Error())
	}
	return f
}

// SchemaFragments returns the fragments of the registered drivers, by
// driver name. Safe for concurrent use.
func SchemaFragments() map[string]SchemaFragment {
	mu.RLock()
	defer mu.RUnlock()
	frags := make(map[string]SchemaFragment, len(drivers))
	for name, d := range drivers {
		frags[name] = d.Schema()
	}
	return frags
}
