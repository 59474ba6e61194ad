package engine_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/driver"
)

// probe is an in-process driver for the engine's own tests: its steps take
// a fixed time, stall during a window of the run, fail on request, and its
// target reports server statistics. It lets the engine's timing be tested
// under testing/synctest's virtual clock, where real sockets cannot go.
//
//	targets: {p: {driver: probe}}
//	steps: [{probe: {delay: 1ms, stall_at: 3s, stall_for: 1s, fail_every: 0, abort_after: 0}}]
type probe struct{}

type probeTarget struct {
	opened time.Time
	calls  atomic.Int64
	extra  atomic.Int64 // ns added to every call while a "slow" fault is on
	undone atomic.Int64 // faults undone
	// An "aftermath" fault: calls fail until failUntil and, after they
	// stop failing, take slowBy longer until slowUntil (unix ns; math.MaxInt64
	// while the fault is on).
	failUntil, slowUntil, slowBy atomic.Int64
	// server numbers the server process behind the target: a "failover"
	// fault moves it to the next one.
	server atomic.Int64
}

// failoverFault is the probe's failover: from its start another server
// answers (the server statistics say so). Nothing to undo.
type failoverFault struct{}

func (failoverFault) Start(ctx context.Context, t driver.Target) (func(context.Context) error, error) {
	t.(*probeTarget).server.Add(1)
	return func(context.Context) error { return nil }, nil
}

// IdentifiedServerStats reports the calls served and which server answered.
func (t *probeTarget) IdentifiedServerStats(ctx context.Context) (map[string]float64, string, error) {
	m, err := t.ServerStats(ctx)
	return m, fmt.Sprintf("probe-%d", t.server.Load()), err
}

// slowFault is the probe's own fault kind: calls take Delay longer.
type slowFault struct{ delay time.Duration }

// aftermathFault makes calls fail while it is on and for FailFor after its
// undo, then take Delay longer until SlowFor after its undo: a server that
// recovers from errors and from latency at different times.
type aftermathFault struct{ delay, failFor, slowFor time.Duration }

func (probe) FaultKinds() []string { return []string{"slow", "aftermath", "failover"} }

func (probe) PrepareFault(f driver.FaultSpec) (driver.Fault, error) {
	var cfg struct {
		Delay   string `yaml:"delay"`
		FailFor string `yaml:"fail_for"`
		SlowFor string `yaml:"slow_for"`
	}
	if err := f.Node.Decode(&cfg); err != nil {
		return nil, diag.Errorf(f.Node, "probe: %v", err)
	}
	var ds [3]time.Duration
	for i, src := range []string{cfg.Delay, cfg.FailFor, cfg.SlowFor} {
		if src == "" {
			continue
		}
		d, err := time.ParseDuration(src)
		if err != nil {
			return nil, diag.Errorf(f.Node, "probe: %s: %v", f.Kind, err)
		}
		ds[i] = d
	}
	switch f.Kind {
	case "failover":
		return failoverFault{}, nil
	case "aftermath":
		return aftermathFault{delay: ds[0], failFor: ds[1], slowFor: ds[2]}, nil
	}
	return slowFault{delay: ds[0]}, nil
}

func (a aftermathFault) Start(ctx context.Context, t driver.Target) (func(context.Context) error, error) {
	pt := t.(*probeTarget)
	pt.slowBy.Store(int64(a.delay))
	pt.failUntil.Store(math.MaxInt64)
	pt.slowUntil.Store(math.MaxInt64)
	return func(context.Context) error {
		now := time.Now().UnixNano()
		pt.failUntil.Store(now + int64(a.failFor))
		pt.slowUntil.Store(now + int64(a.slowFor))
		pt.undone.Add(1)
		return nil
	}, nil
}

func (s slowFault) Start(ctx context.Context, t driver.Target) (func(context.Context) error, error) {
	pt := t.(*probeTarget)
	pt.extra.Add(int64(s.delay))
	return func(context.Context) error {
		pt.extra.Add(-int64(s.delay))
		pt.undone.Add(1)
		return nil
	}, nil
}

type probeStep struct {
	delay, stallAt, stallFor time.Duration
	failEvery, abortAfter    int64
	ops                      int
	t                        *probeTarget
}

var errProbe = errors.New("probe: failure on request")

func (probe) CheckTarget(driver.TargetSpec) error { return nil }

func (probe) Open(ctx context.Context, t driver.TargetSpec, env driver.Env) (driver.Target, error) {
	return &probeTarget{opened: time.Now()}, nil
}

func (probe) Prepare(s driver.StepSpec) (driver.Step, error) {
	var cfg struct {
		Delay      string `yaml:"delay"`
		StallAt    string `yaml:"stall_at"`
		StallFor   string `yaml:"stall_for"`
		FailEvery  int64  `yaml:"fail_every"`
		Ops        int    `yaml:"ops"`
		AbortAfter int64  `yaml:"abort_after"`
	}
	if err := s.Node.Decode(&cfg); err != nil {
		return nil, diag.Errorf(s.Node, "probe: %v", err)
	}
	st := &probeStep{failEvery: cfg.FailEvery, abortAfter: cfg.AbortAfter, ops: cfg.Ops}
	for _, f := range []struct {
		src string
		dst *time.Duration
	}{{cfg.Delay, &st.delay}, {cfg.StallAt, &st.stallAt}, {cfg.StallFor, &st.stallFor}} {
		if f.src == "" {
			continue
		}
		d, err := time.ParseDuration(f.src)
		if err != nil {
			return nil, diag.Errorf(s.Node, "probe: %v", err)
		}
		*f.dst = d
	}
	return st, nil
}

func (t *probeTarget) Kind() string { return driver.KindEmbedded }
func (t *probeTarget) Addr() string { return "probe" }
func (t *probeTarget) Close() error { return nil }
func (s *probeStep) Bind(t driver.Target) error {
	pt, ok := t.(*probeTarget)
	if !ok {
		return fmt.Errorf("probe: target is %T", t)
	}
	s.t = pt
	return nil
}

// ServerStats reports how many calls the target served.
func (t *probeTarget) ServerStats(context.Context) (map[string]float64, error) {
	return map[string]float64{"calls": float64(t.calls.Load())}, nil
}

func (probe) ServerMetrics() []driver.ServerMetric {
	return []driver.ServerMetric{
		{Name: "calls", Help: "calls served during the run", Compute: func(first, last, peak map[string]float64, _ time.Duration) (float64, bool) {
			return last["calls"] - first["calls"], true
		}},
		{Name: "missing", Help: "a figure this server never provides", Compute: func(first, last, _ map[string]float64, _ time.Duration) (float64, bool) {
			v, ok := last["missing"]
			return v, ok
		}},
	}
}

func (s *probeStep) Do(ctx context.Context, it *driver.Iteration) driver.Outcome {
	n := s.t.calls.Add(1)
	d := s.delay + time.Duration(s.t.extra.Load())
	if now := time.Now().UnixNano(); now < s.t.failUntil.Load() {
		if s.delay > 0 {
			time.Sleep(s.delay)
		}
		return driver.Outcome{Err: errProbe, Class: "aftermath"}
	} else if now < s.t.slowUntil.Load() {
		d += time.Duration(s.t.slowBy.Load())
	}
	if s.stallFor > 0 {
		// Inside the stall window, a call waits until the window ends.
		el := time.Since(s.t.opened)
		if el >= s.stallAt && el < s.stallAt+s.stallFor {
			d += s.stallAt + s.stallFor - el
		}
	}
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return driver.Outcome{Err: ctx.Err()}
		}
	}
	if s.abortAfter > 0 && n >= s.abortAfter {
		return driver.Outcome{Err: fmt.Errorf("probe: budget spent: %w", driver.ErrAbortScenario), Class: "budget"}
	}
	if s.failEvery > 0 && n%s.failEvery == 0 {
		return driver.Outcome{Err: errProbe, Class: "probe"}
	}
	return driver.Outcome{Ops: s.ops}
}

func init() { driver.Register("probe", probe{}) }

// Schema accepts any options: the test needs none checked.
func (probe) Schema() driver.SchemaFragment { return driver.SchemaFragment{} }
