package webhook

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/decode"
	"github.com/runplan/runplan/engine/diag"
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

// targetOptions are a target's options as written; parseTarget checks them
// together and turns them into a targetConfig. Absent keys keep the
// defaults newTargetOptions sets.
type targetOptions struct {
	Driver       *yaml.Node      `yaml:"driver"` // the engine's
	URL          *yaml.Node      `yaml:"url"`    // a null url is no url
	Flavor       string          `yaml:"flavor" oneof:"discord slack generic"`
	Timeout      time.Duration   `yaml:"timeout" decode:"positive"`
	Headers      headerOptions   `yaml:"headers"`
	MaxConns     int             `yaml:"max_conns" min:"1" max:"1000000"`
	RateLimit    rateOptions     `yaml:"rate_limit"`
	Retries      retryOptions    `yaml:"retries" min:"0" max:"100"`
	Budget       budgetOptions   `yaml:"invalid_budget" min:"1" max:"1000000"`
	Signing      *signingOptions `yaml:"signing"`
	TraceHeaders bool            `yaml:"trace_headers"`
	Sink         *sinkOptions    `yaml:"sink"`
}

// rateOptions is rate_limit: a mode, or {mode, margin, max_wait}.
type rateOptions struct {
	Mode    string        `yaml:"mode" oneof:"respect ignore"`
	Margin  time.Duration `yaml:"margin"`
	MaxWait time.Duration `yaml:"max_wait" decode:"positive"`
}

// UnmarshalNode reads the shorthand `rate_limit: ignore` as {mode: ignore}.
func (r *rateOptions) UnmarshalNode(c *decode.Context, n *yaml.Node) error {
	type plain rateOptions
	if n.Kind == yaml.ScalarNode {
		n = decode.Shorthand("mode", n)
	}
	return c.Decode(n, (*plain)(r))
}

// retryOptions is retries: a count, or {max, backoff, max_backoff}.
type retryOptions struct {
	Max        int           `yaml:"max" min:"0" max:"100"`
	Backoff    time.Duration `yaml:"backoff" decode:"positive"`
	MaxBackoff time.Duration `yaml:"max_backoff" decode:"positive"`
}

// UnmarshalNode reads the shorthand `retries: 5` as {max: 5}, checking the
// order of the backoffs of the mapping form.
func (r *retryOptions) UnmarshalNode(c *decode.Context, n *yaml.Node) error {
	type plain retryOptions
	if n.Kind == yaml.ScalarNode {
		return c.Decode(n, &r.Max)
	}
	err := c.Decode(n, (*plain)(r))
	if r.MaxBackoff < r.Backoff {
		err = errors.Join(err, c.Errorf(n, "retries: max_backoff %s is below backoff %s", r.MaxBackoff, r.Backoff))
	}
	return err
}

// budgetOptions is invalid_budget: a count, or {max, per}.
type budgetOptions struct {
	Max int           `yaml:"max" min:"1" max:"1000000"`
	Per time.Duration `yaml:"per" decode:"positive"`
}

// UnmarshalNode reads the shorthand `invalid_budget: 50` as {max: 50}.
func (b *budgetOptions) UnmarshalNode(c *decode.Context, n *yaml.Node) error {
	type plain budgetOptions
	if n.Kind == yaml.ScalarNode {
		return c.Decode(n, &b.Max)
	}
	return c.Decode(n, (*plain)(b))
}

// signingOptions is signing: {scheme, secret}, both needed.
type signingOptions struct {
	Scheme string `yaml:"scheme" oneof:"github standard"`
	Secret string `yaml:"secret"` // never quoted in messages
	key    []byte // the Standard Webhooks key
}

// UnmarshalNode decodes the mapping and checks the secret.
func (s *signingOptions) UnmarshalNode(c *decode.Context, n *yaml.Node) error {
	type plain signingOptions
	err := c.Decode(n, (*plain)(s))
	secret := c.Field("secret").Value
	if err == nil && secret != nil && s.Secret == "" {
		err = c.Errorf(secret, "signing secret is empty")
	}
	if err == nil && (s.Scheme == "" || s.Secret == "") {
		err = c.Errorf(n, "signing needs a scheme (github or standard) and a secret")
	}
	if s.Scheme == SigningStandard && s.Secret != "" {
		key, kerr := sink.StandardKey(s.Secret)
		if kerr != nil {
			err = errors.Join(err, c.Errorf(secret, "signing secret: %w", kerr))
		}
		s.key = key
	}
	return err
}

// sinkOptions are the embedded sink's options.
type sinkOptions struct {
	RateLimit    limitOption   `yaml:"rate_limit"`
	ChannelLimit limitOption   `yaml:"channel_limit"`
	GlobalLimit  limitOption   `yaml:"global_limit"`
	SendTo       string        `yaml:"send_to" oneof:"webhook unknown_webhook wrong_token"`
	Fault        *faultOptions `yaml:"fault"`
}

// limitOption is a sink limit: "5/2s", or off.
type limitOption sink.Limit

// UnmarshalNode parses the limit.
func (l *limitOption) UnmarshalNode(c *decode.Context, n *yaml.Node) error {
	what := webhookName(c.Path())
	if n.Kind != yaml.ScalarNode || decode.IsNull(n) {
		return c.Errorf(n, "%s must be a string", what)
	}
	if n.Tag == "!!bool" && n.Value == "false" {
		*l = limitOption(sink.NoLimit) // off: YAML 1.1 readers turn it into false
		return nil
	}
	v, err := sink.ParseLimit(n.Value)
	if err != nil {
		return c.Errorf(n, "%s %q: %v", what, n.Value, sink.ErrBadLimit)
	}
	*l = limitOption(v)
	return nil
}

// faultOptions is a sink fault, in a target's sink or an http fault.
type faultOptions struct {
	Delay      time.Duration `yaml:"delay" decode:"positive"`
	Status     int           `yaml:"status" min:"100" max:"599"`
	RetryAfter time.Duration `yaml:"retry_after" decode:"positive"`
	Hang       bool          `yaml:"hang"`
	Reset      bool          `yaml:"reset"`
	Garbage    bool          `yaml:"garbage"`
	Delivered  bool          `yaml:"delivered"`
	Ratio      ratioOption   `yaml:"ratio"`
}

func (f *faultOptions) fault() *sink.Fault {
	return &sink.Fault{Delay: f.Delay, Status: f.Status, RetryAfter: f.RetryAfter, Hang: f.Hang, Reset: f.Reset,
		Garbage: f.Garbage, Delivered: f.Delivered, Ratio: float64(f.Ratio)}
}

// ratioOption is a fault's share of requests, in (0, 1].
type ratioOption float64

// UnmarshalNode reads the ratio.
func (r *ratioOption) UnmarshalNode(c *decode.Context, n *yaml.Node) error {
	v, err := strconv.ParseFloat(n.Value, 64)
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!float" && n.Tag != "!!int") || err != nil || v <= 0 || v > 1 {
		return c.Errorf(n, "fault ratio must be a number above 0 and at most 1")
	}
	*r = ratioOption(v)
	return nil
}

// headerOptions are the headers sent with every request, in the order
// written.
type headerOptions struct{ h http.Header }

// UnmarshalNode checks every header's name and value.
func (h *headerOptions) UnmarshalNode(c *decode.Context, n *yaml.Node) error {
	var vals map[string]*yaml.Node
	if err := c.Decode(n, &vals); err != nil {
		return err
	}
	h.h = http.Header{}
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], decode.Value(n.Content[i+1])
		if vals[k.Value] != v {
			continue // a repeated key, reported by Decode
		}
		ok := v.Kind == yaml.ScalarNode && !decode.IsNull(v)
		if !ok {
			errs = append(errs, c.Errorf(v, "header %s must be a string", k.Value))
		}
		switch {
		case !validHeaderName(k.Value):
			errs = append(errs, c.Errorf(k, "%q is not a valid header name", k.Value))
		case !ok:
		case !validHeaderValue(v.Value):
			// The value may be a secret: never quote it.
			errs = append(errs, c.Errorf(v, "header %s: the value holds a line break or NUL", k.Value))
		default:
			h.h.Add(k.Value, v.Value)
		}
	}
	return errors.Join(errs...)
}

// webhookName names the value at path in messages, by its last two keys:
// "timeout", "rate_limit margin", "sink fault", "fault delay"; the target
// itself is "target".
func webhookName(path []string) string {
	switch len(path) {
	case 0:
		return "target"
	case 1:
		return path[0]
	}
	return path[len(path)-2] + " " + path[len(path)-1]
}

// messages words the decoder's problems as the driver always has, naming
// values below base.
func messages(base ...string) func(p decode.Problem) string {
	return func(p decode.Problem) string {
		what := webhookName(append(slices.Clip(base), p.Path...))
		switch p.Kind {
		case decode.UnknownKey:
			msg := fmt.Sprintf("webhook: unknown key %q in %s", p.Key, what)
			if p.Suggestion != "" {
				return msg + fmt.Sprintf("; did you mean %q?", p.Suggestion)
			}
			return msg + " (known: " + strings.Join(p.Known, ", ") + ")"
		case decode.DuplicateKey:
			return fmt.Sprintf("webhook: %s: duplicate key %q (first at line %d)", what, p.Key, p.First.Line)
		case decode.KeyNotString:
			return fmt.Sprintf("webhook: %s: keys must be strings", what)
		case decode.NotOneOf:
			msg := fmt.Sprintf("webhook: unknown %s %q (%s)", what, p.Value(), strings.Join(p.Known, ", "))
			if p.Suggestion != "" {
				msg += fmt.Sprintf("; did you mean %q?", p.Suggestion)
			}
			return msg
		}
		var t reflect.Kind
		if p.Type != nil {
			t = p.Type.Kind()
		}
		switch {
		case p.Type == reflect.TypeFor[time.Duration]():
			if p.Kind == decode.Type || p.Node.Tag != "!!str" && !(p.Node.Tag == "!!int" && p.Node.Value == "0") {
				return fmt.Sprintf("webhook: %s must be a duration such as 500ms or 10s", what)
			}
			return fmt.Sprintf("webhook: %s %q is not a positive duration such as 500ms or 10s", what, p.Value())
		case t == reflect.Int:
			return fmt.Sprintf("webhook: %s must be an integer from %s to %s", what, p.Min, p.Max)
		case t == reflect.Bool:
			return fmt.Sprintf("webhook: %s must be true or false", what)
		case t == reflect.String:
			return fmt.Sprintf("webhook: %s must be a string", what)
		case p.Kind == decode.Type:
			return fmt.Sprintf("webhook: %s must be a mapping, not %s", what, kindName(p.Node))
		}
		return p.String()
	}
}

// parseTarget decodes and validates t without I/O, reporting every problem.
func parseTarget(t driver.TargetSpec) (*targetConfig, error) {
	o := &targetOptions{
		Timeout: DefaultTimeout, MaxConns: DefaultMaxConns,
		RateLimit:    rateOptions{Mode: RateRespect, Margin: DefaultMargin, MaxWait: DefaultMaxWait},
		Retries:      retryOptions{Max: DefaultRetries, Backoff: DefaultBackoff, MaxBackoff: DefaultMaxBackoff},
		Budget:       budgetOptions{Max: DefaultInvalidBudget, Per: DefaultInvalidPer},
		TraceHeaders: true,
	}
	f, err := decode.Decode(t.Node, o, decode.Options{Prefix: "webhook: ", Message: messages()})
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	cfg := &targetConfig{
		url: t.URL, flavor: o.Flavor, timeout: o.Timeout, headers: o.Headers.h, maxConns: o.MaxConns,
		rateMode: o.RateLimit.Mode, margin: o.RateLimit.Margin, maxWait: o.RateLimit.MaxWait,
		retries: o.Retries.Max, backoff: o.Retries.Backoff, maxBackoff: o.Retries.MaxBackoff,
		budget: o.Budget.Max, budgetPer: o.Budget.Per,
		trace: o.TraceHeaders, sendTo: SendToWebhook,
	}
	if cfg.headers == nil {
		cfg.headers = http.Header{}
	}
	urlNode, signingNode, sinkNode := f.Value("url"), f.Value("signing"), f.Value("sink")
	if cfg.url == "" && !decode.IsNull(urlNode) && urlNode.Kind == yaml.ScalarNode {
		cfg.url = urlNode.Value
	}
	if o.Signing != nil {
		cfg.signing, cfg.secret, cfg.key = o.Signing.Scheme, o.Signing.Secret, o.Signing.key
	}
	if s := o.Sink; s != nil {
		cfg.sinkOpts.RateLimit = sink.Limit(s.RateLimit)
		cfg.sinkOpts.ChannelLimit = sink.Limit(s.ChannelLimit)
		cfg.sinkOpts.GlobalLimit = sink.Limit(s.GlobalLimit)
		if s.SendTo != "" {
			cfg.sendTo = s.SendTo
		}
		if s.Fault != nil {
			cfg.sinkOpts.Fault = s.Fault.fault()
		}
	}
	if cfg.url != "" {
		if err := checkURL(cfg.url); err != nil {
			errs = append(errs, locate(urlNode, err))
		}
		if sinkNode != nil {
			errs = append(errs, diag.Errorf(sinkNode, "webhook: sink options apply to the embedded sink, and this target has a url"))
		}
	}
	if cfg.flavor == "" {
		cfg.flavor = inferFlavor(cfg.url)
	}
	if cfg.signing != "" && cfg.flavor != FlavorGeneric {
		errs = append(errs, diag.Errorf(signingNode, "webhook: signing applies to the generic flavor (Discord and Slack do not verify signatures)"))
	}
	if len(errs) > 0 {
		// The best reading of a target with problems: its steps and faults
		// are still checked against it (driver.Driver.Configure).
		return cfg, errors.Join(errs...)
	}
	if cfg.url == "" {
		cfg.sinkOpts.Flavor = cfg.flavor
		cfg.sinkOpts.Signing, cfg.sinkOpts.Secret = cfg.signing, cfg.secret
		if err := cfg.sinkOpts.Check(); err != nil {
			return nil, diag.Errorf(sinkNode, "webhook: %w", err)
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

// parseFault decodes a sink fault: a target's sink.fault, or an http
// fault's options.
func parseFault(n *yaml.Node, errs *[]error) *sink.Fault {
	o := &faultOptions{}
	if n == nil {
		return o.fault()
	}
	if _, err := decode.Decode(n, o, decode.Options{Prefix: "webhook: ", Message: messages("sink", "fault")}); err != nil {
		*errs = append(*errs, err)
	}
	return o.fault()
}

// locate places err at node n when n is known.
func locate(n *yaml.Node, err error) error {
	if n == nil {
		return err
	}
	return diag.ErrorAt(diag.PosOf(n), err)
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
