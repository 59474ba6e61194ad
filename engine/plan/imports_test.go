package plan

import (
	"os/exec"
	"strings"
	"testing"
)

// The plan package knows no driver: the step kinds come in as
// Options.StepKinds, filled by its callers from the registry.
func TestKnowsNoDriver(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the package's dependencies")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "github.com/runplan/runplan/engine/driver" || strings.HasPrefix(dep, "github.com/runplan/runplan/scenarios") {
			t.Errorf("engine/plan depends on %s", dep)
		}
	}
}
