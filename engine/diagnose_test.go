package engine

import (
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/runplan/runplan/engine/metrics"
)

func TestParseHost(t *testing.T) {
	t.Parallel()
	load, ok := parseLoadavg("3.14 2.00 1.50 3/512 12345\n")
	if !ok || load != 3.14 {
		t.Fatalf("loadavg %v %v", load, ok)
	}
	stat := "cpu  100 5 50 800 20 3 2 20 0 0\ncpu0 50 2 25 400 10 1 1 10 0 0\nintr 1\n"
	total, idle, steal, ok := parseStat(stat)
	if !ok || total != 1000 || idle != 820 || steal != 20 {
		t.Fatalf("stat total %d idle %d steal %d ok %v", total, idle, steal, ok)
	}
	if _, _, _, ok := parseStat("intr 1\n"); ok {
		t.Fatal("a stat without a cpu line parsed")
	}
	v := hostOver(hostSample{OK: true, Total: 1000, Idle: 820, Steal: 20}, hostSample{OK: true, Load1: 2.5, Total: 2000, Idle: 1320, Steal: 120}, 2)
	if !v.OK || v.Busy != 0.4 || v.Steal != 0.1 || v.Load1 != 2.5 {
		t.Fatalf("host view %+v", v)
	}
	if hostOver(hostSample{}, hostSample{OK: true}, 2).OK {
		t.Fatal("a view from an unknown sample is known")
	}
}

// TestDiagnosis: the advice on an invalid measurement names the cause the
// figures show, from injected readings (issue 11).
func TestDiagnosis(t *testing.T) {
	t.Parallel()
	late := openScenario("alerts", 1000, 0, 20*time.Millisecond) // invalid: lag p99 above 10ms
	closed := &metrics.ScenarioSummary{Name: "cache", Model: "closed", Iteration: &metrics.Stats{Count: 5000}}
	wall := 10 * time.Second
	tests := []struct {
		name      string
		scenarios []*metrics.ScenarioSummary
		cpu       time.Duration // runplan's CPU time over wall, with 2 CPUs; unknown when negative
		host      hostView
		cause     string
		advice    []string
	}{
		{"hypervisor steal", []*metrics.ScenarioSummary{late}, 2 * time.Second,
			hostView{OK: true, Busy: 0.5, Steal: 0.12, Load1: 1, Cores: 2}, "host_steal",
			[]string{"the machine was busy", "stole 12%", "lowering the rate will not help"}},
		{"other processes", []*metrics.ScenarioSummary{late}, 2 * time.Second,
			hostView{OK: true, Busy: 0.9, Load1: 2.4, Cores: 2}, "host_busy",
			[]string{"the machine was busy", "other processes used 80% of its 2 CPUs (load average 2.40) while runplan used 10%"}},
		{"a high load average", []*metrics.ScenarioSummary{late}, 2 * time.Second,
			hostView{OK: true, Busy: 0.3, Load1: 4, Cores: 2}, "host_busy", []string{"load average 4.00"}},
		{"a closed-model neighbour", []*metrics.ScenarioSummary{late, closed}, 16 * time.Second,
			hostView{OK: true, Busy: 0.85, Load1: 2, Cores: 2}, "closed_model",
			[]string{"closed-model scenario cache", "run the closed-model scenario separately or lower its VUs"}},
		{"runplan CPU-bound", []*metrics.ScenarioSummary{late}, 16 * time.Second,
			hostView{OK: true, Busy: 0.85, Load1: 2, Cores: 2}, "generator_cpu", []string{"CPU-bound (80%", "Lower the rate"}},
		{"CPU-bound, host unknown", []*metrics.ScenarioSummary{late}, 16 * time.Second,
			hostView{Cores: 2}, "generator_cpu", []string{"CPU-bound"}},
		{"nothing visible", []*metrics.ScenarioSummary{late}, 2 * time.Second,
			hostView{OK: true, Busy: 0.15, Load1: 0.4, Cores: 2}, "unknown",
			[]string{"Cause not visible: runplan used 10% of its CPUs and the host was not busy (load average 0.40 on 2 CPUs"}},
		{"nothing visible, host unknown", []*metrics.ScenarioSummary{late}, 2 * time.Second,
			hostView{Cores: 2}, "unknown", []string{"the host's load is unknown on this system"}},
		// Where the system does not say, runplan's CPU share is unknown:
		// it names no cause and is never printed as 0%.
		{"CPU unknown, host unknown", []*metrics.ScenarioSummary{late, closed}, -1,
			hostView{Cores: 2}, "unknown", []string{"Cause not visible: runplan's CPU use is unknown and the host's load is unknown"}},
		{"CPU unknown, a high load average", []*metrics.ScenarioSummary{late}, -1,
			hostView{OK: true, Busy: 0.9, Load1: 4, Cores: 2}, "host_busy",
			[]string{"its load average was 4.00 on 2 CPUs (runplan's own CPU use is unknown on this system)"}},
		{"CPU unknown, a busy host with a low load average", []*metrics.ScenarioSummary{late}, -1,
			hostView{OK: true, Busy: 0.9, Load1: 0.5, Cores: 2}, "unknown", []string{"runplan's CPU use is unknown and the host was not busy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := generatorHealth(healthInput{scenarios: tt.scenarios, cpu: tt.cpu, cpuKnown: tt.cpu >= 0, wall: wall, procs: 2, host: tt.host})
			if tt.cpu < 0 && !math.IsNaN(g.CPU) {
				t.Errorf("an unknown CPU time gave the CPU share %v, not NaN", g.CPU)
			}
			if g.Valid || g.Cause != tt.cause {
				t.Fatalf("valid %v cause %q; want invalid, %q (%s)", g.Valid, g.Cause, tt.cause, g.Advice)
			}
			for _, w := range tt.advice {
				if !strings.Contains(strings.ToLower(g.Advice), strings.ToLower(w)) {
					t.Errorf("advice lacks %q: %s", w, g.Advice)
				}
			}
		})
	}
	if g := generatorHealth(healthInput{scenarios: []*metrics.ScenarioSummary{closed}, cpu: 16 * time.Second, cpuKnown: true, wall: wall, procs: 2}); g.Cause != "" || g.Advice != "" {
		t.Fatalf("a valid measurement got a diagnosis: %q", g.Advice)
	}
}

// TestCPUTime: where the system says (every system the tests run on), the
// process's CPU time is known and does not go back.
func TestCPUTime(t *testing.T) {
	t.Parallel()
	a, ok := cpuTime()
	if !ok {
		t.Skip("this system does not give the process's CPU time")
	}
	if b, ok := cpuTime(); !ok || b < a || a < 0 {
		t.Fatalf("CPU time %v then %v (ok %v)", a, b, ok)
	}
}

// TestPeakRSS: Linux and macOS give the process's peak memory; elsewhere it
// is unknown (0, left out of the report).
func TestPeakRSS(t *testing.T) {
	t.Parallel()
	got := peakRSS()
	switch runtime.GOOS {
	case "linux", "darwin":
		if got <= 0 {
			t.Fatalf("peak RSS %d on %s; want a positive size", got, runtime.GOOS)
		}
	default:
		if got != 0 {
			t.Fatalf("peak RSS %d on %s, where it is unknown", got, runtime.GOOS)
		}
	}
}
