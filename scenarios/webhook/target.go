package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/scenarios/webhook/sink"
)

// Target is an open webhook target: an HTTP client with its connection pool,
// its rate limiter, invalid-request budget and counters, and the embedded
// sink when the plan gave no URL. Its methods are safe for concurrent use.
type Target struct {
	cfg    *targetConfig
	name   string
	kind   string
	url    string
	red    redactor
	addr   string
	client *http.Client
	fast   *fastClient // nil: net/http only (https, proxies)
	sink   *sink.Sink

	lim    *limiter
	budget *budget

	// stream names this target's deliveries in X-Runplan-Message;
	// msgPrefix starts its Standard Webhooks message ids.
	stream    string
	msgPrefix string
	seq       atomic.Uint64
	retired   atomic.Bool

	n counters
}

// counters are the client-side figures of a target.
type counters struct {
	requests, retries, responses429, waits, waitedNs, invalid, retiredCalls, budgetRefused atomic.Uint64
}

// newTarget builds the client for cfg and URL u (the sink's, when embedded),
// dialing through via when it is not nil (driver.Env.Via). secrets are
// strings, besides those of u, that must never be shown.
func newTarget(cfg *targetConfig, spec driver.TargetSpec, via func(string) (string, error), u, kind string, secrets ...string) *Target {
	dialer := &net.Dialer{KeepAlive: 30 * time.Second}
	dial := dialer.DialContext
	if via != nil {
		// The plan has network faults on this target: every connection
		// goes through runplan's fault proxy.
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			a, err := via(addr)
			if err != nil {
				return nil, fmt.Errorf("webhook: fault proxy for %s: %w", addr, err)
			}
			return dialer.DialContext(ctx, network, a)
		}
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dial,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          cfg.maxConns,
		MaxIdleConnsPerHost:   cfg.maxConns,
		MaxConnsPerHost:       cfg.maxConns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		// The bodies are discarded: decompressing them would cost CPU the
		// load generator needs.
		DisableCompression: true,
	}
	red := newRedactor(u)
	for _, s := range append(secrets, cfg.secret) {
		red.addSecret(s)
	}
	red.finish()
	stream := spec.RunID + "/" + spec.Name
	sum := sha256.Sum256([]byte(stream))
	t := &Target{
		cfg:  cfg,
		name: spec.Name,
		kind: kind,
		url:  u,
		red:  red,
		addr: red.scrub(red.url),
		client: &http.Client{
			Transport: tr,
			// A webhook that redirects is misconfigured; following would
			// turn a POST into a GET and hide it.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		budget:    newBudget(cfg.budget, cfg.budgetPer),
		stream:    stream,
		msgPrefix: "msg_" + hex.EncodeToString(sum[:6]) + "_",
	}
	t.lim = newLimiter(cfg, gateKey(u))
	if addr, ok := fastTarget(u); ok && !cfg.noFast {
		t.fast = newFastClient(addr, cfg.maxConns, dial)
	}
	return t
}

// setDial replaces how the target connects (tests: in-memory networks,
// resolvers).
func (t *Target) setDial(dial func(ctx context.Context, network, addr string) (net.Conn, error)) {
	tr := t.client.Transport.(*http.Transport)
	tr.DialContext = dial
	tr.Proxy = nil
	if t.fast != nil {
		t.fast.dial = dial
	}
}

// gateKey is the host whose global limit a URL shares.
func gateKey(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// sendURL is the URL an embedded target posts to: the sink's webhook, or on
// purpose one the sink does not know (sink.send_to), for error plans. It
// returns the made-up token too, a secret like the real one.
func sendURL(s *sink.Sink, sendTo string) (u, fake string) {
	if sendTo == SendToWebhook {
		return s.URL(), ""
	}
	base := "http://" + s.Addr()
	fake = "wrong" + strings.Repeat("0", 3) + s.Token()[8:]
	switch s.Flavor() {
	case FlavorSlack:
		if sendTo == SendToUnknownWebhook {
			return base + "/services/T0UNKNOWN0/B0UNKNOWN0/" + s.Token(), ""
		}
		return base + "/services/" + s.WebhookID() + "/" + fake, fake
	case FlavorGeneric:
		return base + "/hooks/" + fake, fake
	}
	if sendTo == SendToUnknownWebhook {
		return base + "/api/webhooks/1000000000000000001/" + s.Token(), ""
	}
	return base + "/api/webhooks/" + s.WebhookID() + "/" + fake, fake
}

// Kind is driver.KindEmbedded when the target is the embedded sink and
// driver.KindExternal otherwise. Safe for concurrent use.
func (t *Target) Kind() string { return t.kind }

// Addr is the webhook URL with its token redacted (see Redact). Safe for
// concurrent use.
func (t *Target) Addr() string { return t.addr }

// Flavor is the target's flavor: FlavorDiscord, FlavorSlack or FlavorGeneric.
// Safe for concurrent use.
func (t *Target) Flavor() string { return t.cfg.flavor }

// Sink returns the embedded sink, or nil for an external target, so that its
// statistics can be read and faults injected. Safe for concurrent use.
func (t *Target) Sink() *sink.Sink { return t.sink }

// Retired reports whether the webhook answered 404 or 410 and is no longer
// used for the rest of the run. Safe for concurrent use.
func (t *Target) Retired() bool { return t.retired.Load() }

// Ping does nothing but honour ctx: a webhook has no side-effect-free probe,
// and a run must not post to a real channel before it starts. Safe for
// concurrent use.
func (t *Target) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("webhook: ping %s: %w", t.Addr(), err)
	}
	return nil
}

// Close releases the idle connections and the shared global-limit gate, and
// stops the embedded sink. It is called once, after every step has finished.
func (t *Target) Close() error {
	t.client.CloseIdleConnections()
	if t.fast != nil {
		t.fast.closeIdle()
	}
	t.lim.close()
	if t.sink != nil {
		if err := t.sink.Close(); err != nil {
			return fmt.Errorf("webhook: closing the embedded sink: %w", err)
		}
	}
	return nil
}
