package webhook

import (
	"fmt"

	"github.com/runplan/runplan/engine/driver"
)

var _ driver.Advisor = Driver{}

// AdviseScenario has no advice: webhooks are no cache.
func (Driver) AdviseScenario(driver.ScenarioFigures) []string { return nil }

// AdviseErrors advises on deliveries the service rate limited (429s the
// client did not wait out).
func (Driver) AdviseErrors(e driver.ErrorFigures) []string {
	switch e.Class {
	case ClassRateLimited:
		return []string{fmt.Sprintf("%s: %s requests were rate limited (429): send fewer, spread them over more webhooks, or let the driver respect the limits.", e.Where(), e.Share())}
	}
	return nil
}

// AdviseTarget has no advice on the embedded sink's figures.
func (Driver) AdviseTarget(driver.TargetFigures) []string { return nil }
