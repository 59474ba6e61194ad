package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/scenarios/webhook/sink"
)

// pipeListener is an in-memory network for synctest bubbles: the real
// net/http client and the real sink server, connected by net.Pipe, whose
// blocking is durable, so that the bubble's clock advances only when every
// goroutine waits on a timer.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, &net.OpError{Op: "dial", Net: "pipe", Err: syscall.ECONNREFUSED}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// pipeTarget starts sk on an in-memory listener and opens a target on it,
// configured by the YAML lines extra. host makes the URL (and so the shared
// global gate) unique to the test.
func pipeTarget(t *testing.T, sk *sink.Sink, host, extra string) *Target {
	t.Helper()
	ln := newPipeListener()
	if err := sk.Serve(ln); err != nil {
		t.Fatal(err)
	}
	u := sk.WebhookURL("http://" + host)
	spec := urlTarget(t, u, extra)
	cfg, err := parseTarget(spec)
	if err != nil {
		t.Fatal(err)
	}
	tg := newTarget(cfg, spec, u, driver.KindExternal, sk.Token())
	tg.setDial(ln.dial)
	t.Cleanup(func() {
		_ = tg.Close()
		_ = sk.Close()
	})
	return tg
}

// burst runs n deliveries of st at once and returns their outcomes.
func burst(st driver.Step, n int) []driver.Outcome {
	outs := make([]driver.Outcome, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { outs[i] = st.Do(context.Background(), iteration()) })
	}
	wg.Wait()
	return outs
}

// With rate_limit: respect, a burst of 50 to the emulated Discord webhook
// (5 per 2 s) meets no 429 and takes the time the limit implies: ten
// windows, nine waits of 2 s plus the 50 ms margin.
func TestRespectBurstSynctest(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sk := sink.New(sink.Options{})
		tg := pipeTarget(t, sk, "burst.sink.test", "")
		st := bound(t, tg, `{json: {content: "burst {{ vu }}"}}`, "{status: 204}")
		start := time.Now()
		outs := burst(st, 50)
		elapsed := time.Since(start)

		var waited time.Duration
		for _, o := range outs {
			if o.Err != nil {
				t.Fatalf("outcome %v (class %s)", o.Err, o.Class)
			}
			waited += waitedOf(o)
		}
		const want = 9 * (2*time.Second + DefaultMargin)
		if elapsed != want {
			t.Errorf("the burst took %s, want %s (9 windows of 2 s and the margin)", elapsed, want)
		}
		if s := sk.Stats(); s.RateLimited != 0 || s.Delivered != 50 || s.Received != 50 {
			t.Errorf("sink stats %+v, want 50 delivered and no 429", s)
		}
		// Five deliveries per window wait 0, 2.05 s, ... 18.45 s: 461.25 s.
		if wantW := 5 * 45 * (2*time.Second + DefaultMargin); waited != wantW {
			t.Errorf("total rate-limit wait %s, want %s", waited, wantW)
		}
		stats, _ := tg.ServerStats(context.Background())
		if stats[statClientWaits] != 9 || stats[statClient429] != 0 || stats[statClientRequests] != 50 {
			t.Errorf("client stats %v", stats)
		}
	})
}

// With rate_limit: ignore, the same burst meets the limit: 45 deliveries
// fail with class rate_limited, and both sides count the 429s.
func TestIgnoreBurstCounts429(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sk := sink.New(sink.Options{})
		tg := pipeTarget(t, sk, "ignore.sink.test", "rate_limit: ignore\n")
		st := bound(t, tg, `{json: {content: "burst {{ vu }}"}}`, "")
		outs := burst(st, 50)
		ok, limited := 0, 0
		for _, o := range outs {
			switch {
			case o.Err == nil:
				ok++
			case o.Class == ClassRateLimited:
				limited++
				if !strings.Contains(o.Err.Error(), "status 429 (Discord: You are being rate limited.)") {
					t.Errorf("error %q", o.Err)
				}
			default:
				t.Errorf("outcome %v (class %s)", o.Err, o.Class)
			}
			if waitedOf(o) != 0 {
				t.Errorf("waited %s in ignore mode", waitedOf(o))
			}
		}
		if ok != 5 || limited != 45 {
			t.Errorf("%d delivered, %d rate limited; want 5 and 45", ok, limited)
		}
		stats, _ := tg.ServerStats(context.Background())
		if stats[statClient429] != 45 || stats[statRateLimited] != 0 {
			// An external target has no sink figures; the sink itself counts.
			t.Errorf("client stats %v", stats)
		}
		if s := sk.Stats(); s.RateLimited != 45 {
			t.Errorf("sink counted %d 429s", s.RateLimited)
		}
	})
}

// The same compliance over real sockets, with a short window so that it
// runs in about a second: no 429, every message delivered, and no less time
// than the limit implies. (How often the client had to wait depends on the
// machine: on a slow one, five deliveries may outlast the window. The
// waits are counted exactly under synctest, above.)
func TestRespectBurstRealSockets(t *testing.T) {
	t.Parallel()
	tg, sk := sinkTarget(t, "sink: {rate_limit: 5/100ms}\nrate_limit: {margin: 5ms}\n")
	st := bound(t, tg, `{json: {content: "burst {{ vu }}"}}`, "{status: 204}")
	start := time.Now()
	outs := burst(st, 50)
	elapsed := time.Since(start)
	for _, o := range outs {
		if o.Err != nil {
			t.Fatalf("outcome %v", o.Err)
		}
	}
	if s := sk.Stats(); s.RateLimited != 0 || s.Delivered != 50 {
		t.Errorf("sink stats %+v", s)
	}
	if elapsed < 9*100*time.Millisecond {
		t.Errorf("50 deliveries at 5 per 100 ms took only %s", elapsed)
	}
	stats, _ := tg.ServerStats(context.Background())
	if stats[statClient429] != 0 || stats[statClientRequests] != 50 {
		t.Errorf("client stats %v", stats)
	}
}

// A 429 (another client sharing the webhook) is waited out and retried, not
// counted as a failure; a global one pauses the whole host.
func TestRespect429Retried(t *testing.T) {
	t.Parallel()
	for _, global := range []bool{false, true} {
		t.Run(fmt.Sprint("global=", global), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				lim := sink.Limit{Count: 1, Per: 3 * time.Second}
				opts := sink.Options{RateLimit: sink.NoLimit, GlobalLimit: sink.NoLimit}
				if global {
					opts.GlobalLimit = lim
				} else {
					opts.ChannelLimit = lim // no bucket headers: the client meets it blind
				}
				sk := sink.New(opts)
				tg := pipeTarget(t, sk, fmt.Sprintf("retry429-%v.sink.test", global), "")
				st := bound(t, tg, `{json: {content: hi}}`, "")
				start := time.Now()
				for i := range 2 {
					if o := st.Do(context.Background(), iteration()); o.Err != nil {
						t.Fatalf("delivery %d: %v", i, o.Err)
					} else if i == 1 && waitedOf(o) != 3*time.Second+DefaultMargin {
						t.Errorf("waited %s, want the retry_after and the margin", waitedOf(o))
					}
				}
				if el := time.Since(start); el != 3*time.Second+DefaultMargin {
					t.Errorf("took %s", el)
				}
				if got := sk.Stats().RateLimited; got != 1 {
					t.Errorf("sink answered %d 429s, want 1", got)
				}
				if global && !tg.lim.gate.until.After(start) {
					t.Error("a global 429 did not pause the host")
				}
			})
		})
	}
}

// A wait longer than max_wait fails at once with class rate_limited; a
// cancelled context during a wait is class canceled.
func TestRateLimitWaitBounds(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sk := sink.New(sink.Options{RateLimit: sink.Limit{Count: 1, Per: 10 * time.Minute}})
		tg := pipeTarget(t, sk, "maxwait.sink.test", "rate_limit: {mode: respect, max_wait: 30s}\n")
		st := bound(t, tg, `{json: {content: hi}}`, "")
		if o := st.Do(context.Background(), iteration()); o.Err != nil {
			t.Fatal(o.Err)
		}
		start := time.Now()
		o := st.Do(context.Background(), iteration())
		if o.Class != ClassRateLimited || !strings.Contains(o.Err.Error(), "more than max_wait 30s") || time.Since(start) != 0 {
			t.Errorf("class %s err %v after %s", o.Class, o.Err, time.Since(start))
		}

		tg2 := pipeTarget(t, sink.New(sink.Options{RateLimit: sink.Limit{Count: 1, Per: 10 * time.Second}}), "cancel.sink.test", "")
		st2 := bound(t, tg2, `{json: {content: hi}}`, "")
		if o := st2.Do(context.Background(), iteration()); o.Err != nil {
			t.Fatal(o.Err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		o = st2.Do(ctx, iteration())
		if o.Class != ClassCanceled || !errors.Is(o.Err, context.DeadlineExceeded) || waitedOf(o) != time.Second {
			t.Errorf("class %s err %v waited %s", o.Class, o.Err, waitedOf(o))
		}
	})
}

func TestReadRateAnswer(t *testing.T) {
	t.Parallel()
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	tests := []struct {
		name   string
		h      http.Header
		body   string
		want   time.Duration
		global bool
		shared bool
	}{
		{"discord body", h("Retry-After", "2"), `{"message":"You are being rate limited.","retry_after":1.234,"global":false}`, 1234 * time.Millisecond, false, false},
		{"global body", h(), `{"retry_after":0.5,"global":true}`, 500 * time.Millisecond, true, false},
		{"global header", h("X-RateLimit-Global", "true", "Retry-After", "3"), ``, 3 * time.Second, true, false},
		{"shared", h("X-RateLimit-Scope", "shared", "Retry-After", "1"), `rate_limited`, time.Second, false, true},
		{"reset after", h("X-RateLimit-Reset-After", "0.25"), ``, 250 * time.Millisecond, false, false},
		{"nothing", h(), `slow down`, time.Second, false, false},
		{"negative", h("Retry-After", "-4"), `{"retry_after":-1}`, time.Second, false, false},
	}
	for _, tt := range tests {
		ra := readRateAnswer(tt.h, []byte(tt.body))
		if ra.retryAfter != tt.want || ra.global != tt.global || ra.shared != tt.shared {
			t.Errorf("%s: %+v, want %s global %v shared %v", tt.name, ra, tt.want, tt.global, tt.shared)
		}
	}
}

// A service that limits without saying how (Slack: 429s with Retry-After,
// no X-RateLimit headers) is met by a crowd once; then the client sends one
// request at a time, paced by Retry-After, and every message gets through.
func TestRespectBlindLimit(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sk := sink.New(sink.Options{Flavor: sink.FlavorSlack}) // 5 per 5 s
		tg := pipeTarget(t, sk, "blind.sink.test", "flavor: slack\n")
		st := bound(t, tg, `{json: {text: "alert {{ vu }}"}}`, "")
		if o := st.Do(context.Background(), iteration()); o.Err != nil {
			t.Fatal(o.Err) // the probe: no headers, so the crowd goes next
		}
		start := time.Now()
		// The crowd is over within its instant of virtual time; nothing
		// is sent again before the Retry-After (5 s) has passed.
		crowd429 := make(chan uint64, 1)
		go func() {
			time.Sleep(time.Second)
			crowd429 <- sk.Stats().RateLimited
		}()
		outs := burst(st, 24)
		for _, o := range outs {
			if o.Err != nil {
				t.Fatalf("outcome %v (class %s)", o.Err, o.Class)
			}
		}
		s := sk.Stats()
		if s.Delivered != 25 {
			t.Errorf("%d delivered, want 25", s.Delivered)
		}
		// The crowd fills the first window (4 left after the probe) and
		// meets at most 20 refusals — fewer when the first 429 turns the
		// rest back before they are sent, which depends on how the
		// goroutines were scheduled. From then on requests go one at a
		// time: each later window serves 5 and refuses the 6th, the last
		// one only 5 — the 20 left take 4 windows and meet 3 refusals.
		crowd := <-crowd429
		if crowd < 1 || crowd > 20 {
			t.Errorf("the crowd met %d 429s, want 1 to 20", crowd)
		}
		if later := s.RateLimited - crowd; later != 3 {
			t.Errorf("%d 429s after the crowd, want 3 (one per full window served one at a time)", later)
		}
		if tg.lim.state != bucketBlind {
			t.Errorf("bucket state %d, want blind", tg.lim.state)
		}
		// Each window waits out a Retry-After of 5 s and the margin.
		if el, want := time.Since(start), 4*(5*time.Second+DefaultMargin); el != want {
			t.Errorf("took %s, want %s", el, want)
		}
	})
}

// Requests that found the bucket open and wait out a pause of the host's
// global gate queue up when a 429 turns the bucket blind meanwhile, instead
// of all going at once when the pause ends.
func TestBlindBucketQueuesSleepers(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sk := sink.New(sink.Options{Flavor: sink.FlavorSlack})
		tg := pipeTarget(t, sk, "sleepers.sink.test", "flavor: slack\n")
		l := tg.lim
		l.state = bucketOpen
		start := time.Now()
		l.gate.pause(start.Add(time.Second)) // a global 429 leaves the bucket open
		type grant struct {
			at      time.Duration
			release func()
		}
		grants := make(chan grant, 5)
		for range 5 {
			go func() {
				release, _, err := l.acquire(context.Background(), tg)
				if err != nil {
					t.Error(err)
				}
				grants <- grant{time.Since(start), release}
			}()
		}
		time.Sleep(500 * time.Millisecond)
		l.on429(rateAnswer{retryAfter: 100 * time.Millisecond}, time.Now()) // a bucket 429: blind
		first := <-grants
		synctest.Wait()
		if n := len(grants); first.at != time.Second || n != 0 {
			t.Fatalf("%d more requests went with the first at %s; want one at a time from 1s", n, first.at)
		}
		for i := range 4 {
			first.release()
			first = <-grants
			if first.at != time.Second {
				t.Errorf("request %d went at %s", i+2, first.at)
			}
		}
		first.release()
	})
}
