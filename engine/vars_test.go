package engine_test

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/runplan/runplan/engine"
)

// A var that fails when it runs fails its iteration with class template,
// as a step's template does, and no step of that iteration runs; the other
// VU's iterations are unaffected.
func TestVarFailureFailsTheIteration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		vars       string
		wantFailed int64
	}{
		// uniform(0) fails on VU 1 only.
		{"vu 1 fails", `{one: "{{ vu - 1 }}", bad: "{{ uniform(vars.one) }}"}`, 3},
		{"none fails", `{one: "{{ vu }}", bad: "{{ uniform(vars.one) }}"}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := `version: 1
name: t
targets: {p: {driver: probe}}
scenarios:
  sessions:
    load: {vus: 2, per_vu_iterations: 3}
    vars: ` + tt.vars + `
    steps:
      - name: call
        probe: {delay: 1ms}
`
			synctest.Test(t, func(t *testing.T) {
				r := runPlan(t, src, engine.Options{}, context.Background())
				s := scenario(t, r, "sessions")
				if s.Count != 6 || s.Errors != tt.wantFailed || s.ErrorsBy["template"] != tt.wantFailed {
					t.Errorf("count %d errors %d %v, want 6 and %d of class template", s.Count, s.Errors, s.ErrorsBy, tt.wantFailed)
				}
				if len(s.Steps) != 1 || s.Steps[0].Count != 6-tt.wantFailed {
					t.Errorf("steps %+v, want the call run %d times", s.Steps, 6-tt.wantFailed)
				}
			})
		})
	}
}
