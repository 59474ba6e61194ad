package cli

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runplan/runplan/engine/metrics"
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
