package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/runplan/runplan/engine/report"
	"github.com/runplan/runplan/schema"
)

const (
	sampleReport = "../../../engine/report/testdata/sample.json"
	faultsReport = "../../../engine/report/testdata/sample-faults.json"
	junitXSD     = "../../../engine/report/testdata/junit.xsd"
)

// lookupPlan is a short plan on an embedded Redis; with slow set, every
// reply is delayed 20 ms by a network latency fault for the whole run.
func lookupPlan(t *testing.T, slow bool) string {
	t.Helper()
	p := `version: 1
name: compare-lookups
seed: 1
targets:
  cache: {driver: redis}
scenarios:
  lookups:
    load: {vus: 4, duration: 2s}
    steps:
      - name: get
        redis: [GET, "k:{{ uniform(10) }}"]
checks:
  - {name: served, expr: "lookups.success_rate > 0.5"}
`
	if slow {
		p += `faults:
  - name: slow_cache
    target: cache
    at: 0s
    latency: {delay: 20ms}
`
	}
	path := filepath.Join(t.TempDir(), "plan.yaml")
	if err := os.WriteFile(path, []byte(p), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func validateReportFile(t *testing.T, path string) {
	t.Helper()
	sch, err := schema.Report()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Errorf("%s does not validate against the report schema:\n%v", path, err)
	}
}

// TestRunWritesEveryFormat runs a plan with --out, --junit, --markdown and
// --html: the JSON validates against the report schema, the JUnit XML
// against the XSD, and the Markdown is appended to $GITHUB_STEP_SUMMARY.
// Not parallel: it sets an environment variable.
func TestRunWritesEveryFormat(t *testing.T) {
	lint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint is not installed (Debian's libxml2-utils): the JUnit XML cannot be validated")
	}
	dir := t.TempDir()
	summary := filepath.Join(dir, "summary.md")
	if err := os.WriteFile(summary, []byte("# earlier step\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(stepSummaryEnv, summary)
	files := map[string]string{}
	for _, f := range []string{"out", "junit", "markdown", "html"} {
		files[f] = filepath.Join(dir, "report."+f)
	}
	code, stdout, stderr := runMain(t, "run", lookupPlan(t, false), "--no-progress", "--log-level", "warn",
		"--out", files["out"], "--junit", files["junit"], "--markdown", files["markdown"], "--html", files["html"])
	if code != ExitOK && code != ExitChecks {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	validateReportFile(t, files["out"])
	if out, err := exec.Command(lint, "--noout", "--schema", junitXSD, files["junit"]).CombinedOutput(); err != nil {
		t.Errorf("JUnit XML does not validate: %v\n%s", err, out)
	}
	md, err := os.ReadFile(files["markdown"])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(md, []byte("runplan · compare-lookups")) || !bytes.Contains(md, []byte("| ✓ | served |")) {
		t.Errorf("markdown:\n%s", md)
	}
	got, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	if want := "# earlier step\n" + string(md) + "\n"; string(got) != want {
		t.Errorf("$GITHUB_STEP_SUMMARY is\n%s\nwant the earlier content and the markdown appended", got)
	}
	html, err := os.ReadFile(files["html"])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(html, []byte(`data-charts-expected="3"`)) {
		t.Errorf("html report lacks its 3 charts (throughput, latency, distribution)")
	}
	for _, f := range files {
		matches, _ := filepath.Glob(filepath.Join(dir, "."+filepath.Base(f)+".*.tmp"))
		if len(matches) > 0 {
			t.Errorf("temporary files left: %v", matches)
		}
	}
}

// TestCompareFlagsInjectedLatency runs the same plan twice, the second time
// with 20 ms of latency injected into the Redis connection: compare flags
// the p99 regression and exits 1; the first run against itself exits 0.
func TestCompareFlagsInjectedLatency(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base, slow := filepath.Join(dir, "base.json"), filepath.Join(dir, "slow.json")
	for _, run := range []struct {
		out  string
		slow bool
	}{{base, false}, {slow, true}} {
		code, stdout, stderr := runMain(t, "run", lookupPlan(t, run.slow), "--no-progress", "--log-level", "warn", "--out", run.out)
		if code != ExitOK && code != ExitChecks {
			t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
		}
	}
	code, stdout, stderr := runMain(t, "compare", base, slow, "--color", "never")
	if code != ExitChecks {
		t.Fatalf("compare exit %d, want 1 (a regression)\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"REGRESSIONS", "lookups › get p99:", "lookups p99:"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("compare output lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = runMain(t, "compare", base, slow, "--format", "markdown")
	if code != ExitChecks || !strings.Contains(stdout, "### ❌ runplan compare · compare-lookups") {
		t.Errorf("markdown compare: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = runMain(t, "compare", base, base)
	if code != ExitOK || !strings.Contains(stdout, "no regression") {
		t.Errorf("compare with itself: exit %d\n%s", code, stdout)
	}
	// A tolerance wide enough for 20 ms lets the slow run through.
	code, stdout, _ = runMain(t, "compare", base, slow, "--tolerance", "p50=off,p95=off,p99=off,rate=off")
	if code != ExitOK {
		t.Errorf("compare with latency tolerances off: exit %d\n%s", code, stdout)
	}
}

func TestReportCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notReport := filepath.Join(dir, "other.json")
	if err := os.WriteFile(notReport, []byte(`{"name": "package"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	newer := filepath.Join(dir, "newer.json")
	b, err := os.ReadFile(sampleReport)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(newer, bytes.Replace(b, []byte(`"report_version": 1`), []byte(`"report_version": 2`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	// RFC 3339 as the report schema accepts it, not only as runplan
	// writes it: lower-case t and z, an offset.
	lower := filepath.Join(dir, "lower.json")
	b = bytes.Replace(b, []byte(`"started_at": "2026-12-01T21:48:58.592227901Z"`), []byte(`"started_at": "2026-12-01t22:48:58.592227901+01:00"`), 1)
	b = bytes.Replace(b, []byte(`"ended_at": "2026-12-01T21:49:07.669267523Z"`), []byte(`"ended_at": "2026-12-01t21:49:07.669267523z"`), 1)
	if !bytes.Contains(b, []byte(`t22:48:58.592227901+01:00"`)) || !bytes.Contains(b, []byte(`t21:49:07.669267523z"`)) {
		t.Fatal("sample.json's started_at or ended_at changed: update this test")
	}
	if err := os.WriteFile(lower, b, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     string
		stderr     string
		outFile    string // with --out: the file holds stdout's want
		outContain string
	}{
		{"console by default", []string{sampleReport, "--color", "never"}, ExitOK, "SCORE", "", "", ""},
		{"lower-case t and z, an offset", []string{lower, "--format", "junit"}, ExitOK, `timestamp="2026-12-01T21:48:58`, "", "", ""},
		{"console in colour", []string{sampleReport, "--color", "always"}, ExitOK, "\x1b[", "", "", ""},
		{"junit", []string{sampleReport, "--format", "junit"}, ExitOK, "<testsuites", "", "", ""},
		{"markdown", []string{sampleReport, "--format", "markdown"}, ExitOK, "### ", "", "", ""},
		{"html to a file", []string{faultsReport, "--format", "html", "--out", "report.html"}, ExitOK, "", "", "report.html", "data-charts-expected"},
		{"flags before the file", []string{"--format", "junit", sampleReport}, ExitOK, "<testcase", "", "", ""},
		{"unknown format", []string{sampleReport, "--format", "pdf"}, ExitUsage, "", `--format "pdf"`, "", ""},
		{"no file", nil, ExitUsage, "", "give exactly one JSON report", "", ""},
		{"missing file", []string{filepath.Join(dir, "missing.json")}, ExitUsage, "", "no such file", "", ""},
		{"not a report", []string{notReport}, ExitUsage, "", "not a runplan report", "", ""},
		{"newer version", []string{newer}, ExitUsage, "", "newer than this runplan reads", "", ""},
		{"bad colour", []string{sampleReport, "--color", "pink"}, ExitUsage, "", `--color "pink"`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"report"}, tt.args...)
			var out string
			if tt.outFile != "" {
				out = filepath.Join(t.TempDir(), tt.outFile)
				for i, a := range args {
					if a == tt.outFile {
						args[i] = out
					}
				}
			}
			code, stdout, stderr := runMain(t, args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stdout %q lacks %q or stderr %q lacks %q", clipOut(stdout), tt.stdout, stderr, tt.stderr)
			}
			if out != "" {
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Contains(b, []byte(tt.outContain)) {
					t.Errorf("%s lacks %q", out, tt.outContain)
				}
			}
		})
	}
}

func clipOut(s string) string {
	if len(s) > 400 {
		return s[:400] + "…"
	}
	return s
}

func TestCompareCommandUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"one report", []string{sampleReport}, "give a base report and a new report"},
		{"bad tolerance", []string{sampleReport, sampleReport, "--tolerance", "p99=fast"}, "bad tolerance"},
		{"unknown figure", []string{sampleReport, sampleReport, "--tolerance", "speed=1%"}, "unknown figure"},
		{"bad format", []string{sampleReport, sampleReport, "--format", "html"}, `--format "html"`},
		{"not a report", []string{sampleReport, junitXSD}, "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runMain(t, append([]string{"compare"}, tt.args...)...)
			if code != ExitUsage || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.stderr)
			}
		})
	}
}

// TestTrendCommand: five reports in a folder (with a file that is not a
// report, skipped) give a Markdown table of five runs and an HTML page.
func TestTrendCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base, err := report.Read(sampleReport)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		r := *base
		r.RunID = "night-" + string(rune('a'+i))
		r.StartedAt = base.StartedAt.AddDate(0, 0, i)
		r.EndedAt = base.EndedAt.AddDate(0, 0, i)
		score := 100 - 10*float64(i)
		r.Score = &score
		path := filepath.Join(dir, "run-"+string(rune('a'+i))+".json")
		if err := report.WriteFileAtomic(path, func(w io.Writer) error { return report.WriteJSON(w, &r) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name": "x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runMain(t, "trend", dir)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if n := strings.Count(stdout, "`night-"); n != 5 {
		t.Errorf("%d runs in the table, want 5:\n%s", n, stdout)
	}
	if !strings.Contains(stdout, "score 100.0 → 60.0 (-40.0)") || !strings.Contains(stderr, "skipping") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	out := filepath.Join(t.TempDir(), "trend.html")
	if code, _, stderr := runMain(t, "trend", dir, "--format", "html", "--out", out); code != ExitOK {
		t.Fatalf("html: exit %d\n%s", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("runplan trend")) || !bytes.Contains(b, []byte(`id="chart-trend-score"`)) {
		t.Errorf("trend html lacks its score chart")
	}
	for _, bad := range [][]string{{"trend"}, {"trend", filepath.Join(dir, "none")}, {"trend", dir, "--format", "pdf"},
		{"trend", t.TempDir()}} {
		if code, _, _ := runMain(t, bad...); code != ExitUsage {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
}

// writeVariant writes the sample report, edited, to dir/name.
func writeVariant(t *testing.T, dir, name string, edit func(r *report.Report)) string {
	t.Helper()
	r, err := report.Read(sampleReport)
	if err != nil {
		t.Fatal(err)
	}
	edit(r)
	path := filepath.Join(dir, name)
	if err := report.WriteFileAtomic(path, func(w io.Writer) error { return report.WriteJSON(w, r) }); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCompareCommandPlansAndExitCodes: reports of different plans are
// refused without --force, naming both plans; the exit code is 1 on a
// regression (a new run invalid or partial after a trusted base is one),
// 4 when neither run can be trusted, 0 otherwise.
func TestCompareCommandPlansAndExitCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base := writeVariant(t, dir, "base.json", func(*report.Report) {})
	edited := writeVariant(t, dir, "edited.json", func(r *report.Report) { r.Plan.Digest = strings.Repeat("e", 64) })
	other := writeVariant(t, dir, "other.json", func(r *report.Report) { r.Plan.Name = "webhook-errors" })
	invalid := writeVariant(t, dir, "invalid.json", func(r *report.Report) { r.Valid, r.Verdict = false, "invalid" })
	partial := writeVariant(t, dir, "partial.json", func(r *report.Report) { r.Partial = true })
	name, err := report.Read(sampleReport)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr []string
	}{
		{"same plan", []string{base, base}, ExitOK, []string{"no regression beyond tolerance"}, nil},
		{"the plan edited", []string{base, edited}, ExitOK, []string{"note: the plan changed between the runs"}, nil},
		{"different plans refused", []string{base, other}, ExitUsage, nil,
			[]string{`is of plan "` + name.Plan.Name + `"`, `of plan "webhook-errors"`, "pass --force to compare them anyway"}},
		{"different plans forced", []string{base, other, "--force"}, ExitOK, []string{"different plans compared (--force)"}, nil},
		{"new run invalid", []string{base, invalid}, ExitChecks, []string{"validity: the base run is valid and complete; the new run is invalid"}, nil},
		{"new run partial", []string{base, partial, "--format", "markdown"}, ExitChecks, []string{"### ❌", "the new run is partial"}, nil},
		{"neither trusted", []string{invalid, partial}, ExitInvalid, []string{"not judged: the new run is partial, and the base run is invalid"}, nil},
		{"base untrusted, new fine", []string{invalid, base}, ExitOK, []string{"IMPROVEMENTS", "no regression beyond tolerance"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runMain(t, append([]string{"compare", "--color", "never"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// TestTrendCommandMixedPlans: a folder of two plans' reports gives one
// table and one score chart per plan, whatever the files' order.
func TestTrendCommandMixedPlans(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for i, plan := range []string{"zz-plan", "aa-plan", "zz-plan", "aa-plan", "zz-plan"} {
		writeVariant(t, dir, fmt.Sprintf("run-%d.json", i), func(r *report.Report) {
			r.Plan.Name = plan
			r.RunID = fmt.Sprintf("%s-%d", plan, i)
			r.StartedAt = r.StartedAt.AddDate(0, 0, i)
		})
	}
	code, stdout, stderr := runMain(t, "trend", dir)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	a, z := strings.Index(stdout, "#### aa-plan · 2 runs"), strings.Index(stdout, "#### zz-plan · 3 runs")
	if a < 0 || z < a || strings.Count(stdout, "| started | run |") != 2 {
		t.Fatalf("want a table for aa-plan then one for zz-plan:\n%s", stdout)
	}
	if strings.Contains(stdout[a:z], "zz-plan-") || strings.Contains(stdout[z:], "aa-plan-") {
		t.Errorf("a run in another plan's table:\n%s", stdout)
	}
	out := filepath.Join(t.TempDir(), "trend.html")
	if code, _, stderr := runMain(t, "trend", dir, "--format", "html", "--out", out); code != ExitOK {
		t.Fatalf("html: exit %d\n%s", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{`id="chart-p0-trend-score"`, `id="chart-p1-trend-score"`, "<h2>aa-plan</h2>", "<h2>zz-plan</h2>"} {
		if !bytes.Contains(b, []byte(id)) {
			t.Errorf("trend html lacks %s", id)
		}
	}
}
