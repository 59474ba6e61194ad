package webhook_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/plan"
	"github.com/runplan/runplan/engine/report"
	_ "github.com/runplan/runplan/scenarios/all"
)

// runPlan runs an example plan on local targets and fails the test for
// every check that did not pass, except those named in judged: the caller
// judges them (checks of how fast deliveries went judge the machine they
// run on as much as the driver, and are only logged).
func runPlan(t *testing.T, path string, judged []string, sets ...string) *report.Report {
	t.Helper()
	env := func(string) (string, bool) { return "", false } // never a real webhook
	p, err := plan.Load(path, plan.Options{StepKinds: driver.Drivers(), Env: env, Sets: sets})
	if err != nil {
		t.Fatal(err)
	}
	prog, err := engine.Prepare(p, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := prog.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Every target is local: the embedded sink, and for Redis a
	// redis-server started for the run (or miniredis).
	for _, tg := range rep.Targets {
		localRedis := tg.Kind == "managed" && strings.HasPrefix(tg.Addr, "redis://127.0.0.1:")
		if tg.Kind != "embedded" && !localRedis && !strings.HasPrefix(tg.Addr, "http://127.0.0.1:") {
			t.Errorf("target %s is %s at %s", tg.Name, tg.Kind, tg.Addr)
		}
	}
	for _, c := range rep.Checks {
		switch {
		case c.Passed:
		case slices.Contains(judged, c.Name):
			t.Logf("check %s failed on this machine: %s = %s", c.Name, c.Expr, c.Display)
		default:
			t.Errorf("check %s failed: %s = %s", c.Name, c.Expr, c.Display)
		}
	}
	return rep
}

// Every expected error class of plans/webhook-errors.yaml is produced.
func TestWebhookErrorsPlan(t *testing.T) {
	t.Parallel()
	runPlan(t, "../../plans/webhook-errors.yaml", nil)
}

// plans/signal-delivery.yaml, shortened: every check of what the driver
// guarantees passes on the embedded targets — every delivery made, none
// refused with a 429, none twice, the outage ridden out.
func TestSignalDeliveryPlan(t *testing.T) {
	t.Parallel()
	rep := runPlan(t, "../../plans/signal-delivery.yaml", []string{"delivery_p95", "burst_drained", "receiver_latency", "outage_ridden_out"},
		"scenarios.publish.load.duration=7s",
		"scenarios.signal_delivery.load.duration=5s",
		"scenarios.burst.start=2s",
		"faults.0.at=3s",
	)
	// The one-second outage meets the one or two deliveries due in it —
	// unless a busy machine made the generator skip them as late, which
	// the report counts.
	var faulted float64
	for _, tg := range rep.Targets {
		for _, f := range tg.Server {
			if tg.Name == "discord" && f.Name == "faulted" && f.Value != nil {
				faulted = *f.Value
			}
		}
	}
	var late int64
	for _, s := range rep.Scenarios {
		if s.Name == "signal_delivery" {
			late = s.Late
		}
	}
	for _, c := range rep.Checks {
		switch {
		case c.Name != "outage_ridden_out" || c.Passed:
		case faulted == 0 && late > 0:
			t.Logf("no delivery met the outage: %d were skipped as late", late)
		default:
			t.Errorf("check %s failed: %s = %s (%v requests met the outage)", c.Name, c.Expr, c.Display, faulted)
		}
	}
	// The burst of 10 at 5 per 2 s waits out one window: the limit held.
	for _, s := range rep.Scenarios {
		if s.Name == "burst" && (s.Latency == nil || s.Latency.Max < 2000) {
			t.Errorf("burst latency %+v: the second window was not waited for", s.Latency)
		}
	}
}
