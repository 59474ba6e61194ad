package fault_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/fault"
	"github.com/runplan/runplan/engine/metrics"
)

// recorder is a driver fault that records when it is started and undone,
// and fails as told.
type recorder struct {
	mu       sync.Mutex
	events   []string
	startErr error
	undoErrs int // undo fails this many times before it succeeds
}

func (r *recorder) Start(context.Context, driver.Target) (func(context.Context) error, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "start")
	return func(context.Context) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.events = append(r.events, "undo")
		if r.undoErrs > 0 {
			r.undoErrs--
			return errors.New("still paused")
		}
		return nil
	}, r.startErr
}

func (r *recorder) log() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// The timeline switches a fault on at its time and off after its length,
// reports it active in between to the scenarios it affects only, and
// measures it from the completions it observed.
func TestTimelineOnOff(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		p := &fault.Planned{Name: "pause", Target: "cache", Kind: "pause", At: time.Second, For: 2 * time.Second,
			Probability: 1, Scenarios: []string{"w"}, Driver: rec}
		stop := make(chan struct{})
		start := time.Now()
		tl := fault.Start(context.Background(), start, fault.Config{Faults: []*fault.Planned{p}}, stop)
		if tl.Observer("other") != nil {
			t.Error("a scenario the fault does not affect observes it")
		}
		obs := tl.Observer("w")
		if obs == nil {
			t.Fatal("no observer for the affected scenario")
		}
		for at := 100 * time.Millisecond; at < 5*time.Second; at += 100 * time.Millisecond {
			time.Sleep(time.Until(start.Add(at)))
			synctest.Wait()
			obs(metrics.Sample{At: time.Since(start), Service: time.Millisecond})
			on := time.Second <= at && at < 3*time.Second
			if got := tl.Active("w"); (len(got) == 1) != on {
				t.Fatalf("at %s: active %v, want on=%v", at, got, on)
			}
			if got := tl.Active("other"); len(got) != 0 {
				t.Fatalf("at %s: %v active on a scenario the fault does not affect", at, got)
			}
		}
		close(stop)
		sums := tl.Wait()
		if len(sums) != 1 {
			t.Fatalf("%d summaries", len(sums))
		}
		s := sums[0]
		if !s.Applied || s.Start != time.Second || s.End != 3*time.Second || s.Skipped != "" || s.Err != "" {
			t.Errorf("summary %+v", s)
		}
		if s.Effect.Before.Count == 0 || s.Effect.During.Count == 0 || s.Effect.After.Count == 0 {
			t.Errorf("effect windows %+v / %+v / %+v: want completions in each", s.Effect.Before, s.Effect.During, s.Effect.After)
		}
		if got := rec.log(); !slices.Equal(got, []string{"start", "undo"}) {
			t.Errorf("driver saw %v", got)
		}
	})
}

// Every fault still active when the run stops is undone, with retries; a
// fault not reached is marked so; one not drawn is never started; one that
// fails to start has its partial start undone.
func TestTimelineStop(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		untilEnd := &recorder{undoErrs: 2}
		late := &recorder{}
		undrawn := &recorder{}
		broken := &recorder{startErr: errors.New("no such node")}
		faults := []*fault.Planned{
			{Name: "until-end", Kind: "pause", Probability: 1, Driver: untilEnd},
			{Name: "late", Kind: "pause", At: time.Hour, For: time.Second, Probability: 1, Driver: late},
			{Name: "undrawn", Kind: "pause", Probability: 0, Driver: undrawn},
			{Name: "broken", Kind: "pause", Probability: 1, Driver: broken},
		}
		stop := make(chan struct{})
		tl := fault.Start(context.Background(), time.Now(), fault.Config{Faults: faults}, stop)
		time.Sleep(time.Second)
		close(stop)
		sums := tl.Wait()
		byName := map[string]*metrics.FaultSummary{}
		for _, s := range sums {
			byName[s.Name] = s
		}
		if s := byName["until-end"]; !s.Applied || s.UndoErr != "" || !s.UntilEnd || s.Effect.Why != "the fault lasted until the end of the run" {
			t.Errorf("until-end: %+v", s)
		}
		if got := untilEnd.log(); !slices.Equal(got, []string{"start", "undo", "undo", "undo"}) {
			t.Errorf("until-end: driver saw %v, want the undo tried three times", got)
		}
		if s := byName["late"]; s.Applied || s.Skipped != "the run ended before it was due" || len(late.log()) != 0 {
			t.Errorf("late: %+v, driver saw %v", s, late.log())
		}
		if s := byName["undrawn"]; s.Applied || s.Skipped != "not drawn (probability 0)" || len(undrawn.log()) != 0 {
			t.Errorf("undrawn: %+v, driver saw %v", s, undrawn.log())
		}
		if s := byName["broken"]; s.Applied || s.Err != "no such node" || !slices.Equal(broken.log(), []string{"start", "undo"}) {
			t.Errorf("broken: %+v, driver saw %v", s, broken.log())
		}
	})
}

// The draw of a fault with a probability is the seed's: the same seed
// makes the same faults.
func TestTimelineDrawIsSeeded(t *testing.T) {
	t.Parallel()
	drawn := func(seed uint64) []bool {
		var faults []*fault.Planned
		for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
			faults = append(faults, &fault.Planned{Name: n, Kind: "pause", At: time.Hour, Probability: 0.5, Driver: &recorder{}})
		}
		stop := make(chan struct{})
		close(stop)
		var out []bool
		for _, s := range fault.Start(context.Background(), time.Now(), fault.Config{Faults: faults, Seed: seed}, stop).Wait() {
			out = append(out, s.Skipped != "not drawn (probability 0.5)")
		}
		return out
	}
	if a, b := drawn(7), drawn(7); !slices.Equal(a, b) {
		t.Errorf("seed 7 drew %v, then %v", a, b)
	}
	if a := drawn(7); !slices.Contains(a, true) || !slices.Contains(a, false) {
		t.Errorf("seed 7 drew %v: want some of 8 faults at probability 0.5 drawn and some not", a)
	}
}

// A fault another process applies (Elsewhere: another execution segment)
// is never started here, and reported skipped with that reason.
func TestTimelineElsewhere(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		p := &fault.Planned{Name: "pause", Target: "cache", Kind: "pause", At: time.Second, For: time.Second,
			Probability: 1, Scenarios: []string{"w"}, Driver: rec, Elsewhere: "applied by segment 0 of 2"}
		stop := make(chan struct{})
		start := time.Now()
		tl := fault.Start(context.Background(), start, fault.Config{Faults: []*fault.Planned{p}}, stop)
		time.Sleep(3 * time.Second)
		close(stop)
		sums := tl.Wait()
		if got := rec.log(); len(got) != 0 {
			t.Fatalf("the fault ran here: %v", got)
		}
		if len(sums) != 1 || sums[0].Applied || sums[0].Skipped != "applied by segment 0 of 2" {
			t.Fatalf("summary %+v, want skipped: applied by segment 0 of 2", sums[0])
		}
	})
}
