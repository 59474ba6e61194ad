// Package webhook is the runplan driver for webhooks (Discord, Slack or any
// HTTP endpoint): targets are HTTP clients with a tuned connection pool, or
// the embedded Discord-compatible sink (package sink) when the target has no
// URL, and steps are HTTP requests whose JSON bodies are rendered from
// templates on every iteration.
//
// A target's YAML mapping accepts, besides the engine's `driver` and `url`:
//
//	flavor: discord      # discord (default) | slack | generic; how errors are read
//	timeout: 10s         # per request, dial to last byte; default 10s
//	headers: {Authorization: "Bearer ${TOKEN}"}   # sent with every request
//	max_conns: 100       # connections per host, idle and active; default 100
//
// The flavor defaults to slack for hooks.slack.com URLs. Without a url the
// embedded sink is started on 127.0.0.1, which only the discord flavor can use.
//
// A step is the mapping under `webhook:`:
//
//	webhook:
//	  json: {content: "signal {{ iteration }}", price: "{{ 100 + uniform(10) }}"}
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
// Failures are classified (see the Class constants) and reported as *Error,
// whose text never holds the webhook's token: every URL in an error, in Addr
// and in logs goes through Redact.
//
// Lifecycle: CheckTarget and Prepare validate without I/O; Open builds the
// client (or starts the embedded sink) without sending anything; Bind ties a
// step to its open target; Do runs concurrently; Close releases everything.
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
	_ driver.Driver = Driver{}
	_ driver.Target = (*Target)(nil)
	_ driver.Pinger = (*Target)(nil)
	_ driver.Step   = (*step)(nil)
	_ error         = (*Error)(nil)
)

// Driver is the webhook driver. The zero value is ready to use and, having no
// state, is safe for concurrent use.
type Driver struct{}

// CheckTarget validates a target's configuration without I/O, reporting
// every problem, each located in the plan. Safe for concurrent use.
func (Driver) CheckTarget(t driver.TargetSpec) error {
	_, err := parseTarget(t)
	return err
}

// Prepare decodes and validates one step (the mapping under `webhook:` and
// the step's `expect:`) without I/O, compiling its templates. Every problem is
// reported, each located in the plan. Safe for concurrent use.
func (Driver) Prepare(s driver.StepSpec) (driver.Step, error) {
	st, err := prepareStep(s)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// Open builds the target's HTTP client. Without a URL it starts the embedded
// sink on 127.0.0.1 and targets it. It sends nothing: a real webhook would
// post to a channel. Safe for concurrent use.
func (Driver) Open(ctx context.Context, t driver.TargetSpec, env driver.Env) (driver.Target, error) {
	cfg, err := parseTarget(t)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("webhook: open %s: %w", t.Name, err)
	}
	if cfg.url != "" {
		return newTarget(cfg, cfg.url, driver.KindExternal), nil
	}
	s := sink.New(sink.Options{})
	if err := s.Start("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("webhook: target %s: starting the embedded sink: %w", t.Name, err)
	}
	tg := newTarget(cfg, s.URL(), driver.KindEmbedded)
	tg.sink = s
	if env.Log != nil {
		env.Log(fmt.Sprintf("webhook: target %s: embedded Discord-compatible sink at %s", t.Name, tg.Addr()))
	}
	return tg, nil
}
