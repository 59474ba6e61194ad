package cli

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/metrics"
	"github.com/runplan/runplan/engine/plan"
	"github.com/runplan/runplan/engine/report"
)

// asSegment rewrites the report at path as segment index of count of run
// "shared": two real runs of one plan stand for two segments of one.
func asSegment(t *testing.T, path string, index, count int) *report.Report {
	t.Helper()
	m := readReport(t, path)
	m["segment"] = map[string]any{"index": index, "count": count}
	m["run_id"] = "shared"
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var r report.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// TestMergeCommand merges the reports of two real runs of a plan on an
// embedded Redis: counts sum, and the merged percentiles are those of the
// two runs' histograms merged.
func TestMergeCommand(t *testing.T) {
	t.Parallel()
	plan := lookupPlan(t, false)
	dir := t.TempDir()
	var segs []*report.Report
	for i := range 2 {
		out := filepath.Join(dir, []string{"a.json", "b.json"}[i])
		if code, _, stderr := runMain(t, "run", plan, "--out", out, "--seed", "7"); code != ExitOK {
			t.Fatalf("run %d: exit %d: %s", i, code, stderr)
		}
		segs = append(segs, asSegment(t, out, i, 2))
	}
	merged := filepath.Join(dir, "merged.json")
	junit, md, html := filepath.Join(dir, "m.xml"), filepath.Join(dir, "m.md"), filepath.Join(dir, "m.html")
	code, stdout, stderr := runMain(t, "merge", filepath.Join(dir, "b.json"), filepath.Join(dir, "a.json"),
		"--out", merged, "--junit", junit, "--markdown", md, "--html", html, "--color", "never")
	if code != ExitOK {
		t.Fatalf("merge: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "merged from 2 segments") {
		t.Errorf("console output does not say it was merged:\n%s", stdout)
	}
	validateReportFile(t, merged)
	for _, p := range []string{junit, md, html} {
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Errorf("%s not written: %v", p, err)
		}
	}
	loaded, err := loadReport(merged)
	if err != nil {
		t.Fatal(err)
	}
	m := loaded.rep
	if m.Segments != 2 {
		t.Errorf("segments %d, want 2", m.Segments)
	}
	got, a, b := m.Scenarios[0], segs[0].Scenarios[0], segs[1].Scenarios[0]
	if got.Count != a.Count+b.Count || got.Outcomes.Due != a.Outcomes.Due+b.Outcomes.Due || got.Steps[0].Count != a.Steps[0].Count+b.Steps[0].Count {
		t.Errorf("count %d due %d, want %d and %d", got.Count, got.Outcomes.Due, a.Count+b.Count, a.Outcomes.Due+b.Outcomes.Due)
	}
	ha, err := metrics.Decode(a.Histogram)
	if err != nil {
		t.Fatal(err)
	}
	hb, err := metrics.Decode(b.Histogram)
	if err != nil {
		t.Fatal(err)
	}
	ha.Merge(hb)
	want := metrics.Summarize(ha)
	if got.Latency.P99 != roundMS(int64(want.P99)) || got.Latency.P50 != roundMS(int64(want.P50)) {
		t.Errorf("merged p99 %v ms, want %v", got.Latency.P99, want.P99)
	}
	if got.Latency.Max != max(a.Latency.Max, b.Latency.Max) {
		t.Errorf("merged max %v, want the larger of %v and %v", got.Latency.Max, a.Latency.Max, b.Latency.Max)
	}
}

// roundMS is ns in milliseconds, rounded to 3 decimals as reports are.
func roundMS(ns int64) float64 { return math.Round(float64(ns)/1e3) / 1e3 }

func TestMergeCommandRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "a.json")
	if code, _, stderr := runMain(t, "run", lookupPlan(t, false), "--out", out); code != ExitOK {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	whole := filepath.Join(dir, "whole.json")
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(whole, b, 0o644); err != nil {
		t.Fatal(err)
	}
	asSegment(t, out, 0, 2)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"duplicated", []string{out, out}, "merge: segment 0/2 given twice (report 2)"},
		{"missing", []string{out}, "merge: segment(s) 1 of 2 missing"},
		{"whole run", []string{whole}, "not a segment's report"},
		{"no reports", nil, "give the segments' JSON reports"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runMain(t, append([]string{"merge"}, c.args...)...)
			if code != ExitUsage || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q: want %d and %q", code, stderr, ExitUsage, c.want)
			}
		})
	}
}

// ratePlan is an open-model plan of 50 lookups on an embedded Redis: one
// check passes on each run's 50 due and fails on two runs' 100 merged, the
// other the reverse.
func ratePlan(t *testing.T) string {
	t.Helper()
	p := `version: 1
name: merge-rescore
seed: 1
targets:
  cache: {driver: redis}
scenarios:
  lookups:
    load: {rate: 50/s, duration: 1s, max_vus: 8}
    steps:
      - name: get
        redis:
          cache_get: {key: "k:{{ uniform(5) }}", on_miss: {value_size: 8}}
checks:
  - {name: one_segment, expr: "lookups.due <= 75"}
  - {name: whole_run, expr: "lookups.due > 75"}
`
	path := filepath.Join(t.TempDir(), "plan.yaml")
	if err := os.WriteFile(path, []byte(p), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestMergeReevaluatesChecks: the checks are evaluated on the merged
// figures, not taken from the segments; and evaluating a segment's own
// figures again (Summary) gives back its checks exactly.
func TestMergeReevaluatesChecks(t *testing.T) {
	t.Parallel()
	plan := ratePlan(t)
	dir := t.TempDir()
	var paths []string
	var due int64
	for i := range 2 {
		out := filepath.Join(dir, []string{"a.json", "b.json"}[i])
		code, _, stderr := runMain(t, "run", plan, "--out", out)
		seg := asSegment(t, out, i, 2)
		// A loaded machine (the race detector) may make a run invalid:
		// the checks are evaluated all the same.
		if want := exitFor(seg); code != want {
			t.Fatalf("run %d: exit %d, want %d (whole_run fails on one segment): %s", i, code, want, stderr)
		}
		due += seg.Scenarios[0].Outcomes.Due
		if !seg.Checks[0].Passed || seg.Checks[1].Passed {
			t.Fatalf("segment %d checks %+v: want one_segment passed, whole_run failed", i, seg.Checks)
		}
		// Summary gives back what the run evaluated.
		again := *asSegment(t, out, i, 2) // a copy of its own
		again.Checks, again.Score, again.Verdict = nil, nil, ""
		for j := range again.Scenarios {
			again.Scenarios[j].HitRatios = nil
		}
		prog, diags := engine.Load(plan, plan0Options(), engine.Options{})
		if prog == nil {
			t.Fatal(diags)
		}
		if err := prog.Rescore(&again); err != nil {
			t.Fatal(err)
		}
		// Compared as JSON: a value read back is a float64, an evaluated count an int.
		if jsonOf(t, again.Checks) != jsonOf(t, seg.Checks) || again.Verdict != seg.Verdict || !reflect.DeepEqual(again.Score, seg.Score) {
			t.Errorf("segment %d evaluated again: %+v %s %v, want %+v %s %v", i, again.Checks, again.Verdict, again.Score,
				seg.Checks, seg.Verdict, seg.Score)
		}
		if got, want := jsonOf(t, again.Scenarios[0].HitRatios), jsonOf(t, seg.Scenarios[0].HitRatios); got != want || want == "null" {
			t.Errorf("segment %d hit ratios again %s, want %s (not null)", i, got, want)
		}
		paths = append(paths, out)
	}
	merged := filepath.Join(dir, "merged.json")
	code, stdout, stderr := runMain(t, "merge", paths[0], paths[1], "--out", merged, "--color", "never")
	loaded, err := loadReport(merged)
	if err != nil {
		t.Fatalf("merge: exit %d: %v: %s\n%s", code, err, stderr, stdout)
	}
	if want := exitFor(loaded.rep); code != want {
		t.Fatalf("merge: exit %d, want %d (one_segment fails on the merged figures): %s\n%s", code, want, stderr, stdout)
	}
	c := loaded.rep.Checks
	if len(c) != 2 || c[0].Passed || !c[1].Passed || c[0].Value != float64(due) || due != 100 {
		t.Errorf("merged checks %+v: want one_segment failed on 200 due, whole_run passed", c)
	}
	if hr := loaded.rep.Scenarios[0].HitRatios; len(hr) < 2 || hr[0].Source != "client" {
		t.Errorf("merged hit ratios %+v: want the client's beside the server's", hr)
	}
	// Another plan's file is refused.
	other := lookupPlan(t, false)
	code, _, stderr = runMain(t, "merge", paths[0], paths[1], "--plan", other)
	if code != ExitUsage || !strings.Contains(stderr, "the report is of another plan") {
		t.Errorf("merge --plan of another plan: exit %d, %q", code, stderr)
	}
}

func plan0Options() plan.Options { return plan.Options{} }

// exitFor is the exit status of a report whose checks do not all pass.
func exitFor(r *report.Report) int {
	if r.Invalid() {
		return ExitInvalid
	}
	return ExitChecks
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestMergeRealSegments runs the two segments of a plan (--segment I/2,
// one --run-id) and merges them: the merged schedule is the plan's, and a
// check reads the merged figure.
func TestMergeRealSegments(t *testing.T) {
	t.Parallel()
	plan := ratePlan(t) // 50 due over the whole plan
	dir := t.TempDir()
	var paths []string
	var dues []int64
	for i := range 2 {
		out := filepath.Join(dir, fmt.Sprintf("seg-%d.json", i))
		code, _, stderr := runMain(t, "run", plan, "--segment", fmt.Sprintf("%d/2", i), "--run-id", "merge-e2e", "--out", out)
		loaded, err := loadReport(out)
		if err != nil {
			t.Fatalf("segment %d: exit %d: %v: %s", i, code, err, stderr)
		}
		if s := loaded.rep.Segment; s == nil || s.Index != i || s.Count != 2 || loaded.rep.RunID != "merge-e2e" {
			t.Fatalf("segment %d report: segment %+v, run id %q", i, s, loaded.rep.RunID)
		}
		dues = append(dues, loaded.rep.Scenarios[0].Outcomes.Due)
		paths = append(paths, out)
	}
	merged := filepath.Join(dir, "merged.json")
	code, stdout, stderr := runMain(t, "merge", paths[1], paths[0], "--out", merged, "--color", "never")
	loaded, err := loadReport(merged)
	if err != nil {
		t.Fatalf("merge: exit %d: %v: %s\n%s", code, err, stderr, stdout)
	}
	m := loaded.rep
	if due := m.Scenarios[0].Outcomes.Due; due != 50 || dues[0]+dues[1] != 50 || dues[0] == 50 {
		t.Errorf("merged due %d of segments' %v: want the plan's 50, dealt out", due, dues)
	}
	if m.Segments != 2 || len(m.Checks) != 2 || m.Checks[0].Value != float64(50) {
		t.Errorf("segments %d, checks %+v: want 2 segments and checks on the merged due 50", m.Segments, m.Checks)
	}
}
