package fault

import (
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/runplan/runplan/engine/metrics"
)

// Rule is a fault's recovery rule (plan.Recovery, docs/FAULTS.md): how far
// from the baseline the affected scenarios may be and still count as back.
type Rule struct {
	// Latency is the allowed p99 growth over the baseline, a fraction
	// (0.5: +50 %); the limit is never below the baseline p99 + MinSlack.
	Latency float64
	// Success is the allowed drop of the success rate below the baseline.
	Success float64
	// Stretch is how long the scenarios must stay within the limits to
	// count as back: recovery.intervals × the time-series interval.
	Stretch time.Duration
}

// MinSlack keeps a baseline of microseconds from making recovery
// impossible: a p99 within this much of the baseline is within tolerance,
// whatever the fraction says.
const MinSlack = 5 * time.Millisecond

// Completion is one measured iteration of a scenario the fault affects.
// Times are from the run's start.
type Completion struct {
	At      time.Duration // when it completed
	Sent    time.Duration // when it was actually sent
	Latency time.Duration // on the series' basis (response time under the open model)
	Class   string        // error class; empty on success
}

// notAnswers are outcome classes that say nothing of the target's answers —
// an iteration cut at the end of the run, or one the generator dropped or
// sent late — which the recovery scan leaves out (the windows count them).
var notAnswers = map[string]bool{"interrupted": true, "dropped": true, "late": true}

// maxMarks bounds the failed or slow completions a stretch remembers: the
// latest ones, from which a stretch that failed restarts. Memory does not
// grow with the run's length or rate.
const maxMarks = 64

// Window measures one fault from the exact completion times of the
// iterations of the scenarios it affects: the three windows (before,
// during, after) and when, after the fault's undo returned, errors stopped
// and latency returned to the baseline. Memory is bounded: a few HDR
// histograms and counters, whatever the run's length.
//
// Lifecycle: NewWindow before the run starts; Observe from any goroutine
// for every measured completion; Begin, InEffect and Ended from the
// timeline as the fault's apply starts, its apply returns and its undo
// returns; Effect once nothing is observed any more. All methods are safe
// for concurrent use. Each edge's time is read under the window's lock,
// and a completion's time is read before it is observed, so a completion
// is always on the right side of every edge.
type Window struct {
	mu    sync.Mutex
	now   func() time.Duration
	rule  Rule
	from  time.Duration // the before window's start
	phase int           // phaseWaiting … phaseEnded

	begin, start, end time.Duration
	before, during    acc
	after             acc

	// Set when the fault ends with a baseline: the limits and the two
	// stretch scans.
	judged       bool
	latencyLimit time.Duration
	minSuccess   float64
	slow, failed stretch
	// The latest completion sent before the undo returned that was slow
	// (over the limit) or failed, completing after it: the fault's residue.
	residueSlow, residueFailed time.Duration
}

const (
	phaseWaiting  = iota // before the apply starts
	phaseApplying        // apply started, not returned
	phaseOn              // in effect
	phaseEnded           // undo returned
)

// NewWindow returns a window whose baseline starts at from (from the run's
// start); now tells the time from the run's start.
func NewWindow(from time.Duration, rule Rule, now func() time.Duration) *Window {
	return &Window{from: max(from, 0), rule: rule, now: now}
}

// Begin marks the start of the fault's apply: the before window ends.
func (w *Window) Begin() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.begin, w.phase = w.now(), phaseApplying
	return w.begin
}

// InEffect marks the return of the fault's apply: the fault is in effect
// and the during window starts. It returns that time.
func (w *Window) InEffect() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.start, w.phase = w.now(), phaseOn
	return w.start
}

// Ended marks the return of the fault's undo: the during window ends, the
// after window and the recovery scan start. It returns that time.
func (w *Window) Ended() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.end, w.phase = w.now(), phaseEnded
	w.residueSlow, w.residueFailed = w.end, w.end
	base := w.before.summary()
	if w.before.count == 0 || !base.OK {
		return w.end
	}
	w.judged = true
	w.latencyLimit = max(time.Duration(float64(base.P99)*(1+w.rule.Latency)), base.P99+MinSlack)
	w.minSuccess = float64(w.before.count-w.before.errors)/float64(w.before.count) - w.rule.Success
	width := max(w.rule.Stretch, time.Nanosecond)
	// The stretch's p99 is within the limit when at most n − ⌈0.99 n⌉ of
	// its n completions are over it (nearest-rank percentile).
	w.slow = newStretch(w.end, width, func(n int64) int64 { return n - (99*n+99)/100 })
	minSuccess := w.minSuccess
	w.failed = newStretch(w.end, width, func(n int64) int64 {
		if minSuccess <= 0 {
			return n
		}
		return int64(math.Floor(float64(n)*(1-minSuccess) + 1e-9))
	})
	return w.end
}

// Observe adds a completion.
func (w *Window) Observe(c Completion) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case c.At < w.from:
	case w.phase == phaseWaiting || c.At < w.begin:
		w.before.add(c)
	case w.phase == phaseApplying || c.At < w.start:
		// While the apply runs (normally microseconds) the fault is
		// neither off nor in effect: in no window.
	case w.phase == phaseOn || c.At < w.end:
		w.during.add(c)
	default:
		if c.At < w.end+w.length() {
			w.after.add(c)
		}
		if !w.judged || notAnswers[c.Class] {
			return
		}
		slow, failed := c.Latency > w.latencyLimit, c.Class != ""
		if c.Sent < w.end {
			// Sent while the fault was on: its slowness or failure is the
			// fault's, however late it completes.
			if slow {
				w.residueSlow = max(w.residueSlow, c.At)
			}
			if failed {
				w.residueFailed = max(w.residueFailed, c.At)
			}
		}
		w.slow.add(c.At, c.Sent, slow)
		w.failed.add(c.At, c.Sent, failed)
	}
}

// length is the fault's actual length; the after window is as long.
func (w *Window) length() time.Duration { return w.end - w.start }

// Effect returns the fault's measured effect. untilEnd is true when the
// fault lasted until the end of the run; now is the end of what was
// observed (the after window is cut there).
func (w *Window) Effect(untilEnd bool, now time.Duration) metrics.Effect {
	w.mu.Lock()
	defer w.mu.Unlock()
	beforeTo := w.begin
	if w.phase == phaseWaiting {
		beforeTo = now
	}
	e := metrics.Effect{
		Before:       w.before.span(w.from, beforeTo),
		During:       w.during.span(w.start, w.end),
		After:        w.after.span(w.end, max(min(w.end+w.length(), now), w.end)),
		SuccessLimit: math.NaN(),
	}
	if w.phase != phaseEnded {
		e.During.To = now
		e.Why = "the fault did not end"
		return e
	}
	switch {
	case untilEnd:
		e.Why = "the fault lasted until the end of the run"
		return e
	case !w.judged:
		e.Why = "no baseline: nothing completed before the fault"
		return e
	}
	e.LatencyLimit, e.SuccessLimit = w.latencyLimit, max(w.minSuccess, 0)
	if w.slow.done {
		e.LatencyReturned, e.LatencyReturnedOK = max(w.slow.from, w.residueSlow)-w.end, true
	}
	if w.failed.done {
		e.ErrorsStopped, e.ErrorsStoppedOK = max(w.failed.from, w.residueFailed)-w.end, true
	}
	var why []string
	if !e.LatencyReturnedOK {
		why = append(why, fmt.Sprintf("latency: p99 not within %s for %s", fmtDur(w.latencyLimit), w.rule.Stretch))
	}
	if !e.ErrorsStoppedOK {
		why = append(why, fmt.Sprintf("errors: success rate not at least %.1f%% for %s", 100*max(w.minSuccess, 0), w.rule.Stretch))
	}
	if len(why) > 0 {
		e.Why = "the scenarios did not come back within tolerance before the run ended ("
		for i, s := range why {
			if i > 0 {
				e.Why += "; "
			}
			e.Why += s
		}
		e.Why += ")"
		return e
	}
	e.Recovered, e.Recovery = true, max(e.LatencyReturned, e.ErrorsStopped)
	return e
}

// acc accumulates a window's completions.
type acc struct {
	count, errors int64
	by            map[string]int64
	all, ok       *hdrhistogram.Histogram
}

func (a *acc) add(c Completion) {
	if a.all == nil {
		a.all, a.ok, a.by = metrics.NewHistogram(), metrics.NewHistogram(), map[string]int64{}
	}
	v := min(max(int64(c.Latency), 1), int64(time.Hour))
	_ = a.all.RecordValue(v)
	a.count++
	if c.Class != "" {
		a.errors++
		a.by[c.Class]++
		return
	}
	_ = a.ok.RecordValue(v)
}

func (a *acc) summary() metrics.Latency {
	if a.all == nil {
		return metrics.Latency{}
	}
	return metrics.Summarize(a.all)
}

func (a *acc) span(from, to time.Duration) metrics.Span {
	s := metrics.Span{From: from, To: to, Count: a.count, Errors: a.errors, ErrorsBy: map[string]int64{},
		SuccessRate: math.NaN()}
	for k, v := range a.by {
		s.ErrorsBy[k] = v
	}
	if a.count > 0 {
		s.SuccessRate = float64(a.count-a.errors) / float64(a.count)
		s.Latency = metrics.Summarize(a.all)
		s.SuccessLatency = metrics.Summarize(a.ok)
	}
	if to > from {
		s.Rate = float64(a.count) / (to - from).Seconds()
	}
	return s
}

// stretch scans the completions after a fault's end for the first stretch,
// at least Rule.Stretch long, in which few enough completions are bad (slow,
// or failed): the scenarios are back from the stretch's start, which is the
// fault's end or the bad completion the stretch follows. A bad completion
// that belongs to the burst before the start — directly after it (no good
// completion between) or sent before it (in flight at it) — moves the start
// to itself. A stretch with too many bad completions restarts after the bad
// completion that leaves at most the allowed number behind it, moved
// forward over the bad completions of its burst, so that a late, isolated
// outlier within the tolerance does not push the answer to itself when the
// burst ended earlier.
type stretch struct {
	from    time.Duration
	width   time.Duration
	allowed func(n int64) int64
	n, bad  int64 // completions and bad ones after from
	marks   []mark
	done    bool
}

// mark is a bad completion: when it completed and was sent, and its number
// after from (1-based).
type mark struct {
	at, sent time.Duration
	n        int64
}

func newStretch(from, width time.Duration, allowed func(int64) int64) stretch {
	return stretch{from: from, width: width, allowed: allowed, marks: make([]mark, 0, maxMarks)}
}

func (s *stretch) add(at, sent time.Duration, bad bool) {
	if s.done || at < s.from {
		return
	}
	s.n++
	if bad && (s.n == 1 || sent < s.from) {
		// A bad completion right after the stretch's start, or in flight
		// at it, belongs to the burst that started it: the stretch starts
		// after it instead.
		s.from, s.n, s.bad, s.marks = at, 0, 0, s.marks[:0]
		return
	}
	if bad {
		s.bad++
		if len(s.marks) == maxMarks {
			s.marks = append(s.marks[:0], s.marks[1:]...)
		}
		s.marks = append(s.marks, mark{at: at, sent: sent, n: s.n})
	}
	for at >= s.from+s.width {
		k := s.allowed(s.n)
		if s.bad <= k {
			s.done = true
			return
		}
		// Restart after the bad completion with k bad ones after it (or
		// after the oldest one remembered, later and so stricter).
		i := max(len(s.marks)-1-int(k), 0)
		// Bad completions right after it, or in flight at it, belong to
		// the same burst.
		for moved := true; moved; {
			moved = false
			for j := len(s.marks) - 1; j > i; j-- {
				if s.marks[j].sent < s.marks[i].at || j == i+1 && s.marks[j].n == s.marks[i].n+1 {
					i, moved = j, true
					break
				}
			}
		}
		m := s.marks[i]
		s.from, s.n, s.bad = m.at, s.n-m.n, int64(len(s.marks)-1-i)
		rest := s.marks[i+1:]
		for j := range rest {
			rest[j].n -= m.n
		}
		s.marks = append(s.marks[:0], rest...)
	}
}

// fmtDur prints a duration with three significant digits.
func fmtDur(d time.Duration) string {
	if d < time.Millisecond {
		return sig3(float64(d)/1e3) + "µs"
	}
	return sig3(float64(d)/1e6) + "ms"
}

// sig3 prints v to three significant digits, without an exponent
// (12345 → 12300, not 1.23e+04).
func sig3(v float64) string {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
	return strconv.FormatFloat(r, 'f', -1, 64)
}
