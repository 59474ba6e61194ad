package report

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/metrics"
)

// Merge combines the reports of one run's execution segments (runplan run
// --segment I/N) into the report of the whole run: counts, outcomes and
// errors by class summed, histograms merged and their percentiles read off
// the merged histogram (never averaged), time-series intervals aligned on
// their absolute start, the largest max, the targets' server views taken
// once (from segment 0), and validity only when every segment was valid
// (the union of their reasons). It refuses reports of different plans
// (digest), runs or segment counts, a missing or duplicated segment and
// reports without mergeable state (State).
//
// The checks, score, verdict and recommendations need the plan, which a
// report does not hold: the merged report carries none (unscored, or
// invalid) until the caller evaluates them on its figures
// (engine.Program.Rescore, which reads the merged State through Summary).
//
// Merge reads reps and returns a new report; it is safe for concurrent use
// on distinct inputs.
func Merge(reps []*Report) (*Report, error) {
	if len(reps) == 0 {
		return nil, errors.New("merge: no reports")
	}
	first := reps[0]
	byIndex := map[int]*Report{}
	for i, r := range reps {
		switch {
		case r.Segment == nil:
			return nil, fmt.Errorf("merge: report %d is not a segment's report (no segment field): run with --segment I/N", i+1)
		case r.State == nil:
			return nil, fmt.Errorf("merge: report %d (segment %d/%d) has no mergeable state (state): written by an older runplan", i+1, r.Segment.Index, r.Segment.Count)
		case r.Plan.Digest != first.Plan.Digest:
			return nil, fmt.Errorf("merge: report %d is of another plan (digest %.12s, report 1 %.12s)", i+1, r.Plan.Digest, first.Plan.Digest)
		case r.RunID != first.RunID:
			return nil, fmt.Errorf("merge: report %d is of another run (run id %q, report 1 %q): segments share one --run-id", i+1, r.RunID, first.RunID)
		case r.Segment.Count != first.Segment.Count:
			return nil, fmt.Errorf("merge: report %d is of %d segments, report 1 of %d", i+1, r.Segment.Count, first.Segment.Count)
		case r.Segment.Index < 0 || r.Segment.Index >= r.Segment.Count:
			return nil, fmt.Errorf("merge: report %d: segment %d/%d out of range", i+1, r.Segment.Index, r.Segment.Count)
		}
		if _, dup := byIndex[r.Segment.Index]; dup {
			return nil, fmt.Errorf("merge: segment %d/%d given twice (report %d)", r.Segment.Index, r.Segment.Count, i+1)
		}
		byIndex[r.Segment.Index] = r
	}
	n := first.Segment.Count
	var missing []string
	for i := range n {
		if byIndex[i] == nil {
			missing = append(missing, fmt.Sprint(i))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("merge: segment(s) %s of %d missing", joinList(missing), n)
	}
	segs := make([]*Report, n)
	for i := range n {
		segs[i] = byIndex[i]
	}
	return merge(segs)
}

func joinList(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

// merge combines segs, in segment order, already checked.
func merge(segs []*Report) (*Report, error) {
	s0 := segs[0]
	m := &Report{FormatVersion: FormatVersion, RunplanVersion: s0.RunplanVersion, Plan: s0.Plan, RunID: s0.RunID,
		Seed: s0.Seed, Segments: len(segs), Interval: s0.Interval, Valid: true, Targets: mergeTargets(segs),
		Faults: s0.Faults, Checks: []Check{}, Recommendations: []string{}, Scenarios: []Scenario{},
		StepMetrics: s0.StepMetrics}
	m.StartedAt, m.EndedAt = s0.StartedAt, s0.EndedAt
	var lag *hdrhistogram.Histogram
	for i, r := range segs {
		if r.StartedAt.Before(m.StartedAt) {
			m.StartedAt = r.StartedAt
		}
		if r.EndedAt.After(m.EndedAt) {
			m.EndedAt = r.EndedAt
		}
		m.Partial = m.Partial || r.Partial
		m.NotStarted = m.NotStarted || r.NotStarted
		if r.Error != "" && m.Error == "" {
			m.Error = fmt.Sprintf("segment %d: %s", i, r.Error)
		}
		if !r.Valid {
			m.Valid = false
		}
		g := r.Generator
		m.Generator.Scheduled += g.Scheduled
		m.Generator.Late += g.Late
		m.Generator.Dropped += g.Dropped
		for _, reason := range g.Reasons {
			m.Generator.Reasons = append(m.Generator.Reasons, fmt.Sprintf("segment %d: %s", i, reason))
		}
		if m.Generator.Cause == "" && g.Cause != "" {
			m.Generator.Cause, m.Generator.Advice = g.Cause, g.Advice
		}
		if g.CPU != nil && (m.Generator.CPU == nil || *g.CPU > *m.Generator.CPU) {
			m.Generator.CPU = ptr(*g.CPU)
		}
		m.Generator.PeakRSS = max(m.Generator.PeakRSS, g.PeakRSS)
		if h, err := mergeEncoded(lag, r.State.Lag); err != nil {
			return nil, fmt.Errorf("merge: segment %d: generator lag: %w", i, err)
		} else {
			lag = h
		}
		m.DeadRuns = append(m.DeadRuns, r.DeadRuns...)
		m.Leftovers = append(m.Leftovers, r.Leftovers...)
		if r.Journal != "" && m.Journal == "" {
			m.Journal = r.Journal
		}
	}
	if sk := clockSkew(segs); sk != nil {
		m.ClockSkew = sk
		if sk.SkewMS-sk.UncertaintyMS > float64(MaxClockSkew)/1e6 {
			m.Valid = false
			m.Generator.Reasons = append(m.Generator.Reasons, fmt.Sprintf(
				"clock skew: the clocks of segments %d and %d were %.1fms (±%.1fms) apart, read against target %s's clock; more than %v: their common start was not common — keep the hosts' clocks in step with NTP",
				sk.Segments[0], sk.Segments[1], sk.SkewMS, sk.UncertaintyMS, sk.Target, MaxClockSkew))
			if m.Generator.Cause == "" {
				m.Generator.Cause = "clock_skew"
				m.Generator.Advice = "keep the segments' hosts in step with NTP (chrony, systemd-timesyncd) and merge a new run"
			}
		}
	}
	m.Duration = m.EndedAt.Sub(m.StartedAt).Seconds()
	m.Generator.Lag = latency(metrics.Summarize(lag))
	m.State = &State{Lag: encode(lag), Scenarios: []ScenarioState{}}
	for _, sc := range s0.Scenarios {
		ms, st, err := mergeScenario(sc.Name, segs, m.StartedAt)
		if err != nil {
			return nil, err
		}
		m.Scenarios = append(m.Scenarios, ms)
		m.State.Scenarios = append(m.State.Scenarios, st)
	}
	m.Notices = targetNotices(m.Targets)
	m.Notices = append(m.Notices, fmt.Sprintf("merged from %d segments (runplan merge)", len(segs)))
	for _, t := range m.Targets {
		if t.Cleanup != nil && t.Cleanup.Deferred {
			m.Notices = append(m.Notices, fmt.Sprintf("target %s: no segment saw every segment end, so none cleaned the run's keys (%s); they expire by their safety TTL, or run `runplan cleanup`", t.Name, t.Cleanup.What))
		}
	}
	m.Verdict = "unscored"
	if m.Invalid() {
		m.Verdict = "invalid"
	}
	return m, nil
}

// clockSkew compares the segments' clocks, read against the same shared
// server (Report.Clock): the two furthest apart, nil when fewer than two
// segments read the same target's clock.
func clockSkew(segs []*Report) *ClockSkew {
	var read []int // segments with a reading of the first target read
	for i, r := range segs {
		if r.Clock != nil && (len(read) == 0 || r.Clock.Target == segs[read[0]].Clock.Target) {
			read = append(read, i)
		}
	}
	if len(read) < 2 {
		return nil
	}
	slices.SortStableFunc(read, func(i, j int) int { return cmp.Compare(segs[i].Clock.OffsetMS, segs[j].Clock.OffsetMS) })
	lo, hi := read[0], read[len(read)-1]
	a, b := segs[lo].Clock, segs[hi].Clock
	// A segment's offset is the server's clock minus its own: the
	// smallest offset belongs to the clock furthest ahead.
	return &ClockSkew{Target: a.Target, SkewMS: round3(b.OffsetMS - a.OffsetMS), UncertaintyMS: round3(a.UncertaintyMS + b.UncertaintyMS),
		Segments: [2]int{min(lo, hi), max(lo, hi)}}
}

// mergeTargets gives each target of the run once: the server view of the
// segment whose samples span the longest time (every segment samples the
// same shared server; a segment's own embedded server is one of many,
// and the widest view is as good as any), and the cleanup of the segment
// that cleaned — the last to end, on a target the segments share — with
// the keys every segment removed.
func mergeTargets(segs []*Report) []Target {
	out := slices.Clone(segs[0].Targets)
	for i := range out {
		var removed int64
		var cleanup *Cleanup
		for _, r := range segs {
			j := slices.IndexFunc(r.Targets, func(t Target) bool { return t.Name == out[i].Name })
			if j < 0 {
				continue
			}
			t := r.Targets[j]
			if serverSpan(t) > serverSpan(out[i]) {
				c := out[i].Cleanup
				out[i] = t
				out[i].Cleanup = c
			}
			if c := t.Cleanup; c != nil {
				removed += c.KeysRemoved
				if cleanup == nil || (cleanup.Deferred && !c.Deferred) {
					cleanup = c
				}
			}
		}
		if cleanup != nil {
			c := *cleanup
			c.KeysRemoved = removed
			out[i].Cleanup = &c
		}
	}
	return out
}

// serverSpan is how long t's server samples span; -1 without samples.
func serverSpan(t Target) time.Duration {
	if t.ServerSampledFrom == nil || t.ServerSampledTo == nil {
		return -1
	}
	return t.ServerSampledTo.Sub(*t.ServerSampledFrom)
}

// mergeEncoded adds the encoded histogram s (Encode's form) to h, a new
// histogram when h is nil; h unchanged when s is empty.
func mergeEncoded(h *hdrhistogram.Histogram, s string) (*hdrhistogram.Histogram, error) {
	if s == "" {
		return h, nil
	}
	x, err := metrics.Decode(s)
	if err != nil {
		return nil, err
	}
	if h == nil {
		return x, nil
	}
	h.Merge(x)
	return h, nil
}

// scenarioOf finds the named scenario and its state in r.
func scenarioOf(r *Report, name string) (*Scenario, *ScenarioState) {
	var sc *Scenario
	var st *ScenarioState
	for i := range r.Scenarios {
		if r.Scenarios[i].Name == name {
			sc = &r.Scenarios[i]
		}
	}
	for i := range r.State.Scenarios {
		if r.State.Scenarios[i].Name == name {
			st = &r.State.Scenarios[i]
		}
	}
	return sc, st
}

func mergeScenario(name string, segs []*Report, started time.Time) (Scenario, ScenarioState, error) {
	var out Scenario
	var planned float64
	var lag *hdrhistogram.Histogram
	var iter []seriesPart
	stepParts := map[string][]seriesPart{}
	for i, r := range segs {
		sc, st := scenarioOf(r, name)
		if sc == nil || st == nil {
			return out, ScenarioState{}, fmt.Errorf("merge: segment %d has no scenario %q (or no state for it)", i, name)
		}
		if i == 0 {
			out = Scenario{Name: sc.Name, Model: sc.Model, Start: sc.Start, Warmup: sc.Warmup, Aborted: sc.Aborted, Steps: []Step{}}
		}
		out.Elapsed = max(out.Elapsed, sc.Elapsed)
		out.Start = min(out.Start, sc.Start)
		out.MaxVUs += sc.MaxVUs
		out.Scheduled += sc.Scheduled
		out.Dropped += sc.Dropped
		out.Late += sc.Late
		out.Interrupted += sc.Interrupted
		if out.Aborted == "" && sc.Aborted != "" {
			out.Aborted = fmt.Sprintf("segment %d: %s", i, sc.Aborted)
		}
		o := &out.Outcomes
		o.Due += sc.Outcomes.Due
		o.OK += sc.Outcomes.OK
		o.Failed += sc.Outcomes.Failed
		o.Dropped += sc.Outcomes.Dropped
		o.Interrupted += sc.Outcomes.Interrupted
		o.Late += sc.Outcomes.Late
		o.SentLate += sc.Outcomes.SentLate
		planned = max(planned, st.PlannedElapsed)
		var err error
		if lag, err = mergeEncoded(lag, st.Lag); err != nil {
			return out, ScenarioState{}, fmt.Errorf("merge: segment %d, scenario %s: lag: %w", i, name, err)
		}
		offset := r.StartedAt.Sub(started).Seconds()
		iter = append(iter, seriesPart{stats: &sc.Stats, intervals: st.Intervals, offset: offset, seg: i})
		for j := range sc.Steps {
			step := &sc.Steps[j]
			var ss *StepState
			for k := range st.Steps {
				if st.Steps[k].Name == step.Name {
					ss = &st.Steps[k]
				}
			}
			if ss == nil {
				return out, ScenarioState{}, fmt.Errorf("merge: segment %d, scenario %s: no state for step %s", i, name, step.Name)
			}
			stepParts[step.Name] = append(stepParts[step.Name], seriesPart{stats: &step.Stats, intervals: ss.Intervals, counters: ss.Counters, offset: offset, seg: i})
		}
	}
	state := ScenarioState{Name: name, PlannedElapsed: planned, Lag: encode(lag), Steps: []StepState{}}
	var err error
	if out.Stats, state.Intervals, err = mergeStats(iter, out.Elapsed, &out.Outcomes, segs[0].StepMetrics); err != nil {
		return out, state, fmt.Errorf("merge: scenario %s: %w", name, err)
	}
	sc0, _ := scenarioOf(segs[0], name)
	var all []map[string]int64
	for _, step := range sc0.Steps {
		st, ints, err := mergeStats(stepParts[step.Name], out.Elapsed, nil, segs[0].StepMetrics)
		if err != nil {
			return out, state, fmt.Errorf("merge: scenario %s, step %s: %w", name, step.Name, err)
		}
		out.Steps = append(out.Steps, Step{Name: step.Name, Stats: st})
		var cs []map[string]int64
		for _, p := range stepParts[step.Name] {
			all = append(all, p.counters)
			cs = append(cs, p.counters)
		}
		state.Steps = append(state.Steps, StepState{Name: step.Name, Counters: sumCounters(cs), Intervals: ints})
	}
	out.Metrics = figuresOf(sumCounters(all), segs[0].StepMetrics)
	if out.Model == "open" && out.Outcomes.Due > 0 {
		if planned > 0 {
			out.PlannedRate = ptr(round3(float64(out.Outcomes.Due) / planned))
		}
		if out.Elapsed > 0 {
			out.ArrivalRate = ptr(round3(float64(out.Outcomes.Due-out.Outcomes.Late) / out.Elapsed))
		}
	}
	return out, state, nil
}

// seriesPart is one segment's stats of a scenario or step.
type seriesPart struct {
	stats     *Stats
	intervals []IntervalState
	counters  map[string]int64
	offset    float64 // the segment's start, seconds after the merged start
	seg       int
}

func mergeStats(parts []seriesPart, elapsed float64, outcomes *Outcomes, decl []MetricInfo) (Stats, []IntervalState, error) {
	out := Stats{ErrorsBy: map[string]int64{}, LatencyBasis: parts[0].stats.LatencyBasis, Series: []Point{}}
	var resp, svc *hdrhistogram.Histogram
	var atLeast []string
	var ops int64
	samples := map[string]int{}
	for _, p := range parts {
		s := p.stats
		out.Count += s.Count
		out.Errors += s.Errors
		for k, v := range s.ErrorsBy {
			out.ErrorsBy[k] += v
		}
		ops += max(s.Ops, s.Count)
		out.LowerBounds += s.LowerBounds
		if s.Latency != nil {
			for _, a := range s.Latency.AtLeast {
				if !slices.Contains(atLeast, a) {
					atLeast = append(atLeast, a)
				}
			}
		}
		var err error
		if resp, err = mergeEncoded(resp, s.Histogram); err != nil {
			return out, nil, fmt.Errorf("segment %d: histogram: %w", p.seg, err)
		}
		if svc, err = mergeEncoded(svc, s.ServiceHistogram); err != nil {
			return out, nil, fmt.Errorf("segment %d: service histogram: %w", p.seg, err)
		}
		for _, e := range s.ErrorSamples {
			if k := e.Class + "\x00" + e.Message + "\x00" + e.At; samples[k] > 0 {
				out.ErrorSamples[samples[k]-1].Count += e.Count
			} else if len(out.ErrorSamples) < 5 {
				out.ErrorSamples = append(out.ErrorSamples, e)
				samples[k] = len(out.ErrorSamples)
			}
		}
	}
	if elapsed > 0 {
		out.Rate = round3(float64(out.Count) / elapsed)
	}
	if ops > out.Count {
		out.Ops = ops
		if elapsed > 0 {
			out.OpsRate = round3(float64(ops) / elapsed)
		}
	}
	switch {
	case outcomes != nil && outcomes.Due > 0:
		out.SuccessRate = ptr(float64(outcomes.OK) / float64(outcomes.Due))
		out.ErrorRate = ptr(float64(outcomes.Failed+outcomes.Dropped+outcomes.Interrupted) / float64(outcomes.Due))
	case outcomes == nil && out.Count > 0:
		out.SuccessRate = ptr(float64(out.Count-out.Errors) / float64(out.Count))
		out.ErrorRate = ptr(float64(out.Errors) / float64(out.Count))
	}
	out.Latency = atLeastOf(latency(metrics.Summarize(resp)), atLeast)
	out.Histogram = encode(resp)
	if svc != nil {
		out.ServiceLatency = latency(metrics.Summarize(svc))
		out.ServiceHistogram = encode(svc)
	}
	var cs []map[string]int64
	for _, p := range parts {
		cs = append(cs, p.counters)
	}
	if outcomes == nil {
		out.Metrics = figuresOf(sumCounters(cs), decl)
	}
	series, ints, err := mergeSeries(parts)
	if err != nil {
		return out, nil, err
	}
	out.Series = series
	return out, ints, nil
}

// atLeastOf marks the figures of l that any segment marked as lower bounds.
func atLeastOf(l *Latency, names []string) *Latency {
	if l == nil || len(names) == 0 {
		return l
	}
	sort.Strings(names)
	l.AtLeast = names
	return l
}

// mergeSeries aligns the segments' time series on the wall clock: each
// interval is keyed by its absolute start (its segment's start plus its
// offset), and those of one key summed, their histograms merged.
func mergeSeries(parts []seriesPart) ([]Point, []IntervalState, error) {
	type acc struct {
		p     Point
		by    map[string]int64
		h     *hdrhistogram.PackedHistogram
		known bool
	}
	byT := map[float64]*acc{}
	for _, part := range parts {
		hists := map[float64]string{}
		by := map[float64]map[string]int64{}
		for _, is := range part.intervals {
			hists[is.T], by[is.T] = is.Histogram, is.ErrorsBy
		}
		for _, p := range part.stats.Series {
			t := round3(p.T + part.offset)
			a := byT[t]
			if a == nil {
				a = &acc{p: Point{T: t, Width: p.Width}}
				byT[t] = a
			}
			a.p.Count += p.Count
			a.p.Errors += p.Errors
			for k, v := range by[p.T] {
				if a.by == nil {
					a.by = map[string]int64{}
				}
				a.by[k] += v
			}
			if p.Measured != nil {
				a.known = true
				if a.p.Measured == nil || *p.Measured > *a.p.Measured {
					a.p.Measured = ptr(*p.Measured)
				}
			}
			if s := hists[p.T]; s != "" {
				h, err := hdrhistogram.DecodePacked([]byte(s))
				if err != nil {
					return nil, nil, fmt.Errorf("segment %d: interval %g: %w", part.seg, p.T, err)
				}
				if a.h == nil {
					a.h = h
				} else {
					a.h.Merge(h)
				}
			}
		}
	}
	keys := slices.Sorted(maps.Keys(byT))
	out := make([]Point, 0, len(keys))
	ints := make([]IntervalState, 0, len(keys))
	for _, k := range keys {
		a := byT[k]
		p := a.p
		is := IntervalState{T: k, ErrorsBy: a.by}
		if p.Measured != nil {
			p.Partial = *p.Measured > 0 && *p.Measured < p.Width
			if *p.Measured > 0 {
				p.Rate = ptr(round3(float64(p.Count) / *p.Measured))
			}
		}
		if a.h != nil && a.h.TotalCount() > 0 {
			l := metrics.SummarizeSparse(a.h)
			p.Latency = &PointLatency{P50: ms(l.P50), P90: ms(l.P90), P99: ms(l.P99), Max: ms(l.Max)}
			if b, err := a.h.Encode(); err == nil {
				is.Histogram = string(b)
			}
		}
		out = append(out, p)
		ints = append(ints, is)
	}
	return out, ints, nil
}

func sumCounters(cs []map[string]int64) map[string]int64 {
	var out map[string]int64
	for _, c := range cs {
		for k, v := range c {
			if out == nil {
				out = map[string]int64{}
			}
			out[k] += v
		}
	}
	return out
}

// figuresOf recomputes the declared figures (decl) from summed counters:
// ratios from their summed numerators and denominators, exactly.
func figuresOf(c map[string]int64, decl []MetricInfo) []Metric {
	if len(c) == 0 {
		return nil
	}
	var fs []metrics.Figure
	for _, d := range decl {
		kind, err := driver.ParseMetricKind(d.Kind)
		if err != nil {
			continue
		}
		m := driver.StepMetric{Name: d.Name, Kind: kind, Help: d.Help, Numerator: d.Numerator, Denominator: d.Denominator}
		f := metrics.Figure{StepMetric: m}
		if m.Kind == driver.Ratio {
			f.N = c[d.Numerator]
			for _, den := range d.Denominator {
				f.Den += c[den]
			}
		} else {
			v, ok := c[d.Name]
			if !ok {
				continue
			}
			f.N = v
		}
		fs = append(fs, f)
	}
	var ignore []MetricInfo
	return reportMetrics(fs, &ignore)
}
