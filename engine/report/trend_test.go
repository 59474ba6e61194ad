package report

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTrend: five nightly runs, given out of order, come out oldest first,
// with each check's value per run and its movement from first to last.
func TestTrend(t *testing.T) {
	t.Parallel()
	trend := NewTrend(trendFixture(t))
	if len(trend.Plans) != 1 || len(trend.Plans[0].Runs) != 5 {
		t.Fatalf("%+v: want one plan of 5 runs", trend.Plans)
	}
	tr := trend.Plans[0]
	for i := 1; i < len(tr.Runs); i++ {
		if !tr.Runs[i].Started.After(tr.Runs[i-1].Started) {
			t.Errorf("run %d (%s) is not after run %d (%s)", i, tr.Runs[i].Started, i-1, tr.Runs[i-1].Started)
		}
	}
	if len(tr.Checks) != 7 || tr.Checks[2].Name != "delivery_time" {
		t.Errorf("checks %+v", tr.Checks)
	}
	var b bytes.Buffer
	if err := WriteTrendMarkdown(&b, trend); err != nil {
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

	charts := trendCharts(tr, "")
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
		{"two plans get a table each", []*Report{one, other}, []string{"· 2 plans · 2 runs", "#### another-plan · 1 run", "#### phase1-fixture · 1 run"}},
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
			if strings.Contains(b.String(), "**change**") {
				t.Errorf("change row present with %d reports:\n%s", len(tt.reports), b.String())
			}
			b.Reset()
			if err := WriteTrendHTML(&b, tr); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// mixedPlans is three plans' reports, interleaved: the fixture's five
// nightly runs, two of another plan with other checks, and one of a plan
// without a name (known by its file's name).
func mixedPlans(t testing.TB) []*Report {
	rs := trendFixture(t)
	for i := 0; i < 2; i++ {
		r := fixture(t, fixtureOptions{extra: time.Duration(i) * 100 * time.Millisecond})
		r.StartedAt = fixtureStart.Add(time.Duration(i)*24*time.Hour + time.Hour)
		r.Plan.Name, r.Plan.Path = "another-plan", "plans/another.yaml"
		r.RunID = "2026010" + string(rune('2'+i)) + "T040405-other"
		r.Checks = r.Checks[1:3]
		rs = append(rs[:i*2+1], append([]*Report{r}, rs[i*2+1:]...)...)
	}
	z := fixture(t, fixtureOptions{})
	z.StartedAt = fixtureStart.Add(-time.Hour)
	z.Plan.Name, z.Plan.Path = "", "plans/zeta.yaml"
	z.RunID = "20260102T020405-zeta"
	z.Segment = &Segment{Index: 1, Count: 4}
	z.Checks = z.Checks[:1]
	return append([]*Report{z}, rs...)
}

// TestTrendGroupsByPlan: a folder of three plans' reports gives one table
// (and one set of charts) per plan, ordered by plan whatever the order of
// the reports, each plan's runs oldest first, no run of one plan in
// another's table, and each plan's checks only.
func TestTrendGroupsByPlan(t *testing.T) {
	t.Parallel()
	rs := mixedPlans(t)
	tr := NewTrend(rs)
	var plans []string
	for _, p := range tr.Plans {
		plans = append(plans, fmt.Sprintf("%s:%d:%d", p.Plan, len(p.Runs), len(p.Checks)))
	}
	if got, want := strings.Join(plans, " "), "another-plan:2:2 phase1-fixture:5:7 zeta.yaml:1:1"; got != want {
		t.Errorf("plans %s, want %s", got, want)
	}
	for _, p := range tr.Plans {
		for _, r := range p.Runs {
			if key := map[string]string{"night": "phase1-fixture", "other": "another-plan", "zeta": "zeta.yaml"}[r.RunID[16:]]; key != p.Plan {
				t.Errorf("run %s in the table of %s", r.RunID, p.Plan)
			}
		}
	}
	render := func(rs []*Report) (string, string) {
		var md, html bytes.Buffer
		if err := WriteTrendMarkdown(&md, NewTrend(rs)); err != nil {
			t.Fatal(err)
		}
		if err := WriteTrendHTML(&html, NewTrend(rs)); err != nil {
			t.Fatal(err)
		}
		return md.String(), string(withoutUplot(html.Bytes()))
	}
	md, html := render(rs)
	golden(t, "trend-plans.golden.md", []byte(md))
	golden(t, "trend-plans.golden.html", []byte(html))
	if n := strings.Count(md, "| started | run |"); n != 3 {
		t.Errorf("%d tables, want 3:\n%s", n, md)
	}
	if n := strings.Count(html, `id="chart-p`); n != len(trendCharts(tr.Plans[0], ""))+len(trendCharts(tr.Plans[1], ""))+len(trendCharts(tr.Plans[2], "")) {
		t.Errorf("%d charts in the page", n)
	}
	// The same reports in another order render the same.
	rev := slices.Clone(rs)
	slices.Reverse(rev)
	if md2, html2 := render(rev); md2 != md || html2 != html {
		t.Error("the output depends on the order of the reports")
	}
}
