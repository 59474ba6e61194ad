package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A plan whose ${VAR} values come from --env-file validates and runs; the
// names are ones no environment sets, so the files are their only source.
func TestEnvFileFlag(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	planFile := write("plan.yaml", `version: 1
scenarios:
  think:
    load:
      vus: 1
      iterations: ${RUNPLAN_EF_TEST_ITERS}
    steps: [{sleep: "${RUNPLAN_EF_TEST_THINK}"}]
checks:
  - {name: counted, expr: "think.count == 3"}
`)
	base := write("base.env", "# shared\nexport RUNPLAN_EF_TEST_ITERS=7\nRUNPLAN_EF_TEST_THINK='1ms'\n")
	ci := write("ci.env", "RUNPLAN_EF_TEST_ITERS=3\n")
	bad := write("bad.env", "RUNPLAN_EF_TEST_ITERS=3\nRUNPLAN EF=1\n")
	missing := filepath.Join(dir, "absent.env")

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"validate without", []string{"validate", planFile}, ExitUsage, "", "environment variable RUNPLAN_EF_TEST_ITERS is not set"},
		{"validate with", []string{"validate", planFile, "--env-file", base}, ExitOK, "plan.yaml: ok", ""},
		{"validate flag first", []string{"validate", "--env-file", base, planFile}, ExitOK, "plan.yaml: ok", ""},
		{"validate missing file", []string{"validate", planFile, "--env-file", missing}, ExitUsage, "", "absent.env"},
		{"validate malformed", []string{"validate", planFile, "--env-file", bad}, ExitUsage, "", "bad.env:2:1: "},
		{"run with both, later wins", []string{"run", planFile, "--env-file", base, "--env-file", ci, "--no-progress", "--log-level", "error"}, ExitOK, "✓ counted", ""},
		// base alone gives 7 iterations: the check fails, so the file was read.
		{"run with base", []string{"run", planFile, "--env-file", base, "--no-progress", "--log-level", "error"}, ExitChecks, "✗ counted", ""},
		{"run malformed", []string{"run", planFile, "--env-file", bad}, ExitUsage, "", "bad.env:2:1: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runMain(t, tt.args...)
			if code != tt.code || !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
		})
	}
}

// A value read from an env file is masked in everything printed, as an
// environment value is.
func TestEnvFileValuesMasked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	planFile := filepath.Join(dir, "plan.yaml")
	envFile := filepath.Join(dir, "secret.env")
	if err := os.WriteFile(planFile, []byte(`version: 1
scenarios:
  w:
    load: {vus: 1, iterations: 1}
    steps: [{sleep: "${RUNPLAN_EF_TEST_SECRET}"}]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(envFile, []byte("RUNPLAN_EF_TEST_SECRET=\"hunter2-very-secret\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The value is no duration: the diagnostic quotes it, masked.
	code, stdout, stderr := runMain(t, "validate", planFile, "--env-file", envFile)
	if code != ExitUsage || !strings.Contains(stderr, "invalid duration") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if strings.Contains(stderr+stdout, "hunter2") {
		t.Fatalf("the env file's value is printed:\n%s", stderr)
	}
}
