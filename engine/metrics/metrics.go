// Package metrics records what a run measures: latencies in HDR histograms
// (never slices of samples, so memory does not grow with run length), counts,
// errors by class and the steps' declared figures (driver.StepMetric), and
// summarises them.
//
// A Series is safe for concurrent use: recorders write to one of several
// shards, each behind its own mutex, chosen by the virtual user's number, so
// that VUs rarely contend. Summaries are taken after (or during) the run and
// merge the shards.
package metrics

import (
	"fmt"
	"maps"
	"math"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/runplan/runplan/engine/driver"
)

// Histogram bounds: 1 ns to 1 hour at 3 significant digits.
const (
	lowest  = 1
	highest = int64(time.Hour)
	sigfigs = 3
)

// NewHistogram returns an empty latency histogram in nanoseconds.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(lowest, highest, sigfigs)
}

// Series measures one thing: a step, or a scenario's whole iteration.
type Series struct {
	Name string
	// Metrics declare what the slots of the samples' Counters are (the
	// step's driver's StepMetrics); set before the first Record, then
	// read-only.
	Metrics []driver.StepMetric
	shards  []shard

	interval time.Duration
	rolled   atomic.Int64 // intervals collected so far

	// pmu guards the closed points, the measured span, [from, until) from
	// the run's start (no end until ended), and the coarsening state: each
	// point spans factor intervals (1 until the series is coarsened), pend
	// is the point being filled (pendN intervals so far, histogram pendH),
	// last the most recent interval closed.
	pmu       sync.Mutex
	points    []Point
	from      time.Duration
	until     time.Duration
	ended     bool
	factor    int64
	maxPoints int // MaxPoints; fewer in tests
	pend      Point
	pendH     *hdrhistogram.PackedHistogram
	pendN     int64
	last      Point
	hasLast   bool
	// scratch is Roll's working histogram (the collector calls Roll from
	// one goroutine at a time).
	scratch *hdrhistogram.PackedHistogram

	// observe, when set, sees every recorded sample (observe.go).
	observe func(Sample)
}

type shard struct {
	mu       sync.Mutex
	service  *hdrhistogram.Histogram
	response *hdrhistogram.Histogram
	count    int64
	errors   int64
	errorsBy map[string]int64
	counters driver.Counters
	ops      int64
	// lower counts the lower bounds recorded (RecordLowerBound); lowSvc
	// and lowResp are the smallest of them in each histogram (ns).
	lower           int64
	lowSvc, lowResp int64
	// The open intervals, by index modulo ringSize, collected by Roll.
	ring [ringSize]slot
	_    [64]byte
}

// NewSeries returns a series with one shard per available CPU.
func NewSeries(name string) *Series {
	n := max(runtime.GOMAXPROCS(0), 1)
	s := &Series{Name: name, shards: make([]shard, n), factor: 1, maxPoints: MaxPoints}
	for i := range s.shards {
		s.shards[i].service = NewHistogram()
		for j := range s.shards[i].ring {
			s.shards[i].ring[j] = slot{h: newSparse(), idx: -1}
		}
		s.shards[i].errorsBy = map[string]int64{}
	}
	return s
}

// Sample is one measured operation.
type Sample struct {
	// Service is the time from actual start to end.
	Service time.Duration
	// Response is the time from the scheduled start to end (open model);
	// zero when the operation had no schedule (closed model).
	Response time.Duration
	// ErrClass is empty on success.
	ErrClass string
	// Counters are the step's own figures (driver.Outcome.Counters), summed
	// slot by slot; the series' Metrics say what each slot is.
	Counters driver.Counters
	// At is when the operation completed, from the run's start: it picks
	// the time-series interval.
	At time.Duration
	// Ops is how many operations the sample carried (0 counts as 1).
	Ops int
}

// Record adds a sample; vu picks the shard.
func (s *Series) Record(vu int, x Sample) {
	sh := &s.shards[vu%len(s.shards)]
	sh.mu.Lock()
	_ = sh.service.RecordValue(clamp(x.Service))
	if x.Response > 0 {
		if sh.response == nil {
			sh.response = NewHistogram()
		}
		_ = sh.response.RecordValue(clamp(x.Response))
	}
	basis := x.Service
	if x.Response > 0 {
		basis = x.Response
	}
	sl := s.slotFor(sh, x.At)
	_ = sl.h.RecordValue(clamp(basis))
	sh.count++
	sh.ops += int64(max(x.Ops, 1))
	sl.count++
	if x.ErrClass != "" {
		sh.errors++
		sl.errors++
		sh.errorsBy[x.ErrClass]++
		if sl.by == nil {
			sl.by = map[string]int64{}
		}
		sl.by[x.ErrClass]++
	}
	if len(s.Metrics) > 0 { // a series of whole iterations has none
		for i, v := range x.Counters {
			sh.counters[i] += v
		}
	}
	sh.mu.Unlock()
	if s.observe != nil {
		s.observe(x)
	}
}

// RecordLowerBound adds an operation that did not complete (an iteration
// interrupted at the end) to the latency histograms only: x.Service and
// x.Response are how long it had waited when it was cut, lower bounds of
// its latency. It counts neither in Count nor in the time series; Stats
// says how many values are lower bounds, so that percentiles they may have
// lowered are marked "at least".
func (s *Series) RecordLowerBound(vu int, x Sample) {
	sh := &s.shards[vu%len(s.shards)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.lower == 0 {
		sh.lowSvc, sh.lowResp = math.MaxInt64, math.MaxInt64
	}
	sh.lower++
	v := clamp(x.Service)
	_ = sh.service.RecordValue(v)
	sh.lowSvc = min(sh.lowSvc, v)
	if x.Response > 0 {
		if sh.response == nil {
			sh.response = NewHistogram()
		}
		r := clamp(x.Response)
		_ = sh.response.RecordValue(r)
		sh.lowResp = min(sh.lowResp, r)
	}
}

func clamp(d time.Duration) int64 {
	return min(max(int64(d), lowest), highest)
}

// Stats is a series summarised: merged histograms and totals.
type Stats struct {
	Name     string
	Count    int64
	Errors   int64
	ErrorsBy map[string]int64
	// Metrics are the step's declared figures (the driver's StepMetrics),
	// nil for whole iterations and steps of drivers that declare none;
	// Counters their sums by slot (see driver.Counters).
	Metrics  []driver.StepMetric
	Counters driver.Counters
	// Ops counts operations: more than Count when calls carried several
	// (pipelines).
	Ops int64
	// Service holds latencies from actual start; Response from the
	// scheduled start, nil when nothing was scheduled.
	Service  *hdrhistogram.Histogram
	Response *hdrhistogram.Histogram
	// Points is the time series, one per interval.
	Points []Point
	// LowerBounds counts the values in Service (and Response) that are
	// lower bounds (RecordLowerBound); lowSvc and lowResp are the smallest
	// of them.
	LowerBounds     int64
	lowSvc, lowResp int64
	// Outcomes is set on a scenario's whole-iteration stats: Errors and
	// ErrorsBy then include the dropped and interrupted iterations, and the
	// success and error rates are over every due iteration, not over Count
	// (the iterations that completed).
	Outcomes *Outcomes
	// ErrorSamples are the first distinct error messages (ErrorSampler),
	// set by the engine once the run is over; none without errors.
	ErrorSamples []ErrorSample
}

// Stats merges the shards into a summary.
func (s *Series) Stats() *Stats {
	st := &Stats{Name: s.Name, Service: NewHistogram(), ErrorsBy: map[string]int64{}, Metrics: s.Metrics}
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		st.Service.Merge(sh.service)
		if sh.response != nil {
			if st.Response == nil {
				st.Response = NewHistogram()
			}
			st.Response.Merge(sh.response)
		}
		st.Count += sh.count
		st.Errors += sh.errors
		for k, v := range sh.errorsBy {
			st.ErrorsBy[k] += v
		}
		for i, v := range sh.counters {
			st.Counters[i] += v
		}
		st.Ops += sh.ops
		if sh.lower > 0 {
			if st.LowerBounds == 0 {
				st.lowSvc, st.lowResp = math.MaxInt64, math.MaxInt64
			}
			st.LowerBounds += sh.lower
			st.lowSvc, st.lowResp = min(st.lowSvc, sh.lowSvc), min(st.lowResp, sh.lowResp)
		}
		sh.mu.Unlock()
	}
	st.Points = s.Points()
	return st
}

// Totals are a series' counts so far: every recorded sample, those with
// an error, those by error class, and the series' declared figures
// (hits, misses, hit_ratio; none for whole iterations).
type Totals struct {
	Count, Errors int64
	ErrorsBy      map[string]int64
	Figures       []Figure
}

// Totals sums the shards' counts without their histograms: cheap enough
// to call every few seconds while the run records (a live export). The
// map is the caller's.
func (s *Series) Totals() Totals {
	t := Totals{ErrorsBy: map[string]int64{}}
	var c driver.Counters
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		t.Count += sh.count
		t.Errors += sh.errors
		for k, v := range sh.errorsBy {
			t.ErrorsBy[k] += v
		}
		for i, v := range sh.counters {
			c[i] += v
		}
		sh.mu.Unlock()
	}
	t.Figures = Figures(s.Metrics, &c)
	return t
}

// SuccessRate is the share of operations without error, NaN when none ran;
// with Outcomes, the share of due iterations that were ok.
func (st *Stats) SuccessRate() float64 {
	if st.Outcomes != nil {
		return st.Outcomes.SuccessRate()
	}
	if st.Count == 0 {
		return math.NaN()
	}
	return float64(st.Count-st.Errors) / float64(st.Count)
}

// ErrorRate is the share of operations with an error, NaN when none ran;
// with Outcomes, the share of due iterations that failed, were dropped or
// were interrupted.
func (st *Stats) ErrorRate() float64 {
	if st.Outcomes != nil {
		return st.Outcomes.ErrorRate()
	}
	if st.Count == 0 {
		return math.NaN()
	}
	return float64(st.Errors) / float64(st.Count)
}

// Account sets a scenario's outcomes on its whole-iteration stats: dropped
// and interrupted iterations join Errors and ErrorsBy as classes of their
// own ("dropped", "interrupted"), and the rates become shares of o.Due.
func (st *Stats) Account(o Outcomes) {
	st.Outcomes = &o
	for class, n := range map[string]int64{"dropped": o.Dropped, "interrupted": o.Interrupted} {
		if n > 0 {
			if st.ErrorsBy == nil {
				st.ErrorsBy = map[string]int64{}
			}
			st.ErrorsBy[class] += n
			st.Errors += n
		}
	}
}

// ErrorClasses returns the error classes seen, sorted.
func (st *Stats) ErrorClasses() []string {
	return sortedKeys(st.ErrorsBy)
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range maps.Keys(m) {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Latency is a histogram's summary. OK is false when it holds no value: the
// figures are then unknown, not zero.
type Latency struct {
	OK                                       bool
	Min, Mean, P50, P90, P95, P99, P999, Max time.Duration
	// AtLeast names the figures ("min", "mean", "p50" … "p999", "max") that
	// a lower bound may have lowered: the true figure is at least the one
	// given. Empty when the histogram holds no lower bound.
	AtLeast []string
}

// ServiceLatency summarises the service-time histogram, marking the
// figures its lower bounds may have lowered.
func (st *Stats) ServiceLatency() Latency {
	return summarizeBounded(st.Service, st.LowerBounds, st.lowSvc)
}

// ResponseLatency summarises the response-time histogram (not OK when
// there is none), marking the figures its lower bounds may have lowered.
func (st *Stats) ResponseLatency() Latency {
	return summarizeBounded(st.Response, st.LowerBounds, st.lowResp)
}

// summarizeBounded is Summarize for a histogram that holds n lower bounds,
// the smallest low. Raising a value can only raise a quantile, and only a
// quantile at or above the value: a figure is marked when low is at most
// the figure (the mean and the max whenever there is a lower bound).
func summarizeBounded(h *hdrhistogram.Histogram, n, low int64) Latency {
	l := Summarize(h)
	if !l.OK || n == 0 || low == math.MaxInt64 {
		return l
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"min", l.Min}, {"mean", l.Mean}, {"p50", l.P50}, {"p90", l.P90}, {"p95", l.P95}, {"p99", l.P99}, {"p999", l.P999}, {"max", l.Max}} {
		if f.name == "mean" || int64(f.v) >= low || h.ValuesAreEquivalent(int64(f.v), low) {
			l.AtLeast = append(l.AtLeast, f.name)
		}
	}
	return l
}

// Summarize reads the usual percentiles off h (nil gives a not-OK Latency).
func Summarize(h *hdrhistogram.Histogram) Latency {
	if h == nil || h.TotalCount() == 0 {
		return Latency{}
	}
	return summarize(h.Min(), h.Max(), h.Mean(), h.ValueAtQuantile)
}

// SummarizeSparse is Summarize for a histogram in the sparse form: the same
// bucket geometry, so the same figures as its dense copy.
func SummarizeSparse(h *hdrhistogram.PackedHistogram) Latency {
	if h == nil || h.TotalCount() == 0 {
		return Latency{}
	}
	return summarize(h.Min(), h.Max(), h.Mean(), h.ValueAtPercentile)
}

func summarize(lo, hi int64, mean float64, at func(percentile float64) int64) Latency {
	q := func(p float64) time.Duration { return time.Duration(at(p)) }
	return Latency{
		OK:   true,
		Min:  time.Duration(lo),
		Mean: time.Duration(mean),
		P50:  q(50), P90: q(90), P95: q(95), P99: q(99), P999: q(99.9),
		Max: time.Duration(hi),
	}
}

// Encode serialises a histogram in the HdrHistogram compressed format
// (base64), so that reports can be merged and compared exactly.
func Encode(h *hdrhistogram.Histogram) (string, error) {
	if h == nil {
		return "", nil
	}
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("metrics: encode histogram: %w", err)
	}
	return string(b), nil
}

// newSparse returns an empty histogram in the sparse form, which holds only
// its populated buckets: an interval's histogram keeps a few kilobytes
// rather than the dense form's quarter of a megabyte, and needs no
// compression (whose encoder makes a megabyte of garbage per call) to be
// kept.
func newSparse() *hdrhistogram.PackedHistogram {
	return hdrhistogram.NewPacked(lowest, highest, sigfigs)
}

// Decode reverses Encode.
func Decode(s string) (*hdrhistogram.Histogram, error) {
	if s == "" {
		return nil, nil
	}
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("metrics: decode histogram: %w", err)
	}
	return h, nil
}
