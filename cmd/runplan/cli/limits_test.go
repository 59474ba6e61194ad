package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runplan/runplan/engine/plan"
)

// TestValidateSetAndLimits runs validate with the flags that act on loading:
// --set with a path the plan does not have, and --max-plan-size.
func TestValidateSetAndLimits(t *testing.T) {
	t.Parallel()
	const quick = "../../../plans/quick.yaml"
	big := filepath.Join(t.TempDir(), "big.yaml")
	src, err := os.ReadFile(quick)
	if err != nil {
		t.Fatal(err)
	}
	// The example plan, padded with comments past the default limit.
	padded := append(src, strings.Repeat("# padding to make the plan large\n", 300<<10/32)...)
	if err := os.WriteFile(big, padded, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{name: "set a value", args: []string{"validate", quick, "--set", "scenarios.strategy_cache.load.duration=5s"}, wantCode: ExitOK},
		{name: "set a misspelt scenario",
			args:     []string{"validate", quick, "--set", "scenarios.strategy_cahce.load.duration=5s"},
			wantCode: ExitUsage, wantStderr: "--set: scenarios.strategy_cahce.load.duration: the plan has no scenarios.strategy_cahce (did you mean scenarios.strategy_cache.load.duration?)\n"},
		{name: "run refuses it too",
			args:     []string{"run", quick, "--set", "scenarios.strategy_cache.laod.duration=5s"},
			wantCode: ExitUsage, wantStderr: "--set: scenarios.strategy_cache.laod.duration: the plan has no scenarios.strategy_cache.laod (did you mean scenarios.strategy_cache.load.duration?)\n"},
		{name: "a plan past the size limit",
			args:     []string{"validate", big},
			wantCode: ExitUsage, wantStderr: big + ": the plan is " + plan.Size(len(padded)).String() + ", more than the 256KiB limit (a plan is usually a few kB): if it really is this large, raise the limit with --max-plan-size, e.g. --max-plan-size 512KiB\n"},
		{name: "a raised limit", args: []string{"validate", big, "--max-plan-size", "512KiB"}, wantCode: ExitOK},
		{name: "a size that is not one",
			args:     []string{"validate", big, "--max-plan-size", "lots"},
			wantCode: ExitUsage, wantStderr: `invalid value "lots" for flag -max-plan-size: plan: size "lots": write a positive size like 4MiB, 512KiB, 500KB or 1048576 (bytes)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runMain(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\n%s", code, tt.wantCode, stderr)
			}
			if !strings.HasPrefix(stderr, tt.wantStderr) {
				t.Errorf("stderr:\n%s\nwant it to start with:\n%s", stderr, tt.wantStderr)
			}
		})
	}
}
