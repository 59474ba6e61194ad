// Package data reads the data files a plan names under `data:` (CSV with a
// header row, a JSON array of objects, JSON Lines), for templates that read
// them as {{ data.NAME.COLUMN }}, one row per iteration.
//
// Lifecycle: Scan reads a file once at validation, streaming, and returns
// its columns and the first problems found, each at its line and column in
// the file. Open opens a validated file for a run; each virtual user takes
// a Cursor (Source.NewCursor) and draws one row per iteration (Cursor.Next);
// Close closes the file once the run is over.
//
// Memory does not grow with the file's size for the streaming picks
// (sequential and unique): rows are read as they are drawn, through one
// file descriptor read with ReadAt (io.SectionReader), by one reader shared
// behind a mutex (cursor shared) or one small reader per cursor (cursor vu).
// Only pick random loads the rows, and refuses a file above MaxRandomSize.
//
// Spec and Info values are plain and immutable. A Source is safe for
// concurrent use; a Cursor belongs to one virtual user (one goroutine).
package data

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Format is how a data file is written.
type Format string

// Formats.
const (
	CSV   Format = "csv"   // a header row naming the columns, then one row per line (RFC 4180)
	JSON  Format = "json"  // an array of objects; the first object's keys are the columns
	JSONL Format = "jsonl" // one object per line (JSON Lines)
)

// Formats are the formats, in the order messages list them.
var Formats = []string{string(CSV), string(JSON), string(JSONL)}

// FormatOf returns the format a file name's extension implies (.csv, .json,
// .jsonl or .ndjson), or "" for another extension.
func FormatOf(path string) Format {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return CSV
	case ".json":
		return JSON
	case ".jsonl", ".ndjson":
		return JSONL
	}
	return ""
}

// Pick is how rows are drawn.
type Pick string

// Picks.
const (
	// Sequential draws the rows in file order and starts again at the
	// first after the last.
	Sequential Pick = "sequential"
	// Random draws a row at random (with replacement) from the VU's seeded
	// source: the same seed draws the same rows.
	Random Pick = "random"
	// Unique draws the rows in file order, each at most once per cursor;
	// when they run out, Cursor.Next returns ErrExhausted.
	Unique Pick = "unique"
)

// Picks are the picks, in the order messages list them.
var Picks = []string{string(Sequential), string(Random), string(Unique)}

// CursorKind says who shares a position in the file.
type CursorKind string

// Cursor kinds.
const (
	// Shared: one position for the whole run, every scenario and VU
	// reading the source draws the next row.
	Shared CursorKind = "shared"
	// PerVU: each virtual user has its own position, from the first row.
	PerVU CursorKind = "vu"
)

// Exhausted is what a unique source does when its rows run out.
type Exhausted string

// Exhaustion policies.
const (
	// Stop stops the scenario that found no row: it starts no more
	// iterations, and the report says why.
	Stop Exhausted = "stop"
	// Fail fails each iteration that finds no row, with class "data".
	Fail Exhausted = "error"
)

// MaxRandomSize is the largest file pick random accepts: it holds the rows
// in memory, which takes several times the size of the file. The streaming
// picks have no limit.
const MaxRandomSize = 16 << 20

// MaxProblems is how many problems Scan lists, at most.
const MaxProblems = 10

// ErrExhausted is returned by Cursor.Next when a unique source has no row
// left for the cursor.
var ErrExhausted = errors.New("data: no rows left")

// Spec is a data source as a run needs it: validated, its columns known.
type Spec struct {
	// Name is the source's name: templates read data.NAME.COLUMN.
	Name string
	// Path is the file to open; Display is how the plan wrote it, for
	// messages.
	Path, Display string
	Format        Format
	Pick          Pick
	Cursor        CursorKind
	Exhausted     Exhausted
	// Columns are the file's columns (Info.Columns).
	Columns []string
}

// Pos is a 1-based line and column in a data file; columns count
// characters.
type Pos struct {
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Problem is a problem found in a data file, at a position in it.
type Problem struct {
	Pos
	Msg string
}

func (p Problem) Error() string { return p.Pos.String() + ": " + p.Msg }

// Info is what Scan found in a file.
type Info struct {
	// Columns are the header's names (CSV) or the first object's keys, in
	// file order; At is where they are written (the header row, the first
	// object).
	Columns []string
	At      Pos
	// Rows is the number of rows.
	Rows int64
	// Size is the file's size in bytes.
	Size int64
	// Problems are the first MaxProblems problems found, in file order;
	// More is true when there were more.
	Problems []Problem
	More     bool
}
