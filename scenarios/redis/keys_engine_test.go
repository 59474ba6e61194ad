package redis_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/plan"
	"github.com/runplan/runplan/engine/report"
	"github.com/runplan/runplan/scenarios/redis/redistest"
)

// runKeysPlan runs a plan in-process through the engine, as `runplan run`
// does (no --allow-destructive), under run id runID.
func runKeysPlan(t *testing.T, src, runID string) *report.Report {
	t.Helper()
	p, err := plan.Parse("keys.yaml", []byte(src), plan.Options{StepKinds: driver.Drivers(), Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	opts := engine.Options{RunID: runID}
	if diags := engine.ValidateWith(p, opts).Errors(); len(diags) > 0 {
		t.Fatal(diags)
	}
	prog, err := engine.Prepare(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := prog.Run(context.Background())
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return rep
}

// TestUserKeysSurvive is issue 10's reproduction: 100 keys user:1..100 on
// a redis-server runplan did not start (an external target), and plans with
// key_prefix "user:" that read them, or write keys of the same names. The
// user's keys are there afterwards, unchanged and without an expiry; the
// run's own keys are gone (or, with keep, still there with the safety TTL).
func TestUserKeysSurvive(t *testing.T) {
	t.Parallel()
	const n = 100
	tests := []struct {
		name    string
		options string // of the target, beside url and key_prefix
		steps   string
		hits    int64 // of the first step, a cache_get
		keep    bool  // the run's keys stay (with the safety TTL)
	}{
		// The plan as it was: only GETs. The run's keys are
		// namespaced, so the lookups miss: reading the user's keys takes
		// read_only.
		{name: "GETs under key_prefix", steps: `[{name: get, redis: {cache_get: {key: "{{ seq(100) + 1 }}"}}}]`, hits: 0},
		{name: "read_only", options: "read_only: true",
			steps: `[{name: get, redis: {cache_get: {key: "{{ seq(100) + 1 }}"}}}, {name: mget, redis: [MGET, "1", "2"]}, {name: ttl, redis: [TTL, "3"]}]`,
			hits:  2 * n},
		{name: "writes under key_prefix", steps: `[{name: get, redis: {cache_get: {key: "{{ seq(100) + 1 }}", on_miss: {value_size: 8}}}},
              {name: set, redis: [SET, "{{ seq(100) + 1 }}", ours]}, {name: hset, redis: [HSET, "{{ seq(100) + 1 }}:h", f, v]},
              {name: incr, redis: {command: [INCR, "n:{{ seq(7) }}"], pipeline: 4}}]`, hits: n},
		{name: "writes under key_prefix, keep", options: "keep: true", keep: true,
			steps: `[{name: get, redis: {cache_get: {key: "{{ seq(100) + 1 }}", on_miss: {value_size: 8}}}},
              {name: set, redis: [SET, "{{ seq(100) + 1 }}", ours]}, {name: hset, redis: [HSET, "{{ seq(100) + 1 }}:h", f, v]},
              {name: incr, redis: {command: [INCR, "n:{{ seq(7) }}"], pipeline: 4}}]`, hits: n},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := redistest.Start(t)
			c := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), DisableIdentity: true})
			defer c.Close()
			ctx := context.Background()
			for i := 1; i <= n; i++ {
				if err := c.Set(ctx, fmt.Sprintf("user:%d", i), fmt.Sprintf("theirs-%d", i), 0).Err(); err != nil {
					t.Fatal(err)
				}
			}
			runID := strings.NewReplacer("/", "-", " ", "_", ",", "").Replace(t.Name())
			src := fmt.Sprintf(`version: 1
name: keys
targets:
  users: {driver: redis, url: "%s", key_prefix: "user:"%s}
scenarios:
  lookups:
    load: {vus: 2, iterations: %d}
    steps: %s
`, srv.URL(), map[bool]string{true: ", " + tc.options, false: ""}[tc.options != ""], 2*n, tc.steps)
			rep := runKeysPlan(t, src, runID)
			steps := rep.Scenarios[0].Steps
			for _, st := range steps {
				if st.Errors != 0 || st.Count != 2*n {
					t.Errorf("step %s: %d calls, %d errors %v; want %d, none", st.Name, st.Count, st.Errors, st.ErrorsBy, 2*n)
				}
			}
			if hits := figure(&steps[0].Stats, "hits"); hits != float64(tc.hits) {
				t.Errorf("hits = %v, misses %v; want %d hits", hits, figure(&steps[0].Stats, "misses"), tc.hits)
			}

			for i := 1; i <= n; i++ {
				k := fmt.Sprintf("user:%d", i)
				if v, err := c.Get(ctx, k).Result(); err != nil || v != fmt.Sprintf("theirs-%d", i) {
					t.Fatalf("%s after the run = %q, %v; want theirs-%d", k, v, err, i)
				}
				if ttl := c.TTL(ctx, k).Val(); ttl != -1 {
					t.Fatalf("%s has TTL %v after the run, want none", k, ttl)
				}
			}
			ours := c.Keys(ctx, "user:runplan:"+runID+":*").Val()
			dbsize := c.DBSize(ctx).Val()
			if !tc.keep {
				if dbsize != n || len(ours) != 0 {
					t.Errorf("DBSIZE %d, %d keys of the run left; want the %d user keys alone", dbsize, len(ours), n)
				}
				return
			}
			// 100 strings, 100 hashes, 7 counters: kept, but expiring.
			if len(ours) != 2*n+7 || dbsize != int64(n+len(ours)) {
				t.Errorf("keep: %d keys of the run (DBSIZE %d), want %d", len(ours), dbsize, 2*n+7)
			}
			for _, k := range ours {
				// An iteration-count run has no planned length: 1 h.
				if ttl := c.TTL(ctx, k).Val(); ttl <= 30*time.Minute || ttl > time.Hour {
					t.Errorf("%s: TTL %v, want the safety TTL (1h)", k, ttl)
				}
			}
		})
	}
}

// TestSafetyTTLFromPlan checks that the safety TTL follows the plan's
// length: the latest scenario end plus its graceful stop, plus max(10 min,
// 10 %).
func TestSafetyTTLFromPlan(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), DisableIdentity: true})
	defer c.Close()
	src := fmt.Sprintf(`version: 1
name: ttl
targets:
  cache: {driver: redis, url: "%s", keep: true}
scenarios:
  short:
    load: {vus: 1, duration: 300ms}
    steps: [{name: set, redis: [SET, "s:{{ seq(5) }}", v]}]
  later:
    start: 200ms
    load: {vus: 1, duration: 300ms, graceful_stop: 100m}
    steps: [{name: hset, redis: [HSET, "h:{{ seq(5) }}", f, v]}]
`, srv.URL())
	runKeysPlan(t, src, "ttl-from-plan")
	keys := c.Keys(context.Background(), "runplan:ttl-from-plan:*").Val()
	if len(keys) == 0 {
		t.Fatal("no keys written")
	}
	// 200ms + 300ms + 100m graceful stop, plus 10 m: 110m1s (whole seconds).
	const want = 110*time.Minute + time.Second
	for _, k := range keys {
		if ttl := c.TTL(context.Background(), k).Val(); ttl <= want-5*time.Minute || ttl > want {
			t.Errorf("%s: TTL %v, want %v", k, ttl, want)
		}
	}
}
