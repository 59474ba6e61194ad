package report

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/runplan/runplan/engine/check"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/metrics"
	"github.com/runplan/runplan/schema"
)

// update rewrites the golden files and the synthetic fixture:
// go test ./engine/report -update
var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// fixtureOptions vary the synthetic run.
type fixtureOptions struct {
	// extra is added to every deliver latency (a slower second run).
	extra time.Duration
	// started moves the run in time (trends).
	started time.Time
	// invalid makes the measurement invalid, with the verdict invalid.
	invalid bool
	// cpuUnknown leaves the generator's CPU share unknown, as where the
	// system does not give the process's CPU time.
	cpuUnknown bool
}

var fixtureStart = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// synthStats records n samples with a deterministic spread around base, and
// a time series of points, one per second, with a slow second third.
func synthStats(name string, n int, base time.Duration, open bool, errEvery int, errClass string, extra time.Duration, offset time.Duration) *metrics.Stats {
	st := &metrics.Stats{Name: name, Service: metrics.NewHistogram(), ErrorsBy: map[string]int64{}}
	if open {
		st.Response = metrics.NewHistogram()
	}
	const seconds = 10
	perSec := n / seconds
	for sec := 0; sec < seconds; sec++ {
		h := metrics.NewHistogram()
		var errs int64
		for i := 0; i < perSec; i++ {
			k := sec*perSec + i
			// A long tail: most samples near base, every 50th up to 20×.
			d := base + time.Duration(k%97)*base/40
			if k%50 == 0 {
				d = base * time.Duration(2+k%19)
			}
			if sec >= 3 && sec < 5 { // the fault window
				d *= 3
			}
			d += extra
			_ = st.Service.RecordValue(int64(d))
			rec := d
			if open {
				rec = d + time.Duration(k%7)*time.Millisecond/10
				_ = st.Response.RecordValue(int64(rec))
			}
			_ = h.RecordValue(int64(rec))
			st.Count++
			if errEvery > 0 && k%errEvery == 0 {
				st.Errors++
				errs++
				st.ErrorsBy[errClass]++
			}
		}
		st.Points = append(st.Points, metrics.Point{Start: offset + time.Duration(sec)*time.Second, Width: time.Second,
			Measured: time.Second, Count: int64(perSec), Errors: errs, Latency: metrics.Summarize(h)})
	}
	// The last interval completed nothing: its latency is unknown. A
	// scenario that started late ends half-way through it: it is partial.
	last := metrics.Point{Start: offset + seconds*time.Second, Width: time.Second, Measured: time.Second}
	if offset > 0 {
		last.Measured = offset / 2
		// Before its start, nothing was measured.
		st.Points = append([]metrics.Point{{Width: offset}}, st.Points...)
	}
	st.Points = append(st.Points, last)
	return st
}

func lagHistogram() *hdrhistogram.Histogram {
	h := metrics.NewHistogram()
	for i := 0; i < 200; i++ {
		_ = h.RecordValue(int64(50*time.Microsecond + time.Duration(i%23)*40*time.Microsecond))
	}
	return h
}

// fixtureMetrics are a cache's figures, declared as a driver declares its
// step metrics.
var fixtureMetrics = []driver.StepMetric{
	{Name: "hits", Kind: driver.Counter, Help: "cache lookups that found the key"},
	{Name: "misses", Kind: driver.Counter, Help: "cache lookups that did not find the key"},
	{Name: "lookup_errors", Kind: driver.Counter, Help: "cache lookups that failed"},
	{Name: "hit_ratio", Kind: driver.Ratio, Help: "hits / (hits + misses + lookup_errors)",
		Numerator: "hits", Denominator: []string{"hits", "misses", "lookup_errors"}},
}

// buildFixture builds a report with Build from synthetic metrics: two
// scenarios (closed and open), three steps, errors, a cache, server
// figures with an unavailable one, passing, failing, critical and errored
// checks, and recommendations.
func buildFixture(opts fixtureOptions) *Report {
	started := opts.started
	if started.IsZero() {
		started = fixtureStart
	}
	lookup := synthStats("lookup", 5000, 180*time.Microsecond, false, 0, "", 0, 0)
	lookup.Metrics = fixtureMetrics
	lookup.Counters = driver.Counters{4610, 390}
	cacheIter := synthStats("", 5000, 190*time.Microsecond, false, 0, "", 0, 0)
	fetch := synthStats("fetch", 400, 300*time.Microsecond, true, 0, "", 0, time.Second)
	deliver := synthStats("deliver", 400, 40*time.Millisecond, false, 40, "status", opts.extra, time.Second)
	deliverIter := synthStats("", 400, 41*time.Millisecond, true, 40, "status", opts.extra, time.Second)
	// The first distinct messages of the failed deliveries, as the engine
	// samples them (engine/metrics.ErrorSampler).
	deliver.ErrorSamples = []metrics.ErrorSample{
		{Class: "status", Message: "webhook: POST http://127.0.0.1:8080/api/webhooks/1/****: status 503 (service unavailable)", Count: 10, At: "plans/fixture.yaml:41:9"},
	}
	// Every due iteration has its outcome (engine/scenario.go's finish).
	cacheOutcomes := metrics.Outcomes{Due: 5000, OK: 5000}
	cacheIter.Account(cacheOutcomes)
	deliverOutcomes := metrics.Outcomes{Due: 402, OK: 390, Failed: 10, Dropped: 2}
	deliverIter.Account(deliverOutcomes)

	sum := &metrics.RunSummary{
		Started:  started,
		Duration: 11500 * time.Millisecond,
		Interval: time.Second,
		Generator: metrics.Generator{Lag: lagHistogram(), Scheduled: 402, Late: 0, Dropped: 2, CPU: 0.3141,
			PeakRSS: 48 << 20, Valid: true},
		Scenarios: []*metrics.ScenarioSummary{
			{Name: "strategy_cache", Model: "closed", Iteration: cacheIter, Steps: []*metrics.Stats{lookup},
				Elapsed: 10 * time.Second, MaxVUs: 20, Outcomes: cacheOutcomes},
			{Name: "signal_delivery", Model: "open", Iteration: deliverIter, Steps: []*metrics.Stats{fetch, deliver},
				Elapsed: 10 * time.Second, PlannedElapsed: 10 * time.Second, Offset: time.Second, Scheduled: 402, Dropped: 2, MaxVUs: 20,
				Outcomes: deliverOutcomes},
		},
		Faults: []*metrics.FaultSummary{
			{Name: "redis_latency", Target: "cache", Kind: "latency", Describe: "adds 50ms to every reply",
				PlannedAt: 3 * time.Second, PlannedFor: 2 * time.Second, Start: 3 * time.Second, End: 5 * time.Second,
				Applied: true, Scenarios: []string{"strategy_cache", "signal_delivery"},
				Effect: metrics.Effect{
					Before:    span(time.Second, 3*time.Second, 1200, 0, 0.4),
					During:    span(3*time.Second, 5*time.Second, 980, 4, 1.3),
					After:     span(5*time.Second, 10*time.Second, 2950, 1, 0.45),
					Recovered: true, Recovery: 1500 * time.Millisecond,
					ErrorsStoppedOK: true, LatencyReturned: 1500 * time.Millisecond, LatencyReturnedOK: true,
					LatencyLimit: 5600 * time.Microsecond, SuccessLimit: 0.98,
				}},
			{Name: "webhook_outage", Target: "discord", Kind: "status", Describe: "answers 503 to every request",
				PlannedAt: 7500 * time.Millisecond, PlannedFor: 1500 * time.Millisecond, Start: 7500 * time.Millisecond,
				End: 9 * time.Second, Applied: true, Scenarios: []string{"signal_delivery"},
				Effect: metrics.Effect{
					Before: span(time.Second, 7500*time.Millisecond, 260, 0, 41),
					During: span(7500*time.Millisecond, 9*time.Second, 60, 9, 44),
					After:  span(9*time.Second, 10*time.Second, 40, 0, 42),
					Why:    "the run ended before 3 intervals within tolerance",
				}},
			{Name: "redis_restart", Target: "cache", Kind: "restart", Describe: "restarts the server",
				PlannedAt: 10 * time.Second, Skipped: "probability 0.5: not drawn", Scenarios: []string{"strategy_cache"}},
		},
		Targets: []*metrics.TargetSummary{{
			Name:    "cache",
			Server:  map[string]float64{"commands": 5400, "hit_ratio": math.NaN(), "ops_per_sec": 540.25},
			Order:   []string{"commands", "ops_per_sec", "hit_ratio"},
			Help:    map[string]string{"commands": "commands processed", "hit_ratio": "server-side hit ratio"},
			Samples: 11,
		}},
	}
	p99 := metrics.Summarize(lookup.Service).P99
	deliverP95 := metrics.Summarize(deliverIter.Response).P95
	outcome := &check.Outcome{
		Checks: []check.Result{
			{Name: "redis_latency", Expr: "strategy_cache.steps.lookup.latency.p99 < ms(100)", Passed: true, Weight: 25,
				Value: check.Duration{D: p99, OK: true}},
			{Name: "cache_hit_ratio", Expr: "strategy_cache.hit_ratio > 0.95", Passed: false, Weight: 25, Value: 0.922},
			{Name: "delivery_time", Expr: "signal_delivery.latency.p95 < ms(500) || signal_delivery.count == 0", Passed: deliverP95 < 500*time.Millisecond,
				Weight: 25, Value: check.Duration{D: deliverP95, OK: true}},
			{Name: "delivery_success", Expr: "signal_delivery.success_rate > 0.99", Passed: false, Weight: 20, Critical: true,
				Value: 0.975},
			{Name: "queue_depth", Expr: "cache.server.queue_depth < 10", Passed: false, Weight: 5,
				Error: "unknown name cache.server.queue_depth (1:14)"},
			{Name: "throughput", Expr: "strategy_cache.rate > 600", Passed: false, Weight: 10, Value: 500.0,
				Partial: true, Credit: 0.6},
			{Name: "restart_errors", Expr: "faults.redis_restart.errors == 0", Passed: false, Weight: 0, Value: 0,
				NA: true, Missing: []string{"faults.redis_restart.errors"}},
		},
		Verdict: check.NotReady,
		Capped:  true,
		Recommendations: []string{
			"Cache hit ratio is 92.2%: lengthen TTLs or pre-warm hot keys.",
			"Only 97.5% of signals were delivered: look at the errors by class (status 10).",
		},
	}
	var total, passed float64
	for i, c := range outcome.Checks {
		if c.Passed && !c.Partial {
			outcome.Checks[i].Credit = 1
		}
		total += c.Weight
		passed += c.Weight * outcome.Checks[i].Credit
	}
	outcome.Score = 100 * passed / total
	if opts.cpuUnknown {
		sum.Generator.CPU = math.NaN()
	}
	if opts.invalid {
		sum.Generator.Valid = false
		sum.Generator.Reasons = []string{"signal_delivery: scheduling lag p99 15ms is above 10ms"}
		sum.Generator.HostKnown, sum.Generator.HostBusy, sum.Generator.HostLoad, sum.Generator.HostCores = true, 0.95, 3.5, 2
		sum.Generator.Cause = "host_busy"
		sum.Generator.Advice = "Cause: the machine was busy: other processes used 64% of its 2 CPUs (load average 3.50) while runplan used 31%."
		outcome.Verdict, outcome.Capped = check.Invalid, false
	}
	return Build(Input{
		Plan: PlanInfo{Name: "phase1-fixture", Description: "Synthetic figures for the renderers' tests.",
			Path: "plans/fixture.yaml", Digest: "5f2b6c0d8e1a4b7c9d3e6f1a2b5c8d0e7f4a1b3c6d9e2f5a8b1c4d7e0f3a6b9c"},
		Summary: sum,
		Outcome: outcome,
		RunID:   "20260102T030405-fixture",
		Seed:    42,
		Version: "0.1.0-test",
		Targets: []Target{
			{Name: "cache", Driver: "redis", Kind: "embedded", Addr: "redis://127.0.0.1:6379"},
			{Name: "discord", Driver: "webhook", Kind: "embedded", Addr: "http://127.0.0.1:8080/api/webhooks/1/****"},
		},
	})
}

// fixtureJSON is the fixture as the JSON report.
func fixtureJSON(t *testing.T) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := WriteJSON(&out, buildFixture(fixtureOptions{})); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// span is a fault window's figures: n operations, errs errors, latencies
// around ms.
func span(from, to time.Duration, n, errs int64, ms float64) metrics.Span {
	h, ok := metrics.NewHistogram(), metrics.NewHistogram()
	for i := int64(0); i < n; i++ {
		v := int64(ms*1e6) + i%13*int64(ms*1e5)
		_ = h.RecordValue(v)
		if i >= errs { // the failed calls are the fastest
			_ = ok.RecordValue(v)
		}
	}
	sr := math.NaN()
	if n > 0 {
		sr = float64(n-errs) / float64(n)
	}
	by := map[string]int64{}
	if errs > 0 {
		by["status"] = errs
	}
	return metrics.Span{From: from, To: to, Count: n, Errors: errs, ErrorsBy: by, SuccessRate: sr,
		Rate: float64(n) / (to - from).Seconds(), Latency: metrics.Summarize(h), SuccessLatency: metrics.Summarize(ok)}
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./engine/report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test ./engine/report -update rewrites it after review):\n%s", path, firstDiff(want, got))
	}
}

// firstDiff shows the first differing line.
func firstDiff(want, got []byte) string {
	wl, gl := bytes.Split(want, []byte("\n")), bytes.Split(got, []byte("\n"))
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g []byte
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if !bytes.Equal(w, g) {
			return "line " + strconv.Itoa(i+1) + ":\nwant: " + clip(string(w)) + "\ngot:  " + clip(string(g))
		}
	}
	return "(same lines, different bytes)"
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// readFixture reads testdata/name as a report.
func readFixture(t *testing.T, name string) *Report {
	t.Helper()
	r, err := Read(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// schemaMetrics converts declarations for the report schema.
func schemaMetrics(ms []driver.StepMetric) []schema.Metric {
	out := make([]schema.Metric, len(ms))
	for i, m := range ms {
		out[i] = SchemaMetric(m)
	}
	return out
}
