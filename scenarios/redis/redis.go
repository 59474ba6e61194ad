// Package redis is the runplan driver for Redis: targets are go-redis client
// pools (or an embedded miniredis when the target has no URL) and steps are
// Redis commands or cache lookups.
//
// A target's YAML mapping accepts, besides the engine's `driver` and `url`:
//
//	pool_size: 64        # connections; default go-redis's 10 × GOMAXPROCS
//	timeout: 500ms       # dial, read and write timeout; default go-redis's
//	key_prefix: "app:"   # default runplan:<run id>:
//	keep: false          # keep the run's keys after the run
//
// A step is either a command, a YAML sequence whose first element is the
// command name and whose other elements are template strings,
//
//	redis: [SET, "user:{{ uniform(100) }}", "v", EX, 60]
//
// or a cache lookup,
//
//	redis:
//	  cache_get:
//	    key: "strategy:{{ zipf(10000, 1.1) }}"
//	    on_miss: {value_size: 512, ttl: 5m, load_delay: 5ms}
//
// Every key a step touches is put under the target's key prefix, so that a run
// never reads or writes keys it did not create and Cleanup can remove all of
// them. Commands whose key positions are not known, and destructive or
// administrative commands, are refused when the step is prepared.
//
// Lifecycle: CheckTarget and Prepare validate without I/O; Open connects (or
// starts the embedded server); Bind ties a step to its open target; Do runs
// concurrently; Cleanup removes the run's keys; Close releases everything.
package redis

import (
	"context"

	goredis "github.com/redis/go-redis/v9"
	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/tmpl"
)

// Name is the name the driver is registered under.
const Name = "redis"

func init() {
	driver.Register(Name, Driver{})
	// go-redis logs every failed dial to stderr; under load against a target
	// that is down, or during a fault, that is thousands of lines. Failures
	// reach the report through Outcome instead.
	goredis.SetLogger(silentLogger{})
}

// silentLogger discards go-redis's log messages.
type silentLogger struct{}

func (silentLogger) Printf(context.Context, string, ...any) {}

var (
	_ driver.Driver  = Driver{}
	_ driver.Target  = (*Target)(nil)
	_ driver.Pinger  = (*Target)(nil)
	_ driver.Cleaner = (*Target)(nil)
	_ driver.Step    = (*commandStep)(nil)
	_ driver.Step    = (*cacheGetStep)(nil)
)

// Error classes reported in driver.Outcome.Class.
const (
	// ClassTimeout: a context deadline, a socket timeout or a pool wait timeout.
	ClassTimeout = "timeout"
	// ClassRefused: the connection was refused (nothing listening).
	ClassRefused = "refused"
	// ClassConnection: any other network failure (EOF, reset, closed client).
	ClassConnection = "connection"
	// ClassRedis: the server replied with an error (WRONGTYPE, NOAUTH, OOM, ...).
	ClassRedis = "redis"
	// ClassTemplate: a template of the step failed to render.
	ClassTemplate = "template"
	// ClassCanceled: the run's context was canceled while the call was in flight.
	ClassCanceled = "canceled"
)

// Driver is the Redis driver. The zero value is ready to use and, having no
// state, is safe for concurrent use.
type Driver struct{}

// Prepare decodes and validates one step without I/O: a command sequence or a
// {cache_get: ...} mapping. Every problem found is reported, each located in
// the plan. Prepare is safe for concurrent use.
func (Driver) Prepare(s driver.StepSpec) (driver.Step, error) {
	n := valueNode(s.Node)
	if n == nil {
		return nil, driver.Errorf(nil, "redis: step %q: missing command", s.Name)
	}
	if s.Expect != nil {
		return nil, driver.Errorf(s.Expect, "redis: step %q: expect is not supported by redis steps: a server error reply already fails the call", s.Name)
	}
	c := s.Templates
	if c == nil {
		c = tmpl.NewCompiler()
	}
	switch n.Kind {
	case yaml.SequenceNode:
		return prepareCommand(s.Name, n, c)
	case yaml.MappingNode:
		return prepareMapping(s.Name, n, c)
	default:
		return nil, driver.Errorf(n, "redis: expected a command sequence such as [GET, key] or a mapping with cache_get, got %s", describe(n))
	}
}

// prepareMapping handles the mapping forms of a step; cache_get is the only one.
func prepareMapping(name string, n *yaml.Node, c *tmpl.Compiler) (driver.Step, error) {
	forms := []string{"cache_get"}
	if len(n.Content) == 0 {
		return nil, driver.Errorf(n, "redis: empty mapping: expected cache_get, or a command sequence such as [GET, key]")
	}
	var errs []error
	var step driver.Step
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case k.Value == "cache_get" && i == 0:
			s, err := prepareCacheGet(name, v, c)
			if err != nil {
				errs = append(errs, err)
			}
			step = s
		case k.Value == "cache_get":
			errs = append(errs, driver.Errorf(k, "redis: a step has one form; cache_get must be alone"))
		default:
			errs = append(errs, unknownKey(k, forms))
		}
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return step, nil
}
