package engine_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/plan"
)

// prepareSrc prepares a plan from source, as run would, for render.
func prepareSrc(t *testing.T, src string, opts engine.Options) *engine.Program {
	t.Helper()
	p, err := plan.Parse("t.yaml", []byte(src), plan.Options{StepKinds: driver.Drivers(), Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	opts.RunID = engine.RenderRunID
	prog, err := engine.Prepare(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

func renderText(t *testing.T, prog *engine.Program, o engine.RenderOptions) (string, *engine.Rendering) {
	t.Helper()
	r, err := prog.Render(o)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return b.String(), r
}

const renderPlan = `version: 1
name: t
targets: {p: {driver: probe}}
scenarios:
  mixed:
    load: {vus: 2, iterations: 10}
    vars: {n: "{{ uniform(1000) }}", m: "{{ 3 - iteration }}", bad: "{{ uniform(vars.m) }}"}
    mix:
      - {name: work, weight: 1, probe: {delay: 1ms}}
      - {name: think, weight: 1, sleep: 200ms}
  plain:
    load: {vus: 1, iterations: 10}
    steps:
      - name: call
        probe: {delay: 1ms}
      - sleep: 5ms
`

// Render shows each iteration's vars, the step the mix drew, sleeps and
// steps a driver cannot render; a var that fails shows its error at the
// scenario, and render goes on with the next iteration.
func TestRenderIterations(t *testing.T) {
	t.Parallel()
	prog := prepareSrc(t, renderPlan, engine.Options{Seed: 7, HasSeed: true})
	out, r := renderText(t, prog, engine.RenderOptions{Iterations: 5})
	if len(r.Scenarios) != 2 || len(r.Scenarios[0].Iterations) != 5 || len(r.Scenarios[1].Iterations) != 5 {
		t.Fatalf("scenarios %+v, want 2 of 5 iterations", r.Scenarios)
	}
	// Iterations 3 and 4 have m = 0 and -1: uniform fails.
	if r.Failed != 2 {
		t.Errorf("failed %d, want 2:\n%s", r.Failed, out)
	}
	mixed := r.Scenarios[0]
	for i, it := range mixed.Iterations {
		if it.VU != i%2+1 || it.Number != int64(i) {
			t.Errorf("iteration %d on VU %d numbered %d, want VU %d", i, it.VU, it.Number, i%2+1)
		}
		if it.Mix != "work" && it.Mix != "think" {
			t.Errorf("iteration %d: mix drew %q", i, it.Mix)
		}
		if i >= 3 {
			if it.Error == nil || it.Error.At != "t.yaml:5:3" || !strings.Contains(it.Error.Message, "{{ uniform(vars.m) }}: uniform(0): n must be positive") && i == 3 {
				t.Errorf("iteration %d: error %+v, want uniform(0) at t.yaml:5:3", i, it.Error)
			}
			if len(it.Steps) != 0 {
				t.Errorf("iteration %d: steps %+v rendered after its vars failed", i, it.Steps)
			}
			continue
		}
		if it.Error != nil || len(it.Vars) != 3 || len(it.Steps) != 1 || it.Steps[0].Name != it.Mix {
			t.Errorf("iteration %d: %+v, want 3 vars and the drawn step", i, it)
		}
	}
	for _, want := range []string{
		"scenario mixed (2 VUs; iteration n on VU n mod 2 + 1)",
		"  iteration 3 (VU 2)\n    mix: drew ",
		"    ERROR t.yaml:5:3: tmpl: var bad: {{ uniform(vars.m) }}: uniform(0): n must be positive\n",
		"    call → p (t.yaml:14:9)\n      probe step (not renderable)\n    sleep (t.yaml:16:9)\n      sleep 5ms\n",
		"2 iteration(s) failed to render",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Render leaves the Program as it was: the same output again.
	if again, _ := renderText(t, prog, engine.RenderOptions{Iterations: 5}); again != out {
		t.Errorf("a second render differs:\n%s\nvs\n%s", again, out)
	}
}

// The same seed renders the same values, another seed others; --scenario
// renders one scenario, and an unknown one is refused with the names.
func TestRenderSeedAndScenario(t *testing.T) {
	t.Parallel()
	render := func(seed uint64) string {
		out, _ := renderText(t, prepareSrc(t, renderPlan, engine.Options{Seed: seed, HasSeed: true}), engine.RenderOptions{Iterations: 3, Scenario: "mixed"})
		return out
	}
	a, b, c := render(1), render(1), render(2)
	if a != b {
		t.Errorf("seed 1 rendered twice differs:\n%s\nvs\n%s", a, b)
	}
	if a == c {
		t.Errorf("seeds 1 and 2 render the same:\n%s", a)
	}
	if strings.Contains(a, "scenario plain") {
		t.Errorf("--scenario mixed rendered plain too:\n%s", a)
	}
	_, err := prepareSrc(t, renderPlan, engine.Options{}).Render(engine.RenderOptions{Scenario: "mixd"})
	if err == nil || !strings.Contains(err.Error(), `no scenario "mixd" (scenarios: mixed, plain)`) {
		t.Errorf("unknown scenario: %v", err)
	}
}
