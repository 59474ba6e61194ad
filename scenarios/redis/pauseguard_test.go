package redis

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/runplan/runplan/scenarios/redis/redistest"
)

// What a real redis-server does under CLIENT PAUSE ALL, which the
// client_pause fault relies on: an ordinary connection's CLIENT UNPAUSE —
// a fresh one, one opened before the pause, or the very connection that
// paused — waits for the pause to end, while the same command on a
// monitor connection opened before the pause is served at once and ends
// the pause for everyone.
func TestPauseAllHoldsUnpause(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	ctx := context.Background()
	client := func() *goredis.Client {
		return goredis.NewClient(&goredis.Options{Addr: srv.Addr(), MaxRetries: -1, PoolSize: 1, ContextTimeoutEnabled: true})
	}
	before := client()
	defer before.Close()
	if err := before.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	pauser := client()
	defer pauser.Close()
	g, err := openPauseGuard(ctx, pauser.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	if err := pauser.Do(ctx, "CLIENT", "PAUSE", "600000", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	fresh := client()
	defer fresh.Close()
	var wg sync.WaitGroup
	for name, c := range map[string]*goredis.Client{"a fresh connection": fresh, "a connection opened before": before, "the pausing connection": pauser} {
		wg.Go(func() {
			// Two seconds of ten minutes: served at once, it would answer.
			hctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			if err := c.Do(hctx, "CLIENT", "UNPAUSE").Err(); !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("CLIENT UNPAUSE from %s under PAUSE ALL: %v; want it held until the pause ends", name, err)
			}
		})
	}
	wg.Wait()
	if err := g.unpause(ctx); err != nil {
		t.Fatalf("CLIENT UNPAUSE on the monitor connection: %v", err)
	}
	probe := client()
	defer probe.Close()
	if err := probe.Ping(ctx).Err(); err != nil {
		t.Errorf("PING after the monitor's UNPAUSE: %v", err)
	}
}
