package report

import (
	"fmt"
	"math"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/runplan/runplan/engine/check"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/metrics"
)

// Summary rebuilds the run summary a report was built from, as far as the
// report and its mergeable state hold it, so that checks evaluate on it
// (Rescore): a merged report's checks are evaluated on the merged figures.
// Histograms, counts, outcomes, step metric counters and interval
// histograms come back exactly; the faults' effects and the targets'
// server figures as the report gives them (rounded to its precision); the
// lower-bound marks of percentiles (at_least) are not carried. It fails on
// a report without State.
func (r *Report) Summary() (*metrics.RunSummary, error) {
	if r.State == nil {
		return nil, fmt.Errorf("report: no mergeable state (state)")
	}
	sum := &metrics.RunSummary{Started: r.StartedAt, Duration: dur(r.Duration), Partial: r.Partial,
		Interval: dur(r.Interval)}
	g := r.Generator
	sum.Generator = metrics.Generator{Scheduled: g.Scheduled, Late: g.Late, Dropped: g.Dropped, CPU: math.NaN(),
		PeakRSS: g.PeakRSS, Valid: r.Valid, Reasons: g.Reasons, Cause: g.Cause, Advice: g.Advice}
	if g.CPU != nil {
		sum.Generator.CPU = *g.CPU
	}
	var err error
	if sum.Generator.Lag, err = metrics.Decode(r.State.Lag); err != nil {
		return nil, err
	}
	for _, t := range r.Targets {
		ts := &metrics.TargetSummary{Name: t.Name, Server: map[string]float64{}, Help: map[string]string{},
			Samples: t.ServerSamples, SampleErr: t.ServerError, Servers: t.SpansServers}
		for _, f := range t.Server {
			ts.Order = append(ts.Order, f.Name)
			ts.Help[f.Name] = f.Help
			ts.Server[f.Name] = math.NaN()
			if f.Value != nil {
				ts.Server[f.Name] = *f.Value
			}
		}
		sum.Targets = append(sum.Targets, ts)
	}
	decl := stepMetricDecl(r.StepMetrics)
	for i := range r.Scenarios {
		sc := &r.Scenarios[i]
		var st *ScenarioState
		for j := range r.State.Scenarios {
			if r.State.Scenarios[j].Name == sc.Name {
				st = &r.State.Scenarios[j]
			}
		}
		if st == nil {
			return nil, fmt.Errorf("report: no state for scenario %s", sc.Name)
		}
		ss := &metrics.ScenarioSummary{Name: sc.Name, Model: sc.Model, Dropped: sc.Dropped, Interrupted: sc.Interrupted,
			Elapsed: dur(sc.Elapsed), PlannedElapsed: dur(st.PlannedElapsed), Aborted: sc.Aborted, Offset: dur(sc.Start),
			Warmup: dur(sc.Warmup), Scheduled: sc.Scheduled, Late: sc.Late, MaxVUs: sc.MaxVUs}
		o := sc.Outcomes
		ss.Outcomes = metrics.Outcomes{Due: o.Due, OK: o.OK, Failed: o.Failed, Dropped: o.Dropped, Interrupted: o.Interrupted,
			Late: o.Late, SentLate: o.SentLate}
		if ss.Lag, err = metrics.Decode(st.Lag); err != nil {
			return nil, err
		}
		if sc.Histogram != "" || sc.Count > 0 || len(st.Intervals) > 0 {
			if ss.Iteration, err = statsOf(sc.Name, &sc.Stats, st.Intervals, nil, nil); err != nil {
				return nil, err
			}
			out := ss.Outcomes
			ss.Iteration.Outcomes = &out
			for _, step := range sc.Steps {
				var stepState *StepState
				for k := range st.Steps {
					if st.Steps[k].Name == step.Name {
						stepState = &st.Steps[k]
					}
				}
				if stepState == nil {
					return nil, fmt.Errorf("report: no state for step %s.%s", sc.Name, step.Name)
				}
				s, err := statsOf(step.Name, &step.Stats, stepState.Intervals, stepState.Counters, decl)
				if err != nil {
					return nil, err
				}
				ss.Steps = append(ss.Steps, s)
			}
		}
		sum.Scenarios = append(sum.Scenarios, ss)
	}
	for _, f := range r.Faults {
		fs := &metrics.FaultSummary{Name: f.Name, Target: f.Target, Kind: f.Kind, Describe: f.Describe,
			PlannedAt: dur(f.PlannedAt), Start: dur(f.Start), End: dur(f.End), Applied: f.Applied, Skipped: f.Skipped,
			Err: f.Error, UndoErr: f.UndoError, Scenarios: f.Scenarios}
		if f.PlannedFor != nil {
			fs.PlannedFor = dur(*f.PlannedFor)
		} else {
			fs.UntilEnd = true
		}
		e := &fs.Effect
		e.Recovered, e.Why = f.Recovered, f.RecoveryNote
		if f.Recovery != nil {
			e.Recovery = dur(*f.Recovery)
		}
		if f.ErrorsStopped != nil {
			e.ErrorsStopped, e.ErrorsStoppedOK = dur(*f.ErrorsStopped), true
		}
		if f.LatencyReturned != nil {
			e.LatencyReturned, e.LatencyReturnedOK = dur(*f.LatencyReturned), true
		}
		if f.LatencyLimit != nil {
			e.LatencyLimit = time.Duration(*f.LatencyLimit * 1e6)
		}
		if f.SuccessLimit != nil {
			e.SuccessLimit = *f.SuccessLimit
		}
		e.Before, e.During, e.After = spanOf(f.Before), spanOf(f.During), spanOf(f.After)
		sum.Faults = append(sum.Faults, fs)
	}
	return sum, nil
}

func dur(seconds float64) time.Duration { return time.Duration(math.Round(seconds * 1e9)) }

func spanOf(w *Window) metrics.Span {
	if w == nil {
		return metrics.Span{SuccessRate: math.NaN()}
	}
	s := metrics.Span{From: dur(w.From), To: dur(w.To), Count: w.Count, Errors: w.Errors, ErrorsBy: w.ErrorsBy,
		SuccessRate: math.NaN(), Rate: w.Rate, Latency: latencyOf(w.Latency), SuccessLatency: latencyOf(w.SuccessLatency)}
	if w.SuccessRate != nil {
		s.SuccessRate = *w.SuccessRate
	}
	return s
}

func latencyOf(l *Latency) metrics.Latency {
	if l == nil {
		return metrics.Latency{}
	}
	d := func(ms float64) time.Duration { return time.Duration(math.Round(ms * 1e6)) }
	return metrics.Latency{OK: true, Min: d(l.Min), Mean: d(l.Mean), P50: d(l.P50), P90: d(l.P90), P95: d(l.P95),
		P99: d(l.P99), P999: d(l.P999), Max: d(l.Max), AtLeast: l.AtLeast}
}

// stepMetricDecl turns the report's declarations into the drivers'.
func stepMetricDecl(infos []MetricInfo) []driver.StepMetric {
	var out []driver.StepMetric
	for _, d := range infos {
		kind, err := driver.ParseMetricKind(d.Kind)
		if err != nil {
			continue
		}
		out = append(out, driver.StepMetric{Name: d.Name, Kind: kind, Help: d.Help, Numerator: d.Numerator, Denominator: d.Denominator})
	}
	return out
}

// statsOf rebuilds a series' summary: its histograms, counts and interval
// points from the report and its state; counters (by name) become the
// step's declared figures, in slots of the declarations they name.
func statsOf(name string, s *Stats, intervals []IntervalState, counters map[string]int64, decl []driver.StepMetric) (*metrics.Stats, error) {
	st := &metrics.Stats{Name: name, Count: s.Count, Errors: s.Errors, ErrorsBy: map[string]int64{}, Ops: max(s.Ops, s.Count),
		LowerBounds: s.LowerBounds}
	for k, v := range s.ErrorsBy {
		st.ErrorsBy[k] = v
	}
	h, err := metrics.Decode(s.Histogram)
	if err != nil {
		return nil, err
	}
	svc, err := metrics.Decode(s.ServiceHistogram)
	if err != nil {
		return nil, err
	}
	switch {
	case h == nil:
		st.Service = metrics.NewHistogram()
	case s.LatencyBasis == "response":
		st.Response, st.Service = h, svc
		if svc == nil {
			st.Service = metrics.NewHistogram()
		}
	default:
		st.Service = h
	}
	slot := 0
	for _, d := range decl {
		if d.Kind == driver.Ratio || slot >= driver.MaxCounters {
			continue
		}
		if v, ok := counters[d.Name]; ok {
			st.Metrics = append(st.Metrics, d)
			st.Counters[slot] = v
			slot++
		}
	}
	for _, d := range decl {
		if d.Kind == driver.Ratio && hasCounter(counters, d) {
			st.Metrics = append(st.Metrics, d)
		}
	}
	hists := map[float64]string{}
	by := map[float64]map[string]int64{}
	for _, is := range intervals {
		hists[is.T], by[is.T] = is.Histogram, is.ErrorsBy
	}
	for _, p := range s.Series {
		mp := metrics.Point{Start: dur(p.T), Width: dur(p.Width), Count: p.Count, Errors: p.Errors, ErrorsBy: by[p.T]}
		if p.Measured != nil {
			mp.Measured = dur(*p.Measured)
		}
		if enc := hists[p.T]; enc != "" {
			ph, err := hdrhistogram.DecodePacked([]byte(enc))
			if err != nil {
				return nil, fmt.Errorf("report: %s: interval %g: %w", name, p.T, err)
			}
			mp.Hist = ph
			mp.Latency = metrics.SummarizeSparse(ph)
		}
		st.Points = append(st.Points, mp)
	}
	return st, nil
}

func hasCounter(c map[string]int64, d driver.StepMetric) bool {
	if _, ok := c[d.Numerator]; ok {
		return true
	}
	for _, x := range d.Denominator {
		if _, ok := c[x]; ok {
			return true
		}
	}
	return false
}

// Rescore replaces the report's checks, score, verdict and recommendations
// with those of o, evaluated on its figures (Summary), as Build sets them,
// and puts the scenarios' hit ratios beside their targets' again (layout).
func (r *Report) Rescore(o *check.Outcome, layout Layout) {
	for i := range r.Scenarios {
		r.Scenarios[i].HitRatios = hitRatios(r.Scenarios[i], layout, r.Targets, r.Duration)
	}
	r.Checks = []Check{}
	r.Score = nil
	r.Verdict, r.VerdictCapped = o.Verdict, o.Capped
	r.Recommendations = append([]string{}, o.Recommendations...)
	if !math.IsNaN(o.Score) {
		s := check.RoundScore(o.Score)
		r.Score = &s
	}
	r.Checks = checksOf(o, layout, r.Targets)
}
