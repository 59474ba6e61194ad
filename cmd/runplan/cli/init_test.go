package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every combination of init's flags writes a plan that validates through
// the CLI with no warning, starts with the schema comment, and holds the
// parts and checks it was asked for, is already as runplan fmt writes it;
// "-" writes the same plan to stdout.
func TestInitPlansValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		flags  []string
		redis  bool
		flavor string // "" for no webhook
	}{
		{"default", nil, true, "discord"},
		{"redis", []string{"--redis"}, true, ""},
		{"discord", []string{"--webhook", "discord"}, false, "discord"},
		{"slack", []string{"--webhook", "slack"}, false, "slack"},
		{"generic", []string{"--webhook=generic"}, false, "generic"},
		{"redis and discord", []string{"--redis", "--webhook", "discord"}, true, "discord"},
		{"redis and slack", []string{"--webhook", "slack", "--redis"}, true, "slack"},
		{"redis and generic", []string{"--redis", "--webhook", "generic"}, true, "generic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "starter.yaml")
			code, stdout, stderr := runMain(t, append([]string{"init", path}, tt.flags...)...)
			if code != ExitOK || stderr != "" || !strings.Contains(stdout, "wrote "+path) {
				t.Fatalf("init: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			src := string(b)
			if first, _, _ := strings.Cut(src, "\n"); !strings.HasPrefix(first, "# yaml-language-server: $schema=") {
				t.Errorf("first line %q is not the schema comment", first)
			}
			if !strings.Contains(src, "runplan run "+path+"\n") {
				t.Errorf("the plan does not say how to run it under its own name:\n%s", src)
			}
			if code, stdout, stderr := runMain(t, "validate", path); code != ExitOK || stderr != "" || stdout != path+": ok\n" {
				t.Fatalf("validate: exit %d\nstdout: %s\nstderr: %s\n%s", code, stdout, stderr, src)
			}
			if code, stdout, stderr := runMain(t, "fmt", "--check", path); code != ExitOK {
				t.Errorf("fmt --check: exit %d: runplan fmt would rewrite the starter plan\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			has := func(s string) bool { return strings.Contains(src, s) }
			for _, part := range []struct {
				want bool
				text string
			}{
				{tt.redis, "driver: redis"},
				{tt.redis, "prefill:"},
				{tt.redis, "expr: strategy_cache.hit_ratio > 0.90"},
				{tt.redis, "expr: strategy_cache.steps.lookup.latency.p99 < ms(100)"},
				{tt.flavor != "", "driver: webhook"},
				{tt.flavor != "", "flavor: " + tt.flavor + "\n"},
				{tt.flavor != "", "expr: signal_delivery.latency.p95 < s(2)"},
				{tt.flavor != "", "expr: signal_delivery.success_rate > 0.95"},
				{true, "\n    # url: "},
			} {
				if has(part.text) != part.want {
					t.Errorf("plan holds %q: %v, want %v", part.text, !part.want, part.want)
				}
			}
			// No target has a url: they are all started for the run.
			for _, line := range strings.Split(src, "\n") {
				if strings.HasPrefix(strings.TrimSpace(line), "url:") {
					t.Errorf("a target has a url: %s", line)
				}
			}
			// To stdout: the same plan, nothing else (it names the default file).
			code, stdout, stderr = runMain(t, append([]string{"init", "-"}, tt.flags...)...)
			if code != ExitOK || stderr != "" {
				t.Fatalf("init -: exit %d\n%s", code, stderr)
			}
			if want := strings.ReplaceAll(src, path, initDefaultFile); stdout != want {
				t.Errorf("init - wrote\n%s\nwant\n%s", stdout, want)
			}
		})
	}
}

// init refuses what it cannot do, with a message and the usage exit code,
// and leaves what exists as it was.
func TestInitRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		existing bool
		file     string   // in the test's folder; runplan.yaml when empty
		args     []string // after FILE
		code     int
		stderr   string
	}{
		{"existing file", true, "", nil, ExitUsage, "exists: give --force to overwrite it, or another file name\n"},
		{"bad flavor", false, "", []string{"--webhook", "teams"}, ExitUsage, `flavor "teams": use discord, slack, generic`},
		{"no flavor", false, "", []string{"--webhook"}, ExitUsage, "flag needs an argument: -webhook"},
		{"unknown flag", false, "", []string{"--frobnicate"}, ExitUsage, "flag provided but not defined: -frobnicate"},
		{"two files", false, "", []string{"other.yaml"}, ExitUsage, "give at most one file"},
		{"forced over an existing file", true, "", []string{"--force"}, ExitOK, ""},
		{"missing folder", false, "nope/runplan.yaml", nil, ExitRuntime, "runplan init: write: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "runplan.yaml")
			if tt.file != "" {
				path = filepath.Join(dir, tt.file)
			}
			const before = "version: 1 # mine\n"
			if tt.existing {
				if err := os.WriteFile(path, []byte(before), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			code, stdout, stderr := runMain(t, append([]string{"init", path}, tt.args...)...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant in stderr: %s", code, tt.code, stdout, stderr, tt.stderr)
			}
			b, err := os.ReadFile(path)
			switch {
			case code == ExitOK:
				if err != nil || !strings.HasPrefix(string(b), "# yaml-language-server:") {
					t.Errorf("no plan written: %v\n%s", err, b)
				}
			case tt.existing:
				if string(b) != before {
					t.Errorf("the existing file changed:\n%s", b)
				}
			case err == nil:
				t.Errorf("a refused init wrote %s", path)
			}
			// Nothing else is left in the folder: no temporary file.
			entries, _ := os.ReadDir(dir)
			if want := map[bool]int{true: 1, false: 0}[tt.existing || code == ExitOK]; len(entries) != want {
				t.Errorf("folder holds %d files, want %d", len(entries), want)
			}
		})
	}
}

// The default starter plan runs as written, through the CLI, on the
// targets it starts, and its Phase 1 checks pass.
func TestInitPlanRuns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "runplan.yaml")
	if code, _, stderr := runMain(t, "init", path); code != ExitOK {
		t.Fatalf("init: exit %d\n%s", code, stderr)
	}
	out := filepath.Join(dir, "r.json")
	code, stdout, stderr := runMain(t, "run", path, "--out", out, "--no-progress", "--log-level", "warn")
	// An invalid measurement (4) is possible on a loaded machine under -race,
	// as in TestRunQuickOnLocalTargets: the generator, not the plan, failed.
	if code != ExitOK && code != ExitInvalid {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	rep := readReport(t, out)
	if code == ExitInvalid && rep["valid"] != false {
		t.Fatalf("exit %d but the report says valid: %v", code, rep["valid"])
	}
	for _, tg := range rep["targets"].([]any) {
		tg := tg.(map[string]any)
		if tg["kind"] == "external" {
			t.Errorf("target %v is external: the starter plan starts its own", tg["name"])
		}
	}
	want := map[string]bool{"cache_hit_ratio": true, "redis_latency": true, "signal_delivery_time": true, "delivery_success": true}
	checks := rep["checks"].([]any)
	if len(checks) != len(want) {
		t.Fatalf("%d checks, want %d: %v", len(checks), len(want), checks)
	}
	for _, c := range checks {
		c := c.(map[string]any)
		name, _ := c["name"].(string)
		if !want[name] {
			t.Errorf("unexpected check %q", name)
		}
		if code == ExitOK && c["passed"] != true {
			t.Errorf("check %s did not pass: %v", name, c)
		}
	}
	if code == ExitOK && rep["verdict"] != "ready" {
		t.Errorf("verdict %v, want ready", rep["verdict"])
	}
	var lookups, deliveries float64
	for _, s := range rep["scenarios"].([]any) {
		s := s.(map[string]any)
		switch s["name"] {
		case "strategy_cache":
			lookups, _ = s["count"].(float64)
		case "signal_delivery":
			deliveries, _ = s["count"].(float64)
		}
	}
	if lookups == 0 || deliveries == 0 {
		t.Errorf("measured %v lookups and %v deliveries", lookups, deliveries)
	}
}
