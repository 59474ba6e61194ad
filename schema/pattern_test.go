package schema

import (
	"encoding/json"
	"regexp"
	"testing"
)

// TestPatternsAgreeWithParsers: the plan schema's duration and rate
// patterns, which other validators check, accept what ParseDuration and
// ParseRate accept and nothing else (but durations too long for Go, which
// only runplan refuses), and the plan schema uses them.
func TestPatternsAgreeWithParsers(t *testing.T) {
	t.Parallel()
	dur := regexp.MustCompile(DurationPattern)
	for _, s := range []string{"500ms", "20s", "1m30s", "1.5h", "1.s", ".5s", "+5s", "0s", "10us", "10µs", "10μs", "3ns",
		"1h2m3s4ms5us6ns", "", "5", "0", "-1s", "5 s", "5sec", "PT5S", "s", ".s", "1.2.3s", "5S", "1h 2m", " 5s", "5s "} {
		_, err := ParseDuration(s)
		if got, want := dur.MatchString(s), err == nil; got != want {
			t.Errorf("duration %q: pattern matches %v, ParseDuration accepts %v", s, got, want)
		}
	}
	if _, err := ParseDuration("99999999999999h"); err == nil || !dur.MatchString("99999999999999h") {
		t.Errorf("a duration too long for Go: the pattern should accept it, only ParseDuration refuse it")
	}
	rate := regexp.MustCompile(RatePattern)
	for _, s := range []string{"4/s", "120/m", "2/h", "2.5/sec", "1/min", "1/hour", " 4 / s ", "0/s", "4/s\n",
		"", "4", "4/d", "4 per s", "-4/s", "4/S", ".5/s", "4./s", "1e3/s", "4/ s x"} {
		_, err := ParseRate(s)
		if got, want := rate.MatchString(s), err == nil; got != want {
			t.Errorf("rate %q: pattern matches %v, ParseRate accepts %v", s, got, want)
		}
	}
	doc, err := Assemble(nil)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Defs map[string]json.RawMessage `json:"$defs"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	var durDef struct {
		Pattern string `json:"pattern"`
		Format  string `json:"format"`
	}
	if err := json.Unmarshal(d.Defs["duration"], &durDef); err != nil || durDef.Pattern != DurationPattern || durDef.Format != "" {
		t.Errorf("$defs/duration = %s; want the pattern DurationPattern and no format", d.Defs["duration"])
	}
	if !containsJSON(d.Defs["rate"], RatePattern) {
		t.Errorf("$defs/rate = %s; want the pattern RatePattern", d.Defs["rate"])
	}
}

// containsJSON reports whether the JSON raw holds the string s.
func containsJSON(raw json.RawMessage, s string) bool {
	b, _ := json.Marshal(s)
	return regexp.MustCompile(regexp.QuoteMeta(string(b))).Match(raw)
}
