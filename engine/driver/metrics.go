package driver

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
)

// Step metrics: the figures a driver's steps produce besides the engine's
// own (count, errors, latency), e.g. a cache's hits and misses or a client's
// rate-limit wait. A driver declares them once (StepMetricser); the engine
// records them, checks read them as `<scenario>.<name>` and
// `<scenario>.steps.<step>.<name>`, and the report model, the report schema
// and every renderer show them, all from the declaration: nothing in the
// core names a driver's figure.
//
// A step reports its figures in Outcome.Counters, a fixed-size array, so
// that the hot path allocates nothing. Counters and durations take one slot
// each, in declaration order (the first declared counter or duration is
// Counters[0], the next Counters[1], ...); ratios take none: they are
// computed from counters after the run.

// MaxCounters is how many counters and durations a driver may declare: the
// size of Outcome.Counters.
const MaxCounters = 8

// Counters are an outcome's values of a driver's declared counters and
// durations, by slot (declaration order, ratios skipped). A duration's slot
// holds nanoseconds. The engine sums them per step over the measured window.
type Counters [MaxCounters]int64

// MetricKind is what a step metric is.
type MetricKind uint8

// Metric kinds.
const (
	// Counter is a count summed over the step's calls (hits, misses). In
	// checks it is an int; unknown when the step completed nothing.
	Counter MetricKind = iota + 1
	// Ratio is a fraction from 0 to 1: the sum of its Numerator counter
	// over the sum of its Denominator counters (hit_ratio = hits / (hits +
	// misses + lookup_errors)). Unknown (NaN) when the denominator is 0.
	Ratio
	// Duration is a time summed over the step's calls (rate_limit_wait), in
	// nanoseconds in Counters. In checks it is a duration (compare it with
	// ms(100)); unknown when the step completed nothing.
	Duration
)

// String is the kind's name in docs, the report and the report schema:
// "counter", "ratio" or "duration".
func (k MetricKind) String() string {
	switch k {
	case Counter:
		return "counter"
	case Ratio:
		return "ratio"
	case Duration:
		return "duration"
	}
	return fmt.Sprintf("MetricKind(%d)", uint8(k))
}

// ParseMetricKind reverses String.
func ParseMetricKind(s string) (MetricKind, error) {
	for _, k := range []MetricKind{Counter, Ratio, Duration} {
		if k.String() == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("driver: unknown metric kind %q", s)
}

// StepMetric declares one figure of a driver's steps.
type StepMetric struct {
	// Name is the figure's name in checks and in the report: lower case,
	// [a-z][a-z0-9_]*, not one of the engine's own figures (ReservedNames).
	Name string
	// Help says what it means, for docs and reports.
	Help string
	Kind MetricKind
	// Numerator and Denominator name the counters a Ratio divides:
	// sum(Numerator) / sum(Denominator...). Empty for other kinds.
	Numerator   string
	Denominator []string
}

// StepMetricser is implemented by drivers whose steps produce figures of
// their own. StepMetrics returns the same declarations on every call (the
// engine may call it more than once); they must pass CheckStepMetrics.
// Safe for concurrent use.
type StepMetricser interface {
	StepMetrics() []StepMetric
}

// ReservedNames are the engine's own figures of a scenario or step, which
// a step metric may not shadow.
var ReservedNames = []string{
	"latency", "service_latency", "response_latency", "count", "errors", "errors_by", "success_rate", "error_rate",
	"rate", "ops", "ops_rate", "steps", "due", "ok", "failed", "dropped", "interrupted", "late", "sent_late",
	"arrival_rate", "planned_rate", "error_samples", "name", "model", "elapsed", "start", "warmup", "max_vus", "aborted", "scheduled",
	"outcomes", "latency_ms", "latency_basis", "service_latency_ms", "lower_bounds", "histogram",
	"service_histogram", "series", "hit_ratios",
}

var metricName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// CheckStepMetrics reports what is wrong with a driver's declarations: a
// bad or reserved or duplicate name, an unknown kind, more than MaxCounters
// counters and durations, a ratio over names that are not counters.
func CheckStepMetrics(ms []StepMetric) error {
	var errs []error
	seen := map[string]MetricKind{}
	slots := 0
	for _, m := range ms {
		switch {
		case !metricName.MatchString(m.Name):
			errs = append(errs, fmt.Errorf("driver: step metric %q: a name is lower case letters, digits and _", m.Name))
		case slices.Contains(ReservedNames, m.Name):
			errs = append(errs, fmt.Errorf("driver: step metric %q: the name is the engine's own", m.Name))
		case seen[m.Name] != 0:
			errs = append(errs, fmt.Errorf("driver: step metric %q declared twice", m.Name))
		}
		seen[m.Name] = m.Kind
		switch m.Kind {
		case Counter, Duration:
			slots++
		case Ratio:
		default:
			errs = append(errs, fmt.Errorf("driver: step metric %q: unknown kind %d", m.Name, m.Kind))
		}
	}
	if slots > MaxCounters {
		errs = append(errs, fmt.Errorf("driver: %d counters and durations declared, at most %d", slots, MaxCounters))
	}
	for _, m := range ms {
		if m.Kind != Ratio {
			if m.Numerator != "" || len(m.Denominator) > 0 {
				errs = append(errs, fmt.Errorf("driver: step metric %q: only a ratio has a numerator and a denominator", m.Name))
			}
			continue
		}
		if len(m.Denominator) == 0 {
			errs = append(errs, fmt.Errorf("driver: ratio %q: no denominator", m.Name))
		}
		for _, n := range append([]string{m.Numerator}, m.Denominator...) {
			if seen[n] != Counter {
				errs = append(errs, fmt.Errorf("driver: ratio %q: %q is not a declared counter", m.Name, n))
			}
		}
	}
	return errors.Join(errs...)
}

// Slot returns the Counters index of the counter or duration named name in
// ms, or -1 when ms declares no such counter or duration.
func Slot(ms []StepMetric, name string) int {
	slot := 0
	for _, m := range ms {
		if m.Kind == Ratio {
			continue
		}
		if m.Name == name {
			return slot
		}
		slot++
	}
	return -1
}

// StepMetricsOf returns d's declared step metrics, nil when it declares
// none.
func StepMetricsOf(d Driver) []StepMetric {
	if sm, ok := d.(StepMetricser); ok {
		return sm.StepMetrics()
	}
	return nil
}
