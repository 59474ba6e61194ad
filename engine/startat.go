package engine

import (
	"context"
	"fmt"
	"time"
)

// StartTolerance is how far from Options.StartAt a run may start its clock
// and still be valid (docs/SCALE.md): segments that start further apart
// than this do not add up to the plan's schedule, so a run that starts
// later than StartAt+StartTolerance — its targets took too long to open, or
// StartAt was already that far in the past — marks its measurement invalid.
// A run never starts early: it waits for StartAt.
const StartTolerance = time.Second

// waitStart waits until at (not at all when at is zero or past), or until
// ctx is done; it returns the instant the clock starts.
func waitStart(ctx context.Context, at time.Time) time.Time {
	if at.IsZero() {
		return time.Now()
	}
	if wait := time.Until(at); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	return time.Now()
}

// lateStart is the invalid reason of a run that wanted to start its clock at
// at and started it at started, "" when it started within StartTolerance
// (or had no common start). It is a pure function.
func lateStart(at, started time.Time) string {
	if at.IsZero() {
		return ""
	}
	if late := started.Sub(at); late > StartTolerance {
		return fmt.Sprintf("the run started %v after its common start %s (tolerance %v): its schedule is not aligned with the other segments'",
			late.Round(time.Millisecond), at.UTC().Format(time.RFC3339Nano), StartTolerance)
	}
	return ""
}

// MaxRunIDLen bounds a run id given by the caller.
const MaxRunIDLen = 64

// CheckRunID reports a run id (Options.RunID, --run-id) that cannot name a
// run: it keys the run's namespace on its targets (runplan:<run-id>:) and
// its journal, so it is 1 to MaxRunIDLen letters, digits, '.', '_' or '-',
// starting with a letter or digit.
func CheckRunID(id string) error {
	if id == "" || len(id) > MaxRunIDLen {
		return fmt.Errorf("run id %q: want 1 to %d characters", id, MaxRunIDLen)
	}
	for i, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return fmt.Errorf("run id %q: character %q at %d: use letters, digits, '.', '_' and '-' (not first)", id, c, i+1)
		}
	}
	return nil
}
