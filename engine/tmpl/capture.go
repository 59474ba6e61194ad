package tmpl

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/runplan/runplan/engine/diag"
)

// Captures: a step's `capture: {NAME: EXPR}` saves values from its reply
// for the steps after it in the same iteration, which read them as
// vars.NAME. EXPR is a bare expression (no {{ }}) over reply, the step's
// reply as its driver gives it (driver.Outcome.Reply), and vars, the
// iteration's vars and the captures of the steps before.

// captureEnv is the environment of a capture expression.
type captureEnv struct {
	Reply any            `expr:"reply"`
	Vars  map[string]any `expr:"vars"`
}

// CaptureDef is one capture as a plan writes it: a name and an expression.
type CaptureDef struct {
	Name string
	Src  string
}

// CaptureError is a problem with the capture at Index of the definitions
// given to CompileCaptures. Err is an *Error with its offset in the
// expression.
type CaptureError struct {
	Index int
	Err   error
}

func (e *CaptureError) Error() string { return e.Err.Error() }
func (e *CaptureError) Unwrap() error { return e.Err }

// Captures is one step's compiled captures, in plan order. It is
// immutable and safe for concurrent use; each VU evaluates it with its own
// State (Eval) after the step succeeded.
type Captures struct {
	names []string
	srcs  []string
	progs []*vm.Program
	// paths are the member chains of captures that are one (reply.json.id:
	// reply, json, id), to say which member is missing; nil for others.
	paths [][]any
}

// Names returns the captured names in order.
func (cs *Captures) Names() []string {
	if cs == nil {
		return nil
	}
	return slices.Clone(cs.names)
}

// Len is the number of captures.
func (cs *Captures) Len() int {
	if cs == nil {
		return 0
	}
	return len(cs.names)
}

// WithCaptures returns a copy of c whose templates may also read the names
// in known (the captures of the steps before a step) as vars.NAME. later
// maps the names captured by the step itself and by the steps after it to
// the step that captures them ("" for the step itself), so that reading one
// is refused saying why rather than as an unknown var.
func (c *Compiler) WithCaptures(known []string, later map[string]string) *Compiler {
	if c == nil {
		c = &Compiler{}
	}
	cc := *c
	cc.vars = append(slices.Clone(c.vars), known...)
	cc.captured = maps.Clone(later)
	return &cc
}

// CompileCaptures compiles a step's captures. Their expressions may read
// the vars this compiler knows (WithCaptures), not the step's own captures.
// It returns every problem, each a *CaptureError; the returned Captures is
// nil when there is one.
func (c *Compiler) CompileCaptures(defs []CaptureDef) (*Captures, []error) {
	cs := &Captures{}
	var errs []error
	for i, d := range defs {
		p, path, err := c.compileCapture(d.Src)
		if err != nil {
			errs = append(errs, &CaptureError{Index: i, Err: err})
			continue
		}
		cs.names = append(cs.names, d.Name)
		cs.srcs = append(cs.srcs, d.Src)
		cs.progs = append(cs.progs, p)
		cs.paths = append(cs.paths, path)
	}
	if errs != nil {
		return nil, errs
	}
	return cs, nil
}

func (c *Compiler) compileCapture(src string) (*vm.Program, []any, error) {
	text := strings.TrimSpace(src)
	lead := len(src) - len(strings.TrimLeft(src, " \t\n"))
	switch {
	case text == "":
		return nil, nil, &Error{Err: errors.New("empty expression: write what to keep of the reply, e.g. reply.json.id")}
	case HasTemplate(text):
		return nil, nil, &Error{Offset: lead + strings.Index(text, "{{"), Err: errors.New("a capture is an expression, not a template: write reply.json.id, not {{ reply.json.id }}")}
	}
	p, err := expr.Compile(text, expr.Env(captureEnv{}))
	if err != nil {
		off, msg := ExprError(text, err)
		return nil, nil, &Error{Offset: lead + off, Err: errors.New(msg)}
	}
	if strings.Contains(text, "vars") {
		if off, err := c.checkVars(text); err != nil {
			return nil, nil, &Error{Offset: lead + off, Err: err}
		}
	}
	return p, memberPath(text), nil
}

// memberPath returns the chain of members src reads when it is only that
// (reply.json.id, reply.headers["X-Id"], reply[0]): the root identifier,
// then field names (string) and indexes (int). nil otherwise.
func memberPath(src string) []any {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil
	}
	var rev []any
	n := tree.Node
	for {
		switch x := n.(type) {
		case *ast.ChainNode:
			n = x.Node
			continue
		case *ast.MemberNode:
			switch p := x.Property.(type) {
			case *ast.StringNode:
				rev = append(rev, p.Value)
			case *ast.IntegerNode:
				rev = append(rev, p.Value)
			default:
				return nil
			}
			n = x.Node
			continue
		case *ast.IdentifierNode:
			rev = append(rev, x.Value)
			slices.Reverse(rev)
			return rev
		}
		return nil
	}
}

// Eval evaluates the captures over reply, in order, and stores each value
// in st's current iteration, where the templates of the later steps read it
// as vars.NAME; a value keeps its type. A capture that fails — the
// expression errs, or its value is nil (a missing field, a nil reply) —
// returns an error naming it and why, e.g.
// `capture "msg_id": reply.json has no field "id"`; the captures after it
// are not stored, and the iteration must not go on.
func (cs *Captures) Eval(st *State, reply any) error {
	if cs == nil || len(cs.names) == 0 {
		return nil
	}
	if st.env.Vars == nil {
		st.env.Vars = make(map[string]any, len(cs.names))
	}
	env := &captureEnv{Reply: reply, Vars: st.env.Vars}
	for i, name := range cs.names {
		v, err := st.vm.Run(cs.progs[i], env)
		if err == nil && v != nil {
			st.env.Vars[name] = v
			continue
		}
		why := ""
		if cs.paths[i] != nil {
			why = explainPath(cs.paths[i], env)
		}
		switch {
		case why != "":
		case err != nil:
			_, why = ExprError(cs.srcs[i], err)
		default:
			why = cs.srcs[i] + " is nil"
		}
		return fmt.Errorf("capture %q: %s", name, why)
	}
	return nil
}

// explainPath says why the member chain path gives nothing in env: which
// member is missing or nil; "" when it finds nothing wrong.
func explainPath(path []any, env *captureEnv) string {
	root, _ := path[0].(string)
	var v any
	switch root {
	case "reply":
		v = env.Reply
	case "vars":
		v = env.Vars
	default:
		return ""
	}
	where := root
	for _, p := range path[1:] {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			switch {
			case !ok && v == nil:
				return where + " is nil"
			case !ok:
				return fmt.Sprintf("%s is %s, not a map: it has no field %q", where, kindOf(v), k)
			}
			x, ok := m[k]
			if !ok {
				msg := fmt.Sprintf("%s has no field %q", where, k)
				if s := diag.Suggest(k, slices.Sorted(maps.Keys(m))); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				return msg
			}
			v = x
			where += member(k)
		case int:
			l, ok := v.([]any)
			switch {
			case !ok && v == nil:
				return where + " is nil"
			case !ok:
				return fmt.Sprintf("%s is %s, not a list: it has no element [%d]", where, kindOf(v), k)
			case k >= len(l) || k < -len(l):
				return fmt.Sprintf("%s has %d elements, no [%d]", where, len(l), k)
			}
			if k < 0 {
				k += len(l)
			}
			v = l[k]
			where += "[" + strconv.Itoa(k) + "]"
		}
	}
	if v == nil {
		return where + " is nil"
	}
	return ""
}

// member writes a field access as a plan would: .name, or ["X-Id"].
func member(k string) string {
	ident := k != ""
	for i, r := range k {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			ident = false
		}
	}
	if ident {
		return "." + k
	}
	return "[" + strconv.Quote(k) + "]"
}

// kindOf names a reply value's kind for messages.
func kindOf(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int, int64, float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	}
	return fmt.Sprintf("a %T", v)
}
