package cli

import (
	"path/filepath"
	"testing"

	// Drivers register themselves for the in-process commands.
	_ "github.com/runplan/runplan/scenarios/all"
)

// Every example plan is valid.
func TestExamplePlansValidate(t *testing.T) {
	t.Parallel()
	plans, err := filepath.Glob("../../../plans/*.yaml")
	if err != nil || len(plans) == 0 {
		t.Fatalf("no plans: %v", err)
	}
	for _, p := range plans {
		t.Run(filepath.Base(p), func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runMain(t, "validate", p)
			if code != ExitOK || stderr != "" {
				t.Fatalf("exit %d:\n%s", code, stderr)
			}
		})
	}
}
