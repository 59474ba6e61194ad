package webhook

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

// configureFor configures target t; an invalid target yields a nil Config
// and the error.
func configureFor(t driver.TargetSpec) (*Config, error) {
	c, err := Driver{}.Configure(t)
	if err != nil {
		return nil, err
	}
	return c.(*Config), nil
}

// openTargetSpec configures target t and opens it.
func openTargetSpec(ctx context.Context, t driver.TargetSpec, env driver.Env) (driver.Target, error) {
	c, err := configureFor(t)
	if err != nil {
		return nil, err
	}
	return c.Open(ctx, env)
}

// prepareOn configures target t and prepares step s on it.
func prepareOn(t driver.TargetSpec, s driver.StepSpec) (driver.Step, error) {
	c, err := configureFor(t)
	if err != nil {
		return nil, err
	}
	return c.Prepare(s)
}

// prepareFaultOn configures target t and prepares fault f on it.
func prepareFaultOn(t driver.TargetSpec, f driver.FaultSpec) (driver.Fault, error) {
	c, err := configureFor(t)
	if err != nil {
		return nil, err
	}
	return c.PrepareFault(f)
}
