package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// discordGlobalPerSecond is Discord's documented global limit per address,
// which the client keeps pre-emptively for the discord flavor, as discord.js
// does.
const discordGlobalPerSecond = 50

// max429Retries bounds how often one delivery is retried after 429s, so that
// a service answering nothing else cannot hold a virtual user forever.
const max429Retries = 10

// gate is the global limit of one host, shared by every target of the
// process that posts to it: the pause a global 429 imposes and, for
// Discord, the client-side 50 requests per second. Safe for concurrent use.
type gate struct {
	key  string
	refs int // guarded by gates.mu

	mu    sync.Mutex
	until time.Time // no request before
	start time.Time // of the current one-second window
	n     int       // requests in it
}

var gates = struct {
	mu sync.Mutex
	m  map[string]*gate
}{m: map[string]*gate{}}

func acquireGate(key string) *gate {
	gates.mu.Lock()
	defer gates.mu.Unlock()
	g := gates.m[key]
	if g == nil {
		g = &gate{key: key}
		gates.m[key] = g
	}
	g.refs++
	return g
}

func releaseGate(g *gate) {
	gates.mu.Lock()
	defer gates.mu.Unlock()
	g.refs--
	if g.refs == 0 && gates.m[g.key] == g {
		delete(gates.m, g.key)
	}
}

// take counts a request at now and returns 0, or returns how long it must
// wait first. perSecond 0 keeps no client-side window.
func (g *gate) take(now time.Time, perSecond int) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	if now.Before(g.until) {
		return g.until.Sub(now)
	}
	if perSecond <= 0 {
		return 0
	}
	if g.start.IsZero() || now.Sub(g.start) >= time.Second {
		g.start, g.n = now, 0
	}
	if g.n >= perSecond {
		return g.start.Add(time.Second).Sub(now)
	}
	g.n++
	return 0
}

// pause holds every request to the host until t.
func (g *gate) pause(t time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t.After(g.until) {
		g.until = t
	}
}

// bucketState is what the client knows of a webhook's rate limit.
type bucketState uint8

const (
	// bucketUnknown: nothing answered yet. Requests go one at a time, the
	// first being a probe, so that a burst does not meet a limit blind.
	bucketUnknown bucketState = iota
	// bucketLimited: the service announces X-RateLimit-* headers. Requests
	// go one at a time, each knowing exactly what is left (discordgo's and
	// discord.js's per-bucket queue).
	bucketLimited
	// bucketOpen: the service answered success without rate-limit headers.
	// Requests go concurrently; a 429 pauses the target and makes it
	// bucketBlind.
	bucketOpen
	// bucketBlind: the service limits without saying how (429s without
	// X-RateLimit-* headers, as Slack's): requests go one at a time for the
	// rest of the run, paced by the 429s' Retry-After, so that a crowd of
	// virtual users does not meet every window with a burst of 429s.
	bucketBlind
)

// limiter is one target's client-side rate limiter. In ignore mode it does
// nothing. Safe for concurrent use.
type limiter struct {
	respect   bool
	margin    time.Duration
	maxWait   time.Duration
	perSecond int // client-side global window, Discord-like services only
	gate      *gate
	queue     chan struct{} // capacity 1: the bucket's queue while serial

	mu         sync.Mutex
	state      bucketState
	limit      int
	remaining  int
	resetAt    time.Time
	pauseUntil time.Time
}

func newLimiter(cfg *targetConfig, key string) *limiter {
	l := &limiter{
		respect: cfg.rateMode == RateRespect,
		margin:  cfg.margin,
		maxWait: cfg.maxWait,
		queue:   make(chan struct{}, 1),
	}
	if cfg.flavor == FlavorDiscord {
		l.perSecond = discordGlobalPerSecond
	}
	if l.respect {
		l.gate = acquireGate(key)
	}
	return l
}

func (l *limiter) close() {
	if l.gate != nil {
		releaseGate(l.gate)
		l.gate = nil
	}
}

// errWaitTooLong is returned by acquire when a rate limit asks for a wait
// beyond max_wait.
type errWaitTooLong struct{ wait, max time.Duration }

func (e errWaitTooLong) Error() string {
	return fmt.Sprintf("rate limited: the service asks for a wait of %s, more than max_wait %s", e.wait.Round(time.Millisecond), e.max)
}

func (l *limiter) serial() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state != bucketOpen
}

var noRelease = func() {}

// acquire waits until a request may be sent, and returns the function to
// call once its answer's headers are observed, and the time it waited.
//
// While the bucket is serial, a request holds the bucket's queue from
// before its wait until its answer is observed. The check is made again
// before every send: a request that found the bucket open may meet a 429's
// pause, turning it blind, on its way (it was past the check when another
// request's 429 came back); it then queues up like the rest rather than
// waking with every other such request when the pause ends and meeting
// the next window as a crowd.
func (l *limiter) acquire(ctx context.Context, t *Target) (release func(), waited time.Duration, err error) {
	if !l.respect {
		return noRelease, 0, nil
	}
	start := time.Now()
	release = noRelease
	holding, counted := false, false
	for {
		if !holding && l.serial() {
			select {
			case l.queue <- struct{}{}:
			case <-ctx.Done():
				return noRelease, time.Since(start), ctx.Err()
			}
			holding, release = true, l.unlock
			if !l.serial() {
				// The request ahead found no limit: go concurrently.
				l.unlock()
				holding, release = false, noRelease
			}
		}
		now := time.Now()
		wait, perSecond := l.bucketWait(now)
		if wait <= 0 {
			wait = l.gate.take(now, perSecond)
		}
		if wait <= 0 {
			l.spend(now)
			break
		}
		if wait > l.maxWait {
			release()
			return noRelease, time.Since(start), errWaitTooLong{wait, l.maxWait}
		}
		if !counted {
			counted = true
			t.n.waits.Add(1)
		}
		if err := sleep(ctx, wait); err != nil {
			release()
			return noRelease, time.Since(start), err
		}
	}
	waited = time.Since(start)
	t.n.waitedNs.Add(uint64(waited))
	return release, waited, nil
}

func (l *limiter) unlock() { <-l.queue }

// bucketWait is how long a request at now must wait for the webhook's
// bucket or a 429's pause, and the client-side global limit that applies:
// Discord's, once the service showed Discord's rate-limit headers.
func (l *limiter) bucketWait(now time.Time) (time.Duration, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	perSecond := 0
	if l.state == bucketLimited {
		perSecond = l.perSecond
	}
	var until time.Time
	if now.Before(l.pauseUntil) {
		until = l.pauseUntil
	}
	if l.state == bucketLimited && l.remaining <= 0 {
		if r := l.resetAt.Add(l.margin); now.Before(r) && r.After(until) {
			until = r
		}
	}
	if until.IsZero() {
		return 0, perSecond
	}
	return until.Sub(now), perSecond
}

// spend counts a request sent at now against the known bucket.
func (l *limiter) spend(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state != bucketLimited {
		return
	}
	if !now.Before(l.resetAt) {
		l.remaining = l.limit // a new window
	}
	l.remaining--
}

// observe learns the bucket from an answer's headers, read now.
func (l *limiter) observe(h http.Header, status int) {
	if !l.respect || h == nil {
		return
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	limit, errL := strconv.Atoi(h.Get("X-RateLimit-Limit"))
	remaining, errR := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	if errL == nil && errR == nil {
		l.state, l.limit, l.remaining = bucketLimited, limit, remaining
		// Reset-After is relative, so immune to clock skew; Reset is the
		// fallback.
		if after, ok := parseSeconds(h.Get("X-RateLimit-Reset-After")); ok {
			l.resetAt = now.Add(after)
		} else if at, ok := parseSeconds(h.Get("X-RateLimit-Reset")); ok {
			l.resetAt = time.Unix(0, 0).Add(at)
		}
		return
	}
	if status >= 200 && status <= 299 && l.state == bucketUnknown {
		l.state = bucketOpen
	}
}

// on429 makes the target (or, for a global limit, the host) wait as a 429
// asks, plus the margin, before its next request.
func (l *limiter) on429(ra rateAnswer, now time.Time) {
	until := now.Add(ra.retryAfter + l.margin)
	if ra.global && l.gate != nil {
		l.gate.pause(until)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if until.After(l.pauseUntil) {
		l.pauseUntil = until
	}
	if l.state == bucketOpen || l.state == bucketUnknown {
		l.state = bucketBlind
	}
}

// rateAnswer is what a 429 says.
type rateAnswer struct {
	retryAfter time.Duration
	global     bool
	shared     bool // Discord scope shared: not counted as invalid
}

// readRateAnswer reads a 429's wait from its JSON body (Discord's
// retry_after, in seconds), else Retry-After, else X-RateLimit-Reset-After,
// else one second.
func readRateAnswer(h http.Header, body []byte) rateAnswer {
	ra := rateAnswer{
		global: h.Get("X-RateLimit-Global") == "true" || h.Get("X-RateLimit-Scope") == "global",
		shared: h.Get("X-RateLimit-Scope") == "shared",
	}
	var b struct {
		RetryAfter *float64 `json:"retry_after"`
		Global     bool     `json:"global"`
	}
	if json.Unmarshal(body, &b) == nil {
		ra.global = ra.global || b.Global
		if b.RetryAfter != nil && *b.RetryAfter >= 0 && *b.RetryAfter < 1e6 {
			ra.retryAfter = time.Duration(math.Ceil(*b.RetryAfter * float64(time.Second)))
			return ra
		}
	}
	if d, ok := retryAfter(h); ok {
		ra.retryAfter = d
		return ra
	}
	if d, ok := parseSeconds(h.Get("X-RateLimit-Reset-After")); ok {
		ra.retryAfter = d
		return ra
	}
	ra.retryAfter = time.Second
	return ra
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(h http.Header) (time.Duration, bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if d, ok := parseSeconds(v); ok {
		return d, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// parseSeconds reads a non-negative (fractional) number of seconds.
func parseSeconds(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsNaN(f) || f > 1e10 {
		return 0, false
	}
	return time.Duration(math.Ceil(f * float64(time.Second))), true
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// budget counts invalid requests (401, 403, and 429s other than Discord's
// shared scope) over a sliding window of 60 slots, and is spent for good
// once they reach max: the target then refuses to send, before a real
// service bans the address (Discord: 10,000 per 10 minutes). Safe for
// concurrent use.
type budget struct {
	max   int
	slot  time.Duration
	mu    sync.Mutex
	count [60]int
	epoch [60]int64
	spent atomic.Bool
}

func newBudget(limit int, per time.Duration) *budget {
	return &budget{max: limit, slot: max(per/60, time.Millisecond)}
}

// add counts an invalid request at now and reports whether the budget is
// now spent.
func (b *budget) add(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := now.UnixNano() / int64(b.slot)
	i := int(e % int64(len(b.count)))
	if b.epoch[i] != e {
		b.epoch[i], b.count[i] = e, 0
	}
	b.count[i]++
	total := 0
	for j := range b.count {
		if b.epoch[j] > e-int64(len(b.count)) {
			total += b.count[j]
		}
	}
	if total >= b.max {
		b.spent.Store(true)
	}
	return b.spent.Load()
}
