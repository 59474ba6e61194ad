package engine

import (
	"slices"
	"testing"
	"time"

	"github.com/runplan/runplan/engine/metrics"
	"github.com/runplan/runplan/engine/plan"
)

// openScenario is an open-model scenario's summary: due iterations, late
// ones, and every iteration's scheduling lag.
func openScenario(name string, due, late int64, lag time.Duration) *metrics.ScenarioSummary {
	h := metrics.NewHistogram()
	for i := int64(0); i < due; i++ {
		_ = h.RecordValue(int64(lag))
	}
	return &metrics.ScenarioSummary{Name: name, Model: "open", Scheduled: due, Late: late, Lag: h}
}

// TestValidityPerScenario: validity is judged per scenario against its own
// limits (the plan's validity and the scenario's load.validity).
func TestValidityPerScenario(t *testing.T) {
	t.Parallel()
	def := validity{LagP99: plan.DefaultLagP99, Late: plan.DefaultLate}
	loose := validity{LagP99: 50 * time.Millisecond, Late: 0.05}
	tests := []struct {
		name      string
		scenarios []*metrics.ScenarioSummary
		limits    map[string]validity
		valid     bool
		reasons   []string
	}{
		{"within the defaults", []*metrics.ScenarioSummary{openScenario("a", 1000, 1, time.Millisecond)},
			map[string]validity{"a": def}, true, nil},
		{"lag above the default", []*metrics.ScenarioSummary{openScenario("a", 1000, 0, 20*time.Millisecond)},
			map[string]validity{"a": def}, false, []string{"a: scheduling lag p99 20.005ms is above 10ms"}},
		{"lag within a raised limit", []*metrics.ScenarioSummary{openScenario("a", 1000, 0, 20*time.Millisecond)},
			map[string]validity{"a": loose}, true, nil},
		{"late share above the default", []*metrics.ScenarioSummary{openScenario("a", 1000, 10, time.Millisecond)},
			map[string]validity{"a": def}, false, []string{"a: the generator was late for 10 of 1000 due iterations (1%; limit 0.1%)"}},
		{"a share printed with three digits", []*metrics.ScenarioSummary{openScenario("a", 36, 25, time.Millisecond)},
			map[string]validity{"a": def}, false, []string{"a: the generator was late for 25 of 36 due iterations (69.4%; limit 0.1%)"}},
		{"late share within a raised limit", []*metrics.ScenarioSummary{openScenario("a", 1000, 10, time.Millisecond)},
			map[string]validity{"a": loose}, true, nil},
		// Judged per scenario: a small late scenario is not hidden by a
		// large punctual one (1% of its own, 0.01% of the run's).
		{"per scenario, not over the run", []*metrics.ScenarioSummary{
			openScenario("big", 100000, 0, time.Millisecond), openScenario("small", 1000, 10, time.Millisecond)},
			map[string]validity{"big": def, "small": def}, false,
			[]string{"small: the generator was late for 10 of 1000 due iterations (1%; limit 0.1%)"}},
		{"each scenario its own limit", []*metrics.ScenarioSummary{
			openScenario("a", 1000, 0, 20*time.Millisecond), openScenario("b", 1000, 0, 20*time.Millisecond)},
			map[string]validity{"a": loose, "b": def}, false, []string{"b: scheduling lag p99 20.005ms is above 10ms"}},
		{"few late are tolerated", []*metrics.ScenarioSummary{openScenario("a", 100, 5, time.Millisecond)},
			map[string]validity{"a": def}, true, nil},
		{"too few due for the lag", []*metrics.ScenarioSummary{openScenario("a", 99, 0, 20*time.Millisecond)},
			map[string]validity{"a": def}, true, nil},
		{"closed model is not judged", []*metrics.ScenarioSummary{{Name: "c", Model: "closed"}}, nil, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := generatorHealth(healthInput{scenarios: tt.scenarios, limits: tt.limits})
			if g.Valid != tt.valid || !slices.Equal(g.Reasons, tt.reasons) {
				t.Fatalf("valid %v reasons %q; want %v %q", g.Valid, g.Reasons, tt.valid, tt.reasons)
			}
		})
	}
}
