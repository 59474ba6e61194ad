package promrw

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/prompb"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/check"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/load"
	"github.com/runplan/runplan/engine/metrics"
	"github.com/runplan/runplan/engine/report"
)

// The metrics the exporter writes, documented in docs/OBSERVABILITY.md
// (its table is checked against this list by a test).
const (
	mIterations      = "runplan_iterations_total"
	mStepCalls       = "runplan_step_calls_total"
	mStepErrors      = "runplan_step_errors_total"
	mStepCounter     = "runplan_step_metric_total"
	mStepDuration    = "runplan_step_metric_seconds_total"
	mStepRatio       = "runplan_step_metric_ratio"
	mScheduled       = "runplan_generator_scheduled_total"
	mScenarioRate    = "runplan_scenario_rate_per_second"
	mScenarioLatency = "runplan_scenario_latency_seconds"
	mStepRate        = "runplan_step_rate_per_second"
	mStepLatency     = "runplan_step_latency_seconds"
	mLag             = "runplan_generator_lag_seconds"
	mFaultActive     = "runplan_fault_active"
	mScenarioRunLat  = "runplan_scenario_run_latency_seconds"
	mStepRunLat      = "runplan_step_run_latency_seconds"
	mRunLag          = "runplan_generator_run_lag_seconds"
	mValid           = "runplan_valid"
	mCPU             = "runplan_generator_cpu_ratio"
	mScore           = "runplan_score"
	mVerdict         = "runplan_verdict"
	mCheckPassed     = "runplan_check_passed"
	mDuration        = "runplan_run_duration_seconds"
	mEnd             = "runplan_run_end_timestamp_seconds"
)

// metricDef says what a metric is, for the receiver's metadata.
type metricDef struct {
	typ  prompb.MetricMetadata_MetricType
	help string
}

var defs = map[string]metricDef{
	mIterations:      {prompb.MetricMetadata_COUNTER, "Measured iterations of a scenario by outcome (ok, failed, interrupted, dropped, late)."},
	mStepCalls:       {prompb.MetricMetadata_COUNTER, "Measured calls of a step by outcome (ok, error)."},
	mStepErrors:      {prompb.MetricMetadata_COUNTER, "Failed calls of a step by error class."},
	mStepCounter:     {prompb.MetricMetadata_COUNTER, "A counter its driver declares for the step (metric=hits, misses, ...)."},
	mStepDuration:    {prompb.MetricMetadata_COUNTER, "A time its driver declares for the step, summed over its calls (metric=rate_limit_wait, ...)."},
	mStepRatio:       {prompb.MetricMetadata_GAUGE, "A ratio its driver declares for the step, over the run so far (metric=hit_ratio, ...)."},
	mScheduled:       {prompb.MetricMetadata_COUNTER, "Hits the open model's generator made due."},
	mScenarioRate:    {prompb.MetricMetadata_GAUGE, "Iterations completed per second in the last closed interval."},
	mScenarioLatency: {prompb.MetricMetadata_GAUGE, "Iteration latency percentile of the last closed interval."},
	mStepRate:        {prompb.MetricMetadata_GAUGE, "Step calls completed per second in the last closed interval."},
	mStepLatency:     {prompb.MetricMetadata_GAUGE, "Step latency percentile of the last closed interval."},
	mLag:             {prompb.MetricMetadata_GAUGE, "Scheduling lag of the open model's latest due hit."},
	mFaultActive:     {prompb.MetricMetadata_GAUGE, "1 while the fault is in force, 0 otherwise."},
	mScenarioRunLat:  {prompb.MetricMetadata_GAUGE, "Iteration latency percentile over the whole run (the report's)."},
	mStepRunLat:      {prompb.MetricMetadata_GAUGE, "Step latency percentile over the whole run (the report's)."},
	mRunLag:          {prompb.MetricMetadata_GAUGE, "Generator scheduling lag percentile over the whole run."},
	mValid:           {prompb.MetricMetadata_GAUGE, "1 when the generator held the load (a valid measurement), 0 otherwise."},
	mCPU:             {prompb.MetricMetadata_GAUGE, "runplan's CPU use over the run, as a share of the CPUs available to it."},
	mScore:           {prompb.MetricMetadata_GAUGE, "The run's score, 0 to 100 (absent for a plan without checks)."},
	mVerdict:         {prompb.MetricMetadata_STATESET, "The run's verdict: 1 for the verdict given, 0 for the others."},
	mCheckPassed:     {prompb.MetricMetadata_GAUGE, "1 when the check passed, 0 otherwise."},
	mDuration:        {prompb.MetricMetadata_GAUGE, "The run's wall-clock duration."},
	mEnd:             {prompb.MetricMetadata_GAUGE, "When the run ended, in seconds since the Unix epoch."},
}

// verdicts are the verdicts the runplan_verdict state set always covers.
var verdicts = []string{check.Ready, check.Degraded, check.NotReady, check.Unscored, "invalid"}

// quantiles are the latency percentiles written, with their label values.
var quantiles = []struct {
	label string
	of    func(metrics.Latency) time.Duration
	ms    func(*report.Latency) float64
}{
	{"0.5", func(l metrics.Latency) time.Duration { return l.P50 }, func(l *report.Latency) float64 { return l.P50 }},
	{"0.9", func(l metrics.Latency) time.Duration { return l.P90 }, func(l *report.Latency) float64 { return l.P90 }},
	{"0.95", func(l metrics.Latency) time.Duration { return l.P95 }, func(l *report.Latency) float64 { return l.P95 }},
	{"0.99", func(l metrics.Latency) time.Duration { return l.P99 }, func(l *report.Latency) float64 { return l.P99 }},
	{"0.999", func(l metrics.Latency) time.Duration { return l.P999 }, func(l *report.Latency) float64 { return l.P999 }},
}

// sample is one value of one series, before it gets its timestamp.
type sample struct {
	name   string
	labels []prompb.Label // without __name__, sorted by name, none empty
	value  float64
}

// String writes s as the exposition format does: name{a="b"} value.
func (s sample) String() string {
	var b strings.Builder
	b.WriteString(s.name)
	if len(s.labels) > 0 {
		b.WriteByte('{')
		for i, l := range s.labels {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%s=%q", l.Name, l.Value)
		}
		b.WriteByte('}')
	}
	b.WriteByte(' ')
	b.WriteString(strconv.FormatFloat(s.value, 'g', -1, 64))
	return b.String()
}

// builder collects samples under the run's common labels.
type builder struct {
	base []string // name, value pairs every sample carries
	out  []sample
}

// newBuilder starts samples labelled with plan, runID and, for a segment
// of a run split into several (segment >= 0), the segment's index.
func newBuilder(plan, runID string, segment int) *builder {
	b := &builder{base: []string{"plan", plan, "run_id", runID}}
	if segment >= 0 {
		b.base = append(b.base, "segment", strconv.Itoa(segment))
	}
	return b
}

// segmentLabel is the segment label's index for seg, -1 for a whole run.
func segmentLabel(seg load.Segment) int {
	if seg.Whole() {
		return -1
	}
	return seg.Index
}

// add appends a sample of metric name with the base labels and kv (name,
// value pairs); empty values are left out, as remote write requires.
func (b *builder) add(name string, value float64, kv ...string) {
	all := append(slices.Clone(b.base), kv...)
	ls := make([]prompb.Label, 0, len(all)/2)
	for i := 0; i+1 < len(all); i += 2 {
		if all[i+1] != "" {
			ls = append(ls, prompb.Label{Name: all[i], Value: all[i+1]})
		}
	}
	sort.Slice(ls, func(i, j int) bool { return ls[i].Name < ls[j].Name })
	b.out = append(b.out, sample{name: name, labels: ls, value: value})
}

// planLabel is the plan's name for the plan label: its name, or its file's
// base name without extension for a plan without one.
func planLabel(p report.PlanInfo) string {
	if p.Name != "" {
		return p.Name
	}
	base := p.Path[strings.LastIndexAny(p.Path, `/\`)+1:]
	return strings.TrimSuffix(strings.TrimSuffix(base, ".yaml"), ".yml")
}

// liveSamples maps the run's live figures to samples: counters so far by
// outcome and class, the last closed interval's rates and percentiles, the
// generator's health and the fault windows. Figures not measured yet (a
// scenario not started, an interval that held nothing) are left out
// rather than written as zero.
func liveSamples(plan, runID string, segment int, scs []engine.ScenarioProgress, faults []engine.FaultProgress) []sample {
	b := newBuilder(plan, runID, segment)
	for _, sc := range scs {
		if !sc.Started {
			continue
		}
		s := "scenario"
		b.add(mIterations, float64(sc.OK), s, sc.Name, "outcome", "ok")
		b.add(mIterations, float64(sc.Failed), s, sc.Name, "outcome", "failed")
		b.add(mIterations, float64(sc.Interrupted), s, sc.Name, "outcome", "interrupted")
		if sc.Open {
			b.add(mIterations, float64(sc.Dropped), s, sc.Name, "outcome", "dropped")
			b.add(mIterations, float64(sc.Late), s, sc.Name, "outcome", "late")
			b.add(mScheduled, float64(sc.Scheduled), s, sc.Name)
			if sc.LagOK {
				b.add(mLag, sc.LagNow.Seconds(), s, sc.Name)
			}
		}
		if sc.RateOK {
			b.add(mScenarioRate, sc.Rate, s, sc.Name)
		}
		if sc.P99OK {
			b.add(mScenarioLatency, sc.P99.Seconds(), s, sc.Name, "quantile", "0.99")
		}
		for _, st := range sc.Steps {
			kv := []string{s, sc.Name, "step", st.Name, "target", st.Target}
			stepCounts(b, kv, st.Totals.Count, st.Totals.Errors, st.Totals.ErrorsBy)
			for _, f := range st.Totals.Figures {
				switch f.Kind {
				case driver.Counter:
					b.add(mStepCounter, float64(f.N), append(kv, "metric", f.Name)...)
				case driver.Duration:
					b.add(mStepDuration, f.Duration().Seconds(), append(kv, "metric", f.Name)...)
				case driver.Ratio:
					if f.Den > 0 {
						b.add(mStepRatio, f.Ratio(), append(kv, "metric", f.Name)...)
					}
				}
			}
			if st.RateOK {
				b.add(mStepRate, st.Rate, kv...)
			}
			if st.Latency.OK {
				for _, q := range quantiles {
					b.add(mStepLatency, q.of(st.Latency).Seconds(), append(kv, "quantile", q.label)...)
				}
			}
		}
	}
	for _, f := range faults {
		b.add(mFaultActive, boolValue(f.Active), "fault", f.Name, "target", f.Target)
	}
	return b.out
}

// stepCounts adds a step's call counters: by outcome and by error class.
func stepCounts(b *builder, kv []string, count, errs int64, by map[string]int64) {
	b.add(mStepCalls, float64(count-errs), append(kv, "outcome", "ok")...)
	b.add(mStepCalls, float64(errs), append(kv, "outcome", "error")...)
	classes := make([]string, 0, len(by))
	for c := range by {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	for _, c := range classes {
		b.add(mStepErrors, float64(by[c]), append(kv, "class", c)...)
	}
}

// finalSamples maps the finished report to samples: the counters as the
// report has them (the authority: they equal its figures), whole-run
// percentiles, every fault inactive, the generator's validity, the score,
// the verdict and the checks.
func finalSamples(rep *report.Report, layout report.Layout) []sample {
	segment := -1
	if rep.Segment != nil && rep.Segment.Count > 1 {
		segment = rep.Segment.Index
	}
	b := newBuilder(planLabel(rep.Plan), rep.RunID, segment)
	targets := stepTargets(layout)
	for _, sc := range rep.Scenarios {
		s := "scenario"
		o := sc.Outcomes
		for _, oc := range []struct {
			name string
			n    int64
		}{{"ok", o.OK}, {"failed", o.Failed}, {"interrupted", o.Interrupted}, {"dropped", o.Dropped}, {"late", o.Late}} {
			// The closed model has no schedule: nothing is dropped or late.
			if oc.n > 0 || sc.Model == "open" || oc.name != "dropped" && oc.name != "late" {
				b.add(mIterations, float64(oc.n), s, sc.Name, "outcome", oc.name)
			}
		}
		if sc.Model == "open" {
			b.add(mScheduled, float64(sc.Scheduled), s, sc.Name)
		}
		if sc.Latency != nil {
			for _, q := range quantiles {
				b.add(mScenarioRunLat, q.ms(sc.Latency)/1000, s, sc.Name, "quantile", q.label)
			}
		}
		for _, st := range sc.Steps {
			kv := []string{s, sc.Name, "step", st.Name, "target", targets[sc.Name+"\x00"+st.Name]}
			stepCounts(b, kv, st.Count, st.Errors, st.ErrorsBy)
			for _, m := range st.Metrics {
				switch m.Kind {
				case driver.Counter.String():
					b.add(mStepCounter, m.Value, append(kv, "metric", m.Name)...)
				case driver.Duration.String():
					b.add(mStepDuration, m.Value/1000, append(kv, "metric", m.Name)...)
				case driver.Ratio.String():
					b.add(mStepRatio, m.Value, append(kv, "metric", m.Name)...)
				}
			}
			if st.Latency != nil {
				for _, q := range quantiles {
					b.add(mStepRunLat, q.ms(st.Latency)/1000, append(kv, "quantile", q.label)...)
				}
			}
		}
	}
	for _, f := range layout.Faults {
		b.add(mFaultActive, 0, "fault", f.Name, "target", f.Target)
	}
	if lag := rep.Generator.Lag; lag != nil {
		for _, q := range quantiles {
			b.add(mRunLag, q.ms(lag)/1000, "quantile", q.label)
		}
	}
	if !rep.NotStarted {
		b.add(mValid, boolValue(rep.Valid))
	}
	if c := rep.Generator.CPU; c != nil && !math.IsNaN(*c) {
		b.add(mCPU, *c)
	}
	if rep.Score != nil {
		b.add(mScore, *rep.Score)
	}
	vs := verdicts
	if !slices.Contains(vs, rep.Verdict) && rep.Verdict != "" {
		vs = append(slices.Clone(vs), rep.Verdict)
	}
	for _, v := range vs {
		b.add(mVerdict, boolValue(v == rep.Verdict), "verdict", v)
	}
	for _, c := range rep.Checks {
		b.add(mCheckPassed, boolValue(c.Passed), "check", c.Name)
	}
	b.add(mDuration, rep.Duration)
	if !rep.EndedAt.IsZero() {
		b.add(mEnd, float64(rep.EndedAt.UnixMilli())/1000)
	}
	return b.out
}

// stepTargets maps "scenario\x00step" to the step's target.
func stepTargets(l report.Layout) map[string]string {
	out := map[string]string{}
	for _, sc := range l.Scenarios {
		for _, st := range sc.Steps {
			out[sc.Name+"\x00"+st.Name] = st.Target
		}
	}
	return out
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// writeRequest turns samples into one remote-write request, every sample
// at ts (ms since the epoch), with the metrics' metadata; mask masks the
// label values (a secret in a name must not leave either).
func writeRequest(samples []sample, ts int64, mask func(string) string) *prompb.WriteRequest {
	req := &prompb.WriteRequest{Timeseries: make([]prompb.TimeSeries, 0, len(samples))}
	seen := map[string]bool{}
	for _, s := range samples {
		ls := make([]prompb.Label, 0, len(s.labels)+1)
		ls = append(ls, prompb.Label{Name: "__name__", Value: s.name})
		for _, l := range s.labels {
			ls = append(ls, prompb.Label{Name: l.Name, Value: mask(l.Value)})
		}
		req.Timeseries = append(req.Timeseries, prompb.TimeSeries{Labels: ls, Samples: []prompb.Sample{{Value: s.value, Timestamp: ts}}})
		if d, ok := defs[s.name]; ok && !seen[s.name] {
			seen[s.name] = true
			req.Metadata = append(req.Metadata, prompb.MetricMetadata{Type: d.typ, MetricFamilyName: s.name, Help: d.help, Unit: unitOf(s.name)})
		}
	}
	return req
}

// unitOf is the unit a metric's name ends with, for its metadata.
func unitOf(name string) string {
	for _, u := range []string{"seconds", "ratio"} {
		if strings.HasSuffix(name, "_"+u) || strings.Contains(name, "_"+u+"_") {
			return u
		}
	}
	return ""
}
