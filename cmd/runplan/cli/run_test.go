package cli

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runplan/runplan/scenarios/redis/redistest"
)

const quickPlan = "../../../plans/quick.yaml"

func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// readReport decodes a JSON report loosely, as a CI script would.
func readReport(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("report is not JSON: %v", err)
	}
	return m
}

func TestRunQuickOnLocalTargets(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runMain(t, "run", quickPlan, "--out", out, "--log-format", "json", "--no-progress")
	// An invalid measurement (4) is possible on a loaded machine under -race;
	// what is tested here is the report.
	if code != ExitOK && code != ExitChecks && code != ExitInvalid {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"strategy_cache", "lookup", "signal_delivery", "deliver", "CHECKS", "SCORE", "VERDICT"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	rep := readReport(t, out)
	for _, k := range []string{"plan", "started_at", "duration", "targets", "scenarios", "checks", "score", "verdict", "recommendations"} {
		if _, ok := rep[k]; !ok {
			t.Errorf("report lacks %q", k)
		}
	}
	// The cache is a redis-server started for the run (installed on the
	// test machines), the webhook the embedded sink.
	for _, tg := range rep["targets"].([]any) {
		tg := tg.(map[string]any)
		if want := map[string]string{"cache": "managed", "discord": "embedded"}[tg["name"].(string)]; tg["kind"] != want {
			t.Errorf("target %v kind %v, want %s", tg["name"], tg["kind"], want)
		}
	}
	checks := rep["checks"].([]any)
	if len(checks) != 4 {
		t.Fatalf("%d checks, want 4", len(checks))
	}
	for _, c := range checks {
		c := c.(map[string]any)
		for _, k := range []string{"name", "expr", "passed", "value", "weight"} {
			if _, ok := c[k]; !ok {
				t.Errorf("check lacks %q: %v", k, c)
			}
		}
	}
	var lookups float64
	for _, s := range rep["scenarios"].([]any) {
		s := s.(map[string]any)
		if s["name"] == "strategy_cache" {
			lookups = s["count"].(float64)
		}
	}
	if lookups == 0 {
		t.Fatal("no lookups measured")
	}
	// The report file is complete JSON and no temporary file is left.
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Fatalf("report folder holds %d files, want 1", len(entries))
	}
}

func TestRunAgainstRealRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runMain(t, "run", quickPlan, "--out", out,
		"--set", "targets.cache.url="+srv.URL(),
		"--set", "scenarios.strategy_cache.load.duration=3s",
		"--set", "scenarios.signal_delivery.load.duration=2s", "--no-progress")
	if code != ExitOK && code != ExitChecks && code != ExitInvalid {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	rep := readReport(t, out)
	cache := rep["targets"].([]any)[0].(map[string]any)
	if cache["kind"] != "external" {
		t.Fatalf("cache kind %v, want external", cache["kind"])
	}
	// Generated keys were removed at the end.
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("DBSIZE\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	if got := string(buf[:n]); got != ":0\r\n" {
		t.Fatalf("DBSIZE after the run = %q, want :0 (keys cleaned up)", got)
	}
}

func TestRunUnreachableTargetExits3(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runMain(t, "run", quickPlan, "--out", out, "--set", "targets.cache.url=redis://:s3cretpw@"+addr)
	if code != ExitRuntime {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitRuntime, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, "s3cretpw") {
		t.Fatal("the password leaked into the output")
	}
	rep := readReport(t, out)
	if rep["partial"] != true || rep["error"] == nil {
		t.Fatalf("report not marked partial with an error: %v %v", rep["partial"], rep["error"])
	}
	b, _ := os.ReadFile(out)
	if strings.Contains(string(b), "s3cretpw") {
		t.Fatal("the password leaked into the report")
	}
}

func TestRunFailingCheckExits1(t *testing.T) {
	t.Parallel()
	plan := filepath.Join(t.TempDir(), "fail.yaml")
	src := `version: 1
targets: {cache: {driver: redis}}
scenarios:
  w:
    load: {vus: 2, iterations: 50}
    steps:
      - redis: [SET, "k:{{ uniform(10) }}", v]
checks:
  - {name: impossible, expr: "w.latency.p99 < us(0)"}
  - {name: counted, expr: "w.count == 50"}
`
	if err := os.WriteFile(plan, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := runMain(t, "run", plan, "--log-level", "error")
	if code != ExitChecks {
		t.Fatalf("exit %d, want %d\n%s", code, ExitChecks, stdout)
	}
	if !strings.Contains(stdout, "✗ impossible") || !strings.Contains(stdout, "✓ counted") {
		t.Fatalf("summary:\n%s", stdout)
	}
}

func TestCommandLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"no args", nil, ExitUsage, ""},
		{"help", []string{"--help"}, ExitOK, "Usage:"},
		{"version", []string{"version"}, ExitOK, "runplan "},
		{"schema", []string{"schema"}, ExitOK, `"$schema": "https://json-schema.org/draft/2020-12/schema"`},
		{"run help", []string{"run", "--help"}, ExitOK, ""},
		{"validate help", []string{"validate", "-h"}, ExitOK, ""},
		{"unknown command", []string{"frobnicate"}, ExitUsage, ""},
		{"bad seed", []string{"run", quickPlan, "--seed", "x"}, ExitUsage, ""},
		{"bad log level", []string{"run", quickPlan, "--log-level", "loud"}, ExitUsage, ""},
		{"missing plan file", []string{"validate", "nope.yaml"}, ExitUsage, ""},
		{"validate examples", []string{"validate", "../../../plans/phase1.yaml", quickPlan}, ExitOK, "phase1.yaml: ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runMain(t, tt.args...)
			if code != tt.code || !strings.Contains(stdout, tt.out) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
		})
	}
}
