package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runplan/runplan/scenarios/redis/redistest"
)

// A target that cannot be reached when the run starts is a runtime error
// (exit 3) with one clear message naming the target and the cause. The run
// did not start: its report says so and does not judge the measurement, so
// that no output — nor compare on the saved report — calls it an invalid
// measurement.
func TestUnreachableTargetAtStart(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, "--requirepass", "right-pw")
	closed := closedAddr(t)
	tests := []struct {
		name, url string
		// message is the whole line runplan prints on stderr.
		message string
	}{
		{"closed port", "redis://" + closed,
			"runplan: target cache (redis://" + closed + "): connection refused"},
		{"wrong password", "redis://default:wrong-pw@" + srv.Addr(),
			"runplan: target cache (redis://default:****@" + srv.Addr() + "): WRONGPASS invalid username-password pair or user is disabled."},
		{"no password", "redis://" + srv.Addr(),
			"runplan: target cache (redis://" + srv.Addr() + "): NOAUTH Authentication required."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			plan := filepath.Join(dir, "plan.yaml")
			src := `version: 1
name: unreachable
targets: {cache: {driver: redis, url: "` + tc.url + `"}}
scenarios:
  w:
    load: {vus: 1, iterations: 5}
    steps:
      - redis: [SET, k, v]
checks:
  - {name: counted, expr: "w.count == 5"}
`
			if err := os.WriteFile(plan, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			file := func(ext string) string { return filepath.Join(dir, "r."+ext) }
			code, stdout, stderr := runMain(t, "run", plan, "--no-progress", "--out", file("json"), "--junit", file("xml"),
				"--markdown", file("md"), "--html", file("html"))
			if code != ExitRuntime {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitRuntime, stdout, stderr)
			}
			var lines []string
			for _, l := range strings.Split(stderr, "\n") {
				if strings.HasPrefix(l, "runplan:") {
					lines = append(lines, l)
				}
			}
			if len(lines) != 1 || lines[0] != tc.message {
				t.Errorf("stderr says\n%q\nwant the one line\n%q", lines, tc.message)
			}
			outputs := map[string]string{"stdout": stdout, "stderr": stderr}
			for _, ext := range []string{"json", "xml", "md", "html"} {
				b, err := os.ReadFile(file(ext))
				if err != nil {
					t.Fatal(err)
				}
				outputs["--"+ext] = string(b)
			}
			_, cmpOut, cmpErr := runMain(t, "compare", file("json"), file("json"))
			outputs["compare"] = cmpOut + cmpErr
			_, trendOut, trendErr := runMain(t, "trend", file("json"))
			outputs["trend"] = trendOut + trendErr
			for what, text := range outputs {
				if strings.Contains(strings.ToLower(text), "invalid measurement") || strings.Contains(text, "(invalid)") {
					t.Errorf("%s calls it an invalid measurement:\n%s", what, text)
				}
			}
			for what, want := range map[string]string{"stdout": "did not start", "--md": "did not start", "--html": "did not start",
				"--xml": "not judged", "compare": "did not start", "trend": "not started"} {
				if !strings.Contains(outputs[what], want) {
					t.Errorf("%s does not say %q:\n%s", what, want, outputs[what])
				}
			}
			var rep map[string]any
			if err := json.Unmarshal([]byte(outputs["--json"]), &rep); err != nil {
				t.Fatal(err)
			}
			if v, ok := rep["valid"]; !ok || v != nil || rep["not_started"] != true || rep["partial"] != true {
				t.Errorf("report: valid %v (present %v), not_started %v, partial %v; want null, true, true",
					v, ok, rep["not_started"], rep["partial"])
			}
			if msg := strings.TrimPrefix(tc.message, "runplan: "); rep["error"] != msg {
				t.Errorf("report error %q, want %q", rep["error"], msg)
			}
		})
	}
}

// --notify URLs and a plan's notify: entries are checked before the run
// starts: a bad one is a usage error (exit 2) whose message does not print
// the URL's token, and nothing runs.
func TestNotifyCheckedBeforeRun(t *testing.T) {
	t.Parallel()
	const token = "CANARYtok3n"
	tests := []struct {
		name, url, want string
	}{
		{"scheme", "ftp://127.0.0.1:1/hook/" + token, "scheme must be http or https"},
		{"no host", "https:///api/webhooks/1/" + token, "has no host"},
		{"does not parse", "http://127.0.0.1:bad/hook/" + token, "does not parse"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			out := filepath.Join(dir, "r.json")
			plan := filepath.Join(dir, "plan.yaml")
			src := `version: 1
targets: {cache: {driver: redis}}
scenarios:
  w:
    load: {vus: 1, iterations: 2}
    steps:
      - redis: [SET, k, v]
`
			if err := os.WriteFile(plan, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := runMain(t, "run", plan, "--no-progress", "--out", out, "--notify", tc.url)
			if code != ExitUsage || !strings.Contains(stderr, "--notify") || !strings.Contains(stderr, tc.want) {
				t.Errorf("--notify %s: exit %d, want %d and a message saying %q\n%s%s", tc.name, code, ExitUsage, tc.want, stdout, stderr)
			}
			if strings.Contains(stdout+stderr, token) {
				t.Errorf("the message prints the token:\n%s%s", stdout, stderr)
			}
			if _, err := os.Stat(out); err == nil || strings.Contains(stderr, "run started") {
				t.Errorf("the run went ahead with a bad --notify URL\n%s", stderr)
			}

			// The same URL in the plan's notify: is found by validate.
			withNotify := filepath.Join(dir, "notify.yaml")
			if err := os.WriteFile(withNotify, []byte(src+"notify:\n  - url: \""+tc.url+"\"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"validate", withNotify}, {"run", withNotify, "--no-progress"}} {
				cmd := args[0]
				code, stdout, stderr = runMain(t, args...)
				if code != ExitUsage || !strings.Contains(stderr, "notify") || !strings.Contains(stderr, tc.want) {
					t.Errorf("%s with notify: %s: exit %d, want %d and a message saying %q\n%s%s", cmd, tc.name, code, ExitUsage, tc.want, stdout, stderr)
				}
				if strings.Contains(stdout+stderr, token) {
					t.Errorf("%s prints the token:\n%s%s", cmd, stdout, stderr)
				}
				// At the url's place in the plan, as every plan problem.
				if cmd == "validate" && !strings.Contains(stderr, "notify.yaml:9:10: notify: url") {
					t.Errorf("validate does not place the problem at the url (notify.yaml:9:10):\n%s", stderr)
				}
			}
		})
	}
}
