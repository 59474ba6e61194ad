package tmpl

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/runplan/runplan/engine/diag"
)

// VarDef is one iteration variable as a plan writes it: a template string,
// or a constant (a YAML number or boolean) kept with its type.
type VarDef struct {
	Name string
	// Src is the template string; ignored when IsConst.
	Src string
	// Const is the value of a constant var (IsConst).
	Const   any
	IsConst bool
}

// VarError is a problem with the var at Index of the definitions given to
// CompileVars. Err is an *Error (with its offset in the var's template)
// when the problem is inside the template.
type VarError struct {
	Index int
	Err   error
}

func (e *VarError) Error() string { return e.Err.Error() }
func (e *VarError) Unwrap() error { return e.Err }

// Vars is a scenario's compiled iteration variables, in plan order. It is
// immutable and safe for concurrent use; each VU evaluates it with its own
// State (Eval), once per iteration before the first step.
type Vars struct {
	names []string
	tmpls []*Template
	konst []any
}

// Names returns the vars' names in order.
func (v *Vars) Names() []string {
	if v == nil {
		return nil
	}
	return slices.Clone(v.names)
}

// Len is the number of vars.
func (v *Vars) Len() int {
	if v == nil {
		return 0
	}
	return len(v.names)
}

// CompileVars compiles a scenario's vars in order: a var may read the vars
// above it as vars.NAME, not those below nor unknown ones. It returns every
// problem, each a *VarError; the returned Vars is nil when there is one.
func (c *Compiler) CompileVars(defs []VarDef) (*Vars, []error) {
	v := &Vars{}
	var errs []error
	all := make([]string, 0, len(defs))
	for _, d := range defs {
		all = append(all, d.Name)
	}
	for i, d := range defs {
		if d.IsConst {
			v.names = append(v.names, d.Name)
			v.tmpls = append(v.tmpls, nil)
			v.konst = append(v.konst, d.Const)
			continue
		}
		vc := &Compiler{vars: all[:i], later: all[i:], inVar: true, data: c.data, dataUse: c.dataUse}
		t, err := vc.Compile(d.Src)
		if err != nil {
			errs = append(errs, &VarError{Index: i, Err: err})
			continue
		}
		v.names = append(v.names, d.Name)
		v.tmpls = append(v.tmpls, t)
		v.konst = append(v.konst, nil)
	}
	if errs != nil {
		return nil, errs
	}
	return v, nil
}

// Compiler returns a compiler for the steps of the scenario these vars
// belong to: its templates may read every var. A nil Vars gives a compiler
// whose templates may read none.
func (v *Vars) Compiler() *Compiler {
	if v == nil {
		return NewCompiler()
	}
	return NewCompiler(v.names...)
}

// Eval computes the vars for the iteration st is set to, in order, and
// makes them visible to templates rendered with st as vars.NAME. A value
// keeps its expression's type. On an error the iteration's vars are
// incomplete and it must not run its steps.
func (v *Vars) Eval(st *State) error {
	if v == nil || len(v.names) == 0 {
		return nil
	}
	if st.env.Vars == nil {
		st.env.Vars = make(map[string]any, len(v.names))
	}
	for i, name := range v.names {
		if v.tmpls[i] == nil {
			st.env.Vars[name] = v.konst[i]
			continue
		}
		x, err := v.tmpls[i].Value(st)
		if err != nil {
			return fmt.Errorf("tmpl: var %s: %w", name, err)
		}
		st.env.Vars[name] = x
	}
	return nil
}

// Var returns the value of var name in st's current iteration.
func (st *State) Var(name string) (any, bool) {
	x, ok := st.env.Vars[name]
	return x, ok
}

// checkVars checks that every vars.NAME read in the expression src names a
// var the compiler knows, and returns the byte offset in src of the first
// that does not. vars may only be read with a name: vars.NAME or
// vars["NAME"].
func (c *Compiler) checkVars(src string) (int, error) {
	tree, err := parser.Parse(src)
	if err != nil {
		return 0, nil // compiled already: cannot happen
	}
	if c == nil {
		c = &Compiler{}
	}
	v := &varChecker{c: c, src: src, named: map[ast.Node]bool{}}
	ast.Walk(&tree.Node, v)
	if v.err == nil {
		// Walk visits a member access after its identifier: only now is
		// it known which uses of vars were not vars.NAME.
		for _, id := range v.bare {
			if !v.named[id] {
				v.fail(id, errors.New("vars must be read by name: vars.NAME"))
				break
			}
		}
	}
	return v.off, v.err
}

type varChecker struct {
	c   *Compiler
	src string
	off int
	err error
	// named are the vars identifiers read through a member access, which
	// are fine; any other use of vars (in bare) is not.
	named map[ast.Node]bool
	bare  []ast.Node
}

func (v *varChecker) Visit(n *ast.Node) {
	if v.err != nil {
		return
	}
	switch x := (*n).(type) {
	case *ast.MemberNode:
		id, ok := x.Node.(*ast.IdentifierNode)
		if !ok || id.Value != "vars" {
			return
		}
		v.named[id] = true
		prop, ok := x.Property.(*ast.StringNode)
		if !ok {
			v.fail(x.Property, errors.New("vars must be read by name: vars.NAME"))
			return
		}
		if err := v.c.knowsVar(prop.Value); err != nil {
			v.fail(x.Property, err)
		}
	case *ast.IdentifierNode:
		if x.Value == "vars" {
			v.bare = append(v.bare, x)
		}
	}
}

func (v *varChecker) fail(n ast.Node, err error) {
	v.off = runeOffset(v.src, n.Location().From)
	v.err = err
}

// knowsVar reports why name is no var this compiler's templates may read.
func (c *Compiler) knowsVar(name string) error {
	if slices.Contains(c.vars, name) {
		return nil
	}
	if c.inVar && slices.Contains(c.later, name) {
		if c.later[0] == name {
			return fmt.Errorf("var %s reads itself: a var may read only the vars above it", name)
		}
		return fmt.Errorf("vars.%s is defined below this var: a var may read only the vars above it", name)
	}
	if by, ok := c.captured[name]; ok {
		if by == "" {
			return fmt.Errorf("vars.%s is captured by this step: its reply comes after its templates are rendered; a step reads only the captures of the steps before it", name)
		}
		return fmt.Errorf("vars.%s is captured by step %s, which runs after this one: a step reads only the captures of the steps before it", name, by)
	}
	msg := fmt.Sprintf("unknown var %q", name)
	known := c.vars
	if c.inVar {
		known = append(slices.Clone(c.vars), c.later...)
	}
	if s := diag.Suggest(name, known); s != "" {
		return fmt.Errorf("%s (did you mean %q?)", msg, s)
	}
	switch {
	case len(c.vars) > 0:
		return fmt.Errorf("%s (vars: %s)", msg, strings.Join(c.vars, ", "))
	case c.inVar:
		return fmt.Errorf("%s: a var may read only the vars above it", msg)
	}
	return fmt.Errorf("%s: the scenario defines no vars (add them under its vars:)", msg)
}
