package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/load"
)

func TestScaleFlags(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		flags   scaleFlags
		env     map[string]string
		want    engine.Options
		wantErr string
	}{
		{name: "none", want: engine.Options{}},
		{name: "segment", flags: scaleFlags{segment: "1/3", runID: "r1"}, want: engine.Options{Segment: load.Segment{Index: 1, Count: 3}, RunID: "r1"}},
		{name: "one of one is the whole", flags: scaleFlags{segment: "0/1"}, want: engine.Options{}},
		{name: "index out of range", flags: scaleFlags{segment: "3/3", runID: "r1"}, wantErr: "--segment: segment \"3/3\": segment index 3 of 3: must be in 0..2"},
		{name: "negative index", flags: scaleFlags{segment: "-1/3", runID: "r1"}, wantErr: "must be in 0..2"},
		{name: "no count", flags: scaleFlags{segment: "2", runID: "r1"}, wantErr: "want I/N"},
		{name: "zero count", flags: scaleFlags{segment: "0/0", runID: "r1"}, wantErr: "must be at least 1"},
		{name: "both", flags: scaleFlags{segment: "0/2", segments: 2, runID: "r1"}, wantErr: "give one of them"},
		{name: "segments from the job index", flags: scaleFlags{segments: 4, runID: "r1"}, env: map[string]string{"JOB_COMPLETION_INDEX": "3"},
			want: engine.Options{Segment: load.Segment{Index: 3, Count: 4}, RunID: "r1"}},
		{name: "segments without the job index", flags: scaleFlags{segments: 4, runID: "r1"}, wantErr: "$JOB_COMPLETION_INDEX is not set"},
		{name: "job index too large", flags: scaleFlags{segments: 4, runID: "r1"}, env: map[string]string{"JOB_COMPLETION_INDEX": "4"}, wantErr: "must be in 0..3"},
		{name: "job index not a number", flags: scaleFlags{segments: 4, runID: "r1"}, env: map[string]string{"JOB_COMPLETION_INDEX": "x"}, wantErr: `$JOB_COMPLETION_INDEX="x" is not a number`},
		{name: "negative segments", flags: scaleFlags{segments: -2, runID: "r1"}, wantErr: "must be at least 1"},
		{name: "segments need a run id", flags: scaleFlags{segment: "0/2"}, wantErr: "give the --run-id"},
		{name: "bad run id", flags: scaleFlags{runID: "a:b"}, wantErr: "--run-id: run id \"a:b\""},
		{name: "start-at", flags: scaleFlags{startAt: "2026-12-02T05:00:00Z"}, want: engine.Options{StartAt: at}},
		{name: "bad start-at", flags: scaleFlags{startAt: "5:00"}, wantErr: "want an RFC 3339 time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var opts engine.Options
			err := tt.flags.apply(&opts, func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if opts.Segment != tt.want.Segment || opts.RunID != tt.want.RunID || !opts.StartAt.Equal(tt.want.StartAt) {
				t.Fatalf("options segment %v run id %q start %v; want %v %q %v", opts.Segment, opts.RunID, opts.StartAt,
					tt.want.Segment, tt.want.RunID, tt.want.StartAt)
			}
		})
	}
}

// TestRunBadSegmentIsUsage: a bad --segment is a usage error, said before
// anything runs.
func TestRunBadSegmentIsUsage(t *testing.T) {
	t.Parallel()
	code, _, stderr := runMain(t, "run", quickPlan, "--segment", "2/2", "--run-id", "r1")
	if code != ExitUsage || !strings.Contains(stderr, "runplan run: --segment") {
		t.Fatalf("exit %d, want %d with the --segment problem\n%s", code, ExitUsage, stderr)
	}
}
