package diag

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestSuggest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		known []string
		want  string
	}{
		{"durration", []string{"duration", "vus", "iterations", "rate", "max_vus"}, "duration"},
		{"vu", []string{"duration", "vus", "iterations", "rate", "max_vus"}, "vus"},
		{"iteration", []string{"duration", "vus", "iterations", "rate", "max_vus"}, "iterations"},
		{"ratee", []string{"duration", "vus", "iterations", "rate", "max_vus"}, "rate"},
		{"maxvus", []string{"duration", "vus", "iterations", "rate", "max_vus"}, "max_vus"},
		{"xyz", []string{"duration", "vus", "iterations", "rate", "max_vus"}, ""},
		{"laod", []string{"load", "name"}, "load"}, // a transposition is one edit
		{"KEY", []string{"key", "on_miss"}, "key"}, // case is ignored
		{"ky", []string{"key", "on_miss"}, "key"},  // ...
		{"on_mis", []string{"key", "on_miss"}, "on_miss"},
		{"onmiss", []string{"key", "on_miss"}, "on_miss"},
		{"kxz", []string{"key", "on_miss"}, ""},       // two edits are too many for a short word
		{"something", []string{"key", "on_miss"}, ""}, // ...
		{"ab", []string{"ax", "ay"}, "ax"},            // the first of equals
	}
	for _, tc := range tests {
		if got := Suggest(tc.in, tc.known); got != tc.want {
			t.Errorf("Suggest(%q, %q) = %q, want %q", tc.in, tc.known, got, tc.want)
		}
	}
}

func TestDistance(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want int
	}{{"kitten", "sitting", 3}, {"", "abc", 3}, {"laod", "load", 1}, {"ca", "abc", 3}, {"héllo", "hello", 1}, {"same", "same", 0}} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestFromError(t *testing.T) {
	t.Parallel()
	at := Pos{Line: 7, Col: 3}
	located := ErrorAt(Pos{Line: 2, Col: 5}, errors.New("redis: unknown key"))
	err := errors.Join(
		located,
		errors.New("webhook: no position"),
		fmt.Errorf("wrapped: %w", Errorf(nil, "still no position")),
	)
	got := FromError("p.yaml", at, err)
	want := Diagnostics{
		{File: "p.yaml", Line: 2, Col: 5, Msg: "redis: unknown key"},
		{File: "p.yaml", Line: 7, Col: 3, Msg: "webhook: no position"},
		{File: "p.yaml", Line: 7, Col: 3, Msg: "wrapped: still no position"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("FromError = %v, want %v", got, want)
	}
	if got := FromError("p.yaml", Pos{}, errors.New("x")); got[0].Line != 1 || got[0].Col != 1 {
		t.Errorf("an unplaced error at no position is at %d:%d, want 1:1", got[0].Line, got[0].Col)
	}
	if got := located.Error(); got != "2:5: redis: unknown key" {
		t.Errorf("Error() = %q", got)
	}
	if FromError("p.yaml", at, nil) != nil {
		t.Error("FromError(nil) is not empty")
	}
}

func TestDiagnosticsError(t *testing.T) {
	t.Parallel()
	ds := Diagnostics{
		{File: "p.yaml", Line: 3, Col: 1, Msg: "b"},
		{File: "p.yaml", Line: 1, Col: 2, Msg: "a", Warning: true},
		{File: "p.yaml", Line: 3, Col: 1, Msg: "b"},
		{File: "--set", Msg: "c"},
	}
	want := "--set: c\np.yaml:1:2: warning: a\np.yaml:3:1: b"
	if got := ds.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	if n := len(ds.Errors()); n != 3 {
		t.Errorf("%d errors, want 3", n)
	}
}

// A node recorded as read from a fragment is placed in that file by every
// way a position becomes a diagnostic: PosOf, Errorf, ErrorAt, New, At and
// FromError; a node of the plan's own file stays in the plan's.
func TestFragmentFile(t *testing.T) {
	t.Parallel()
	frag := &yaml.Node{Kind: yaml.ScalarNode, Value: "-1s", Line: 4, Column: 14}
	own := &yaml.Node{Kind: yaml.ScalarNode, Value: "x", Line: 2, Column: 3}
	SetFile(frag, "shared/targets.yaml")
	if got := FileOf(frag); got != "shared/targets.yaml" {
		t.Errorf("FileOf(fragment node) = %q", got)
	}
	if got := FileOf(own); got != "" {
		t.Errorf("FileOf(plan node) = %q, want empty", got)
	}
	if got := PosOf(frag); got != (Pos{File: "shared/targets.yaml", Line: 4, Col: 14}) {
		t.Errorf("PosOf = %+v", got)
	}
	err := errors.Join(Errorf(frag, "redis: bad timeout"), Errorf(own, "redis: bad x"),
		ErrorAt(Pos{File: FileOf(frag), Line: 4, Col: 16}, errors.New("template")), errors.New("unplaced"))
	got := FromError("plan.yaml", PosOf(frag), err).Error()
	want := "plan.yaml:2:3: redis: bad x\n" +
		"shared/targets.yaml:4:14: redis: bad timeout\n" +
		"shared/targets.yaml:4:14: unplaced\n" +
		"shared/targets.yaml:4:16: template"
	if got != want {
		t.Errorf("FromError =\n%s\nwant\n%s", got, want)
	}
	if got := At("plan.yaml", frag, 5, 7, "m").String(); got != "shared/targets.yaml:5:7: m" {
		t.Errorf("At = %s", got)
	}
	if got := At("plan.yaml", own, 5, 7, "m").String(); got != "plan.yaml:5:7: m" {
		t.Errorf("At = %s", got)
	}
	if got := Errorf(frag, "m").Error(); got != "shared/targets.yaml:4:14: m" {
		t.Errorf("Error() = %q", got)
	}
}

func nodeFileEntries() int {
	n := 0
	nodeFiles.Range(func(any, any) bool { n++; return true })
	return n
}

// The record of fragment nodes does not keep them alive: an entry goes
// when its node does (a long-lived process loads many plans).
func TestNodeFilesDoNotLeak(t *testing.T) {
	// Not parallel: it counts a package-wide map.
	before := nodeFileEntries()
	for range 1000 {
		SetFile(&yaml.Node{Kind: yaml.ScalarNode, Value: "x"}, "shared/f.yaml")
	}
	if got := nodeFileEntries(); got < before+1000 {
		t.Fatalf("%d entries after recording 1000 nodes (%d before)", got, before)
	}
	// Cleanups run on their own goroutine after a collection: wait for
	// them on progress, with a hang guard, not on a fixed time.
	deadline := time.Now().Add(30 * time.Second)
	for nodeFileEntries() > before+10 {
		if time.Now().After(deadline) {
			t.Fatalf("%d entries still recorded after their nodes were dropped (%d before)", nodeFileEntries(), before)
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}
