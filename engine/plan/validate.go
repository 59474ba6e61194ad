package plan

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/runplan/runplan/schema"
)

var printer = message.NewPrinter(language.English)

// validateSchema validates the instance against the plan schema and turns
// every leaf error into a located diagnostic.
func (l *loader) validateSchema(inst any) {
	sch, err := schema.Plan()
	if err != nil {
		l.diags = append(l.diags, Diagnostic{File: l.file, Msg: err.Error()})
		return
	}
	err = sch.Validate(inst)
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return
	}
	for _, leaf := range leaves(ve) {
		l.schemaDiag(leaf)
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

// typeMismatch reports whether e is only a type error at location loc.
func typeMismatch(e *jsonschema.ValidationError, loc []string) (*kind.Type, bool) {
	for {
		if t, ok := e.ErrorKind.(*kind.Type); ok && slices.Equal(e.InstanceLocation, loc) {
			return t, true
		}
		if len(e.Causes) != 1 {
			return nil, false
		}
		e = e.Causes[0]
	}
}

func (l *loader) schemaDiag(e *jsonschema.ValidationError) {
	ptr := ""
	for _, tok := range e.InstanceLocation {
		ptr += "/" + escapePtr(tok)
	}
	l.badPtrs = append(l.badPtrs, ptr)
	where := dotted(e.InstanceLocation)
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
			if s := suggest(prop, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else if len(known) > 0 && len(known) <= 12 {
				msg += " (known keys: " + strings.Join(known, ", ") + ")"
			}
			l.add(l.keys[cp], msg)
		}
		return
	case *kind.Required:
		for _, m := range k.Missing {
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

// allowedKeys returns the properties the schema at the given
// ".../additionalProperties" location allows.
func (l *loader) allowedKeys(schemaURL string) []string {
	_, frag, _ := strings.Cut(schemaURL, "#")
	toks := strings.Split(strings.TrimPrefix(frag, "/"), "/")
	if len(toks) > 0 && toks[len(toks)-1] == "additionalProperties" {
		toks = toks[:len(toks)-1]
	}
	var cur any = schema.PlanDoc()
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

// suggest returns the known word closest to w when it is close enough to be
// a likely typo, or "".
func suggest(w string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		d := editDistance(strings.ToLower(w), strings.ToLower(k))
		limit := 2
		if len(k) <= 4 {
			limit = 1
		}
		if d <= limit && d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// Suggest is suggest for other packages: the closest of known to w, or "".
func Suggest(w string, known []string) string { return suggest(w, known) }

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
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
