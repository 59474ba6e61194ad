package webhook

import (
	"slices"
	"testing"

	"github.com/runplan/runplan/engine/driver"
)

func TestAdvice(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		class string
		want  []string
	}{
		{ClassRateLimited, []string{"sc.post: 12 of 400 (3.0%) requests were rate limited (429): send fewer, spread them over more webhooks, or let the driver respect the limits."}},
		{ClassTimeout, nil}, // the engine's own advice
		{ClassServerError, nil},
	} {
		got := Driver{}.AdviseErrors(driver.ErrorFigures{Scenario: "sc", Step: "post", Class: tt.class, Errors: 12, Calls: 400})
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: advice %q\nwant %q", tt.class, got, tt.want)
		}
	}
	if got := (Driver{}).AdviseScenario(driver.ScenarioFigures{Scenario: "sc"}); got != nil {
		t.Errorf("scenario advice %q", got)
	}
	if got := (Driver{}).AdviseTarget(driver.TargetFigures{Target: "hook"}); got != nil {
		t.Errorf("target advice %q", got)
	}
}
