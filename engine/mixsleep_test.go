package engine_test

import (
	"context"
	"math"
	"strconv"
	"testing"
	"testing/synctest"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/report"
)

func step(t *testing.T, s report.Scenario, name string) report.Step {
	t.Helper()
	for _, st := range s.Steps {
		if st.Name == name {
			return st
		}
	}
	t.Fatalf("scenario %s has no step %s", s.Name, name)
	return report.Step{}
}

// Think time in a mix: a sleep entry is drawn by its weight like any entry,
// the iteration then sleeps, and the sleep is recorded as a sleep step
// under steps: is (a step of its own, counted, its time its latency, no
// errors). Under synctest's clock a sleep lasts exactly its duration.
func TestMixSleepEntries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		load string
		// the weights of the probe, the short and the long think time.
		weights [3]float64
	}{
		{"closed 1:3", "{vus: 4, iterations: 800}", [3]float64{1, 3, 0}},
		{"closed 2:1:1", "{vus: 4, iterations: 800}", [3]float64{2, 1, 1}},
		{"open 1:1:2", "{rate: 200/s, duration: 4s, max_vus: 400}", [3]float64{1, 1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				src := `version: 1
seed: 5
targets: {p: {driver: probe}}
scenarios:
  mixed:
    load: ` + tt.load + `
    mix:
      - {name: work, weight: ` + ftoa(tt.weights[0]) + `, probe: {delay: 1ms}}
      - {name: think, weight: ` + ftoa(tt.weights[1]) + `, sleep: 200ms}
`
				if tt.weights[2] > 0 {
					src += `      - {weight: ` + ftoa(tt.weights[2]) + `, sleep: 1s}
`
				}
				src += `  plain:
    load: {vus: 1, iterations: 3}
    steps: [{probe: {delay: 1ms}}, {sleep: 200ms}]
checks:
  - {name: think_counted, expr: "mixed.steps.think.count > 0 && mixed.steps.think.errors == 0"}
`
				r := runPlan(t, src, engine.Options{}, context.Background())
				mixed := scenario(t, r, "mixed")
				names := []string{"work", "think", "sleep"}
				var total float64
				for _, w := range tt.weights {
					total += w
				}
				var sum int64
				for i, w := range tt.weights {
					if w == 0 {
						continue
					}
					st := step(t, mixed, names[i])
					sum += st.Count
					// Binomial: within 5 standard deviations of its share.
					n := float64(mixed.Count)
					want := n * w / total
					sd := math.Sqrt(n * w / total * (1 - w/total))
					if got := float64(st.Count); got < want-5*sd || got > want+5*sd {
						t.Errorf("%s drawn %d times of %d, want about %.0f (weight %g of %g)", names[i], st.Count, mixed.Count, want, w, total)
					}
					if st.Errors != 0 {
						t.Errorf("%s: %d errors", names[i], st.Errors)
					}
				}
				if sum != mixed.Count || mixed.Count == 0 {
					t.Errorf("steps drawn %d times, iterations %d: each iteration runs one entry", sum, mixed.Count)
				}
				// Recorded as a sleep step under steps: is: its duration is its
				// latency (service time: the open model's response basis
				// starts at the schedule, which the sleep may not share).
				plainSleep := step(t, scenario(t, r, "plain"), "sleep")
				think := step(t, mixed, "think")
				for what, st := range map[string]report.Step{"steps: sleep": plainSleep, "mix think": think} {
					lat := st.Latency
					if st.ServiceLatency != nil {
						lat = st.ServiceLatency
					}
					// Exact in virtual time; the histogram keeps 3 significant
					// digits.
					if lat == nil || lat.Min < 199.5 || lat.Max > 200.5 {
						t.Errorf("%s latency %+v, want 200ms", what, lat)
					}
				}
				if !check(t, r, "think_counted").Passed {
					t.Error("check on the think step's figures failed")
				}
			})
		})
	}
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
