package redis_test

import (
	"context"
	"fmt"
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
