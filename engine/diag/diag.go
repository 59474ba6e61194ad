// Package diag is the one vocabulary for the problems found in a plan, shared
// by the plan loader (engine/plan), the engine and the drivers: positions,
// positioned errors, diagnostics and the "did you mean" suggestion.
//
// The contract, for everything that reads part of a plan (the loader, and a
// driver's Configure, and its Config's Prepare and PrepareFault):
//
//   - A Pos is a 1-based line and column in the plan file, or in the
//     fragment it includes that holds the node (Pos.File, set by PosOf from
//     what the loader recorded with SetFile). The zero Pos means "nowhere in
//     particular".
//   - A problem at a node is returned as an *Error, made with Errorf (at a
//     YAML node) or ErrorAt (at a Pos). It carries no file name: the engine
//     knows the file. An error that wraps an *Error is placed by the first
//     in its chain (errors.As), and its message is that *Error's alone.
//   - Gather every problem and return them together with errors.Join: each
//     joined error becomes one diagnostic. Never stop at the first.
//   - An error without a position is placed at the plan element it belongs
//     to (the target, step or fault), or at 1:1 when that has none either.
//   - A message starts with its reporter ("redis: ", "webhook: "), names the
//     offending value, and for a word that is none of the known ones offers
//     the nearest with Suggest ("did you mean ...?").
//
// What users see is a Diagnostic: "file:line:col: message", or
// "file:line:col: warning: message" for a problem that does not stop the
// run; Diagnostics print one per line, sorted by position, without
// duplicates.
//
// Everything here is plain values and pure functions, safe for concurrent
// use, but for the record of which nodes came from which fragment file
// (SetFile, FileOf), which is itself safe for concurrent use.
package diag

import (
	"cmp"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"weak"

	"go.yaml.in/yaml/v3"
)

// Pos is a position in the plan file: 1-based line and column.
type Pos struct {
	// File is the fragment the position is in (a file the plan includes,
	// named as the plan's diagnostics name it); empty for the plan's own
	// file, which whoever reports the position knows.
	File      string
	Line, Col int
}

// PosOf returns the position of node n, in the fragment it came from (see
// SetFile); the zero Pos when n is nil.
func PosOf(n *yaml.Node) Pos {
	if n == nil {
		return Pos{}
	}
	return Pos{File: FileOf(n), Line: n.Line, Col: n.Column}
}

// nodeFiles records the file of every node of an included fragment. It is
// keyed by weak pointers, and an entry is dropped when its node is
// collected, so that a long-lived process that loads many plans does not
// keep them all.
var nodeFiles sync.Map // weak.Pointer[yaml.Node] -> string

// nodeFilesLen counts the entries of nodeFiles: while there are none (no
// plan with includes loaded), FileOf looks nothing up.
var nodeFilesLen atomic.Int64

// SetFile records that node n was read from file, a fragment the plan
// includes: PosOf(n) and so every diagnostic at n name that file. The plan
// loader calls it for every node of a fragment; nodes of the plan's own
// file are not recorded. Safe for concurrent use.
func SetFile(n *yaml.Node, file string) {
	k := weak.Make(n)
	if _, loaded := nodeFiles.Swap(k, file); !loaded {
		nodeFilesLen.Add(1)
		runtime.AddCleanup(n, func(k weak.Pointer[yaml.Node]) {
			nodeFiles.Delete(k)
			nodeFilesLen.Add(-1)
		}, k)
	}
}

// FileOf returns the file SetFile recorded for n: empty for a node of the
// plan's own file (or none). Safe for concurrent use.
func FileOf(n *yaml.Node) string {
	if n == nil || nodeFilesLen.Load() == 0 {
		return ""
	}
	f, ok := nodeFiles.Load(weak.Make(n))
	if !ok {
		return ""
	}
	return f.(string)
}

// Error is an error located in the plan file. It prints as
// "line:col: message" (with the fragment's name first when the position is
// in one); the engine adds the plan's file name.
type Error struct {
	Pos
	Err error
}

func (e *Error) Error() string {
	if e.File != "" {
		return fmt.Sprintf("%s:%d:%d: %v", e.File, e.Line, e.Col, e.Err)
	}
	return fmt.Sprintf("%d:%d: %v", e.Line, e.Col, e.Err)
}
func (e *Error) Unwrap() error { return e.Err }

// ErrorAt returns err located at pos.
func ErrorAt(pos Pos, err error) error { return &Error{Pos: pos, Err: err} }

// Errorf returns an error located at node n (or unlocated when n is nil).
func Errorf(n *yaml.Node, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	if n == nil {
		return err
	}
	return ErrorAt(PosOf(n), err)
}

// Diagnostic is one problem found in a plan, located in its file.
type Diagnostic struct {
	File string
	Line int // 1-based; 0 when the problem has no place in the file
	Col  int // 1-based
	Msg  string
	// Warning marks a problem that does not stop the run.
	Warning bool
}

// New returns the diagnostic msg at pos in file, or in pos.File when the
// position is in a fragment; a zero pos becomes 1:1.
func New(file string, pos Pos, msg string) Diagnostic {
	if pos.File != "" {
		file = pos.File
	}
	if pos.Line == 0 {
		pos.Line, pos.Col = 1, 1
	}
	return Diagnostic{File: file, Line: pos.Line, Col: pos.Col, Msg: msg}
}

// At returns the diagnostic msg at line and column of the file node n came
// from: file, or the fragment SetFile recorded for n. It is for positions
// inside a node's value (an offset in a template).
func At(file string, n *yaml.Node, line, col int, msg string) Diagnostic {
	return New(file, Pos{File: FileOf(n), Line: line, Col: col}, msg)
}

// FromError turns err, as a driver returns it, into
// diagnostics in file: one for each error joined in err (errors.Join), each
// at the position of the *Error it wraps, else at pos (else at 1:1); a
// position in a fragment (Pos.File) is in that file.
func FromError(file string, pos Pos, err error) Diagnostics {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out Diagnostics
		for _, e := range j.Unwrap() {
			out = append(out, FromError(file, pos, e)...)
		}
		return out
	}
	msg := err.Error()
	var e *Error
	if errors.As(err, &e) {
		pos, msg = e.Pos, e.Err.Error()
	}
	return Diagnostics{New(file, pos, msg)}
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
