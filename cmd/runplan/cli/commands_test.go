package cli

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/runplan/runplan/engine/driver"
)

// TestDriverCommands: the drivers' commands share runplan's exit codes, none
// hides behind a command of runplan's own, and the usage lists each.
func TestDriverCommands(t *testing.T) {
	t.Parallel()
	if driver.ExitOK != ExitOK || driver.ExitUsage != ExitUsage || driver.ExitRuntime != ExitRuntime {
		t.Errorf("driver exit codes %d %d %d, runplan's %d %d %d", driver.ExitOK, driver.ExitUsage, driver.ExitRuntime, ExitOK, ExitUsage, ExitRuntime)
	}
	cmds := driver.Commands()
	if len(cmds) == 0 {
		t.Fatal("no driver command registered (the test imports the webhook driver)")
	}
	_, help, _ := runMain(t, "--help")
	for _, c := range cmds {
		for _, own := range []string{"-h", "--help", "help", "run", "validate", "init", "schema", "report", "compare", "trend", "cleanup", "k8s", "version", "--version"} {
			if c.Name == own {
				t.Errorf("driver command %q is hidden by runplan's own", c.Name)
			}
		}
		if !strings.Contains(help, "  runplan "+c.Synopsis+" ") || !strings.Contains(help, c.Summary+"\n") {
			t.Errorf("usage does not list %q:\n%s", c.Name, help)
		}
	}
	for i, line := range strings.Split(help, "\n") {
		if n := utf8.RuneCountInString(line); n > 80 {
			t.Errorf("usage line %d is %d columns wide: %s", i+1, n, line)
		}
	}
}
