package engine

import (
	"testing"
	"time"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/plan"
)

func TestPlannedRunLength(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		scenarios string
		graceful  time.Duration // the command line's
		want      time.Duration
	}{
		{"one scenario", "a: {load: {vus: 1, duration: 10s}, steps: [{sleep: 1ms}]}", 0, 10*time.Second + DefaultGracefulStop},
		{"latest end wins", `
  a: {load: {vus: 1, duration: 1m}, steps: [{sleep: 1ms}]}
  b: {start: 50s, load: {vus: 1, duration: 20s, graceful_stop: 5s}, steps: [{sleep: 1ms}]}`, 0, time.Minute + DefaultGracefulStop},
		{"its own graceful stop", "a: {start: 5s, load: {vus: 1, duration: 10s, graceful_stop: 2s}, steps: [{sleep: 1ms}]}", time.Hour, 17 * time.Second},
		{"command line graceful stop", "a: {load: {rate: 5/s, duration: 10s}, steps: [{sleep: 1ms}]}", time.Second, 11 * time.Second},
		{"stages", "a: {load: {stages: [{duration: 10s, target: 5}, {duration: 20s, target: 0}]}, steps: [{sleep: 1ms}]}", 0, 30*time.Second + DefaultGracefulStop},
		{"iterations only: unknown", `
  a: {load: {vus: 1, duration: 10s}, steps: [{sleep: 1ms}]}
  b: {load: {vus: 1, iterations: 100}, steps: [{sleep: 1ms}]}`, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := "version: 1\nname: t\nscenarios:\n  " + tc.scenarios + "\n"
			p, err := plan.Parse("t.yaml", []byte(src), plan.Options{StepKinds: driver.Drivers()})
			if err != nil {
				t.Fatal(err)
			}
			if got := plannedRunLength(p, tc.graceful); got != tc.want {
				t.Errorf("plannedRunLength = %v, want %v", got, tc.want)
			}
		})
	}
}
