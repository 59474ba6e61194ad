package report

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/runplan/runplan/schema"
)

// leftoverFixture is the synthetic run after a crash and a failed undo: a
// dead run's changes found at the start, a setting and a pause it could
// not undo, and keys its cleanup left.
func leftoverFixture() *Report {
	r := buildFixture(fixtureOptions{})
	until := fixtureStart.Add(10 * time.Minute)
	left := int64(94)
	r.DeadRuns = []DeadRun{{RunID: "20260101T000000-dead", PID: 4242, Host: "ci-7", Started: fixtureStart.Add(-24 * time.Hour),
		State: "dead", Target: "cache", Server: "redis://10.0.0.5:6379/0",
		Changes: []string{"maxmemory=1048576 (was 0) on 10.0.0.5:6379", `keys under "runplan:20260101T000000-dead:"`},
		Journal: "/home/u/.local/state/runplan/journal/20260101T000000-dead.json"}}
	r.Leftovers = []Leftover{
		{Target: "cache", Server: "redis://10.0.0.5:6379/0", Kind: "setting", Node: "10.0.0.5:6379", Name: "maxmemory",
			Was: "0", Now: "1048576", Fault: "squeeze", What: "maxmemory=1048576 (was 0) on 10.0.0.5:6379",
			Error: "redis: fault squeeze: undo: 10.0.0.5:6379: restoring maxmemory 0: i/o timeout"},
		{Target: "cache", Server: "redis://10.0.0.5:6379/0", Kind: "pause", Node: "10.0.0.5:6379", Name: "ALL", Until: &until,
			Fault: "pause", What: "clients paused (all) on 10.0.0.5:6379 until 2026-01-02T03:14:05Z, when the pause ends by itself",
			Error: "redis: fault pause: CLIENT UNPAUSE: MONITOR refused"},
		{Target: "cache", Server: "redis://10.0.0.5:6379/0", Kind: "keys", Name: "runplan:20260102T030405-abcd:",
			KeysLeft: &left, What: `keys under "runplan:20260102T030405-abcd:"`,
			Error: `redis: target "cache": cleanup: scan: i/o timeout`},
	}
	r.Journal = "/home/u/.local/state/runplan/journal/20260102T030405-abcd.json"
	r.Targets[0].Cleanup = &Cleanup{What: `keys under "runplan:20260102T030405-abcd:"`, KeysRemoved: 1200, KeysLeft: &left,
		Error: `redis: target "cache": cleanup: scan: i/o timeout`}
	return r
}

// What a run could not undo, and what dead runs left, in every format —
// goldens of their own: the clean fixture's goldens do not change.
func TestLeftoverGoldens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		golden string
		render func(io.Writer) error
	}{
		{"console-leftovers.golden", func(w io.Writer) error { return WriteConsole(w, leftoverFixture(), ConsoleOptions{}) }},
		{"markdown-leftovers.golden.md", func(w io.Writer) error { return WriteMarkdown(w, leftoverFixture()) }},
		{"junit-leftovers.golden.xml", func(w io.Writer) error { return WriteJUnit(w, leftoverFixture()) }},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := tt.render(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden, b.Bytes())
		})
	}
}

// Every renderer names each leftover, its error and the command that
// restores it; the console stays within 80 columns except for the
// command and the journal's path, which are never cut.
func TestLeftoversInEveryFormat(t *testing.T) {
	t.Parallel()
	r := leftoverFixture()
	renders := map[string]func(io.Writer) error{
		"console":  func(w io.Writer) error { return WriteConsole(w, r, ConsoleOptions{}) },
		"markdown": func(w io.Writer) error { return WriteMarkdown(w, r) },
		"junit":    func(w io.Writer) error { return WriteJUnit(w, r) },
		"html":     func(w io.Writer) error { return WriteHTML(w, r) },
	}
	for name, render := range renders {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := render(&b); err != nil {
				t.Fatal(err)
			}
			flat := strings.Join(strings.Fields(b.String()), " ")
			for _, w := range []string{"maxmemory=1048576 (was 0)", "restoring maxmemory 0: i/o timeout", "94 keys left",
				"runplan cleanup redis://10.0.0.5:6379/0", "20260101T000000-dead", "MONITOR refused"} {
				if !strings.Contains(flat, w) {
					t.Errorf("%s lacks %q", name, w)
				}
			}
			if name != "console" {
				return
			}
			for i, line := range strings.Split(b.String(), "\n") {
				if n := utf8.RuneCountInString(line); n > 80 && !strings.Contains(line, "runplan cleanup") && !strings.Contains(line, "journal: ") {
					t.Errorf("line %d is %d columns wide:\n%s", i+1, n, line)
				}
			}
		})
	}
}

// The report with leftovers validates against the schema.
func TestLeftoversValidate(t *testing.T) {
	t.Parallel()
	_, err := schema.Report()
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateJSON(decodeJSON(t, marshal(t, leftoverFixture()))); err != nil {
		t.Errorf("does not validate against schema/report.schema.json:\n%v", err)
	}
}
