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

// TestEveryCommandHelp: every command of the usage, runplan's own and the
// drivers', prints its help to stdout and exits 0 for -h and --help,
// writing nothing to stderr.
func TestEveryCommandHelp(t *testing.T) {
	t.Parallel()
	_, help, _ := runMain(t, "--help")
	var names []string
	for line := range strings.Lines(help) {
		rest, ok := strings.CutPrefix(line, "  runplan ")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, " ")
		if name == strings.ToUpper(name) { // runplan PLAN [flags]
			continue
		}
		names = append(names, name)
	}
	if len(names) < 15 {
		t.Fatalf("only %d commands found in the usage: %q", len(names), names)
	}
	for _, name := range names {
		for _, flag := range []string{"-h", "--help"} {
			t.Run(name+" "+flag, func(t *testing.T) {
				t.Parallel()
				code, stdout, stderr := runMain(t, name, flag)
				if code != ExitOK || stderr != "" {
					t.Errorf("exit %d, stderr %q; want 0 and nothing", code, stderr)
				}
				want := "Usage: runplan " + name
				if !strings.HasPrefix(stdout, want) {
					t.Errorf("stdout %q, want it to start with %q", stdout, want)
				}
			})
		}
	}
}

// TestServerMetricUnits: every server figure of the linked drivers that is
// a duration (its help says in what) declares its unit, so that reports
// show it in ms like the client-side latencies; no other unit is declared.
func TestServerMetricUnits(t *testing.T) {
	t.Parallel()
	for _, name := range driver.Drivers() {
		d, err := driver.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		sm, ok := d.(driver.ServerMetricser)
		if !ok {
			continue
		}
		for _, m := range sm.ServerMetrics() {
			if _, ok := driver.DurationUnits[m.Unit]; m.Unit != "" && !ok {
				t.Errorf("%s: server figure %s: unit %q, want s, ms or us", name, m.Name, m.Unit)
			}
			help := strings.ToLower(m.Help)
			isDuration := (strings.Contains(help, "seconds") || strings.Contains(help, "microseconds") || strings.Contains(help, "milliseconds")) &&
				!strings.Contains(help, "per second")
			if isDuration != (m.Unit != "") {
				t.Errorf("%s: server figure %s (%q) declares unit %q", name, m.Name, m.Help, m.Unit)
			}
		}
	}
}
