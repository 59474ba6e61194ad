package tmpl

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/runplan/runplan/engine/diag"
)

// DataSource is what templates know of a plan's data source (`data:`):
// they read it as data.NAME.COLUMN.
type DataSource struct {
	Name    string
	Columns []string
	// Where is where the columns are written ("data/signals.csv:1:1"),
	// named in the message about an unknown column.
	Where string
	// Unknown: the columns are unknown (the file has problems, reported
	// elsewhere), and any column is accepted.
	Unknown bool
}

// DataUse records the data sources that templates compiled with a
// compiler read (Compiler.WithData), so that only the scenarios that read a
// source draw from it. It is safe for concurrent use.
type DataUse struct {
	mu    sync.Mutex
	names []string
}

func (u *DataUse) add(name string) {
	if u == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if !slices.Contains(u.names, name) {
		u.names = append(u.names, name)
	}
}

// Names returns the sources read, sorted.
func (u *DataUse) Names() []string {
	if u == nil {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	out := slices.Clone(u.names)
	slices.Sort(out)
	return out
}

// WithData returns a copy of c whose templates may also read the given
// data sources, as data.NAME.COLUMN, and record in use (nil: nowhere) each
// source they read.
func (c *Compiler) WithData(sources []DataSource, use *DataUse) *Compiler {
	out := &Compiler{}
	if c != nil {
		*out = *c
	}
	out.data = slices.Clone(sources)
	out.dataUse = use
	return out
}

// SetData binds the row of data source name that templates rendered with
// st read as data.NAME.COLUMN: row is read at each rendering, so the
// caller may replace its values between iterations (data.Cursor does).
func (st *State) SetData(name string, row map[string]any) {
	if st.env.Data == nil {
		st.env.Data = map[string]map[string]any{}
	}
	st.env.Data[name] = row
}

var errDataForm = errors.New("data must be read by source and column: data.NAME.COLUMN")

// checkData checks that every data.NAME.COLUMN read in the expression src
// names a source and a column the compiler knows, and returns the byte
// offset in src of the first that does not; it records the sources read.
func (c *Compiler) checkData(src string) (int, error) {
	tree, err := parser.Parse(src)
	if err != nil {
		return 0, nil // compiled already: cannot happen
	}
	if c == nil {
		c = &Compiler{}
	}
	v := &dataChecker{named: map[ast.Node]bool{}}
	ast.Walk(&tree.Node, v)
	fail := func(n ast.Node, err error) (int, error) { return runeOffset(src, n.Location().From), err }
	// Walk visits a member access after what it accesses: only now is it
	// known which data.NAME are read with a column.
	var read []string
	for _, m := range v.outer {
		src := m.Node.(*ast.MemberNode)
		v.named[src], v.named[src.Node] = true, true
		name, ok := src.Property.(*ast.StringNode)
		if !ok {
			return fail(src.Property, errDataForm)
		}
		ds, err := c.knowsSource(name.Value)
		if err != nil {
			return fail(src.Property, err)
		}
		col, ok := m.Property.(*ast.StringNode)
		if !ok {
			return fail(m.Property, errDataForm)
		}
		if err := ds.knowsColumn(col.Value); err != nil {
			return fail(m.Property, err)
		}
		read = append(read, ds.Name)
	}
	for _, n := range v.all {
		if !v.named[n] {
			return fail(n, errDataForm)
		}
	}
	for _, name := range read {
		c.dataUse.add(name)
	}
	return 0, nil
}

type dataChecker struct {
	// all are the uses of data (identifiers, data.NAME), in order; outer
	// the accesses data.NAME.COLUMN; named the uses inside one of those.
	all   []ast.Node
	outer []*ast.MemberNode
	named map[ast.Node]bool
}

func isDataIdent(n ast.Node) bool {
	id, ok := n.(*ast.IdentifierNode)
	return ok && id.Value == "data"
}

func (v *dataChecker) Visit(n *ast.Node) {
	switch x := (*n).(type) {
	case *ast.IdentifierNode:
		if x.Value == "data" {
			v.all = append(v.all, x)
		}
	case *ast.MemberNode:
		if isDataIdent(x.Node) {
			v.all = append(v.all, x)
			return
		}
		if inner, ok := x.Node.(*ast.MemberNode); ok && isDataIdent(inner.Node) {
			v.outer = append(v.outer, x)
		}
	}
}

// knowsSource returns the source name, or why it is none the compiler's
// templates may read.
func (c *Compiler) knowsSource(name string) (*DataSource, error) {
	var names []string
	for i := range c.data {
		if c.data[i].Name == name {
			return &c.data[i], nil
		}
		names = append(names, c.data[i].Name)
	}
	msg := fmt.Sprintf("unknown data source %q", name)
	if s := diag.Suggest(name, names); s != "" {
		return nil, fmt.Errorf("%s (did you mean %q?)", msg, s)
	}
	if len(names) > 0 {
		return nil, fmt.Errorf("%s (data sources: %s)", msg, strings.Join(names, ", "))
	}
	return nil, fmt.Errorf("%s: the plan declares no data sources (add them under data:)", msg)
}

// knowsColumn reports why col is no column of ds.
func (ds *DataSource) knowsColumn(col string) error {
	if ds.Unknown || slices.Contains(ds.Columns, col) {
		return nil
	}
	msg := fmt.Sprintf("data source %s has no column %q", ds.Name, col)
	if s := diag.Suggest(col, ds.Columns); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	where := ""
	if ds.Where != "" {
		where = " at " + ds.Where
	}
	return fmt.Errorf("%s (its columns%s: %s)", msg, where, strings.Join(ds.Columns, ", "))
}
