package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// explainGolden are the plans whose explanations are kept under
// testdata/explain: the Phase 1 plan, faults on a managed target, a closed
// ramp, bursts, and a plan that reads a data file.
var explainGolden = []string{"phase1", "chaos-cache", "load-closed-ramp", "load-burst", "signal-delivery"}

// TestExplainGolden compares `runplan explain` in text and Markdown with
// testdata/explain/NAME.{txt,md}. Run `go test ./cmd/runplan/cli -run
// TestExplainGolden -update` to rewrite them, then read every change.
func TestExplainGolden(t *testing.T) {
	for _, v := range []string{"REDIS_URL", "DISCORD_WEBHOOK_URL", "DISCORD_ALERTS_URL"} {
		if _, ok := os.LookupEnv(v); ok {
			t.Skipf("%s is set: the golden explanations are of the plans' local targets", v)
		}
	}
	for _, name := range explainGolden {
		for _, format := range []string{"text", "markdown"} {
			t.Run(name+"/"+format, func(t *testing.T) {
				t.Parallel()
				path := filepath.Join("..", "..", "..", "plans", name+".yaml")
				var stdout, stderr bytes.Buffer
				code := Main([]string{"explain", path, "--format", format}, &stdout, &stderr)
				if code != ExitOK {
					t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
				}
				got := strings.ReplaceAll(stdout.String(), path, "plans/"+name+".yaml")
				ext := map[string]string{"text": ".txt", "markdown": ".md"}[format]
				golden := filepath.Join("testdata", "explain", name+ext)
				if *update {
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if got != string(want) {
					t.Errorf("runplan explain %s --format %s differs from %s (run with -update and read the diff):\n%s", name, format, golden, got)
				}
			})
		}
	}
}

// TestExplain checks what every explanation must say, whatever its layout.
func TestExplain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plan := filepath.Join(dir, "p.yaml")
	const src = `version: 1
name: review-me
targets:
  cache: {driver: redis, url: "redis://bob:hunter2@127.0.0.1:1/0"}
  hook: {driver: webhook}
scenarios:
  ramp:
    load: {rate: 0/s, max_vus: 10, stages: [{duration: 10s, target: 100/s}, {duration: 10s, target: 100/s}]}
    steps:
      - redis: [GET, k]
  users:
    start: 5s
    load: {vus: 3, iterations: 30}
    mix:
      - {webhook: {json: {a: 1}}, weight: 3}
      - {sleep: 200ms, weight: 1}
faults:
  - {name: slow, target: cache, at: 12s, for: 4s, latency: {delay: 20ms}}
  - {name: flaky, target: cache, at: 18s, probability: 0.5, reset: {}}
checks:
  - {name: ok, expr: ramp.success_rate >= 0.999, weight: 3, critical: true}
  - {name: fast, expr: "ramp.latency.p99 < ms(20)", good: 10ms, bad: 50ms}
recommendations:
  - {when: ramp.dropped > 0, say: raise max_vus}
`
	if err := os.WriteFile(plan, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		format string
		want   []string
	}{
		{"text", []string{
			"plan review-me",
			"cache: redis, external at redis://bob:****@127.0.0.1:1/0",
			"hook: webhook, embedded",
			"ramp: open model: from 0/s, to 100/s over 10s, hold 10s; runs 0s → 20s; at most 10 in flight",
			"users: closed model: 3 VUs share 30 iterations; starts at 5s",
			"▶ until 30 iterations are done (length unknown)",
			"1. webhook (weight 3) → hook (webhook): {json: {a: 1}}",
			"2. sleep 200ms (weight 1)",
			"slow: latency on cache, 12s → 16s (4s)",
			"flaky: reset on cache, 18s → end of run, probability 50 %",
			"ok: weight 3, CRITICAL",
			"in words: ramp: success rate at least 99.9 %",
			"partial credit: full weight at 10ms, none at 50ms",
			"when ramp.dropped > 0 (ramp: dropped above 0)",
		}},
		{"markdown", []string{
			"### Plan `review-me`",
			"| cache | redis | external | `redis://bob:****@127.0.0.1:1/0` |",
			"```text",
			"| ok | 3 | **yes** | `ramp.success_rate >= 0.999` | ramp: success rate at least 99.9 % |",
			"| slow | cache | latency | 12s → 16s (4s) |",
		}},
	} {
		var stdout, stderr bytes.Buffer
		if code := Main([]string{"explain", "--format", tc.format, plan}, &stdout, &stderr); code != ExitOK {
			t.Fatalf("%s: exit %d, stderr:\n%s", tc.format, code, stderr.String())
		}
		out := stdout.String()
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", tc.format, w, out)
			}
		}
		if strings.Contains(out, "hunter2") {
			t.Errorf("%s: the password is printed:\n%s", tc.format, out)
		}
	}
}

func TestExplainRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("version: 1\nscenarios:\n  s:\n    load: {vus: 1, duration: 1s}\n    steps: [{redis: [GET, k]}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"explain", bad}, "bad.yaml:5:"},
		{[]string{"explain"}, "give exactly one plan file"},
		{[]string{"explain", "--format", "html", bad}, `--format "html"`},
	} {
		var stdout, stderr bytes.Buffer
		if code := Main(tc.args, &stdout, &stderr); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", tc.args, code, ExitUsage)
		}
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: stderr lacks %q:\n%s", tc.args, tc.want, stderr.String())
		}
		if stdout.Len() > 0 {
			t.Errorf("%v: stdout not empty:\n%s", tc.args, stdout.String())
		}
	}
}

// TestExplainRedacts checks that explain masks what came from ${VAR} and
// the credentials of URLs, in every format.
func TestExplainRedacts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plan := filepath.Join(dir, "p.yaml")
	env := filepath.Join(dir, "ci.env")
	const src = `version: 1
targets:
  hook: {driver: webhook, url: "${EXPLAIN_TEST_HOOK}"}
scenarios:
  deliver:
    load: {rate: 1/s, duration: 1s}
    steps:
      - webhook: {json: {a: 1}, headers: {Authorization: "Bearer ${EXPLAIN_TEST_TOKEN}"}}
`
	if err := os.WriteFile(plan, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(env, []byte("EXPLAIN_TEST_HOOK=https://discord.com/api/webhooks/123/sekrettoken\nEXPLAIN_TEST_TOKEN=tok-abcdef123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"text", "markdown"} {
		var stdout, stderr bytes.Buffer
		if code := Main([]string{"explain", plan, "--env-file", env, "--format", format}, &stdout, &stderr); code != ExitOK {
			t.Fatalf("exit %d:\n%s", code, stderr.String())
		}
		out := stdout.String() + stderr.String()
		if !strings.Contains(out, "https://discord.com/api/webhooks/123/****") || !strings.Contains(out, "Authorization") {
			t.Errorf("%s: the target or the header is missing:\n%s", format, out)
		}
		for _, secret := range []string{"sekrettoken", "tok-abcdef123"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s: %q is printed:\n%s", format, secret, out)
			}
		}
	}
}
