// Package deploy holds the tests of the deployment examples beside it
// (docs/DEPLOY.md): the systemd units are verified by systemd-analyze and
// their shell command is run with a stand-in runplan; the GitHub Actions
// workflow is linted by actionlint (with shellcheck on its scripts); every
// runplan flag the examples use is one `runplan run` has. The Kubernetes
// CronJob is tested with runplan k8s in cmd/runplan/cli.
package deploy

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/cmd/runplan/cli"
	_ "github.com/runplan/runplan/scenarios/all"
)

// unit is a systemd unit file: section → key → values, in order (a key
// may repeat).
type unit map[string]map[string][]string

func readUnit(t *testing.T, name string) unit {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unit{}
	var section string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a key=value in a section: %q", name, n, line)
			}
			k = strings.TrimSpace(k)
			u[section][k] = append(u[section][k], strings.TrimSpace(v))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

// runFlags are the flags of `runplan run`, from its --help.
func runFlags(t *testing.T) map[string]bool {
	t.Helper()
	var out bytes.Buffer
	if code := cli.Main([]string{"run", "--help"}, &out, &out); code != cli.ExitOK {
		t.Fatalf("runplan run --help: exit %d\n%s", code, out.String())
	}
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+-(-?[a-z][a-z0-9-]*)`).FindAllStringSubmatch(out.String(), -1) {
		flags["--"+strings.TrimPrefix(m[1], "-")] = true
	}
	if len(flags) < 10 {
		t.Fatalf("found %d flags in runplan run --help:\n%s", len(flags), out.String())
	}
	return flags
}

// checkRunArgs checks that args (after "run") name a plan of plans/ and
// only flags of runplan run.
func checkRunArgs(t *testing.T, where string, args []string, flags map[string]bool) {
	t.Helper()
	if len(args) < 2 || args[0] != "run" {
		t.Fatalf("%s: runplan %v, want runplan run PLAN ...", where, args)
	}
	if _, err := os.Stat(filepath.Join("../../plans", filepath.Base(args[1]))); err != nil {
		t.Errorf("%s: plan %s is not one of plans/: %v", where, args[1], err)
	}
	for _, a := range args[2:] {
		if strings.HasPrefix(a, "--") && !flags[strings.SplitN(a, "=", 2)[0]] {
			t.Errorf("%s: runplan run has no flag %s", where, a)
		}
	}
}

// TestSystemdUnits verifies the service and the timer with systemd-analyze
// (no running systemd needed), checks what DEPLOY.md promises of them, and
// runs the service's command with a stand-in for runplan.
func TestSystemdUnits(t *testing.T) {
	t.Parallel()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatalf("systemd-analyze is needed to verify the units: ./test.sh installs Debian's systemd package (%v)", err)
	}
	dir := t.TempDir()
	for _, f := range []string{"runplan-phase1.service", "runplan-phase1.timer"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// verify prints warnings (an unknown key, a bad value, a missing
	// executable) and fails on errors: the units must give neither.
	verify := exec.Command(analyze, "verify", "--man=no", "./runplan-phase1.service", "./runplan-phase1.timer")
	verify.Dir = dir
	if out, err := verify.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	security := exec.Command(analyze, "security", "--offline=true", "--no-pager", "./runplan-phase1.service")
	security.Dir = dir
	out, err := security.CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for runplan-phase1\.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security printed no exposure level:\n%s", out)
	}
	if level, _ := strconv.ParseFloat(string(m[1]), 64); level > 2.0 {
		t.Errorf("exposure level %.1f, want at most 2.0 (OK):\n%s", level, out)
	}

	svc, timer := readUnit(t, "runplan-phase1.service"), readUnit(t, "runplan-phase1.timer")
	for _, kv := range []struct{ unit, section, key, want string }{
		{"service", "Service", "Type", "oneshot"},
		{"service", "Service", "EnvironmentFile", "/etc/runplan/phase1.env"},
		{"service", "Service", "DynamicUser", "yes"},
		{"service", "Service", "ProtectSystem", "strict"},
		{"service", "Service", "NoNewPrivileges", "yes"},
		{"timer", "Timer", "OnCalendar", "daily"},
		{"timer", "Timer", "Persistent", "true"},
		{"timer", "Timer", "Unit", "runplan-phase1.service"},
		{"timer", "Install", "WantedBy", "timers.target"},
	} {
		u := map[string]unit{"service": svc, "timer": timer}[kv.unit]
		if got := u[kv.section][kv.key]; !slices.Contains(got, kv.want) {
			t.Errorf("%s [%s] %s = %q, want %q", kv.unit, kv.section, kv.key, got, kv.want)
		}
	}
	for _, e := range svc["Service"]["Environment"] {
		if regexp.MustCompile(`(?i)(URL|PASSWORD|TOKEN)=`).MatchString(e) {
			t.Errorf("Environment=%s: secrets belong in the EnvironmentFile", e)
		}
	}

	// The command: systemd turns %% into % and $$ into $, then sh runs it.
	exec0 := svc["Service"]["ExecStart"]
	if len(exec0) != 1 || !strings.HasPrefix(exec0[0], "/bin/sh -c '") || !strings.HasSuffix(exec0[0], "'") {
		t.Fatalf("ExecStart %q, want /bin/sh -c '...'", exec0)
	}
	script := strings.TrimSuffix(strings.TrimPrefix(exec0[0], "/bin/sh -c '"), "'")
	script = strings.NewReplacer("%%", "%", "$$", "$").Replace(script)
	if strings.ContainsAny(script, "'%") && !strings.Contains(script, "+%Y") {
		t.Fatalf("script %q holds a quote or a specifier", script)
	}
	stand := filepath.Join(dir, "runplan")
	if err := os.WriteFile(stand, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$ARGS_FILE\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	script = strings.ReplaceAll(script, "/usr/local/bin/runplan", stand)
	flags := runFlags(t)
	for _, status := range []string{"", "https://discord.com/api/webhooks/1/status-token"} {
		argsFile := filepath.Join(dir, "args")
		sh := exec.Command("/bin/sh", "-c", script)
		sh.Dir = dir
		sh.Env = []string{"PATH=/usr/bin:/bin", "ARGS_FILE=" + argsFile, "STATUS_WEBHOOK_URL=" + status}
		if out, err := sh.CombinedOutput(); err != nil {
			t.Fatalf("ExecStart's script: %v\n%s", err, out)
		}
		b, err := os.ReadFile(argsFile)
		if err != nil {
			t.Fatal(err)
		}
		args := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		checkRunArgs(t, "ExecStart", args, flags)
		joined := strings.Join(args, " ")
		if !regexp.MustCompile(`--out reports/phase1-\d{8}T\d{6}Z\.json --junit reports/phase1-\d{8}T\d{6}Z\.junit\.xml`).MatchString(joined) {
			t.Errorf("ExecStart's reports are not named by the run's time: %s", joined)
		}
		if hasNotify := slices.Contains(args, "--notify"); hasNotify != (status != "") || status != "" && args[len(args)-1] != status {
			t.Errorf("STATUS_WEBHOOK_URL=%q: args %q", status, args)
		}
	}
}

// TestGitHubWorkflow lints the workflow with actionlint (shellcheck on its
// run scripts) and checks that it runs a plan on a schedule and by hand,
// uploads the reports, publishes the JUnit file and announces failures.
func TestGitHubWorkflow(t *testing.T) {
	t.Parallel()
	const file = "github-workflow.yml"
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Fatalf("shellcheck is needed to check the workflow's scripts: ./test.sh installs Debian's shellcheck package (%v)", err)
	}
	var logs bytes.Buffer
	linter, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{Shellcheck: shellcheck, LogWriter: &logs})
	if err != nil {
		t.Fatal(err)
	}
	// The path says where the file goes; the linter reads no other file.
	errs, err := linter.Lint(".github/workflows/runplan-daily.yml", src, nil)
	if err != nil {
		t.Fatalf("actionlint: %v\n%s", err, logs.String())
	}
	for _, e := range errs {
		t.Errorf("%s:%d:%d: %s [%s]", file, e.Line, e.Column, e.Message, e.Kind)
	}

	var wf struct {
		On   map[string]yaml.Node `yaml:"on"`
		Jobs map[string]struct {
			Steps []struct {
				Name string            `yaml:"name"`
				If   string            `yaml:"if"`
				Uses string            `yaml:"uses"`
				Run  string            `yaml:"run"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(src, &wf); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{"schedule", "workflow_dispatch"} {
		if _, ok := wf.On[ev]; !ok {
			t.Errorf("the workflow is not started by %s", ev)
		}
	}
	flags := runFlags(t)
	var ran, uploaded, junit, announced bool
	for _, job := range wf.Jobs {
		for _, s := range job.Steps {
			switch {
			case strings.Contains(s.Run, "runplan\" run "):
				ran = true
				line := strings.Join(strings.Fields(strings.ReplaceAll(s.Run[strings.Index(s.Run, "run \"$PLAN\""):], "\\\n", " ")), " ")
				args := strings.Fields(strings.ReplaceAll(line, `"$PLAN"`, "plans/phase1.yaml"))
				checkRunArgs(t, "the run step", args, flags)
				for _, want := range []string{"--junit reports/junit.xml", "--markdown reports/report.md", "--html reports/report.html"} {
					if !strings.Contains(line, want) {
						t.Errorf("the run step lacks %s: %s", want, line)
					}
				}
			case strings.HasPrefix(s.Uses, "actions/upload-artifact@"):
				uploaded = strings.Contains(s.If, "!cancelled()") && s.With["path"] == "reports/"
			case strings.HasPrefix(s.Uses, "EnricoMi/publish-unit-test-result-action@"):
				junit = s.With["files"] == "reports/junit.xml"
			case strings.Contains(s.If, "failure()"):
				announced = strings.Contains(s.Run, "STATUS_WEBHOOK_URL")
			}
		}
	}
	if !ran || !uploaded || !junit || !announced {
		t.Errorf("runs runplan %v, uploads the reports even when it fails %v, publishes junit.xml %v, announces a failure %v",
			ran, uploaded, junit, announced)
	}
}
