package schema

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// coreJSON is the driver-neutral part of the plan schema: everything but
// the drivers' target options, step kinds and fault kinds, which Assemble
// adds from their fragments.
//
//go:embed plan.core.json
var coreJSON []byte

// Fragment is one driver's part of the plan schema, as the driver declares
// it (driver.SchemaFragment has the same fields; the engine converts one to
// the other, so that this package needs no driver). Every schema is a JSON
// Schema (draft 2020-12) document; it may refer to the core's definitions
// (#/$defs/duration, #/$defs/rate, ...) and to its own Defs.
type Fragment struct {
	// Target is the schema of a target mapping whose driver is this one,
	// keys "driver" and "url" included; nil accepts any options.
	Target json.RawMessage `json:"target,omitempty"`
	// Step is the schema of the value under the driver's key in a step
	// (the step kind is the driver's name); nil accepts any value.
	Step json.RawMessage `json:"step,omitempty"`
	// Faults maps each of the driver's own fault kinds to the schema of the
	// value under the kind's key in a fault.
	Faults map[string]json.RawMessage `json:"faults,omitempty"`
	// Defs are the definitions the schemas above refer to, as
	// "#/$defs/<name>". Every name starts with the driver's name
	// (redisSentinel), so that drivers cannot collide; "<driver>Target" and
	// "<driver>Step" are taken by Target and Step.
	Defs map[string]json.RawMessage `json:"$defs,omitempty"`
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Assemble returns the plan schema document for the drivers whose
// fragments frags holds by driver name: the core, with each driver's target
// options (an if/then on the target's driver), step kind, fault kinds and
// definitions added. The output depends only on its input: keys keep the
// core's order, drivers come in name order, and the document is indented
// with two spaces and ends with a newline. It refuses a fragment that is
// not valid JSON or that would collide with the core or another driver.
func Assemble(frags map[string]Fragment) ([]byte, error) {
	doc, err := parseObject(coreJSON)
	if err != nil {
		return nil, fmt.Errorf("schema: plan.core.json: %w", err)
	}
	defs, err := doc.object("$defs")
	if err != nil {
		return nil, err
	}
	target, err := defs.object("target")
	if err != nil {
		return nil, err
	}
	step, err := defs.object("step")
	if err != nil {
		return nil, err
	}
	stepProps, err := step.object("properties")
	if err != nil {
		return nil, err
	}
	fault, err := defs.object("fault")
	if err != nil {
		return nil, err
	}
	faultProps, err := fault.object("properties")
	if err != nil {
		return nil, err
	}
	coreFaults := slices.Clone(faultProps.keys)

	names := make([]string, 0, len(frags))
	for n := range frags {
		names = append(names, n)
	}
	sort.Strings(names)

	var conds []json.RawMessage
	faultKinds := map[string][]json.RawMessage{}
	var kinds []string
	for _, name := range names {
		f := frags[name]
		if !nameRE.MatchString(name) {
			return nil, fmt.Errorf("schema: driver name %q: want %s", name, nameRE)
		}
		add := func(def string, raw json.RawMessage) error {
			if !json.Valid(raw) {
				return fmt.Errorf("schema: driver %s: $defs/%s is not valid JSON", name, def)
			}
			if defs.has(def) {
				return fmt.Errorf("schema: driver %s: $defs/%s is defined twice", name, def)
			}
			defs.set(def, compact(raw))
			return nil
		}
		if f.Target != nil {
			if err := add(name+"Target", f.Target); err != nil {
				return nil, err
			}
			cond := fmt.Sprintf(`{"if":{"properties":{"driver":{"const":%q}}},"then":{"$ref":"#/$defs/%sTarget"}}`, name, name)
			conds = append(conds, json.RawMessage(cond))
		}
		if stepProps.has(name) {
			return nil, fmt.Errorf("schema: driver %s: its step kind is a step field of the core", name)
		}
		if f.Step != nil {
			if err := add(name+"Step", f.Step); err != nil {
				return nil, err
			}
			stepProps.insertBefore("sleep", name, json.RawMessage(fmt.Sprintf(`{"$ref":"#/$defs/%sStep"}`, name)))
		} else {
			stepProps.insertBefore("sleep", name, json.RawMessage(`true`))
		}
		for _, def := range sortedKeys(f.Defs) {
			if !strings.HasPrefix(def, name) || def == name+"Target" || def == name+"Step" {
				return nil, fmt.Errorf("schema: driver %s: $defs/%s: a driver's definitions are named after it (%sSomething), and %sTarget and %sStep are its Target and Step", name, def, name, name, name)
			}
			if err := add(def, f.Defs[def]); err != nil {
				return nil, err
			}
		}
		for _, kind := range sortedKeys(f.Faults) {
			raw := f.Faults[kind]
			if !nameRE.MatchString(kind) || slices.Contains(coreFaults, kind) {
				return nil, fmt.Errorf("schema: driver %s: fault kind %q is not a name or is a key of the core's faults", name, kind)
			}
			if !json.Valid(raw) {
				return nil, fmt.Errorf("schema: driver %s: fault kind %s is not valid JSON", name, kind)
			}
			if _, seen := faultKinds[kind]; !seen {
				kinds = append(kinds, kind)
			}
			faultKinds[kind] = append(faultKinds[kind], compact(raw))
		}
	}
	sort.Strings(kinds)
	for _, kind := range kinds {
		schemas := faultKinds[kind]
		if len(schemas) == 1 {
			faultProps.set(kind, schemas[0])
			continue
		}
		// Drivers sharing a kind: the target's driver decides which one
		// applies, which the schema cannot see; any of them may.
		either, err := json.Marshal(map[string][]json.RawMessage{"anyOf": schemas})
		if err != nil {
			return nil, fmt.Errorf("schema: fault kind %s: %w", kind, err)
		}
		faultProps.set(kind, either)
	}
	if len(conds) > 0 {
		all, err := json.Marshal(conds)
		if err != nil {
			return nil, fmt.Errorf("schema: %w", err)
		}
		target.set("allOf", all)
	}
	if len(names) > 0 {
		if err := describeDrivers(target, step, names); err != nil {
			return nil, err
		}
		// The kinds are all known: a step or fault has exactly one of
		// them, and no other key.
		closeKinds(step, stepProps.keys, stepFields)
		closeKinds(fault, faultProps.keys, faultFields)
		if err := enumDrivers(target, names); err != nil {
			return nil, err
		}
	}
	for _, o := range []struct {
		parent *object
		key    string
		child  *object
	}{{step, "properties", stepProps}, {fault, "properties", faultProps}, {defs, "target", target}, {defs, "step", step}, {defs, "fault", fault}, {doc, "$defs", defs}} {
		raw, err := o.child.MarshalJSON()
		if err != nil {
			return nil, err
		}
		o.parent.set(o.key, raw)
	}
	raw, err := doc.MarshalJSON()
	if err != nil {
		return nil, err
	}
	if raw, err = allowExtensions(raw, 0); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// describeDrivers names the drivers in the descriptions of a target's
// driver key and of a step.
func describeDrivers(target, step *object, names []string) error {
	list := names[0]
	if len(names) > 1 {
		list = strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	}
	desc, _ := json.Marshal("The driver: " + list + ", or another registered driver (runplan checks it is registered).")
	if err := editDriver(target, func(drv *object) { drv.set("description", desc) }); err != nil {
		return err
	}
	desc, _ = json.Marshal("One step: exactly one kind key (" + strings.Join(names, ", ") + ", sleep, or another registered driver's name). runplan refuses keys that are neither a step field nor a registered driver.")
	step.set("description", desc)
	return nil
}

// editDriver applies edit to the schema of a target's driver key and puts
// it back in place.
func editDriver(target *object, edit func(drv *object)) error {
	props, err := target.object("properties")
	if err != nil {
		return err
	}
	drv, err := props.object("driver")
	if err != nil {
		return err
	}
	edit(drv)
	rawDrv, err := drv.MarshalJSON()
	if err != nil {
		return err
	}
	props.set("driver", rawDrv)
	rawProps, err := props.MarshalJSON()
	if err != nil {
		return err
	}
	target.set("properties", rawProps)
	return nil
}

// stepFields and faultFields are the keys of a step and of a fault that
// are not its kind.
var (
	stepFields  = []string{"name", "weight", "target", "expect", "capture"}
	faultFields = []string{"name", "description", "target", "at", "for", "probability", "recovery"}
)

// closeKinds makes the step or fault schema o refuse every key but its
// properties and x- keys, and require exactly one kind: one of the
// properties that are not fields.
func closeKinds(o *object, props, fields []string) {
	var one []json.RawMessage
	for _, k := range props {
		if !slices.Contains(fields, k) {
			one = append(one, json.RawMessage(fmt.Sprintf(`{"properties":{%q:true},"required":[%q]}`, k, k)))
		}
	}
	delete(o.vals, "propertyNames")
	o.keys = slices.DeleteFunc(o.keys, func(k string) bool { return k == "propertyNames" })
	o.set("additionalProperties", json.RawMessage("false"))
	raw, _ := json.Marshal(one)
	o.set("oneOf", raw)
}

// enumDrivers makes a target's driver one of names.
func enumDrivers(target *object, names []string) error {
	enum, _ := json.Marshal(names)
	return editDriver(target, func(drv *object) { drv.set("enum", enum) })
}

// extensionKeys is what allowExtensions adds.
const extensionKeys = `{"^x-":{"description":"An extension key, ignored by runplan: a place for anchors (docs/PLAN-FORMAT.md)."}}`

// allowExtensions adds x- keys to every mapping of the schema raw whose
// keys runplan names (additionalProperties false): runplan ignores them
// there (docs/PLAN-FORMAT.md), so a plan that has them is valid for other
// validators too.
func allowExtensions(raw json.RawMessage, depth int) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if depth > 64 || len(raw) == 0 {
		return raw, nil
	}
	switch raw[0] {
	case '{':
		o, err := parseObject(raw)
		if err != nil {
			return nil, err
		}
		for _, k := range o.keys {
			if o.vals[k], err = allowExtensions(o.vals[k], depth+1); err != nil {
				return nil, err
			}
		}
		if string(o.vals["additionalProperties"]) == "false" && !o.has("patternProperties") {
			o.insertBefore("additionalProperties", "patternProperties", json.RawMessage(extensionKeys))
		}
		return o.MarshalJSON()
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, err
		}
		for i := range items {
			var err error
			if items[i], err = allowExtensions(items[i], depth+1); err != nil {
				return nil, err
			}
		}
		return json.Marshal(items)
	}
	return raw, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func compact(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}

// object is a JSON object that keeps the order of its keys, so that the
// assembled document reads in the core's order.
type object struct {
	keys []string
	vals map[string]json.RawMessage
}

func parseObject(raw []byte) (*object, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	o := &object{vals: map[string]json.RawMessage{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		o.set(key, v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return o, nil
}

// object returns the object under key.
func (o *object) object(key string) (*object, error) {
	raw, ok := o.vals[key]
	if !ok {
		return nil, fmt.Errorf("schema: plan.core.json: no %q", key)
	}
	c, err := parseObject(raw)
	if err != nil {
		return nil, fmt.Errorf("schema: plan.core.json: %q: %w", key, err)
	}
	return c, nil
}

func (o *object) has(key string) bool { _, ok := o.vals[key]; return ok }

// set replaces the value of key, or adds key at the end.
func (o *object) set(key string, v json.RawMessage) {
	if !o.has(key) {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = v
}

// insertBefore adds key before the key before (at the end when absent).
func (o *object) insertBefore(before, key string, v json.RawMessage) {
	i := slices.Index(o.keys, before)
	if i < 0 {
		o.set(key, v)
		return
	}
	o.keys = slices.Insert(o.keys, i, key)
	o.vals[key] = v
}

// MarshalJSON writes the object compactly, its keys in order.
func (o *object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(o.vals[k])
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// PlanSchema is a compiled plan schema together with its document. It is
// immutable and safe for concurrent use.
type PlanSchema struct {
	json   []byte
	doc    map[string]any
	schema *jsonschema.Schema
}

// CompilePlan compiles a plan schema document (what Assemble returns).
// Where the document has the duration or rate pattern (DurationPattern,
// RatePattern), the compiled schema checks the value with ParseDuration or
// ParseRate instead, as the formats "duration" and "rate": the same
// values, and errors that say what is wrong (a negative duration, one too
// long) rather than that a pattern did not match.
func CompilePlan(doc []byte) (*PlanSchema, error) {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, fmt.Errorf("schema: plan schema: %w", err)
	}
	parsersForPatterns(inst, 0)
	var raw map[string]any
	if err := json.Unmarshal(doc, &raw); err != nil {
		return nil, fmt.Errorf("schema: plan schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.RegisterFormat(&jsonschema.Format{Name: "duration", Validate: validateDuration})
	c.RegisterFormat(&jsonschema.Format{Name: "rate", Validate: validateRate})
	if err := c.AddResource(PlanURL, inst); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	sch, err := c.Compile(PlanURL)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return &PlanSchema{json: slices.Clone(doc), doc: raw, schema: sch}, nil
}

// parsersForPatterns replaces, in the decoded schema v, every duration or
// rate pattern by the format that parses the value the way runplan does.
func parsersForPatterns(v any, depth int) {
	if depth > 64 {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		if p, ok := x["pattern"].(string); ok {
			switch p {
			case DurationPattern:
				delete(x, "pattern")
				x["format"] = "duration"
			case RatePattern:
				delete(x, "pattern")
				x["format"] = "rate"
			}
		}
		for _, c := range x {
			parsersForPatterns(c, depth+1)
		}
	case []any:
		for _, c := range x {
			parsersForPatterns(c, depth+1)
		}
	}
}

// Validate validates a plan, decoded as JSON values, against the schema;
// the error is a *jsonschema.ValidationError when the plan does not fit.
func (p *PlanSchema) Validate(inst any) error { return p.schema.Validate(inst) }

// Doc returns the schema as decoded JSON, for looking up the properties a
// location allows (to suggest a key). It must not be changed.
func (p *PlanSchema) Doc() map[string]any { return p.doc }

// JSON returns the schema document. It must not be changed.
func (p *PlanSchema) JSON() []byte { return p.json }

// Core returns the plan schema of no driver, compiled: what a plan is
// checked against when its loader is given no schema (targets, steps and
// faults accept any driver's options).
func Core() (*PlanSchema, error) { return core() }

var core = sync.OnceValues(func() (*PlanSchema, error) {
	doc, err := Assemble(nil)
	if err != nil {
		return nil, err
	}
	return CompilePlan(doc)
})
