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
	os.Exit(m.Run())
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
