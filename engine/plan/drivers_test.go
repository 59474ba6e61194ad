package plan

import (
	"context"
	"errors"

	"github.com/runplan/runplan/engine/driver"
)

// registeredName stands for a driver of that name in the registry: plan
// loading only asks the registry which names exist. It cannot run anything.
type registeredName struct{}

var errNotForRunning = errors.New("registeredName: this package's tests never run a step")

func (registeredName) CheckTarget(driver.TargetSpec) error { return nil }
func (registeredName) Prepare(driver.StepSpec) (driver.Step, error) {
	return nil, errNotForRunning
}
func (registeredName) Open(context.Context, driver.TargetSpec, driver.Env) (driver.Target, error) {
	return nil, errNotForRunning
}

func init() {
	driver.Register("redis", registeredName{})
	driver.Register("webhook", registeredName{})
}
