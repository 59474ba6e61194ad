package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/load"
	"github.com/runplan/runplan/engine/report"
)

// onProbe rewrites an example plan so that it runs on the probe driver:
// every target becomes a probe and every driver step a probe call of delay
// (names, sleeps, loads and checks are kept). The load shape is the plan's
// own, and the probe works under testing/synctest, where real sockets
// cannot go.
func onProbe(t *testing.T, path string, delay time.Duration) string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	probeCall := func() *yaml.Node {
		return &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
			{Kind: yaml.ScalarNode, Value: "delay"}, {Kind: yaml.ScalarNode, Value: delay.String()}}}
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch root.Content[i].Value {
		case "targets":
			targets := root.Content[i+1]
			for j := 1; j < len(targets.Content); j += 2 {
				targets.Content[j] = &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
					{Kind: yaml.ScalarNode, Value: "driver"}, {Kind: yaml.ScalarNode, Value: "probe"}}}
			}
		case "scenarios":
			scs := root.Content[i+1]
			for j := 1; j < len(scs.Content); j += 2 {
				sc := scs.Content[j]
				for k := 0; k+1 < len(sc.Content); k += 2 {
					if sc.Content[k].Value != "steps" {
						continue
					}
					for _, step := range sc.Content[k+1].Content {
						for m := 0; m+1 < len(step.Content); m += 2 {
							switch step.Content[m].Value {
							case "name", "sleep", "expect":
							default:
								step.Content[m].Value, step.Content[m+1] = "probe", probeCall()
							}
						}
					}
				}
			}
		}
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// closedRampCounts models the closed executor for an iteration of length
// iter under stages of VUs: a VU not wanted looks again every 10 ms; a
// wanted one runs iterations back to back until it is not wanted any more
// or the stages are over. It returns the iterations completed per second.
func closedRampCounts(stages []load.Stage, vus int, iter time.Duration) []int64 {
	var out []int64
	for vu := 1; vu <= vus; vu++ {
		for at := time.Duration(0); ; {
			active, done := load.VUsAt(0, stages, at)
			if done {
				break
			}
			if vu > active {
				at += 10 * time.Millisecond
				continue
			}
			at += iter
			sec := int(at / time.Second)
			for len(out) <= sec {
				out = append(out, 0)
			}
			out[sec]++
		}
	}
	return out
}

// The example load plans achieve the shapes docs/LOAD.md describes, to the
// iteration, on a target of fixed latency under synctest's virtual clock
// (the command line's test runs the same plans on a real target, where only
// the accounting can be exact); and on such a target every check of theirs
// passes.
func TestExampleLoadPlanShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		plan  string
		check func(t *testing.T, r *report.Report)
	}{
		{"load-open-constant.yaml", func(t *testing.T, r *report.Report) {
			// 50/s for 6 s; the first second is the unmeasured warmup.
			s := scenario(t, r, "steady")
			wantSeries(t, s.Series, []int64{0, 50, 50, 50, 50, 50})
			// Scheduled and the outcomes cover the measured window only.
			if s.Count != 250 || s.Scheduled != 250 || s.Dropped != 0 || s.Late != 0 || s.Outcomes.Due != 250 || s.Outcomes.OK != 250 {
				t.Errorf("count %d scheduled %d dropped %d late %d outcomes %+v; want 250, 250, 0, 0, 250 ok of 250 due",
					s.Count, s.Scheduled, s.Dropped, s.Late, s.Outcomes)
			}
		}},
		{"load-open-ramp.yaml", func(t *testing.T, r *report.Report) {
			// 0→100/s over 3 s: the cumulative count is 50t²/3 (16.7, 66.7,
			// 150), hits numbered from 0; then 100/s for 2 s; then 100→20/s
			// over 1 s: 60.
			s := scenario(t, r, "ramp")
			wantSeries(t, s.Series, []int64{17, 50, 83, 100, 100, 60})
			if s.Count != 410 || s.Scheduled != 410 {
				t.Errorf("count %d scheduled %d; want 410", s.Count, s.Scheduled)
			}
		}},
		{"load-burst.yaml", func(t *testing.T, r *report.Report) {
			s := scenario(t, r, "signals")
			wantSeries(t, s.Series, []int64{40, 0, 40, 0, 40})
			if s.Count != 120 || s.Dropped != 0 {
				t.Errorf("count %d dropped %d; want 120, 0", s.Count, s.Dropped)
			}
		}},
		{"load-closed-ramp.yaml", func(t *testing.T, r *report.Report) {
			// 0→8 VUs over 3 s, 8 for 2 s, 8→0 over 1 s; an iteration is
			// the 1 ms lookup and 100 ms of think time.
			s := scenario(t, r, "users")
			stages := []load.Stage{{Duration: 3 * time.Second, Target: 8}, {Duration: 2 * time.Second, Target: 8}, {Duration: time.Second, Target: 0}}
			wantSeries(t, s.Series, closedRampCounts(stages, 8, 101*time.Millisecond))
			if s.MaxVUs != 8 {
				t.Errorf("max VUs %d, want 8", s.MaxVUs)
			}
		}},
		{"load-closed.yaml", func(t *testing.T, r *report.Report) {
			// 4 VUs loop a 1 ms call and 50 ms of sleep while under 3 s: 59
			// iterations each (the last begins at 2.958 s).
			for name, want := range map[string]int64{"for_a_while": 4 * 59, "shared_count": 200, "each_vu": 100} {
				if s := scenario(t, r, name); s.Count != want || s.Errors != 0 {
					t.Errorf("%s: count %d errors %d, want %d and none", name, s.Count, s.Errors, want)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.plan, func(t *testing.T) {
			t.Parallel()
			src := onProbe(t, filepath.Join("..", "plans", tt.plan), time.Millisecond)
			synctest.Test(t, func(t *testing.T) {
				r := runPlan(t, src, engine.Options{}, context.Background())
				tt.check(t, r)
				if !r.Valid {
					t.Error("the measurement is invalid on a virtual clock")
				}
				for _, c := range r.Checks {
					if !c.Passed {
						t.Errorf("check %s failed: %s", c.Name, c.Display)
					}
				}
			})
		})
	}
}

// wantSeries compares a series' counts with want; intervals past want
// must be empty (the run's tail after the last completion).
func wantSeries(t *testing.T, got []report.Point, want []int64) {
	t.Helper()
	counts := make([]int64, len(got))
	for i, p := range got {
		counts[i] = p.Count
	}
	tail := counts[min(len(want), len(counts)):]
	if len(counts) < len(want) || !slices.Equal(counts[:len(want)], want) || slices.ContainsFunc(tail, func(n int64) bool { return n != 0 }) {
		t.Errorf("series %v, want %v", counts, want)
	}
}
