package cli

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/runplan/runplan/scenarios/redis/redistest"
)

// canary marks every secret of the canary test: no output may contain it.
const canary = "CANARY"

// canaryPlan has a Redis and a webhook target whose settings come from the
// environment (or, for the webhook URL, from the plan text itself), so that
// each case can put a secret where a careless user would. %REDIS% is
// replaced by a case's literal URL, or by ${REDIS_URL:-}.
const canaryPlan = `version: 1
name: canary
targets:
  cache: {driver: redis, url: "%REDIS%", timeout: "${TIMEOUT:-2s}"}
  hook: {driver: webhook, url: "${HOOK_URL:-}", flavor: "${FLAVOR:-generic}", timeout: 2s}
scenarios:
  w:
    load: {vus: 1, iterations: 3}
    steps:
      - {target: cache, redis: [SET, "k", v]}
      - {target: hook, webhook: {json: {n: 1}}}
checks:
  - {name: all_ok, expr: "w.success_rate == 1"}
`

// capture is a loopback HTTP server that answers 204 and keeps every body
// it receives.
type capture struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies [][]byte
}

func newCapture(t *testing.T) *capture {
	c := &capture{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.bodies = append(c.bodies, b)
		c.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *capture) received() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.bodies...)
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// runChildEnv runs the command line in a child process (the test binary, see
// TestMain) with env added to a clean environment, and returns its exit
// code, stdout and stderr.
func runChildEnv(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	a, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "REDIS_URL", "TIMEOUT", "FLAVOR", "HOOK_URL", "NOTIFY_URL", "GITHUB_STEP_SUMMARY", "RUNPLAN_TEST_ARGS":
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "RUNPLAN_TEST_ARGS="+string(a))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("run %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return code, stdout.String(), stderr.String()
}

// TestSecretsNeverPrinted puts a canary secret everywhere a user may put
// one (an environment variable holding the wrong URL, a password with URL
// delimiters, a URL in a field that is not a URL, a forgotten colon, a
// webhook token, a --notify URL, a signed query) and runs validate, run
// (console and JSON logs, --out, --junit, --markdown, --html, the GitHub
// job summary, a notification) and report, compare and trend on the saved
// report. No output — stdout, stderr, a file, a notification body — may
// contain the canary.
func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	auth := redistest.Start(t, "--requirepass", "s3cret-real")
	closed := closedAddr(t)
	notified := newCapture(t)
	// Runs once every case below is done: the bodies posted to the
	// notification target are outputs too.
	t.Cleanup(func() {
		bodies := notified.received()
		if len(bodies) == 0 {
			t.Error("no notification was received; the notify case does not test what it says")
		}
		for _, b := range bodies {
			if bytes.Contains(b, []byte(canary)) {
				t.Errorf("a notification body carries the secret: %s", b)
			}
		}
	})

	tests := []struct {
		name string
		env  map[string]string
		// redisURL is written into the plan as it is; empty: ${REDIS_URL:-}.
		redisURL string
		notify   []string
		// Exit codes of validate and run.
		validate, run int
	}{
		{name: "discord URL in REDIS_URL",
			env:      map[string]string{"REDIS_URL": "https://discord.com/api/webhooks/123456789/" + canary + "tok3n-xyz"},
			validate: ExitUsage, run: ExitUsage},
		{name: "password with #",
			env:      map[string]string{"REDIS_URL": "redis://:" + canary + "a#" + canary + "b@" + closed},
			validate: ExitUsage, run: ExitUsage},
		{name: "password with /",
			env:      map[string]string{"REDIS_URL": "redis://:" + canary + "a/" + canary + "b@" + closed},
			validate: ExitUsage, run: ExitUsage},
		{name: "URL in flavor",
			env:      map[string]string{"FLAVOR": "https://discord.com/api/webhooks/1/" + canary + "flavor"},
			validate: ExitUsage, run: ExitUsage},
		{name: "URL in a duration",
			env:      map[string]string{"TIMEOUT": "redis://:" + canary + "dur@127.0.0.1:1"},
			validate: ExitUsage, run: ExitUsage},
		{name: "forgotten colon",
			env:      map[string]string{"REDIS_URL": "redis://" + canary + "pw@" + auth.Addr()},
			validate: ExitOK, run: ExitRuntime},
		{name: "webhook token, closed port",
			env:      map[string]string{"HOOK_URL": "http://" + closed + "/hooks/" + canary + "Tok3n"},
			validate: ExitOK, run: ExitChecks},
		{name: "notify URL with a token",
			notify:   []string{notified.srv.URL + "/notify/" + canary + "Tok3n", "http://" + closed + "/notify/" + canary + "Tok3n"},
			validate: ExitOK, run: ExitOK},
		{name: "signed query in the plan",
			redisURL: "redis://" + closed + "/0?sig=" + canary + "sig",
			validate: ExitUsage, run: ExitUsage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			src := strings.Replace(canaryPlan, "%REDIS%", cmp.Or(tc.redisURL, "${REDIS_URL:-}"), 1)
			plan := filepath.Join(dir, "plan.yaml")
			if err := os.WriteFile(plan, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary.md")}
			for k, v := range tc.env {
				env[k] = v
			}
			outputs := map[string]string{}
			leaks := func(what, text string) {
				t.Helper()
				outputs[what] = text
				if strings.Contains(text, canary) {
					t.Errorf("%s prints the secret:\n%s", what, text)
				}
			}

			code, stdout, stderr := runChildEnv(t, env, "validate", plan)
			if code != tc.validate {
				t.Errorf("validate: exit %d, want %d\n%s%s", code, tc.validate, stdout, stderr)
			}
			leaks("validate stdout", stdout)
			leaks("validate stderr", stderr)

			for _, logFormat := range []string{"console", "json"} {
				out := func(ext string) string { return filepath.Join(dir, logFormat+"."+ext) }
				args := []string{"run", plan, "--log-format", logFormat, "--out", out("json"), "--junit", out("xml"),
					"--markdown", out("md"), "--html", out("html"), "--notify-on", "always"}
				for _, n := range tc.notify {
					args = append(args, "--notify", n)
				}
				code, stdout, stderr := runChildEnv(t, env, args...)
				if code != tc.run {
					t.Errorf("run (%s logs): exit %d, want %d\n%s%s", logFormat, code, tc.run, stdout, stderr)
				}
				leaks("run stdout ("+logFormat+")", stdout)
				leaks("run stderr ("+logFormat+")", stderr)
				for _, ext := range []string{"json", "xml", "md", "html"} {
					if b, err := os.ReadFile(out(ext)); err == nil {
						leaks("run --"+ext+" file ("+logFormat+")", string(b))
					}
				}
				if _, err := os.Stat(out("json")); err != nil {
					continue
				}
				// What is read back from a saved report is clean too.
				for _, format := range []string{"console", "junit", "markdown", "html"} {
					_, stdout, stderr := runChildEnv(t, env, "report", out("json"), "--format", format)
					leaks("report --format "+format, stdout+stderr)
				}
				_, stdout, stderr = runChildEnv(t, env, "compare", out("json"), out("json"), "--format", "markdown")
				leaks("compare", stdout+stderr)
				_, stdout, stderr = runChildEnv(t, env, "trend", out("json"), "--format", "html")
				leaks("trend", stdout+stderr)
			}
			if b, err := os.ReadFile(env["GITHUB_STEP_SUMMARY"]); err == nil {
				leaks("GitHub job summary", string(b))
			}
			if t.Failed() {
				return
			}
			// The outputs say something: the canary is absent because it
			// was masked, not because nothing was printed.
			all := strings.Join(mapValues(outputs), "\n")
			if !strings.Contains(all, "****") {
				t.Errorf("no output shows a masked value; the case does not test what it says")
			}
		})
	}
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
