package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/scenarios/webhook/sink"
)

// Flavors of webhook services: they decide how error responses are read.
const (
	FlavorDiscord = "discord"
	FlavorSlack   = "slack"
	FlavorGeneric = "generic"
)

// Target defaults.
const (
	DefaultTimeout  = 10 * time.Second
	DefaultMaxConns = 100
)

var (
	targetKeys = []string{"driver", "url", "flavor", "timeout", "headers", "max_conns"}
	flavors    = []string{FlavorDiscord, FlavorSlack, FlavorGeneric}
)

// targetConfig is a target's decoded configuration.
type targetConfig struct {
	url      string
	flavor   string
	timeout  time.Duration
	headers  http.Header
	maxConns int
}

// parseTarget decodes and validates t without I/O, reporting every problem.
func parseTarget(t driver.TargetSpec) (*targetConfig, error) {
	cfg := &targetConfig{url: t.URL, timeout: DefaultTimeout, maxConns: DefaultMaxConns, headers: http.Header{}}
	var errs []error
	var urlNode, flavorNode *yaml.Node
	for _, f := range fields(t.Node, "target", &errs) {
		switch f.key.Value {
		case "driver":
		case "url":
			urlNode = f.val
			if cfg.url == "" && !isNull(f.val) && f.val.Kind == yaml.ScalarNode {
				cfg.url = f.val.Value
			}
		case "flavor":
			flavorNode = f.val
			s, ok := scalarString(f.val, "flavor", &errs)
			if !ok {
				continue
			}
			switch s {
			case FlavorDiscord, FlavorSlack, FlavorGeneric:
				cfg.flavor = s
			default:
				msg := fmt.Sprintf("webhook: unknown flavor %q (discord, slack or generic)", s)
				if sg := suggest(s, flavors); sg != "" {
					msg += fmt.Sprintf("; did you mean %q?", sg)
				}
				errs = append(errs, driver.Errorf(f.val, "%s", msg))
			}
		case "timeout":
			if d, ok := parseDuration(f.val, "timeout", &errs); ok {
				cfg.timeout = d
			}
		case "headers":
			for _, h := range fields(f.val, "headers", &errs) {
				v, ok := scalarString(h.val, "header "+h.key.Value, &errs)
				switch {
				case !validHeaderName(h.key.Value):
					errs = append(errs, driver.Errorf(h.key, "webhook: %q is not a valid header name", h.key.Value))
				case ok && !validHeaderValue(v):
					// The value may be a secret: never quote it.
					errs = append(errs, driver.Errorf(h.val, "webhook: header %s: the value holds a line break or NUL", h.key.Value))
				case ok:
					cfg.headers.Add(h.key.Value, v)
				}
			}
		case "max_conns":
			n := deref(f.val)
			v, err := strconv.Atoi(n.Value)
			if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil || v < 1 || v > 1_000_000 {
				errs = append(errs, driver.Errorf(n, "webhook: max_conns must be an integer from 1 to 1000000"))
				continue
			}
			cfg.maxConns = v
		default:
			errs = append(errs, unknownKey(f.key, "target", targetKeys))
		}
	}
	if cfg.url != "" {
		if err := checkURL(cfg.url); err != nil {
			errs = append(errs, locate(urlNode, err))
		}
	}
	if cfg.flavor == "" {
		cfg.flavor = FlavorDiscord
		if u, err := url.Parse(cfg.url); err == nil && strings.EqualFold(u.Hostname(), "hooks.slack.com") {
			cfg.flavor = FlavorSlack
		}
	}
	if cfg.url == "" && cfg.flavor != FlavorDiscord {
		errs = append(errs, driver.Errorf(flavorNode, "webhook: flavor %s needs a url: the embedded sink emulates Discord only", cfg.flavor))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cfg, nil
}

// locate places err at node n when n is known.
func locate(n *yaml.Node, err error) error {
	if n == nil {
		return err
	}
	return &driver.PosError{Line: n.Line, Col: n.Column, Err: err}
}

// checkURL validates a webhook URL; its errors never hold the URL's secrets.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		// The parser quotes the offending piece of the URL (a bad port, an
		// escape), which may be the token: keep only the words before it.
		reason := err.Error()
		var ue *url.Error
		if errors.As(err, &ue) {
			reason = ue.Err.Error()
		}
		reason, _, _ = strings.Cut(reason, `"`)
		reason = strings.TrimSpace(strings.TrimPrefix(reason, "net/url: "))
		return fmt.Errorf("webhook: url %s does not parse: %s", Redact(raw), reason)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("webhook: url %s: the scheme must be http or https", Redact(raw))
	}
	if u.Host == "" {
		return fmt.Errorf("webhook: url %s has no host", Redact(raw))
	}
	return nil
}

// parseDuration decodes a Go duration string, positive.
func parseDuration(n *yaml.Node, what string, errs *[]error) (time.Duration, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		*errs = append(*errs, driver.Errorf(n, "webhook: %s must be a duration such as 500ms or 10s", what))
		return 0, false
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil || d <= 0 {
		*errs = append(*errs, driver.Errorf(n, "webhook: %s %q is not a positive duration such as 500ms or 10s", what, n.Value))
		return 0, false
	}
	return d, true
}

// Target is an open webhook target: an HTTP client with its connection pool,
// and the embedded sink when the plan gave no URL. Its methods are safe for
// concurrent use.
type Target struct {
	cfg    *targetConfig
	kind   string
	url    string
	red    redactor
	client *http.Client
	sink   *sink.Sink
}

// newTarget builds the client for cfg and URL u (the sink's, when embedded).
func newTarget(cfg *targetConfig, u, kind string) *Target {
	dialer := &net.Dialer{KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
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
	return &Target{
		cfg:  cfg,
		kind: kind,
		url:  u,
		red:  newRedactor(u),
		client: &http.Client{
			Transport: tr,
			// A webhook that redirects is misconfigured; following would
			// turn a POST into a GET and hide it.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// Kind is driver.KindEmbedded when the target is the embedded sink and
// driver.KindExternal otherwise. Safe for concurrent use.
func (t *Target) Kind() string { return t.kind }

// Addr is the webhook URL with its token redacted (see Redact). Safe for
// concurrent use.
func (t *Target) Addr() string { return t.red.url }

// Flavor is the target's flavor: FlavorDiscord, FlavorSlack or FlavorGeneric.
// Safe for concurrent use.
func (t *Target) Flavor() string { return t.cfg.flavor }

// Sink returns the embedded sink, or nil for an external target, so that its
// statistics can be read. Safe for concurrent use.
func (t *Target) Sink() *sink.Sink { return t.sink }

// Ping does nothing but honour ctx: a webhook has no side-effect-free probe,
// and a run must not post to a real channel before it starts. Safe for
// concurrent use.
func (t *Target) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("webhook: ping %s: %w", t.Addr(), err)
	}
	return nil
}

// Close releases the idle connections and stops the embedded sink. It is
// called once, after every step has finished.
func (t *Target) Close() error {
	t.client.CloseIdleConnections()
	if t.sink != nil {
		if err := t.sink.Close(); err != nil {
			return fmt.Errorf("webhook: closing the embedded sink: %w", err)
		}
	}
	return nil
}
