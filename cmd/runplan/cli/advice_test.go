package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// adviceSrc misses its cache (a million keys, one lookup each at most) and
// has its deliveries rate limited: the advice on both comes from the
// drivers (driver.Advisor), through the engine, into the report.
const adviceSrc = `version: 1
targets:
  cache: {driver: redis}
  hook: {driver: webhook, flavor: discord, timeout: 5s, rate_limit: ignore}
scenarios:
  a:
    load: {vus: 2, duration: 1s}
    steps:
      - name: lookup
        redis:
          cache_get:
            key: "k:{{ uniform(1000000) }}"
            on_miss: {value_size: 16, ttl: 5m}
  b:
    load: {vus: 1, duration: 1s}
    steps:
      - name: post
        webhook: {json: {content: "hi"}}
`

func TestDriverAdviceInReport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path, out := filepath.Join(dir, "p.yaml"), filepath.Join(dir, "r.json")
	if err := os.WriteFile(path, []byte(adviceSrc), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runMain(t, "run", path, "--out", out, "--no-progress")
	if code != ExitOK && code != ExitInvalid { // unscored; invalid on a loaded machine
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	var recs []string
	for _, r := range readReport(t, out)["recommendations"].([]any) {
		recs = append(recs, r.(string))
	}
	all := strings.Join(recs, "\n")
	for _, want := range []string{"a: cache hit ratio ", "b.post: ", "requests were rate limited (429)"} {
		if !strings.Contains(all, want) {
			t.Errorf("recommendations lack %q:\n%s", want, all)
		}
	}
}
