package plan

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/data"
	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/tmpl"
)

// DataSource is one data file of the plan's `data:`, read by templates as
// data.NAME.COLUMN. Its file was scanned at loading (data.Scan): its
// columns are known.
type DataSource struct {
	Name string
	// File is the path as the plan writes it; Path is where it is, resolved
	// against the directory of the plan file that declares the source, and
	// how messages name it.
	File, Path string
	Format     data.Format
	Pick       data.Pick
	Cursor     data.CursorKind
	Exhausted  data.Exhausted
	// Columns are the file's columns; ColumnsAt is where they are written
	// ("plans/data/signals.csv:1:1").
	Columns   []string
	ColumnsAt string
	Rows      int64
	// Invalid marks a source with problems already reported: its columns
	// are unknown, and templates reading it are not checked against them.
	Invalid bool
	Pos     diag.Pos
}

// Spec is what a run needs of the source.
func (d *DataSource) Spec() data.Spec {
	return data.Spec{Name: d.Name, Path: d.Path, Display: d.Path, Format: d.Format, Pick: d.Pick, Cursor: d.Cursor,
		Exhausted: d.Exhausted, Columns: slices.Clone(d.Columns)}
}

// DataSources are what templates know of the plan's data sources: a
// compiler for the plan's templates takes them (tmpl.Compiler.WithData).
func (p *Plan) DataSources() []tmpl.DataSource {
	out := make([]tmpl.DataSource, 0, len(p.Data))
	for _, d := range p.Data {
		out = append(out, tmpl.DataSource{Name: d.Name, Columns: d.Columns, Where: d.ColumnsAt, Unknown: d.Invalid && len(d.Columns) == 0})
	}
	return out
}

// DataSource returns the named source or nil.
func (p *Plan) DataSource(name string) *DataSource {
	for _, d := range p.Data {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// dataSources reads the top-level `data:` mapping n. Each source's file is
// relative to the directory of the file that declares it: the plan's, or
// the included fragment's that holds its key (diag.FileOf).
func (l *loader) dataSources(p *Plan, n *yaml.Node) {
	mapping(n, func(k, v *yaml.Node) {
		dir := filepath.Dir(cmp.Or(diag.FileOf(k), l.file))
		if d := l.dataSource(k, v, dir); d != nil {
			p.Data = append(p.Data, d)
		}
	})
}

// dataSource reads data source k: v, whose file is relative to dir (the
// directory of the plan file, or of the included fragment, that declares
// it), and scans the file. Every problem is reported at its place in the
// plan, and for a problem inside the data file, at its place there too:
// "plan.yaml:12:11: data signals: plans/data/signals.csv:57:3: ...".
func (l *loader) dataSource(k, v *yaml.Node, dir string) *DataSource {
	name := k.Value
	d := &DataSource{Name: name, Pos: diag.PosOf(k), Invalid: l.bad("/data/" + escapePtr(name)),
		Pick: data.Sequential, Cursor: data.Shared, Exhausted: data.Stop}
	if !identRE.MatchString(name) {
		l.addf(k, "data source name %q must be an identifier (letters, digits, _; not starting with a digit): templates read it as {{ data.%s.COLUMN }}", name, name)
		d.Invalid = true
	}
	_, fv := get(v, "file")
	_, formatNode := get(v, "format")
	pk, pickNode := get(v, "pick")
	_, cursorNode := get(v, "cursor")
	ek, exhNode := get(v, "exhausted")
	if fv == nil || fv.Kind != yaml.ScalarNode {
		d.Invalid = true
		return d // the schema reported it
	}
	d.File = fv.Value
	d.Path = d.File
	if !filepath.IsAbs(d.Path) {
		d.Path = filepath.Join(dir, d.Path)
	}
	if d.Invalid {
		// The source's settings have problems, reported already; its file
		// may have others, and one validation lists them all.
		format := data.Format(str(formatNode))
		if !slices.Contains(data.Formats, string(format)) {
			format = data.FormatOf(d.File)
		}
		if format != "" {
			if info, err := data.Scan(d.Path, format); err != nil {
				l.addf(fv, "data %s: %s", name, fileError(d.Path, err))
			} else if !l.scanProblems(d, fv, info) {
				// A good file: the templates are checked against its
				// columns too.
				d.Columns = info.Columns
				d.ColumnsAt = fmt.Sprintf("%s:%d:%d", d.Path, info.At.Line, info.At.Col)
			}
		}
		return d
	}
	if s := str(pickNode); s != "" {
		d.Pick = data.Pick(s)
	}
	if s := str(cursorNode); s != "" {
		d.Cursor = data.CursorKind(s)
	}
	if s := str(exhNode); s != "" {
		d.Exhausted = data.Exhausted(s)
	}
	if exhNode != nil && d.Pick != data.Unique {
		l.addf(ek, "data %s: exhausted applies to pick: unique; the rows of a %s pick never run out", name, d.Pick)
	}
	if s := str(formatNode); s != "" {
		d.Format = data.Format(s)
	} else if d.Format = data.FormatOf(d.File); d.Format == "" {
		l.addf(fv, "data %s: cannot tell the format of %s from its extension: name it .csv, .json or .jsonl, or add format: %s",
			name, d.File, strings.Join(data.Formats, ", "))
		d.Invalid = true
		return d
	}
	info, err := data.Scan(d.Path, d.Format)
	if err != nil {
		l.addf(fv, "data %s: %s", name, fileError(d.Path, err))
		d.Invalid = true
		return d
	}
	if l.scanProblems(d, fv, info) {
		return d
	}
	if d.Pick == data.Random && info.Size > data.MaxRandomSize {
		l.addf(pk, "data %s: pick random holds the rows in memory, up to %s, and %s is %s; use sequential or unique, which stream",
			name, data.Size(data.MaxRandomSize), d.Path, data.Size(info.Size))
		d.Invalid = true
	}
	d.Columns, d.Rows = info.Columns, info.Rows
	d.ColumnsAt = fmt.Sprintf("%s:%d:%d", d.Path, info.At.Line, info.At.Col)
	return d
}

// scanProblems reports the problems Scan found in d's file, at their
// place in it, and says whether there were any. With problems, d is
// invalid, but the columns of a header read are kept: the templates are
// still checked against them, so one validation lists both.
func (l *loader) scanProblems(d *DataSource, fv *yaml.Node, info *data.Info) bool {
	for _, pr := range info.Problems {
		l.addf(fv, "data %s: %s:%d:%d: %s", d.Name, d.Path, pr.Line, pr.Col, pr.Msg)
	}
	if info.More {
		l.addf(fv, "data %s: %s: more problems follow; only the first %d are listed", d.Name, d.Path, data.MaxProblems)
	}
	if len(info.Problems) == 0 {
		return false
	}
	d.Invalid = true
	if len(info.Columns) > 0 {
		d.Columns = info.Columns
		d.ColumnsAt = fmt.Sprintf("%s:%d:%d", d.Path, info.At.Line, info.At.Col)
	}
	return true
}

// fileError says why a data file cannot be read, in a plan author's words.
func fileError(path string, err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		msg := fmt.Sprintf("%s: no such file (a data file's path is relative to the plan file that names it)", path)
		if dir := filepath.Dir(path); dir != "." {
			if entries, e := readDirNames(dir); e == nil {
				if s := diag.Suggest(filepath.Base(path), entries); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", filepath.Join(dir, s))
				}
			}
		}
		return msg
	case errors.Is(err, fs.ErrPermission):
		return fmt.Sprintf("%s: cannot be read (permission denied)", path)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Sprintf("%s: %v", path, pe.Err)
	}
	return err.Error()
}

// readDirNames lists the names in dir, for a suggestion; not in a
// directory too large to be worth it.
func readDirNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) > 1000 {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, nil
}
