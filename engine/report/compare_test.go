package report

import (
	"errors"
	"strings"
	"testing"
)

func TestParseTolerances(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		specs []string
		want  map[string]Tolerance // the figures to check
		gone  []string
		err   string
	}{
		{"defaults", nil, map[string]Tolerance{"p99": {0.10, -1}, "rate": {0.05, -1}, "error_rate": {-1, 0.01}}, []string{"max"}, ""},
		{"relative", []string{"p99=20%"}, map[string]Tolerance{"p99": {0.20, -1}}, nil, ""},
		{"absolute duration", []string{"p99=2ms"}, map[string]Tolerance{"p99": {-1, 2}}, nil, ""},
		{"both, comma-separated", []string{"p99=10%,p99=500us"}, map[string]Tolerance{"p99": {0.10, 0.5}}, nil, ""},
		{"repeated flags", []string{"p99=10%", "rate=1%", "error_rate=0.001"},
			map[string]Tolerance{"p99": {0.10, -1}, "rate": {0.01, -1}, "error_rate": {-1, 0.001}}, nil, ""},
		{"a new figure", []string{"max=1s"}, map[string]Tolerance{"max": {-1, 1000}}, nil, ""},
		{"off", []string{"p50=off"}, nil, []string{"p50"}, ""},
		{"seconds", []string{"p95=1.5s"}, map[string]Tolerance{"p95": {-1, 1500}}, nil, ""},
		{"unknown figure", []string{"p98=10%"}, nil, nil, `unknown figure "p98"`},
		{"no value", []string{"p99"}, nil, nil, "want figure=value"},
		{"latency without a unit", []string{"p99=5"}, nil, nil, "duration with a unit"},
		{"negative", []string{"rate=-5%"}, nil, nil, "non-negative"},
		{"error rate above 1", []string{"error_rate=5"}, nil, nil, "ratio"},
		{"not a number", []string{"rate=fast"}, nil, nil, "non-negative number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTolerances(DefaultTolerances(), tt.specs...)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrTolerance) {
					t.Fatalf("error %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for f, want := range tt.want {
				if got[f] != want {
					t.Errorf("%s: %+v, want %+v", f, got[f], want)
				}
			}
			for _, f := range tt.gone {
				if _, ok := got[f]; ok {
					t.Errorf("%s still has a tolerance", f)
				}
			}
		})
	}
}

func figureChange(t *testing.T, c *Comparison, scenario, step, name string) FigureChange {
	t.Helper()
	for _, r := range c.Rows {
		if r.Scenario == scenario && r.Step == step {
			for _, f := range r.Figures {
				if f.Figure == name {
					return f
				}
			}
		}
	}
	t.Fatalf("no %s for %s/%s", name, scenario, step)
	return FigureChange{}
}

// TestCompare: a second run with latency injected into the deliveries is
// flagged as a p99 regression of the delivery step, and nothing else is.
func TestCompare(t *testing.T) {
	t.Parallel()
	base := buildFixture(fixtureOptions{})
	tests := []struct {
		name    string
		base    func() *Report // nil: the fixture
		cur     func() *Report
		tol     []string
		regs    int
		imps    int
		flagged map[[3]string]string // scenario, step, figure → status
	}{
		{"same run: nothing flagged", nil, func() *Report { return buildFixture(fixtureOptions{}) }, nil, 0, 0, nil},
		{"latency injected into deliveries", nil, slower, nil, 6, 0, map[[3]string]string{
			{"signal_delivery", "deliver", "p99"}: Regression,
			{"signal_delivery", "", "p99"}:        Regression,
			{"signal_delivery", "fetch", "p99"}:   "",
			{"strategy_cache", "lookup", "p99"}:   "",
		}},
		{"within a generous tolerance", nil, slower, []string{"p50=100%,p95=100%,p99=100%"}, 0, 0, map[[3]string]string{
			{"signal_delivery", "deliver", "p99"}: "",
		}},
		{"relative and absolute both required", nil, slower, []string{"p50=off,p95=off,p99=10%,p99=100ms"}, 0, 0, nil},
		{"faster: an improvement", slower, func() *Report { return buildFixture(fixtureOptions{}) }, nil, 0, 6, nil},
		{"throughput drop and more errors", nil, func() *Report {
			r := buildFixture(fixtureOptions{})
			r.Scenarios[0].Rate *= 0.8
			r.Scenarios[0].Steps[0].Rate *= 0.8
			er := 0.05
			r.Scenarios[1].Steps[1].ErrorRate = &er
			return r
		}, nil, 3, 0, map[[3]string]string{
			{"strategy_cache", "", "rate"}:               Regression,
			{"strategy_cache", "lookup", "rate"}:         Regression,
			{"signal_delivery", "deliver", "error_rate"}: Regression,
		}},
		{"a check that started failing", nil, func() *Report {
			r := buildFixture(fixtureOptions{})
			r.Checks[0].Passed = false
			return r
		}, nil, 1, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tol, err := ParseTolerances(DefaultTolerances(), tt.tol...)
			if err != nil {
				t.Fatal(err)
			}
			b := base
			if tt.base != nil {
				b = tt.base()
			}
			c := Compare(b, tt.cur(), tol)
			if c.Regressions != tt.regs || c.Improvements != tt.imps {
				regs, imps := c.flagged()
				t.Errorf("%d regressions, %d improvements; want %d, %d\n%s\n%s", c.Regressions, c.Improvements, tt.regs, tt.imps,
					strings.Join(regs, "\n"), strings.Join(imps, "\n"))
			}
			for k, want := range tt.flagged {
				if got := figureChange(t, c, k[0], k[1], k[2]); got.Status != want {
					t.Errorf("%v: %q, want %q", k, got.Status, want)
				}
			}
		})
	}
}

func TestCompareMissingRows(t *testing.T) {
	t.Parallel()
	base := buildFixture(fixtureOptions{})
	cur := buildFixture(fixtureOptions{})
	cur.Scenarios = append(cur.Scenarios[:1], Scenario{Name: "extra", Model: "closed"})
	cur.Scenarios[0].Steps = nil
	cur.Plan.Digest = strings.Repeat("0", 64)
	c := Compare(base, cur, DefaultTolerances())
	only := map[string]string{}
	for _, r := range c.Rows {
		if r.Only != "" {
			only[rowName(r)] = r.Only
		}
	}
	want := map[string]string{"extra": "new", "strategy_cache › lookup": "base", "signal_delivery": "base"}
	for k, v := range want {
		if only[k] != v {
			t.Errorf("%s: only in %q, want %q (rows %v)", k, only[k], v, only)
		}
	}
	if len(c.Notes) == 0 || !strings.Contains(c.Notes[0], "plans differ") {
		t.Errorf("notes %q, want the plans' digests to differ", c.Notes)
	}
}

func TestCompareErrorRateFromZero(t *testing.T) {
	t.Parallel()
	zero, some := 0.0, 0.02
	fc := judge("error_rate", &zero, &some, Tolerance{Rel: -1, Abs: 0.01})
	if fc.Status != Regression || changeText(fc) != "+2.00pp" {
		t.Errorf("0 → 2%%: %q %q, want a regression of +2.00pp", fc.Status, changeText(fc))
	}
	fc = judge("p99", nil, &some, Tolerance{Rel: 0.1, Abs: -1})
	if fc.Status != "" || changeText(fc) != "n/a" {
		t.Errorf("unmeasured base: %q %q", fc.Status, changeText(fc))
	}
}
