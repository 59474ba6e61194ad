package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/tmpl"
)

// jsonNode renders one JSON value of a body. Nodes are immutable once
// compiled, and so safe for concurrent use; the state is the caller's.
type jsonNode interface {
	appendJSON(b []byte, st *tmpl.State) ([]byte, error)
}

// staticJSON is a pre-rendered value: a whole subtree without templates.
type staticJSON []byte

func (s staticJSON) appendJSON(b []byte, _ *tmpl.State) ([]byte, error) { return append(b, s...), nil }

// objectJSON is an object with at least one templated member. prefixes[i] is
// the pre-encoded text before value i: `{"key":` or `,"key":`.
type objectJSON struct {
	prefixes [][]byte
	values   []jsonNode
}

func (o *objectJSON) appendJSON(b []byte, st *tmpl.State) ([]byte, error) {
	var err error
	for i, v := range o.values {
		b = append(b, o.prefixes[i]...)
		if b, err = v.appendJSON(b, st); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// arrayJSON is an array with at least one templated element.
type arrayJSON []jsonNode

func (a arrayJSON) appendJSON(b []byte, st *tmpl.State) ([]byte, error) {
	b = append(b, '[')
	var err error
	for i, v := range a {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = v.appendJSON(b, st); err != nil {
			return b, err
		}
	}
	return append(b, ']'), nil
}

// stringJSON is a template mixing text and expressions: always a JSON string.
type stringJSON struct{ t *tmpl.Template }

func (s stringJSON) appendJSON(b []byte, st *tmpl.State) ([]byte, error) {
	// Render after the quote, then escape in place from a copy: the common
	// case (nothing to escape) costs one scan.
	start := len(b)
	b, err := s.t.AppendTo(b, st)
	if err != nil {
		return b[:start], fmt.Errorf("%q: %w", s.t.Source(), err)
	}
	raw := b[start:]
	if !needsEscape(raw) {
		b = append(b, '"')
		copy(b[start+1:], b[start:len(b)-1])
		b[start] = '"'
		return append(b, '"'), nil
	}
	tmp := string(raw)
	return appendString(b[:start], tmp), nil
}

// valueJSON is a template that is exactly one expression: it keeps the
// expression's type, so that numbers stay numbers.
type valueJSON struct{ t *tmpl.Template }

func (v valueJSON) appendJSON(b []byte, st *tmpl.State) ([]byte, error) {
	x, err := v.t.Value(st)
	if err != nil {
		return b, fmt.Errorf("%q: %w", v.t.Source(), err)
	}
	out, err := appendValue(b, x)
	if err != nil {
		return b, fmt.Errorf("%q: %w", v.t.Source(), err)
	}
	return out, nil
}

// compileJSON turns a YAML value into a body renderer. Every string is a
// template; wholly static subtrees are pre-rendered.
func compileJSON(n *yaml.Node, c *tmpl.Compiler, errs *[]error) jsonNode {
	n = deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		members := fields(n, "json object", errs)
		o := &objectJSON{}
		static := true
		for i, m := range members {
			if tmpl.HasTemplate(m.key.Value) {
				*errs = append(*errs, diag.Errorf(m.key, "webhook: templates are not allowed in JSON keys"))
			}
			p := []byte{','}
			if i == 0 {
				p[0] = '{'
			}
			p = appendString(p, m.key.Value)
			p = append(p, ':')
			v := compileJSON(m.val, c, errs)
			if _, ok := v.(staticJSON); !ok {
				static = false
			}
			o.prefixes = append(o.prefixes, p)
			o.values = append(o.values, v)
		}
		if len(members) == 0 {
			return staticJSON("{}")
		}
		if static {
			b, _ := o.appendJSON(nil, nil)
			return staticJSON(b)
		}
		return o
	case yaml.SequenceNode:
		a := make(arrayJSON, 0, len(n.Content))
		static := true
		for _, e := range n.Content {
			v := compileJSON(e, c, errs)
			if _, ok := v.(staticJSON); !ok {
				static = false
			}
			a = append(a, v)
		}
		if static {
			b, _ := a.appendJSON(nil, nil)
			return staticJSON(b)
		}
		return a
	case yaml.ScalarNode:
		return compileScalar(n, c, errs)
	default:
		*errs = append(*errs, diag.Errorf(n, "webhook: json: unsupported YAML node"))
		return staticJSON("null")
	}
}

func compileScalar(n *yaml.Node, c *tmpl.Compiler, errs *[]error) jsonNode {
	switch n.Tag {
	case "!!null":
		return staticJSON("null")
	case "!!bool", "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err != nil {
			*errs = append(*errs, diag.Errorf(n, "webhook: json: %v", err))
			return staticJSON("null")
		}
		b, err := appendValue(nil, v)
		if err != nil {
			*errs = append(*errs, diag.Errorf(n, "webhook: json: %v", err))
			return staticJSON("null")
		}
		return staticJSON(b)
	}
	// Strings, and scalars of any other tag (timestamps, binary) as written.
	if !tmpl.HasTemplate(n.Value) {
		return staticJSON(appendString(nil, n.Value))
	}
	t, err := compileTemplate(n, c)
	if err != nil {
		*errs = append(*errs, err)
		return staticJSON("null")
	}
	if t.Single() {
		return valueJSON{t}
	}
	return stringJSON{t}
}

// compileTemplate compiles the template of scalar n, locating an error at
// the offending column when the scalar sits on one line.
func compileTemplate(n *yaml.Node, c *tmpl.Compiler) (*tmpl.Template, error) {
	if c == nil {
		c = tmpl.NewCompiler()
	}
	t, err := c.Compile(n.Value)
	if err == nil {
		return t, nil
	}
	line, col := n.Line, n.Column
	var te *tmpl.Error
	if errors.As(err, &te) {
		switch n.Style {
		case 0, yaml.TaggedStyle:
			col += te.Offset
		case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
			col += te.Offset + 1
		}
	}
	return nil, diag.ErrorAt(diag.Pos{File: diag.FileOf(n), Line: line, Col: col}, fmt.Errorf("webhook: template %q: %w", n.Value, err))
}

// appendValue appends the JSON form of a template or YAML value.
func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return b, fmt.Errorf("%v has no JSON form", x)
		}
		return strconv.AppendFloat(b, x, 'g', -1, 64), nil
	default:
		j, err := json.Marshal(x)
		if err != nil {
			return b, err
		}
		return append(b, j...), nil
	}
}

// needsEscape reports whether s cannot be written verbatim inside JSON quotes.
func needsEscape(s []byte) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			return true
		}
		i += size
	}
	return false
}

// appendString appends s as a JSON string, as encoding/json does but without
// HTML escaping: invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
