package plan

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Diagnostic is one problem found in a plan, located in its file.
type Diagnostic struct {
	File string
	Line int // 1-based; 0 when the problem has no place in the file
	Col  int // 1-based
	Msg  string
	// Warning marks a problem that does not stop the run.
	Warning bool
}

func (d Diagnostic) String() string {
	prefix := ""
	if d.Warning {
		prefix = "warning: "
	}
	if d.Line == 0 {
		return fmt.Sprintf("%s: %s%s", d.File, prefix, d.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s%s", d.File, d.Line, d.Col, prefix, d.Msg)
}

// Diagnostics is a list of problems; as an error it prints one per line,
// sorted by position.
type Diagnostics []Diagnostic

func (ds Diagnostics) Error() string {
	var b strings.Builder
	for i, d := range ds.Sorted() {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(d.String())
	}
	return b.String()
}

// Sorted returns the diagnostics ordered by file, line, column and message,
// without duplicates.
func (ds Diagnostics) Sorted() Diagnostics {
	out := slices.Clone(ds)
	slices.SortStableFunc(out, func(a, b Diagnostic) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col), cmp.Compare(a.Msg, b.Msg))
	})
	return slices.Compact(out)
}

// Errors returns the diagnostics that are not warnings.
func (ds Diagnostics) Errors() Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if !d.Warning {
			out = append(out, d)
		}
	}
	return out
}

// Pos is a position in the plan file.
type Pos struct {
	Line, Col int
}
