package check

import (
	"strings"
	"testing"
	"time"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/metrics"
)

// TestStepMetricNames: the names checks may use on scenarios and steps are
// the plan's drivers' declarations, each with its kind's type.
func TestStepMetricNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		names Names
		expr  string
		want  string // diagnostic prefix; "" when it compiles
	}{
		{"declared ratio", testNames(), "sc.hit_ratio > 0.9", ""},
		{"declared on a step", testNames(), "sc.steps.lookup.misses < 10", ""},
		{"declared duration", testNames(), "sc.rate_limit_wait < ms(100)", ""},
		{"duration compared with a number", testNames(), "sc.rate_limit_wait < 100", "p.yaml:10:41: check c: invalid operation: < (mismatched types duration and int)"},
		{"not declared by the plan's drivers", Names{}, "sc.hit_ratio > 0.9", "p.yaml:10:25: check c: unknown name sc.hit_ratio"},
		{"misspelt", testNames(), "sc.hit_ration > 0.9", "p.yaml:10:25: check c: unknown name sc.hit_ration (did you mean sc.hit_ratio?)"},
		{"the maps are not names", testNames(), "sc.__counters.hits > 0", "p.yaml:10:25: check c: unknown name sc.__counters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := load(t, "  - {name: c, expr: \""+tt.expr+"\"}")
			_, diags := Compile(p, tt.names)
			if tt.want == "" {
				if len(diags) > 0 {
					t.Fatal(diags)
				}
				return
			}
			if len(diags) != 1 || !strings.HasPrefix(diags[0].String(), tt.want) {
				t.Fatalf("diags = %v\nwant prefix %q", diags, tt.want)
			}
		})
	}
}

// TestStepMetricValues: checks read declared figures as measured; a
// duration sums the outcomes' waits.
func TestStepMetricValues(t *testing.T) {
	t.Parallel()
	s := metrics.NewSeries("lookup")
	s.Metrics = testMetrics
	for i := range 4 {
		var c driver.Counters
		c[i%2] = 1
		c[3] = int64(250 * time.Millisecond)
		s.Record(i, metrics.Sample{Service: time.Millisecond, Counters: c})
	}
	st := s.Stats()
	sum := &metrics.RunSummary{Duration: time.Second, Generator: metrics.Generator{Valid: true}, Scenarios: []*metrics.ScenarioSummary{{
		Name: "sc", Model: "closed", Iteration: st, Steps: []*metrics.Stats{st}, Elapsed: time.Second}}}
	tests := []struct {
		expr   string
		passed bool
	}{
		{"sc.hit_ratio == 0.5 && sc.steps.lookup.hit_ratio == 0.5", true},
		{"sc.hits == 2 && sc.misses == 2 && sc.lookup_errors == 0", true},
		{"sc.rate_limit_wait == s(1) && sc.steps.lookup.rate_limit_wait == ms(1000)", true},
		{"sc.rate_limit_wait > s(1)", false},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			t.Parallel()
			prog, diags := Compile(load(t, "  - {name: c, expr: \""+tt.expr+"\"}"), testNames())
			if len(diags) > 0 {
				t.Fatal(diags)
			}
			if r := prog.Evaluate(sum).Checks[0]; r.Passed != tt.passed || r.NA {
				t.Errorf("passed %v (n/a %v, missing %v, value %v), want %v", r.Passed, r.NA, r.Missing, r.Value, tt.passed)
			}
		})
	}
}
