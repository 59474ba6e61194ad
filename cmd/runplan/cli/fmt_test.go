package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/plan"
	"github.com/runplan/runplan/engine/tmpl"
)

// TestFmtExamplePlans formats every plan of plans/: the plans are in
// canonical form (fmt changes nothing), formatting is idempotent, and the
// formatted plan loads to the same plan as the file.
func TestFmtExamplePlans(t *testing.T) {
	t.Parallel()
	sch, err := engine.PlanSchema()
	if err != nil {
		t.Fatal(err)
	}
	paths, err := filepath.Glob(filepath.Join("..", "..", "..", "plans", "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no plans: %v", err)
	}
	// The fragments that plans include (plans/shared/) are formatted too.
	fragments, err := filepath.Glob(filepath.Join("..", "..", "..", "plans", "*", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	paths = append(paths, fragments...)
	lo := plan.Options{StepKinds: driver.Drivers(), Schema: sch, Env: func(string) (string, bool) { return "", false }}
	for _, path := range paths {
		name, _ := filepath.Rel(filepath.Join("..", "..", "..", "plans"), path)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			out, err := plan.Format(path, src, sch)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, src) {
				t.Errorf("not in canonical form: run `runplan fmt %s`; fmt writes:\n%s", filepath.Base(path), out)
			}
			again, err := plan.Format(path, out, sch)
			if err != nil || !bytes.Equal(again, out) {
				t.Errorf("fmt is not idempotent (%v):\n%s", err, again)
			}
			if slices.Contains(fragments, path) {
				return // not a plan: loaded through the plans that include it
			}
			// The same plan, from a version of the file that fmt changes
			// everywhere it may: another indentation and longer durations.
			wide := reindent(t, src)
			out, err = plan.Format(path, wide, sch)
			if err != nil {
				t.Fatal(err)
			}
			a, da := plan.ParseAll(path, src, lo)
			b, db := plan.ParseAll(path, out, lo)
			if a == nil || b == nil || len(da.Errors()) != len(db.Errors()) {
				t.Fatalf("the formatted plan loads differently:\n%v\n%v", da, db)
			}
			if d := planDiff(reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem(), "plan"); d != "" {
				t.Errorf("the formatted plan differs at %s", d)
			}
			// planDiff sees a difference where there is one.
			if len(b.Scenarios) > 0 {
				b.Scenarios[0].Start++
				if d := planDiff(reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem(), "plan"); d != "plan.Scenarios[].Start" {
					t.Errorf("planDiff of plans that differ in a start: %q", d)
				}
			}
		})
	}
}

// reindent returns src with four-space indentation and the durations
// of the form Ns under the usual duration keys written in milliseconds.
func reindent(t *testing.T, src []byte) []byte {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatal(err)
	}
	durationKeys := map[string]bool{"duration": true, "warmup": true, "at": true, "for": true, "timeout": true,
		"ttl": true, "every": true, "start": true, "interval": true, "sleep": true, "backoff": true}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		for i, c := range n.Content {
			if n.Kind == yaml.MappingNode && i%2 == 1 && durationKeys[n.Content[i-1].Value] && c.Kind == yaml.ScalarNode {
				if secs, ok := strings.CutSuffix(c.Value, "s"); ok {
					if v, err := strconv.Atoi(secs); err == nil {
						c.Value = strconv.Itoa(v*1000) + "ms"
					}
				}
			}
			walk(c)
		}
	}
	walk(&doc)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(4)
	if err := enc.Encode(&doc); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var (
	nodeType = reflect.TypeFor[*yaml.Node]()
	posType  = reflect.TypeFor[diag.Pos]()
	varsType = reflect.TypeFor[*tmpl.Vars]()
)

// planDiff is the path of the first difference between two loaded plans,
// positions, YAML nodes, compiled vars and the file's digest aside; "" when
// they are the same.
func planDiff(a, b reflect.Value, path string) string {
	switch t := a.Type(); {
	case t == nodeType, t == posType, t == varsType:
		return ""
	case t.Kind() == reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return path
			}
			return ""
		}
		return planDiff(a.Elem(), b.Elem(), path)
	case t.Kind() == reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || f.Name == "Digest" {
				continue
			}
			if d := planDiff(a.Field(i), b.Field(i), path+"."+f.Name); d != "" {
				return d
			}
		}
		return ""
	case t.Kind() == reflect.Slice:
		if a.Len() != b.Len() {
			return path + " (length)"
		}
		for i := range a.Len() {
			if d := planDiff(a.Index(i), b.Index(i), path+"[]"); d != "" {
				return d
			}
		}
		return ""
	case t.Kind() == reflect.Map:
		if a.Len() != b.Len() {
			return path + " (size)"
		}
		for _, k := range a.MapKeys() {
			if d := planDiff(a.MapIndex(k), b.MapIndex(k), path+"{}"); d != "" {
				return d
			}
		}
		return ""
	case t.Kind() == reflect.Func, t.Kind() == reflect.Interface:
		return ""
	}
	if !reflect.DeepEqual(a.Interface(), b.Interface()) {
		return path
	}
	return ""
}

func TestFmtCommand(t *testing.T) {
	t.Parallel()
	const messy = "name: m   # kept\nversion: 1\nscenarios:\n    s:\n        steps: [{sleep: 1000ms}]\n        load: {duration: 60s, vus: 1}\n"
	const tidy = "version: 1\nname: m   # kept\nscenarios:\n  s:\n    load: {vus: 1, duration: 1m}\n    steps: [{sleep: 1s}]\n"
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := Main(append([]string{"fmt"}, args...), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}

	m := write("messy.yaml", messy, 0o600)
	ok := write("tidy.yaml", tidy, 0o644)
	bad := write("bad.yaml", "version: 1\nscenarios: [a\n", 0o644)

	// --check lists what would change, writes nothing, exits 1.
	code, out, _ := run("--check", m, ok)
	if code != ExitChecks || out != m+"\n" {
		t.Errorf("fmt --check: exit %d, stdout %q; want %d, %q", code, out, ExitChecks, m+"\n")
	}
	if read(m) != messy {
		t.Errorf("fmt --check wrote the file")
	}
	if code, out, _ := run("--check", ok); code != ExitOK || out != "" {
		t.Errorf("fmt --check on a tidy plan: exit %d, stdout %q", code, out)
	}

	// A file that does not parse is refused and left alone; the others
	// are formatted.
	code, out, errOut := run(bad, m)
	if code != ExitUsage || !strings.Contains(errOut, "bad.yaml:1:1: YAML syntax") || out != m+"\n" {
		t.Errorf("fmt bad messy: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if read(bad) != "version: 1\nscenarios: [a\n" {
		t.Errorf("the file that does not parse was changed")
	}
	if got := read(m); got != tidy {
		t.Errorf("formatted:\n%s\nwant:\n%s", got, tidy)
	}
	if st, err := os.Stat(m); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode after fmt: %v, %v; want 0600", st.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("fmt left files behind: %v", entries)
	}
	if code, _, _ := run(); code != ExitUsage {
		t.Errorf("fmt without files: exit %d", code)
	}
}
