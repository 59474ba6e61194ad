package report

import "encoding/json"

// unmeasuredCounts replaces, in the JSON of a step or scenario that never
// measured anything, the counts that would read as "0 errors at 0/s" with
// null: a figure never measured is unknown, not 0 (docs/METRICS.md). The
// fields shadow the embedded Stats' ones of the same JSON name; reading
// such a report back gives 0, which every renderer shows as "-" beside a
// count of 0.
type unmeasuredCounts struct {
	Errors   *int64           `json:"errors"`
	ErrorsBy map[string]int64 `json:"errors_by"`
	Rate     *float64         `json:"rate"`
}

// MarshalJSON writes a step that completed no call with unknown counts.
func (s Step) MarshalJSON() ([]byte, error) {
	type plain Step
	if s.Count > 0 || s.Errors > 0 {
		return withMetrics(json.Marshal(plain(s)))(s.Metrics)
	}
	return withMetrics(json.Marshal(struct {
		plain
		unmeasuredCounts
	}{plain: plain(s)}))(s.Metrics)
}

// MarshalJSON writes a scenario that had no iteration due in its measured
// window, and completed none, with unknown counts. A scenario whose due
// iterations were all dropped or interrupted has known counts: its errors
// are those outcomes.
func (s Scenario) MarshalJSON() ([]byte, error) {
	type plain Scenario
	if s.Count > 0 || s.Errors > 0 || s.Outcomes.Due > 0 {
		return withMetrics(json.Marshal(plain(s)))(s.Metrics)
	}
	return withMetrics(json.Marshal(struct {
		plain
		unmeasuredCounts
	}{plain: plain(s)}))(s.Metrics)
}
