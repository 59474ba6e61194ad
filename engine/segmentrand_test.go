package engine

import (
	"testing"

	"github.com/runplan/runplan/engine/load"
	"github.com/runplan/runplan/engine/plan"
)

// TestSegmentVUsDrawAsThePlans: for a given seed, a segment's VU v draws
// from the same random source as the whole plan's VU of the same global
// number, and sees that number (docs/SCALE.md).
func TestSegmentVUsDrawAsThePlans(t *testing.T) {
	t.Parallel()
	src := `version: 1
name: r
seed: 7
scenarios:
  users:
    load: {vus: 5, per_vu_iterations: 1}
    steps: [{name: nap, sleep: 1ms}]
`
	p, err := plan.Parse("r.yaml", []byte(src), plan.Options{Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	draws := func(seg load.Segment) map[int][3]uint64 {
		prog, err := Prepare(p, Options{RunID: "r", Segment: seg})
		if err != nil {
			t.Fatal(err)
		}
		sr := prog.newScenarioRun(prog.scenarios[0], nil)
		out := map[int][3]uint64{}
		for _, vs := range sr.vus {
			out[vs.it.VU] = [3]uint64{vs.it.Rand.Uint64(), vs.it.Rand.Uint64(), vs.it.Rand.Uint64()}
		}
		return out
	}
	whole := draws(load.Segment{})
	if len(whole) != 5 {
		t.Fatalf("the whole plan has VUs %v, want 1..5", whole)
	}
	seen := map[int]bool{}
	for i := range 2 {
		for vu, d := range draws(load.Segment{Index: i, Count: 2}) {
			if seen[vu] {
				t.Fatalf("VU %d in two segments", vu)
			}
			seen[vu] = true
			if (vu-1)%2 != i {
				t.Errorf("segment %d/2 holds the plan's VU %d", i, vu)
			}
			if d != whole[vu] {
				t.Errorf("segment %d/2's VU %d draws %v, the plan's %v", i, vu, d, whole[vu])
			}
		}
	}
	if len(seen) != 5 {
		t.Errorf("the segments hold VUs %v, want 1..5", seen)
	}
}
