// Package redis is the runplan driver for Redis. A target is one server (a
// redis://, rediss:// or unix:// URL), a primary found through Sentinel, a
// Redis Cluster, a deployment runplan starts for the run (`managed:`), or,
// with none of these, an embedded miniredis. Steps are Redis commands,
// pipelines, MULTI/EXEC transactions and read-through cache lookups.
// docs/REDIS.md documents every option; in short, a target
//
//	url: rediss://app:${REDIS_PASSWORD}@cache:6380/0   # or:
//	sentinel: {master: mymaster, addrs: ["10.0.0.1:26379"], password: ...}
//	cluster: {addrs: ["10.0.0.1:7000", "10.0.0.2:7000"]}
//	managed: {topology: cluster, replicas: 1, config: {maxmemory: 64mb}}
//	username, password, db, tls: {ca_file, cert_file, key_file, insecure_skip_verify, server_name}
//	pool_size, timeout, dial_timeout, read_timeout, write_timeout, pool_timeout
//	retries: {max: 2, min_backoff: 8ms, max_backoff: 512ms}
//	key_prefix: "app:"   read_only: false   safety_ttl: 2h   keep: false   fast_path: true
//	prefill: {key: "user:{{ iteration }}", count: 10000, value_size: 512, ttl: 1h}
//
// and a step
//
//	redis: [SET, "user:{{ uniform(100) }}", {value_size: {min: 100, max: 1000}}, EX, 60]
//	redis: {command: [GET, "user:{{ zipf(10000, 1.1) }}"], pipeline: 16}
//	redis: {commands: [[INCR, "{c}:n"], [EXPIRE, "{c}:n", 60]], transaction: true}
//	redis: {cache_get: {key: "s:{{ zipf(1000, 1.1) }}", on_miss: {value_size: 512, ttl: 5m, load_delay: 5ms}}}
//
// Every key a step touches is put under the run's namespace,
// <key_prefix>runplan:<run id>:, so that a run never reads or writes keys it
// did not create and Cleanup removes this run's keys and no others (keys.go).
// Reading keys that are already there takes read_only: true, under which keys
// are used as written under key_prefix, only read commands run, and nothing is
// ever deleted. On servers runplan did not start, every key written carries
// the safety TTL, so that a killed run's keys expire by themselves.
// Commands whose key positions are not known are refused when the step is
// prepared; so are destructive and administrative commands (FLUSHALL,
// CONFIG, DEBUG, CLIENT, ...) on servers runplan did not start, unless the
// target allows them and the command line passes --allow-destructive.
//
// Lifecycle: Configure decodes and validates a target once, without I/O,
// into a Config; the Config's Prepare validates steps (and PrepareFault
// faults) without I/O; Open connects
// (starting the embedded server or the managed deployment); Prefill loads
// the keyspace; Bind ties a step to its open target; Do runs concurrently;
// ServerStats samples INFO throughout; Cleanup removes the run's keys;
// Close releases everything and stops what runplan started.
package redis

import (
	"context"

	goredis "github.com/redis/go-redis/v9"
	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/decode"
	"github.com/runplan/runplan/engine/diag"
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
	_ driver.Driver          = Driver{}
	_ driver.ServerMetricser = Driver{}
	_ driver.Config          = (*Config)(nil)
	_ driver.FaultPreparer   = (*Config)(nil)
	_ driver.Identifier      = (*Config)(nil)
	_ driver.Target          = (*Target)(nil)
	_ driver.Pinger          = (*Target)(nil)
	_ driver.Cleaner         = (*Target)(nil)
	_ driver.ServerStatser   = (*Target)(nil)
	_ driver.Prefiller       = (*Target)(nil)
	_ driver.Step            = (*batchStep)(nil)
	_ driver.Step            = (*cacheGetStep)(nil)
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
	// ClassProtocol: the reply was not valid RESP (the connection is dropped).
	ClassProtocol = "protocol"
	// ClassSafetyTTL: the write went through but the EXPIRE that gives its
	// key the safety TTL failed (an ACL without EXPIRE, say), so the key
	// might outlive the run.
	ClassSafetyTTL = "safety_ttl"
)

// Driver is the Redis driver. The zero value is ready to use and, having no
// state, is safe for concurrent use.
type Driver struct{}

// Configure decodes and validates target t's options and URL once, without
// I/O. Every problem is reported, each located at the offending value. It
// is safe for concurrent use.
func (Driver) Configure(t driver.TargetSpec) (driver.Config, error) {
	cfg, err := parseTarget(t)
	if cfg == nil {
		return nil, err
	}
	// With err, the Config is the best reading of a target with problems,
	// for checking its steps and faults only.
	return &Config{spec: t, cfg: cfg}, err
}

// Config is one Redis target, decoded and validated by Configure: it
// prepares the target's steps and faults and opens it. It is immutable
// and safe for concurrent use.
type Config struct {
	spec driver.TargetSpec
	cfg  *config
}

// Prepare decodes and validates one step without I/O: a command sequence,
// a {command | commands, pipeline, transaction} mapping, or a {cache_get}
// mapping. Every problem found is reported, each located in the plan.
// With s.WantReply (the step has captures) the step returns its reply in
// Outcome.Reply (docs/PLAN-FORMAT.md, Captures). Prepare is safe for
// concurrent use.
func (c *Config) Prepare(s driver.StepSpec) (driver.Step, error) {
	n := valueNode(s.Node)
	if n == nil {
		return nil, diag.Errorf(nil, "redis: step %q: missing command", s.Name)
	}
	if s.Expect != nil {
		return nil, diag.Errorf(s.Expect, "redis: step %q: expect is not supported by redis steps: a server error reply already fails the call", s.Name)
	}
	tc := s.Templates
	if tc == nil {
		tc = tmpl.NewCompiler()
	}
	g := c.gate()
	var step driver.Step
	var err error
	switch n.Kind {
	case yaml.SequenceNode:
		step, err = prepareSingle(s.Name, n, tc, g)
	case yaml.MappingNode:
		step, err = prepareMapping(s.Name, n, tc, g)
	default:
		return nil, diag.Errorf(n, "redis: expected a command sequence such as [GET, key] or a mapping with command, commands or cache_get, got %s", describe(n))
	}
	if err != nil || !s.WantReply {
		return step, err
	}
	// A step with captures returns its reply (docs/PLAN-FORMAT.md,
	// Captures).
	switch st := step.(type) {
	case *batchStep:
		st.reply = true
	case *cacheGetStep:
		st.reply = true
	}
	return step, nil
}

// gate decides what may run on the target. Destructive commands run on
// the servers runplan starts (embedded, managed), or where the plan and
// the command line both allow them (TargetSpec.AllowDestructive). A
// read_only target runs reads only.
func (c *Config) gate() gate {
	return gate{target: c.spec.Name, allowed: c.spec.AllowDestructive || c.cfg.owned(), readOnly: c.cfg.readOnly}
}

// stepForms are a step's mapping forms as written: cache_get alone, or
// the batch form (batchOptions decodes it).
type stepForms struct {
	CacheGet    *yaml.Node `yaml:"cache_get"`
	Command     *yaml.Node `yaml:"command"`
	Commands    *yaml.Node `yaml:"commands"`
	Pipeline    *yaml.Node `yaml:"pipeline"`
	Transaction *yaml.Node `yaml:"transaction"`
}

// prepareMapping handles the mapping forms of a step: its keys are
// checked first, then the form they make is prepared.
func prepareMapping(name string, n *yaml.Node, c *tmpl.Compiler, g gate) (driver.Step, error) {
	if len(n.Content) == 0 {
		return nil, diag.Errorf(n, "redis: empty mapping: expected command, commands or cache_get, or a command sequence such as [GET, key]")
	}
	var o stepForms
	f, keyErr := decode.Decode(n, &o, decode.Options{Prefix: "redis: "})
	if o.CacheGet == nil {
		if keyErr != nil {
			return nil, keyErr
		}
		return prepareBatch(name, n, c, g)
	}
	step, err := prepareCacheGet(name, o.CacheGet, c, g)
	errs := []error{keyErr, err}
	for _, form := range []string{"command", "commands", "pipeline", "transaction"} {
		if k := f.Key(form); k != nil {
			errs = append(errs, diag.Errorf(k, "redis: cache_get must be alone: %s does not apply to it", form))
		}
	}
	if err := inOrder(errs...); err != nil {
		return nil, err
	}
	return step, nil
}
