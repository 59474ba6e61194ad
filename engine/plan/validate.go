package plan

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/runplan/runplan/engine/diag"
)

var printer = message.NewPrinter(language.English)

// validateSchema validates the instance against the plan schema and turns
// every leaf error into a located diagnostic.
func (l *loader) validateSchema(inst any) {
	err := l.schema.Validate(inst)
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return
	}
	for _, leaf := range leaves(ve) {
		if decoderChecked(leaf) {
			if !under(leaf, engineChecks) {
				l.dropped = append(l.dropped, leaf)
			}
			continue
		}
		l.schemaDiag(leaf)
	}
}

// decoderChecks are the places of the plan schema (keyword locations)
// whose rules the decoder checks too, and explains in the plan's terms:
// identifiers, exactly one kind per step and fault, steps or a mix, the
// load's combinations, positive durations and rates, a sleep step's
// fields. The schema states them for other validators and editors; runplan
// shows the decoder's message instead of the schema's.
var decoderChecks = []string{
	"/$defs/name", "/$defs/entityName", "/$defs/positiveDuration/allOf/1", "/$defs/positiveRate",
	"/$defs/scenario/oneOf", "/$defs/scenario/properties/steps/items/not",
	"/$defs/scenario/properties/mix/items/not", "/$defs/scenario/properties/mix/items/required",
	"/$defs/load/anyOf", "/$defs/load/dependentSchemas",
	"/$defs/step/oneOf", "/$defs/step/dependentSchemas", "/$defs/step/additionalProperties",
	"/$defs/step/propertyNames", "/$defs/step/properties/capture/minProperties",
	"/$defs/fault/oneOf", "/$defs/fault/additionalProperties", "/$defs/fault/propertyNames",
	"/$defs/target/properties/driver/enum",
}

// engineChecks are the decoderChecks that the engine checks once the plan
// is loaded (a target's driver, a fault's kind, which depends on its
// target's driver), rather than the decoder.
var engineChecks = []string{
	"/$defs/fault/oneOf", "/$defs/fault/additionalProperties", "/$defs/fault/propertyNames",
	"/$defs/target/properties/driver/enum",
}

// typeTwins are where the plan schema asks for a type that another rule of
// the same value asks for too (positiveDuration: a duration, and a
// non-zero digit; positiveRate: a rate).
var typeTwins = []string{"/$defs/positiveDuration/allOf/1", "/$defs/positiveRate"}

// decoderChecked reports whether schema error e is one of decoderChecks
// (never a type error: the decoder skips values of the wrong type).
func decoderChecked(e *jsonschema.ValidationError) bool {
	switch e.ErrorKind.(type) {
	case *kind.Type:
		// A value of the wrong type is the decoder's to skip, and the
		// schema's to report, once: where two rules ask for the same type,
		// the second (a twin) is left out.
		return under(e, typeTwins)
	case *kind.PropertyNames:
		return true // the decoder checks every name and every key of a step
	}
	return under(e, decoderChecks)
}

// keywordLoc is the schema location of the keyword that e failed on.
func keywordLoc(e *jsonschema.ValidationError) string {
	_, loc, _ := strings.Cut(e.SchemaURL, "#")
	switch k := e.ErrorKind.(type) {
	case *kind.Not:
		loc += "/not"
	case *kind.PropertyNames:
		loc += "/propertyNames"
	default:
		if kp := k.KeywordPath(); len(kp) > 0 {
			loc += "/" + strings.Join(kp, "/")
		}
	}
	return loc
}

// under reports whether the keyword e failed on is at or below one of locs.
func under(e *jsonschema.ValidationError, locs []string) bool {
	return within(keywordLoc(e), locs)
}

// within reports whether schema location loc is at or below one of locs.
func within(loc string, locs []string) bool {
	for _, c := range locs {
		if rest, ok := strings.CutPrefix(loc, c); ok && (rest == "" || rest[0] == '/') {
			return true
		}
	}
	return false
}

// reportDropped reports the schema errors validateSchema left to the
// decoder when the decoder found nothing: the plan is refused all the same.
func (l *loader) reportDropped() {
	if len(l.diags) > 0 {
		return
	}
	for _, e := range l.dropped {
		l.schemaDiag(e)
	}
}

// leaves returns the errors worth reporting: the leaves of the cause tree,
// except that for oneOf/anyOf only the branch that matched the value's type is
// followed (a list given where a mapping was meant should not also be told it
// is not a list).
func leaves(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	switch e.ErrorKind.(type) {
	case *kind.OneOf, *kind.AnyOf:
		var typed []*jsonschema.ValidationError
		var wants []string
		var got string
		for _, c := range e.Causes {
			if t, ok := typeMismatch(c, e.InstanceLocation); ok {
				wants = append(wants, t.Want...)
				got = t.Got
				continue
			}
			typed = append(typed, c)
		}
		if len(typed) == 1 {
			return leaves(typed[0])
		}
		if len(typed) == 0 && len(wants) > 0 {
			slices.Sort(wants)
			return []*jsonschema.ValidationError{{
				SchemaURL:        e.SchemaURL,
				InstanceLocation: e.InstanceLocation,
				ErrorKind:        &kind.Type{Got: got, Want: slices.Compact(wants)},
			}}
		}
	}
	if len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

// typeMismatch reports whether e is only a type error at location loc
// (directly, or every branch of a nested oneOf/anyOf is one).
func typeMismatch(e *jsonschema.ValidationError, loc []string) (*kind.Type, bool) {
	if t, ok := e.ErrorKind.(*kind.Type); ok && slices.Equal(e.InstanceLocation, loc) {
		return t, true
	}
	if len(e.Causes) == 0 {
		return nil, false
	}
	var merged *kind.Type
	for _, c := range e.Causes {
		t, ok := typeMismatch(c, loc)
		if !ok {
			return nil, false
		}
		if merged == nil {
			merged = &kind.Type{Got: t.Got}
		}
		merged.Want = append(merged.Want, t.Want...)
	}
	return merged, true
}

func (l *loader) schemaDiag(e *jsonschema.ValidationError) {
	ptr := ""
	for _, tok := range e.InstanceLocation {
		ptr += "/" + escapePtr(tok)
	}
	l.badPtrs = append(l.badPtrs, ptr)
	where := l.where(e.InstanceLocation)
	node := l.nodes[ptr]
	switch k := e.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		known := l.allowedKeys(e.SchemaURL)
		for _, prop := range k.Properties {
			cp := ptr + "/" + escapePtr(prop)
			l.badPtrs = append(l.badPtrs, cp)
			msg := fmt.Sprintf("unknown key %q", prop)
			if where != "" {
				msg += " in " + where
			}
			if s := diag.Suggest(prop, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else if len(known) > 0 && len(known) <= 12 {
				msg += " (known keys: " + strings.Join(known, ", ") + ")"
			}
			if m := l.mergedBy[l.keys[cp]]; m != nil {
				msg += fmt.Sprintf("; the <<: at line %d merged it in", m.Line)
			}
			l.add(l.keys[cp], msg)
		}
		return
	case *kind.Required:
		for _, m := range k.Missing {
			if l.misspelled(node, m) {
				continue // reported as an unknown key with "did you mean"
			}
			if where == "" {
				l.addf(node, "missing required key %q", m)
			} else {
				l.addf(node, "%s: missing required key %q", where, m)
			}
		}
		return
	case *kind.Format:
		msg := fmt.Sprintf("%s: invalid %s %s", where, k.Want, display(k.Got))
		if k.Err != nil {
			msg += ": " + k.Err.Error()
		}
		l.add(node, msg)
		return
	case *kind.Const:
		if where == "version" {
			l.addf(node, "version: unsupported plan version %s; this runplan reads version 1", display(k.Got))
			return
		}
	case *kind.Type:
		if inDef(e.SchemaURL, "duration") {
			l.addf(node, "%s: a duration needs a unit, like 500ms, 20s or 1m30s (got %s)", where, display(scalarOf(node)))
			return
		}
		if inDef(e.SchemaURL, "rate") {
			l.addf(node, "%s: a rate is a count per unit, like 4/s, 120/m or 2/h, or a number per second", where)
			return
		}
		msg := fmt.Sprintf("%s: got %s, want %s", where, k.Got, strings.Join(k.Want, " or "))
		if slices.Contains(k.Want, "string") {
			msg += braceHint(node)
		}
		if slices.Contains(k.Want, "integer") || slices.Contains(k.Want, "number") {
			msg += quotedNumberHint(node)
		}
		l.add(node, msg)
		return
	case *kind.Enum:
		var want []string
		for _, w := range k.Want {
			want = append(want, display(w))
		}
		msg := fmt.Sprintf("%s: %s is not one of %s", where, display(k.Got), strings.Join(want, ", "))
		if got, ok := k.Got.(string); ok {
			var ws []string
			for _, w := range k.Want {
				if s, ok := w.(string); ok {
					ws = append(ws, s)
				}
			}
			if s := diag.Suggest(got, ws); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
		}
		l.add(node, msg)
		return
	case *kind.Minimum:
		l.addf(node, "%s: must be at least %s (got %s)", where, ratString(k.Want), ratString(k.Got))
		return
	case *kind.Maximum:
		l.addf(node, "%s: must be at most %s (got %s)", where, ratString(k.Want), ratString(k.Got))
		return
	case *kind.ExclusiveMinimum:
		msg := fmt.Sprintf("%s: must be more than %s (got %s)", where, ratString(k.Want), ratString(k.Got))
		if mixWeight(e.InstanceLocation) {
			msg += ": an entry of a mix is drawn by its weight, and one of weight 0 never would be (remove it); for think time, draw a sleep entry such as {sleep: 200ms, weight: 3}"
		}
		l.add(node, msg)
		return
	case *kind.MinLength:
		l.addf(node, "%s: must not be empty", where)
		return
	case *kind.Pattern:
		msg := fmt.Sprintf("%s: %q does not have the expected form (%s)", where, k.Got, k.Want)
		if h := quotedNumberHint(node); h != "" && l.numberBeside(e.SchemaURL) {
			msg = fmt.Sprintf("%s: %q in quotes is a string, not a number%s", where, k.Got, h)
		}
		l.add(node, msg)
		return
	case *kind.MinProperties:
		l.addf(node, "%s: must not be empty", where)
		return
	case *kind.MinItems:
		l.addf(node, "%s: needs at least %d item(s)", where, k.Want)
		return
	}
	msg := e.ErrorKind.LocalizedString(printer)
	if where != "" {
		msg = where + ": " + msg
	}
	l.add(node, msg)
}

// inDef reports whether a schema location lies in the core's definition
// name, and not in a driver's definition whose name begins the same way
// (a driver called rate has $defs/rateTarget).
func inDef(schemaURL, name string) bool {
	_, after, ok := strings.Cut(schemaURL, "/$defs/"+name)
	return ok && (after == "" || after[0] == '/')
}

// allowedKeys returns the properties the schema at the given
// ".../additionalProperties" location allows.
func (l *loader) allowedKeys(schemaURL string) []string {
	_, frag, _ := strings.Cut(schemaURL, "#")
	toks := strings.Split(strings.TrimPrefix(frag, "/"), "/")
	if len(toks) > 0 && toks[len(toks)-1] == "additionalProperties" {
		toks = toks[:len(toks)-1]
	}
	var cur any = map[string]any(l.doc)
	for _, t := range toks {
		if t == "" {
			continue
		}
		t = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			cur = c[t]
		case []any:
			i, err := strconv.Atoi(t)
			if err != nil || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	m, _ := cur.(map[string]any)
	props, _ := m["properties"].(map[string]any)
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// misspelled reports whether the mapping n has a key that is a likely typo
// of want (and so was reported as an unknown key with a suggestion).
func (l *loader) misspelled(n *yaml.Node, want string) bool {
	found := false
	mapping(n, func(k, _ *yaml.Node) {
		if k.Value != want && diag.Suggest(k.Value, []string{want}) == want {
			found = true
		}
	})
	return found
}

// where names a location for messages: the path, with checks named by
// their name rather than their index.
func (l *loader) where(loc []string) string {
	if len(loc) >= 2 && (loc[0] == "checks" || loc[0] == "recommendations") {
		if loc[0] == "checks" {
			if n := l.nodes["/checks/"+loc[1]+"/name"]; n != nil && n.Kind == yaml.ScalarNode && n.Value != "" {
				rest := dotted(loc[2:])
				if rest == "" {
					return fmt.Sprintf("check %s", n.Value)
				}
				return fmt.Sprintf("check %s: %s", n.Value, rest)
			}
		}
		i, _ := strconv.Atoi(loc[1])
		what := strings.TrimSuffix(loc[0], "s")
		if rest := dotted(loc[2:]); rest != "" {
			return fmt.Sprintf("%s %d: %s", what, i+1, rest)
		}
		return fmt.Sprintf("%s %d", what, i+1)
	}
	return dotted(loc)
}

func scalarOf(n *yaml.Node) any {
	if n == nil {
		return nil
	}
	return scalarValue(n)
}

func ratString(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// dotted renders an instance location as a path: scenarios.cache.steps[0].redis.
func dotted(loc []string) string {
	var b strings.Builder
	for _, t := range loc {
		if _, err := strconv.Atoi(t); err == nil {
			b.WriteString("[" + t + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(t)
	}
	return b.String()
}

func display(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case nil:
		return "null"
	default:
		return fmt.Sprint(x)
	}
}

// bad reports whether a schema error was found at or below ptr.
func (l *loader) bad(ptr string) bool {
	for _, b := range l.badPtrs {
		if b == ptr || strings.HasPrefix(b, ptr+"/") {
			return true
		}
	}
	return false
}

// braceHint explains a value written {NAME}: YAML reads it as a mapping
// with one key and no value, where ${NAME} was meant.
func braceHint(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.MappingNode || n.Style&yaml.FlowStyle == 0 || len(n.Content) != 2 {
		return ""
	}
	k, v := n.Content[0], n.Content[1]
	name, _, _ := strings.Cut(k.Value, ":-")
	if !envName.MatchString(name) || v.Kind != yaml.ScalarNode || v.ShortTag() != "!!null" {
		return ""
	}
	return fmt.Sprintf(": {%s} is a YAML mapping; did you mean \"${%s}\"?", k.Value, k.Value)
}

// quotedNumberHint explains a number in quotes, which YAML reads as a
// string.
func quotedNumberHint(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
		return ""
	}
	if _, err := strconv.ParseFloat(n.Value, 64); err != nil {
		return ""
	}
	return fmt.Sprintf(": write %s without quotes", n.Value)
}

// numberBeside reports whether the schema that refused a value by its
// pattern is one branch of a oneOf or anyOf with a numeric branch: the
// value was a number in quotes (status: "200").
func (l *loader) numberBeside(schemaURL string) bool {
	_, frag, _ := strings.Cut(schemaURL, "#")
	toks := strings.Split(strings.TrimPrefix(frag, "/"), "/")
	at := -1
	for i, t := range toks {
		if t == "oneOf" || t == "anyOf" {
			at = i
		}
	}
	if at < 0 {
		return false
	}
	var cur any = map[string]any(l.doc)
	for _, t := range toks[:at+1] {
		t = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		cur = m[t]
	}
	branches, _ := cur.([]any)
	for _, b := range branches {
		m, _ := b.(map[string]any)
		if m["type"] == "integer" || m["type"] == "number" {
			return true
		}
	}
	return false
}

// mixWeight reports whether loc is the weight of a mix entry
// (scenarios/NAME/mix/N/weight).
func mixWeight(loc []string) bool {
	return len(loc) == 5 && loc[0] == "scenarios" && loc[2] == "mix" && loc[4] == "weight"
}
