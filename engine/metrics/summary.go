package metrics

import (
	"math"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// RunSummary is everything a run measured, ready for evaluation.
type RunSummary struct {
	Started  time.Time
	Duration time.Duration
	// Partial is true when the run was interrupted or failed part-way.
	Partial   bool
	Scenarios []*ScenarioSummary
	Targets   []*TargetSummary
	// Interval is the time series' interval.
	Interval time.Duration
	// Generator is the load generator's view of itself.
	Generator Generator
	// Faults is the fault timeline as it happened, with each fault's
	// measured effect.
	Faults []*FaultSummary
}

// FaultSummary is one fault of the timeline as it happened.
type FaultSummary struct {
	Name, Target, Kind string
	// Describe says what the fault did, for people.
	Describe string
	// Planned window, and the actual one (from the run's start).
	PlannedAt, PlannedFor time.Duration
	Start, End            time.Duration
	// Applied is false when the fault did not happen: Skipped says why
	// (its probability, or the run ended first), Err if starting failed.
	Applied bool
	Skipped string
	Err     string
	// UndoErr is set when undoing the fault failed: the target may still
	// be affected.
	UndoErr  string
	UntilEnd bool
	// Scenarios lists the scenarios whose steps use the fault's target.
	Scenarios []string
	Effect    Effect
}

// Generator is how well the load generator held the requested load.
type Generator struct {
	// Lag merges every open-model scenario's scheduling lag (ns); nil when
	// no scenario used the open model.
	Lag *hdrhistogram.Histogram
	// Scheduled, Late and Dropped sum the open-model scenarios' figures.
	Scheduled, Late, Dropped int64
	// CPU is runplan's own CPU use over the run, as a share of the CPUs
	// available to it (0..1); NaN where the system does not say.
	CPU float64
	// PeakRSS is the process's peak resident memory in bytes (Linux's
	// VmHWM, macOS's ru_maxrss); zero, unknown, where the system does not
	// say.
	PeakRSS int64
	// Valid is false when the generator could not hold the requested load;
	// Reasons says why, with the figures.
	Valid   bool
	Reasons []string
	// Host is the host's view of the run, where the system says (Linux's
	// /proc): HostBusy and HostSteal are shares of its CPU time over the
	// run, HostLoad its one-minute load average at the end.
	HostKnown                     bool
	HostBusy, HostSteal, HostLoad float64
	HostCores                     int
	// Cause names what made an invalid measurement invalid, as far as the
	// figures show (host_steal, host_busy, closed_model, generator_cpu or
	// unknown); Advice says what to do about it. Empty when valid.
	Cause, Advice string
}

// TargetSummary is a target's own view of the run (server statistics).
type TargetSummary struct {
	Name string
	// Server holds derived server figures by name; NaN marks a figure the
	// server did not provide (unavailable, not zero).
	Server map[string]float64
	// Order lists Server's names in the driver's order; Help explains them.
	Order []string
	Help  map[string]string
	// Samples counts the statistics samples taken; SampleErr is the last
	// sampling error, if any.
	Samples   int
	SampleErr string
	// Servers counts the distinct servers (driver.IdentifiedServerStatser)
	// that answered the samples: more than one after a failover or a
	// restart, when figures from first and last samples span them; 0 when
	// the driver does not say. ServerChanges lists when, from the run's
	// start, a sample first showed another server than the one before (at
	// most the first 16).
	Servers       int
	ServerChanges []time.Duration
	// FirstSample and LastSample are when the first and the last sample
	// the figures derive from were taken; zero when none was.
	FirstSample, LastSample time.Time
}

// ScenarioSummary is one scenario's measurements.
type ScenarioSummary struct {
	Name  string
	Model string
	// Iteration measures whole iterations; Steps each step, in plan order.
	Iteration *Stats
	Steps     []*Stats
	// Outcomes accounts for every iteration due in the measured window.
	Outcomes Outcomes
	// Dropped counts open-model iterations that found no free VU;
	// Interrupted those cancelled at the end of the run (both also in
	// Outcomes).
	Dropped     int64
	Interrupted int64
	// Elapsed is how long the scenario's measured part ran, for rates. In
	// the open model it is the achieved schedule: the planned window
	// stretched by how late the generator handled its last due hit, so
	// that a generator that fell behind shows a lower rate.
	// PlannedElapsed is the open model's planned measured window (zero in
	// the closed model).
	Elapsed, PlannedElapsed time.Duration
	// Aborted says why a driver stopped the scenario early, if one did.
	Aborted string
	// Offset is when the scenario started, from the run's start; Warmup
	// the unmeasured lead-in.
	Offset, Warmup time.Duration
	// Open model: hits due, and the scheduling lag. Late counts the hits the
	// generator handled late, sent late or skipped (the generator's fault,
	// for validity); Outcomes.Late only those skipped.
	Scheduled, Late int64
	Lag             *hdrhistogram.Histogram
	// MaxVUs is the most VUs the scenario had.
	MaxVUs int
}

// Outcomes says what became of the iterations due in a scenario's measured
// window (after its warmup): each has exactly one of OK, Failed, Dropped,
// Interrupted and Late, so they sum to Due. See docs/METRICS.md.
type Outcomes struct {
	// Due is every iteration that fell due: scheduled by the open model's
	// pacer, started by the closed model's VUs.
	Due int64
	// OK and Failed completed, without or with an error.
	OK, Failed int64
	// Dropped were due while every VU was busy (open model): the target's
	// concurrency could not keep up.
	Dropped int64
	// Interrupted were cut at the end: the graceful stop, or a kill.
	Interrupted int64
	// Late were skipped because the generator could not send them on time
	// (late: skip).
	Late int64
	// SentLate were sent after the late tolerance (late: send); they also
	// have one of the outcomes above.
	SentLate int64
}

// Errors is the number of due iterations that count as errors: failed,
// dropped and interrupted.
func (o Outcomes) Errors() int64 { return o.Failed + o.Dropped + o.Interrupted }

// SuccessRate is OK over Due, NaN when nothing was due.
func (o Outcomes) SuccessRate() float64 {
	if o.Due == 0 {
		return math.NaN()
	}
	return float64(o.OK) / float64(o.Due)
}

// ErrorRate is Errors over Due, NaN when nothing was due. It and
// SuccessRate leave out the late share: the generator's, not the target's.
func (o Outcomes) ErrorRate() float64 {
	if o.Due == 0 {
		return math.NaN()
	}
	return float64(o.Errors()) / float64(o.Due)
}

// Rate is iterations (or step operations) per second over the scenario's
// elapsed time, NaN-free: zero when nothing ran.
func (s *ScenarioSummary) Rate(count int64) float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(count) / s.Elapsed.Seconds()
}

// ArrivalRate is the open model's achieved arrival rate: the due
// iterations the generator sent on its schedule (dropped ones included:
// they arrived to find no free VU; skipped late ones not) per second of the
// achieved schedule. NaN in the closed model or when nothing was due.
func (s *ScenarioSummary) ArrivalRate() float64 {
	if s.Model != "open" || s.Elapsed <= 0 || s.Outcomes.Due == 0 {
		return math.NaN()
	}
	return float64(s.Outcomes.Due-s.Outcomes.Late) / s.Elapsed.Seconds()
}

// PlannedRate is the open model's planned arrival rate over the measured
// window: the due iterations per second of the plan's schedule. NaN in the
// closed model or when nothing was due.
func (s *ScenarioSummary) PlannedRate() float64 {
	if s.Model != "open" || s.PlannedElapsed <= 0 || s.Outcomes.Due == 0 {
		return math.NaN()
	}
	return float64(s.Outcomes.Due) / s.PlannedElapsed.Seconds()
}

// Scenario returns the named scenario's summary or nil.
func (r *RunSummary) Scenario(name string) *ScenarioSummary {
	for _, s := range r.Scenarios {
		if s.Name == name {
			return s
		}
	}
	return nil
}
