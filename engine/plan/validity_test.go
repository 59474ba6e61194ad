package plan

import (
	"strings"
	"testing"
	"time"
)

const validitySrc = `version: 1
targets: {c: {driver: redis}}
%s
scenarios:
  a:
    load: {rate: 10/s, duration: 5s%s}
    steps: [{redis: [GET, k]}]
  b:
    load: {rate: 10/s, duration: 5s}
    steps: [{redis: [GET, k]}]
`

func validityPlan(top, scen string) string {
	s := strings.Replace(validitySrc, "%s", top, 1)
	return strings.Replace(s, "%s", scen, 1)
}

// TestValiditySettings: validity limits are plan settings, per scenario,
// with defaults, overridable with --set (issue 11).
func TestValiditySettings(t *testing.T) {
	t.Parallel()
	def := Validity{LagP99: 10 * time.Millisecond, Late: 0.001}
	tests := []struct {
		name    string
		top, sc string
		sets    []string
		plan    Validity
		a, b    Validity
	}{
		{"defaults", "", "", nil, def, def, def},
		{"top level", "validity: {lag_p99: 50ms, late: 1%}", "", nil,
			Validity{50 * time.Millisecond, 0.01}, Validity{50 * time.Millisecond, 0.01}, Validity{50 * time.Millisecond, 0.01}},
		{"a fraction", "validity: {late: 0.005}", "", nil, Validity{10 * time.Millisecond, 0.005}, Validity{10 * time.Millisecond, 0.005}, Validity{10 * time.Millisecond, 0.005}},
		{"per scenario over the plan's", "validity: {lag_p99: 50ms}", ", validity: {late: 0.5%}", nil,
			Validity{50 * time.Millisecond, 0.001}, Validity{50 * time.Millisecond, 0.005}, Validity{50 * time.Millisecond, 0.001}},
		{"--set on a plan without validity", "", "", []string{"validity.lag_p99=50ms", "validity.late=0.2%"},
			Validity{50 * time.Millisecond, 0.002}, Validity{50 * time.Millisecond, 0.002}, Validity{50 * time.Millisecond, 0.002}},
		{"--set a scenario's", "", "", []string{"scenarios.b.load.validity.lag_p99=20ms"},
			def, def, Validity{20 * time.Millisecond, 0.001}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse("p.yaml", []byte(validityPlan(tt.top, tt.sc)), Options{StepKinds: testKinds, Schema: testSchema, Env: env(nil), Sets: tt.sets})
			if err != nil {
				t.Fatal(err)
			}
			if p.Validity != tt.plan || p.Scenarios[0].Validity != tt.a || p.Scenarios[1].Validity != tt.b {
				t.Fatalf("plan %+v, a %+v, b %+v; want %+v, %+v, %+v", p.Validity, p.Scenarios[0].Validity, p.Scenarios[1].Validity, tt.plan, tt.a, tt.b)
			}
		})
	}
}

func TestValidityErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, top, sc string
		sets          []string
		want          string
	}{
		{"lag not positive", "validity: {lag_p99: 0s}", "", nil, "p.yaml:3:21: validity.lag_p99 must be positive"},
		{"late above 100%", "validity: {late: 150%}", "", nil, "p.yaml:3:18: validity.late must be a share from 0 to 1"},
		{"late a number above 1", "validity: {late: 2}", "", nil, "p.yaml:3:18: validity.late"},
		{"late no percentage", "validity: {late: lots}", "", nil, "p.yaml:3:18: validity.late"},
		{"unknown key", "validity: {lag_p90: 5ms}", "", nil, `p.yaml:3:12: unknown key "lag_p90" in validity (did you mean "lag_p99"?)`},
		{"scenario's", "", ", validity: {lag_p99: 0s}", nil, "p.yaml:6:58: scenario a: load.validity.lag_p99 must be positive"},
		{"--set misspelt", "", "", []string{"validity.lag=5ms"}, "--set: validity.lag: the plan has no validity.lag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("p.yaml", []byte(validityPlan(tt.top, tt.sc)), Options{StepKinds: testKinds, Schema: testSchema, Env: env(nil), Sets: tt.sets})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v; want %q", err, tt.want)
			}
		})
	}
}
