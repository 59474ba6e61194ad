package redis_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/runplan/runplan/cmd/runplan/cli"
	_ "github.com/runplan/runplan/scenarios/all" // the drivers, as the binary links them
	"github.com/runplan/runplan/scenarios/redis/redistest"
)

// TestCachePlans runs the three cache plans end to end through the command
// line, shortened, and reads their reports: managed targets, the server's
// figures beside the client's, and no password anywhere in the output
// (the sentinel plan's default password is the canary).
func TestCachePlans(t *testing.T) {
	t.Parallel()
	tests := []struct {
		plan    string
		target  string
		sets    []string
		figures []string // server figures that must be available
	}{
		{"cache-standalone.yaml", "cache", []string{"readers.load.duration=2s", "readers.load.warmup=500ms", "writers.load.duration=2s", "batch.load.duration=2s"},
			[]string{"hit_ratio", "ops_per_sec", "used_memory", "bytes_per_key", "connected_replicas", "evicted_keys"}},
		{"cache-sentinel.yaml", "sessions", []string{"lookups.load.duration=2s", "lookups.load.warmup=500ms", "activity.load.duration=2s"},
			[]string{"hit_ratio", "connected_replicas", "replica_lag_max", "usec_per_call"}},
		{"cache-cluster.yaml", "feeds", []string{"readers.load.duration=2s", "readers.load.warmup=500ms", "writers.load.duration=2s", "posts.load.duration=2s"},
			[]string{"hit_ratio", "keys", "used_memory", "connected_replicas"}},
	}
	for _, tc := range tests {
		t.Run(tc.plan, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "report.json")
			args := []string{"run", filepath.Join("..", "..", "plans", tc.plan), "--out", out, "--no-progress", "--color", "never", "--log-level", "debug"}
			for _, s := range tc.sets {
				args = append(args, "--set", "scenarios."+s)
			}
			var stdout, stderr syncBuffer
			code := cli.Main(args, &stdout, &stderr)
			// A busy machine (the race detector, parallel tests) may make
			// the generator fall behind the open model's schedule: the run
			// is then reported as an invalid measurement, which is not what
			// this test is about.
			if code != cli.ExitOK && code != cli.ExitChecks && code != cli.ExitInvalid {
				t.Fatalf("exit %d:\n%s\n%s", code, stdout.String(), stderr.String())
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, where := range []string{stdout.String(), stderr.String(), string(data)} {
				if strings.Contains(where, "runplan-local") {
					t.Errorf("the password shows in the output:\n%s", where)
				}
			}
			var rep struct {
				Targets []struct {
					Name, Kind, Addr string
					Server           []struct {
						Name  string
						Value *float64
					}
				}
				Scenarios []struct {
					Name     string
					Count    int64
					Errors   int64
					ErrorsBy map[string]int64 `json:"errors_by"`
				}
			}
			if err := json.Unmarshal(data, &rep); err != nil {
				t.Fatal(err)
			}
			if len(rep.Targets) != 1 || rep.Targets[0].Name != tc.target || rep.Targets[0].Kind != "managed" {
				t.Fatalf("targets = %+v, want one managed target %q", rep.Targets, tc.target)
			}
			got := map[string]*float64{}
			for _, f := range rep.Targets[0].Server {
				got[f.Name] = f.Value
			}
			for _, name := range tc.figures {
				if v, ok := got[name]; !ok || v == nil {
					t.Errorf("server figure %s unavailable", name)
				}
			}
			// The plans' timeouts are tight (a slow call fails fast), so a
			// busy machine may time a few calls out, and drop or interrupt
			// open-model iterations (errors of their own classes); any other
			// error is a fault of the run.
			for _, s := range rep.Scenarios {
				busy := s.ErrorsBy["timeout"] + s.ErrorsBy["dropped"] + s.ErrorsBy["interrupted"]
				if s.Count == 0 || s.Errors > busy {
					t.Errorf("scenario %s: %d iterations, %d errors %v\n%s", s.Name, s.Count, s.Errors, s.ErrorsBy, stdout.String())
				}
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of the run's
// logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// BenchmarkEngineGet runs the benchmark script's plans in-process — 50 VUs
// sending GET to one redis-server for 3 s, unpipelined and pipelined by 16 —
// so that the whole per-operation path (executor, step, recording) can be
// profiled:
//
//	go test -run - -bench EngineGet -benchtime 1x -cpuprofile cpu.out ./scenarios/redis/
//
// It reports Redis commands per second and the step's p50.
func BenchmarkEngineGet(b *testing.B) {
	srv := redistest.Start(b)
	for _, p := range []int{1, 16} {
		b.Run(fmt.Sprintf("pipeline=%d", p), func(b *testing.B) {
			step := `[GET, "__rand_int__"]`
			if p > 1 {
				step = fmt.Sprintf(`{command: [GET, "__rand_int__"], pipeline: %d}`, p)
			}
			dir := b.TempDir()
			plan := filepath.Join(dir, "plan.yaml")
			src := fmt.Sprintf(`version: 1
name: bench
targets:
  cache: {driver: redis, url: "%s", pool_size: 50, key_prefix: "key:", prefill: {key: __rand_int__, count: 1, value_size: 3}}
scenarios:
  get:
    load: {vus: 50, duration: 3s}
    steps:
      - {name: get, redis: %s}
`, srv.URL(), step)
			if err := os.WriteFile(plan, []byte(src), 0o600); err != nil {
				b.Fatal(err)
			}
			out := filepath.Join(dir, "report.json")
			var rate, p50 float64
			for b.Loop() {
				var stdout, stderr syncBuffer
				if code := cli.Main([]string{"run", plan, "--out", out, "--no-progress", "--color", "never"}, &stdout, &stderr); code != cli.ExitOK {
					b.Fatalf("exit %d: %s", code, stderr.String())
				}
				data, err := os.ReadFile(out)
				if err != nil {
					b.Fatal(err)
				}
				var rep struct {
					Scenarios []struct {
						Steps []struct {
							Rate    float64
							Latency struct{ P50 float64 } `json:"latency_ms"`
						}
					}
				}
				if err := json.Unmarshal(data, &rep); err != nil {
					b.Fatal(err)
				}
				st := rep.Scenarios[0].Steps[0]
				rate, p50 = st.Rate*float64(p), st.Latency.P50
			}
			b.ReportMetric(rate, "cmds/s")
			b.ReportMetric(p50, "p50-ms")
		})
	}
}
