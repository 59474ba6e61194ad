package plan

import (
	"testing"
)

// An anchored step, check or stage used again through an alias (`- *get`)
// is that step, check or stage — not an entry the decoder skips.
func TestAliasedSequenceItems(t *testing.T) {
	t.Parallel()
	src := `version: 1
targets: {c: {driver: redis}}
scenarios:
  one:
    load: {vus: 1, stages: [&stage {duration: 1s, target: 2}]}
    steps:
      - &get {name: get, redis: [GET, k]}
  two:
    load: {vus: 1, stages: [*stage, {duration: 1s, target: 1}]}
    steps:
      - *get
      - <<: *get
        name: get2
checks:
  - &chk {name: one_ran, expr: one.count > 0}
  - *chk
`
	p, err := Parse("p.yaml", []byte(src), Options{StepKinds: testKinds, Schema: testSchema, Env: env(nil)})
	if err == nil {
		t.Fatal("two checks of the same name were not refused")
	}
	src = src[:len(src)-len("  - *chk\n")]
	p, err = Parse("p.yaml", []byte(src), Options{StepKinds: testKinds, Schema: testSchema, Env: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	var two *Scenario
	for _, s := range p.Scenarios {
		if s.Name == "two" {
			two = s
		}
	}
	if two == nil {
		t.Fatal("no scenario two")
	}
	var names []string
	for _, st := range two.Steps {
		names = append(names, st.Name)
	}
	if len(names) != 2 || names[0] != "get" || names[1] != "get2" {
		t.Errorf("scenario two's steps %v, want [get get2]", names)
	}
	if len(two.Load.Stages) != 2 {
		t.Errorf("scenario two's stages %+v, want 2", two.Load.Stages)
	}
	if len(p.Checks) != 1 || p.Checks[0].Name != "one_ran" {
		t.Errorf("checks %+v", p.Checks)
	}
}
