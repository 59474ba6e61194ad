package cli

import (
	"encoding/json"
	"errors"
	"os"
	"testing"
)

// TestMain lets a test run the command line in a child process (to send it
// signals): with RUNPLAN_TEST_ARGS set, the test binary is runplan.
func TestMain(m *testing.M) {
	if args := os.Getenv("RUNPLAN_TEST_ARGS"); args != "" {
		var a []string
		if err := json.Unmarshal([]byte(args), &a); err != nil {
			panic(err)
		}
		os.Exit(Main(a, os.Stdout, os.Stderr))
	}
	// Runs against servers runplan did not start journal what they change
	// under $XDG_STATE_HOME: never the user's own state directory in tests.
	state, err := os.MkdirTemp("", "runplan-state-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_STATE_HOME", state)
	code := m.Run()
	_ = os.RemoveAll(state)
	os.Exit(code)
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
