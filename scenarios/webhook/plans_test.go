package webhook_test

import (
	"context"
	"strings"
	"testing"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/plan"
	_ "github.com/runplan/runplan/scenarios/redis"
	_ "github.com/runplan/runplan/scenarios/webhook"
)

// runPlan runs an example plan on embedded targets and fails the test for
// every check that did not pass.
func runPlan(t *testing.T, path string, sets ...string) {
	t.Helper()
	env := func(string) (string, bool) { return "", false } // never a real webhook
	p, err := plan.Load(path, plan.Options{Env: env, Sets: sets})
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
	for _, tg := range rep.Targets {
		if tg.Kind != "embedded" && !strings.HasPrefix(tg.Addr, "http://127.0.0.1:") {
			t.Errorf("target %s is %s at %s", tg.Name, tg.Kind, tg.Addr)
		}
	}
	for _, c := range rep.Checks {
		if !c.Passed {
			t.Errorf("check %s failed: %s = %s", c.Name, c.Expr, c.Display)
		}
	}
}

// Every expected error class of plans/webhook-errors.yaml is produced.
func TestWebhookErrorsPlan(t *testing.T) {
	t.Parallel()
	runPlan(t, "../../plans/webhook-errors.yaml")
}

// plans/signal-delivery.yaml, shortened: every check passes on the embedded
// targets.
func TestSignalDeliveryPlan(t *testing.T) {
	t.Parallel()
	runPlan(t, "../../plans/signal-delivery.yaml",
		"scenarios.publish.load.duration=7s",
		"scenarios.signal_delivery.load.duration=5s",
		"scenarios.burst.start=2s",
		"faults.0.at=3s",
	)
}
