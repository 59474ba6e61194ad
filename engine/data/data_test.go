package data

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Scan finds each problem at its line and column in the data file, and the
// columns and rows of a good file.
func TestScan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, content string
		cols                []string
		at                  Pos
		rows                int64
		problems            []string // "line:col: start of message"
	}{
		{name: "csv", file: "a.csv", content: "symbol,side,price\nBTC,BUY,1\nETH,SELL,2\n",
			cols: []string{"symbol", "side", "price"}, at: Pos{1, 1}, rows: 2},
		{name: "csv bom and quotes", file: "a.csv", content: "\uFEFFa,b\n\"x, y\",\"say \"\"hi\"\"\"\n",
			cols: []string{"a", "b"}, at: Pos{1, 1}, rows: 1},
		{name: "csv multi-line field", file: "a.csv", content: "a,b\n\"1\n2\",3\n4,5\n", cols: []string{"a", "b"}, at: Pos{1, 1}, rows: 2},
		{name: "csv ragged", file: "a.csv", content: "a,b,c\n1,2,3\n1,2\n1,2,3,4\n",
			problems: []string{"3:1: the row has 2 fields, the header 3", "4:7: the row has 4 fields, the header 3"}},
		{name: "csv bare quote", file: "a.csv", content: "a,b\n1,x\"y\n", problems: []string{`2:4: bare "`}},
		{name: "csv bad quote", file: "a.csv", content: "a,b\n\"1\"x,2\n", problems: []string{`2:3: extraneous or missing "`}},
		{name: "csv empty", file: "a.csv", content: "", problems: []string{"1:1: the file is empty"}},
		{name: "csv header only", file: "a.csv", content: "a,b\n", problems: []string{"2:1: no rows"}},
		{name: "csv header names", file: "a.csv", content: "a,,a\n1,2,3\n",
			problems: []string{"1:3: column 2 of the header has no name", `1:4: duplicate column "a" in the header (first is column 1)`}},
		{name: "json", file: "a.json", content: "[\n  {\"s\": \"BTC\", \"p\": 1.5, \"n\": 3},\n  {\"s\": \"ETH\", \"p\": 2, \"n\": 4}\n]\n",
			cols: []string{"s", "p", "n"}, at: Pos{2, 3}, rows: 2},
		{name: "json lacks a column", file: "a.json", content: "[{\"a\": 1, \"b\": 2},\n {\"a\": 3}]",
			problems: []string{`2:2: row 2 lacks column "b"`}},
		{name: "json not objects", file: "a.json", content: "[{\"a\": 1},\n  2]", problems: []string{"2:3: row 2 is not an object"}},
		{name: "json not an array", file: "a.json", content: "\n {\"a\": 1}", problems: []string{"2:2: a .json source is an array of objects"}},
		{name: "json syntax", file: "a.json", content: "[{\"a\": 1},\n {\"a\": 2,}]", problems: []string{"2:10: bad JSON: invalid character '}'"}},
		{name: "json cut", file: "a.json", content: "[{\"a\": 1},\n {\"a\": ", problems: []string{"2:8: bad JSON: the file ends inside a value"}},
		{name: "json empty", file: "a.json", content: " \n", problems: []string{"1:1: the file is empty"}},
		{name: "json empty array", file: "a.json", content: "[]", problems: []string{"1:1: no rows"}},
		{name: "json missing comma", file: "a.json", content: "[{\"a\": 1}\n {\"a\": 2}]", problems: []string{"2:2: bad JSON: expected comma"}},
		{name: "json bad element", file: "a.json", content: "[{\"a\": 1},\n x]", problems: []string{"2:2: bad JSON: invalid character 'x'"}},
		{name: "json trailing", file: "a.json", content: "[{\"a\": 1}]\n[]", problems: []string{"2:1: something follows the array"}},
		{name: "json duplicate key", file: "a.json", content: "[{\"a\": 1, \"a\": 2}]", problems: []string{`1:2: row 1: duplicate key "a"`}},
		{name: "jsonl", file: "a.jsonl", content: "{\"a\": 1, \"b\": \"x\"}\n\n  {\"b\": \"y\", \"a\": 2}\n",
			cols: []string{"a", "b"}, at: Pos{1, 1}, rows: 2},
		{name: "jsonl problems", file: "a.jsonl", content: "{\"a\": 1, \"b\": 2}\n{\"a\": 1}\n[1]\n{\"a\": 1, }\n",
			problems: []string{`2:1: row 2 lacks column "b"`, "3:1: row 3 is not an object", "4:10: bad JSON"}},
		{name: "jsonl empty", file: "a.jsonl", content: "\n\n", problems: []string{"1:1: the file is empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := write(t, tt.file, tt.content)
			in, err := Scan(path, FormatOf(path))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range in.Problems {
				got = append(got, p.Error())
			}
			if len(got) != len(tt.problems) {
				t.Fatalf("problems %q, want %q", got, tt.problems)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.problems[i]) {
					t.Errorf("problem %q, want %q...", got[i], tt.problems[i])
				}
			}
			if tt.problems != nil {
				return
			}
			if !slices.Equal(in.Columns, tt.cols) || in.At != tt.at || in.Rows != tt.rows {
				t.Errorf("columns %q at %v, %d rows; want %q at %v, %d rows", in.Columns, in.At, in.Rows, tt.cols, tt.at, tt.rows)
			}
		})
	}
}

// Scan lists the first MaxProblems problems and says there are more; a
// file that cannot be read at all is an error.
func TestScanBounds(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("a,b\n")
	for range 100 {
		b.WriteString("1\n")
	}
	in, err := Scan(write(t, "a.csv", b.String()), CSV)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Problems) != MaxProblems || !in.More || in.Problems[MaxProblems-1].Line != MaxProblems+1 {
		t.Errorf("%d problems (more: %v), the last %v; want %d, more, the last at line %d", len(in.Problems), in.More, in.Problems[len(in.Problems)-1], MaxProblems, MaxProblems+1)
	}
	for _, tc := range []struct {
		path string
		want error
	}{
		{filepath.Join(t.TempDir(), "none.csv"), os.ErrNotExist},
		{t.TempDir(), nil}, // a directory
	} {
		if _, err := Scan(tc.path, CSV); err == nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("Scan(%s) = %v, want an error (%v)", tc.path, err, tc.want)
		}
	}
}

// open scans and opens a test file as a source with the given pick and
// cursor.
func open(t *testing.T, path string, pick Pick, cursor CursorKind) *Source {
	t.Helper()
	f := FormatOf(path)
	in, err := Scan(path, f)
	if err != nil || len(in.Problems) > 0 {
		t.Fatalf("scan: %v %v", err, in.Problems)
	}
	src, err := Open(Spec{Name: "s", Path: path, Display: filepath.Base(path), Format: f, Pick: pick, Cursor: cursor,
		Exhausted: Stop, Columns: in.Columns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// draw draws n rows with c and returns column col of each ("!" for an
// exhausted draw).
func draw(t *testing.T, c *Cursor, rng *rand.Rand, n int, col string) []string {
	t.Helper()
	var out []string
	for range n {
		err := c.Next(rng)
		switch {
		case errors.Is(err, ErrExhausted):
			out = append(out, "!")
		case err != nil:
			t.Fatal(err)
		default:
			out = append(out, fmt.Sprint(c.Row()[col]))
		}
	}
	return out
}

// The picks and cursors draw the rows they promise, in every format.
func TestPicksAndCursors(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"s.csv":   "id,name\n1,a\n2,b\n3,c\n",
		"s.json":  `[{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": "c"}]`,
		"s.jsonl": "{\"id\": 1, \"name\": \"a\"}\n{\"id\": 2, \"name\": \"b\"}\n\n{\"id\": 3, \"name\": \"c\"}",
	}
	for file, content := range files {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			path := write(t, file, content)
			rng := func() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }
			t.Run("sequential shared", func(t *testing.T) {
				src := open(t, path, Sequential, Shared)
				a, b := src.NewCursor(), src.NewCursor()
				var got []string
				for range 4 {
					got = append(got, draw(t, a, nil, 1, "id")[0], draw(t, b, nil, 1, "id")[0])
				}
				if want := []string{"1", "2", "3", "1", "2", "3", "1", "2"}; !slices.Equal(got, want) {
					t.Errorf("got %q, want %q: the VUs share one position, wrapping at the end", got, want)
				}
			})
			t.Run("sequential vu", func(t *testing.T) {
				src := open(t, path, Sequential, PerVU)
				a, b := src.NewCursor(), src.NewCursor()
				ga, gb := draw(t, a, nil, 5, "name"), draw(t, b, nil, 2, "name")
				if !slices.Equal(ga, []string{"a", "b", "c", "a", "b"}) || !slices.Equal(gb, []string{"a", "b"}) {
					t.Errorf("got %q and %q: each VU reads from the first row", ga, gb)
				}
			})
			t.Run("unique shared", func(t *testing.T) {
				src := open(t, path, Unique, Shared)
				a, b := src.NewCursor(), src.NewCursor()
				got := slices.Concat(draw(t, a, nil, 2, "id"), draw(t, b, nil, 2, "id"), draw(t, a, nil, 1, "id"))
				if want := []string{"1", "2", "3", "!", "!"}; !slices.Equal(got, want) {
					t.Errorf("got %q, want %q", got, want)
				}
			})
			t.Run("unique vu", func(t *testing.T) {
				src := open(t, path, Unique, PerVU)
				a, b := src.NewCursor(), src.NewCursor()
				ga, gb := draw(t, a, nil, 4, "id"), draw(t, b, nil, 1, "id")
				if !slices.Equal(ga, []string{"1", "2", "3", "!"}) || !slices.Equal(gb, []string{"1"}) {
					t.Errorf("got %q and %q: each VU uses each row once", ga, gb)
				}
			})
			t.Run("random", func(t *testing.T) {
				src := open(t, path, Random, Shared)
				g1 := draw(t, src.NewCursor(), rng(), 30, "id")
				g2 := draw(t, src.NewCursor(), rng(), 30, "id")
				if !slices.Equal(g1, g2) {
					t.Errorf("same seed, different rows: %q and %q", g1, g2)
				}
				seen := map[string]bool{}
				for _, v := range g1 {
					seen[v] = true
				}
				if len(seen) != 3 {
					t.Errorf("30 draws saw %v, want all 3 rows", seen)
				}
			})
		})
	}
}

// JSON values keep their types; CSV values are strings.
func TestValueTypes(t *testing.T) {
	t.Parallel()
	src := open(t, write(t, "t.json", `[{"i": 3, "f": 1.5, "s": "x", "b": true, "o": {"n": 2}, "z": null}]`), Sequential, Shared)
	c := src.NewCursor()
	if err := c.Next(nil); err != nil {
		t.Fatal(err)
	}
	r := c.Row()
	if r["i"] != 3 || r["f"] != 1.5 || r["s"] != "x" || r["b"] != true || r["z"] != nil || r["o"].(map[string]any)["n"] != 2 {
		t.Errorf("row %#v", r)
	}
	src = open(t, write(t, "t.csv", "i\n3\n"), Sequential, Shared)
	c = src.NewCursor()
	if err := c.Next(nil); err != nil || c.Row()["i"] != "3" {
		t.Errorf("csv row %#v (%v), want the string 3", c.Row(), err)
	}
}

// A shared cursor gives every row exactly once per pass to VUs drawing at
// once.
func TestSharedConcurrent(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("id\n")
	const rows = 500
	for i := range rows {
		fmt.Fprintf(&b, "%d\n", i)
	}
	src := open(t, write(t, "c.csv", b.String()), Unique, Shared)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			c := src.NewCursor()
			for c.Next(nil) == nil {
				mu.Lock()
				seen[c.Row()["id"].(string)]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != rows {
		t.Fatalf("%d distinct rows drawn, want %d", len(seen), rows)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("row %s drawn %d times", id, n)
		}
	}
}

// Random refuses a file above MaxRandomSize with a clear message.
func TestRandomLimit(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "big.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxRandomSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = Open(Spec{Name: "big", Path: path, Display: "big.csv", Format: CSV, Pick: Random, Columns: []string{"a"}})
	if err == nil || !strings.Contains(err.Error(), "pick random holds the rows in memory, up to 16 MiB") {
		t.Errorf("err %v", err)
	}
}
