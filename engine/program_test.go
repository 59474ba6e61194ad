package engine

import (
	"context"
	"testing"
	"time"

	"github.com/runplan/runplan/engine/load"
)

// pick draws a mix's step from the cumulative weights: step i for u in
// [cum[i-1], cum[i]) / total, never a step of weight zero.
func TestPick(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		weights []float64
		u       float64
		want    int
	}{
		{"first", []float64{1, 1, 2}, 0, 0},
		{"end of first", []float64{1, 1, 2}, 0.2499, 0},
		{"start of second", []float64{1, 1, 2}, 0.25, 1},
		{"start of third", []float64{1, 1, 2}, 0.5, 2},
		{"last", []float64{1, 1, 2}, 0.9999, 2},
		{"one step", []float64{3}, 0.7, 0},
		{"zero weight skipped", []float64{0, 1}, 0, 1},
		{"zero weight between", []float64{1, 0, 1}, 0.5, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ps := &preparedScenario{}
			var cum float64
			for _, w := range tt.weights {
				cum += w
				ps.cumWeights = append(ps.cumWeights, cum)
			}
			if got := ps.pick(tt.u); got != tt.want {
				t.Errorf("pick(%g) over %v = %d, want %d", tt.u, tt.weights, got, tt.want)
			}
		})
	}
}

// withOnStart gives the run its own copy of the prepared executor: the
// Program's stays as prepared.
func TestWithOnStartKeepsPrepared(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		exec executor
	}{
		{"closed", load.Closed{VUs: 1, Iterations: 1}},
		{"open", load.Open{Pacer: load.ConstantPacer{Rate: 1, Duration: time.Second}, MaxVUs: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			called := false
			e := withOnStart(tt.exec, func(time.Time) { called = true }, nil)
			switch x := e.(type) {
			case load.Closed:
				if x.Stop.OnStart == nil || tt.exec.(load.Closed).Stop.OnStart != nil {
					t.Error("OnStart not set on the copy alone")
				}
				x.Stop.OnStart(time.Now())
			case load.Open:
				if x.Stop.OnStart == nil || tt.exec.(load.Open).Stop.OnStart != nil {
					t.Error("OnStart not set on the copy alone")
				}
				x.Stop.OnStart(time.Now())
			default:
				t.Fatalf("withOnStart returned %T", e)
			}
			if !called {
				t.Error("the copy's OnStart is not the one given")
			}
		})
	}
}

// Progress is nil before Run; Run refuses a second start.
func TestProgressBeforeRun(t *testing.T) {
	t.Parallel()
	prog := &Program{}
	if p := prog.Progress(); p != nil {
		t.Errorf("Progress before Run = %v, want nil", p)
	}
	prog.live.Store(&runState{prog: prog})
	if _, err := prog.Run(context.Background()); err != ErrRanAlready {
		t.Errorf("Run on a started program = %v, want ErrRanAlready", err)
	}
}
