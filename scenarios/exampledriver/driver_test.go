// Package exampledriver_test is the worked example of docs/DRIVERS.md and
// the proof of issue 12: a driver that lives entirely in a _test file —
// registered from init, like any driver — brings a target option, a step
// kind, a fault kind, step metrics, server figures, a schema fragment and
// advice, and the engine validates, runs, checks and reports it without a
// line of engine/, schema/ or engine/report/ naming it (proof_test.go).
//
// The driver is "queue": each target is an in-memory queue of items, with a
// capacity. A step pushes items onto it or pops one off; a fault,
// queue_stall, makes pops (or pushes) fail while it is active, as a stalled
// broker would. Everything is in-process: no server, no I/O.
package exampledriver_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runplan/runplan/engine/decode"
	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/driver"
)

// The driver's name: a plan's targets select it with `driver: queue`, and
// it is the key of its steps (`queue: {op: push}`).
const driverName = "queue"

// Register from init, as database/sql drivers do. A real driver lives in
// its own package under scenarios/ and is linked into runplan by one blank
// import in scenarios/all; this one is linked into this test binary only.
func init() { driver.Register(driverName, queueDriver{}) }

// queueDriver is the driver. It holds no state: every target's state is in
// its Config (parsed options) and its Target (the open queue). Safe for
// concurrent use.
type queueDriver struct{}

// Interface guards: the required contract and the optional interfaces this
// driver implements (the engine finds the optional ones by type assertion).
var (
	_ driver.Driver          = queueDriver{}
	_ driver.Faulter         = queueDriver{}
	_ driver.StepMetricser   = queueDriver{}
	_ driver.ServerMetricser = queueDriver{}
	_ driver.Advisor         = queueDriver{}
	_ driver.FaultPreparer   = (*queueConfig)(nil)
	_ driver.ServerStatser   = (*queueTarget)(nil)
	_ driver.Describer       = (*queueTarget)(nil)
)

// ---------------------------------------------------------------------------
// Schema: what the plan may say about the driver. The engine assembles the
// plan schema from the core and every registered driver's fragment, and
// refuses what the fragment refuses at its node, with "did you mean",
// before Configure or Prepare see it. A real driver embeds this as
// schema.json (//go:embed) — same shape, same call.

const schemaJSON = `{
  "target": {
    "type": "object",
    "additionalProperties": false,
    "description": "An in-memory queue (the example driver of docs/DRIVERS.md).",
    "properties": {
      "driver": true,
      "capacity": {"type": "integer", "minimum": 1, "maximum": 1000000, "description": "Items the queue holds. Default 1024."}
    }
  },
  "step": {
    "type": "object",
    "additionalProperties": false,
    "required": ["op"],
    "properties": {
      "op": {"enum": ["push", "pop"], "description": "push adds count items; pop takes one."},
      "count": {"$ref": "#/$defs/queueCount"}
    }
  },
  "faults": {
    "queue_stall": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "affects": {"enum": ["pop", "push", "both"], "description": "Which operations fail while stalled. Default pop."}
      }
    }
  },
  "$defs": {
    "queueCount": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "Items per push. Default 1."}
  }
}`

// schemaFragment is schemaJSON, decoded once; a fragment that does not
// decode fails every test of the package at init.
var schemaFragment = func() driver.SchemaFragment {
	f, err := driver.ParseSchemaFragment([]byte(schemaJSON))
	if err != nil {
		panic("queue: schema: " + err.Error())
	}
	return f
}()

// Schema returns the driver's part of the plan schema.
func (queueDriver) Schema() driver.SchemaFragment { return schemaFragment }

// ---------------------------------------------------------------------------
// Configure: the target's options, decoded once, strictly, with positions.

// targetOptions are a target's options as the plan writes them, decoded by
// engine/decode: `yaml` tags name the keys, `default`, `min` and `max` say
// what the decoder enforces. "driver" is read by the engine; unlisted keeps
// it out of "did you mean" offers.
type targetOptions struct {
	Driver   string `yaml:"driver" decode:"unlisted"`
	Capacity int    `yaml:"capacity" default:"1024" min:"1" max:"1000000"`
}

// Configure decodes target t once, without I/O. Every later call — Prepare
// for each step, PrepareFault for each fault, Open — works from the Config
// it returns.
func (queueDriver) Configure(t driver.TargetSpec) (driver.Config, error) {
	if t.URL != "" {
		// The schema has no url for this driver; a URL can still come in
		// from --set, so the driver says so itself, at the target.
		return nil, fmt.Errorf("queue: target %q: a queue is in-process and has no url", t.Name)
	}
	var o targetOptions
	if _, err := decode.Decode(t.Node, &o, decode.Options{Prefix: "queue: ", Root: fmt.Sprintf("target %q", t.Name)}); err != nil {
		return nil, err // every problem, joined, each at its node
	}
	return &queueConfig{name: t.Name, capacity: o.Capacity}, nil
}

// queueConfig is one target, configured. Immutable after Configure, so safe
// for concurrent use.
type queueConfig struct {
	name     string
	capacity int
}

// ---------------------------------------------------------------------------
// Steps: decoded and validated by Prepare, run by Do.

// stepOptions are the value under a step's `queue:` key.
type stepOptions struct {
	Op    string `yaml:"op" decode:"required" oneof:"push pop"`
	Count int    `yaml:"count" default:"1" min:"1" max:"1000"`
}

// Prepare decodes one step against this target, without I/O. It checks what
// the schema cannot: a push larger than the target's capacity, placed at
// the `count` the plan wrote (decode.Fields gives the node).
func (c *queueConfig) Prepare(s driver.StepSpec) (driver.Step, error) {
	var o stepOptions
	f, err := decode.Decode(s.Node, &o, decode.Options{Prefix: "queue: ", Root: fmt.Sprintf("step %q", s.Name)})
	if err != nil {
		return nil, err
	}
	if o.Op == "pop" && f.Has("count") {
		return nil, diag.Errorf(f.Key("count"), "queue: step %q: count is for push; a pop takes one item", s.Name)
	}
	if o.Count > c.capacity {
		return nil, diag.Errorf(f.Value("count"), "queue: step %q: count %d is more than target %q holds (capacity %d)",
			s.Name, o.Count, c.name, c.capacity)
	}
	st := &queueStep{push: o.Op == "push", count: o.Count, reply: s.WantReply}
	// The outcomes a Do returns are built here, once: returning a
	// driver.Outcome, Counters array included, then allocates nothing.
	st.okPush.Counters[slotPushed] = int64(o.Count)
	st.okPop.Counters[slotPopped] = 1
	st.emptyPop.Counters[slotEmptyPops] = 1
	return st, nil
}

// Failure classes of the driver's steps, in the report's errors_by and in
// checks as errors_by.<class>.
const (
	classStalled = "stalled"
	classFull    = "full"
)

var (
	errStalled = errors.New("queue: stalled")
	errFull    = errors.New("queue: full")
)

// queueStep is a prepared step. Bind sets its target once, before the run;
// Do is then called by many virtual users at once.
type queueStep struct {
	push  bool
	count int
	// reply is set when the step has captures (StepSpec.WantReply): Do
	// then returns the queue's depth after the call as its reply.
	reply bool
	q     *queueTarget

	okPush, okPop, emptyPop driver.Outcome
}

// Bind takes the target the step runs against (the one Open returned for
// the step's target).
func (s *queueStep) Bind(t driver.Target) error {
	q, ok := t.(*queueTarget)
	if !ok {
		return fmt.Errorf("queue: bind: target is a %T, not a queue", t)
	}
	s.q = q
	return nil
}

// Do pushes or pops. It reports what happened in the Outcome — success, or
// a failure with its class, and the step metrics in Counters — and lets the
// engine time the call. No allocation: the outcomes are prepared values and
// the errors are sentinels.
func (s *queueStep) Do(_ context.Context, _ *driver.Iteration) driver.Outcome {
	q := s.q
	if s.push {
		if q.stalled.Load()&stallPush != 0 {
			return driver.Outcome{Err: errStalled, Class: classStalled}
		}
		q.mu.Lock()
		defer q.mu.Unlock()
		if q.depth+s.count > q.capacity {
			return driver.Outcome{Err: errFull, Class: classFull}
		}
		q.depth += s.count
		q.pushed += int64(s.count)
		return s.withReply(s.okPush, q.depth)
	}
	if q.stalled.Load()&stallPop != 0 {
		return driver.Outcome{Err: errStalled, Class: classStalled}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pops++
	if q.depth == 0 {
		q.empty++
		return s.withReply(s.emptyPop, 0) // a success: an empty queue is an answer, counted in empty_pops
	}
	q.depth--
	return s.withReply(s.okPop, q.depth)
}

// withReply returns out with the queue's depth as its reply when the step
// has captures (capture: {depth: reply}); out as it is otherwise, so that
// a step without captures still allocates nothing.
func (s *queueStep) withReply(out driver.Outcome, depth int) driver.Outcome {
	if s.reply {
		out.Reply = int64(depth)
	}
	return out
}

// ---------------------------------------------------------------------------
// Open and the target.

// Open "connects": it makes the queue. A real driver dials here (through
// env.Via when the plan has network faults on the target).
func (c *queueConfig) Open(context.Context, driver.Env) (driver.Target, error) {
	return &queueTarget{name: c.name, capacity: c.capacity}, nil
}

// queueTarget is an open queue. Safe for concurrent use: the depth under
// mu, the stall flags atomic.
type queueTarget struct {
	name     string
	capacity int

	mu     sync.Mutex
	depth  int
	pushed int64
	pops   int64 // pops answered, empty or not
	empty  int64 // pops that found the queue empty

	stalled atomic.Uint32 // stallPop | stallPush while a queue_stall is active
	stalls  atomic.Int64  // queue_stall faults started
}

func (t *queueTarget) Kind() string { return driver.KindEmbedded }
func (t *queueTarget) Addr() string { return "queue " + t.name }
func (t *queueTarget) Close() error { return nil }

// Software and Notices describe the target for the report (Describer).
func (t *queueTarget) Software() string { return "in-memory queue (test driver)" }
func (t *queueTarget) Notices() []string {
	return []string{"in-process test queue: figures are not a broker's"}
}

// ---------------------------------------------------------------------------
// Step metrics: declared once; the engine records them from
// Outcome.Counters, names them in checks (<scenario>.pushed,
// <scenario>.steps.<step>.empty_ratio), writes them into the report and its
// schema, and shows them in every renderer.

// Slots in driver.Outcome.Counters: counters and durations take one each,
// in declaration order; ratios take none.
const (
	slotPushed = iota
	slotPopped
	slotEmptyPops
)

var stepMetrics = []driver.StepMetric{
	{Name: "pushed", Kind: driver.Counter, Help: "items pushed onto the queue"},
	{Name: "popped", Kind: driver.Counter, Help: "pops that took an item"},
	{Name: "empty_pops", Kind: driver.Counter, Help: "pops that found the queue empty"},
	{Name: "empty_ratio", Kind: driver.Ratio, Help: "empty_pops / (popped + empty_pops): the share of pops that found nothing",
		Numerator: "empty_pops", Denominator: []string{"popped", "empty_pops"}},
}

// StepMetrics declares the figures of the driver's steps.
func (queueDriver) StepMetrics() []driver.StepMetric { return stepMetrics }

// ---------------------------------------------------------------------------
// Server figures: what the queue itself says, sampled at the start, every
// interval and at the end — the last sample after every fault is undone.
// Checks read them as <target>.server.<name>.

// ServerStats returns the queue's raw figures: depth (items in it), pushed
// (items ever pushed), pops and empty_pops (pops answered, and those that
// found it empty), stalls (queue_stall faults started) and stalled (1 while
// one is active).
func (t *queueTarget) ServerStats(context.Context) (map[string]float64, error) {
	t.mu.Lock()
	depth, pushed, pops, empty := t.depth, t.pushed, t.pops, t.empty
	t.mu.Unlock()
	stalled := 0.0
	if t.stalled.Load() != 0 {
		stalled = 1
	}
	return map[string]float64{"depth": float64(depth), "pushed": float64(pushed), "pops": float64(pops), "empty_pops": float64(empty),
		"stalls": float64(t.stalls.Load()), "stalled": stalled}, nil
}

// ServerMetrics derives the <target>.server.* figures from the samples.
func (queueDriver) ServerMetrics() []driver.ServerMetric {
	last := func(name string) func(_, last, _ map[string]float64, _ time.Duration) (float64, bool) {
		return func(_, l, _ map[string]float64, _ time.Duration) (float64, bool) {
			v, ok := l[name]
			return v, ok
		}
	}
	return []driver.ServerMetric{
		{Name: "depth", Help: "items in the queue at the end", Compute: last("depth")},
		{Name: "peak_depth", Help: "the most items seen in the queue by a sample",
			Compute: func(_, _, peak map[string]float64, _ time.Duration) (float64, bool) {
				v, ok := peak["depth"]
				return v, ok
			}},
		// A server figure named like a ratio step metric is shown beside
		// the client's in the report (a scenario's hit_ratios), each with
		// the window it covers.
		{Name: "empty_ratio", Help: "the queue's own share of empty pops over the whole run, all clients together",
			Compute: func(first, last, _ map[string]float64, _ time.Duration) (float64, bool) {
				pops := last["pops"] - first["pops"]
				return (last["empty_pops"] - first["empty_pops"]) / pops, pops > 0
			}},
		{Name: "stalls", Help: "queue_stall faults started during the run",
			Compute: func(first, last, _ map[string]float64, _ time.Duration) (float64, bool) {
				f, ok1 := first["stalls"]
				l, ok2 := last["stalls"]
				return l - f, ok1 && ok2
			}},
		{Name: "stalled", Help: "1 when a stall was still active at the end (it should not be: faults are undone)",
			Compute: last("stalled")},
	}
}

// ---------------------------------------------------------------------------
// Faults: kinds known without a target (Faulter), prepared on a target's
// Config (FaultPreparer), started and undone by the engine's timeline.

// FaultKinds lists the driver's fault kinds: a fault with a `queue_stall:`
// key on a queue target is this driver's.
func (queueDriver) FaultKinds() []string { return []string{"queue_stall"} }

const (
	stallPop uint32 = 1 << iota
	stallPush
)

// stallOptions are the value under a fault's `queue_stall:` key.
type stallOptions struct {
	Affects string `yaml:"affects" default:"pop" oneof:"pop push both"`
}

// PrepareFault decodes one fault without I/O.
func (c *queueConfig) PrepareFault(f driver.FaultSpec) (driver.Fault, error) {
	var o stallOptions
	if _, err := decode.Decode(f.Node, &o, decode.Options{Prefix: "queue: ", Root: fmt.Sprintf("fault %q", f.Name)}); err != nil {
		return nil, err
	}
	flags := map[string]uint32{"pop": stallPop, "push": stallPush, "both": stallPop | stallPush}[o.Affects]
	return queueStall{flags: flags}, nil
}

// queueStall is a prepared queue_stall.
type queueStall struct{ flags uint32 }

// Start stalls the queue and returns the undo that un-stalls it. The engine
// calls the undo when the fault's window closes, and at the end of the run
// in every case.
func (s queueStall) Start(_ context.Context, t driver.Target) (func(context.Context) error, error) {
	q, ok := t.(*queueTarget)
	if !ok {
		return nil, fmt.Errorf("queue: queue_stall: target is a %T, not a queue", t)
	}
	q.stalls.Add(1)
	q.stalled.Or(s.flags)
	return func(context.Context) error {
		q.stalled.And(^s.flags)
		return nil
	}, nil
}

// ---------------------------------------------------------------------------
// Advice: recommendations in the driver's vocabulary, from figures only.

// minPops is how many pops a scenario needs before its empty_ratio is worth
// advice: a handful of pops says nothing.
const minPops = 100

// AdviseScenario advises when most pops of a scenario found the queue empty.
func (queueDriver) AdviseScenario(s driver.ScenarioFigures) []string {
	var empty, pops int64
	for _, st := range s.Steps {
		empty += st.Counters["empty_pops"]
		pops += st.Counters["popped"] + st.Counters["empty_pops"]
	}
	if pops < minPops || 2*empty <= pops {
		return nil
	}
	return []string{fmt.Sprintf("%s: %.1f%% of pops found the queue empty (empty_ratio, %d of %d pops): the consumer outruns the producer; push more or pop less often.",
		s.Scenario, 100*float64(empty)/float64(pops), empty, pops)}
}

// AdviseErrors advises on a full queue and on stalls.
func (queueDriver) AdviseErrors(e driver.ErrorFigures) []string {
	switch e.Class {
	case classFull:
		return []string{fmt.Sprintf("%s: %s pushes found the queue full: raise the target's capacity or pop more.", e.Where(), e.Share())}
	case classStalled:
		return []string{fmt.Sprintf("%s: %s calls failed on a stalled queue (queue_stall): the fault's window, not the queue.", e.Where(), e.Share())}
	}
	return nil
}

// AdviseTarget advises on a stall that outlived the run (an undo that did
// not happen); nothing otherwise.
func (queueDriver) AdviseTarget(t driver.TargetFigures) []string {
	if t.Server["stalled"] == 1 {
		return []string{fmt.Sprintf("target %s: the queue was still stalled at the end (stalled): a queue_stall was not undone.", t.Target)}
	}
	return nil
}
