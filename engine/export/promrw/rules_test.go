package promrw

import (
	"os/exec"
	"testing"
)

// The rule file docs/OBSERVABILITY.md shows is valid Prometheus rules, and
// its alerts fire when, and only when, they should (promtool test rules
// with runs made up as the exporter writes them).
func TestRuleFile(t *testing.T) {
	t.Parallel()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found on PATH: run ./test.sh, which installs it from Debian's prometheus package")
	}
	for _, args := range [][]string{
		{"check", "rules", "../../../docs/prometheus/runplan-rules.yml"},
		{"test", "rules", "testdata/rules_test.yml"},
	} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}
