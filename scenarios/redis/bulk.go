package redis

import (
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// A prefill, like the sampling of the server's own figures and the check
// that a target answers when it is opened, is setup or observation, not
// measurement: the target's timeouts (`timeout:`,
// `read_timeout:` ...) are set for the run's operations — often a few
// hundred milliseconds, so that a slow call fails fast — while one prefill
// round trip carries a whole batch (500 SETs by default), and all of them
// may share a busy machine with the server, its replicas and the load
// generator. They therefore run on clients of their own, built from the
// target's options with these timeouts as a floor (bounded, where the
// caller says so, by its context), which also keeps them out of the pool
// whose latencies are measured.
const (
	// bulkTimeout bounds each read, write and pool wait of a prefill.
	bulkTimeout = 30 * time.Second
	// bulkDialTimeout bounds each dial (for Sentinel, each query of a
	// sentinel) of a prefill.
	bulkDialTimeout = 10 * time.Second
	// progressEvery is how often a long prefill logs how far it got.
	progressEvery = 5 * time.Second
)

// atLeast raises a go-redis timeout to floor. Negative values (no
// deadline at all) are kept; 0 (go-redis's default) is raised.
func atLeast(d *time.Duration, floor time.Duration) {
	if *d >= 0 && *d < floor {
		*d = floor
	}
}

// bulkTimeouts raises a client's timeouts to the bulk floors.
func bulkTimeouts(dial, read, write, pool *time.Duration) {
	atLeast(dial, bulkDialTimeout)
	atLeast(read, bulkTimeout)
	atLeast(write, bulkTimeout)
	atLeast(pool, bulkTimeout)
}

// newSingle makes the client of a single server from o, and remembers how
// to make its bulk twin.
func (t *Target) newSingle(o *goredis.Options) *goredis.Client {
	b := *o
	t.bulk = func() goredis.UniversalClient {
		b := b
		bulkTimeouts(&b.DialTimeout, &b.ReadTimeout, &b.WriteTimeout, &b.PoolTimeout)
		return goredis.NewClient(&b)
	}
	return goredis.NewClient(o)
}

// newFailover makes the client of a Sentinel target from o, and remembers
// how to make its bulk twin (whose sentinel queries get the bulk timeouts
// too).
func (t *Target) newFailover(o *goredis.FailoverOptions) *goredis.Client {
	b := *o
	t.bulk = func() goredis.UniversalClient {
		b := b
		bulkTimeouts(&b.DialTimeout, &b.ReadTimeout, &b.WriteTimeout, &b.PoolTimeout)
		return goredis.NewFailoverClient(&b)
	}
	return goredis.NewFailoverClient(o)
}

// newCluster makes the client of a cluster target from o, and remembers how
// to make its bulk twin.
func (t *Target) newCluster(o *goredis.ClusterOptions) *goredis.ClusterClient {
	b := *o
	t.bulk = func() goredis.UniversalClient {
		b := b
		bulkTimeouts(&b.DialTimeout, &b.ReadTimeout, &b.WriteTimeout, &b.PoolTimeout)
		return goredis.NewClusterClient(&b)
	}
	return goredis.NewClusterClient(o)
}

// bulkClient returns a client for a prefill, with the bulk timeouts, and
// the function that closes it. It is safe for concurrent use.
func (t *Target) bulkClient() (goredis.UniversalClient, func()) {
	if t.bulk == nil {
		return t.client, func() {}
	}
	c := t.bulk()
	return c, func() { _ = c.Close() }
}

// progress logs, every progressEvery (or t.progressEvery when set) until
// stop is called, how many of total keys a prefill has loaded: a prefill of
// millions of keys on a busy machine is not mistaken for a hang.
func (t *Target) progress(what string, total int, done *atomic.Int64) (stop func()) {
	every := progressEvery
	if t.progressEvery > 0 {
		every = t.progressEvery
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
				t.logf("redis: target %q: prefill %q: %d of %d keys after %v", t.name, what, done.Load(), total,
					time.Since(start).Round(time.Second))
			}
		}
	}()
	return func() {
		close(quit)
		<-finished
	}
}

// observer returns the client that samples the server's own figures (INFO)
// and checks that the target answers: made on first use, with the bulk
// timeouts, and closed with the target. It is safe for concurrent use.
func (t *Target) observer() goredis.UniversalClient {
	t.observerOnce.Do(func() {
		t.obs = t.client
		if t.bulk != nil {
			t.obs = t.bulk()
		}
	})
	if t.obs == nil { // closed before any was made
		return t.client
	}
	return t.obs
}

// closeObserver closes the observer client, if one was made.
func (t *Target) closeObserver() error {
	t.observerOnce.Do(func() {}) // none may be made from now on
	if t.obs != nil && t.obs != t.client {
		return t.obs.Close()
	}
	return nil
}
