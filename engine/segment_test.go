package engine

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/runplan/runplan/engine/fault"
	"github.com/runplan/runplan/engine/load"
)

func TestLateStart(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		at      time.Time
		started time.Time
		late    bool
	}{
		{"no common start", time.Time{}, at.Add(time.Hour), false},
		{"on time", at, at, false},
		{"within the tolerance", at, at.Add(StartTolerance), false},
		{"past the tolerance", at, at.Add(StartTolerance + time.Millisecond), true},
		{"start-at long past", at, at.Add(10 * time.Minute), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := lateStart(tt.at, tt.started)
			if (got != "") != tt.late {
				t.Fatalf("lateStart = %q, want late %v", got, tt.late)
			}
			if tt.late && !strings.Contains(got, "common start 2026-12-02T05:00:00Z") {
				t.Fatalf("reason %q does not name the common start", got)
			}
		})
	}
}

// TestWaitStart: the clock starts at the common start, not before; a
// cancelled context ends the wait at once; a past start does not wait.
func TestWaitStart(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		at := time.Now().Add(90 * time.Second)
		if got := waitStart(context.Background(), at); !got.Equal(at) {
			t.Fatalf("started at %v, want %v", got, at)
		}
		past := time.Now().Add(-time.Minute)
		if got := waitStart(context.Background(), past); !got.Equal(time.Now()) {
			t.Fatalf("a past start waited until %v", got)
		}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Second, cancel)
		begin := time.Now()
		if got := waitStart(ctx, begin.Add(time.Hour)); got.Sub(begin) != time.Second {
			t.Fatalf("a cancelled wait ended after %v, want 1s", got.Sub(begin))
		}
	})
}

func TestCheckRunID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id string
		ok bool
	}{
		{"nightly-42", true},
		{"20261202T050000-ab12cd34", true},
		{"a.b_c-d", true},
		{"", false},
		{"-lead", false},
		{"has space", false},
		{"colon:breaks:namespace", false},
		{"star*", false},
		{strings.Repeat("x", MaxRunIDLen), true},
		{strings.Repeat("x", MaxRunIDLen+1), false},
	}
	for _, tt := range tests {
		if err := CheckRunID(tt.id); (err == nil) != tt.ok {
			t.Errorf("CheckRunID(%q) = %v, want ok %v", tt.id, err, tt.ok)
		}
	}
	if err := CheckRunID(newRunID()); err != nil {
		t.Errorf("a generated run id fails its own check: %v", err)
	}
}

// TestFaultOwnership: a driver fault on a shared target (one with a URL)
// is applied by segment 0 alone; a network fault by every segment, in its
// own proxy, and a driver fault on a target each segment starts for
// itself (no URL) by every segment too.
func TestFaultOwnership(t *testing.T) {
	t.Parallel()
	driverFault := &fault.Planned{Name: "pause", Kind: "client_pause"}
	netFault := &fault.Planned{Name: "slow", Kind: "latency", Network: &fault.Network{}}
	tests := []struct {
		name    string
		f       *fault.Planned
		seg     load.Segment
		shared  bool
		applies bool
	}{
		{"whole plan, driver fault", driverFault, load.Segment{}, true, true},
		{"segment 0, driver fault", driverFault, load.Segment{Index: 0, Count: 3}, true, true},
		{"segment 2, driver fault", driverFault, load.Segment{Index: 2, Count: 3}, true, false},
		{"segment 2, driver fault, own target", driverFault, load.Segment{Index: 2, Count: 3}, false, true},
		{"segment 0, network fault", netFault, load.Segment{Index: 0, Count: 3}, true, true},
		{"segment 2, network fault", netFault, load.Segment{Index: 2, Count: 3}, true, true},
	}
	for _, tt := range tests {
		got := faultElsewhere(tt.f, tt.seg, tt.shared)
		if (got == "") != tt.applies {
			t.Errorf("%s: elsewhere %q, want applied here %v", tt.name, got, tt.applies)
		}
		if !tt.applies && !strings.Contains(got, "segment 0 of 3") {
			t.Errorf("%s: reason %q does not name segment 0", tt.name, got)
		}
	}
}
