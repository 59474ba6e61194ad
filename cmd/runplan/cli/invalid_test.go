package cli

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	// The drivers register themselves; validation needs them to prepare steps.
	_ "github.com/runplan/runplan/scenarios/all"
)

var update = flag.Bool("update", false, "rewrite the testdata/invalid/*.golden files from the current output")

// invalidDir is testdata/invalid seen from this package's directory; the
// tests run with the package directory as working directory.
const invalidDir = "../../../testdata/invalid"

// invalidUnsetVar is referenced by the plans that test an unset ${NAME}. It must not
// be set where the tests run (t.Setenv cannot be used with t.Parallel).
const invalidUnsetVar = "RUNPLAN_TEST_SURELY_UNSET_VAR"

// minInvalidPlans is the least number of broken plans the set must hold.
const minInvalidPlans = 20

func invalidPlans(t *testing.T) []string {
	t.Helper()
	plans, err := filepath.Glob(filepath.Join(invalidDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return plans
}

// TestValidateInvalidPlans runs `runplan validate` on every broken plan under
// testdata/invalid and compares its diagnostics with NAME.golden. Run
// `go test ./cmd/runplan/cli -run TestValidateInvalidPlans -update` to rewrite
// the golden files, then read every changed one.
func TestValidateInvalidPlans(t *testing.T) {
	if v, ok := os.LookupEnv(invalidUnsetVar); ok {
		t.Fatalf("%s is set (to %q): the plans that test an unset variable need it unset", invalidUnsetVar, v)
	}
	plans := invalidPlans(t)
	if len(plans) == 0 {
		t.Fatalf("no plans found under %s", invalidDir)
	}
	for _, path := range plans {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// The file name as a user would type it from the repository root.
			shown := "testdata/invalid/" + name + ".yaml"
			lineRE := regexp.MustCompile(`^` + regexp.QuoteMeta(shown) + `:\d+:\d+: \S`)

			var stdout, stderr bytes.Buffer
			code, panicked, stack := invalidRunMain([]string{"validate", path}, &stdout, &stderr)
			if panicked != nil {
				t.Fatalf("runplan validate %s panicked: %v\n%s", shown, panicked, stack)
			}
			if code != ExitUsage {
				t.Errorf("exit code %d, want %d (ExitUsage)", code, ExitUsage)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout should be empty for an invalid plan, got:\n%s", stdout.String())
			}

			got := invalidNormalize(stderr.String(), path, shown)
			if strings.TrimSpace(got) == "" {
				t.Fatalf("no diagnostics on stderr")
			}
			if !strings.HasSuffix(got, "\n") {
				t.Errorf("stderr does not end with a newline: %q", got)
			}
			seen := map[string]bool{}
			for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
				if !lineRE.MatchString(line) {
					t.Errorf("stderr line is not %q:LINE:COL: message:\n%s", shown, line)
				}
				if seen[line] {
					t.Errorf("duplicate diagnostic:\n%s", line)
				}
				seen[line] = true
			}

			golden := strings.TrimSuffix(path, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run the test with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("diagnostics differ from %s (run with -update to accept them, then review the diff)\n--- got\n%s--- want\n%s",
					filepath.Base(golden), got, want)
			}
		})
	}
}

// invalidRunMain calls Main, turning a panic into a reported value.
func invalidRunMain(args []string, stdout, stderr *bytes.Buffer) (code int, panicked any, stack []byte) {
	defer func() {
		if r := recover(); r != nil {
			panicked, stack = r, debug.Stack()
		}
	}()
	return Main(args, stdout, stderr), nil, nil
}

// invalidNormalize rewrites the path the test passed (../../../testdata/invalid/x.yaml)
// into the form a user sees from the repository root, at the start of lines.
func invalidNormalize(out, path, shown string) string {
	lines := strings.SplitAfter(out, "\n")
	for i, l := range lines {
		if rest, ok := strings.CutPrefix(l, path); ok {
			lines[i] = shown + rest
		}
	}
	return strings.Join(lines, "")
}

// TestInvalidPlansGoldenSet checks that the set is large enough and that
// every plan has its golden file and every golden file its plan.
func TestInvalidPlansGoldenSet(t *testing.T) {
	plans := invalidPlans(t)
	if len(plans) < minInvalidPlans {
		t.Errorf("%d invalid plans under %s, want at least %d", len(plans), invalidDir, minInvalidPlans)
	}
	goldens, err := filepath.Glob(filepath.Join(invalidDir, "*.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		return // TestValidateInvalidPlans is writing them
	}
	if len(goldens) < minInvalidPlans {
		t.Errorf("%d golden files under %s, want at least %d", len(goldens), invalidDir, minInvalidPlans)
	}
	have := map[string]bool{}
	for _, g := range goldens {
		have[strings.TrimSuffix(g, ".golden")] = true
	}
	for _, p := range plans {
		base := strings.TrimSuffix(p, ".yaml")
		if !have[base] {
			t.Errorf("%s has no golden file (run with -update)", filepath.Base(p))
		}
		delete(have, base)
	}
	for base := range have {
		t.Errorf("%s.golden has no plan %s.yaml: remove it", filepath.Base(base), filepath.Base(base))
	}
}
