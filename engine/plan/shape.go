package plan

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// schemaDoc is the plan schema as decoded JSON (schema.PlanSchema.Doc),
// read for the shapes of the plan's mappings. It is never changed.
type schemaDoc map[string]any

// keyShape is what the plan schema says about the keys of one mapping of the
// plan, read from the schema document itself so that it follows every
// change to the schema (and the drivers' parts of it).
type keyShape struct {
	// known are the keys the schema names, each with its schemas.
	known map[string][]any
	// extra are the schemas of the keys it does not name (additionalProperties).
	extra []any
	// defined is true where runplan names the keys (the schema lists
	// properties, or allows no others): a key it does not know is an error
	// there, and an x- key an extension to ignore. Elsewhere the keys are
	// the author's: names of targets and scenarios, headers, JSON bodies.
	defined bool
}

// facets collects the object schemas among s that apply to node n: $ref,
// allOf, oneOf and anyOf are followed, if/then/else by the simple
// conditions the plan schema uses, and a schema whose type excludes n is
// left out.
func (d schemaDoc) facets(s any, n *yaml.Node, out []map[string]any, depth int) []map[string]any {
	m, ok := s.(map[string]any)
	if !ok || depth > 32 {
		return out
	}
	if ref, ok := m["$ref"].(string); ok {
		out = d.facets(d.resolveRef(ref), n, out, depth+1)
	}
	if !admits(m, n) {
		return out
	}
	out = append(out, m)
	for _, kw := range []string{"allOf", "oneOf", "anyOf"} {
		list, _ := m[kw].([]any)
		for _, sub := range list {
			out = d.facets(sub, n, out, depth+1)
		}
	}
	if cond, ok := m["if"].(map[string]any); ok {
		if matches(cond, n) {
			out = d.facets(m["then"], n, out, depth+1)
		} else {
			out = d.facets(m["else"], n, out, depth+1)
		}
	}
	return out
}

func (d schemaDoc) resolveRef(ref string) any {
	name, ok := strings.CutPrefix(ref, "#/$defs/")
	if !ok {
		return nil
	}
	defs, _ := d["$defs"].(map[string]any)
	return defs[name]
}

// admits reports whether the schema's type allows the node's kind.
func admits(m map[string]any, n *yaml.Node) bool {
	var types []string
	switch t := m["type"].(type) {
	case string:
		types = []string{t}
	case []any:
		for _, x := range t {
			types = append(types, fmt.Sprint(x))
		}
	default:
		return true
	}
	for _, t := range types {
		switch {
		case t == "object" && n.Kind == yaml.MappingNode,
			t == "array" && n.Kind == yaml.SequenceNode,
			t != "object" && t != "array" && n.Kind == yaml.ScalarNode:
			return true
		}
	}
	return false
}

// matches evaluates an if condition of the forms the plan schema uses: a
// type, and properties with a const (a property that is absent matches, as
// in JSON Schema).
func matches(cond map[string]any, n *yaml.Node) bool {
	if !admits(cond, n) {
		return false
	}
	props, _ := cond["properties"].(map[string]any)
	for k, sub := range props {
		c, ok := sub.(map[string]any)["const"]
		if !ok {
			continue
		}
		if _, v := get(n, k); v != nil && (v.Kind != yaml.ScalarNode || v.Value != fmt.Sprint(c)) {
			return false
		}
	}
	return true
}

// shapeOf returns what the schemas say about the keys of mapping n.
func (d schemaDoc) shapeOf(schemas []any, n *yaml.Node) keyShape {
	ks := keyShape{known: map[string][]any{}}
	var fs []map[string]any
	for _, s := range schemas {
		fs = d.facets(s, n, fs, 0)
	}
	for _, f := range fs {
		if props, ok := f["properties"].(map[string]any); ok {
			ks.defined = true
			for k, sub := range props {
				ks.known[k] = append(ks.known[k], sub)
			}
		}
		switch ap := f["additionalProperties"].(type) {
		case bool:
			if !ap {
				ks.defined = true
			}
		case map[string]any:
			ks.extra = append(ks.extra, ap)
		}
	}
	return ks
}

// child returns the schemas of the value under key.
func (ks keyShape) child(key string) []any {
	if s, ok := ks.known[key]; ok {
		return s
	}
	return ks.extra
}

// itemSchemas returns the schemas of the items of sequence n.
func (d schemaDoc) itemSchemas(schemas []any, n *yaml.Node) []any {
	var out []any
	var fs []map[string]any
	for _, s := range schemas {
		fs = d.facets(s, n, fs, 0)
	}
	for _, f := range fs {
		if it, ok := f["items"]; ok {
			out = append(out, it)
		}
	}
	return out
}

// root is the schema of the whole plan.
func (d schemaDoc) root() []any { return []any{map[string]any(d)} }

func deref(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}
