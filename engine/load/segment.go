package load

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Segment is execution segment Index of Count (0-based) of a plan's load:
// one of Count independent processes that together run exactly the load of
// a single process (docs/SCALE.md). The zero value, like Count 1, is the
// whole load.
//
// The load is dealt out, never cut in time: item j of the whole (hit j of
// the open model's schedule, closed-model VU j+1, shared iteration j) goes
// to segment j mod Count, so that a ramp stays a ramp in every segment and
// remainders are spread over the first segments (10 VUs in 3 segments:
// 4, 3, 3). Segment's methods are pure.
type Segment struct {
	Index, Count int
}

// Whole reports whether s is the whole load (no segmenting).
func (s Segment) Whole() bool { return s.Count <= 1 }

// String is "I/N", as --segment takes it.
func (s Segment) String() string { return fmt.Sprintf("%d/%d", s.Index, max(s.Count, 1)) }

// Check reports a segment that does not exist.
func (s Segment) Check() error {
	switch {
	case s.Count < 1:
		return fmt.Errorf("segment count %d: must be at least 1", s.Count)
	case s.Index < 0 || s.Index >= s.Count:
		return fmt.Errorf("segment index %d of %d: must be in 0..%d", s.Index, s.Count, s.Count-1)
	}
	return nil
}

// ParseSegment parses "I/N" (0-based I, 0 <= I < N).
func ParseSegment(v string) (Segment, error) {
	is, ns, ok := strings.Cut(v, "/")
	if !ok {
		return Segment{}, fmt.Errorf("segment %q: want I/N, e.g. 0/4 (0-based I < N)", v)
	}
	i, err := strconv.Atoi(strings.TrimSpace(is))
	if err != nil {
		return Segment{}, fmt.Errorf("segment %q: index %q is not a number", v, is)
	}
	n, err := strconv.Atoi(strings.TrimSpace(ns))
	if err != nil {
		return Segment{}, fmt.Errorf("segment %q: count %q is not a number", v, ns)
	}
	s := Segment{Index: i, Count: n}
	if err := s.Check(); err != nil {
		return Segment{}, fmt.Errorf("segment %q: %w", v, err)
	}
	return s, nil
}

// Share is how many of total items (numbered 0..total-1) are segment s's:
// those j with j mod Count == Index. The shares of all segments sum to
// total.
func (s Segment) Share(total int64) int64 {
	if s.Whole() || total <= 0 {
		return max(total, 0)
	}
	n, i := int64(s.Count), int64(s.Index)
	share := total / n
	if i < total%n {
		share++
	}
	return share
}

// ShareCeil is ceil(total/Count): a bound (an open model's VU pool) that
// is no load of its own, so every segment keeps its part rounded up.
func (s Segment) ShareCeil(total int) int {
	if s.Whole() {
		return total
	}
	return (total + s.Count - 1) / s.Count
}

// Global is the whole load's number of segment s's item local (both
// 0-based): local*Count + Index.
func (s Segment) Global(local int64) int64 {
	if s.Whole() {
		return local
	}
	return local*int64(s.Count) + int64(s.Index)
}

// GlobalVU is the whole load's number of segment s's VU vu (both 1-based).
func (s Segment) GlobalVU(vu int) int { return int(s.Global(int64(vu-1))) + 1 }

// SegmentPacer is segment Segment of Pacer's schedule: its hit k is the
// whole schedule's hit k*Count+Index, due when that one is.
type SegmentPacer struct {
	Pacer   Pacer
	Segment Segment
}

var _ Pacer = SegmentPacer{}

// Segmented returns p's part for segment s: p itself for the whole load.
func Segmented(p Pacer, s Segment) Pacer {
	if s.Whole() {
		return p
	}
	return SegmentPacer{Pacer: p, Segment: s}
}

// Due implements Pacer.
func (p SegmentPacer) Due(hits uint64) time.Duration {
	return p.Pacer.Due(uint64(p.Segment.Global(int64(hits))))
}

// Pace implements Pacer.
func (p SegmentPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	return pace(p.Due(hits), elapsed)
}
