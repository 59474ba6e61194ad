// Package webhook is the runplan driver for webhooks (Discord, Slack or any
// HTTP endpoint): targets are HTTP clients with a tuned connection pool, a
// client-side rate limiter and an invalid-request budget, or the embedded
// sink (package sink) when the target has no URL; steps are HTTP requests
// whose bodies are rendered from templates on every iteration, delivered the
// way a well-behaved production client does. docs/WEBHOOKS.md is the user's
// guide.
//
// A target's YAML mapping accepts, besides the engine's `driver` and `url`:
//
//	flavor: discord      # discord | slack | generic; inferred from the URL
//	timeout: 10s         # per request (attempt), dial to last byte
//	headers: {Authorization: "Bearer ${TOKEN}"}   # sent with every request
//	max_conns: 100       # connections per host, idle and active
//	rate_limit: respect  # or ignore; or {mode: respect, margin: 50ms, max_wait: 1m}
//	retries: 3           # or {max: 3, backoff: 250ms, max_backoff: 5s}; 0: none
//	invalid_budget: 1000 # or {max: 1000, per: 10m}: 401/403/429s before the scenario stops
//	signing: {scheme: github, secret: "${SECRET}"}  # generic only; or standard, whsec_...
//	trace_headers: true  # X-Runplan-Message and X-Runplan-Sent on every delivery
//	sink:                # the embedded sink (no url): limits, send_to, fault
//	  rate_limit: 5/2s
//	  channel_limit: off
//	  global_limit: 50/s
//	  send_to: webhook   # or unknown_webhook, wrong_token
//	  fault: {delay: 2s, status: 503, hang: true, reset: true, garbage: true, delivered: true, ratio: 0.5}
//
// A step is the mapping under `webhook:`:
//
//	webhook:
//	  json: {content: "signal {{ iteration }}", price: "{{ 100 + uniform(10) }}"}
//	  body: "raw text {{ vu }}"   # instead of json
//	  method: POST       # default POST
//	  query: {wait: "true"}
//	  headers: {X-Request-Id: "{{ randstr(12) }}"}
//	  timeout: 2s        # overrides the target's
//	expect: {status: [200, 204]}   # or 204, or "2xx"; default any 2xx
//
// Every string inside json is a template; a string that is exactly one
// `{{ expr }}` keeps the expression's type, so numbers stay numbers. Static
// parts of the body are rendered once, when the step is prepared.
//
// Failures are classified (see the Class constants and StatusClass) and
// reported as *Error, whose text never holds the webhook's token: every URL
// in an error, in Addr and in logs goes through Redact, and every secret of
// the target is scrubbed from any text.
//
// Lifecycle: Configure decodes and validates a target once, without I/O,
// into a Config; the Config's Prepare (and PrepareFault) validate without
// I/O (Prepare warns when a plan aims more load at a real Discord or Slack
// webhook than they allow); Open builds the client (or starts the embedded sink) without
// sending anything; Bind ties a step to its open target; Do runs
// concurrently; Close releases everything.
package webhook

import (
	"context"
	"fmt"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/scenarios/webhook/sink"
)

// Name is the name the driver is registered under.
const Name = "webhook"

func init() { driver.Register(Name, Driver{}) }

var (
	_ driver.Driver          = Driver{}
	_ driver.ServerMetricser = Driver{}
	_ driver.Config          = (*Config)(nil)
	_ driver.FaultPreparer   = (*Config)(nil)
	_ driver.Target          = (*Target)(nil)
	_ driver.Pinger          = (*Target)(nil)
	_ driver.ServerStatser   = (*Target)(nil)
	_ driver.Step            = (*step)(nil)
	_ error                  = (*Error)(nil)
)

// Driver is the webhook driver. The zero value is ready to use and, having no
// state, is safe for concurrent use.
type Driver struct{}

// Configure decodes and validates target t's configuration once, without
// I/O, reporting every problem, each located in the plan. Safe for
// concurrent use.
func (Driver) Configure(t driver.TargetSpec) (driver.Config, error) {
	cfg, err := parseTarget(t)
	if cfg == nil {
		return nil, err
	}
	// With err, the Config is the best reading of a target with problems,
	// for checking its steps and faults only.
	return &Config{spec: t, cfg: cfg}, err
}

// Config is one webhook target, decoded and validated by Configure: it
// prepares the target's steps and faults and opens it. It is immutable and
// safe for concurrent use.
type Config struct {
	spec driver.TargetSpec
	cfg  *targetConfig
}

// Prepare decodes and validates one step (the mapping under `webhook:` and
// the step's `expect:`) without I/O, compiling its templates. Every problem is
// reported, each located in the plan; load aimed at a real Discord or Slack
// webhook beyond its limits is a warning (s.Warn). Safe for concurrent use.
func (c *Config) Prepare(s driver.StepSpec) (driver.Step, error) {
	st, err := prepareStep(s)
	if err != nil {
		return nil, err
	}
	warnLoad(s, c.cfg)
	st.cfg = c.cfg
	return st, nil
}

// Shared says whether the target is a webhook runplan does not start (it
// has a URL): the segments of a run share it (driver.Sharer). Safe for
// concurrent use.
func (c *Config) Shared() bool { return c.cfg.url != "" }

// Open builds the target's HTTP client. Without a URL it starts the embedded
// sink of the target's flavor on 127.0.0.1 and targets it. It sends nothing:
// a real webhook would post to a channel. Safe for concurrent use.
func (c *Config) Open(ctx context.Context, env driver.Env) (driver.Target, error) {
	t, cfg := c.spec, c.cfg
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("webhook: open %s: %w", t.Name, err)
	}
	if cfg.url != "" {
		return newTarget(cfg, t, env.Via, cfg.url, driver.KindExternal), nil
	}
	s := sink.New(cfg.sinkOpts) // checked by parseTarget
	if err := s.Start("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("webhook: target %s: starting the embedded sink: %w", t.Name, err)
	}
	u, fake := sendURL(s, cfg.sendTo)
	tg := newTarget(cfg, t, env.Via, u, driver.KindEmbedded, s.Token(), fake)
	tg.sink = s
	if env.Log != nil {
		env.Log(fmt.Sprintf("webhook: target %s: embedded %s-compatible sink at %s", t.Name, s.Flavor(), tg.Addr()))
	}
	return tg, nil
}
