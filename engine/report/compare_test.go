package report

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
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
				regs, imps, _ := c.flagged()
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
	if len(c.Notes) == 0 || !strings.Contains(c.Notes[0], "plan changed") {
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

var fixtureCache sync.Map // fixtureOptions → the fixture's JSON

// fixture returns a fresh copy of buildFixture(opts), built once per opts
// (a build takes seconds under the race detector) and copied through its
// JSON, which holds everything compare and trend read.
func fixture(t testing.TB, opts fixtureOptions) *Report {
	t.Helper()
	b, ok := fixtureCache.Load(opts)
	if !ok {
		enc, err := json.Marshal(buildFixture(opts))
		if err != nil {
			t.Fatal(err)
		}
		b, _ = fixtureCache.LoadOrStore(opts, enc)
	}
	var r Report
	if err := json.Unmarshal(b.([]byte), &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// changed is the fixture with edit applied.
func changed(t testing.TB, edit func(r *Report)) func() *Report {
	return func() *Report {
		r := fixture(t, fixtureOptions{})
		edit(r)
		return r
	}
}

// TestCompareChecksFaultsValidity: the rules beyond the figures. A check
// that starts failing (or is added failing) is a regression, one that
// starts passing an improvement, a value that moved or a check added or
// removed is listed without a verdict; a fault after which the scenarios
// stop recovering, or recover slower beyond tolerance, is a regression;
// a new run that is invalid, partial or did not start is a regression
// from a trusted base, and leaves the comparison not judged from an
// untrusted one.
func TestCompareChecksFaultsValidity(t *testing.T) {
	t.Parallel()
	plain := func() *Report { return fixture(t, fixtureOptions{}) }
	invalid := func() *Report { return fixture(t, fixtureOptions{invalid: true}) }
	partial := changed(t, func(r *Report) { r.Partial = true })
	notStarted := changed(t, func(r *Report) { r.NotStarted, r.Valid = true, false })
	tests := []struct {
		name        string
		base, cur   func() *Report
		tol         []string
		regs, imps  int
		notJudged   bool
		lines       []string // in the flagged lines, in order: regressions, improvements, others
		checkStatus map[string]string
		faultStatus map[string]string
	}{
		{name: "a check starts failing", base: plain, cur: changed(t, func(r *Report) { r.Checks[0].Passed = false }), regs: 1,
			lines: []string{"check redis_latency: passed → failed (2.16ms → 2.16ms)"}, checkStatus: map[string]string{"redis_latency": Regression}},
		{name: "a check starts passing", base: plain, cur: changed(t, func(r *Report) { r.Checks[1].Passed, r.Checks[1].Display = true, "0.961" }), imps: 1,
			lines: []string{"check cache_hit_ratio: failed → passed (0.922 → 0.961)"}, checkStatus: map[string]string{"cache_hit_ratio": Improvement}},
		{name: "a check's value moves, still failing", base: plain, cur: changed(t, func(r *Report) { r.Checks[1].Display = "0.901" }),
			lines: []string{"check cache_hit_ratio: 0.922 → 0.901 (failed in both)"}, checkStatus: map[string]string{"cache_hit_ratio": ""}},
		{name: "a check added failing, one removed", base: plain, cur: changed(t, func(r *Report) {
			r.Checks[0].Name = "redis_p99"
			r.Checks[0].Passed = false
		}), regs: 1, lines: []string{"check redis_p99: added, failed (2.16ms)", "check redis_latency: removed (passed in the base: 2.16ms)"},
			checkStatus: map[string]string{"redis_p99": Regression, "redis_latency": ""}},
		{name: "a check added passing", base: changed(t, func(r *Report) { r.Checks = r.Checks[1:] }), cur: plain,
			lines: []string{"check redis_latency: added, passed (2.16ms)"}, checkStatus: map[string]string{"redis_latency": ""}},
		{name: "a fault no longer recovered", base: plain, cur: changed(t, func(r *Report) { r.Faults[0].Recovered, r.Faults[0].Recovery = false, nil }), regs: 1,
			lines: []string{"fault redis_latency: recovered in 1.50s → did not recover"}, faultStatus: map[string]string{"redis_latency": Regression}},
		{name: "a fault now recovered", base: changed(t, func(r *Report) { r.Faults[0].Recovered, r.Faults[0].Recovery = false, nil }), cur: plain, imps: 1,
			lines: []string{"fault redis_latency: did not recover → recovered in 1.50s"}, faultStatus: map[string]string{"redis_latency": Improvement}},
		{name: "recovery slower beyond 20% and 1s", base: plain, cur: changed(t, func(r *Report) { r.Faults[0].Recovery = val(3.0) }), regs: 1,
			lines: []string{"fault redis_latency: recovery 1.50s → 3.00s (+100.0%, tolerance 20% and 1.00s)"}, faultStatus: map[string]string{"redis_latency": Regression}},
		{name: "recovery slower within 1s", base: plain, cur: changed(t, func(r *Report) { r.Faults[0].Recovery = val(2.4) }),
			faultStatus: map[string]string{"redis_latency": "absent"}},
		{name: "recovery tolerance tightened", base: plain, cur: changed(t, func(r *Report) { r.Faults[0].Recovery = val(2.4) }), tol: []string{"recovery=10%"}, regs: 1,
			faultStatus: map[string]string{"redis_latency": Regression}},
		{name: "recovery faster", base: changed(t, func(r *Report) { r.Faults[0].Recovery = val(4.0) }), cur: plain, imps: 1,
			faultStatus: map[string]string{"redis_latency": Improvement}},
		{name: "recovery off", base: plain, cur: changed(t, func(r *Report) { r.Faults[0].Recovery = val(9.0) }), tol: []string{"recovery=off"},
			faultStatus: map[string]string{"redis_latency": "absent"}},
		{name: "a fault not applied in the new run", base: plain, cur: changed(t, func(r *Report) {
			r.Faults[0].Applied, r.Faults[0].Skipped, r.Faults[0].Recovered, r.Faults[0].Recovery = false, "probability 0.5: not drawn", false, nil
		}), lines: []string{"fault redis_latency: not applied in the new run: probability 0.5: not drawn"}, faultStatus: map[string]string{"redis_latency": ""}},
		{name: "a fault removed", base: plain, cur: changed(t, func(r *Report) { r.Faults = r.Faults[1:] }),
			lines: []string{"fault redis_latency: not in this run (base: recovered in 1.50s)"}, faultStatus: map[string]string{"redis_latency": ""}},
		{name: "new run invalid", base: plain, cur: invalid, regs: 1,
			lines: []string{"validity: the base run is valid and complete; the new run is invalid"}},
		{name: "new run partial", base: plain, cur: partial, regs: 1,
			lines: []string{"validity: the base run is valid and complete; the new run is partial"}},
		{name: "new run did not start", base: plain, cur: notStarted, regs: 1,
			lines: []string{"validity: the base run is valid and complete; the new run did not start"}},
		{name: "both invalid: not judged", base: invalid, cur: invalid, notJudged: true},
		{name: "invalid base, partial new: not judged", base: invalid, cur: partial, notJudged: true},
		{name: "invalid base, valid new", base: invalid, cur: plain, imps: 1,
			lines: []string{"validity: the base run is invalid; the new run is valid and complete"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tol, err := ParseTolerances(DefaultTolerances(), tt.tol...)
			if err != nil {
				t.Fatal(err)
			}
			c := Compare(tt.base(), tt.cur(), tol)
			regs, imps, others := c.flagged()
			all := strings.Join(append(append(regs, imps...), others...), "\n")
			if c.Regressions != tt.regs || c.Improvements != tt.imps || (c.NotJudged != "") != tt.notJudged {
				t.Errorf("%d regressions, %d improvements, not judged %q; want %d, %d, %v\n%s", c.Regressions, c.Improvements, c.NotJudged,
					tt.regs, tt.imps, tt.notJudged, all)
			}
			if len(regs) != c.Regressions || len(imps) != c.Improvements {
				t.Errorf("%d regression lines for %d regressions, %d improvement lines for %d:\n%s", len(regs), c.Regressions, len(imps), c.Improvements, all)
			}
			for _, l := range tt.lines {
				if !strings.Contains(all, l) {
					t.Errorf("lacks %q:\n%s", l, all)
				}
			}
			for name, want := range tt.checkStatus {
				i := slices.IndexFunc(c.Checks, func(ch CheckChange) bool { return ch.Name == name })
				if i < 0 || c.Checks[i].Status != want {
					t.Errorf("check %s: %+v, want status %q", name, c.Checks, want)
				}
			}
			for name, want := range tt.faultStatus {
				i := slices.IndexFunc(c.Faults, func(f FaultChange) bool { return f.Name == name })
				switch {
				case want == "absent" && i >= 0:
					t.Errorf("fault %s listed: %+v", name, c.Faults[i])
				case want != "absent" && (i < 0 || c.Faults[i].Status != want):
					t.Errorf("fault %s: %+v, want status %q", name, c.Faults, want)
				}
			}
			if !strings.HasPrefix(c.Outcome(), map[bool]string{true: "not judged", false: "no regression"}[tt.notJudged]) && c.Regressions == 0 {
				t.Errorf("outcome %q", c.Outcome())
			}
		})
	}
}

// TestCompareNeverNoRegressionOfUntrustedRun: whatever the base, a new run
// that is invalid, partial or did not start never gets "no regression".
func TestCompareNeverNoRegressionOfUntrustedRun(t *testing.T) {
	t.Parallel()
	sides := map[string]func(*Report){
		"valid":       func(*Report) {},
		"invalid":     func(r *Report) { r.Valid = false },
		"partial":     func(r *Report) { r.Partial = true },
		"not started": func(r *Report) { r.NotStarted, r.Valid = true, false },
		"invalid and partial": func(r *Report) {
			r.Valid, r.Partial = false, true
		},
	}
	for bn, be := range sides {
		for nn, ne := range sides {
			if nn == "valid" {
				continue
			}
			base, cur := fixture(t, fixtureOptions{}), fixture(t, fixtureOptions{})
			be(base)
			ne(cur)
			c := Compare(base, cur, DefaultTolerances())
			for _, render := range []func(*strings.Builder) error{
				func(b *strings.Builder) error { return WriteCompareConsole(b, c, CompareOptions{}) },
				func(b *strings.Builder) error { return WriteCompareMarkdown(b, c) },
			} {
				var b strings.Builder
				if err := render(&b); err != nil {
					t.Fatal(err)
				}
				if c.Outcome() == "no regression" || strings.Contains(b.String(), "no regression") {
					t.Errorf("base %s, new %s: %q\n%s", bn, nn, c.Outcome(), b.String())
				}
			}
		}
	}
}

// TestSamePlan: reports are of the same plan by name, or by file name for
// a plan without one; the digest (an edited plan) does not matter.
func TestSamePlan(t *testing.T) {
	t.Parallel()
	info := func(name, path, digest string) *Report {
		return &Report{Plan: PlanInfo{Name: name, Path: path, Digest: digest}}
	}
	tests := []struct {
		name      string
		base, cur *Report
		same      bool
	}{
		{"same name, edited plan", info("cache", "plans/cache.yaml", "aa"), info("cache", "/ci/plans/cache.yaml", "bb"), true},
		{"other names", info("cache", "plans/cache.yaml", "aa"), info("webhooks", "plans/cache.yaml", "aa"), false},
		{"no names, same file name", info("", "plans/cache.yaml", "aa"), info("", `C:\ci\cache.yaml`, "bb"), true},
		{"no names, other files", info("", "plans/cache.yaml", "aa"), info("", "plans/hooks.yaml", "aa"), false},
		{"a name against a file name", info("cache", "plans/cache.yaml", "aa"), info("", "plans/cache.yaml", "aa"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := SamePlan(tt.base, tt.cur)
			if (err == nil) != tt.same {
				t.Fatalf("SamePlan: %v, want same %v", err, tt.same)
			}
			if err != nil && (!errors.Is(err, ErrOtherPlan) || !strings.Contains(err.Error(), PlanKey(tt.base)) || !strings.Contains(err.Error(), PlanKey(tt.cur))) {
				t.Errorf("%v: want ErrOtherPlan naming %q and %q", err, PlanKey(tt.base), PlanKey(tt.cur))
			}
			if c := Compare(tt.base, tt.cur, DefaultTolerances()); c.OtherPlan == tt.same {
				t.Errorf("Compare: OtherPlan %v", c.OtherPlan)
			}
		})
	}
}
