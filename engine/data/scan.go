package data

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
)

// Scan reads the file at path once, as format, streaming in bounded memory,
// and returns its columns, its number of rows and the first problems found
// in it (ragged rows, bad quotes, bad JSON, an empty file, a header with an
// empty or a duplicate name, a row lacking a column), each at its position
// in the file. The error is for a file that cannot be read at all (missing,
// unreadable, not a regular file); it wraps the os error.
func Scan(path string, format Format) (*Info, error) {
	f, size, err := openFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	in := &Info{Size: size}
	s := &scanner{in: in, ra: f}
	r := bufio.NewReaderSize(f, 64<<10)
	skipBOM(r)
	switch format {
	case CSV:
		s.csv(r)
	case JSON:
		s.json(r)
	case JSONL:
		s.jsonl(r)
	default:
		return nil, fmt.Errorf("data: unknown format %q", format)
	}
	if len(s.offs) > 0 {
		// Turn the byte offsets of the JSON problems into positions: one
		// more pass over the file, only when there are any.
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		s.place(bufio.NewReaderSize(f, 64<<10))
	}
	sort.SliceStable(in.Problems, func(i, j int) bool {
		a, b := in.Problems[i], in.Problems[j]
		return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
	})
	return in, nil
}

// openFile opens a regular file (not a directory, not a device that would
// stream forever) and returns its size.
func openFile(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, &os.PathError{Op: "open", Path: path, Err: errors.New("not a regular file")}
	}
	return f, st.Size(), nil
}

// skipBOM skips a UTF-8 byte order mark, which spreadsheets write.
func skipBOM(r *bufio.Reader) {
	if b, err := r.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = r.Discard(3)
	}
}

// scanner gathers what Scan finds. Problems of the JSON formats are found
// at byte offsets (offs), turned into positions at the end (place).
type scanner struct {
	in *Info
	// ra reads the file again where a JSON error is, to place it.
	ra   io.ReaderAt
	offs []offProblem
	// atOff is the offset of the first object (JSON), for Info.At.
	atOff int64
}

type offProblem struct {
	off int64
	// sep: the offset may point at the separators before the value (the
	// comma and spaces between array elements): the position is that of
	// the first byte after them.
	sep bool
	msg string
	// at marks the entry for Info.At rather than a problem.
	at bool
}

// full reports whether the problem list is full; a further problem sets
// More, and the scan stops.
func (s *scanner) full() bool {
	if len(s.in.Problems)+s.nOff() >= MaxProblems {
		s.in.More = true
		return true
	}
	return false
}

func (s *scanner) nOff() int {
	n := 0
	for _, o := range s.offs {
		if !o.at {
			n++
		}
	}
	return n
}

func (s *scanner) add(p Pos, format string, args ...any) bool {
	if s.full() {
		return false
	}
	s.in.Problems = append(s.in.Problems, Problem{Pos: p, Msg: fmt.Sprintf(format, args...)})
	return true
}

func (s *scanner) addOff(off int64, sep bool, format string, args ...any) bool {
	if s.full() {
		return false
	}
	s.offs = append(s.offs, offProblem{off: off, sep: sep, msg: fmt.Sprintf(format, args...)})
	return true
}

func (s *scanner) csv(r io.Reader) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		s.add(Pos{1, 1}, "the file is empty: a CSV source starts with a header row naming its columns")
		return
	}
	if err != nil {
		s.csvError(err, nil, 0)
		return
	}
	line, _ := cr.FieldPos(0)
	s.in.At = Pos{line, 1}
	s.in.Columns = slices.Clone(header)
	first := map[string]int{}
	for i, h := range header {
		l, c := cr.FieldPos(i)
		switch j, dup := first[h]; {
		case strings.TrimSpace(h) == "":
			s.add(Pos{l, c}, "column %d of the header has no name: templates read a column by its name", i+1)
		case dup:
			s.add(Pos{l, c}, "duplicate column %q in the header (first is column %d)", h, j+1)
		default:
			first[h] = i
		}
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if !s.csvError(err, cr, len(rec)) {
				return
			}
			continue
		}
		s.in.Rows++
	}
	if s.in.Rows == 0 && len(s.in.Problems) == 0 {
		s.add(Pos{line + 1, 1}, "no rows: the file has its header and no data")
	}
}

// csvError records a CSV reader's error; false when the scan must stop.
func (s *scanner) csvError(err error, cr *csv.Reader, fields int) bool {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		s.add(Pos{1, 1}, "read: %v", err)
		return false
	}
	switch {
	case errors.Is(pe.Err, csv.ErrFieldCount) && cr != nil:
		want := len(s.in.Columns)
		pos := Pos{pe.Line, 1}
		if fields > want {
			l, c := cr.FieldPos(want) // the first field too many
			pos = Pos{l, c}
		}
		return s.add(pos, "the row has %d fields, the header %d", fields, want)
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return s.add(Pos{pe.Line, pe.Column}, `bare " in a field: quote the whole field and double the quotes inside ("say ""hi""")`)
	case errors.Is(pe.Err, csv.ErrQuote):
		return s.add(Pos{pe.Line, pe.Column}, `extraneous or missing " in a quoted field (a quote inside a quoted field is written "")`)
	}
	return s.add(Pos{pe.Line, pe.Column}, "%v", pe.Err)
}

func (s *scanner) json(r io.Reader) {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	switch {
	case errors.Is(err, io.EOF):
		s.add(Pos{1, 1}, "the file is empty: a .json source is an array of objects, [{...}, {...}]")
		return
	case err != nil:
		s.syntax(err, dec.InputOffset())
		return
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		s.addOff(0, true, "a .json source is an array of objects, [{...}, {...}] (one object per line is JSON Lines: .jsonl)")
		return
	}
	n := 0
	for dec.More() {
		off := dec.InputOffset()
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			s.elemSyntax(err, off)
			return
		}
		n++
		if s.in.Columns == nil {
			s.atOff = off
			s.offs = append(s.offs, offProblem{off: off, sep: true, at: true})
		}
		if msg := s.row(raw, n); msg != "" && !s.addOff(off, true, "%s", msg) {
			return
		}
	}
	if _, err := dec.Token(); err != nil { // the closing ]
		s.syntax(err, dec.InputOffset())
		return
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		s.addOff(end, true, "something follows the array: a .json source is one array of objects")
		return
	}
	if n == 0 {
		s.addOff(0, true, "no rows: the array is empty")
	}
}

// syntax records a JSON syntax error, at its offset when it has one.
func (s *scanner) syntax(err error, off int64) {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		s.addOff(max(se.Offset-1, 0), false, "bad JSON: %s", se.Error())
		return
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		s.addOff(s.in.Size, false, "bad JSON: the file ends inside a value (an unclosed [ or {?)")
		return
	}
	s.addOff(off, false, "bad JSON: %v", err)
}

// elemSyntax records the error of decoding the array element at off (or
// at the separators before it). A decoder's offsets count only the bytes
// of the values it decoded, not those of the tokens around them: the
// element is decoded again, alone, to find where it goes wrong.
func (s *scanner) elemSyntax(err error, off int64) {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		s.syntax(err, off)
		return
	}
	if strings.HasPrefix(se.Error(), "expected comma") {
		s.addOff(se.Offset, false, "bad JSON: %s (a missing comma?)", se.Error())
		return
	}
	br := bufio.NewReader(io.NewSectionReader(s.ra, off, s.in.Size-off))
	start := off
	for {
		b, err := br.Peek(1)
		if err != nil || !strings.ContainsRune(", \t\r\n", rune(b[0])) {
			break
		}
		_, _ = br.ReadByte()
		start++
	}
	var raw json.RawMessage
	var again *json.SyntaxError
	if errors.As(json.NewDecoder(br).Decode(&raw), &again) {
		s.addOff(start+max(again.Offset-1, 0), false, "bad JSON: %s", se.Error())
		return
	}
	s.addOff(start, false, "bad JSON: %s", se.Error())
}

func (s *scanner) jsonl(r *bufio.Reader) {
	line := 0
	n := 0
	for {
		b, err := r.ReadBytes('\n')
		if len(b) > 0 {
			line++
			text := bytes.TrimRight(b, "\r\n")
			lead := len(text) - len(bytes.TrimLeft(text, " \t"))
			if len(bytes.TrimSpace(text)) > 0 {
				var raw json.RawMessage
				if err := json.Unmarshal(text, &raw); err != nil {
					var se *json.SyntaxError
					col := lead + 1
					if errors.As(err, &se) {
						col = max(int(se.Offset), 1)
					}
					if !s.add(Pos{line, col}, "bad JSON: %v (JSON Lines: one object per line)", err) {
						return
					}
				} else {
					n++
					if s.in.Columns == nil {
						s.in.At = Pos{line, lead + 1}
					}
					if msg := s.row(raw, n); msg != "" && !s.add(Pos{line, lead + 1}, "%s", msg) {
						return
					}
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.add(Pos{line + 1, 1}, "read: %v", err)
			return
		}
	}
	if n == 0 && len(s.in.Problems) == 0 {
		s.add(Pos{1, 1}, "the file is empty: a .jsonl source has one object per line")
	}
}

// row checks one JSON row, the n-th (1-based): an object, whose keys name
// the columns when it is the first, and which has every column otherwise.
// It returns the problem, or "".
func (s *scanner) row(raw json.RawMessage, n int) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return fmt.Sprintf("row %d is not an object: each row is {\"column\": value, ...}", n)
	}
	if s.in.Columns == nil {
		keys, err := objectKeys(raw)
		if err != nil {
			return fmt.Sprintf("row %d: %v", n, err)
		}
		if len(keys) == 0 {
			s.in.Columns = []string{}
			return "the first row has no keys: its keys name the columns"
		}
		s.in.Columns = keys
		s.in.Rows++
		return ""
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Sprintf("row %d: %v", n, err)
	}
	for _, c := range s.in.Columns {
		if _, ok := m[c]; !ok {
			return fmt.Sprintf("row %d lacks column %q (the keys of the first row are the columns)", n, c)
		}
	}
	s.in.Rows++
	return ""
}

// objectKeys returns the keys of a JSON object in their order.
func objectKeys(raw []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := t.(string)
		if slices.Contains(keys, k) {
			return nil, fmt.Errorf("duplicate key %q", k)
		}
		keys = append(keys, k)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// place turns the offsets of s.offs into positions, in one pass over r.
func (s *scanner) place(r *bufio.Reader) {
	sort.SliceStable(s.offs, func(i, j int) bool { return s.offs[i].off < s.offs[j].off })
	skipBOM(r)
	var off int64
	line, col := 1, 1
	i := 0
	for i < len(s.offs) {
		o := s.offs[i]
		if off < o.off {
			b, err := r.ReadByte()
			if err != nil {
				break
			}
			off++
			if b == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
			continue
		}
		if o.sep {
			// Past the separators: the position of the value.
			if b, err := r.Peek(1); err == nil && strings.ContainsRune(", \t\r\n", rune(b[0])) {
				s.offs[i].off = off + 1
				_, _ = r.ReadByte()
				off++
				if b[0] == '\n' {
					line, col = line+1, 1
				} else {
					col++
				}
				continue
			}
		}
		if o.at {
			s.in.At = Pos{line, col}
		} else {
			s.in.Problems = append(s.in.Problems, Problem{Pos: Pos{line, col}, Msg: o.msg})
		}
		i++
	}
	for ; i < len(s.offs); i++ { // past the end: at the end
		if s.offs[i].at {
			s.in.At = Pos{line, col}
		} else {
			s.in.Problems = append(s.in.Problems, Problem{Pos: Pos{line, col}, Msg: s.offs[i].msg})
		}
	}
	s.offs = nil
}
