package report

import (
	"bytes"
	"strings"
	"testing"
)

// TestTrend: five nightly runs, given out of order, come out oldest first,
// with each check's value per run and its movement from first to last.
func TestTrend(t *testing.T) {
	t.Parallel()
	tr := NewTrend(trendFixture())
	if len(tr.Runs) != 5 {
		t.Fatalf("%d runs, want 5", len(tr.Runs))
	}
	for i := 1; i < len(tr.Runs); i++ {
		if !tr.Runs[i].Started.After(tr.Runs[i-1].Started) {
			t.Errorf("run %d (%s) is not after run %d (%s)", i, tr.Runs[i].Started, i-1, tr.Runs[i-1].Started)
		}
	}
	if len(tr.Checks) != 7 || tr.Checks[2].Name != "delivery_time" {
		t.Errorf("checks %+v", tr.Checks)
	}
	var b bytes.Buffer
	if err := WriteTrendMarkdown(&b, tr); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	tests := []struct{ name, want string }{
		{"heading", "### runplan trend · phase1-fixture · 5 runs"},
		{"first run first", "| 2026-01-02 03:04 | `20260102T030405-night` |"},
		{"score and verdict movement", "score 50.9 → 28.2 (-22.7) · verdict not ready → not ready"},
		{"the drifting check fails last", "**✗ 532ms**"},
		{"its movement", "| -22.7 | ±0% | ±0% | +42.9% |"},
	}
	for _, tt := range tests {
		if !strings.Contains(md, tt.want) {
			t.Errorf("%s: lacks %q:\n%s", tt.name, tt.want, md)
		}
	}
	if rows := strings.Count(md, "-night` |"); rows != 5 {
		t.Errorf("%d run rows, want 5", rows)
	}

	charts := trendCharts(tr)
	if len(charts) != 6 { // score + five checks with a numeric value (queue_depth errored)
		t.Errorf("%d trend charts, want 6", len(charts))
	}
	for _, c := range charts {
		if len(c.X) != 5 || c.Kind != "date" {
			t.Errorf("chart %s: %d points of kind %s", c.ID, len(c.X), c.Kind)
		}
	}
}

func TestTrendEdgeCases(t *testing.T) {
	t.Parallel()
	one := buildFixture(fixtureOptions{})
	other := buildFixture(fixtureOptions{started: fixtureStart.Add(-48 * 3600e9)})
	other.Plan.Name = "another-plan"
	other.Checks = other.Checks[:1]
	tests := []struct {
		name    string
		reports []*Report
		want    []string
	}{
		{"no reports", nil, []string{"· 0 runs"}},
		{"one report has no change row", []*Report{one}, []string{"· 1 run\n"}},
		{"two plans get a plan column", []*Report{one, other}, []string{"· 2 plans ·", "| plan |", "| another-plan |", "| – |"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			tr := NewTrend(tt.reports)
			if err := WriteTrendMarkdown(&b, tr); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("lacks %q:\n%s", w, b.String())
				}
			}
			if strings.Contains(b.String(), "**change**") != (len(tt.reports) > 1) {
				t.Errorf("change row present with %d reports:\n%s", len(tt.reports), b.String())
			}
			b.Reset()
			if err := WriteTrendHTML(&b, tr); err != nil {
				t.Fatal(err)
			}
		})
	}
}
