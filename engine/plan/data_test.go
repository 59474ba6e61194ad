package plan

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// dataPlan is a plan with the given data: block (entries indented two
// columns, from line 5) whose scenario's var reads varSrc.
func dataPlan(data, varSrc string) string {
	return `version: 1
targets:
  cache: {driver: redis}
data:
` + data + `scenarios:
  s1:
    load: {vus: 1, iterations: 1}
    vars: {v: "` + varSrc + `"}
    steps:
      - redis: [GET, k]
`
}

// Problems of data sources are reported at the plan's file: value and,
// when they are inside the data file, at their line and column there
// too; templates reading an unknown source or column at the name.
func TestDataValidation(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"data/signals.csv": "symbol,side,price\nBTC,BUY,1\nETH,SELL,2\n",
		"data/ragged.csv":  "symbol,side,price\nBTC,BUY,1\nETH,SELL\n",
		"data/quotes.csv":  "a,b\n1,x\"y\n",
		"data/header.csv":  "a,,a\n1,2,3\n",
		"data/empty.csv":   "",
		"data/rows.json":   "[\n  {\"id\": 1, \"name\": \"a\"},\n  {\"id\": 2}\n]\n",
		"data/rows.jsonl":  "{\"id\": 1}\n{\"id\": 2,}\n",
		"data/rows.txt":    "a\n1\n",
	}
	tests := []struct {
		name, data, v string
		want          []string
		cols          []string
	}{
		{name: "good", data: "  signals: {file: data/signals.csv, pick: unique, cursor: vu, exhausted: error}\n", v: "{{ data.signals.price }}",
			cols: []string{"symbol", "side", "price"}},
		{name: "missing file", data: "  signals: {file: data/signal.csv}\n", v: "{{ data.signals.price }}",
			want: []string{`p.yaml:5:19: data signals: DIR/data/signal.csv: no such file (a data file's path is relative to the plan file that names it) (did you mean "DIR/data/signals.csv"?)`}},
		{name: "ragged", data: "  signals:\n    file: data/ragged.csv\n", v: "{{ data.signals.price }}",
			want: []string{`p.yaml:6:11: data signals: DIR/data/ragged.csv:3:1: the row has 2 fields, the header 3`}},
		{name: "ragged and an unknown column", data: "  signals:\n    file: data/ragged.csv\n", v: "{{ data.signals.prise }}",
			want: []string{`p.yaml:6:11: data signals: DIR/data/ragged.csv:3:1: the row has 2 fields, the header 3`,
				`p.yaml:10:32: scenario s1: var v: data source signals has no column "prise" (did you mean "price"?) (its columns at DIR/data/ragged.csv:1:1: symbol, side, price)`}},
		{name: "bare quote", data: "  q: {file: data/quotes.csv}\n", v: "{{ data.q.a }}",
			want: []string{`p.yaml:5:13: data q: DIR/data/quotes.csv:2:4: bare " in a field`}},
		{name: "header", data: "  h: {file: data/header.csv}\n", v: "{{ data.h.a }}",
			want: []string{`p.yaml:5:13: data h: DIR/data/header.csv:1:3: column 2 of the header has no name`,
				`p.yaml:5:13: data h: DIR/data/header.csv:1:4: duplicate column "a" in the header (first is column 1)`}},
		{name: "empty", data: "  e: {file: data/empty.csv}\n", v: "{{ data.e.a }}",
			want: []string{`p.yaml:5:13: data e: DIR/data/empty.csv:1:1: the file is empty`}},
		{name: "json lacks a column", data: "  j: {file: data/rows.json}\n", v: "{{ data.j.name }}",
			want: []string{`p.yaml:5:13: data j: DIR/data/rows.json:3:3: row 2 lacks column "name"`}},
		{name: "bad json lines", data: "  j: {file: data/rows.jsonl}\n", v: "{{ data.j.id }}",
			want: []string{`p.yaml:5:13: data j: DIR/data/rows.jsonl:2:10: bad JSON`}},
		{name: "format from the plan", data: "  t: {file: data/rows.txt, format: csv}\n", v: "{{ data.t.a }}", cols: []string{"a"}},
		{name: "unknown extension", data: "  t: {file: data/rows.txt}\n", v: "{{ data.t.a }}",
			want: []string{`p.yaml:5:13: data t: cannot tell the format of data/rows.txt from its extension`}},
		{name: "unknown column", data: "  signals: {file: data/signals.csv}\n", v: "{{ data.signals.prise }}",
			want: []string{`p.yaml:9:32: scenario s1: var v: data source signals has no column "prise" (did you mean "price"?) (its columns at DIR/data/signals.csv:1:1: symbol, side, price)`}},
		{name: "unknown source", data: "  signals: {file: data/signals.csv}\n", v: "{{ data.signal.price }}",
			want: []string{`p.yaml:9:24: scenario s1: var v: unknown data source "signal" (did you mean "signals"?)`}},
		{name: "exhausted without unique", data: "  signals: {file: data/signals.csv, exhausted: error}\n", v: "{{ data.signals.price }}",
			want: []string{`p.yaml:5:37: data signals: exhausted applies to pick: unique; the rows of a sequential pick never run out`}},
		{name: "schema", data: "  signals: {file: data/signals.csv, pick: randm}\n", v: "{{ data.signals.price }}",
			want: []string{`p.yaml:5:43: data.signals.pick: "randm" is not one of "sequential", "random", "unique" (did you mean "random"?)`}},
		// A source whose settings are wrong still has its file read: one
		// validation lists the file's problems and the templates' too.
		{name: "schema and the file", data: "  signals: {file: data/ragged.csv, pick: randm}\n", v: "{{ data.signals.price }}",
			want: []string{`p.yaml:5:19: data signals: DIR/data/ragged.csv:3:1: the row has 2 fields, the header 3`,
				`p.yaml:5:42: data.signals.pick: "randm" is not one of`}},
		{name: "schema and a column", data: "  signals: {file: data/signals.csv, pick: randm}\n", v: "{{ data.signals.prise }}",
			want: []string{`p.yaml:5:43: data.signals.pick: "randm" is not one of`,
				`p.yaml:9:32: scenario s1: var v: data source signals has no column "prise" (did you mean "price"?)`}},
		{name: "name", data: "  my-data: {file: data/signals.csv}\n", v: "1",
			want: []string{`p.yaml:5:3: data source name "my-data" must be an identifier`}},
		// A source with problems is not held against the templates that
		// read it: its problem is reported once.
		{name: "no cascade", data: "  e: {file: data/empty.csv}\n", v: "{{ data.e.whatever }}",
			want: []string{`p.yaml:5:13: data e: DIR/data/empty.csv:1:1: the file is empty`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for name, content := range files {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			src := dataPlan(tt.data, tt.v)
			p, diags := ParseAll(filepath.Join(dir, "p.yaml"), []byte(src), Options{StepKinds: []string{"redis"}, Env: func(string) (string, bool) { return "", false }})
			var got []string
			for _, d := range diags.Sorted() {
				got = append(got, strings.ReplaceAll(d.String(), dir+string(filepath.Separator), "DIR/"))
			}
			for i := range got {
				got[i] = strings.Replace(got[i], "DIR/p.yaml", "p.yaml", 1)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("diagnostics:\n%s\nwant:\n%s\nplan:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"), src)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("diagnostic\n%s\nwant one starting with\n%s", got[i], tt.want[i])
				}
			}
			if tt.want == nil {
				if len(p.Data) != 1 || !slices.Equal(p.Data[0].Columns, tt.cols) {
					t.Fatalf("data %+v, want columns %q", p.Data, tt.cols)
				}
				if d := p.Data[0]; tt.name == "good" && (d.Pick != "unique" || d.Cursor != "vu" || d.Exhausted != "error" || d.Rows != 2) {
					t.Errorf("source %+v", d)
				}
			}
		})
	}
}

// A source's file is relative to the directory of the file that declares
// it: the plan's by default, another (an included fragment's) when the
// loader is told so.
func TestDataDir(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	for _, d := range []string{"plans/data", "shared/data"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "plans/data/a.csv"), []byte("x\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "shared/data/a.csv"), []byte("y\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := dataPlan("  a: {file: data/a.csv}\n", "{{ data.a.x }}")
	p, diags := ParseAll(filepath.Join(root, "plans", "p.yaml"), []byte(src), Options{StepKinds: []string{"redis"}, Env: func(string) (string, bool) { return "", false }})
	if len(diags) > 0 || !slices.Equal(p.Data[0].Columns, []string{"x"}) {
		t.Fatalf("%v %+v", diags, p)
	}
	l := &loader{file: filepath.Join(root, "plans", "p.yaml")}
	n := parseNode(t, "a: {file: data/a.csv}")
	d := l.dataSource(n.Content[0], n.Content[1], filepath.Join(root, "shared"))
	if len(l.diags) > 0 || !slices.Equal(d.Columns, []string{"y"}) || d.Path != filepath.Join(root, "shared/data/a.csv") {
		t.Fatalf("%v %+v", l.diags, d)
	}
}

// parseNode parses src as YAML and returns its top mapping.
func parseNode(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}
