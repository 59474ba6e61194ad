package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/runplan/runplan/engine/check"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/metrics"
)

// Step metrics in the report: the figures drivers declare
// (driver.StepMetric) are written into a step's or scenario's JSON object
// under their own names, just before latency_ms (where a cache's hits,
// misses and hit_ratio have always been), and left out when they have
// nothing to say (metrics.Figure.Zero). A report read back takes each
// figure's kind from the declarations of its targets' drivers
// (resolveMetrics).

// Metric is one declared figure of a step or scenario.
type Metric struct {
	Name string
	// Kind is "counter", "ratio" or "duration" (driver.MetricKind).
	Kind string
	// Value is a counter's count, a ratio's fraction (0..1), a duration in
	// milliseconds.
	Value float64
}

// MetricInfo declares a figure of the report's steps and scenarios (a
// driver.StepMetric, its kind by name).
type MetricInfo struct {
	Name, Kind, Help string
	Numerator        string
	Denominator      []string
}

// Metric returns the figure named name, nil when s has none.
func (s *Stats) Metric(name string) *Metric {
	for i := range s.Metrics {
		if s.Metrics[i].Name == name {
			return &s.Metrics[i]
		}
	}
	return nil
}

// reportMetrics turns figures into the report's, leaving out those with
// nothing to show, and adds their declarations to decl.
func reportMetrics(fs []metrics.Figure, decl *[]MetricInfo) []Metric {
	var out []Metric
	for _, f := range fs {
		addInfo(decl, f.StepMetric)
		if f.Zero() {
			continue
		}
		m := Metric{Name: f.Name, Kind: f.Kind.String(), Value: float64(f.N)}
		switch f.Kind {
		case driver.Ratio:
			m.Value = f.Ratio()
		case driver.Duration:
			m.Value = ms(f.Duration())
		}
		out = append(out, m)
	}
	return out
}

func addInfo(decl *[]MetricInfo, m driver.StepMetric) {
	for _, d := range *decl {
		if d.Name == m.Name {
			return
		}
	}
	*decl = append(*decl, MetricInfo{Name: m.Name, Kind: m.Kind.String(), Help: m.Help, Numerator: m.Numerator,
		Denominator: append([]string(nil), m.Denominator...)})
}

// withMetrics inserts ms into the JSON object b before its latency_ms key
// (at its end when it has none).
func withMetrics(b []byte, err error) func(ms []Metric) ([]byte, error) {
	return func(ms []Metric) ([]byte, error) {
		if err != nil || len(ms) == 0 {
			return b, err
		}
		var extra bytes.Buffer
		for _, m := range ms {
			k, _ := json.Marshal(m.Name)
			v, err := json.Marshal(m.Value)
			if err != nil {
				return nil, fmt.Errorf("report: metric %s: %w", m.Name, err)
			}
			extra.Write(k)
			extra.WriteByte(':')
			extra.Write(v)
			extra.WriteByte(',')
		}
		at, err := keyOffset(b, "latency_ms")
		if err != nil {
			return nil, err
		}
		if at < 0 {
			// No latency_ms: append before the closing brace.
			e := extra.Bytes()
			out := append([]byte{}, b[:len(b)-1]...)
			if len(out) > 1 {
				out = append(out, ',')
			}
			out = append(out, e[:len(e)-1]...)
			return append(out, '}'), nil
		}
		out := append([]byte{}, b[:at]...)
		out = append(out, extra.Bytes()...)
		return append(out, b[at:]...), nil
	}
}

// keyOffset is the offset in the JSON object b of its top-level key, -1
// when b has no such key.
func keyOffset(b []byte, key string) (int, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // {
		return 0, fmt.Errorf("report: %w", err)
	}
	for dec.More() {
		before := int(dec.InputOffset())
		t, err := dec.Token()
		if err != nil {
			return 0, fmt.Errorf("report: %w", err)
		}
		if t == key {
			// before is the end of the previous value (or of "{"): skip
			// the comma and whitespace to the key's opening quote.
			return before + bytes.IndexByte(b[before:], '"'), nil
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return 0, fmt.Errorf("report: %w", err)
		}
	}
	return -1, nil
}

// ownKeys are the JSON keys of a step's or scenario's own fields: any
// other key holding a number is a step metric.
var ownKeys = func() map[string]bool {
	keys := map[string]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(f.Type)
				continue
			}
			if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
				keys[name] = true
			}
		}
	}
	walk(reflect.TypeOf(Scenario{}))
	walk(reflect.TypeOf(Step{}))
	return keys
}()

// readMetrics reads the step metrics of a step's or scenario's JSON
// object: the keys that are none of its own fields, in sorted order; their
// kinds are set by resolveMetrics.
func readMetrics(b []byte) ([]Metric, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var out []Metric
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		key, _ := t.(string)
		if ownKeys[key] {
			continue
		}
		var v float64
		if json.Unmarshal(raw, &v) != nil {
			continue // not a figure: a field of a later version
		}
		m := Metric{Name: key, Value: v}
		if !bytes.ContainsAny(raw, ".eE") {
			m.Kind = "counter"
		}
		out = append(out, m)
	}
	return out, nil
}

// UnmarshalJSON reads a step and its step metrics.
func (s *Step) UnmarshalJSON(b []byte) error {
	type plain Step
	if err := json.Unmarshal(b, (*plain)(s)); err != nil {
		return err
	}
	ms, err := readMetrics(b)
	s.Metrics = ms
	return err
}

// UnmarshalJSON reads a scenario and its step metrics.
func (s *Scenario) UnmarshalJSON(b []byte) error {
	type plain Scenario
	if err := json.Unmarshal(b, (*plain)(s)); err != nil {
		return err
	}
	ms, err := readMetrics(b)
	s.Metrics = ms
	return err
}

// UnmarshalJSON reads a report, giving its step metrics their kinds.
// Its date-times are read as its schema accepts them (timestamp).
func (r *Report) UnmarshalJSON(b []byte) error {
	type plain Report // without this method
	aux := struct {
		*plain
		StartAt   *timestamp `json:"start_at"`
		StartedAt timestamp  `json:"started_at"`
		EndedAt   timestamp  `json:"ended_at"`
	}{plain: (*plain)(r)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	r.StartAt, r.StartedAt, r.EndedAt = timePtr(aux.StartAt), time.Time(aux.StartedAt), time.Time(aux.EndedAt)
	r.resolveMetrics()
	return nil
}

// resolveMetrics sets the kinds of metrics read back from the
// declarations of the report's targets' drivers, when they are registered;
// failing that (a driver this binary lacks), a figure written with a
// fraction is taken for a ratio, a whole number for a counter.
func (r *Report) resolveMetrics() {
	if len(r.StepMetrics) == 0 {
		for _, t := range r.Targets {
			if d, err := driver.Lookup(t.Driver); err == nil {
				for _, m := range driver.StepMetricsOf(d) {
					addInfo(&r.StepMetrics, m)
				}
			}
		}
	}
	kinds := map[string]string{}
	for _, d := range r.StepMetrics {
		kinds[d.Name] = d.Kind
	}
	fix := func(ms []Metric) {
		for i := range ms {
			if k, ok := kinds[ms[i].Name]; ok {
				ms[i].Kind = k
			} else if ms[i].Kind == "" {
				ms[i].Kind = driver.Ratio.String()
			}
		}
	}
	for i := range r.Scenarios {
		fix(r.Scenarios[i].Metrics)
		for j := range r.Scenarios[i].Steps {
			fix(r.Scenarios[i].Steps[j].Metrics)
		}
	}
}

// info is the declaration of the figure named name, nil when decl has
// none.
func info(decl []MetricInfo, name string) *MetricInfo {
	for i := range decl {
		if decl[i].Name == name {
			return &decl[i]
		}
	}
	return nil
}

// label is a figure's name for people: "hit ratio".
func label(name string) string { return strings.ReplaceAll(name, "_", " ") }

// metricText is a figure for people: "hit ratio 92.2%", "rate limit wait
// 1.20s", "retries 3".
func metricText(m Metric) string {
	switch m.Kind {
	case "ratio":
		return fmt.Sprintf("%s %.1f%%", label(m.Name), m.Value*100)
	case "duration":
		return label(m.Name) + " " + check.FormatDuration(msDuration(m.Value))
	}
	return fmt.Sprintf("%s %d", label(m.Name), int64(m.Value))
}

// metricNotes are a step's or scenario's figures for people, in order. A
// ratio shows its numerator and denominator when the report declares them
// ("hit ratio 92.2% (4610/5000)") and the counters it is made of are not
// repeated, except, when not 0, the denominator's beyond its first two
// (lookup errors: "lookup errors 3 (counted in hit ratio)"). With
// withCounts false a ratio shows no counts.
func metricNotes(decl []MetricInfo, s *Stats, withCounts bool) []string {
	var notes []string
	inRatio := map[string]string{}
	for _, m := range s.Metrics {
		d := info(decl, m.Name)
		if m.Kind != "ratio" || d == nil {
			continue
		}
		inRatio[d.Numerator] = ""
		for i, n := range d.Denominator {
			if i >= 2 && n != d.Numerator {
				inRatio[n] = m.Name
			} else {
				inRatio[n] = ""
			}
		}
	}
	for _, m := range s.Metrics {
		if m.Kind == "ratio" {
			text := metricText(m)
			if d := info(decl, m.Name); d != nil && withCounts {
				num, den, ok := ratioCounts(s, d)
				if ok {
					text += fmt.Sprintf(" (%d/%d)", num, den)
				}
			}
			notes = append(notes, text)
			continue
		}
		ratio, counted := inRatio[m.Name]
		switch {
		case !counted:
			notes = append(notes, metricText(m))
		case ratio != "" && m.Value != 0:
			notes = append(notes, fmt.Sprintf("%s (counted in %s)", metricText(m), label(ratio)))
		}
	}
	return notes
}

func ratioCounts(s *Stats, d *MetricInfo) (num, den int64, ok bool) {
	get := func(n string) int64 {
		if m := s.Metric(n); m != nil {
			return int64(m.Value)
		}
		return 0
	}
	num = get(d.Numerator)
	for _, n := range d.Denominator {
		den += get(n)
	}
	return num, den, den > 0
}

func msDuration(v float64) time.Duration {
	if math.IsNaN(v) {
		return 0
	}
	return time.Duration(v * 1e6)
}
