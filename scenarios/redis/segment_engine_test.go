package redis_test

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/load"
	"github.com/runplan/runplan/engine/plan"
	"github.com/runplan/runplan/engine/report"
	"github.com/runplan/runplan/scenarios/redis/redistest"
)

// TestTwoSegmentsMakeThePlan runs a plan as two segments of one run,
// concurrently against one redis-server, from a common start: their due
// iterations sum to the plan's, the closed model's iterations are dealt
// out (segment 1 runs the odd ones, on the whole plan's VU 2), and both
// write under the run's one key namespace.
func TestTwoSegmentsMakeThePlan(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), DisableIdentity: true})
	defer c.Close()
	ctx := context.Background()
	const runID = "seg-test.1"
	src := fmt.Sprintf(`version: 1
name: segments
targets:
  cache: {driver: redis, url: "%s", keep: true}
scenarios:
  closed:
    load: {vus: 3, iterations: 10}
    steps: [{name: set, redis: [SET, "c:{{ iteration }}", "{{ vu }}"]}]
  open:
    load: {rate: 100/s, duration: 500ms, max_vus: 4}
    steps: [{name: set, redis: [SET, "o:{{ iteration }}", x]}]
`, srv.URL())
	p, err := plan.Parse("segments.yaml", []byte(src), plan.Options{StepKinds: driver.Drivers(), Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	// Ready: the server answers and the plan is parsed (Prepare does no
	// I/O). The common start is a little ahead; the test asserts nothing
	// that depends on meeting it (validity).
	startAt := time.Now().Add(300 * time.Millisecond).Truncate(time.Millisecond)
	var progs []*engine.Program
	for i := range 2 {
		prog, err := engine.Prepare(p, engine.Options{RunID: runID, Segment: load.Segment{Index: i, Count: 2}, StartAt: startAt})
		if err != nil {
			t.Fatal(err)
		}
		progs = append(progs, prog)
	}
	reps := make([]*report.Report, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range progs {
		wg.Go(func() { reps[i], errs[i] = progs[i].Run(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
	}
	var closedIters, openDue int64
	for i, rep := range reps {
		if rep == nil {
			t.Fatalf("segment %d: no report", i)
		}
		if rep.Segment == nil || *rep.Segment != (report.Segment{Index: i, Count: 2}) {
			t.Errorf("segment %d: report segment %+v", i, rep.Segment)
		}
		// Each segment read the shared server's clock; on one host the
		// server's clock is the process's, so the offset lies within the
		// reading's uncertainty (half its round trip), whatever the speed.
		if c := rep.Clock; c == nil || c.Target != "cache" || math.Abs(c.OffsetMS) > c.UncertaintyMS+0.002 {
			t.Errorf("segment %d: clock %+v, want target cache, |offset| within the uncertainty", i, c)
		}
		if rep.RunID != runID || rep.StartAt == nil || !rep.StartAt.Equal(startAt) {
			t.Errorf("segment %d: run id %q, start_at %v; want %q, %v", i, rep.RunID, rep.StartAt, runID, startAt)
		}
		for _, sc := range rep.Scenarios {
			switch sc.Name {
			case "closed":
				closedIters += sc.Steps[0].Count
				if sc.MaxVUs != []int{2, 1}[i] {
					t.Errorf("segment %d: %d closed VUs, want %d", i, sc.MaxVUs, []int{2, 1}[i])
				}
			case "open":
				openDue += sc.Scheduled
			}
		}
	}
	if closedIters != 10 || openDue != 50 {
		t.Errorf("the segments ran %d closed iterations and made %d open hits due; the plan: 10 and 50", closedIters, openDue)
	}
	merged, err := report.Merge(reps)
	if err != nil {
		t.Fatal(err)
	}
	if sk := merged.ClockSkew; sk == nil || sk.SkewMS > sk.UncertaintyMS+0.004 {
		t.Errorf("merged clock skew %+v, want one within its uncertainty (one host, one clock)", sk)
	}
	prefix := "runplan:" + runID + ":"
	for n := range 10 {
		v, err := c.Get(ctx, prefix+"c:"+strconv.Itoa(n)).Result()
		if err != nil {
			t.Fatalf("iteration %d's key: %v (keys: %v)", n, err, c.Keys(ctx, "*").Val())
		}
		// Segment n%2 ran it: segment 1 holds the whole plan's VU 2,
		// segment 0 VUs 1 and 3.
		if want := map[int]string{0: "1 3", 1: "2"}[n%2]; !strings.Contains(want, v) {
			t.Errorf("iteration %d ran on VU %s, want one of %s", n, v, want)
		}
	}
	for _, k := range c.Keys(ctx, "*").Val() {
		if !strings.HasPrefix(k, prefix) {
			t.Errorf("key %q outside the run's namespace %s", k, prefix)
		}
	}
}

// TestSegmentsCleanUpLast runs the two segments of a run one after the
// other against one redis-server: the first to end leaves the run's keys
// to the other (its cleanup is deferred, its keys stay, nothing is left
// in its journal), the last cleans the whole namespace, and the merged
// report holds that cleanup with every key removed.
func TestSegmentsCleanUpLast(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), DisableIdentity: true})
	defer c.Close()
	ctx := context.Background()
	const runID = "seg-clean.1"
	prefix := "runplan:" + runID + ":"
	src := fmt.Sprintf(`version: 1
name: segments-clean
targets:
  cache: {driver: redis, url: "%s"}
scenarios:
  closed:
    load: {vus: 2, iterations: 4}
    steps: [{name: set, redis: [SET, "c:{{ iteration }}", "{{ vu }}"]}]
`, srv.URL())
	p, err := plan.Parse("segments-clean.yaml", []byte(src), plan.Options{StepKinds: driver.Drivers(), Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	run := func(i int) *report.Report {
		t.Helper()
		prog, err := engine.Prepare(p, engine.Options{RunID: runID, Segment: load.Segment{Index: i, Count: 2}, JournalDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := prog.Run(ctx)
		if err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
		return rep
	}
	cleanupOf := func(rep *report.Report) *report.Cleanup {
		t.Helper()
		if len(rep.Targets) != 1 || rep.Targets[0].Cleanup == nil {
			t.Fatalf("targets %+v: want one with a cleanup", rep.Targets)
		}
		return rep.Targets[0].Cleanup
	}

	first := run(1)
	c1 := cleanupOf(first)
	if !c1.Deferred || c1.KeysLeft != nil || c1.KeysRemoved != 0 || !strings.Contains(c1.What, "1 of 2 ended") {
		t.Errorf("first segment's cleanup %+v: want deferred, 1 of 2 ended, nothing removed", c1)
	}
	if len(first.Leftovers) != 0 {
		t.Errorf("first segment's leftovers %+v: a deferred cleanup is no leftover", first.Leftovers)
	}
	for _, k := range []string{"c:1", "c:3"} {
		if n := c.Exists(ctx, prefix+k).Val(); n != 1 {
			t.Errorf("key %s gone after the first segment ended; the other still runs", k)
		}
	}

	last := run(0)
	c0 := cleanupOf(last)
	if c0.Deferred || c0.KeysLeft == nil || *c0.KeysLeft != 0 || c0.KeysRemoved != 5 {
		t.Errorf("last segment's cleanup %+v: want done, 0 left, 5 removed (4 keys and the set of ended segments)", c0)
	}
	if keys := c.Keys(ctx, prefix+"*").Val(); len(keys) != 0 {
		t.Errorf("keys left under the run's namespace: %v", keys)
	}

	merged, err := report.Merge([]*report.Report{first, last})
	if err != nil {
		t.Fatal(err)
	}
	mc := cleanupOf(merged)
	if mc.Deferred || mc.KeysLeft == nil || *mc.KeysLeft != 0 || mc.KeysRemoved != 5 {
		t.Errorf("merged cleanup %+v: want the last segment's, 5 removed", mc)
	}
	for _, n := range merged.Notices {
		if strings.Contains(n, "no segment") {
			t.Errorf("merged notice %q, though the last segment cleaned", n)
		}
	}
}
