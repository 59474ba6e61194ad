package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const miniredisNotice = "in-process miniredis: figures are not Redis measurements"

// noticePlan is a short plan on a local Redis target with a latency check.
const noticePlan = `version: 1
name: notice
targets:
  cache: {driver: redis}
scenarios:
  sc:
    load: {vus: 1, duration: 300ms}
    steps: [{name: get, redis: [GET, k]}]
checks:
  - {name: fast, expr: "sc.steps.get.latency.p99 < s(1)"}
  - {name: counted, expr: "sc.count > 0"}
`

// runNoticePlan runs noticePlan with every output, and returns them by
// name.
func runNoticePlan(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	planFile := filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(planFile, []byte(noticePlan), 0o600); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"json": "r.json", "junit": "r.xml", "markdown": "r.md", "html": "r.html"}
	args := []string{"run", planFile, "--no-progress", "--color", "never"}
	for flag, f := range map[string]string{"--out": "json", "--junit": "junit", "--markdown": "markdown", "--html": "html"} {
		args = append(args, flag, filepath.Join(dir, files[f]))
	}
	code, stdout, stderr := runMain(t, args...)
	if code != ExitOK && code != ExitInvalid {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	out := map[string]string{"console": stdout}
	for name, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = string(b)
	}
	return out
}

// TestMiniredisFallbackBannerEverywhere: with no redis-server on PATH the
// default Redis target is the in-process miniredis, and every output says
// so, the latency check included.
func TestMiniredisFallbackBannerEverywhere(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for name, out := range runNoticePlan(t) {
		folded := strings.Join(strings.Fields(out), " ")
		if n := strings.Count(folded, miniredisNotice); n < 2 {
			t.Errorf("%s output holds the miniredis notice %d times, want the banner and the latency check's note:\n%s", name, n, out)
		}
	}
}

// TestDefaultRedisIsRealServer: with redis-server on PATH (as on this
// project's machines) the same plan runs on a real redis-server, and no
// output carries the notice.
func TestDefaultRedisIsRealServer(t *testing.T) {
	t.Parallel()
	outs := runNoticePlan(t)
	for name, out := range outs {
		if strings.Contains(out, "miniredis") {
			t.Errorf("%s output mentions miniredis:\n%s", name, out)
		}
	}
	if !strings.Contains(outs["json"], `"software": "redis-server `) || !strings.Contains(outs["json"], `"used_memory"`) {
		t.Errorf("JSON report lacks the redis-server and its memory figures:\n%s", outs["json"])
	}
}
