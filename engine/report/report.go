// Package report holds the report model, built from a run's summary and its
// evaluated checks, and renders it: a console summary for people and a JSON
// document for machines, written atomically.
//
// A Report is plain data; building and rendering are safe for concurrent use
// on distinct reports.
package report

import (
	"encoding/json"
	"math"
	"time"

	"github.com/runplan/runplan/engine/check"
	"github.com/runplan/runplan/engine/metrics"
)

// FormatVersion is the JSON report's format version.
const FormatVersion = 1

// Report is the result of a run.
type Report struct {
	FormatVersion  int      `json:"report_version"`
	RunplanVersion string   `json:"runplan_version"`
	Plan           PlanInfo `json:"plan"`
	RunID          string   `json:"run_id"`
	Seed           uint64   `json:"seed"`
	// Segment is the execution segment the run ran (docs/SCALE.md); nil
	// for a run of the whole plan. StartAt is the common start its
	// segments were given (--start-at), nil without one.
	Segment *Segment   `json:"segment,omitempty"`
	StartAt *time.Time `json:"start_at,omitempty"`
	// Clock is a segment's clock measured against a server the segments
	// share; runplan merge compares the segments' (ClockSkew).
	Clock *Clock `json:"clock,omitempty"`
	// ClockSkew is, in a merged report, how far apart the segments'
	// clocks were, from their Clock readings.
	ClockSkew *ClockSkew `json:"clock_skew,omitempty"`
	// Segments is how many segments' reports a merged report holds
	// (runplan merge); absent in a run's own report.
	Segments  int       `json:"segments,omitempty"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at"`
	Duration  float64   `json:"duration"` // seconds
	Partial   bool      `json:"partial"`
	Error     string    `json:"error,omitempty"`
	// Valid is false when the generator could not hold the requested load:
	// the figures then describe the generator as much as the target. It is
	// not judged (null in JSON, see MarshalJSON) when NotStarted.
	Valid bool `json:"valid"`
	// NotStarted is true when the run never started: a target could not be
	// opened or prepared, so nothing was measured and the measurement's
	// validity is not judged (see Invalid).
	NotStarted bool      `json:"not_started,omitempty"`
	Generator  Generator `json:"generator"`
	// Interval is the time series' interval in seconds.
	Interval  float64    `json:"interval"`
	Targets   []Target   `json:"targets"`
	Scenarios []Scenario `json:"scenarios"`
	Faults    []Fault    `json:"faults"`
	Checks    []Check    `json:"checks"`
	// Notices are the targets' notices, each prefixed with its target
	// ("target cache: in-process miniredis: ..."): every renderer shows them
	// as a banner above the results.
	Notices []string `json:"notices,omitempty"`
	// Score is 0..100, null when the plan has no checks.
	Score           *float64 `json:"score"`
	Verdict         string   `json:"verdict"`
	VerdictCapped   bool     `json:"verdict_capped_by_critical,omitempty"`
	Recommendations []string `json:"recommendations"`
	// DeadRuns are earlier runs, found in the journal at the start, that
	// died leaving changes on this run's targets.
	DeadRuns []DeadRun `json:"dead_runs,omitempty"`
	// Leftovers are what this run changed on its targets and could not
	// undo or clean up; empty after a clean run.
	Leftovers []Leftover `json:"leftovers,omitempty"`
	// Journal is the file that still holds the leftovers, for `runplan
	// cleanup`; empty when nothing is left or the journal was in memory.
	Journal string `json:"journal,omitempty"`
	// StepMetrics declare the step metrics of the scenarios and steps
	// (driver.StepMetric): Build takes them from the run, a report read
	// back from its targets' drivers (resolveMetrics). Not written: the
	// JSON keeps the format it always had.
	StepMetrics []MetricInfo `json:"-"`
	// State is the mergeable state (state.go), for runplan merge; absent
	// in reports written before it, and in a merged report.
	State *State `json:"state,omitempty"`
}

// Generator is the load generator's view of itself.
type Generator struct {
	// Lag is the open model's scheduling lag in ms (null without one).
	Lag       *Latency `json:"lag_ms"`
	CPU       *float64 `json:"cpu"` // share of the available CPUs, 0..1; null where the system does not say
	PeakRSS   int64    `json:"peak_rss_bytes,omitempty"`
	Scheduled int64    `json:"scheduled"`
	Late      int64    `json:"late"`
	Dropped   int64    `json:"dropped"`
	Reasons   []string `json:"invalid_reasons,omitempty"`
	// Cause and Advice diagnose an invalid measurement (docs/SCORING.md).
	Cause  string `json:"cause,omitempty"`
	Advice string `json:"advice,omitempty"`
	// Host is the host over the run; nil where the system does not say.
	Host *Host `json:"host,omitempty"`
}

// Host is the host's view of the run: shares of its CPU time busy (all
// processes) and stolen by the hypervisor, and the load average at the end.
type Host struct {
	Busy  float64 `json:"busy"`
	Steal float64 `json:"steal"`
	Load1 float64 `json:"load1"`
	Cores int     `json:"cores"`
}

// Fault is one fault of the timeline as it happened, with its measured
// effect on the scenarios that use its target. Times are seconds from the
// run's start.
type Fault struct {
	Name       string   `json:"name"`
	Target     string   `json:"target"`
	Kind       string   `json:"kind"`
	Describe   string   `json:"describe"`
	PlannedAt  float64  `json:"planned_at"`
	PlannedFor *float64 `json:"planned_for"` // null: until the end
	Start      float64  `json:"start"`
	End        float64  `json:"end"`
	Applied    bool     `json:"applied"`
	Skipped    string   `json:"skipped,omitempty"`
	Error      string   `json:"error,omitempty"`
	UndoError  string   `json:"undo_error,omitempty"`
	Scenarios  []string `json:"scenarios"`
	Recovered  bool     `json:"recovered"`
	// Recovery is the time from the fault's end (its undo returned) until
	// the scenarios were back within tolerance: the larger of ErrorsStopped
	// and LatencyReturned; null when unknown (RecoveryNote says why).
	Recovery     *float64 `json:"recovery"`
	RecoveryNote string   `json:"recovery_note,omitempty"`
	// ErrorsStopped is the time from the fault's end to its last failed
	// completion, LatencyReturned until latency stayed within LatencyLimit
	// (docs/FAULTS.md); null when unknown.
	ErrorsStopped   *float64 `json:"errors_stopped"`
	LatencyReturned *float64 `json:"latency_returned"`
	// LatencyLimit (ms) and SuccessLimit are the recovery rule's limits,
	// derived from the before window; absent without a baseline.
	LatencyLimit *float64 `json:"latency_limit_ms,omitempty"`
	SuccessLimit *float64 `json:"success_limit,omitempty"`
	Before       *Window  `json:"before,omitempty"`
	During       *Window  `json:"during,omitempty"`
	After        *Window  `json:"after,omitempty"`
}

// Window is what the affected scenarios measured around a fault.
type Window struct {
	From        float64          `json:"from"`
	To          float64          `json:"to"`
	Count       int64            `json:"count"`
	Errors      int64            `json:"errors"`
	ErrorsBy    map[string]int64 `json:"errors_by"`
	SuccessRate *float64         `json:"success_rate"`
	Rate        float64          `json:"rate"`
	// Latency is over every completion of the window (count); a fast
	// failure lowers it. SuccessLatency is over the successful ones
	// (count − errors); null when none succeeded.
	Latency        *Latency `json:"latency_ms"`
	SuccessLatency *Latency `json:"success_latency_ms"`
}

// Point is one interval of a time series. T is its start and Width its
// length in seconds from the run's start (the plan's interval, or a
// multiple of it where old intervals were coarsened). Measured is how much
// of it lay inside the scenario's measured span (after its start and
// warmup, before its end): 0 when none, and then Rate is null; less than
// Width for a partial interval, whose Rate is over its measured length.
// Latency (ms) is null when nothing completed in it. Reports written
// before points had widths carry neither Width nor Measured: each point
// is then one whole interval.
type Point struct {
	T        float64       `json:"t"`
	Width    float64       `json:"width,omitempty"`
	Measured *float64      `json:"measured,omitempty"`
	Partial  bool          `json:"partial,omitempty"`
	Count    int64         `json:"count"`
	Errors   int64         `json:"errors"`
	Rate     *float64      `json:"rate"`
	Latency  *PointLatency `json:"latency_ms"`
}

// PointLatency holds an interval's percentiles in milliseconds.
type PointLatency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// PlanInfo identifies the plan that produced a report.
type PlanInfo struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Path        string `json:"path"`
	Digest      string `json:"digest"` // sha256 of the plan file
}

// Target says where numbers came from.
type Target struct {
	Name   string `json:"name"`
	Driver string `json:"driver"`
	// Kind is embedded, managed or external ("not opened" after a failure).
	Kind string `json:"kind"`
	Addr string `json:"addr,omitempty"`
	// Software is what serves the target (e.g. "redis-server 7.0.15",
	// "miniredis"), when its driver says.
	Software string `json:"software,omitempty"`
	// Notices are the driver's warnings about the target's figures; every
	// renderer shows them as a banner (see Report.Notices).
	Notices []string `json:"notices,omitempty"`
	// Server is the server's own view of the run, when its driver reads
	// one; a null value is a figure the server did not provide.
	Server        []ServerFigure `json:"server,omitempty"`
	ServerSamples int            `json:"server_samples,omitempty"`
	ServerError   string         `json:"server_error,omitempty"`
	// ServerSampledFrom and ServerSampledTo are when the first and the
	// last sample the server figures derive from were taken (wall clock):
	// runplan merge takes, per target, the view of the segment whose
	// samples span the longest time.
	ServerSampledFrom *time.Time `json:"server_sampled_from,omitempty"`
	ServerSampledTo   *time.Time `json:"server_sampled_to,omitempty"`
	// SpansServers is set (2 or more) when the samples were answered by
	// different servers — a failover, a restart: figures derived from the
	// first and last samples then mix them. ServerChangedAt says when a
	// sample first showed another server, seconds from the run's start.
	SpansServers    int       `json:"spans_servers,omitempty"`
	ServerChangedAt []float64 `json:"server_changed_at,omitempty"`
	// Cleanup is what the target's cleanup did, for drivers that clean up.
	Cleanup *Cleanup `json:"cleanup,omitempty"`
}

// ServerFigure is one figure of a target's server statistics.
type ServerFigure struct {
	Name  string   `json:"name"`
	Value *float64 `json:"value"`
	Help  string   `json:"help,omitempty"`
}

// Stats are the figures of a step or of whole iterations.
type Stats struct {
	Count       int64            `json:"count"`
	Errors      int64            `json:"errors"`
	ErrorsBy    map[string]int64 `json:"errors_by"`
	SuccessRate *float64         `json:"success_rate"`
	ErrorRate   *float64         `json:"error_rate"`
	Rate        float64          `json:"rate"` // per second
	// Ops and OpsRate count operations when calls carried several
	// (pipelines); absent when they equal count and rate.
	Ops     int64   `json:"ops,omitempty"`
	OpsRate float64 `json:"ops_rate,omitempty"`
	// Metrics are the step metrics its drivers declare (see
	// stepmetrics.go), those with something to show; in JSON each is a key
	// of its own, before latency_ms.
	Metrics []Metric `json:"-"`
	// Latency is in milliseconds; LatencyBasis says whether it runs from the
	// actual start ("service") or the scheduled start ("response").
	Latency      *Latency `json:"latency_ms"`
	LatencyBasis string   `json:"latency_basis"`
	// ServiceLatency is given beside a response-time Latency.
	ServiceLatency *Latency `json:"service_latency_ms,omitempty"`
	// LowerBounds counts the interrupted iterations whose wait until they
	// were cut is in the histograms as a lower bound of their latency.
	LowerBounds int64 `json:"lower_bounds,omitempty"`
	// Histogram is the latency histogram in HdrHistogram's compressed,
	// base64 form (nanoseconds), for exact merging and comparison. Redaction
	// leaves it alone: it holds no text, and a chance match would corrupt it.
	Histogram        string `json:"histogram,omitempty" redact:"-"`
	ServiceHistogram string `json:"service_histogram,omitempty" redact:"-"`
	// Series is the time series, one point per interval.
	Series []Point `json:"series"`
	// ErrorSamples are the first distinct error messages (at most 5, each
	// at most 300 bytes, masked), with their counts and the plan position
	// of the step that failed; a scenario's are those of iterations that
	// failed before any step (a data row or a var). Absent without errors.
	ErrorSamples []ErrorSample `json:"error_samples,omitempty"`
}

// ErrorSample is one distinct error message (engine/metrics.ErrorSampler).
type ErrorSample struct {
	Class   string `json:"class"`
	Message string `json:"message"`
	Count   int64  `json:"count"`
	// At is "file:line:col" of the step (or the scenario, for its vars).
	At string `json:"at,omitempty"`
}

// Latency holds percentiles in milliseconds.
type Latency struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	// AtLeast names the figures above that may include an interrupted
	// iteration's wait (a lower bound of its latency): the true figure is
	// at least the one given, and renderers print it with "≥".
	AtLeast []string `json:"at_least,omitempty"`
}

// IsAtLeast reports whether the named figure ("p99") is a lower bound.
func (l *Latency) IsAtLeast(name string) bool {
	if l == nil {
		return false
	}
	for _, n := range l.AtLeast {
		if n == name {
			return true
		}
	}
	return false
}

// Step is one step's figures.
type Step struct {
	Name string `json:"name"`
	Stats
}

// Scenario is one scenario's figures: whole iterations and steps.
type Scenario struct {
	Name        string  `json:"name"`
	Model       string  `json:"model"`
	Elapsed     float64 `json:"elapsed"` // seconds measured (after the warmup)
	Start       float64 `json:"start"`   // seconds from the run's start
	Warmup      float64 `json:"warmup"`  // seconds run but not measured
	MaxVUs      int     `json:"max_vus"`
	Aborted     string  `json:"aborted,omitempty"`
	Scheduled   int64   `json:"scheduled,omitempty"`
	Dropped     int64   `json:"dropped"`
	Late        int64   `json:"late,omitempty"`
	Interrupted int64   `json:"interrupted"`
	// Outcomes accounts for every iteration due in the measured window.
	Outcomes Outcomes `json:"outcomes"`
	// PlannedRate and ArrivalRate are the open model's planned arrival rate
	// and the one the generator achieved, measured from its send times
	// (iterations per second; absent in the closed model).
	PlannedRate *float64 `json:"planned_rate,omitempty"`
	ArrivalRate *float64 `json:"arrival_rate,omitempty"`
	Stats
	// HitRatios put the client's hit ratio beside the server's, each with
	// the window it covers (see hitRatios); absent without cache lookups.
	HitRatios []HitRatio `json:"hit_ratios,omitempty"`
	Steps     []Step     `json:"steps"`
}

// Outcomes says what became of the iterations due in a scenario's measured
// window: ok + failed + dropped + interrupted + late = due. SentLate counts
// those of them the generator sent late (late: send). See docs/METRICS.md.
type Outcomes struct {
	Due         int64 `json:"due"`
	OK          int64 `json:"ok"`
	Failed      int64 `json:"failed"`
	Dropped     int64 `json:"dropped"`
	Interrupted int64 `json:"interrupted"`
	Late        int64 `json:"late"`
	SentLate    int64 `json:"sent_late"`
}

// Check is one evaluated check.
type Check struct {
	Name     string  `json:"name"`
	Expr     string  `json:"expr"`
	Passed   bool    `json:"passed"`
	Value    any     `json:"value"`
	Display  string  `json:"value_text"`
	Unit     string  `json:"unit,omitempty"`
	Weight   float64 `json:"weight"`
	Critical bool    `json:"critical"`
	// Credit is the share of the weight earned in the score (0..1); a check
	// with good/bad bounds earns partial credit.
	Credit  float64 `json:"credit"`
	Partial bool    `json:"partial_credit,omitempty"`
	Error   string  `json:"error,omitempty"`
	// Missing names the figures the check read that were never measured:
	// the check is then n/a, and does not pass.
	Missing []string `json:"missing,omitempty"`
	// Notes warn about the figures the check reads: a latency figure of a
	// scenario (or fault window) on a target with notices carries them.
	Notes []string `json:"notes,omitempty"`
}

// NA reports whether the check is n/a: it read a figure never measured.
func (c Check) NA() bool { return len(c.Missing) > 0 }

// Invalid reports whether the measurement is judged invalid: the run
// started and the generator could not hold the requested load. A run that
// never started is not judged, neither valid nor invalid.
func (r *Report) Invalid() bool { return !r.Valid && !r.NotStarted }

// MarshalJSON writes the report; a report of a run that never started has
// "valid": null (not judged) rather than false.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report // without this method
	if !r.NotStarted {
		return json.Marshal(plain(r))
	}
	return json.Marshal(struct {
		plain
		Valid *bool `json:"valid"`
	}{plain: plain(r)})
}

// Segment is which execution segment of the plan a report holds: Index
// (0-based) of Count.
type Segment struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// ClockSkew is the largest difference between two segments' clocks, as
// their readings of one shared server's clock give it: SkewMS within
// ±UncertaintyMS, between segments Segments[0] and Segments[1].
type ClockSkew struct {
	Target        string  `json:"target"`
	SkewMS        float64 `json:"skew_ms"`
	UncertaintyMS float64 `json:"uncertainty_ms"`
	Segments      [2]int  `json:"segments"`
}

// MaxClockSkew is how far apart the segments' clocks may be, beyond the
// uncertainty of their readings, for a merged measurement to be valid: a
// tenth of the default interval, the most one segment's load may be
// shifted against another's and the series still line up.
const MaxClockSkew = 100 * time.Millisecond

// Clock is a segment's clock against the clock of a server the segments
// share (a Redis target's TIME): OffsetMS is the server's clock minus this
// process's, in milliseconds, within ±UncertaintyMS (half the shortest
// round trip of the readings).
type Clock struct {
	Target        string  `json:"target"`
	OffsetMS      float64 `json:"offset_ms"`
	UncertaintyMS float64 `json:"uncertainty_ms"`
}

// Input is what Build needs. It holds no plan: the facts Build needs from
// the plan come as plain data (Plan, Layout), computed when the run was
// prepared.
type Input struct {
	// Plan describes the plan the run was prepared from.
	Plan PlanInfo
	// Layout says which target each scenario's steps and each fault use.
	Layout  Layout
	Summary *metrics.RunSummary
	Outcome *check.Outcome
	RunID   string
	Seed    uint64
	Version string
	Targets []Target
	// Segment and StartAt are copied into the report.
	Segment *Segment
	StartAt *time.Time
	Clock   *Clock
	// DeadRuns, Leftovers and Journal are copied into the report.
	DeadRuns  []DeadRun
	Leftovers []Leftover
	Journal   string
}

// Layout is where a plan's scenarios and faults act: which target each
// step and each fault uses, in plan order. Build uses it to put a
// scenario's hit ratio beside its targets' server ratios and to carry a
// target's notices to the checks that read its figures. The zero Layout
// places nothing: no side-by-side ratios, no notes.
type Layout struct {
	Scenarios []ScenarioLayout
	Faults    []FaultLayout
}

// ScenarioLayout is one scenario's steps and their targets, in plan order.
type ScenarioLayout struct {
	Name  string
	Steps []StepLayout
}

// StepLayout is a step and the target it acts on ("" for a sleep).
type StepLayout struct {
	Name, Target string
}

// FaultLayout is a fault and the target it acts on.
type FaultLayout struct {
	Name, Target string
}

// Build assembles the report.
func Build(in Input) *Report {
	r := &Report{
		FormatVersion:  FormatVersion,
		RunplanVersion: in.Version,
		Plan:           in.Plan,
		RunID:          in.RunID,
		Seed:           in.Seed,
		Segment:        in.Segment,
		StartAt:        in.StartAt,
		Clock:          in.Clock,
		StartedAt:      in.Summary.Started.UTC(),
		EndedAt:        in.Summary.Started.Add(in.Summary.Duration).UTC(),
		Duration:       in.Summary.Duration.Seconds(),
		Partial:        in.Summary.Partial,
		Targets:        []Target{},
		Scenarios:      []Scenario{},
		Faults:         []Fault{},
		Checks:         []Check{},
		Verdict:        in.Outcome.Verdict,
		VerdictCapped:  in.Outcome.Capped,
		Valid:          in.Summary.Generator.Valid,
		Interval:       in.Summary.Interval.Seconds(),
	}
	g := in.Summary.Generator
	r.Generator = Generator{Lag: latency(metrics.Summarize(g.Lag)), CPU: nanPtr(round3(g.CPU)), PeakRSS: g.PeakRSS,
		Scheduled: g.Scheduled, Late: g.Late, Dropped: g.Dropped, Reasons: g.Reasons, Cause: g.Cause, Advice: g.Advice}
	if g.HostKnown {
		r.Generator.Host = &Host{Busy: round3(g.HostBusy), Steal: round3(g.HostSteal), Load1: g.HostLoad, Cores: g.HostCores}
	}
	r.Targets = append(r.Targets, in.Targets...)
	r.DeadRuns = append(r.DeadRuns, in.DeadRuns...)
	r.Leftovers = append(r.Leftovers, in.Leftovers...)
	if len(r.Leftovers) > 0 {
		r.Journal = in.Journal
	}
	r.Recommendations = append([]string{}, in.Outcome.Recommendations...)
	if !math.IsNaN(in.Outcome.Score) {
		s := check.RoundScore(in.Outcome.Score)
		r.Score = &s
	}
	for i := range r.Targets {
		for _, ts := range in.Summary.Targets {
			if ts.Name != r.Targets[i].Name {
				continue
			}
			t := &r.Targets[i]
			t.ServerSamples, t.ServerError = ts.Samples, ts.SampleErr
			if !ts.FirstSample.IsZero() {
				from, to := ts.FirstSample.UTC(), ts.LastSample.UTC()
				t.ServerSampledFrom, t.ServerSampledTo = &from, &to
			}
			if ts.Servers > 1 {
				t.SpansServers = ts.Servers
				for _, c := range ts.ServerChanges {
					t.ServerChangedAt = append(t.ServerChangedAt, round3(c.Seconds()))
				}
			}
			for _, name := range ts.Order {
				t.Server = append(t.Server, ServerFigure{Name: name, Value: nanPtr(ts.Server[name]), Help: ts.Help[name]})
			}
		}
	}
	for _, sc := range in.Summary.Scenarios {
		if sc == nil {
			continue
		}
		rs := Scenario{Name: sc.Name, Model: sc.Model, Elapsed: sc.Elapsed.Seconds(), Aborted: sc.Aborted,
			Start: sc.Offset.Seconds(), Warmup: sc.Warmup.Seconds(), MaxVUs: sc.MaxVUs,
			Scheduled: sc.Scheduled, Dropped: sc.Dropped, Late: sc.Late, Interrupted: sc.Interrupted, Steps: []Step{}}
		o := sc.Outcomes
		rs.Outcomes = Outcomes{Due: o.Due, OK: o.OK, Failed: o.Failed, Dropped: o.Dropped, Interrupted: o.Interrupted,
			Late: o.Late, SentLate: o.SentLate}
		if v := sc.PlannedRate(); !math.IsNaN(v) {
			rs.PlannedRate = ptr(round3(v))
		}
		if v := sc.ArrivalRate(); !math.IsNaN(v) {
			rs.ArrivalRate = ptr(round3(v))
		}
		if sc.Iteration == nil { // never started
			rs.Stats = Stats{ErrorsBy: map[string]int64{}, LatencyBasis: "service", Series: []Point{}}
			r.Scenarios = append(r.Scenarios, rs)
			continue
		}
		rs.Stats = stats(sc.Iteration, sc, in.Summary.Interval)
		var figures [][]metrics.Figure
		for _, st := range sc.Steps {
			step := Step{Name: st.Name, Stats: stats(st, sc, in.Summary.Interval)}
			step.Metrics = reportMetrics(st.Figures(), &r.StepMetrics)
			rs.Steps = append(rs.Steps, step)
			figures = append(figures, st.Figures())
		}
		rs.Metrics = reportMetrics(metrics.MergeFigures(figures...), &r.StepMetrics)
		rs.HitRatios = hitRatios(rs, in.Layout, r.Targets, r.Duration)
		r.Scenarios = append(r.Scenarios, rs)
	}
	for _, f := range in.Summary.Faults {
		rf := Fault{Name: f.Name, Target: f.Target, Kind: f.Kind, Describe: f.Describe, PlannedAt: f.PlannedAt.Seconds(),
			Start: round3(f.Start.Seconds()), End: round3(f.End.Seconds()), Applied: f.Applied, Skipped: f.Skipped,
			Error: f.Err, UndoError: f.UndoErr, Scenarios: append([]string{}, f.Scenarios...)}
		if f.PlannedFor > 0 {
			rf.PlannedFor = ptr(f.PlannedFor.Seconds())
		}
		if f.Applied {
			e := f.Effect
			rf.Recovered = e.Recovered
			if e.Recovered {
				rf.Recovery = ptr(round3(e.Recovery.Seconds()))
			}
			rf.RecoveryNote = e.Why
			if e.ErrorsStoppedOK {
				rf.ErrorsStopped = ptr(round3(e.ErrorsStopped.Seconds()))
			}
			if e.LatencyReturnedOK {
				rf.LatencyReturned = ptr(round3(e.LatencyReturned.Seconds()))
			}
			if e.LatencyLimit > 0 {
				rf.LatencyLimit = ptr(ms(e.LatencyLimit))
				rf.SuccessLimit = nanPtr(e.SuccessLimit)
			}
			rf.Before, rf.During, rf.After = window(e.Before), window(e.During), window(e.After)
		}
		r.Faults = append(r.Faults, rf)
	}
	r.State = buildState(in.Summary)
	r.Notices = targetNotices(r.Targets)
	r.Checks = checksOf(in.Outcome, in.Layout, r.Targets)
	return r
}

func stats(st *metrics.Stats, sc *metrics.ScenarioSummary, interval time.Duration) Stats {
	out := Stats{Series: series(st.Points), Count: st.Count, Errors: st.Errors, ErrorsBy: st.ErrorsBy, Rate: round3(sc.Rate(st.Count)),
		SuccessRate: nanPtr(st.SuccessRate()), ErrorRate: nanPtr(st.ErrorRate()), LatencyBasis: "service"}
	if out.ErrorsBy == nil {
		out.ErrorsBy = map[string]int64{}
	}
	if st.Ops > st.Count {
		out.Ops, out.OpsRate = st.Ops, round3(sc.Rate(st.Ops))
	}
	h, l := st.Service, st.ServiceLatency()
	if st.Response != nil {
		h, l = st.Response, st.ResponseLatency()
		out.LatencyBasis = "response"
		out.ServiceLatency = latency(st.ServiceLatency())
		out.ServiceHistogram, _ = metrics.Encode(st.Service)
	}
	out.Latency = latency(l)
	out.LowerBounds = st.LowerBounds
	for _, e := range st.ErrorSamples {
		out.ErrorSamples = append(out.ErrorSamples, ErrorSample{Class: e.Class, Message: e.Message, Count: e.Count, At: e.At})
	}
	if h.TotalCount() > 0 {
		out.Histogram, _ = metrics.Encode(h)
	}
	return out
}

func window(s metrics.Span) *Window {
	w := &Window{From: round3(s.From.Seconds()), To: round3(s.To.Seconds()), Count: s.Count, Errors: s.Errors,
		ErrorsBy: s.ErrorsBy, SuccessRate: nanPtr(s.SuccessRate), Rate: round3(s.Rate), Latency: latency(s.Latency),
		SuccessLatency: latency(s.SuccessLatency)}
	if w.ErrorsBy == nil {
		w.ErrorsBy = map[string]int64{}
	}
	return w
}

func series(points []metrics.Point) []Point {
	out := make([]Point, 0, len(points))
	for _, p := range points {
		rp := Point{T: round3(p.Start.Seconds()), Width: round3(p.Width.Seconds()), Measured: ptr(round3(p.Measured.Seconds())),
			Partial: p.Partial(), Count: p.Count, Errors: p.Errors, Rate: nanPtr(round3(p.Rate()))}
		if p.Latency.OK {
			rp.Latency = &PointLatency{P50: ms(p.Latency.P50), P90: ms(p.Latency.P90), P99: ms(p.Latency.P99), Max: ms(p.Latency.Max)}
		}
		out = append(out, rp)
	}
	return out
}

func latency(l metrics.Latency) *Latency {
	if !l.OK {
		return nil
	}
	return &Latency{Min: ms(l.Min), Mean: ms(l.Mean), P50: ms(l.P50), P90: ms(l.P90), P95: ms(l.P95), P99: ms(l.P99), P999: ms(l.P999), Max: ms(l.Max),
		AtLeast: l.AtLeast}
}

func ms(d time.Duration) float64 { return round3(float64(d) / 1e6) }

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

func ptr(f float64) *float64 { return &f }

func nanPtr(f float64) *float64 {
	if math.IsNaN(f) {
		return nil
	}
	return &f
}

// checksOf turns evaluated checks into the report's.
func checksOf(o *check.Outcome, layout Layout, targets []Target) []Check {
	out := []Check{}
	tainted := taintedNames(layout, targets)
	for _, c := range o.Checks {
		rc := Check{Name: c.Name, Expr: c.Expr, Passed: c.Passed, Weight: c.Weight, Critical: c.Critical, Error: c.Error,
			Credit: c.Credit, Partial: c.Partial,
			Display: check.FormatValue(c.Value), Missing: c.Missing, Notes: latencyNotes(c.Expr, tainted)}
		switch v := c.Value.(type) {
		case check.Duration:
			if v.OK {
				rc.Value = ms(v.D)
			}
			rc.Unit = "ms"
		case float64:
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				rc.Value = v
			}
		default:
			rc.Value = v
		}
		if rc.NA() {
			// The value read was unknown, whatever its type shows.
			rc.Value, rc.Display = nil, "n/a"
		}
		out = append(out, rc)
	}
	return out
}
