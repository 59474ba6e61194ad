package data

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
)

// Source is one data file opened for a run. It is safe for concurrent use:
// the shared reader is behind a mutex, the per-VU readers read the one file
// descriptor with ReadAt (safe for concurrent use), and the rows of a random
// source are read-only once Open returns.
type Source struct {
	spec Spec
	f    *os.File
	size int64

	mu sync.Mutex
	// shared is the reader of cursor shared (nil before the first draw and
	// after the end, to rewind); done: a unique source's rows ran out.
	// Both guarded by mu.
	shared rowReader
	done   bool

	// rows are a random source's rows, read by Open.
	rows [][]any
}

// Open opens the file of a validated source. A random source reads its rows
// now (a file above MaxRandomSize is refused); the others read them as
// they are drawn. Close it once the run is over.
func Open(spec Spec) (*Source, error) {
	f, size, err := openFile(spec.Path)
	if err != nil {
		return nil, fmt.Errorf("data %s: %w", spec.Name, err)
	}
	s := &Source{spec: spec, f: f, size: size}
	if spec.Pick == Random {
		if err := s.load(); err != nil {
			f.Close()
			return nil, err
		}
	}
	return s, nil
}

func (s *Source) load() error {
	if s.size > MaxRandomSize {
		return fmt.Errorf("data %s: %s is %s: pick random holds the rows in memory, up to %s; use sequential or unique, which stream",
			s.spec.Name, s.spec.Display, Size(s.size), Size(MaxRandomSize))
	}
	r, err := s.newReader()
	if err != nil {
		return err
	}
	for {
		vals := make([]any, len(s.spec.Columns))
		err := r.next(vals)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return s.wrap(err)
		}
		s.rows = append(s.rows, vals)
	}
	if len(s.rows) == 0 {
		return fmt.Errorf("data %s: %s has no rows", s.spec.Name, s.spec.Display)
	}
	return nil
}

// Size prints a byte count for people: 64 MiB, 900 KiB, 12 B.
func Size(n int64) string {
	switch {
	case n >= 1<<20:
		return sig3(float64(n)/(1<<20)) + " MiB"
	case n >= 1<<10:
		return sig3(float64(n)/(1<<10)) + " KiB"
	}
	return fmt.Sprintf("%d B", n)
}

// sig3 prints v to three significant digits, without an exponent
// (1536 → 1540, not 1.54e+03).
func sig3(v float64) string {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// Spec returns the source's spec.
func (s *Source) Spec() Spec { return s.spec }

// Close closes the file. Cursors must not be used afterwards.
func (s *Source) Close() error { return s.f.Close() }

func (s *Source) wrap(err error) error {
	return fmt.Errorf("data %s: %s: %w", s.spec.Name, s.spec.Display, err)
}

// newReader returns a reader of the file from its first row, reading it
// through ReadAt: any number of them may read the one descriptor at once.
func (s *Source) newReader() (rowReader, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(s.f, 0, s.size), 4096)
	skipBOM(br)
	switch s.spec.Format {
	case CSV:
		cr := csv.NewReader(br)
		cr.ReuseRecord = true
		if _, err := cr.Read(); err != nil { // the header
			return nil, s.wrap(err)
		}
		return &csvReader{r: cr}, nil
	case JSON:
		dec := json.NewDecoder(br)
		dec.UseNumber()
		if _, err := dec.Token(); err != nil { // [
			return nil, s.wrap(err)
		}
		return &jsonReader{dec: dec, cols: s.spec.Columns}, nil
	case JSONL:
		return &jsonlReader{r: br, cols: s.spec.Columns}, nil
	}
	return nil, fmt.Errorf("data %s: unknown format %q", s.spec.Name, s.spec.Format)
}

// rowReader reads rows in file order.
type rowReader interface {
	// next reads the next row's values, in the order of the columns, into
	// vals; io.EOF after the last row.
	next(vals []any) error
}

type csvReader struct{ r *csv.Reader }

func (c *csvReader) next(vals []any) error {
	rec, err := c.r.Read()
	if err != nil {
		return err
	}
	for i := range vals {
		vals[i] = rec[i] // the reader checked the count
	}
	return nil
}

type jsonReader struct {
	dec  *json.Decoder
	cols []string
	line int64
}

func (j *jsonReader) next(vals []any) error {
	if !j.dec.More() {
		return io.EOF
	}
	j.line++
	var m map[string]any
	if err := j.dec.Decode(&m); err != nil {
		return err
	}
	return fill(vals, m, j.cols, j.line)
}

type jsonlReader struct {
	r    *bufio.Reader
	cols []string
	line int64
}

func (j *jsonlReader) next(vals []any) error {
	for {
		b, err := j.r.ReadBytes('\n')
		if len(b) == 0 && err != nil {
			return err // io.EOF at the end
		}
		j.line++
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			return fmt.Errorf("line %d: %w", j.line, err)
		}
		return fill(vals, m, j.cols, j.line)
	}
}

// fill puts a JSON row's values in column order; numbers become int when
// whole and in range, else float64.
func fill(vals []any, m map[string]any, cols []string, n int64) error {
	for i, c := range cols {
		v, ok := m[c]
		if !ok {
			return fmt.Errorf("row %d lacks column %q", n, c)
		}
		vals[i] = number(v)
	}
	return nil
}

func number(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil && i >= math.MinInt && i <= math.MaxInt {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = number(e)
		}
	case []any:
		for i, e := range x {
			x[i] = number(e)
		}
	}
	return v
}

// Cursor is one virtual user's handle on a source: it draws the VU's row
// for each iteration. A Cursor belongs to one goroutine; its row map is
// reused, its values replaced by each draw.
type Cursor struct {
	src *Source
	// own is the reader of cursor vu; done: its unique rows ran out.
	own  rowReader
	done bool
	vals []any
	row  map[string]any
}

// NewCursor returns a cursor on s for one virtual user. With cursor vu it
// starts at the first row; with cursor shared it draws from the position
// all share.
func (s *Source) NewCursor() *Cursor {
	return &Cursor{src: s, vals: make([]any, len(s.spec.Columns)), row: make(map[string]any, len(s.spec.Columns))}
}

// Row returns the map of the current row, column → value: the same map for
// the cursor's life, which Next fills.
func (c *Cursor) Row() map[string]any { return c.row }

// Next draws the next row into Row. rng is the VU's seeded source, used by
// pick random. For a unique source with no row left it returns an error
// wrapping ErrExhausted; a file that changed since validation may give
// other errors.
func (c *Cursor) Next(rng *rand.Rand) error {
	s := c.src
	switch {
	case s.spec.Pick == Random:
		c.set(s.rows[rng.IntN(len(s.rows))])
		return nil
	case s.spec.Cursor == PerVU:
		return c.read(&c.own, &c.done)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return c.read(&s.shared, &s.done)
}

// read draws the next row from *r, opening it at the first row when nil,
// rewinding at the end (sequential) or marking *done (unique).
func (c *Cursor) read(r *rowReader, done *bool) error {
	s := c.src
	if *done {
		return c.exhausted()
	}
	for rewound := false; ; rewound = true {
		if *r == nil {
			nr, err := s.newReader()
			if err != nil {
				return err
			}
			*r = nr
		}
		err := (*r).next(c.vals)
		if err == nil {
			c.set(c.vals)
			return nil
		}
		if !errors.Is(err, io.EOF) {
			return s.wrap(err)
		}
		*r = nil
		if s.spec.Pick == Unique {
			*done = true
			return c.exhausted()
		}
		if rewound {
			return fmt.Errorf("data %s: %s has no rows", s.spec.Name, s.spec.Display)
		}
	}
}

func (c *Cursor) exhausted() error {
	s := c.src
	who := "the run"
	if s.spec.Cursor == PerVU {
		who = "this VU"
	}
	return &exhaustedError{fmt.Sprintf("data %s: every row of %s has been used by %s (pick: unique)", s.spec.Name, s.spec.Display, who)}
}

// exhaustedError says which source ran out; it is ErrExhausted.
type exhaustedError struct{ msg string }

func (e *exhaustedError) Error() string        { return e.msg }
func (e *exhaustedError) Is(target error) bool { return target == ErrExhausted }

func (c *Cursor) set(vals []any) {
	for i, col := range c.src.spec.Columns {
		c.row[col] = vals[i]
	}
}

// Spec returns the spec of the cursor's source.
func (c *Cursor) Spec() Spec { return c.src.spec }
