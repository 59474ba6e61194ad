// Package promrw is the exporter kind prometheus-rw: it streams a run's
// figures to a Prometheus remote-write receiver (Prometheus itself with
// --web.enable-remote-write-receiver, Mimir, Thanos Receive, VictoriaMetrics,
// Grafana Cloud) while the run runs, and its final ones when it is over.
//
//	runplan run plan.yaml --export 'prometheus-rw=http://127.0.0.1:9090/api/v1/write?interval=5s'
//
// It speaks remote write 1.0 (prometheus.WriteRequest, the one every
// receiver accepts), encoded by Prometheus's own prompb types and sent,
// snappy-compressed, by client_golang's remote-write client. Latency goes
// out as percentile gauges read off runplan's HDR histograms, not as
// native histograms: see docs/OBSERVABILITY.md for the metrics and why.
package promrw

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/exp/api/remote"

	"github.com/runplan/runplan/engine/export"
	"github.com/runplan/runplan/engine/redact"
	"github.com/runplan/runplan/engine/report"
)

// Kind is the exporter kind's name, --export prometheus-rw=URL.
const Kind = "prometheus-rw"

// Flush intervals: the default, and the bounds an interval= parameter must
// keep within.
const (
	DefaultInterval = 5 * time.Second
	MinInterval     = 100 * time.Millisecond
	MaxInterval     = 5 * time.Minute
)

func init() { export.Register(Kind, Open) }

// Config is an exporter's target, parsed.
type Config struct {
	// URL is the receiver's write endpoint as sent to: the target without
	// runplan's own parameters (interval, token). Basic-auth credentials
	// stay in it; net/http sends them.
	URL string
	// Token, when set, is sent as "Authorization: Bearer TOKEN".
	Token string
	// Interval is how often the live figures are flushed.
	Interval time.Duration
	// Display is the target with its credentials masked, for logs and
	// notes.
	Display string
}

// ParseTarget reads an exporter target: an http(s) URL of the receiver's
// write endpoint, with optional parameters interval=DURATION (flush
// interval, DefaultInterval without it) and token=TOKEN (a bearer token),
// which runplan takes out of the URL; any other parameter goes to the
// receiver.
func ParseTarget(target string) (Config, error) {
	c := Config{Interval: DefaultInterval, Display: redact.MaskURL(target)}
	const want = "want an http or https URL of the receiver's write endpoint, e.g. http://127.0.0.1:9090/api/v1/write"
	u, err := url.Parse(target)
	if err != nil {
		return c, fmt.Errorf("%s: %s: %s", c.Display, redact.ParseReason(err), want)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return c, fmt.Errorf("%s: %s", c.Display, want)
	}
	q := u.Query()
	if v := q.Get("interval"); q.Has("interval") {
		d, err := time.ParseDuration(v)
		if err != nil || d < MinInterval || d > MaxInterval {
			return c, fmt.Errorf("%s: interval %q: want a duration from %v to %v", c.Display, v, MinInterval, MaxInterval)
		}
		c.Interval = d
		q.Del("interval")
	}
	if q.Has("token") {
		c.Token = q.Get("token")
		q.Del("token")
	}
	u.RawQuery = q.Encode()
	c.URL = u.String()
	return c, nil
}

// Open is the kind's export.Opener.
func Open(target string, opts export.Options) (export.Exporter, error) {
	cfg, err := ParseTarget(target)
	if err != nil {
		return nil, err
	}
	if opts.Secrets == nil {
		opts.Secrets = redact.New()
	}
	opts.Secrets.AddURL(target)
	opts.Secrets.Add(cfg.Token)
	return New(cfg, opts)
}

// Exporter writes a run's figures to one receiver. Start and Finish are
// called from one goroutine (export.Exporter); its flushing goroutine is
// its own.
type Exporter struct {
	cfg  Config
	opts export.Options
	api  *remote.API

	cancel context.CancelFunc
	done   chan struct{}
	// layout is the run's (Start), for the steps' targets in the final
	// write: the report does not name them.
	layout report.Layout

	// mu guards what the flushing goroutine and Finish share.
	mu sync.Mutex
	// lastTS is the timestamp of the latest write (ms): every write's is
	// later, as a receiver refuses samples out of order.
	lastTS int64
	// flushes and failed count the writes; failing is true during a streak
	// of failures (one warning each); firstErr is the first failure's
	// message, masked.
	flushes, failed int
	failing         bool
	firstErr        string
}

var _ export.Exporter = (*Exporter)(nil)

// bearer adds a bearer token to every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// New returns an exporter for cfg. It does no I/O.
func New(cfg Config, opts export.Options) (*Exporter, error) {
	if opts.Secrets == nil {
		opts.Secrets = redact.New()
	}
	var rt http.RoundTripper = http.DefaultTransport.(*http.Transport).Clone()
	if cfg.Token != "" {
		rt = bearer{token: cfg.Token, next: rt}
	}
	// A write is bounded by its context; the client's timeout is a hang
	// guard behind it.
	client := &http.Client{Transport: rt, Timeout: time.Minute}
	api, err := remote.NewAPI(cfg.URL, remote.WithAPIPath(""), remote.WithAPIHTTPClient(client),
		remote.WithAPIBackoff(remote.BackoffConfig{Min: 100 * time.Millisecond, Max: time.Second, MaxRetries: 2}))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Display, err)
	}
	return &Exporter{cfg: cfg, opts: opts, api: api}, nil
}

// Start flushes run's live figures every interval until Finish (or ctx
// ends).
func (e *Exporter) Start(ctx context.Context, run export.Run) {
	ctx, e.cancel = context.WithCancel(ctx)
	e.done = make(chan struct{})
	e.layout = run.Layout()
	plan, runID, segment := planLabel(run.PlanInfo()), run.RunID(), segmentLabel(run.Segment())
	go func() {
		defer close(e.done)
		t := time.NewTicker(e.cfg.Interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			scs := run.Progress()
			if scs == nil {
				continue // not started yet
			}
			wctx, cancel := context.WithTimeout(ctx, writeBudget(e.cfg.Interval))
			err := e.write(wctx, liveSamples(plan, runID, segment, scs, run.FaultProgress()))
			cancel()
			if ctx.Err() != nil {
				return // cut by Finish: the final write sends it all
			}
			e.record(err)
		}
	}()
}

// writeBudget bounds a live write: a slow receiver must not pile writes up.
func writeBudget(interval time.Duration) time.Duration { return max(interval, 2*time.Second) }

// Finish stops the live flushes, writes rep's final figures within ctx and
// returns the report's notes: one when any write failed.
func (e *Exporter) Finish(ctx context.Context, rep *report.Report) []string {
	if e.cancel != nil {
		e.cancel()
		<-e.done
	}
	e.record(e.write(ctx, finalSamples(rep, e.layout)))
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.failed == 0 {
		return nil
	}
	return []string{e.opts.Secrets.String(fmt.Sprintf("export %s to %s: %d of %d writes failed, so the receiver's series of this run are incomplete or missing (first error: %s)",
		Kind, e.cfg.Display, e.failed, e.flushes, e.firstErr))}
}

// write sends samples as one request.
func (e *Exporter) write(ctx context.Context, samples []sample) error {
	e.mu.Lock()
	ts := max(time.Now().UnixMilli(), e.lastTS+1)
	e.lastTS = ts
	e.mu.Unlock()
	_, err := e.api.Write(ctx, remote.WriteV1MessageType, writeRequest(samples, ts, e.opts.Secrets.String))
	return err
}

// record counts a write's outcome, and logs the first failure of a streak
// and the first success after one.
func (e *Exporter) record(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.flushes++
	log := e.opts.Log
	if err == nil {
		if e.failing {
			e.failing = false
			log.Info().Str("export", Kind).Str("url", e.cfg.Display).Msg("the metrics receiver accepts writes again")
		}
		return
	}
	e.failed++
	msg := e.opts.Secrets.String(errText(err))
	if e.firstErr == "" {
		e.firstErr = msg
	}
	if !e.failing {
		e.failing = true
		log.Warn().Str("export", Kind).Str("url", e.cfg.Display).Str("error", msg).
			Msg("metrics not exported: the receiver failed (said once per streak of failures; the run goes on)")
	}
}

// errText is err's message without the request's URL where net/http
// quotes it (Post "URL": ...): the log line names the URL, masked.
func errText(err error) string {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, `Post "`); ok {
		if _, after, ok := strings.Cut(rest, `": `); ok {
			return after
		}
	}
	return msg
}
