package engine_test

import (
	"context"
	"strconv"
	"testing"
	"testing/synctest"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/metrics"
	"github.com/runplan/runplan/engine/report"
)

// Run-time errors reach the report as samples: the message of each
// distinct error, its count and the plan position of what failed — the
// step for a step's error, the scenario for its vars — at most
// metrics.MaxErrorSamples distinct messages each.
func TestErrorSamplesInTheReport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vars string
		step string
		// wantIter are the expected iteration samples (message substring →
		// count), wantStep the step's; at is where they point.
		wantIter, wantStep map[string]int64
		iterAt, stepAt     string
	}{
		{
			name: "a step's errors", vars: `{}`, step: `{delay: 1ms, fail_every: 2}`,
			wantStep: map[string]int64{"probe: failure on request": 8}, stepAt: "t.yaml:9:9",
		},
		{
			// VUs 1 and 2 fail with uniform(-1) and uniform(0): two
			// distinct messages, each naming the template.
			name: "a var's errors", vars: `{one: "{{ vu - 2 }}", bad: "{{ uniform(vars.one) }}"}`, step: `{delay: 1ms}`,
			wantIter: map[string]int64{
				"tmpl: var bad: {{ uniform(vars.one) }}: uniform(-1): n must be positive": 4,
				"tmpl: var bad: {{ uniform(vars.one) }}: uniform(0): n must be positive":  4,
			},
			iterAt: "t.yaml:5:3",
		},
		{
			// Seven VUs fail, each with its own message: five are kept.
			name: "bounded", vars: `{one: "{{ vu - 7 }}", bad: "{{ uniform(vars.one) }}"}`, step: `{delay: 1ms}`,
			iterAt: "t.yaml:5:3",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vus := 4
			if tt.name == "bounded" {
				vus = 8
			}
			src := `version: 1
name: t
targets: {p: {driver: probe}}
scenarios:
  sessions:
    load: {vus: ` + strconv.Itoa(vus) + `, per_vu_iterations: 4}
    vars: ` + tt.vars + `
    steps:
      - name: call
        probe: ` + tt.step + `
`
			synctest.Test(t, func(t *testing.T) {
				r := runPlan(t, src, engine.Options{}, context.Background())
				s := scenario(t, r, "sessions")
				if tt.name == "bounded" {
					if len(s.ErrorSamples) != metrics.MaxErrorSamples {
						t.Fatalf("%d samples, want %d: %+v", len(s.ErrorSamples), metrics.MaxErrorSamples, s.ErrorSamples)
					}
					var sum int64
					for _, e := range s.ErrorSamples {
						sum += e.Count
					}
					if sum != 5*4 || s.ErrorsBy["template"] != 7*4 {
						t.Errorf("samples count %d failures of %d, want 20 of 28", sum, s.ErrorsBy["template"])
					}
					return
				}
				assertSamples(t, "iterations", s.ErrorSamples, tt.wantIter, tt.iterAt, "template")
				assertSamples(t, "step", s.Steps[0].ErrorSamples, tt.wantStep, tt.stepAt, "")
			})
		})
	}
}

func assertSamples(t *testing.T, what string, got []report.ErrorSample, want map[string]int64, at, class string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: samples %+v, want %v", what, got, want)
	}
	for _, e := range got {
		n, ok := want[e.Message]
		if !ok {
			t.Errorf("%s: unexpected sample %+v, want one of %v", what, e, want)
			continue
		}
		if e.Count != n || e.At != at || (class != "" && e.Class != class) {
			t.Errorf("%s: sample %+v, want count %d at %s", what, e, n, at)
		}
	}
}
