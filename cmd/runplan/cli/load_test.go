package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runplan/runplan/engine/report"
)

func runReport(t *testing.T, args ...string) (*report.Report, int, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runMain(t, append(args, "--out", out, "--no-progress", "--log-level", "warn")...)
	r, err := report.Read(out)
	if err != nil {
		t.Fatalf("exit %d, no report: %v\n%s\n%s", code, err, stdout, stderr)
	}
	return r, code, stdout
}

// accounting checks what the engine guarantees of a scenario on any
// machine, however loaded: the time series holds every measured iteration
// exactly once, and the only errors are timeouts (a slow machine, not a
// fault of the run).
func accounting(t *testing.T, s report.Scenario) {
	t.Helper()
	var sum int64
	for _, p := range s.Series {
		sum += p.Count
	}
	if sum != s.Count {
		t.Errorf("%s: the series holds %d iterations, the scenario %d", s.Name, sum, s.Count)
	}
	for class, n := range s.ErrorsBy {
		// Dropped and interrupted iterations are how a busy machine shows.
		if class != "timeout" && class != "dropped" && class != "interrupted" {
			t.Errorf("%s: %d errors of class %s", s.Name, n, class)
		}
	}
	if s.Count == 0 {
		t.Errorf("%s: nothing measured", s.Name)
	}
}

// due checks the open model's promise: every iteration the schedule made
// due in the measured window has exactly one outcome — ok, failed, dropped,
// interrupted or late. Late and dropped ones are how a busy machine shows;
// they never vanish. warmup is how many of the planned iterations fall in
// the unmeasured warmup, which has no outcomes.
func due(t *testing.T, s report.Scenario, planned, warmup int64) {
	t.Helper()
	o := s.Outcomes
	if s.Scheduled != planned-warmup || o.Due != planned-warmup {
		t.Errorf("%s: %d iterations scheduled, %d due, want %d", s.Name, s.Scheduled, o.Due, planned-warmup)
	}
	if got := o.OK + o.Failed + o.Dropped + o.Interrupted + o.Late; got != o.Due || o.OK+o.Failed != s.Count {
		t.Errorf("%s: outcomes %+v sum to %d, want %d due and ok+failed = %d counted", s.Name, o, got, o.Due, s.Count)
	}
}

// Each load-shape plan runs end to end through the command line on the
// embedded target. How many iterations complete in each second depends on
// the machine's speed, so the shapes themselves are tested to the
// iteration under synctest's virtual clock (engine's
// TestExampleLoadPlanShapes); here the report must account for every
// iteration the plan asked for.
func TestLoadShapePlans(t *testing.T) {
	t.Parallel()
	tests := []struct {
		plan  string
		check func(t *testing.T, r *report.Report)
	}{
		{"load-open-constant.yaml", func(t *testing.T, r *report.Report) {
			// 50/s for 6 s, the first second a warmup.
			due(t, r.Scenarios[0], 300, 50)
		}},
		{"load-open-ramp.yaml", func(t *testing.T, r *report.Report) {
			// 150 over the 3 s ramp, 200 at 100/s, 60 from 100 to 20/s.
			due(t, r.Scenarios[0], 410, 0)
		}},
		{"load-burst.yaml", func(t *testing.T, r *report.Report) {
			due(t, r.Scenarios[0], 120, 0)
		}},
		{"load-closed-ramp.yaml", func(t *testing.T, r *report.Report) {
			if s := r.Scenarios[0]; s.MaxVUs != 8 {
				t.Errorf("max VUs %d, want 8", s.MaxVUs)
			}
		}},
		{"load-closed.yaml", func(t *testing.T, r *report.Report) {
			// Counted iterations are exact in the closed model; how many a
			// VU loops through in 3 s is the machine's speed.
			for _, name := range []string{"shared", "per_vu"} {
				if c := checkNamed(t, r, name); !c.Passed {
					t.Errorf("check %s failed: %s", c.Name, c.Display)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.plan, func(t *testing.T) {
			t.Parallel()
			r, code, stdout := runReport(t, "run", "../../../plans/"+tt.plan)
			if code != ExitOK && code != ExitChecks && code != ExitInvalid {
				t.Fatalf("exit %d\n%s", code, stdout)
			}
			if (code == ExitInvalid) != !r.Valid {
				t.Errorf("exit %d with valid=%v", code, r.Valid)
			}
			for _, s := range r.Scenarios {
				accounting(t, s)
			}
			tt.check(t, r)
			if t.Failed() {
				for _, s := range r.Scenarios {
					t.Logf("%s: count %d late %d dropped %d interrupted %d scheduled %d", s.Name, s.Count, s.Late, s.Dropped, s.Interrupted, s.Scheduled)
				}
			}
		})
	}
}

func checkNamed(t *testing.T, r *report.Report, name string) report.Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %s", name)
	return report.Check{}
}

// Ctrl-C during plans/phase1.yaml stops the run gracefully and leaves a
// complete report marked partial; the exit code says it was interrupted.
// The interrupt comes once the run's progress shows measured iterations
// (past the cache scenario's 3 s warmup), however long that takes. The
// redis-server started for the cache is stopped in order: its directory
// (under the run's TMPDIR) is removed, which Close does once the process
// has exited.
func TestInterruptLeavesPartialReport(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "r.json")
	tmp := t.TempDir()
	args, _ := json.Marshal([]string{"run", "../../../plans/phase1.yaml", "--out", out, "--log-format", "json"})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RUNPLAN_TEST_ARGS="+string(args), "TMPDIR="+tmp)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Off a terminal, progress is a log line per scenario every 5 s.
	measured := regexp.MustCompile(`"scenario":"strategy_cache"[^\n]*"completed":[1-9]`)
	var started time.Time
	guard := time.Now().Add(2 * time.Minute) // a hang guard
	for !measured.MatchString(stderr.String()) {
		if started.IsZero() && strings.Contains(stderr.String(), "scenario started") {
			started = time.Now()
		}
		if time.Now().After(guard) {
			_ = cmd.Process.Kill()
			t.Fatalf("the run showed no measured iteration:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if started.IsZero() {
		started = time.Now()
	}
	interruptedAt := time.Since(started)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if err == nil || !errorsAs(err, &ee) || ee.ExitCode() != ExitInterrupted {
		t.Fatalf("exit: %v, want %d\n%s", err, ExitInterrupted, stderr.String())
	}
	r, err := report.Read(out)
	if err != nil {
		t.Fatalf("no valid report after Ctrl-C: %v", err)
	}
	if !r.Partial || len(r.Scenarios) == 0 || r.Scenarios[0].Count == 0 {
		t.Fatalf("report partial=%v with %d scenarios", r.Partial, len(r.Scenarios))
	}
	if r.Targets[0].Kind != "managed" {
		t.Errorf("cache target kind %q, want a managed redis-server", r.Targets[0].Kind)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "runplan-redis-*")); len(left) > 0 {
		t.Errorf("the redis-server's directory is left after Ctrl-C: %v", left)
	}
	// The plan runs for 25 s: interrupted well before, it ended before.
	if interruptedAt < 20*time.Second && r.Duration >= 25 {
		t.Fatalf("interrupted %v after the start, the run still went on for %vs", interruptedAt.Round(time.Second), r.Duration)
	}
}
