package redis

import (
	"context"

	"github.com/runplan/runplan/engine/driver"
)

// The driver's entry points, called the way the engine calls them: a
// target is configured once, and its steps, faults and Open work from the
// Config.

// checkTarget validates target t (Configure, the Config dropped).
func checkTarget(t driver.TargetSpec) error {
	_, err := Driver{}.Configure(t)
	return err
}

// openSpec configures target t and opens it.
func openTargetSpec(ctx context.Context, t driver.TargetSpec, env driver.Env) (driver.Target, error) {
	c, err := Driver{}.Configure(t)
	if err != nil {
		return nil, err
	}
	return c.Open(ctx, env)
}

// prepareOn configures target t and prepares step s on it.
func prepareOn(t driver.TargetSpec, s driver.StepSpec) (driver.Step, error) {
	c, err := Driver{}.Configure(t)
	if err != nil {
		return nil, err
	}
	return c.Prepare(s)
}

// someoneElses is an unnamed target on a server runplan did not start,
// allowing nothing destructive.
var someoneElses = driver.TargetSpec{URL: "redis://127.0.0.1:1"}

// prepareStep prepares step s on someoneElses.
func prepareStep(s driver.StepSpec) (driver.Step, error) { return prepareOn(someoneElses, s) }
