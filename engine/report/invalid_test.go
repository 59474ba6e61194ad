package report

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// TestInvalidVerdictEverywhere: an invalid measurement has the verdict
// invalid in every output, and its score is shown marked untrusted, never
// under a "ready" headline (issue 11).
func TestInvalidVerdictEverywhere(t *testing.T) {
	t.Parallel()
	r := buildFixture(fixtureOptions{invalid: true})
	valid := buildFixture(fixtureOptions{})
	checkRenders(t, []renderCase{
		{"console", func(w io.Writer) error { return WriteConsole(w, r, ConsoleOptions{}) },
			[]string{"SCORE 50.9/100 (untrusted)   VERDICT invalid"}, []string{"measurement valid", "not_ready"}},
		{"markdown", func(w io.Writer) error { return WriteMarkdown(w, r) },
			[]string{"### 🚫 runplan · phase1-fixture: invalid measurement, 50.9/100 (untrusted)", "> [!CAUTION]"},
			[]string{"❌", "not ready"}},
		{"html", func(w io.Writer) error { return WriteHTML(w, r) },
			[]string{`<header class="head v-invalid">`, `<span class="badge v-invalid">invalid</span>`, "score untrusted: the measurement is invalid"},
			[]string{`<span class="badge v-not_ready">`}},
		{"junit", func(w io.Writer) error { return WriteJUnit(w, r) },
			[]string{`<property name="verdict" value="invalid">`, "verdict invalid, score 50.9/100 (untrusted)"}, nil},
		{"json", func(w io.Writer) error { return WriteJSON(w, r) },
			[]string{`"verdict": "invalid"`, `"valid": false`}, nil},
		{"trend markdown", func(w io.Writer) error { return WriteTrendMarkdown(w, NewTrend([]*Report{valid, r})) },
			[]string{"🚫 invalid |", "verdict not ready → invalid"}, []string{"invalid (invalid)"}},
		{"compare", func(w io.Writer) error {
			return WriteCompareConsole(w, Compare(valid, r, DefaultTolerances()), CompareOptions{})
		}, []string{"invalid 50.9/100 (untrusted)"}, nil},
		{"compare markdown", func(w io.Writer) error { return WriteCompareMarkdown(w, Compare(valid, r, DefaultTolerances())) },
			[]string{"| invalid | 50.9/100 (untrusted) |"}, nil},
	})
	var doc map[string]any
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["score"] != 50.9 {
		t.Errorf("score %v: an invalid run still gives its score", doc["score"])
	}
}

// TestClosedModelValidityNotJudged: a run with only closed-model scenarios
// says its validity was not judged, not that the measurement was valid
// (issue 11); a run with an open-model scenario says valid or INVALID.
func TestClosedModelValidityNotJudged(t *testing.T) {
	t.Parallel()
	closed := buildFixture(fixtureOptions{})
	closed.Generator.Lag, closed.Generator.Scheduled, closed.Generator.Late, closed.Generator.Dropped = nil, 0, 0, 0
	open := buildFixture(fixtureOptions{})
	invalid := buildFixture(fixtureOptions{invalid: true})
	tests := []struct {
		name   string
		r      *Report
		render func(io.Writer, *Report) error
		want   string
		deny   string
	}{
		{"console, closed", closed, func(w io.Writer, r *Report) error { return WriteConsole(w, r, ConsoleOptions{}) },
			"generator: cpu 31% — validity not judged (closed model)", "measurement valid"},
		{"markdown, closed", closed, WriteMarkdown, "generator CPU 31% · validity not judged (closed model)", "measurement valid"},
		{"html, closed", closed, WriteHTML, "<dd>validity not judged (closed model)</dd>", "valid: the generator held"},
		{"console, open", open, func(w io.Writer, r *Report) error { return WriteConsole(w, r, ConsoleOptions{}) },
			"late 0 of 402 — measurement valid", "not judged"},
		{"markdown, open", open, WriteMarkdown, "scheduling lag p99 930µs · measurement valid", "not judged"},
		{"console, invalid", invalid, func(w io.Writer, r *Report) error { return WriteConsole(w, r, ConsoleOptions{}) },
			"late 0 of 402 — measurement INVALID", "measurement valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := tt.render(&b, tt.r); err != nil {
				t.Fatal(err)
			}
			// Lines are wrapped at 80 columns: compare the words.
			out := strings.Join(strings.Fields(b.String()), " ")
			if !strings.Contains(out, tt.want) || strings.Contains(out, tt.deny) {
				t.Errorf("want %q and no %q in:\n%s", tt.want, tt.deny, b.String())
			}
		})
	}
}
