// Package sink is an embedded webhook receiver that answers the way Discord's
// "execute webhook" endpoint, Slack's incoming webhooks or a signed generic
// webhook do, so that runplan can measure webhook delivery without posting to
// a real channel. It is a real HTTP server over real sockets (Start), or a
// plain http.Handler (for httptest).
//
// Discord emulation (FlavorDiscord, the default) covers the URL shapes, the
// wait semantics (200 with a message object, or 204), payload validation
// with Discord's error codes and its nested 50035 error tree (content, embeds
// and their limits, JSON and multipart bodies), unknown webhooks (404 10015),
// bad tokens (401 50027), the X-RateLimit-* headers of every answer, the
// per-webhook bucket (5 per 2 s by default), an optional per-channel limit
// (429 code 20028, scope shared), the global limit (50 per second) and 429
// bodies with retry_after and Retry-After, the Via header of Discord's edge
// on every answer (clients tell Discord's 429 from a Cloudflare ban by it),
// message objects with the uploads' attachments, embeds typed "rich", and
// a thread's id as channel_id with the message's position, and the
// webhook's GET and its messages' GET, PATCH and DELETE. Slack emulation (FlavorSlack)
// answers "ok" or Slack's plain-text errors and 429s; the generic mode
// (FlavorGeneric) verifies GitHub or Standard Webhooks signatures.
//
// The sink records what it accepted: messages, duplicates and order (from the
// X-Runplan-Message header the runplan driver stamps on every delivery, or a
// Standard Webhooks webhook-id), and the delivery latency seen at the
// receiver (from X-Runplan-Sent). SetFault makes it slow, failing, hanging,
// resetting or answering garbage, for fault injection.
//
// A Sink is safe for concurrent use.
package sink

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Flavors of emulated services.
const (
	FlavorDiscord = "discord"
	FlavorSlack   = "slack"
	FlavorGeneric = "generic"
)

// Headers stamped by the runplan driver on every delivery (and kept on its
// retries), read by the sink to find duplicates, order and latency. Other
// senders may set them too.
const (
	// HeaderMessage identifies a delivery: "<stream>/<seq>", seq counting
	// from 1 in the order the sender meant to deliver.
	HeaderMessage = "X-Runplan-Message"
	// HeaderSent is when the sender started the delivery, in Unix
	// nanoseconds.
	HeaderSent = "X-Runplan-Sent"
)

// Defaults of Options.
const (
	// DefaultWebhookID is the id of the Discord sink's webhook, a snowflake.
	DefaultWebhookID = "1208417937483210752"
	// DefaultSlackID is the Slack sink's team and channel path, T.../B....
	DefaultSlackID = "T0RUNPLAN0/B0RUNPLAN0"
	// DefaultChannelID is the channel messages are posted to.
	DefaultChannelID = "1208417852531511306"
	// DefaultUsername is the author name of messages that give none.
	DefaultUsername = "runplan-sink"
	// DefaultHistory is how many accepted messages are kept.
	DefaultHistory = 10_000
	// DefaultMaxBodyBytes bounds a request body; beyond it the answer is 413.
	DefaultMaxBodyBytes = 8 << 20
	// DefaultMaxSkew is how far a Standard Webhooks timestamp may be from
	// the sink's clock.
	DefaultMaxSkew = 5 * time.Minute
)

// Default limits, per flavor.
var (
	// DefaultDiscordRateLimit is Discord's observed per-webhook bucket.
	DefaultDiscordRateLimit = Limit{Count: 5, Per: 2 * time.Second}
	// DefaultDiscordGlobalLimit is Discord's documented global limit.
	DefaultDiscordGlobalLimit = Limit{Count: 50, Per: time.Second}
	// DefaultSlackRateLimit is about one message per second with short
	// bursts, as Slack documents it.
	DefaultSlackRateLimit = Limit{Count: 5, Per: 5 * time.Second}
)

// Signing schemes a generic sink verifies.
const (
	SigningGitHub   = "github"   // X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>
	SigningStandard = "standard" // Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature
)

// Options configure a Sink. The zero value is a Discord sink with the
// defaults and a random token. Options is a plain value; New copies it.
type Options struct {
	// Flavor is FlavorDiscord (default), FlavorSlack or FlavorGeneric.
	Flavor string
	// WebhookID is the webhook's id in its URL: a snowflake for Discord
	// (default DefaultWebhookID), "T.../B..." for Slack (DefaultSlackID);
	// unused by the generic flavor.
	WebhookID string
	// Token is the webhook's secret token (default: random URL-safe
	// characters, 68 for Discord as Discord's, 24 for Slack, 32 generic).
	Token string
	// ChannelID is reported in message objects (default DefaultChannelID).
	ChannelID string
	// Username is the author of messages that set no username
	// (default DefaultUsername).
	Username string
	// History is how many accepted messages Messages keeps, the most recent
	// (default DefaultHistory; negative keeps none).
	History int
	// MaxBodyBytes bounds request bodies (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// Now is the clock (default time.Now).
	Now func() time.Time

	// RateLimit is the webhook's bucket. The zero value is the flavor's
	// default (DefaultDiscordRateLimit, DefaultSlackRateLimit, none for
	// generic); NoLimit turns it off.
	RateLimit Limit
	// ChannelLimit is Discord's per-channel write limit (429 code 20028,
	// scope shared), off unless set (Discord's is about 30 per minute).
	ChannelLimit Limit
	// GlobalLimit bounds all requests to the sink (Discord's global limit;
	// default DefaultDiscordGlobalLimit for Discord, none otherwise).
	GlobalLimit Limit

	// Signing is the scheme a generic sink verifies: "" (none),
	// SigningGitHub or SigningStandard.
	Signing string
	// Secret is the signing secret; for SigningStandard, "whsec_" and the
	// base64 key.
	Secret string
	// MaxSkew bounds a Standard Webhooks timestamp's distance from Now
	// (default DefaultMaxSkew).
	MaxSkew time.Duration

	// Fault is misbehaviour in force from the start (see SetFault).
	Fault *Fault
	// OnRequest, when set, is called after every answer, from the request's
	// goroutine: it must be safe for concurrent use. Its Path is redacted.
	OnRequest func(RequestInfo)
}

// RequestInfo describes one answered request, for logs. It never holds the
// webhook's token.
type RequestInfo struct {
	Time   time.Time
	Method string
	// Path is the request path with the token replaced by "****".
	Path   string
	Status int
	// Code is the Discord error code of an error answer, or 0.
	Code int
	// Error is Slack's or the generic sink's error word, or "".
	Error string
	// Fault names the injected fault that answered, or "".
	Fault string
	// Message is the message's key (HeaderMessage or webhook-id), if any.
	Message string
	// Duplicate tells whether an accepted message had been accepted before.
	Duplicate bool
	// Latency is the receiver-side delivery latency, when the request was
	// stamped with HeaderSent.
	Latency time.Duration
}

// Stats counts the requests a Sink answered. It is a snapshot, a plain value.
type Stats struct {
	// Received counts every request, whatever its route.
	Received uint64
	// Accepted counts 2xx answers, Rejected the others (429s and faults
	// included).
	Accepted, Rejected uint64
	// RateLimited counts 429 answers.
	RateLimited uint64
	// Faulted counts requests an injected fault answered.
	Faulted uint64
	// Delivered counts accepted messages seen for the first time;
	// Duplicates those accepted again (same HeaderMessage or webhook-id).
	Delivered, Duplicates uint64
	// OutOfOrder counts first deliveries whose HeaderMessage sequence is
	// below one already received from the same stream.
	OutOfOrder uint64
	// Latency summarises the receiver-side delivery latency of first
	// deliveries stamped with HeaderSent.
	Latency LatencyStats
}

// LatencyStats summarises receiver-side delivery latencies.
type LatencyStats struct {
	Count                         uint64
	Mean, P50, P90, P95, P99, Max time.Duration
}

// Message is a message the sink accepted. Messages returns copies; the
// Embeds it holds must not be modified.
type Message struct {
	// ID is the message's snowflake.
	ID        string
	WebhookID string
	ChannelID string
	// ThreadID is the thread_id query parameter, if any; the message
	// object then gives it as channel_id, as Discord does.
	ThreadID string
	// Position is the message's position in its thread (ThreadID set),
	// counting the thread's messages the sink accepted from 0.
	Position int
	// Content is the message text: Discord's content, Slack's text, the
	// generic body (its first 4 KiB).
	Content   string
	Username  string
	AvatarURL string
	TTS       bool
	// Embeds are the embeds as sent, in JSON.
	Embeds []json.RawMessage
	// Files counts multipart file parts.
	Files int
	// Attachments describe the uploaded files, in upload order.
	Attachments []Attachment
	// Flags are the message flags the sender set (4: suppress embeds,
	// 4096: silent).
	Flags int
	// Key is the delivery's HeaderMessage or webhook-id, if any.
	Key string
	// Duplicate tells whether a message with the same Key was accepted
	// before.
	Duplicate bool
	// Latency is the receiver-side delivery latency (0 when not stamped).
	Latency time.Duration
	// Received is when the request was answered.
	Received time.Time
	// Edited is when the message was last edited through the webhook
	// (PATCH .../messages/{id}), zero if never.
	Edited time.Time
	// Deleted tells whether the message was deleted through the webhook.
	Deleted bool
}

// Sink is an embedded webhook receiver. All its methods are safe for
// concurrent use.
type Sink struct {
	opts    Options
	handler http.Handler

	mu      sync.Mutex // guards srv, ln, closed
	srv     *http.Server
	ln      net.Listener
	closed  bool
	closing chan struct{} // closed by Close, releases hanging requests

	received, accepted, rejected, limited, faulted atomic.Uint64
	lastID                                         atomic.Uint64

	bucket, channel, global *window

	fault atomic.Pointer[faultState]

	track tracker

	threads threadPositions

	histMu sync.Mutex
	hist   []Message // ring of opts.History messages
	next   int       // index of the next write in hist
	full   bool
}

// Check reports what is wrong with opts: an unknown flavor or signing
// scheme, a signing secret missing or not base64, a limit without a period,
// a token that cannot sit in a URL path. It is a pure function.
func (opts Options) Check() error {
	var errs []error
	switch opts.Flavor {
	case "", FlavorDiscord, FlavorSlack, FlavorGeneric:
	default:
		errs = append(errs, fmt.Errorf("sink: unknown flavor %q (discord, slack or generic)", opts.Flavor))
	}
	if strings.ContainsAny(opts.Token, "/?#%") {
		errs = append(errs, errors.New("sink: the token must not hold '/', '?', '#' or '%'"))
	}
	for _, l := range []Limit{opts.RateLimit, opts.ChannelLimit, opts.GlobalLimit} {
		if l.Count > 0 && l.Per <= 0 {
			errs = append(errs, fmt.Errorf("sink: limit %d per %s: the period must be positive", l.Count, l.Per))
		}
	}
	switch opts.Signing {
	case "":
	case SigningGitHub, SigningStandard:
		if opts.Flavor != FlavorGeneric {
			errs = append(errs, fmt.Errorf("sink: signature verification needs the generic flavor"))
		}
		if opts.Secret == "" {
			errs = append(errs, errors.New("sink: signature verification needs a secret"))
		} else if opts.Signing == SigningStandard {
			if _, err := StandardKey(opts.Secret); err != nil {
				errs = append(errs, fmt.Errorf("sink: %w", err))
			}
		}
	default:
		errs = append(errs, fmt.Errorf("sink: unknown signing scheme %q (github or standard)", opts.Signing))
	}
	return errors.Join(errs...)
}

// New returns a sink configured by opts, not yet listening: use it as an
// http.Handler, or call Start. It panics when opts.Check fails, as
// regexp.MustCompile does: check options that come from users first. New
// is safe for concurrent use.
func New(opts Options) *Sink {
	if err := opts.Check(); err != nil {
		panic(err)
	}
	if opts.Flavor == "" {
		opts.Flavor = FlavorDiscord
	}
	if opts.WebhookID == "" {
		switch opts.Flavor {
		case FlavorDiscord:
			opts.WebhookID = DefaultWebhookID
		case FlavorSlack:
			opts.WebhookID = DefaultSlackID
		}
	}
	if opts.Token == "" {
		n := map[string]int{FlavorDiscord: 68, FlavorSlack: 24, FlavorGeneric: 32}[opts.Flavor]
		opts.Token = randomToken(n)
	}
	if opts.ChannelID == "" {
		opts.ChannelID = DefaultChannelID
	}
	if opts.Username == "" {
		opts.Username = DefaultUsername
	}
	if opts.History == 0 {
		opts.History = DefaultHistory
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxSkew <= 0 {
		opts.MaxSkew = DefaultMaxSkew
	}
	if opts.RateLimit.Count == 0 {
		switch opts.Flavor {
		case FlavorDiscord:
			opts.RateLimit = DefaultDiscordRateLimit
		case FlavorSlack:
			opts.RateLimit = DefaultSlackRateLimit
		default:
			opts.RateLimit = NoLimit
		}
	}
	if opts.GlobalLimit.Count == 0 {
		opts.GlobalLimit = NoLimit
		if opts.Flavor == FlavorDiscord {
			opts.GlobalLimit = DefaultDiscordGlobalLimit
		}
	}
	if opts.ChannelLimit.Count == 0 {
		opts.ChannelLimit = NoLimit
	}
	s := &Sink{opts: opts, closing: make(chan struct{})}
	s.bucket = newWindow(opts.RateLimit)
	s.channel = newWindow(opts.ChannelLimit)
	s.global = newWindow(opts.GlobalLimit)
	if opts.History > 0 {
		s.hist = make([]Message, 0, min(opts.History, 1024))
	}
	s.track.init()
	if opts.Fault != nil {
		s.SetFault(*opts.Fault)
	}
	switch opts.Flavor {
	case FlavorDiscord:
		s.handler = http.HandlerFunc(s.serveDiscord)
	case FlavorSlack:
		s.handler = http.HandlerFunc(s.serveSlack)
	default:
		s.handler = http.HandlerFunc(s.serveGeneric)
	}
	return s
}

// randomToken returns n URL-safe random characters, at least one letter and
// one digit among them (so that redaction heuristics recognise a secret).
func randomToken(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("sink: crypto/rand: " + err.Error())
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	if n >= 2 {
		b[0] = "abcdefghijklmnopqrstuvwxyz"[int(b[0])%26]
		b[n-1] = "0123456789"[int(b[n-1])%10]
	}
	return string(b)
}

// Flavor returns the emulated service. Safe for concurrent use.
func (s *Sink) Flavor() string { return s.opts.Flavor }

// WebhookID returns the webhook's id. Safe for concurrent use.
func (s *Sink) WebhookID() string { return s.opts.WebhookID }

// Token returns the webhook's secret token. Safe for concurrent use.
func (s *Sink) Token() string { return s.opts.Token }

// Options returns the options in force, defaults filled in. Safe for
// concurrent use.
func (s *Sink) Options() Options { return s.opts }

// WebhookURL returns the webhook's URL under base, a server root such as
// httptest.Server.URL: base/api/webhooks/{id}/{token} for Discord,
// base/services/{T}/{B}/{token} for Slack, base/hooks/{token} for generic.
// Safe for concurrent use.
func (s *Sink) WebhookURL(base string) string {
	switch s.opts.Flavor {
	case FlavorSlack:
		return base + "/services/" + s.opts.WebhookID + "/" + s.opts.Token
	case FlavorGeneric:
		return base + "/hooks/" + s.opts.Token
	}
	return base + "/api/webhooks/" + s.opts.WebhookID + "/" + s.opts.Token
}

// Start listens on addr (such as "127.0.0.1:0") and serves in the
// background until Close. A sink starts at most once. Safe for concurrent use.
func (s *Sink) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("sink: %w", err)
	}
	if err := s.Serve(ln); err != nil {
		ln.Close()
		return err
	}
	return nil
}

// Serve serves on ln in the background until Close, which closes ln. A sink
// serves at most once. Safe for concurrent use.
func (s *Sink) Serve(ln net.Listener) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("sink: start after close")
	}
	if s.srv != nil {
		return errors.New("sink: already started")
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// Clients hanging up mid-request are expected under fault
		// injection; their noise does not belong on stderr.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func(srv *http.Server) { _ = srv.Serve(ln) }(s.srv)
	return nil
}

// Addr returns the address the sink listens on, or "" before Start. Safe for
// concurrent use.
func (s *Sink) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// URL returns the webhook's URL on the listening address (see WebhookURL),
// or "" before Start. It holds the token: redact it before showing it. Safe
// for concurrent use.
func (s *Sink) URL() string {
	a := s.Addr()
	if a == "" {
		return ""
	}
	return s.WebhookURL("http://" + a)
}

// Close stops the server, closing its connections and releasing hanging
// requests. It is idempotent and safe for concurrent use.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.closing)
	}
	if s.srv == nil {
		return nil
	}
	srv := s.srv
	s.srv = nil
	if err := srv.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("sink: close: %w", err)
	}
	return nil
}

// answer is what a flavor handler tells ServeHTTP about its answer.
type answer struct {
	fault string // the injected fault that answered
	code  int    // Discord error code
	word  string // Slack or generic error word
	msg   *Message
}

// ctxKey carries the *answer of a request through its context.
type ctxKey struct{}

func contextWith(ctx context.Context, a *answer) context.Context {
	return context.WithValue(ctx, ctxKey{}, a)
}

func noteOf(r *http.Request) *answer {
	a, _ := r.Context().Value(ctxKey{}).(*answer)
	if a == nil {
		return &answer{}
	}
	return a
}

// ServeHTTP answers one request as the emulated service would, counting it.
// Safe for concurrent use.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.received.Add(1)
	note := &answer{}
	r = r.WithContext(contextWith(r.Context(), note))
	sw := &statusWriter{ResponseWriter: w}
	// Deferred: a fault that aborts the connection panics with
	// http.ErrAbortHandler, and must still be counted.
	defer s.account(sw, r, note)
	if s.opts.Flavor == FlavorDiscord {
		// Discord's answers pass Google's load balancer, which adds Via
		// to every one. Clients tell Discord's own 429 from a Cloudflare
		// ban by it (discord.py and the Python discord-webhook family give
		// up on a 429 without Via).
		w.Header().Set("Via", ViaDiscord)
	}
	if f := s.pickFault(); f != nil {
		note.fault = s.serveFault(sw, r, f)
		return
	}
	s.handler.ServeHTTP(sw, r)
}

// account counts one answered request and reports it to OnRequest.
func (s *Sink) account(sw *statusWriter, r *http.Request, note *answer) {
	switch {
	case note.fault != "":
		s.faulted.Add(1)
		s.rejected.Add(1)
	case sw.status == 0 || sw.status >= 200 && sw.status <= 299:
		s.accepted.Add(1)
	default:
		if sw.status == http.StatusTooManyRequests {
			s.limited.Add(1)
		}
		s.rejected.Add(1)
	}
	if s.opts.OnRequest == nil {
		return
	}
	info := RequestInfo{Time: s.opts.Now(), Method: r.Method, Path: s.redactPath(r.URL.Path),
		Status: sw.status, Code: note.code, Error: note.word, Fault: note.fault}
	if info.Status == 0 && note.fault == "" {
		info.Status = http.StatusOK
	}
	if m := note.msg; m != nil {
		info.Message, info.Duplicate, info.Latency = m.Key, m.Duplicate, m.Latency
	}
	s.opts.OnRequest(info)
}

// redactPath masks the token in a request path, and any long segment that
// could be one.
func (s *Sink) redactPath(p string) string {
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		if seg == "" {
			continue
		}
		last := i == len(segs)-1
		if seg == s.opts.Token || len(seg) >= 16 || (last && i >= 3) {
			// Webhook URLs end with the token; ids are shorter than 21
			// digits and are kept.
			if !isDigits(seg) {
				segs[i] = "****"
			}
		}
	}
	return strings.Join(segs, "/")
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Stats returns the counts so far. Safe for concurrent use.
func (s *Sink) Stats() Stats {
	// Read the outcomes before received, so that a concurrent request
	// never makes Accepted+Rejected exceed Received.
	a, rj, l, f := s.accepted.Load(), s.rejected.Load(), s.limited.Load(), s.faulted.Load()
	st := Stats{Received: s.received.Load(), Accepted: a, Rejected: rj, RateLimited: l, Faulted: f}
	s.track.stats(&st)
	return st
}

// Messages returns a copy of the recent accepted messages, oldest first.
// Safe for concurrent use.
func (s *Sink) Messages() []Message {
	s.histMu.Lock()
	defer s.histMu.Unlock()
	if !s.full {
		return append([]Message(nil), s.hist...)
	}
	out := make([]Message, 0, len(s.hist))
	out = append(out, s.hist[s.next:]...)
	return append(out, s.hist[:s.next]...)
}

// accept records an accepted message: its duplicate, order and latency
// figures, and the bounded history.
func (s *Sink) accept(r *http.Request, m *Message) {
	s.track.observe(r.Header, m)
	noteOf(r).msg = m
	if s.opts.History <= 0 {
		return
	}
	s.histMu.Lock()
	defer s.histMu.Unlock()
	if !s.full && len(s.hist) < s.opts.History {
		s.hist = append(s.hist, *m)
		if len(s.hist) == s.opts.History {
			s.full, s.next = true, 0
		}
		return
	}
	s.hist[s.next] = *m
	s.next = (s.next + 1) % len(s.hist)
}

// discordEpoch is the first millisecond of 2015, the origin of snowflakes.
const discordEpoch = 1420070400000

// nextID returns a new snowflake, unique and increasing within the sink.
func (s *Sink) nextID(now time.Time) string {
	ms := max(now.UnixMilli()-discordEpoch, 0)
	cand := uint64(ms)<<22 | 1<<17 // worker 1, process 0
	for {
		last := s.lastID.Load()
		id := max(cand, last+1)
		if s.lastID.CompareAndSwap(last, id) {
			return fmt.Sprint(id)
		}
	}
}
