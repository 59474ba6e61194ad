// Package metrics records what a run measures: latencies in HDR histograms
// (never slices of samples, so memory does not grow with run length), counts,
// errors by class and cache hits, and summarises them.
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
	Name   string
	shards []shard

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
	pendH     *hdrhistogram.Histogram
	pendN     int64
	last      Point
	hasLast   bool
	// scratch and mergeH are Roll's working histograms (the collector
	// calls Roll from one goroutine at a time).
	scratch, mergeH *hdrhistogram.Histogram
}

type shard struct {
	mu       sync.Mutex
	service  *hdrhistogram.Histogram
	response *hdrhistogram.Histogram
	count    int64
	errors   int64
	errorsBy map[string]int64
	hits     int64
	misses   int64
	waited   int64 // ns
	ops      int64
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
			s.shards[i].ring[j] = slot{h: NewHistogram(), idx: -1}
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
	// Hit and Miss count cache lookups.
	Hit, Miss bool
	// Waited is client-side waiting (rate limits) included in Service.
	Waited time.Duration
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
	if x.Hit {
		sh.hits++
	}
	if x.Miss {
		sh.misses++
	}
	sh.waited += int64(x.Waited)
	sh.mu.Unlock()
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
	Hits     int64
	Misses   int64
	Waited   time.Duration
	// Ops counts operations: more than Count when calls carried several
	// (pipelines).
	Ops int64
	// Service holds latencies from actual start; Response from the
	// scheduled start, nil when nothing was scheduled.
	Service  *hdrhistogram.Histogram
	Response *hdrhistogram.Histogram
	// Points is the time series, one per interval.
	Points []Point
}

// Stats merges the shards into a summary.
func (s *Series) Stats() *Stats {
	st := &Stats{Name: s.Name, Service: NewHistogram(), ErrorsBy: map[string]int64{}}
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
		st.Hits += sh.hits
		st.Misses += sh.misses
		st.Waited += time.Duration(sh.waited)
		st.Ops += sh.ops
		sh.mu.Unlock()
	}
	st.Points = s.Points()
	return st
}

// SuccessRate is the share of operations without error, NaN when none ran.
func (st *Stats) SuccessRate() float64 {
	if st.Count == 0 {
		return math.NaN()
	}
	return float64(st.Count-st.Errors) / float64(st.Count)
}

// ErrorRate is the share of operations with an error, NaN when none ran.
func (st *Stats) ErrorRate() float64 {
	if st.Count == 0 {
		return math.NaN()
	}
	return float64(st.Errors) / float64(st.Count)
}

// HitRatio is hits over lookups, NaN when there were no lookups.
func (st *Stats) HitRatio() float64 {
	if st.Hits+st.Misses == 0 {
		return math.NaN()
	}
	return float64(st.Hits) / float64(st.Hits+st.Misses)
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
}

// Summarize reads the usual percentiles off h (nil gives a not-OK Latency).
func Summarize(h *hdrhistogram.Histogram) Latency {
	if h == nil || h.TotalCount() == 0 {
		return Latency{}
	}
	q := func(p float64) time.Duration { return time.Duration(h.ValueAtQuantile(p)) }
	return Latency{
		OK:   true,
		Min:  time.Duration(h.Min()),
		Mean: time.Duration(h.Mean()),
		P50:  q(50), P90: q(90), P95: q(95), P99: q(99), P999: q(99.9),
		Max: time.Duration(h.Max()),
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
