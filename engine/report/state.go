package report

import (
	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/metrics"
)

// State is the report's mergeable state: what `runplan merge` needs, beside
// the figures the report already holds (counts, errors by class, outcomes,
// the scenarios' and steps' response and service histograms), to combine
// the reports of a plan's execution segments exactly. Every histogram is in
// HdrHistogram's own V2 compressed base64 encoding, in nanoseconds.
//
// Its size is bounded: one histogram per time-series interval of each
// scenario and step (at most metrics.MaxPoints intervals each, at
// metrics.PointDigits significant digits), plus the lag histograms and a
// few counters per step (docs/REPORTS.md gives the sizes measured).
type State struct {
	// Lag is the generator's scheduling lag over every open-model
	// scenario; empty without one.
	Lag       string          `json:"lag_histogram,omitempty" redact:"-"`
	Scenarios []ScenarioState `json:"scenarios"`
}

// ScenarioState is a scenario's mergeable state.
type ScenarioState struct {
	Name string `json:"name"`
	// Lag is the scenario's scheduling lag (open model).
	Lag string `json:"lag_histogram,omitempty" redact:"-"`
	// PlannedElapsed is the open model's planned measured window in
	// seconds, for its planned rate (0 in the closed model).
	PlannedElapsed float64 `json:"planned_elapsed,omitempty"`
	// Intervals are the whole iterations' time-series intervals.
	Intervals []IntervalState `json:"intervals"`
	Steps     []StepState     `json:"steps"`
}

// StepState is a step's mergeable state.
type StepState struct {
	Name string `json:"name"`
	// Counters are the sums of the step's declared counters and durations
	// (ns) by name, those of ratios' numerators and denominators
	// included, so that a ratio recomputes exactly from summed counters.
	Counters  map[string]int64 `json:"counters,omitempty"`
	Intervals []IntervalState  `json:"intervals"`
}

// IntervalState is one time-series interval's state: T is its start in
// seconds from the run's start (as the series point's), ErrorsBy its errors
// by class and Histogram its latency histogram on the series' basis, at
// metrics.PointDigits significant digits; empty when nothing completed.
type IntervalState struct {
	T         float64          `json:"t"`
	ErrorsBy  map[string]int64 `json:"errors_by,omitempty"`
	Histogram string           `json:"histogram,omitempty" redact:"-"`
}

// buildState takes the mergeable state from a run's summary.
func buildState(sum *metrics.RunSummary) *State {
	s := &State{Lag: encode(sum.Generator.Lag), Scenarios: []ScenarioState{}}
	for _, sc := range sum.Scenarios {
		if sc == nil {
			continue
		}
		ss := ScenarioState{Name: sc.Name, Lag: encode(sc.Lag), Intervals: []IntervalState{}, Steps: []StepState{}}
		if sc.PlannedElapsed > 0 {
			ss.PlannedElapsed = sc.PlannedElapsed.Seconds()
		}
		if sc.Iteration != nil {
			ss.Intervals = intervals(sc.Iteration.Points)
			for _, st := range sc.Steps {
				step := StepState{Name: st.Name, Intervals: intervals(st.Points)}
				for _, f := range st.Figures() {
					if f.Kind == driver.Ratio {
						continue
					}
					if step.Counters == nil {
						step.Counters = map[string]int64{}
					}
					step.Counters[f.Name] = f.N
				}
				ss.Steps = append(ss.Steps, step)
			}
		}
		s.Scenarios = append(s.Scenarios, ss)
	}
	return s
}

func intervals(points []metrics.Point) []IntervalState {
	out := make([]IntervalState, 0, len(points))
	for _, p := range points {
		is := IntervalState{T: round3(p.Start.Seconds()), ErrorsBy: p.ErrorsBy}
		if p.Hist != nil && p.Hist.TotalCount() > 0 {
			if b, err := p.Hist.Encode(); err == nil {
				is.Histogram = string(b)
			}
		}
		out = append(out, is)
	}
	return out
}

// encode is metrics.Encode, empty for an empty histogram.
func encode(h *hdrhistogram.Histogram) string {
	if h == nil || h.TotalCount() == 0 {
		return ""
	}
	s, _ := metrics.Encode(h)
	return s
}
