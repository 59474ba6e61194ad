package plan

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseAll loads arbitrary bytes as a plan (and, after a NUL byte, a
// --set override). Whatever the input, the loader must not panic; it
// returns a plan or at least one error; and every diagnostic has a message
// and a place that exists in the file: a line between 1 and the file's
// last (or 0, for a problem with no place), a column from 1.
func FuzzParseAll(f *testing.F) {
	plans, _ := filepath.Glob("../../plans/*.yaml")
	for _, p := range plans {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		base,
		base + "\x00scenarios.s1.load.duration=2s",
		base + "\x00targets.cache=[a, b]",
		"",
		"version: 1\n---\nversion: 2\n",
		"- a\n- b\n",
		"version: 1\ntargets:\n\tcache: {driver: redis}\n",
		"version: 1\nx: &a {b: 1}\ny: *a\nz: {<<: *a, c: 2}\n",
		"version: 1\nname: \"unclosed\n",
		"version: 1\ntargets: {cache: {driver: redis, url: ${NOPE}}}\nscenarios: {s: {load: {vus: 1, duration: 1s}, steps: [{redis: [GET, k]}]}}\n",
		"version: 1\nchecks:\n  - name: c\n    expr: |\n      a >\n      b\n",
		"version: 1\nscenarios: {s: {load: {rate: 10/s, duration: 1s}, steps: [{sleep: 1ms}, {sleep: -1s}]}}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		data, set, hasSet := bytes.Cut(in, []byte{0})
		opts := Options{StepKinds: testKinds, Schema: testSchema, Env: env(map[string]string{"RP_URL": "redis://127.0.0.1:1/0"})}
		if hasSet {
			opts.Sets = []string{string(set)}
		}
		p, diags := ParseAll("fuzz.yaml", data, opts)
		if p == nil && len(diags.Errors()) == 0 {
			t.Fatal("no plan, and no error to say why")
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, d := range diags {
			if strings.TrimSpace(d.Msg) == "" {
				t.Errorf("a diagnostic without a message: %+v", d)
			}
			if d.File == "--set" {
				continue
			}
			lines := lines
			if d.File != "fuzz.yaml" { // a fragment the input includes
				b, err := os.ReadFile(d.File)
				if err != nil {
					t.Errorf("diagnostic %q is in %s, which cannot be read: %v", d.Msg, d.File, err)
					continue
				}
				lines = bytes.Count(b, []byte("\n")) + 1
			}
			if d.Line < 0 || d.Line > lines || d.Line > 0 && d.Col < 1 {
				t.Errorf("diagnostic %q is at %s:%d:%d, outside the file's %d lines", d.Msg, d.File, d.Line, d.Col, lines)
			}
		}
	})
}
