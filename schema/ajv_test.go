package schema_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/cmd/runplan/cli"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/report"
	_ "github.com/runplan/runplan/scenarios/all" // the drivers runplan ships, as in cmd/runplan
	"github.com/runplan/runplan/schema"
)

// ajvDir holds check.js and the npm packages it runs (ajv, ajv-formats),
// installed by ./test.sh with npm ci.
const ajvDir = "testdata/ajv"

// ajvRun is the result of check.js (see its header).
type ajvRun struct {
	Schemas   map[string]string `json:"schemas"`
	Documents []struct {
		Schema string   `json:"schema"`
		Path   string   `json:"path"`
		Errors []string `json:"errors"`
	} `json:"documents"`
}

// ajvDoc is one document of a job and whether Ajv must accept it.
type ajvDoc struct {
	schema, path string
	valid        bool
}

// TestSchemasInAjvStrictMode checks runplan's schemas with an independent
// validator, Ajv (JSON Schema 2020-12) in strict mode with the standard
// formats asserted, as users' tools read them: the plan, plan fragment and
// report schemas compile; every example plan (its ${VAR:-default}
// placeholders resolved to their defaults) and shared fragment is valid;
// real reports are valid, one of them written by a run of this build; and
// plans that `runplan validate` refuses for what the schema can say (two
// kinds in a step, a bad name, a rate of 0, a duration without a unit or
// in ISO 8601) are refused by Ajv too. One node process checks everything.
func TestSchemasInAjvStrictMode(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: run ./test.sh (it installs the Debian packages nodejs and npm)")
	}
	if _, err := os.Stat(filepath.Join(ajvDir, "node_modules", "ajv", "package.json")); err != nil {
		t.Fatalf("%s/node_modules has no ajv: run ./test.sh (it runs npm ci in schema/%s)", ajvDir, ajvDir)
	}
	dir := t.TempDir()
	var docs []ajvDoc

	plans, err := filepath.Glob(filepath.Join("..", "plans", "*.yaml"))
	if err != nil || len(plans) < 10 {
		t.Fatalf("example plans: %v (%d found)", err, len(plans))
	}
	for _, p := range plans {
		docs = append(docs, ajvDoc{"plan", yamlToJSON(t, dir, p, mustRead(t, p)), true})
	}
	frags, err := filepath.Glob(filepath.Join("..", "plans", "shared", "*.yaml"))
	if err != nil || len(frags) == 0 {
		t.Fatalf("shared fragments: %v (%d found)", err, len(frags))
	}
	for _, p := range frags {
		docs = append(docs, ajvDoc{"fragment", yamlToJSON(t, dir, p, mustRead(t, p)), true})
	}
	for name, plan := range refusedPlans {
		docs = append(docs, ajvDoc{"plan", yamlToJSON(t, dir, "refused-"+name+".yaml", []byte(plan)), false})
	}

	// Real reports: the committed samples (made by the binary from
	// plans/quick.yaml and plans/signal-delivery.yaml, kept in sync with
	// the report model by engine/report's tests) and one this build writes.
	for _, f := range []string{"sample.json", "sample-faults.json"} {
		docs = append(docs, ajvDoc{"report", filepath.Join("..", "engine", "report", "testdata", f), true})
	}
	run := realRun(t, dir)
	docs = append(docs, ajvDoc{"report", run, true}, ajvDoc{"report-declared", run, true})
	declared, err := schema.ReportDocFor(metricsOf(t, run))
	if err != nil {
		t.Fatal(err)
	}
	declaredPath := filepath.Join(dir, "report-declared.schema.json")
	if err := os.WriteFile(declaredPath, declared, 0o644); err != nil {
		t.Fatal(err)
	}

	job := map[string]any{
		"schemas": map[string]string{
			"plan":            "plan.schema.json",
			"fragment":        "fragment.schema.json",
			"report":          "report.schema.json",
			"report-declared": declaredPath,
		},
	}
	var list []map[string]string
	for _, d := range docs {
		list = append(list, map[string]string{"schema": d.schema, "path": d.path})
	}
	job["documents"] = list
	jobPath := filepath.Join(dir, "job.json")
	b, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jobPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(node, filepath.Join(ajvDir, "check.js"), jobPath)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node check.js: %v\n%s", err, stderr.String())
	}
	var res ajvRun
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("check.js output: %v\n%s", err, stdout.String())
	}
	for name, msg := range res.Schemas {
		if msg != "" {
			t.Errorf("Ajv (strict) does not compile schema %s: %s", name, msg)
		}
	}
	if len(res.Documents) != len(docs) {
		t.Fatalf("check.js checked %d documents, want %d", len(res.Documents), len(docs))
	}
	for i, got := range res.Documents {
		want := docs[i]
		switch {
		case want.valid && len(got.Errors) > 0:
			t.Errorf("Ajv refuses %s (schema %s):\n  %s", want.path, want.schema, strings.Join(got.Errors, "\n  "))
		case !want.valid && len(got.Errors) == 0:
			t.Errorf("Ajv accepts %s (schema %s), which runplan validate refuses", want.path, want.schema)
		}
	}
}

// refusedPlans break one rule of the plan schema each; runplan validate
// refuses them too (testdata/invalid has most of them with its messages).
var refusedPlans = map[string]string{
	"two-kinds":        planWith(`steps: [{redis: [PING], sleep: 1s}]`),
	"no-kind":          planWith(`steps: [{name: nothing}]`),
	"unknown-step-key": planWith(`steps: [{redis: [PING], expcet: {status: 200}}]`),
	"unknown-kind":     planWith(`steps: [{grpc: {}}]`),
	"step-name":        planWith(`steps: [{name: a-b, redis: [PING]}]`),
	"weight-in-steps":  planWith(`steps: [{redis: [PING], weight: 2}]`),
	"mix-no-weight":    planWith(`mix: [{redis: [PING]}]`),
	"steps-and-mix":    planWith(`steps: [{redis: [PING]}]` + "\n    mix: [{redis: [PING], weight: 1}]"),
	"sleep-target":     planWith(`steps: [{sleep: 1s, target: cache}]`),
	"capture-name":     planWith(`steps: [{redis: [PING], capture: {a-b: reply}}]`),
	"scenario-name":    strings.Replace(planWith(`steps: [{redis: [PING]}]`), "s1:", "my-scenario:", 1),
	"reserved-name":    strings.Replace(planWith(`steps: [{redis: [PING]}]`), "s1:", "run:", 1),
	"driver":           strings.Replace(planWith(`steps: [{redis: [PING]}]`), "driver: redis", "driver: rediss", 1),
	"rate-zero":        strings.Replace(planWith(`steps: [{redis: [PING]}]`), "vus: 1, duration: 1s", "rate: 0/s, duration: 1s", 1),
	"rate-zero-number": strings.Replace(planWith(`steps: [{redis: [PING]}]`), "vus: 1, duration: 1s", "rate: 0, duration: 1s", 1),
	"rate-words":       strings.Replace(planWith(`steps: [{redis: [PING]}]`), "vus: 1, duration: 1s", "rate: 5 per second, duration: 1s", 1),
	"rate-and-vus":     strings.Replace(planWith(`steps: [{redis: [PING]}]`), "vus: 1, duration: 1s", "rate: 5/s, vus: 2, duration: 1s", 1),
	"no-length":        strings.Replace(planWith(`steps: [{redis: [PING]}]`), "vus: 1, duration: 1s", "vus: 1", 1),
	"duration-bare":    planWith(`steps: [{sleep: 5}]`),
	"duration-iso":     planWith(`steps: [{sleep: PT5S}]`),
	"duration-zero":    strings.Replace(planWith(`steps: [{redis: [PING]}]`), "duration: 1s", "duration: 0s", 1),
	"fault-two-kinds":  planWith(`steps: [{redis: [PING]}]`) + "faults: [{name: f, target: cache, at: 1s, down: {}, kill: {}}]\n",
}

// planWith is a valid plan but for the scenario body's last line.
func planWith(steps string) string {
	return "version: 1\ntargets:\n  cache: {driver: redis}\nscenarios:\n  s1:\n    load: {vus: 1, duration: 1s}\n    " + steps + "\n"
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// placeholder is a ${NAME} or ${NAME:-default} reference (docs/PLAN-FORMAT.md).
var placeholder = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// yamlToJSON writes the YAML document data (from file name) as JSON into
// dir, as runplan reads it with no variable set: every placeholder
// resolved to its default (a plain scalar then read again, an empty one
// an empty string), merge keys merged. It returns the JSON file's path.
func yamlToJSON(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var resolve func(n *yaml.Node)
	resolve = func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode && placeholder.MatchString(n.Value) {
			n.Value = placeholder.ReplaceAllStringFunc(n.Value, func(ref string) string {
				m := placeholder.FindStringSubmatch(ref)
				if m[2] == "" {
					t.Fatalf("%s:%d: ${%s} has no default: give the test a value for it", name, n.Line, m[1])
				}
				return m[3]
			})
			switch { // as runplan resolves it (engine/plan, interpolate)
			case n.Value == "":
				n.Tag = "!!str" // an empty value is an empty string, not null
			case n.Style == 0:
				n.Tag = "" // read the value again: ${N:-10} is the number 10
			}
		}
		for _, c := range n.Content {
			resolve(c)
		}
	}
	resolve(&doc)
	var v any
	if err := doc.Decode(&v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s as JSON: %v", name, err)
	}
	out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))+".json")
	if _, err := os.Stat(out); err == nil {
		t.Fatalf("%s: two documents named %s", name, out)
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// realRunPlan runs in about a second on in-process targets: the embedded
// Discord-compatible sink, with a fault on it, and think time.
const realRunPlan = `version: 1
name: ajv-real-run
seed: 7
targets:
  hook: {driver: webhook, flavor: discord, sink: {rate_limit: "off"}}
scenarios:
  deliver:
    load: {rate: 20/s, duration: 1s, max_vus: 20}
    steps:
      - webhook: {json: {content: "signal {{ iteration }}"}}
      - sleep: 1ms
faults:
  - {name: sink_errors, target: hook, at: 300ms, for: 300ms, http: {status: 503}}
checks:
  - name: delivered
    expr: deliver.success_rate > 0.5
`

// realRun runs realRunPlan with this build's runplan and returns the
// path of its JSON report.
func realRun(t *testing.T, dir string) string {
	t.Helper()
	plan := filepath.Join(dir, "real-run.yaml")
	if err := os.WriteFile(plan, []byte(realRunPlan), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "real-run.report.json")
	var stdout, stderr bytes.Buffer
	code := cli.Main([]string{"run", plan, "--out", out, "--no-progress"}, &stdout, &stderr)
	// Any verdict will do, an invalid measurement (a busy machine) too:
	// the report is what is checked.
	if code != cli.ExitOK && code != cli.ExitChecks && code != cli.ExitInvalid {
		t.Fatalf("runplan run: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("runplan run wrote no report: %v\n%s", err, stderr.String())
	}
	return out
}

// metricsOf returns the step metrics the drivers of a report's targets
// declare, as runplan validates the report (engine/report.ValidateJSON).
func metricsOf(t *testing.T, path string) []schema.Metric {
	t.Helper()
	var r struct {
		Targets []struct {
			Driver string `json:"driver"`
		} `json:"targets"`
	}
	if err := json.Unmarshal(mustRead(t, path), &r); err != nil {
		t.Fatal(err)
	}
	var ms []schema.Metric
	for _, tg := range r.Targets {
		d, err := driver.Lookup(tg.Driver)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range driver.StepMetricsOf(d) {
			if !slices.ContainsFunc(ms, func(x schema.Metric) bool { return x.Name == m.Name }) {
				ms = append(ms, report.SchemaMetric(m))
			}
		}
	}
	if len(ms) == 0 {
		t.Fatalf("%s: its targets' drivers declare no step metric", path)
	}
	return ms
}
