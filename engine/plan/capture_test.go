package plan

import (
	"slices"
	"strings"
	"testing"

	"github.com/runplan/runplan/engine/tmpl"
)

// capturePlan is a plan whose scenario s1 has vars {sid} and the steps
// given (a YAML block indented under steps:, starting on line 11).
func capturePlan(steps string) string {
	return `version: 1
name: t
targets:
  cache: {driver: redis}
scenarios:
  s1:
    load: {vus: 1, iterations: 1}
    vars:
      sid: "{{ uniform(10) }}"
    steps:
` + steps
}

func TestCaptureValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		steps string
		want  []string   // diagnostics, in order; none: valid
		names [][]string // each step's capture names
	}{
		{name: "good", steps: "      - {name: incr, redis: [INCR, n], capture: {count: reply, twice: \"reply * 2\"}}\n" +
			"      - {name: get, redis: [GET, \"k{{ vars.count }}\"], capture: {value: \"vars.twice > 0 ? reply : ''\"}}\n",
			names: [][]string{{"count", "twice"}, {"value"}}},
		{name: "bad expression", steps: "      - {name: a, redis: [GET, k], capture: {v: \"reply.json.\"}}\n",
			want: []string{`p.yaml:11:60: step a: capture v: unexpected end of expression`}, names: [][]string{{"v"}}},
		{name: "unknown var", steps: "      - {name: a, redis: [GET, k], capture: {v: \"vars.sdi + reply\"}}\n",
			want: []string{`p.yaml:11:55: step a: capture v: unknown var "sdi" (did you mean "sid"?)`}, names: [][]string{{"v"}}},
		{name: "reads a later capture", steps: "      - {name: a, redis: [GET, k], capture: {v: \"vars.w\"}}\n" +
			"      - {name: b, redis: [GET, k], capture: {w: reply}}\n",
			want:  []string{`p.yaml:11:55: step a: capture v: vars.w is captured by step b, which runs after this one`},
			names: [][]string{{"v"}, {"w"}}},
		{name: "clash with a var", steps: "      - {name: a, redis: [GET, k], capture: {sid: reply}}\n",
			want: []string{`p.yaml:11:46: step a: capture sid: the scenario has a var sid`}, names: [][]string{nil}},
		{name: "captured twice", steps: "      - {name: a, redis: [GET, k], capture: {v: reply}}\n      - {name: b, redis: [GET, k], capture: {v: reply}}\n",
			want: []string{`p.yaml:12:46: step b: capture v: step a captures it already (line 11)`}, names: [][]string{{"v"}, nil}},
		{name: "not an identifier", steps: "      - {name: a, redis: [GET, k], capture: {my-v: reply}}\n",
			want: []string{`p.yaml:11:46: step a: capture name "my-v" must be an identifier`}, names: [][]string{nil}},
		{name: "template", steps: "      - {name: a, redis: [GET, k], capture: {v: \"{{ reply }}\"}}\n",
			want: []string{`p.yaml:11:50: step a: capture v: a capture is an expression, not a template`}, names: [][]string{{"v"}}},
		{name: "not a string", steps: "      - {name: a, redis: [GET, k], capture: {v: 5}}\n",
			want: []string{`p.yaml:11:49: scenarios.s1.steps[0].capture.v: got number, want string`}, names: [][]string{{"v"}}},
		{name: "not a mapping", steps: "      - {name: a, redis: [GET, k], capture: reply}\n",
			want: []string{`p.yaml:11:45: scenarios.s1.steps[0].capture: got string, want object`}, names: [][]string{nil}},
		{name: "sleep", steps: "      - {sleep: 1ms, capture: {v: reply}}\n",
			want: []string{`p.yaml:11:22: step: a sleep step has no reply to capture`}, names: [][]string{nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, diags := ParseAll("p.yaml", []byte(capturePlan(tt.steps)), Options{StepKinds: testKinds, Schema: testSchema, Env: env(nil)})
			errs := diags.Errors().Sorted()
			if len(errs) != len(tt.want) {
				t.Fatalf("diagnostics:\n%s\nwant %d: %q", errs.Error(), len(tt.want), tt.want)
			}
			for i, d := range errs {
				if !strings.HasPrefix(d.String(), tt.want[i]) {
					t.Errorf("diagnostic %d:\n%s\nwant it to start with\n%s", i, d.String(), tt.want[i])
				}
			}
			if p == nil {
				t.Fatal("no plan")
			}
			steps := p.Scenarios[0].Steps
			if len(steps) != len(tt.names) {
				t.Fatalf("%d steps, want %d", len(steps), len(tt.names))
			}
			for i, st := range steps {
				if !slices.Equal(st.CaptureNames, tt.names[i]) {
					t.Errorf("step %d captures %v, want %v", i, st.CaptureNames, tt.names[i])
				}
				if tt.want == nil && (st.Capture == nil) != (len(tt.names[i]) == 0) {
					t.Errorf("step %d: compiled captures %v, names %v", i, st.Capture, tt.names[i])
				}
			}
		})
	}
}

// A mix runs one step per iteration: no capture could feed another step.
func TestCaptureInMix(t *testing.T) {
	t.Parallel()
	src := `version: 1
name: t
targets:
  cache: {driver: redis}
scenarios:
  s1:
    load: {vus: 1, iterations: 1}
    mix:
      - {weight: 1, redis: [INCR, n], capture: {n: reply}}
      - {weight: 1, redis: [GET, "k{{ vars.n }}"]}
`
	_, diags := ParseAll("p.yaml", []byte(src), Options{StepKinds: testKinds, Schema: testSchema, Env: env(nil)})
	errs := diags.Errors().Sorted()
	want := `p.yaml:9:39: step in the mix of s1: capture feeds the later steps of an iteration, and a mix runs one step per iteration`
	if len(errs) != 1 || !strings.HasPrefix(errs[0].String(), want) {
		t.Fatalf("diagnostics:\n%s\nwant one starting with\n%s", errs.Error(), want)
	}
}

// The compiler of a step's templates knows the vars and the captures of
// the steps before it, and says which step captures a name read too early.
func TestStepCompiler(t *testing.T) {
	t.Parallel()
	p, diags := ParseAll("p.yaml", []byte(capturePlan(
		"      - {name: a, redis: [GET, k], capture: {x: reply}}\n"+
			"      - {name: b, redis: [GET, k], capture: {y: reply}}\n"+
			"      - {name: c, redis: [GET, k]}\n")), Options{StepKinds: testKinds, Schema: testSchema, Env: env(nil)})
	if errs := diags.Errors(); len(errs) > 0 {
		t.Fatal(errs.Error())
	}
	s := p.Scenarios[0]
	tests := []struct {
		step int
		src  string
		want string // "" when it compiles
	}{
		{0, "{{ vars.sid }}", ""},
		{0, "{{ vars.x }}", "vars.x is captured by this step"},
		{0, "{{ vars.y }}", "vars.y is captured by step b, which runs after this one"},
		{1, "{{ vars.x }}", ""},
		{1, "{{ vars.zzzz }}", `unknown var "zzzz" (vars: sid, x)`},
		{2, "{{ vars.x + vars.y + vars.sid }}", ""},
	}
	for _, tt := range tests {
		_, err := s.StepCompiler(tmpl.NewCompiler(s.VarNames...), tt.step).Compile(tt.src)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("step %d: %s: %v, want %q", tt.step, tt.src, err, tt.want)
		}
	}
}
