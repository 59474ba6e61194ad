package report

import (
	"encoding/json"
	"fmt"
	"time"
)

// timestamp reads a report's date-time the way its schema accepts it
// (RFC 3339, format date-time): time.Time alone refuses a lowercase t or
// z separator and a leap second (23:59:60Z), which RFC 3339 allows and
// other tools may write. A leap second reads as the second after it.
// Reports are written with time.Time (RFC 3339, upper case, UTC).
type timestamp time.Time

// UnmarshalJSON reads an RFC 3339 date-time string.
func (ts *timestamp) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	t, err := parseRFC3339(s)
	if err != nil {
		return err
	}
	*ts = timestamp(t)
	return nil
}

// parseRFC3339 parses an RFC 3339 date-time (section 5.6): the T and Z
// in either case, any fraction of a second, a leap second.
func parseRFC3339(s string) (time.Time, error) {
	if len(s) < 20 || s[10] != 't' && s[10] != 'T' {
		return time.Time{}, fmt.Errorf("report: %q is not an RFC 3339 date-time (2026-12-01T21:48:58Z)", s)
	}
	b := []byte(s)
	b[10] = 'T'
	if b[len(b)-1] == 'z' {
		b[len(b)-1] = 'Z'
	}
	leap := b[17] == '6' && b[18] == '0'
	if leap {
		b[17], b[18] = '5', '9'
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return time.Time{}, fmt.Errorf("report: %q is not an RFC 3339 date-time: %w", s, err)
	}
	if leap {
		if _, m, _ := t.UTC().Clock(); m != 59 || t.UTC().Hour() != 23 {
			return time.Time{}, fmt.Errorf("report: %q: a leap second is 23:59:60 UTC", s)
		}
		t = t.Add(time.Second).Truncate(time.Second)
	}
	return t, nil
}

// timePtr is the time.Time of ts, nil for nil.
func timePtr(ts *timestamp) *time.Time {
	if ts == nil {
		return nil
	}
	t := time.Time(*ts)
	return &t
}

// UnmarshalJSON reads a leftover, its until as its schema accepts it.
func (l *Leftover) UnmarshalJSON(b []byte) error {
	type plain Leftover // without this method
	aux := struct {
		*plain
		Until *timestamp `json:"until"`
	}{plain: (*plain)(l)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	l.Until = timePtr(aux.Until)
	return nil
}

// UnmarshalJSON reads a dead run, its started_at as its schema accepts it.
func (d *DeadRun) UnmarshalJSON(b []byte) error {
	type plain DeadRun // without this method
	aux := struct {
		*plain
		Started timestamp `json:"started_at"`
	}{plain: (*plain)(d)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	d.Started = time.Time(aux.Started)
	return nil
}

// UnmarshalJSON reads a target, its server_sampled_from and _to as its
// schema accepts them.
func (t *Target) UnmarshalJSON(b []byte) error {
	type plain Target // without this method
	aux := struct {
		*plain
		From *timestamp `json:"server_sampled_from"`
		To   *timestamp `json:"server_sampled_to"`
	}{plain: (*plain)(t)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	t.ServerSampledFrom, t.ServerSampledTo = timePtr(aux.From), timePtr(aux.To)
	return nil
}
