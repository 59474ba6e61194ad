// Package sink is an embedded webhook receiver that answers like Discord's
// "execute webhook" endpoint, so that runplan can measure webhook delivery
// without posting to a real channel. It is a real HTTP server over real
// sockets (Start), or a plain http.Handler (for httptest).
//
// It validates what Discord validates first (route, webhook id, token,
// content type, JSON, empty and over-long messages), answers with Discord's
// statuses and JSON error bodies, and records the messages it accepted.
// Rate limiting, embed limits, multipart bodies and Slack emulation are not
// modelled yet; the Options and the per-route handlers are where they will go.
//
// A Sink is safe for concurrent use.
package sink

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Options.
const (
	// DefaultWebhookID is the id of the sink's webhook, a Discord snowflake.
	DefaultWebhookID = "1208417937483210752"
	// DefaultChannelID is the channel its messages are posted to.
	DefaultChannelID = "1208417852531511306"
	// DefaultUsername is the author name of messages that give none.
	DefaultUsername = "runplan-sink"
	// DefaultHistory is how many accepted messages are kept.
	DefaultHistory = 10_000
	// DefaultMaxBodyBytes bounds a request body; beyond it the answer is 413.
	DefaultMaxBodyBytes = 8 << 20
)

// Options configure a Sink. The zero value gives the defaults and a random
// token. Options is a plain value; New copies it.
type Options struct {
	// WebhookID is the webhook's id in its URL (default DefaultWebhookID).
	WebhookID string
	// Token is the webhook's secret token (default: 68 random URL-safe
	// characters, the length of Discord's).
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
}

// Stats counts the requests a Sink answered. It is a snapshot, a plain value.
type Stats struct {
	// Received counts every request, whatever its route.
	Received uint64
	// Accepted counts 2xx answers, Rejected the others.
	Accepted, Rejected uint64
}

// Message is a message the sink accepted. Messages returns copies; the
// Embeds it holds must not be modified.
type Message struct {
	// ID is the message's snowflake.
	ID        string
	WebhookID string
	ChannelID string
	// ThreadID is the thread_id query parameter, if any.
	ThreadID  string
	Content   string
	Username  string
	AvatarURL string
	TTS       bool
	// Embeds are the embeds as sent, in JSON.
	Embeds []json.RawMessage
	// Received is when the request was answered.
	Received time.Time
}

// Sink is an embedded Discord-compatible webhook receiver. All its methods are
// safe for concurrent use.
type Sink struct {
	opts Options
	mux  *http.ServeMux

	mu     sync.Mutex // guards srv, ln, closed
	srv    *http.Server
	ln     net.Listener
	closed bool

	received, accepted, rejected atomic.Uint64
	lastID                       atomic.Uint64

	histMu sync.Mutex
	hist   []Message // ring of opts.History messages
	next   int       // index of the next write in hist
	full   bool
}

// New returns a sink configured by opts, not yet listening: use it as an
// http.Handler, or call Start. New is safe for concurrent use.
func New(opts Options) *Sink {
	if opts.WebhookID == "" {
		opts.WebhookID = DefaultWebhookID
	}
	if opts.Token == "" {
		opts.Token = randomToken(68)
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
	s := &Sink{opts: opts, mux: http.NewServeMux()}
	if opts.History > 0 {
		s.hist = make([]Message, 0, min(opts.History, 1024))
	}
	s.routes()
	return s
}

// routes registers the endpoints. Paths are matched by the handlers
// themselves so that every miss gets Discord's JSON 404, not ServeMux's text.
func (s *Sink) routes() {
	s.mux.HandleFunc("/api/", s.serveAPI)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, apiError{Message: "404: Not Found", Code: 0})
	})
}

// randomToken returns n URL-safe random characters.
func randomToken(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("sink: crypto/rand: " + err.Error())
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// WebhookID returns the webhook's id. Safe for concurrent use.
func (s *Sink) WebhookID() string { return s.opts.WebhookID }

// Token returns the webhook's secret token. Safe for concurrent use.
func (s *Sink) Token() string { return s.opts.Token }

// WebhookURL returns the webhook's URL under base, a server root such as
// httptest.Server.URL: base/api/webhooks/{id}/{token}. Safe for concurrent use.
func (s *Sink) WebhookURL(base string) string {
	return base + "/api/webhooks/" + s.opts.WebhookID + "/" + s.opts.Token
}

// Start listens on addr (such as "127.0.0.1:0") and serves in the
// background until Close. A sink starts at most once. Safe for concurrent use.
func (s *Sink) Start(addr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("sink: start after close")
	}
	if s.srv != nil {
		return errors.New("sink: already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("sink: %w", err)
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

// URL returns the webhook's URL, http://127.0.0.1:PORT/api/webhooks/{id}/{token},
// or "" before Start. It holds the token: redact it before showing it. Safe
// for concurrent use.
func (s *Sink) URL() string {
	a := s.Addr()
	if a == "" {
		return ""
	}
	return s.WebhookURL("http://" + a)
}

// Close stops the server, closing its connections. It is idempotent and safe
// for concurrent use.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
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

// ServeHTTP answers one request as Discord would, counting it. Safe for
// concurrent use.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.received.Add(1)
	sw := &statusWriter{ResponseWriter: w}
	s.mux.ServeHTTP(sw, r)
	if sw.status == 0 || sw.status >= 200 && sw.status <= 299 {
		s.accepted.Add(1)
	} else {
		s.rejected.Add(1)
	}
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
	// Read accepted and rejected before received, so that a concurrent
	// request never makes Accepted+Rejected exceed Received.
	a, rj := s.accepted.Load(), s.rejected.Load()
	return Stats{Received: s.received.Load(), Accepted: a, Rejected: rj}
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

// record keeps m in the bounded history.
func (s *Sink) record(m Message) {
	if s.opts.History <= 0 {
		return
	}
	s.histMu.Lock()
	defer s.histMu.Unlock()
	if !s.full && len(s.hist) < s.opts.History {
		s.hist = append(s.hist, m)
		if len(s.hist) == s.opts.History {
			s.full, s.next = true, 0
		}
		return
	}
	s.hist[s.next] = m
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
