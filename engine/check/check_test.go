package check

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/metrics"
	"github.com/runplan/runplan/engine/plan"
)

const src = `version: 1
targets: {cache: {driver: redis}}
scenarios:
  sc:
    load: {vus: 1, duration: 1s}
    steps:
      - name: lookup
        redis: {cache_get: {key: k}}
checks:
%s
`

func load(t *testing.T, checks string) *plan.Plan {
	t.Helper()
	p, err := plan.Parse("p.yaml", []byte(strings.Replace(src, "%s", checks, 1)), plan.Options{StepKinds: testKinds, Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, expr, want string
	}{
		{"type mismatch", "sc.latency.p99 < 100", "p.yaml:10:37: check c: invalid operation: < (mismatched types duration and int): compare latencies with durations, like ms(100) or s(2)"},
		{"unknown step", "sc.steps.lokup.count > 1", `p.yaml:10:31: check c: unknown name sc.steps.lokup (did you mean sc.steps.lookup?)`},
		{"unknown scenario", "scx.count > 1", `p.yaml:10:22: check c: unknown name scx (did you mean sc?)`},
		{"unknown field", "sc.latency.p98 < ms(1)", `p.yaml:10:33: check c: unknown name sc.latency.p98 (did you mean sc.latency.p90?)`},
		{"not a condition", "sc.hit_ratio", "p.yaml:10:22: check c: must be a condition (true or false), but this is a number; compare it"},
		{"syntax", "sc.count >", "p.yaml:10:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := load(t, "  - {name: c, expr: \""+tt.expr+"\"}")
			_, diags := Compile(p, testNames())
			if len(diags) != 1 || !strings.HasPrefix(diags[0].String(), tt.want) {
				t.Fatalf("diags = %v\nwant prefix %q", diags, tt.want)
			}
		})
	}
}

func summary(count, errs, hits, misses int64, lat time.Duration) *metrics.RunSummary {
	mk := func(name string) *metrics.Stats {
		s := metrics.NewSeries(name)
		s.Metrics = testMetrics
		for i := int64(0); i < count; i++ {
			x := metrics.Sample{Service: lat}
			if i < errs {
				x.ErrClass = "timeout"
			}
			switch {
			case i < hits:
				x.Counters[0] = 1
			case i < hits+misses:
				x.Counters[1] = 1
			}
			s.Record(int(i), x)
		}
		return s.Stats()
	}
	return &metrics.RunSummary{Duration: time.Second, Generator: metrics.Generator{Valid: true}, Scenarios: []*metrics.ScenarioSummary{{
		Name: "sc", Model: "closed", Iteration: mk("sc"), Steps: []*metrics.Stats{mk("lookup")}, Elapsed: time.Second,
	}}}
}

func TestEvaluateScoreAndVerdict(t *testing.T) {
	t.Parallel()
	checks := `  - {name: lat, expr: "sc.steps.lookup.latency.p99 < ms(100)", weight: 50}
  - {name: hits, expr: "sc.hit_ratio > 0.9", weight: 30}
  - {name: ok, expr: "sc.success_rate > 0.95", weight: 20, critical: true}
  - {name: timeouts, expr: "sc.errors_by.timeout == 0", weight: 0}
recommendations:
  - {when: "sc.hit_ratio < 0.9", say: "hit ratio {{ pct(sc.hit_ratio) }} at p99 {{ sc.latency.p99 }}"}`
	tests := []struct {
		name    string
		sum     *metrics.RunSummary
		score   float64
		verdict string
		recs    int
		values  []string
	}{
		{"all pass", summary(100, 0, 95, 5, 5*time.Millisecond), 100, Ready, 0, []string{"5.00ms", "0.95", "1", "0"}},
		{"slow", summary(100, 0, 95, 5, 200*time.Millisecond), 50, NotReady, 0, []string{"200ms", "0.95", "1", "0"}},
		{"hit ratio low", summary(100, 0, 80, 20, time.Millisecond), 70, Degraded, 1, []string{"1.00ms", "0.8", "1", "0"}},
		// The timeouts also bring a built-in recommendation.
		{"critical fails caps verdict", summary(100, 10, 95, 5, time.Millisecond), 80, NotReady, 1, []string{"1.00ms", "0.95", "0.9", "10"}},
		{"nothing measured is not a pass", &metrics.RunSummary{}, 0, NotReady, 0, []string{"n/a", "n/a", "n/a", "0"}},
	}
	p := load(t, checks)
	prog, diags := Compile(p, testNames())
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := prog.Evaluate(tt.sum)
			if math.Abs(out.Score-tt.score) > 1e-9 || out.Verdict != tt.verdict {
				t.Fatalf("score %v verdict %s; want %v %s", out.Score, out.Verdict, tt.score, tt.verdict)
			}
			if len(out.Recommendations) != tt.recs {
				t.Fatalf("recommendations %q", out.Recommendations)
			}
			for i, r := range out.Checks {
				if got := FormatValue(r.Value); got != tt.values[i] {
					t.Errorf("check %s value %q, want %q", r.Name, got, tt.values[i])
				}
			}
		})
	}
	out := prog.Evaluate(summary(100, 0, 80, 20, time.Millisecond))
	if want := "hit ratio 80.0% at p99 1.00ms"; out.Recommendations[0] != want {
		t.Fatalf("recommendation %q, want %q", out.Recommendations[0], want)
	}
}

func TestNoChecksIsUnscored(t *testing.T) {
	t.Parallel()
	p := load(t, "  []")
	prog, _ := Compile(p, testNames())
	out := prog.Evaluate(summary(1, 0, 0, 0, time.Millisecond))
	if out.Verdict != Unscored || !math.IsNaN(out.Score) {
		t.Fatalf("got %v %v", out.Score, out.Verdict)
	}
}

func TestPartialCredit(t *testing.T) {
	t.Parallel()
	checks := `  - {name: lat, expr: "sc.steps.lookup.latency.p99 < ms(100)", weight: 50, good: 50ms, bad: 150ms}
  - {name: hits, expr: "sc.hit_ratio > 0.9", weight: 50, good: 0.95, bad: 0.75}`
	p := load(t, checks)
	prog, diags := Compile(p, testNames())
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	tests := []struct {
		name      string
		sum       *metrics.RunSummary
		lat, hits float64
		score     float64
	}{
		{"both at good", summary(100, 0, 95, 5, 50*time.Millisecond), 1, 1, 100},
		// p99 100ms is half-way from 150 (bad) to 50 (good); 0.85 half-way from 0.75 to 0.95.
		{"both half-way", summary(100, 0, 85, 15, 100*time.Millisecond), 0.5, 0.5, 50},
		{"beyond bad", summary(100, 0, 50, 50, time.Second), 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := prog.Evaluate(tt.sum)
			// Latencies land on HDR bucket edges: allow a little.
			if math.Abs(out.Checks[0].Credit-tt.lat) > 0.01 || math.Abs(out.Checks[1].Credit-tt.hits) > 0.01 || math.Abs(out.Score-tt.score) > 1 {
				t.Fatalf("credits %v %v score %v; want %v %v %v", out.Checks[0].Credit, out.Checks[1].Credit, out.Score, tt.lat, tt.hits, tt.score)
			}
		})
	}
	bad := load(t, `  - {name: x, expr: "sc.hit_ratio > 0.9", good: 10ms, bad: 50ms}`)
	if _, diags := Compile(bad, testNames()); len(diags) != 1 || !strings.Contains(diags[0].Msg, "must be numbers") {
		t.Fatalf("diags %v", diags)
	}
}

// echoAdvisor gives advice that says what it was shown, to check what the
// engine asks its drivers and in which order.
type echoAdvisor struct{}

func (echoAdvisor) AdviseScenario(s driver.ScenarioFigures) []string {
	var b strings.Builder
	for _, st := range s.Steps {
		fmt.Fprintf(&b, " %s %d/%d/%d/%d", st.Name, st.Calls, st.Errors, st.Counters["hits"], st.Counters["misses"])
	}
	return []string{"scenario " + s.Scenario + ":" + b.String()}
}

func (echoAdvisor) AdviseErrors(e driver.ErrorFigures) []string {
	return []string{"errors " + e.Where() + " " + e.Class + ": " + e.Share()}
}

func (echoAdvisor) AdviseTarget(t driver.TargetFigures) []string {
	return []string{fmt.Sprintf("target %s: %v", t.Target, t.Order)}
}

func TestBuiltinAdvice(t *testing.T) {
	t.Parallel()
	p := load(t, "  - {name: c, expr: \"sc.count > 1\"}")
	advisors := map[string]driver.Advisor{"redis": echoAdvisor{}}
	low := summary(200, 0, 100, 100, time.Millisecond)
	dropped := summary(10, 0, 0, 0, time.Millisecond)
	dropped.Scenarios[0].Dropped, dropped.Scenarios[0].Scheduled, dropped.Scenarios[0].MaxVUs = 5, 15, 2
	evicted := summary(10, 0, 0, 0, time.Millisecond)
	evicted.Targets = []*metrics.TargetSummary{{Name: "cache", Order: []string{"evicted_keys"}, Server: map[string]float64{"evicted_keys": 42}}}
	invalid := summary(10, 0, 0, 0, time.Millisecond)
	invalid.Generator = metrics.Generator{Valid: false, Reasons: []string{"scheduling lag p99 12ms is above 10ms"}, CPU: 0.97}
	timeouts := summary(400, 12, 0, 0, time.Millisecond)
	timeouts.Scenarios[0].Dropped, timeouts.Scenarios[0].Scheduled, timeouts.Scenarios[0].MaxVUs = 1, 401, 2
	timeouts.Targets = evicted.Targets
	tests := []struct {
		name     string
		sum      *metrics.RunSummary
		advisors map[string]driver.Advisor
		want     []string
	}{
		{"healthy", summary(200, 0, 190, 10, time.Millisecond), nil, nil},
		{"dropped", dropped, nil, []string{"sc: 5 of 15 due iterations were dropped because all 2 VUs were busy"}},
		{"timeouts", summary(400, 12, 0, 0, time.Millisecond), nil, []string{"sc.lookup: 12 of 400 (3.0%) calls timed out: find what stalls"}},
		{"invalid generator", invalid, nil, []string{"The measurement is invalid: scheduling lag p99 12ms is above 10ms", "runplan used 97% of its CPUs"}},
		{"no driver advice without an advisor", low, nil, nil},
		{"scenario", low, advisors, []string{"scenario sc: lookup 200/0/100/100"}},
		{"target", evicted, advisors, []string{"scenario sc: lookup 10/0/0/0", "target cache: [evicted_keys]"}},
		{"order", timeouts, advisors, []string{"scenario sc: lookup 400/12/0/0", "sc: 1 of 401 due iterations were dropped",
			"sc.lookup: 12 of 400 (3.0%) calls timed out", "errors sc.lookup timeout: 12 of 400 (3.0%)", "target cache: [evicted_keys]"}},
		{"another driver's advisor", low, map[string]driver.Advisor{"webhook": echoAdvisor{}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := builtinAdvice(layoutOf(p), tt.advisors, tt.sum)
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %d", got, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("advice %d = %q, want prefix %q", i, got[i], w)
				}
			}
		})
	}
}

// TestEvaluateAsksAdvisors checks that Evaluate gives the advice of the
// advisors Compile was given, after the plan's own recommendations.
func TestEvaluateAsksAdvisors(t *testing.T) {
	t.Parallel()
	p := load(t, "  - {name: c, expr: \"sc.count > 1\"}\nrecommendations:\n  - {when: \"sc.count > 1\", say: plan}")
	prog, diags := Compile(p, Names{Advisors: map[string]driver.Advisor{"redis": echoAdvisor{}}, StepMetrics: testMetrics})
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	out := prog.Evaluate(summary(10, 0, 0, 0, time.Millisecond))
	if want := []string{"plan", "scenario sc: lookup 10/0/0/0"}; !slices.Equal(out.Recommendations, want) {
		t.Fatalf("recommendations %q, want %q", out.Recommendations, want)
	}
}

// TestEvaluateOutlivesThePlan checks that a compiled Program keeps its own
// copy of what it evaluates with: writing over the plan after Compile
// changes nothing Evaluate returns (scores, verdicts, values, advice).
func TestEvaluateOutlivesThePlan(t *testing.T) {
	t.Parallel()
	checks := `  - {name: lat, expr: "sc.steps.lookup.latency.p99 < ms(100)", weight: 50, good: 50ms, bad: 150ms}
  - {name: hits, expr: "sc.hit_ratio > 0.9", weight: 30}
recommendations:
  - {when: "sc.hit_ratio < 0.9", say: "hit ratio {{ pct(sc.hit_ratio) }}"}`
	tests := []struct {
		name  string
		scrub func(p *plan.Plan)
	}{
		{"checks", func(p *plan.Plan) {
			for _, c := range p.Checks {
				c.Name, c.Expr, c.Weight, c.Critical, c.HasBounds, c.Good, c.Bad = "x", "false", 1, false, false, 0, 0
			}
		}},
		{"readiness", func(p *plan.Plan) { p.Readiness = plan.Readiness{Ready: 0, Degraded: 0} }},
		{"names", func(p *plan.Plan) {
			for _, sc := range p.Scenarios {
				sc.Name = "other"
				for _, st := range sc.Steps {
					st.Name, st.Target = "other", "nowhere"
				}
			}
		}},
		{"drivers", func(p *plan.Plan) {
			for _, tg := range p.Targets {
				tg.Driver = "webhook"
			}
		}},
		{"slices", func(p *plan.Plan) {
			p.Checks, p.Recommendations, p.Scenarios, p.Targets, p.Faults = nil, nil, nil, nil, nil
		}},
	}
	sum := summary(400, 12, 80, 20, 100*time.Millisecond)
	sum.Scenarios[0].Dropped, sum.Scenarios[0].Scheduled, sum.Scenarios[0].MaxVUs = 1, 401, 2
	sum.Targets = []*metrics.TargetSummary{{Name: "cache", Order: []string{"evicted_keys"}, Server: map[string]float64{"evicted_keys": 42}}}
	names := func() Names {
		n := testNames()
		n.Advisors = map[string]driver.Advisor{"redis": echoAdvisor{}}
		return n
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want, diags := Compile(load(t, checks), names())
			if len(diags) > 0 {
				t.Fatal(diags)
			}
			p := load(t, checks)
			prog, diags := Compile(p, names())
			if len(diags) > 0 {
				t.Fatal(diags)
			}
			tt.scrub(p)
			w, got := fmt.Sprintf("%+v", *want.Evaluate(sum)), fmt.Sprintf("%+v", *prog.Evaluate(sum))
			if got != w {
				t.Fatalf("after the plan changed, Evaluate = %s\nwant %s", got, w)
			}
		})
	}
}
