package exampledriver_test

import (
	"context"
	"errors"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/driver"
)

// node parses src as the YAML value a driver is handed.
func node(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

// openQueue configures and opens a queue target the way the engine does.
func openQueue(t *testing.T, target string) (*queueConfig, driver.Target) {
	t.Helper()
	d, err := driver.Lookup(driverName)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := d.Configure(driver.TargetSpec{Name: "q", Driver: driverName, Node: node(t, target)})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := cfg.Open(context.Background(), driver.Env{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tg.Close() })
	return cfg.(*queueConfig), tg
}

// prepare prepares and binds a step on tg.
func prepare(t *testing.T, cfg *queueConfig, tg driver.Target, src string) driver.Step {
	t.Helper()
	st, err := cfg.Prepare(driver.StepSpec{Name: "s", Node: node(t, src), Warn: func(*yaml.Node, string) {}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Bind(tg); err != nil {
		t.Fatal(err)
	}
	return st
}

// The target option's default comes from its decode tag; a given value
// wins.
func TestQueueCapacity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		target string
		want   int
	}{
		{"{driver: queue}", 1024},
		{"{driver: queue, capacity: 3}", 3},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			t.Parallel()
			if cfg, _ := openQueue(t, tt.target); cfg.capacity != tt.want {
				t.Errorf("capacity %d, want %d", cfg.capacity, tt.want)
			}
		})
	}
}

// What each call reports: the class of a failure and the step metrics in
// Counters, by slot — with a queue_stall active and after its undo.
func TestQueueOutcomes(t *testing.T) {
	t.Parallel()
	type call struct {
		step     string // "push" or "pop"
		class    string // "": success
		counters driver.Counters
	}
	pushed := driver.Counters{slotPushed: 1}
	popped := driver.Counters{slotPopped: 1}
	empty := driver.Counters{slotEmptyPops: 1}
	tests := []struct {
		name    string
		stall   string // the fault's options; "": no fault
		before  []call // before the stall (or without one)
		during  []call // while it is active
		undoing []call // after its undo
	}{
		{name: "no fault", before: []call{{"pop", "", empty}, {"push", "", pushed}, {"push", "", pushed},
			{"push", classFull, driver.Counters{}}, {"pop", "", popped}, {"pop", "", popped}, {"pop", "", empty}}},
		{name: "pops stalled", stall: "{}", before: []call{{"push", "", pushed}},
			during:  []call{{"pop", classStalled, driver.Counters{}}, {"push", "", pushed}},
			undoing: []call{{"pop", "", popped}, {"pop", "", popped}, {"pop", "", empty}}},
		{name: "pushes stalled", stall: "{affects: push}",
			during:  []call{{"push", classStalled, driver.Counters{}}, {"pop", "", empty}},
			undoing: []call{{"push", "", pushed}}},
		{name: "both stalled", stall: "{affects: both}", before: []call{{"push", "", pushed}},
			during:  []call{{"push", classStalled, driver.Counters{}}, {"pop", classStalled, driver.Counters{}}},
			undoing: []call{{"pop", "", popped}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, tg := openQueue(t, "{driver: queue, capacity: 2}")
			steps := map[string]driver.Step{"push": prepare(t, cfg, tg, "{op: push}"), "pop": prepare(t, cfg, tg, "{op: pop}")}
			do := func(phase string, calls []call) {
				for i, c := range calls {
					out := steps[c.step].Do(context.Background(), &driver.Iteration{})
					if out.Class != c.class || (out.Err == nil) != (c.class == "") || out.Counters != c.counters {
						t.Errorf("%s, call %d (%s): class %q, err %v, counters %v; want class %q, counters %v",
							phase, i, c.step, out.Class, out.Err, out.Counters, c.class, c.counters)
					}
				}
			}
			do("before", tt.before)
			if tt.stall == "" {
				return
			}
			f, err := cfg.PrepareFault(driver.FaultSpec{Name: "jam", Kind: "queue_stall", Node: node(t, tt.stall)})
			if err != nil {
				t.Fatal(err)
			}
			undo, err := f.Start(context.Background(), tg)
			if err != nil {
				t.Fatal(err)
			}
			do("during", tt.during)
			if err := undo(context.Background()); err != nil {
				t.Fatal(err)
			}
			do("after", tt.undoing)
		})
	}
}

// Do allocates nothing: the outcomes, counters included, are values
// prepared once, and failures return sentinel errors. Not parallel:
// testing.AllocsPerRun counts the whole process's allocations.
func TestQueueDoAllocatesNothing(t *testing.T) {
	cfg, tg := openQueue(t, "{driver: queue, capacity: 1}")
	push, pop := prepare(t, cfg, tg, "{op: push}"), prepare(t, cfg, tg, "{op: pop}")
	it := &driver.Iteration{}
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() {
		push.Do(ctx, it)
		push.Do(ctx, it) // full
		pop.Do(ctx, it)
		pop.Do(ctx, it) // empty
	}); n != 0 {
		t.Errorf("%v allocations per push, push, pop, pop; want 0", n)
	}
	if out := push.Do(ctx, it); out.Err != nil {
		t.Fatal(out.Err)
	}
	if out := push.Do(ctx, it); !errors.Is(out.Err, errFull) {
		t.Errorf("a push onto a full queue: %v, want %v", out.Err, errFull)
	}
}

// A step prepared for captures (WantReply) returns the queue's depth after
// the call as its reply; one without returns none.
func TestQueueReply(t *testing.T) {
	t.Parallel()
	cfg, tg := openQueue(t, "{driver: queue, capacity: 4}")
	spec := func(src string, want bool) driver.Step {
		st, err := cfg.Prepare(driver.StepSpec{Name: "s", Node: node(t, src), WantReply: want, Warn: func(*yaml.Node, string) {}})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Bind(tg); err != nil {
			t.Fatal(err)
		}
		return st
	}
	push, pop, quiet := spec("{op: push, count: 2}", true), spec("{op: pop}", true), spec("{op: push}", false)
	it := &driver.Iteration{}
	ctx := context.Background()
	for i, tt := range []struct {
		step driver.Step
		want any
	}{
		{push, int64(2)}, {quiet, nil}, {pop, int64(2)}, {pop, int64(1)}, {pop, int64(0)}, {pop, int64(0)},
	} {
		out := tt.step.Do(ctx, it)
		if out.Err != nil || out.Reply != tt.want {
			t.Errorf("call %d: reply %v (err %v), want %v", i, out.Reply, out.Err, tt.want)
		}
	}
}
