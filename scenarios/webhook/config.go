package webhook

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/notify"
	"github.com/runplan/runplan/engine/redact"
	"github.com/runplan/runplan/scenarios/webhook/sink"
)

// Flavors of webhook services: they decide how answers are read.
const (
	FlavorDiscord = sink.FlavorDiscord
	FlavorSlack   = sink.FlavorSlack
	FlavorGeneric = sink.FlavorGeneric
)

// Rate-limit modes.
const (
	// RateRespect waits as a good client does: per-bucket queue,
	// pre-emptive waits on X-RateLimit-Remaining: 0, 429s honoured and
	// retried, the global limit kept.
	RateRespect = "respect"
	// RateIgnore sends regardless, to measure what the service does
	// without a client-side limiter; 429s are failures of class
	// rate_limited.
	RateIgnore = "ignore"
)

// Signing schemes for generic webhooks.
const (
	SigningGitHub   = sink.SigningGitHub
	SigningStandard = sink.SigningStandard
)

// Where a target backed by the embedded sink sends (sink.send_to).
const (
	SendToWebhook        = "webhook"
	SendToUnknownWebhook = "unknown_webhook"
	SendToWrongToken     = "wrong_token"
)

// Target defaults.
const (
	DefaultTimeout       = 10 * time.Second
	DefaultMaxConns      = 100
	DefaultMargin        = 50 * time.Millisecond
	DefaultMaxWait       = time.Minute
	DefaultRetries       = 3
	DefaultBackoff       = 250 * time.Millisecond
	DefaultMaxBackoff    = 5 * time.Second
	DefaultInvalidBudget = 1000
	DefaultInvalidPer    = 10 * time.Minute
)

var (
	targetKeys  = []string{"driver", "url", "flavor", "timeout", "headers", "max_conns", "rate_limit", "retries", "invalid_budget", "signing", "trace_headers", "sink"}
	flavors     = []string{FlavorDiscord, FlavorSlack, FlavorGeneric}
	rateKeys    = []string{"mode", "margin", "max_wait"}
	retryKeys   = []string{"max", "backoff", "max_backoff"}
	budgetKeys  = []string{"max", "per"}
	signingKeys = []string{"scheme", "secret"}
	sinkKeys    = []string{"rate_limit", "channel_limit", "global_limit", "send_to", "fault"}
	faultKeys   = []string{"delay", "status", "retry_after", "hang", "reset", "garbage", "delivered", "ratio"}
)

// targetConfig is a target's decoded configuration.
type targetConfig struct {
	url      string
	flavor   string
	timeout  time.Duration
	headers  http.Header
	maxConns int

	rateMode string
	margin   time.Duration
	maxWait  time.Duration

	retries    int
	backoff    time.Duration
	maxBackoff time.Duration

	budget    int
	budgetPer time.Duration

	signing string // "", SigningGitHub or SigningStandard
	secret  string
	key     []byte // the Standard Webhooks key

	trace bool

	sinkOpts sink.Options
	sendTo   string

	// noFast keeps the target on net/http (tests compare both clients).
	noFast bool
}

// parseTarget decodes and validates t without I/O, reporting every problem.
func parseTarget(t driver.TargetSpec) (*targetConfig, error) {
	cfg := &targetConfig{
		url: t.URL, timeout: DefaultTimeout, maxConns: DefaultMaxConns, headers: http.Header{},
		rateMode: RateRespect, margin: DefaultMargin, maxWait: DefaultMaxWait,
		retries: DefaultRetries, backoff: DefaultBackoff, maxBackoff: DefaultMaxBackoff,
		budget: DefaultInvalidBudget, budgetPer: DefaultInvalidPer,
		trace: true, sendTo: SendToWebhook,
	}
	var errs []error
	var urlNode, signingNode, sinkNode *yaml.Node
	for _, f := range fields(t.Node, "target", &errs) {
		switch f.key.Value {
		case "driver":
		case "url":
			urlNode = f.val
			if cfg.url == "" && !isNull(f.val) && f.val.Kind == yaml.ScalarNode {
				cfg.url = f.val.Value
			}
		case "flavor":
			s, ok := scalarString(f.val, "flavor", &errs)
			if !ok {
				continue
			}
			switch s {
			case FlavorDiscord, FlavorSlack, FlavorGeneric:
				cfg.flavor = s
			default:
				errs = append(errs, badWord(f.val, "flavor", s, flavors))
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
			if v, ok := parseInt(f.val, "max_conns", 1, 1_000_000, &errs); ok {
				cfg.maxConns = v
			}
		case "rate_limit":
			cfg.parseRate(f.val, &errs)
		case "retries":
			cfg.parseRetries(f.val, &errs)
		case "invalid_budget":
			cfg.parseBudget(f.val, &errs)
		case "signing":
			signingNode = f.val
			cfg.parseSigning(f.val, &errs)
		case "trace_headers":
			if b, ok := parseBool(f.val, "trace_headers", &errs); ok {
				cfg.trace = b
			}
		case "sink":
			sinkNode = f.val
			cfg.parseSink(f.val, &errs)
		default:
			errs = append(errs, unknownKey(f.key, "target", targetKeys))
		}
	}
	if cfg.url != "" {
		if err := checkURL(cfg.url); err != nil {
			errs = append(errs, locate(urlNode, err))
		}
		if sinkNode != nil {
			errs = append(errs, driver.Errorf(sinkNode, "webhook: sink options apply to the embedded sink, and this target has a url"))
		}
	}
	if cfg.flavor == "" {
		cfg.flavor = inferFlavor(cfg.url)
	}
	if cfg.signing != "" && cfg.flavor != FlavorGeneric {
		errs = append(errs, driver.Errorf(signingNode, "webhook: signing applies to the generic flavor (Discord and Slack do not verify signatures)"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if cfg.url == "" {
		cfg.sinkOpts.Flavor = cfg.flavor
		cfg.sinkOpts.Signing, cfg.sinkOpts.Secret = cfg.signing, cfg.secret
		if err := cfg.sinkOpts.Check(); err != nil {
			return nil, driver.Errorf(sinkNode, "webhook: %w", err)
		}
	}
	return cfg, nil
}

// inferFlavor names the service a URL belongs to, by the rule that
// notifications follow too (notify.Flavor: slack for hooks.slack.com,
// discord for Discord's webhook paths, generic otherwise); a target without
// a URL is the embedded sink, discord by default.
func inferFlavor(raw string) string {
	if raw == "" {
		return FlavorDiscord
	}
	return notify.Flavor(raw)
}

func (cfg *targetConfig) parseRate(n *yaml.Node, errs *[]error) {
	n = deref(n)
	if n != nil && n.Kind == yaml.ScalarNode {
		cfg.rateMode = rateMode(n, errs, cfg.rateMode)
		return
	}
	for _, f := range fields(n, "rate_limit", errs) {
		switch f.key.Value {
		case "mode":
			cfg.rateMode = rateMode(f.val, errs, cfg.rateMode)
		case "margin":
			if d, ok := parseDurationZero(f.val, "rate_limit margin", errs); ok {
				cfg.margin = d
			}
		case "max_wait":
			if d, ok := parseDuration(f.val, "rate_limit max_wait", errs); ok {
				cfg.maxWait = d
			}
		default:
			*errs = append(*errs, unknownKey(f.key, "rate_limit", rateKeys))
		}
	}
}

func rateMode(n *yaml.Node, errs *[]error, def string) string {
	s, ok := scalarString(n, "rate_limit mode", errs)
	if !ok {
		return def
	}
	switch s {
	case RateRespect, RateIgnore:
		return s
	}
	*errs = append(*errs, badWord(n, "rate_limit mode", s, []string{RateRespect, RateIgnore}))
	return def
}

func (cfg *targetConfig) parseRetries(n *yaml.Node, errs *[]error) {
	n = deref(n)
	if n != nil && n.Kind == yaml.ScalarNode {
		if v, ok := parseInt(n, "retries", 0, 100, errs); ok {
			cfg.retries = v
		}
		return
	}
	for _, f := range fields(n, "retries", errs) {
		switch f.key.Value {
		case "max":
			if v, ok := parseInt(f.val, "retries max", 0, 100, errs); ok {
				cfg.retries = v
			}
		case "backoff":
			if d, ok := parseDuration(f.val, "retries backoff", errs); ok {
				cfg.backoff = d
			}
		case "max_backoff":
			if d, ok := parseDuration(f.val, "retries max_backoff", errs); ok {
				cfg.maxBackoff = d
			}
		default:
			*errs = append(*errs, unknownKey(f.key, "retries", retryKeys))
		}
	}
	if cfg.maxBackoff < cfg.backoff {
		*errs = append(*errs, driver.Errorf(n, "webhook: retries: max_backoff %s is below backoff %s", cfg.maxBackoff, cfg.backoff))
	}
}

func (cfg *targetConfig) parseBudget(n *yaml.Node, errs *[]error) {
	n = deref(n)
	if n != nil && n.Kind == yaml.ScalarNode {
		if v, ok := parseInt(n, "invalid_budget", 1, 1_000_000, errs); ok {
			cfg.budget = v
		}
		return
	}
	for _, f := range fields(n, "invalid_budget", errs) {
		switch f.key.Value {
		case "max":
			if v, ok := parseInt(f.val, "invalid_budget max", 1, 1_000_000, errs); ok {
				cfg.budget = v
			}
		case "per":
			if d, ok := parseDuration(f.val, "invalid_budget per", errs); ok {
				cfg.budgetPer = d
			}
		default:
			*errs = append(*errs, unknownKey(f.key, "invalid_budget", budgetKeys))
		}
	}
}

func (cfg *targetConfig) parseSigning(n *yaml.Node, errs *[]error) {
	var secretNode *yaml.Node
	before := len(*errs)
	for _, f := range fields(n, "signing", errs) {
		switch f.key.Value {
		case "scheme":
			s, ok := scalarString(f.val, "signing scheme", errs)
			if !ok {
				continue
			}
			switch s {
			case SigningGitHub, SigningStandard:
				cfg.signing = s
			default:
				*errs = append(*errs, badWord(f.val, "signing scheme", s, []string{SigningGitHub, SigningStandard}))
			}
		case "secret":
			secretNode = f.val
			// Never quote the value: it is a secret.
			s, ok := scalarString(f.val, "signing secret", errs)
			if ok && s == "" {
				*errs = append(*errs, driver.Errorf(f.val, "webhook: signing secret is empty"))
				ok = false
			}
			if ok {
				cfg.secret = s
			}
		default:
			*errs = append(*errs, unknownKey(f.key, "signing", signingKeys))
		}
	}
	if n != nil && (cfg.signing == "" || cfg.secret == "") && len(*errs) == before {
		*errs = append(*errs, driver.Errorf(n, "webhook: signing needs a scheme (github or standard) and a secret"))
	}
	if cfg.signing == SigningStandard && cfg.secret != "" {
		key, err := sink.StandardKey(cfg.secret)
		if err != nil {
			*errs = append(*errs, driver.Errorf(secretNode, "webhook: signing secret: %w", err))
		}
		cfg.key = key
	}
}

func (cfg *targetConfig) parseSink(n *yaml.Node, errs *[]error) {
	o := &cfg.sinkOpts
	for _, f := range fields(n, "sink", errs) {
		switch f.key.Value {
		case "rate_limit":
			o.RateLimit = parseLimit(f.val, "sink rate_limit", errs)
		case "channel_limit":
			o.ChannelLimit = parseLimit(f.val, "sink channel_limit", errs)
		case "global_limit":
			o.GlobalLimit = parseLimit(f.val, "sink global_limit", errs)
		case "send_to":
			s, ok := scalarString(f.val, "sink send_to", errs)
			if !ok {
				continue
			}
			switch s {
			case SendToWebhook, SendToUnknownWebhook, SendToWrongToken:
				cfg.sendTo = s
			default:
				*errs = append(*errs, badWord(f.val, "sink send_to", s, []string{SendToWebhook, SendToUnknownWebhook, SendToWrongToken}))
			}
		case "fault":
			o.Fault = parseFault(f.val, errs)
		default:
			*errs = append(*errs, unknownKey(f.key, "sink", sinkKeys))
		}
	}
}

func parseLimit(n *yaml.Node, what string, errs *[]error) sink.Limit {
	s, ok := scalarString(n, what, errs)
	if !ok {
		return sink.Limit{}
	}
	if deref(n).Tag == "!!bool" && s == "false" {
		return sink.NoLimit // off: YAML 1.1 readers turn it into false
	}
	l, err := sink.ParseLimit(s)
	if err != nil {
		*errs = append(*errs, driver.Errorf(n, "webhook: %s %q: %v", what, s, sink.ErrBadLimit))
		return sink.Limit{}
	}
	return l
}

func parseFault(n *yaml.Node, errs *[]error) *sink.Fault {
	f := &sink.Fault{}
	for _, kv := range fields(n, "sink fault", errs) {
		switch kv.key.Value {
		case "delay":
			if d, ok := parseDuration(kv.val, "fault delay", errs); ok {
				f.Delay = d
			}
		case "status":
			if v, ok := parseInt(kv.val, "fault status", 100, 599, errs); ok {
				f.Status = v
			}
		case "retry_after":
			if d, ok := parseDuration(kv.val, "fault retry_after", errs); ok {
				f.RetryAfter = d
			}
		case "hang", "reset", "garbage", "delivered":
			b, ok := parseBool(kv.val, "fault "+kv.key.Value, errs)
			if !ok {
				continue
			}
			switch kv.key.Value {
			case "hang":
				f.Hang = b
			case "reset":
				f.Reset = b
			case "garbage":
				f.Garbage = b
			default:
				f.Delivered = b
			}
		case "ratio":
			v := deref(kv.val)
			r, err := strconv.ParseFloat(v.Value, 64)
			if v.Kind != yaml.ScalarNode || (v.Tag != "!!float" && v.Tag != "!!int") || err != nil || r <= 0 || r > 1 {
				*errs = append(*errs, driver.Errorf(v, "webhook: fault ratio must be a number above 0 and at most 1"))
				continue
			}
			f.Ratio = r
		default:
			*errs = append(*errs, unknownKey(kv.key, "sink fault", faultKeys))
		}
	}
	return f
}

// badWord reports value s of what, not one of known.
func badWord(n *yaml.Node, what, s string, known []string) error {
	msg := fmt.Sprintf("webhook: unknown %s %q (%s)", what, s, strings.Join(known, ", "))
	if sg := suggest(s, known); sg != "" {
		msg += fmt.Sprintf("; did you mean %q?", sg)
	}
	return driver.Errorf(n, "%s", msg)
}

// parseInt decodes an integer from lo to hi.
func parseInt(n *yaml.Node, what string, lo, hi int, errs *[]error) (int, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		*errs = append(*errs, driver.Errorf(n, "webhook: %s must be an integer from %d to %d", what, lo, hi))
		return 0, false
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil || v < lo || v > hi {
		*errs = append(*errs, driver.Errorf(n, "webhook: %s must be an integer from %d to %d", what, lo, hi))
		return 0, false
	}
	return v, true
}

func parseBool(n *yaml.Node, what string, errs *[]error) (bool, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		*errs = append(*errs, driver.Errorf(n, "webhook: %s must be true or false", what))
		return false, false
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		*errs = append(*errs, driver.Errorf(n, "webhook: %s must be true or false", what))
		return false, false
	}
	return b, true
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
		return fmt.Errorf("webhook: url %s does not parse: %s", Redact(raw), redact.ParseReason(err))
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
	d, ok := parseDurationZero(n, what, errs)
	if ok && d == 0 {
		*errs = append(*errs, driver.Errorf(deref(n), "webhook: %s %q is not a positive duration such as 500ms or 10s", what, deref(n).Value))
		return 0, false
	}
	return d, ok
}

// parseDurationZero decodes a Go duration string, zero or positive.
func parseDurationZero(n *yaml.Node, what string, errs *[]error) (time.Duration, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && !(n.Tag == "!!int" && n.Value == "0")) {
		*errs = append(*errs, driver.Errorf(n, "webhook: %s must be a duration such as 500ms or 10s", what))
		return 0, false
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil || d < 0 {
		*errs = append(*errs, driver.Errorf(n, "webhook: %s %q is not a positive duration such as 500ms or 10s", what, n.Value))
		return 0, false
	}
	return d, true
}
