package report

import (
	"io"
	"testing"
	"time"
)

// TestSegmentInReports: a segment's report says which segment of which
// run it holds, in the JSON (the fields merge reads) and in the summaries;
// a whole run's says nothing about segments.
func TestSegmentInReports(t *testing.T) {
	t.Parallel()
	r := buildFixture(fixtureOptions{})
	at := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	r.Segment, r.StartAt = &Segment{Index: 1, Count: 3}, &at
	whole := buildFixture(fixtureOptions{})
	checkRenders(t, []renderCase{
		{"json", func(w io.Writer) error { return WriteJSON(w, r) },
			[]string{`"segment": {`, `"index": 1,`, `"count": 3`, `"start_at": "2026-12-02T05:00:00Z"`, `"run_id": "`}, nil},
		{"console", func(w io.Writer) error { return WriteConsole(w, r, ConsoleOptions{}) }, []string{" · segment 1/3"}, nil},
		{"markdown", func(w io.Writer) error { return WriteMarkdown(w, r) }, []string{"segment 1/3"}, nil},
		{"whole json", func(w io.Writer) error { return WriteJSON(w, whole) }, nil, []string{`"segment"`, `"start_at"`}},
	})
}
