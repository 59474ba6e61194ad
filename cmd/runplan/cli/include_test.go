package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every stage's diagnostics about what a fragment holds name the fragment
// and the line there: the loader's, the schema's, the drivers' Configure
// and Prepare, and the checks' and recommendations' expressions.
func TestValidateIncludedFragments(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"plan.yaml": `version: 1
include: [shared/targets.yaml, shared/more.yaml]
scenarios:
  s1:
    load: {vus: 1, iterations: 1}
    steps:
      - redis: [GET, k]
        target: cache
`,
		"shared/targets.yaml": `targets:
  cache:
    driver: redis
    url: redis://127.0.0.1:1/0
    retries: {min_backoff: 2s, max_backoff: 1s}
  slow:
    driver: redis
    timeout: -1s
  hook:
    driver: webhook
    url: http://127.0.0.1:1/hook
`,
		"shared/more.yaml": `scenarios:
  s2:
    load: {vus: 1, iterations: 1}
    steps:
      - redis: [GET, "{{ nope }}"]
        target: cache
      - webhook: {json: {n: "{{ uniform( }}"}}
checks:
  - name: fast
    expr: s2.latency.p99 < ms(100) &&
recommendations:
  - when: s9.success_rate < 0.9
    say: low
`,
	}
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := runMain(t, "validate", filepath.Join(dir, "plan.yaml"))
	if code != ExitUsage || stdout != "" {
		t.Fatalf("exit %d, stdout %q, want %d and nothing", code, stdout, ExitUsage)
	}
	got := strings.ReplaceAll(stderr, dir+string(filepath.Separator), "")
	want := []string{
		"shared/more.yaml:5:26: redis: GET argument 1: template \"{{ nope }}\": unknown name nope",
		"shared/more.yaml:7:40: webhook: template \"{{ uniform( }}\":",
		"shared/more.yaml:10:37: check fast: incomplete expression",
		"shared/more.yaml:12:11: recommendation when: unknown name s9",
		"shared/targets.yaml:5:14: redis: retries: min_backoff 2s is more than max_backoff 1s",
		"shared/targets.yaml:8:14: targets.slow.timeout: invalid duration \"-1s\": must not be negative",
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
	if n := strings.Count(strings.TrimSpace(got), "\n") + 1; n != len(want) {
		t.Errorf("%d diagnostics, want %d:\n%s", n, len(want), got)
	}
	if strings.Contains(got, "plan.yaml:") {
		t.Errorf("a problem in a fragment is placed in the plan:\n%s", got)
	}

	// A fragment alone is said to be one.
	code, _, stderr = runMain(t, "validate", filepath.Join(dir, "shared", "targets.yaml"))
	if code != ExitUsage || !strings.Contains(stderr, "targets.yaml:1:1: this file has no version and holds only what a fragment holds") {
		t.Errorf("validate a fragment: exit %d\n%s", code, stderr)
	}
}
