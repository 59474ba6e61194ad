package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/schema"
)

// Every stage's diagnostics about what a fragment holds name the fragment
// and the line there: the loader's, the schema's, the drivers' Configure
// and Prepare, and the checks' and recommendations' expressions.
func TestValidateIncludedFragments(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"plan.yaml": `version: 1
include: [shared/targets.yaml, shared/more.yaml]
scenarios:
  s1:
    load: {vus: 1, iterations: 1}
    steps:
      - redis: [GET, k]
        target: cache
`,
		"shared/targets.yaml": `targets:
  cache:
    driver: redis
    url: redis://127.0.0.1:1/0
    retries: {min_backoff: 2s, max_backoff: 1s}
  slow:
    driver: redis
    timeout: -1s
  hook:
    driver: webhook
    url: http://127.0.0.1:1/hook
`,
		"shared/more.yaml": `scenarios:
  s2:
    load: {vus: 1, iterations: 1}
    steps:
      - redis: [GET, "{{ nope }}"]
        target: cache
      - webhook: {json: {n: "{{ uniform( }}"}}
checks:
  - name: fast
    expr: s2.latency.p99 < ms(100) &&
recommendations:
  - when: s9.success_rate < 0.9
    say: low
`,
	}
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
	code, stdout, stderr := runMain(t, "validate", filepath.Join(dir, "plan.yaml"))
	if code != ExitUsage || stdout != "" {
		t.Fatalf("exit %d, stdout %q, want %d and nothing", code, stdout, ExitUsage)
	}
	got := strings.ReplaceAll(stderr, dir+string(filepath.Separator), "")
	want := []string{
		"shared/more.yaml:5:26: redis: GET argument 1: template \"{{ nope }}\": unknown name nope",
		"shared/more.yaml:7:40: webhook: template \"{{ uniform( }}\":",
		"shared/more.yaml:10:37: check fast: incomplete expression",
		"shared/more.yaml:12:11: recommendation when: unknown name s9",
		"shared/targets.yaml:5:14: redis: retries: min_backoff 2s is more than max_backoff 1s",
		"shared/targets.yaml:8:14: targets.slow.timeout: invalid duration \"-1s\": must not be negative",
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
	if n := strings.Count(strings.TrimSpace(got), "\n") + 1; n != len(want) {
		t.Errorf("%d diagnostics, want %d:\n%s", n, len(want), got)
	}
	if strings.Contains(got, "plan.yaml:") {
		t.Errorf("a problem in a fragment is placed in the plan:\n%s", got)
	}

	// A fragment alone is said to be one.
	code, _, stderr = runMain(t, "validate", filepath.Join(dir, "shared", "targets.yaml"))
	if code != ExitUsage || !strings.Contains(stderr, "targets.yaml:1:1: this file has no version and holds only what a fragment holds") {
		t.Errorf("validate a fragment: exit %d\n%s", code, stderr)
	}
}

// schema/fragment.schema.json is the fragment schema derived from what
// `runplan schema` prints, generated; the example fragments fit it, and a
// fragment with a plan's key does not.
func TestFragmentSchema(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if code := Main([]string{"schema"}, &out, &errOut); code != ExitOK {
		t.Fatalf("runplan schema: exit %d: %s", code, errOut.String())
	}
	doc, err := schema.PlanFragment(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join("..", "..", "..", "schema", "fragment.schema.json")
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(doc, want) {
		t.Fatalf("%s differs from the fragment schema of `runplan schema`: run `go generate ./...` and commit the file", file)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(schema.PlanFragmentURL, inst); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(schema.PlanFragmentURL)
	if err != nil {
		t.Fatal(err)
	}
	asJSON := func(src []byte) any {
		var v any
		if err := yaml.Unmarshal(src, &v); err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		j, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	frags, _ := filepath.Glob(filepath.Join("..", "..", "..", "plans", "shared", "*.yaml"))
	if len(frags) == 0 {
		t.Fatal("no example fragments in plans/shared")
	}
	for _, f := range frags {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(asJSON(src)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if err := sch.Validate(asJSON([]byte("version: 1\ntargets: {}\n"))); err == nil {
		t.Error("a fragment with version fits the fragment schema")
	}
}
