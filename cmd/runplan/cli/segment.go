package cli

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/load"
)

// jobIndexEnv is the variable Kubernetes Indexed Jobs set to the pod's
// completion index: --segments N reads the segment's index from it.
const jobIndexEnv = "JOB_COMPLETION_INDEX"

// scaleFlags are run's flags for one segment of a run spread over several
// processes (docs/SCALE.md).
type scaleFlags struct {
	segment  string
	segments int
	runID    string
	startAt  string
}

func (f *scaleFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.segment, "segment", "", "run only execution segment I/N of the plan (0-based I < N; docs/SCALE.md)")
	fs.IntVar(&f.segments, "segments", 0, "run one of N segments, its index I read from $"+jobIndexEnv+" (as Kubernetes Indexed Jobs set it)")
	fs.StringVar(&f.runID, "run-id", "", "the run's id (letters, digits, . _ -): its key namespace runplan:<run-id>: and journal; shared by all segments of a run")
	fs.StringVar(&f.startAt, "start-at", "", "start the clock at this RFC 3339 instant (segments of one run share it; later than "+engine.StartTolerance.String()+" after it: invalid)")
}

// apply sets opts from the flags; getenv reads the environment. The error
// says what is wrong, for a usage error.
func (f *scaleFlags) apply(opts *engine.Options, getenv func(string) string) error {
	var seg load.Segment
	switch {
	case f.segment != "" && f.segments != 0:
		return errors.New("--segment and --segments: give one of them")
	case f.segment != "":
		s, err := load.ParseSegment(f.segment)
		if err != nil {
			return fmt.Errorf("--segment: %w", err)
		}
		seg = s
	case f.segments != 0:
		if f.segments < 1 {
			return fmt.Errorf("--segments %d: must be at least 1", f.segments)
		}
		v := getenv(jobIndexEnv)
		if v == "" {
			return fmt.Errorf("--segments %d: $%s is not set (give --segment I/N outside an Indexed Job)", f.segments, jobIndexEnv)
		}
		i, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("--segments %d: $%s=%q is not a number", f.segments, jobIndexEnv, v)
		}
		seg = load.Segment{Index: i, Count: f.segments}
		if err := seg.Check(); err != nil {
			return fmt.Errorf("--segments %d with $%s=%d: %w", f.segments, jobIndexEnv, i, err)
		}
	}
	if f.runID != "" {
		if err := engine.CheckRunID(f.runID); err != nil {
			return fmt.Errorf("--run-id: %w", err)
		}
	} else if !seg.Whole() {
		return fmt.Errorf("segment %s: give the --run-id all segments of the run share (their key namespace and journal)", seg)
	}
	if f.startAt != "" {
		at, err := time.Parse(time.RFC3339Nano, f.startAt)
		if err != nil {
			return fmt.Errorf("--start-at %q: want an RFC 3339 time, e.g. 2026-12-02T05:00:00Z", f.startAt)
		}
		opts.StartAt = at
	}
	if !seg.Whole() {
		opts.Segment = seg
	}
	opts.RunID = f.runID
	return nil
}
