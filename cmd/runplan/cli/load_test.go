package cli

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
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

func counts(s report.Stats) []float64 {
	var out []float64
	for _, p := range s.Series {
		out = append(out, float64(p.Count))
	}
	return out
}

// within checks each interval's count against the expected shape.
func within(t *testing.T, name string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) < len(want) {
		t.Fatalf("%s: series %v shorter than %v", name, got, want)
	}
	for i, w := range want {
		if math.Abs(got[i]-w) > tol*max(w, 10) {
			t.Fatalf("%s: interval %d has %v, want %v ± %.0f%% (series %v)", name, i, got[i], w, tol*100, got)
		}
	}
}

// Each load-shape plan achieves its shape, read from the report's time
// series on the embedded target. Intervals are 1 s; the tolerance covers a
// shared 2-core machine.
func TestLoadShapePlans(t *testing.T) {
	t.Parallel()
	tests := []struct {
		plan  string
		check func(t *testing.T, r *report.Report)
	}{
		{"load-open-constant.yaml", func(t *testing.T, r *report.Report) {
			s := r.Scenarios[0]
			// Interval 0 is the unmeasured warmup; then 50 per second.
			within(t, "steady", counts(s.Stats)[1:], []float64{50, 50, 50, 50}, 0.1)
			if s.Count < 245 || s.Count > 255 || s.Dropped != 0 {
				t.Fatalf("count %d dropped %d; want 250 measured, none dropped", s.Count, s.Dropped)
			}
		}},
		{"load-open-ramp.yaml", func(t *testing.T, r *report.Report) {
			// 0→100/s over 3s: 16.7, 50, 83.3; then 100, 100; then 100→20: 60.
			within(t, "ramp", counts(r.Scenarios[0].Stats), []float64{16.7, 50, 83.3, 100, 100, 60}, 0.15)
		}},
		{"load-burst.yaml", func(t *testing.T, r *report.Report) {
			within(t, "bursts", counts(r.Scenarios[0].Stats), []float64{40, 0, 40, 0, 40}, 0.05)
		}},
		{"load-closed-ramp.yaml", func(t *testing.T, r *report.Report) {
			// About 10 iterations/s per VU: VUs ramp 0→8 over 3s (mean 1.3,
			// 4, 6.7 per second, rounded at each join), hold 8, then 8→0.
			within(t, "users", counts(r.Scenarios[0].Stats)[:5], []float64{12, 40, 68, 80, 80}, 0.25)
		}},
		{"load-closed.yaml", func(t *testing.T, r *report.Report) {
			for _, c := range r.Checks {
				if !c.Passed {
					t.Fatalf("check %s failed: %s", c.Name, c.Display)
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
			tt.check(t, r)
		})
	}
}

// Ctrl-C during plans/phase1.yaml stops the run gracefully and leaves a
// complete report marked partial; the exit code says it was interrupted.
func TestInterruptLeavesPartialReport(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "r.json")
	args, _ := json.Marshal([]string{"run", "../../../plans/phase1.yaml", "--out", out, "--no-progress", "--log-format", "json"})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RUNPLAN_TEST_ARGS="+string(args))
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the run has started, then interrupt it.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), "scenario started") {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the run did not start:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Past the 3 s warmup of the cache scenario, so that it measured
	// something before the interrupt.
	time.Sleep(5 * time.Second)
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
	if r.Duration > 20 {
		t.Fatalf("the run went on for %vs after the interrupt", r.Duration)
	}
}
