package engine_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/plan"
)

// The live figures an export reads: each step's calls so far by error
// class, the outcomes and the open model's due hits, the latest interval's
// figures, and which planned faults are in force — exact in a bubble.
func TestLiveProgressForExport(t *testing.T) {
	t.Parallel()
	p := parseProbePlan(t, `version: 1
targets: {p: {driver: probe}}
scenarios:
  sc:
    load: {rate: 100/s, duration: 3s, max_vus: 10}
    steps: [{name: call, probe: {fail_every: 4, delay: 1ms}}]
faults:
  - {name: slow, target: p, at: 1s, for: 1s, slow: {delay: 1ms}}
`)
	synctest.Test(t, func(t *testing.T) {
		prog, done := startRun(t, p)
		if fs := prog.FaultProgress(); len(fs) != 1 || fs[0].Name != "slow" || fs[0].Target != "p" || fs[0].Active {
			t.Errorf("at the start: faults %+v", fs)
		}
		at := func(d time.Duration) (engine.ScenarioProgress, []engine.FaultProgress) {
			time.Sleep(d)
			synctest.Wait()
			ps := prog.Progress()
			if len(ps) != 1 || len(ps[0].Steps) != 1 {
				t.Fatalf("progress %+v", ps)
			}
			return ps[0], prog.FaultProgress()
		}
		// 1.5 s in: 151 hits due (0 ms … 1500 ms), all but the last done,
		// each in 1 ms (2 ms in the fault); every fourth call failed.
		sp, fs := at(1500 * time.Millisecond)
		st := sp.Steps[0]
		if !sp.Open || sp.Scheduled != 151 || sp.OK != 113 || sp.Failed != 37 || sp.Dropped != 0 || sp.Late != 0 {
			t.Errorf("1.5 s: open %v, scheduled %d, ok %d, failed %d, dropped %d, late %d; want 151 due, 113 ok, 37 failed",
				sp.Open, sp.Scheduled, sp.OK, sp.Failed, sp.Dropped, sp.Late)
		}
		if st.Name != "call" || st.Target != "p" || st.Totals.Count != 150 || st.Totals.Errors != 37 || st.Totals.ErrorsBy["probe"] != 37 {
			t.Errorf("1.5 s: step %+v", st)
		}
		if !sp.LagOK || sp.LagNow != 0 {
			t.Errorf("1.5 s: lag %v (known %v), want 0", sp.LagNow, sp.LagOK)
		}
		// The last closed interval is [0 s, 1 s), before the fault.
		if !st.RateOK || st.Rate != 100 || !st.Latency.OK || st.Latency.P99 < time.Millisecond || st.Latency.P99 >= 2*time.Millisecond {
			t.Errorf("1.5 s: last interval rate %v (%v), p99 %v; want 100/s, 1 ms", st.Rate, st.RateOK, st.Latency.P99)
		}
		if len(fs) != 1 || !fs[0].Active {
			t.Errorf("1.5 s: faults %+v, want slow active", fs)
		}
		sp, fs = at(time.Second)
		if len(fs) != 1 || fs[0].Active || len(sp.Faults) != 0 {
			t.Errorf("2.5 s: faults %+v (scenario's %v), want none active", fs, sp.Faults)
		}
		// Now it is [1 s, 2 s), the fault's.
		if l := sp.Steps[0].Latency; !l.OK || l.P99 < 2*time.Millisecond {
			t.Errorf("2.5 s: last interval p99 %v, want at least 2 ms (the fault's)", l.P99)
		}
		<-done
	})
}

// parseProbePlan parses a plan of probe targets given as src.
func parseProbePlan(t *testing.T, src string) *plan.Plan {
	t.Helper()
	p, err := plan.Parse("t.yaml", []byte(src), plan.Options{StepKinds: driver.Drivers(), Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startRun prepares p and runs it in a goroutine of its own (in the
// caller's bubble); done is closed when the run is over.
func startRun(t *testing.T, p *plan.Plan) (prog *engine.Program, done <-chan struct{}) {
	t.Helper()
	prog, err := engine.Prepare(p, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		if _, err := prog.Run(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	return prog, ch
}
