package check

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runplan/runplan/engine/metrics"
	"github.com/runplan/runplan/engine/plan"
)

// unknownSrc has a scenario that completes nothing ("never"), one that ran
// ("sc"), and two faults: one that never happened and one whose before
// window had no data.
const unknownSrc = `version: 1
targets: {cache: {driver: redis}}
scenarios:
  sc:
    load: {vus: 1, duration: 1s}
    steps:
      - name: lookup
        redis: {cache_get: {key: k}}
  never:
    load: {vus: 1, duration: 1s}
    steps:
      - name: lookup
        redis: {cache_get: {key: k}}
  alldropped:
    load: {rate: 40/s, duration: 1s, max_vus: 1}
    steps:
      - name: lookup
        redis: {cache_get: {key: k}}
  absent:
    load: {vus: 1, duration: 1s}
    steps:
      - name: lookup
        redis: {cache_get: {key: k}}
faults:
  - {name: skipped, target: cache, at: 1s, for: 1s, latency: {delay: 10ms}}
  - {name: early, target: cache, at: 0s, for: 1s, latency: {delay: 10ms}}
checks:
  - {name: c, expr: "%s"}
`

func unknownSummary() *metrics.RunSummary {
	sum := summary(10, 0, 0, 0, time.Millisecond)
	empty := metrics.NewSeries("never").Stats()
	step := metrics.NewSeries("lookup").Stats()
	sum.Interval = time.Second
	sum.Scenarios = append(sum.Scenarios, &metrics.ScenarioSummary{Name: "never", Model: "closed", Iteration: empty,
		Steps: []*metrics.Stats{step}, Elapsed: time.Second})
	// Every due iteration dropped: nothing completed, yet the counts are
	// known.
	dropped := metrics.NewSeries("alldropped").Stats()
	o := metrics.Outcomes{Due: 40, Dropped: 40}
	dropped.Account(o)
	sum.Scenarios = append(sum.Scenarios, &metrics.ScenarioSummary{Name: "alldropped", Model: "open", Iteration: dropped,
		Steps: []*metrics.Stats{metrics.NewSeries("lookup").Stats()}, Elapsed: time.Second, Outcomes: o, Dropped: 40})
	ran := sum.Scenarios[0].Iteration
	lat := metrics.Summarize(ran.Service)
	sum.Faults = []*metrics.FaultSummary{
		{Name: "skipped", Target: "cache", Skipped: "probability"},
		{Name: "early", Target: "cache", Applied: true, Effect: metrics.Effect{
			Before: metrics.Span{SuccessRate: nanf()},
			During: metrics.Span{Count: 10, SuccessRate: 1, Rate: 10, Latency: lat},
			After:  metrics.Span{Count: 10, SuccessRate: 1, Rate: 10, Latency: lat},
		}},
	}
	return sum
}

// TestUnknownNeverPasses: a check that reads a figure never measured is
// n/a, names the missing figures, and does not pass (issue 11).
func TestUnknownNeverPasses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr    string
		na      bool
		passed  bool
		missing []string
	}{
		// The cases.
		{"never.errors == 0", true, false, []string{"never.errors"}},
		{"never.latency.p99 != ms(100)", true, false, []string{"never.latency.p99"}},
		{"!(never.latency.p99 > ms(100))", true, false, []string{"never.latency.p99"}},
		// Counts of a scenario or step that never ran.
		{"never.count == 0", true, false, []string{"never.count"}},
		{"never.steps.lookup.errors < 1", true, false, []string{"never.steps.lookup.errors"}},
		{"never.errors_by.timeout == 0", true, false, []string{"never.errors_by.timeout"}},
		{"never.success_rate >= 0 || never.errors == 0", true, false, []string{"never.success_rate", "never.errors"}},
		{"never.rate_limit_wait < ms(1)", true, false, []string{"never.rate_limit_wait"}},
		{"never.hits + never.misses == 0", true, false, []string{"never.hits", "never.misses"}},
		// Outcome counts of a scenario that never started; those of one
		// that started are known, even when nothing completed.
		{"absent.due == 0", true, false, []string{"absent.due"}},
		{"absent.dropped + absent.interrupted + absent.late == 0", true, false, []string{"absent.dropped", "absent.interrupted", "absent.late"}},
		{"never.dropped == 0", false, true, nil},
		// A scenario whose every due iteration was dropped: its counts are
		// known; its latency (nothing completed) and its step's are not.
		{"alldropped.errors == 40", false, true, nil},
		{"alldropped.errors_by.dropped == 40 && alldropped.count == 0", false, true, nil},
		{"alldropped.success_rate == 0", false, true, nil},
		{"alldropped.latency.p99 < ms(5)", true, false, []string{"alldropped.latency.p99"}},
		{"alldropped.steps.lookup.errors == 0", true, false, []string{"alldropped.steps.lookup.errors"}},
		// worst() windows with no data.
		{"worst(never, s(1)).latency.p99 < ms(5)", true, false, []string{"worst(never, s(1)).latency.p99"}},
		// Fault windows that never happened, or had no data.
		{"faults.skipped.errors == 0", true, false, []string{"faults.skipped.errors"}},
		{"faults.skipped.during.count >= 0", true, false, []string{"faults.skipped.during.count"}},
		{"faults.early.before.errors == 0", true, false, []string{"faults.early.before.errors"}},
		{"faults.early.during.errors == 0", false, true, nil},
		{"faults.skipped.applied == false", false, true, nil},
		// Measured figures, and known(), stay as they were.
		{"sc.errors == 0", false, true, nil},
		{"sc.steps.lookup.latency.p99 != ms(100)", false, true, nil},
		{"sc.errors_by.timeout == 0", false, true, nil},
		{"!known(never.latency.p99)", false, true, nil},
		{"known(never.count)", false, false, nil},
		{"sc.count > 0 || never.errors == 0", false, true, nil}, // never.errors is not read
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			t.Parallel()
			p, err := plan.Parse("p.yaml", []byte(strings.Replace(unknownSrc, "%s", tt.expr, 1)), plan.Options{StepKinds: testKinds, Env: func(string) (string, bool) { return "", false }})
			if err != nil {
				t.Fatal(err)
			}
			prog, diags := Compile(p, testNames())
			if len(diags) > 0 {
				t.Fatal(diags)
			}
			out := prog.Evaluate(unknownSummary())
			r := out.Checks[0]
			if r.NA != tt.na || r.Passed != tt.passed || !slices.Equal(r.Missing, tt.missing) || r.Error != "" {
				t.Fatalf("na %v passed %v missing %q error %q; want na %v passed %v missing %q",
					r.NA, r.Passed, r.Missing, r.Error, tt.na, tt.passed, tt.missing)
			}
			if tt.na && (r.Credit != 0 || out.Score != 0) {
				t.Fatalf("an n/a check earned credit %v, score %v", r.Credit, out.Score)
			}
		})
	}
}

func nanf() float64 { return math.NaN() }
