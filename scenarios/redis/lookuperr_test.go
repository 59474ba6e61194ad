package redis_test

import (
	"math"
	"testing"

	"github.com/runplan/runplan/engine/report"
)

// figure is a step metric of a report's step or scenario: 0 when absent
// (a counter of 0), NaN for an absent ratio (over nothing).
func figure(s *report.Stats, name string) float64 {
	if m := s.Metric(name); m != nil {
		return m.Value
	}
	if name == "hit_ratio" {
		return math.NaN()
	}
	return 0
}

// TestLookupErrorsLowerHitRatio: lookups that time out while the server is
// paused are lookup errors, counted as lookups: the hit ratio is hits over
// every lookup, so a timeout lowers it instead of vanishing from it. The
// report puts the client's ratio (measured window) beside the server's
// (whole run).
func TestLookupErrorsLowerHitRatio(t *testing.T) {
	t.Parallel()
	r := runFaultPlan(t, `version: 1
targets:
  cache: {driver: redis, managed: {}, timeout: 100ms}
scenarios:
  sc:
    load: {vus: 2, duration: 3s}
    steps: [{name: lookup, redis: {cache_get: {key: k, on_miss: {value_size: 8, ttl: 5m}}}}]
faults:
  - {name: pause, target: cache, at: 1s, for: 1500ms, client_pause: {mode: all}}
checks:
  - {name: errors_counted, expr: "sc.lookup_errors > 0 && sc.steps.lookup.lookup_errors == sc.lookup_errors"}
  - {name: ratio_lowered, expr: "sc.hit_ratio < sc.hits / (sc.hits + sc.misses)"}
`)
	sc := r.Scenarios[0]
	st := sc.Steps[0]
	lookupErrs, hits, misses := figure(&st.Stats, "lookup_errors"), figure(&st.Stats, "hits"), figure(&st.Stats, "misses")
	if lookupErrs == 0 || float64(st.ErrorsBy["timeout"]) < lookupErrs {
		t.Fatalf("lookup errors %v, errors %v: want the timed-out lookups counted", lookupErrs, st.ErrorsBy)
	}
	want := hits / (hits + misses + lookupErrs)
	stRatio, scRatio := figure(&st.Stats, "hit_ratio"), figure(&sc.Stats, "hit_ratio")
	if !(math.Abs(stRatio-want) <= 1e-12) || !(math.Abs(scRatio-want) <= 1e-12) {
		t.Errorf("hit ratio step %v, scenario %v; want hits/(hits+misses+lookup errors) = %v", stRatio, scRatio, want)
	}
	for _, c := range r.Checks {
		if !c.Passed {
			t.Errorf("check %s (%s) failed: %v %s", c.Name, c.Expr, c.Value, c.Error)
		}
	}
	if len(sc.HitRatios) != 2 {
		t.Fatalf("hit ratios %+v, want the client's and the server's", sc.HitRatios)
	}
	client, server := sc.HitRatios[0], sc.HitRatios[1]
	if client.Value == nil || *client.Value != scRatio || client.Source != "client" || math.Abs(client.From-sc.Start-sc.Warmup) > 0.001 ||
		math.Abs(client.To-client.From-sc.Elapsed) > 0.001 || client.Window != "measured" {
		t.Errorf("client ratio %+v", client)
	}
	if server.Source != "server" || server.Target != "cache" || server.Window != "run" || server.Value == nil || server.From != 0 || math.Abs(server.To-r.Duration) > 0.001 {
		t.Errorf("server ratio %+v (run %vs)", server, r.Duration)
	}
}
