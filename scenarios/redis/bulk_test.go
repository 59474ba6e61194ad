package redis

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/runplan/runplan/scenarios/redis/redistest"
)

// A prefill is not bound by the timeouts meant for the run's operations:
// writes held up far longer than the target's 50 ms timeout (here by a
// CLIENT PAUSE, as a busy machine would) still load every key, and a
// prefill that takes a while says how far it got.
func TestPrefillOutlastsTheTargetTimeout(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	var mu sync.Mutex
	var logs []string
	tg := openTarget(t, srv.URL(), "timeout: 50ms\nprefill: {key: \"p:{{ iteration }}\", count: 1000, batch: 100}\n")
	tg.log = func(s string) {
		mu.Lock()
		defer mu.Unlock()
		logs = append(logs, s)
	}
	tg.progressEvery = 100 * time.Millisecond
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), DisableIdentity: true})
	defer admin.Close()
	ctx := context.Background()
	const pause = 1500 * time.Millisecond
	if err := admin.Do(ctx, "CLIENT", "PAUSE", pause.Milliseconds(), "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	if err := tg.Prefill(ctx); err != nil {
		t.Fatalf("Prefill: %v", err)
	}
	if time.Since(paused) < pause/2 {
		// Not a failure of the prefill, but then the pause did not test it.
		t.Fatalf("the prefill ended %v after the pause began: it was not held up", time.Since(paused))
	}
	// Counted on the admin client: the target's own 50 ms timeout is
	// meant to be too short for a busy machine.
	var n int
	iter := admin.Scan(ctx, 0, globEscape(tg.prefix+"p:")+"*", 1000).Iterator()
	for iter.Next(ctx) {
		n++
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 1000 {
		t.Errorf("%d keys loaded, want 1000", n)
	}
	mu.Lock()
	defer mu.Unlock()
	all := strings.Join(logs, "\n")
	if !strings.Contains(all, `prefill "p:{{ iteration }}": 0 of 1000 keys after`) || !strings.Contains(all, "prefilled 1000 keys") {
		t.Errorf("no progress logged while held up:\n%s", all)
	}
}

// Opening a target checks that it answers, and the sampling reads its own
// figures, on the observer client: a server slower than the target's
// timeout (paused here, as a busy machine would hold it up) is still up,
// and its figures are still read.
func TestObserverOutlastsTheTargetTimeout(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), DisableIdentity: true})
	defer admin.Close()
	ctx := context.Background()
	pause := func() time.Time {
		t.Helper()
		if err := admin.Do(ctx, "CLIENT", "PAUSE", "1500", "ALL").Err(); err != nil {
			t.Fatal(err)
		}
		return time.Now()
	}
	paused := pause()
	tg := openTarget(t, srv.URL(), "timeout: 50ms\n")
	if time.Since(paused) < 500*time.Millisecond {
		t.Fatalf("opened %v after the pause began: it was not held up", time.Since(paused))
	}
	paused = pause()
	stats, err := tg.ServerStats(ctx)
	if err != nil {
		t.Fatalf("ServerStats: %v", err)
	}
	if time.Since(paused) < 500*time.Millisecond {
		t.Fatalf("sampled %v after the pause began: it was not held up", time.Since(paused))
	}
	if _, ok := stats["connected_clients"]; !ok {
		t.Errorf("no connected_clients in %v", stats)
	}
}
