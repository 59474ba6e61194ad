package promrw

import (
	"bytes"
	"context"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/rs/zerolog"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/export"
	"github.com/runplan/runplan/engine/load"
	"github.com/runplan/runplan/engine/metrics"
	"github.com/runplan/runplan/engine/redact"
	"github.com/runplan/runplan/engine/report"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestParseTarget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		target, url, token, err string
		interval                time.Duration
	}{
		{target: "http://127.0.0.1:9090/api/v1/write", url: "http://127.0.0.1:9090/api/v1/write", interval: DefaultInterval},
		{target: "https://u:pw@m.example/api/v1/push?interval=2s&tenant=a", url: "https://u:pw@m.example/api/v1/push?tenant=a", interval: 2 * time.Second},
		{target: "http://h/api/v1/write?token=abc123secret&interval=100ms", url: "http://h/api/v1/write", token: "abc123secret", interval: 100 * time.Millisecond},
		{target: "http://h/w?interval=10ms", err: "interval \"10ms\": want a duration from 100ms to 5m0s"},
		{target: "http://h/w?interval=soon", err: "interval \"soon\""},
		{target: "ftp://h/w", err: "want an http or https URL"},
		{target: "127.0.0.1:9090", err: "want an http or https URL"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			t.Parallel()
			c, err := ParseTarget(tt.target)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.URL != tt.url || c.Token != tt.token || c.Interval != tt.interval {
				t.Errorf("got %+v, want url %s token %q interval %v", c, tt.url, tt.token, tt.interval)
			}
			if strings.Contains(c.Display, "pw@") || tt.token != "" && strings.Contains(c.Display, tt.token) {
				t.Errorf("display %q shows a credential", c.Display)
			}
		})
	}
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	if ks := export.Kinds(); len(ks) != 1 || ks[0] != Kind {
		t.Errorf("kinds %v, want [%s]", ks, Kind)
	}
	red := redact.New()
	_, err := export.Open("graphite=tcp://u:hunter2pass@h:2003", export.Options{Secrets: red})
	if err == nil || !strings.Contains(err.Error(), `unknown kind "graphite" (kinds: prometheus-rw)`) {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := export.Open("prometheus-rw", export.Options{}); err == nil || !strings.Contains(err.Error(), "want KIND=TARGET") {
		t.Errorf("no target: %v", err)
	}
	_, err = export.Open("prometheus-rw=ftp://u:hunter2pass@h/w", export.Options{Secrets: red})
	if err == nil || strings.Contains(err.Error(), "hunter2pass") {
		t.Errorf("bad URL: %v (the password must be masked)", err)
	}
	if got := red.String("hunter2pass"); got == "hunter2pass" {
		t.Error("Open did not register the target's password")
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func render(ss []sample) string {
	var b strings.Builder
	for _, s := range ss {
		b.WriteString(s.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func TestLiveSamples(t *testing.T) {
	t.Parallel()
	lat := metrics.Latency{OK: true, P50: 2 * time.Millisecond, P90: 5 * time.Millisecond, P95: 7 * time.Millisecond,
		P99: 12 * time.Millisecond, P999: 30 * time.Millisecond}
	scs := []engine.ScenarioProgress{
		{Name: "cache", Started: true, Open: true, OK: 480, Failed: 3, Interrupted: 1, Scheduled: 500, Late: 6, Dropped: 10,
			LagNow: 1500 * time.Microsecond, LagOK: true, Rate: 98.5, RateOK: true, P99: 12 * time.Millisecond, P99OK: true,
			Steps: []engine.StepProgress{{Name: "lookup", Target: "redis", Rate: 98.5, RateOK: true, Latency: lat,
				Totals: metrics.Totals{Count: 483, Errors: 3, ErrorsBy: map[string]int64{"timeout": 2, "refused": 1}, Figures: []metrics.Figure{
					{StepMetric: driver.StepMetric{Name: "hits", Kind: driver.Counter}, N: 400},
					{StepMetric: driver.StepMetric{Name: "wait", Kind: driver.Duration}, N: int64(1500 * time.Millisecond)},
					{StepMetric: driver.StepMetric{Name: "hit_ratio", Kind: driver.Ratio}, N: 400, Den: 480},
					{StepMetric: driver.StepMetric{Name: "empty_ratio", Kind: driver.Ratio}}}}}}},
		// Closed model, still in its warmup: counts but no interval figures.
		{Name: "delivery", Started: true, OK: 4,
			Steps: []engine.StepProgress{{Name: "pause", Totals: metrics.Totals{Count: 4}},
				{Name: "post", Target: "discord", Totals: metrics.Totals{Count: 4}}}},
		// Not started: nothing of it.
		{Name: "later", Steps: []engine.StepProgress{{Name: "x", Target: "redis"}}},
	}
	faults := []engine.FaultProgress{{Name: "slow", Target: "redis", Active: true}, {Name: "down", Target: "discord"}}
	golden(t, "live.golden", render(liveSamples("phase1", "run-1", -1, scs, faults)))
}

func TestFinalSamples(t *testing.T) {
	t.Parallel()
	score, cpu := 87.5, 0.12
	rep := &report.Report{Plan: report.PlanInfo{Path: "plans/phase1.yml"}, RunID: "run-1", Duration: 12.5,
		EndedAt: time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC), Valid: true, Score: &score, Verdict: "degraded",
		Generator: report.Generator{CPU: &cpu, Lag: &report.Latency{P50: 0.1, P90: 0.2, P95: 0.3, P99: 1.5, P999: 2}},
		Scenarios: []report.Scenario{
			{Name: "cache", Model: "open", Scheduled: 500, Outcomes: report.Outcomes{Due: 500, OK: 480, Failed: 3, Interrupted: 1, Dropped: 10, Late: 6},
				Stats: report.Stats{Latency: &report.Latency{P50: 2, P90: 5, P95: 7, P99: 12, P999: 30}},
				Steps: []report.Step{{Name: "lookup", Stats: report.Stats{Count: 483, Errors: 3, ErrorsBy: map[string]int64{"timeout": 2, "refused": 1},
					Metrics: []report.Metric{{Name: "hits", Kind: "counter", Value: 400}, {Name: "wait", Kind: "duration", Value: 1500}, {Name: "hit_ratio", Kind: "ratio", Value: 0.8}},
					Latency: &report.Latency{P50: 1, P90: 4, P95: 6, P99: 11, P999: 29}}}}},
			{Name: "delivery", Model: "closed", Outcomes: report.Outcomes{Due: 4, OK: 4},
				Steps: []report.Step{{Name: "post", Stats: report.Stats{Count: 4}}}},
		},
		Checks: []report.Check{{Name: "p99", Passed: true}, {Name: "hits", Passed: false}},
	}
	layout := report.Layout{
		Scenarios: []report.ScenarioLayout{{Name: "cache", Steps: []report.StepLayout{{Name: "lookup", Target: "redis"}}},
			{Name: "delivery", Steps: []report.StepLayout{{Name: "post", Target: "discord"}}}},
		Faults: []report.FaultLayout{{Name: "slow", Target: "redis"}},
	}
	golden(t, "final.golden", render(finalSamples(rep, layout)))

	// A run that never started is not judged valid or invalid; a plan
	// without checks has no score.
	none := finalSamples(&report.Report{Plan: report.PlanInfo{Name: "p"}, RunID: "r", NotStarted: true, Verdict: "unscored"}, report.Layout{})
	for _, s := range none {
		if s.name == mValid || s.name == mScore {
			t.Errorf("not started: %s written", s)
		}
	}
	// A segment's series carry its index.
	seg := finalSamples(&report.Report{Plan: report.PlanInfo{Name: "p"}, RunID: "r", Verdict: "ready",
		Segment: &report.Segment{Index: 0, Count: 2}}, report.Layout{})
	if got := seg[0].String(); !strings.Contains(got, `segment="0"`) {
		t.Errorf("segment 0 of 2: %s", got)
	}
}

// Every metric written is documented in docs/OBSERVABILITY.md's table,
// and the table names no metric that is not written.
func TestMetricsDocumented(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../../docs/OBSERVABILITY.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for name := range defs {
		if !strings.Contains(doc, "| `"+name+"`") {
			t.Errorf("docs/OBSERVABILITY.md: no table row for %s", name)
		}
	}
	for _, line := range strings.Split(doc, "\n") {
		if rest, ok := strings.CutPrefix(line, "| `runplan_"); ok {
			name := "runplan_" + rest[:strings.IndexByte(rest, '`')]
			if _, ok := defs[name]; !ok {
				t.Errorf("docs/OBSERVABILITY.md documents %s, which is not written", name)
			}
		}
	}
}

// receiver is a remote-write receiver for tests: it decodes what it is
// sent, and answers with the statuses fail gives (200 once they run out).
type receiver struct {
	mu   sync.Mutex
	reqs []*prompb.WriteRequest
	auth []string
	fail []int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.auth = append(rc.auth, r.Header.Get("Authorization"))
	if len(rc.fail) > 0 {
		code := rc.fail[0]
		rc.fail = rc.fail[1:]
		http.Error(w, "refused by the test", code)
		return
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(raw); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.reqs = append(rc.reqs, &req)
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) requests() []*prompb.WriteRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]*prompb.WriteRequest(nil), rc.reqs...)
}

// fakeRun is an export.Run with fixed figures.
type fakeRun struct{ scs []engine.ScenarioProgress }

func (f fakeRun) PlanInfo() report.PlanInfo             { return report.PlanInfo{Name: "p"} }
func (f fakeRun) RunID() string                         { return "r1" }
func (f fakeRun) Segment() load.Segment                 { return load.Segment{Index: 1, Count: 2} }
func (f fakeRun) Layout() report.Layout                 { return report.Layout{} }
func (f fakeRun) Progress() []engine.ScenarioProgress   { return f.scs }
func (f fakeRun) FaultProgress() []engine.FaultProgress { return nil }

// A receiver that fails costs one warning per streak of failures and a
// note at the end; the token goes as a bearer header and nowhere else.
func TestFailureStreaks(t *testing.T) {
	t.Parallel()
	rc := &receiver{fail: []int{500, 500, 500, 400, 0}}
	rc.fail = rc.fail[:4] // four failures (500s retried twice each), then success
	srv := httptest.NewServer(rc)
	defer srv.Close()
	var logs bytes.Buffer
	red := redact.New()
	e, err := export.Open(Kind+"="+srv.URL+"/api/v1/write?token=s3cr3t-token-value&interval=5m", export.Options{Log: zerolog.New(&logs), Secrets: red})
	if err != nil {
		t.Fatal(err)
	}
	x := e.(*Exporter)
	ctx := context.Background()
	one := []sample{{name: mScore, value: 1}}
	// The first write: three attempts (two retries), all 500: a failure.
	x.record(x.write(ctx, one))
	// The second: a 400 is not retried: another failure, same streak.
	x.record(x.write(ctx, one))
	// The third succeeds and ends the streak; the fourth fails again.
	x.record(x.write(ctx, one))
	rc.mu.Lock()
	rc.fail = []int{400}
	rc.mu.Unlock()
	x.record(x.write(ctx, one))
	notes := e.Finish(ctx, &report.Report{Plan: report.PlanInfo{Name: "p"}, RunID: "r1", Verdict: "ready"})

	warns := strings.Count(logs.String(), "metrics not exported")
	if warns != 2 {
		t.Errorf("%d warnings, want 2 (one per streak):\n%s", warns, logs.String())
	}
	if !strings.Contains(logs.String(), "accepts writes again") {
		t.Errorf("no word that the receiver came back:\n%s", logs.String())
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "3 of 5 writes failed") || !strings.Contains(notes[0], "500 Internal Server Error") {
		t.Errorf("notes %q", notes)
	}
	for _, s := range append(notes, logs.String()) {
		if strings.Contains(s, "s3cr3t-token-value") {
			t.Errorf("the token shows: %s", s)
		}
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, a := range rc.auth {
		if a != "Bearer s3cr3t-token-value" {
			t.Errorf("Authorization %q", a)
		}
	}
	if len(rc.reqs) != 2 {
		t.Errorf("%d requests accepted, want 2 (the third write and the final one)", len(rc.reqs))
	}
}

// Live writes go out every interval once the run has started, each later
// than the one before, with the metrics' metadata; Finish stops them and
// writes the final figures.
func TestStartFinish(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	e, err := export.Open(Kind+"="+srv.URL+"?interval=100ms", export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run := fakeRun{scs: []engine.ScenarioProgress{{Name: "s", Started: true, OK: 3,
		Steps: []engine.StepProgress{{Name: "st", Target: "t", Totals: metrics.Totals{Count: 3}}}}}}
	e.Start(context.Background(), run)
	for deadline := time.Now().Add(time.Minute); len(rc.requests()) < 2; {
		if time.Now().After(deadline) {
			t.Fatal("no live writes within a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if notes := e.Finish(context.Background(), &report.Report{Plan: report.PlanInfo{Name: "p"}, RunID: "r1", Verdict: "ready"}); notes != nil {
		t.Fatalf("notes %q", notes)
	}
	reqs := rc.requests()
	var last int64
	for i, r := range reqs {
		ts := r.Timeseries[0].Samples[0].Timestamp
		if ts <= last {
			t.Errorf("request %d at %d, not after %d", i, ts, last)
		}
		last = ts
		if len(r.Metadata) == 0 {
			t.Errorf("request %d has no metadata", i)
		}
	}
	// A segment's live series carry its index: the segments of a run
	// share its run ID.
	if !slices.ContainsFunc(reqs[0].Timeseries[0].Labels, func(l prompb.Label) bool { return l.Name == "segment" && l.Value == "1" }) {
		t.Errorf("live labels %v lack segment=1", reqs[0].Timeseries[0].Labels)
	}
	final := reqs[len(reqs)-1]
	var verdict bool
	for _, ts := range final.Timeseries {
		if ts.Labels[0].Value == mVerdict {
			verdict = true
		}
		for i := 1; i < len(ts.Labels); i++ {
			if ts.Labels[i-1].Name >= ts.Labels[i].Name {
				t.Errorf("labels not sorted: %v", ts.Labels)
			}
		}
	}
	if !verdict {
		t.Error("the last write is not the final one")
	}
	select {
	case <-e.(*Exporter).done:
	default:
		t.Error("the flushing goroutine runs on after Finish")
	}
}
