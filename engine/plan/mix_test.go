package plan

import (
	"strings"
	"testing"
	"time"
)

// mixPlan is a plan whose scenario has a mix; entries are the mix's
// entries, one per line, each a flow mapping (line 9 is the first).
func mixPlan(entries ...string) string {
	s := `version: 1
targets:
  cache: {driver: redis}
scenarios:
  mixed:
    load: {vus: 1, iterations: 10}
    mix:
      - {name: read, weight: 10, redis: [GET, k]}
`
	for _, e := range entries {
		s += "      - " + e + "\n"
	}
	return s
}

// Think time in a mix: sleep entries with a weight are mix entries like
// any other.
func TestMixSleepEntriesValid(t *testing.T) {
	t.Parallel()
	src := mixPlan("{sleep: 200ms, weight: 3}", "{name: long_think, sleep: 1s, weight: 0.5}", "{sleep: 0s, weight: 1}")
	p, err := Parse("p.yaml", []byte(src), Options{StepKinds: testKinds, Schema: testSchema, Env: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	s := p.Scenarios[0]
	if !s.Mix || len(s.Steps) != 4 {
		t.Fatalf("mix %v with %d entries, want a mix of 4", s.Mix, len(s.Steps))
	}
	want := []struct {
		name   string
		kind   string
		sleep  time.Duration
		weight float64
	}{
		{"read", "redis", 0, 10},
		{"sleep", "sleep", 200 * time.Millisecond, 3},
		{"long_think", "sleep", time.Second, 0.5},
		{"sleep_2", "sleep", 0, 1},
	}
	for i, w := range want {
		st := s.Steps[i]
		if st.Name != w.name || st.Kind != w.kind || st.Sleep != w.sleep || st.Weight != w.weight || st.Target != "" && w.kind == "sleep" || st.Invalid {
			t.Errorf("entry %d = %+v, want %+v", i, st, w)
		}
	}
}

// Bad sleep entries in a mix are reported at their place.
func TestMixSleepEntriesInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		entry string
		want  string // "line:col: message" after "p.yaml:"
	}{
		{"bad duration", "{sleep: fast, weight: 3}", "9:17: scenarios.mixed.mix[1].sleep: invalid duration \"fast\""},
		{"negative duration", "{sleep: -1s, weight: 3}", "9:17: scenarios.mixed.mix[1].sleep: invalid duration \"-1s\": must not be negative"},
		{"no unit", "{sleep: 200, weight: 3}", "9:17: scenarios.mixed.mix[1].sleep: a duration needs a unit"},
		{"no weight", "{sleep: 200ms}", "9:9: step in the mix of mixed: give it a weight"},
		{"zero weight", "{sleep: 200ms, weight: 0}", "9:32: scenarios.mixed.mix[1].weight: must be more than 0 (got 0): an entry of a mix is drawn by its weight, and one of weight 0 never would be (remove it); for think time, draw a sleep entry such as {sleep: 200ms, weight: 3}"},
		{"zero weight of a step", "{name: write, redis: [SET, k, v], weight: 0}", "9:51: scenarios.mixed.mix[1].weight: must be more than 0 (got 0): an entry of a mix"},
		{"negative weight", "{sleep: 200ms, weight: -2}", "9:32: scenarios.mixed.mix[1].weight: must be more than 0 (got -2)"},
		{"string weight", "{sleep: 200ms, weight: lots}", "9:32: scenarios.mixed.mix[1].weight: got string, want number"},
		{"with a target", "{sleep: 200ms, weight: 1, target: cache}", "9:35: step: a sleep step has no target"},
		{"with expect", "{sleep: 200ms, weight: 1, expect: {status: 200}}", "9:43: step: a sleep step has nothing to expect"},
		{"sleep and another kind", "{sleep: 200ms, weight: 1, redis: [GET, k]}", "9:35: step: one kind per step; this step has both sleep and redis"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("p.yaml", []byte(mixPlan(tt.entry)), Options{StepKinds: testKinds, Schema: testSchema, Env: env(nil)})
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), "p.yaml:"+tt.want) {
				t.Errorf("errors:\n%v\nwant p.yaml:%s", err, tt.want)
			}
		})
	}
}
