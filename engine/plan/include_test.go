package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runplan/runplan/engine/diag"
)

// writeTree writes files (path relative to a new temporary directory:
// content) and returns the directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// relDiags renders diagnostics one per line, sorted, with the directory
// dir left out of file names.
func relDiags(dir string, ds diag.Diagnostics) string {
	return strings.ReplaceAll(ds.Sorted().Error(), dir+string(filepath.Separator), "")
}

// The fragments of the merge test: targets shared with an anchor, a merge
// key and an x- key; checks and recommendations in a fragment that
// includes the targets again (merged once) and a fragment of its own
// directory's parent.
var mergeFiles = map[string]string{
	"shared/targets.yaml": `x-base: &base {driver: redis, timeout: 500ms}
targets:
  cache:
    <<: *base
    url: ${RP_CACHE_URL:-}
    pool_size: 8
  hook:
    driver: webhook
    x-note: ignored, as in a plan
    url: ${RP_HOOK:-http://127.0.0.1:1/hook}
`,
	"shared/checks.yaml": `include: [targets.yaml, ../common/recs.yaml]
checks:
  - {name: shared_ok, expr: s1.success_rate > 0.9}
recommendations:
  - {when: s1.success_rate < 0.9, say: from checks.yaml}
`,
	"common/recs.yaml": `# only recommendations
recommendations:
  - {when: s1.success_rate < 0.5, say: from recs.yaml}
`,
	"a.yaml": `version: 1
include:
  - ${RP_SHARED:-shared}/targets.yaml
  - shared/checks.yaml
targets:
  own: {driver: redis}
scenarios:
  s1:
    load: {vus: 1, iterations: 3}
    steps:
      - redis: [GET, k]
        target: cache
checks:
  - {name: own_ok, expr: s1.success_rate > 0.5}
recommendations:
  - {when: s1.success_rate < 0.1, say: from a.yaml}
`,
}

func TestIncludeMerge(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, mergeFiles)
	opts := Options{StepKinds: testKinds, Schema: testSchema, Env: env(map[string]string{"RP_CACHE_URL": "redis://127.0.0.1:7/0"}),
		Sets: []string{"targets.cache.pool_size=16"}}
	p, err := Load(filepath.Join(dir, "a.yaml"), opts)
	if err != nil {
		t.Fatal(relDiags(dir, err.(diag.Diagnostics)))
	}
	var targets, checks, says []string
	for _, tg := range p.Targets {
		targets = append(targets, tg.Name)
	}
	for _, c := range p.Checks {
		checks = append(checks, c.Name)
	}
	for _, r := range p.Recommendations {
		says = append(says, r.Say)
	}
	// Included first, in include order (a fragment's own includes before
	// it), then the plan's own.
	if want := []string{"cache", "hook", "own"}; !slices.Equal(targets, want) {
		t.Errorf("targets %v, want %v", targets, want)
	}
	if want := []string{"shared_ok", "own_ok"}; !slices.Equal(checks, want) {
		t.Errorf("checks %v, want %v", checks, want)
	}
	if want := []string{"from recs.yaml", "from checks.yaml", "from a.yaml"}; !slices.Equal(says, want) {
		t.Errorf("recommendations %v, want %v", says, want)
	}
	want := []string{"shared/targets.yaml", "common/recs.yaml", "shared/checks.yaml"}
	var frags []string
	for _, f := range p.Fragments {
		frags = append(frags, filepath.ToSlash(strings.TrimPrefix(f, dir+string(filepath.Separator))))
	}
	if !slices.Equal(frags, want) {
		t.Errorf("fragments %v, want %v", frags, want)
	}
	cache := p.TargetByName("cache")
	// ${VAR} interpolation, the merge key and --set apply in a fragment.
	if cache.Driver != "redis" || cache.URL != "redis://127.0.0.1:7/0" {
		t.Errorf("cache: driver %q url %q", cache.Driver, cache.URL)
	}
	if _, v := get(cache.Node, "pool_size"); str(v) != "16" {
		t.Errorf("pool_size %q, want 16 (--set)", str(v))
	}
	if _, v := get(cache.Node, "timeout"); str(v) != "500ms" {
		t.Errorf("timeout %q, want 500ms (<<: *base)", str(v))
	}
	if h := p.TargetByName("hook"); h.URL != "http://127.0.0.1:1/hook" {
		t.Errorf("hook url %q", h.URL)
	}
	// Where each block was declared, for paths relative to it (data).
	if got := p.FileOf(cache.Node); got != filepath.Join(dir, "shared", "targets.yaml") {
		t.Errorf("FileOf(cache) = %q", got)
	}
	if got := p.DirOf(p.TargetByName("own").Node); got != dir {
		t.Errorf("DirOf(own) = %q, want %q", got, dir)
	}
	if cache.Pos != (diag.Pos{File: filepath.Join(dir, "shared", "targets.yaml"), Line: 3, Col: 3}) {
		t.Errorf("cache at %+v", cache.Pos)
	}
	if _, inc := get(p.Root, "include"); inc != nil {
		t.Error("the merged plan still has include")
	}

	// The digest covers the fragments.
	before := p.Digest
	if err := os.WriteFile(filepath.Join(dir, "common", "recs.yaml"), []byte("recommendations: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p2, err := Load(filepath.Join(dir, "a.yaml"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if p2.Digest == before {
		t.Error("the digest did not change with a fragment")
	}
}

// A plan without includes keeps the digest of its bytes.
func TestIncludeDigestWithout(t *testing.T) {
	t.Parallel()
	p, err := Parse("p.yaml", []byte(base), Options{StepKinds: testKinds, Schema: testSchema, Env: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256([]byte(base)); p.Digest != hex.EncodeToString(sum[:]) {
		t.Errorf("digest %s", p.Digest)
	}
}

const scen = "scenarios:\n  s1:\n    load: {vus: 1, iterations: 1}\n    steps: [{sleep: 1ms}]\n"

func TestIncludeProblems(t *testing.T) {
	t.Parallel()
	long := map[string]string{"a.yaml": "version: 1\ninclude: [f1.yaml]\n" + scen}
	for i := 1; i <= MaxIncludeDepth+1; i++ {
		long[fname(i)] = "include: [" + fname(i+1) + "]\n"
	}
	long[fname(MaxIncludeDepth+2)] = "targets: {}\n"
	many := map[string]string{}
	list := "version: 1\ninclude:\n"
	for i := 1; i <= MaxFragments+2; i++ {
		many[fname(i)] = ""
		list += "  - " + fname(i) + "\n"
	}
	many["a.yaml"] = list + scen
	tests := []struct {
		name  string
		files map[string]string
		sets  []string
		max   int64
		want  []string
	}{
		{"a name in a fragment and the plan", map[string]string{
			"a.yaml":              "version: 1\ninclude: [shared/targets.yaml]\ntargets:\n  cache: {driver: redis}\n" + scen,
			"shared/targets.yaml": "targets:\n  hook: {driver: webhook}\n  cache: {driver: redis}\n",
		}, nil, 0, []string{`a.yaml:4:3: target "cache" is also defined at shared/targets.yaml:3:3: a name is defined once, in the plan or in one fragment it includes`}},
		{"a name in two fragments", map[string]string{
			"a.yaml": "version: 1\ninclude: [x.yaml, y.yaml]\n" + scen,
			"x.yaml": "scenarios:\n  s2: {load: {vus: 1, iterations: 1}, steps: [{sleep: 1ms}]}\n",
			"y.yaml": "scenarios:\n\n  s2: {load: {vus: 1, iterations: 1}, steps: [{sleep: 2ms}]}\n",
		}, nil, 0, []string{`y.yaml:3:3: scenario "s2" is also defined at x.yaml:2:3`}},
		{"a check name in a fragment and the plan", map[string]string{
			"a.yaml": "version: 1\ninclude: [c.yaml]\n" + scen + "checks:\n  - {name: ok, expr: s1.success_rate > 0.9}\n",
			"c.yaml": "checks:\n  - {name: ok, expr: s1.success_rate > 0.5}\n",
		}, nil, 0, []string{`a.yaml:8:12: duplicate check name "ok" (first at c.yaml:2:6)`}},
		{"a target and a scenario share names across files", map[string]string{
			"a.yaml": "version: 1\ninclude: [t.yaml]\n" + scen,
			"t.yaml": "targets:\n  s1: {driver: redis}\n",
		}, nil, 0, []string{`a.yaml:4:3: scenario name "s1" is already used at t.yaml:2:3`}},
		{"a cycle", map[string]string{
			"a.yaml":        "version: 1\ninclude: [shared/b.yaml]\n" + scen,
			"shared/b.yaml": "include: [c.yaml]\n",
			"shared/c.yaml": "include:\n  - b.yaml\n",
		}, nil, 0, []string{`shared/c.yaml:2:5: include cycle: shared/b.yaml includes itself (shared/b.yaml → shared/c.yaml → shared/b.yaml)`}},
		{"the plan includes itself", map[string]string{
			"a.yaml": "version: 1\ninclude: [./a.yaml]\n" + scen,
		}, nil, 0, []string{`a.yaml:2:11: include cycle: a.yaml includes itself (a.yaml → a.yaml)`}},
		{"a missing file", map[string]string{
			"a.yaml": "version: 1\ninclude:\n  - shared/none.yaml\n" + scen,
		}, nil, 0, []string{`a.yaml:3:5: include shared/none.yaml: no such file or directory`}},
		{"too deep", long, nil, 0, []string{`f8.yaml:1:11: include: fragments nest more than 8 deep here, the limit`}},
		{"too many", many, nil, 0, []string{`a.yaml:67:5: include: the plan includes more than 64 fragment files, the limit`}},
		{"not a list", map[string]string{
			"a.yaml": "version: 1\ninclude: shared.yaml\n" + scen,
		}, nil, 0, []string{`a.yaml:2:10: include: a list of fragment files`}},
		{"an entry not a path", map[string]string{
			"a.yaml": "version: 1\ninclude: [{file: x.yaml}, \"\"]\n" + scen,
		}, nil, 0, []string{`a.yaml:2:11: include: each entry is the path`, `a.yaml:2:27: include: each entry is the path`}},
		{"YAML syntax in a fragment", map[string]string{
			"a.yaml": "version: 1\ninclude: [t.yaml]\n" + scen,
			"t.yaml": "targets:\n  cache: {driver: redis\n",
		}, nil, 0, []string{`t.yaml:1:1: YAML syntax:`}},
		{"two documents in a fragment", map[string]string{
			"a.yaml": "version: 1\ninclude: [t.yaml]\n" + scen,
			"t.yaml": "targets: {}\n---\ntargets: {}\n",
		}, nil, 0, []string{`t.yaml:2:1: a fragment file holds one YAML document`}},
		{"a fragment that is a list", map[string]string{
			"a.yaml": "version: 1\ninclude: [t.yaml]\n" + scen,
			"t.yaml": "- cache\n",
		}, nil, 0, []string{`t.yaml:1:1: a fragment is a YAML mapping`}},
		{"plan keys in a fragment", map[string]string{
			"a.yaml": "version: 1\ninclude: [t.yaml]\n" + scen,
			"t.yaml": "targets: {}\nversion: 1\nseed: 3\ntargest: {}\nfoo: 1\nx-ok: &a {b: 1}\n",
		}, nil, 0, []string{
			`t.yaml:2:1: version belongs to the plan, not to a fragment: a fragment holds targets, scenarios, data, checks, recommendations, notify and include`,
			`t.yaml:3:1: seed belongs to the plan, not to a fragment`,
			`t.yaml:4:1: unknown key "targest" in a fragment (did you mean "targets"?)`,
			`t.yaml:5:1: unknown key "foo" in a fragment: a fragment holds`,
		}},
		{"a block of the wrong kind", map[string]string{
			"a.yaml": "version: 1\ninclude: [t.yaml]\n" + scen,
			"t.yaml": "targets: [cache]\nchecks: {a: 1}\n",
		}, nil, 0, []string{`t.yaml:1:10: targets: got a list, want a mapping of names`, `t.yaml:2:9: checks: got not a mapping, want a list`}},
		{"an unknown key in a fragment's target", map[string]string{
			"a.yaml": "version: 1\ninclude: [t.yaml]\n" + scen,
			"t.yaml": "targets:\n  cache:\n    driver: redis\n    pool_sise: 3\n",
		}, nil, 0, []string{`t.yaml:4:5: unknown key "pool_sise" in targets.cache (did you mean "pool_size"?)`}},
		{"a merge key in a fragment brings an unknown key", map[string]string{
			"a.yaml": "version: 1\ninclude: [t.yaml]\n" + scen,
			"t.yaml": "x-b: &b {driver: redis, pool_sise: 3}\ntargets:\n  cache: {<<: *b}\n",
		}, nil, 0, []string{`t.yaml:1:25: unknown key "pool_sise" in targets.cache (did you mean "pool_size"?); the <<: at line 3 merged it in`}},
		{"a schema error in an included scenario", map[string]string{
			"a.yaml": "version: 1\ninclude: [s.yaml]\n" + scen,
			"s.yaml": "scenarios:\n  s2:\n    load: {vus: x, duration: 5}\n    steps: [{sleep: 1ms}]\n",
		}, nil, 0, []string{`s.yaml:3:17: scenarios.s2.load.vus: got string, want integer`, `s.yaml:3:30: scenarios.s2.load.duration: a duration needs a unit`}},
		{"a bad step in an included scenario", map[string]string{
			"a.yaml": "version: 1\ninclude: [s.yaml]\ntargets: {cache: {driver: redis}}\n" + scen,
			"s.yaml": "scenarios:\n  s2:\n    load: {vus: 1, iterations: 1}\n    steps:\n      - redis: [GET, k]\n        target: cahce\n        nmae: x\n",
		}, nil, 0, []string{`s.yaml:6:17: step: unknown target "cahce" (did you mean "cache"?)`, `s.yaml:7:9: unknown key "nmae" in step (did you mean "name"?)`}},
		{"an unset variable in a fragment", map[string]string{
			"a.yaml": "version: 1\ninclude: [t.yaml]\n" + scen,
			"t.yaml": "targets:\n  cache: {driver: redis, url: \"redis://${RP_NOPE}\"}\n",
		}, nil, 0, []string{`t.yaml:2:40: environment variable RP_NOPE is not set`}},
		{"a --set on a fragment's value", map[string]string{
			"a.yaml": "version: 1\ninclude: [t.yaml]\n" + scen,
			"t.yaml": "targets:\n  cache:\n    driver: redis\n    pool_size: 8\n",
		}, []string{"targets.cache.pool_size=many"}, 0, []string{`t.yaml:4:16: targets.cache.pool_size: got string, want integer`}},
		{"an alias bomb in a fragment", map[string]string{
			"a.yaml": "version: 1\ninclude: [t.yaml]\n" + scen,
			"t.yaml": "x-a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\nx-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nx-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nx-d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
		}, nil, 4096, []string{`t.yaml:3:38: alias *b expands the plan past its limit`}},
		{"a fragment too large", map[string]string{
			"a.yaml": "version: 1\ninclude: [t.yaml]\n" + scen,
			"t.yaml": "targets: {}\n# " + strings.Repeat("x", 5000) + "\n",
		}, nil, 4096, []string{`a.yaml:2:11: include t.yaml: the fragment is 4.9KiB, more than the 4KiB limit`}},
		{"a fragment validated alone", map[string]string{
			"a.yaml": "targets:\n  cache: {driver: redis}\nx-a: 1\n",
		}, nil, 0, []string{`a.yaml:1:1: this file has no version and holds only what a fragment holds`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := writeTree(t, tt.files)
			_, err := Load(filepath.Join(dir, "a.yaml"), Options{StepKinds: testKinds, Schema: testSchema, Env: env(nil), Sets: tt.sets, MaxSize: tt.max})
			if err == nil {
				t.Fatal("no error")
			}
			got := relDiags(dir, err.(diag.Diagnostics))
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			if n := strings.Count(got, "\n") + 1; n != len(tt.want) {
				t.Errorf("%d diagnostics, want %d:\n%s", n, len(tt.want), got)
			}
		})
	}
}

func fname(i int) string { return fmt.Sprintf("f%d.yaml", i) }

// A data source declared in a fragment reads its file relative to the
// fragment's directory, and its problems are reported in the fragment.
func TestIncludeData(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		decl     string
		wantPath string // relative to the test's directory
		wantErr  string
	}{
		{"relative to the fragment", "data:\n  signals: {file: data/signals.csv}\n", "shared/data/signals.csv", ""},
		{"missing beside the fragment", "data:\n  signals: {file: signals.csv}\n", "",
			`shared/data.yaml:2:19: data signals: shared/signals.csv: no such file`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := writeTree(t, map[string]string{
				"a.yaml":                  "version: 1\ninclude: [shared/data.yaml]\n" + scen,
				"shared/data.yaml":        tt.decl,
				"shared/data/signals.csv": "symbol,side\nBTC,BUY\n",
				"signals.csv":             "symbol,side\nETH,SELL\n", // beside the plan: not the one meant
			})
			p, err := Load(filepath.Join(dir, "a.yaml"), Options{StepKinds: testKinds, Schema: testSchema, Env: env(nil)})
			if tt.wantErr != "" {
				if err == nil {
					t.Fatal("no error")
				}
				got := relDiags(dir, err.(diag.Diagnostics))
				if !strings.Contains(got, tt.wantErr) {
					t.Fatalf("missing %q in:\n%s", tt.wantErr, got)
				}
				return
			}
			if err != nil {
				t.Fatal(relDiags(dir, err.(diag.Diagnostics)))
			}
			d := p.DataSource("signals")
			if d == nil || d.Path != filepath.Join(dir, filepath.FromSlash(tt.wantPath)) {
				t.Fatalf("data source %+v, want path %s", d, tt.wantPath)
			}
		})
	}
}
