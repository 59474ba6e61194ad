package plan

import (
	"runtime"
	"testing"
	"time"
)

// blockIndentEntries counts the recorded block-scalar columns.
func blockIndentEntries() int {
	n := 0
	blockIndents.Range(func(any, any) bool { n++; return true })
	return n
}

// Loading plans must not keep their nodes alive: the columns recorded for
// block scalars go when the plan does (a long-lived process, a fuzzer or a
// test binary loads thousands of plans).
func TestBlockIndentsDoNotLeak(t *testing.T) {
	// Not parallel: it counts a package-wide map.
	src := []byte("version: 1\nname: leak\ndescription: |\n  a block\n  scalar\ntargets: {c: {driver: redis}}\n" +
		"scenarios:\n  s:\n    load: {vus: 1, iterations: 1}\n    steps:\n      - redis: [GET, k]\n")
	before := blockIndentEntries()
	for range 200 {
		_, _ = ParseAll("leak.yaml", src, Options{StepKinds: testKinds, Schema: testSchema, Env: func(string) (string, bool) { return "", false }})
	}
	if got := blockIndentEntries(); got <= before {
		t.Fatalf("no block scalar recorded (%d entries before, %d after): the test no longer exercises the map", before, got)
	}
	// Cleanups run on their own goroutine after a collection: wait for
	// them on progress, with a hang guard, not on a fixed time.
	deadline := time.Now().Add(30 * time.Second)
	for blockIndentEntries() > before+10 {
		if time.Now().After(deadline) {
			t.Fatalf("%d block-scalar entries still recorded after the plans were dropped (%d before)", blockIndentEntries(), before)
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}
