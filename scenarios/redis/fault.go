package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/decode"
	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/journal"
	"github.com/runplan/runplan/scenarios/redis/managed"
)

// The driver's fault kinds (docs/REDIS.md, "Faults"). In a plan:
//
//	faults:
//	  - {name: pause, target: cache, at: 5s, for: 2s, client_pause: {mode: write}}
//	  - {name: stall, target: cache, at: 5s, debug_sleep: {duration: 1s}}
//	  - {name: crash, target: cache, at: 5s, for: 3s, kill: {node: primary, restart: true}}
//	  - {name: promote, target: cache, at: 5s, failover: {}}
//	  - {name: squeeze, target: cache, at: 5s, for: 5s, memory_squeeze: {maxmemory: 2mb, policy: allkeys-lru}}
//	  - {name: wipe, target: cache, at: 5s, flush: {}}
//	  - {name: loading, target: cache, at: 5s, for: 2s, error_replies: {error: LOADING}}
//
// Every kind changes a server: on targets runplan did not start (url,
// sentinel, cluster) it needs allow_destructive on the target and
// --allow-destructive on the command line.
const (
	FaultClientPause     = "client_pause"
	FaultDebugSleep      = "debug_sleep"
	FaultKill            = "kill"
	FaultFailover        = "failover"
	FaultClusterFailover = "cluster_failover"
	FaultMemorySqueeze   = "memory_squeeze"
	FaultFlush           = "flush"
	FaultErrorReplies    = "error_replies"
)

var faultKinds = []string{FaultClientPause, FaultDebugSleep, FaultKill, FaultFailover, FaultClusterFailover,
	FaultMemorySqueeze, FaultFlush, FaultErrorReplies}

// Limits of the fault parameters.
const (
	maxDebugSleep = 60 * time.Second
	// adminTimeout bounds one administrative command of a fault.
	adminTimeout = 5 * time.Second
)

// errorReplies are the error_replies an embedded server can give, with the
// messages a real server sends.
var errorReplies = map[string]string{
	"LOADING":    "LOADING Redis is loading the dataset in memory",
	"READONLY":   "READONLY You can't write against a read only replica.",
	"MASTERDOWN": "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
}

// evictionPolicies are the values of maxmemory-policy.
var evictionPolicies = []string{"noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
	"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"}

// memorySize matches a maxmemory value: bytes, or a number with a unit.
var memorySize = regexp.MustCompile(`(?i)^[0-9]+(b|k|kb|m|mb|g|gb)?$`)

var _ driver.Faulter = Driver{}

// FaultKinds lists the driver's own fault kinds. Safe for concurrent use.
func (Driver) FaultKinds() []string { return append([]string(nil), faultKinds...) }

// faultEnv is what PrepareFault learns of the target.
type faultEnv struct {
	name     string
	target   string
	cfg      *config
	topology string // managed topology, "" otherwise
}

// PrepareFault decodes and validates one fault without I/O. Every kind
// changes a server, so it is refused on a target runplan did not start
// unless the target allows destructive operations; kinds that need a
// particular kind of target (kill: managed; error_replies: miniredis; ...)
// say so. Errors are located in the plan. Safe for concurrent use.
func (c *Config) PrepareFault(f driver.FaultSpec) (driver.Fault, error) {
	n := valueNode(f.Node)
	if !slices.Contains(faultKinds, f.Kind) {
		return nil, diag.Errorf(n, "redis: fault %s: unknown fault kind %q (expected one of: %s)", f.Name, f.Kind, strings.Join(faultKinds, ", "))
	}
	cfg, target := c.cfg, c.spec
	env := &faultEnv{name: f.Name, target: target.Name, cfg: cfg}
	if cfg.mode == modeManaged && cfg.managed != nil {
		env.topology = cfg.managed.Topology
		if env.topology == "" {
			env.topology = managed.Standalone
		}
	}
	switch {
	case n == nil || isNull(n) || n.Kind == yaml.MappingNode:
	default:
		return nil, diag.Errorf(n, "redis: fault %s: %s: expected a mapping of parameters such as {}, got %s", f.Name, f.Kind, describe(n))
	}
	o, keyErr, valueErr := decodeFault(f.Kind, n)
	if keyErr != nil {
		return nil, keyErr
	}
	if !cfg.owned() && !target.AllowDestructive {
		return nil, diag.Errorf(n, "redis: fault %s: %s changes the server, and runplan did not start target %q: it needs allow_destructive: true on the target and --allow-destructive on the command line (or use a managed: target)",
			f.Name, f.Kind, target.Name)
	}
	if err := env.needs(n, f.Kind); err != nil {
		return nil, err
	}
	if valueErr != nil {
		return nil, valueErr
	}
	at := func(path string) *yaml.Node { return o.fields.Value(f.Kind + "." + path) }
	switch f.Kind {
	case FaultClientPause:
		mode := "ALL"
		if p := o.ClientPause.Mode; p != nil {
			switch strings.ToLower(*p) {
			case "write":
				mode = "WRITE"
			case "all":
			default:
				return nil, diag.Errorf(at("mode"), "redis: fault %s: client_pause.mode: expected write or all, got %q", f.Name, *p)
			}
		}
		if f.For <= 0 {
			return nil, diag.Errorf(n, "redis: fault %s: client_pause needs `for:` (CLIENT PAUSE takes its length up front, and a pause until the end of the run would outlive it)", f.Name)
		}
		if f.For < time.Millisecond {
			return nil, diag.Errorf(n, "redis: fault %s: client_pause: `for:` must be at least 1ms", f.Name)
		}
		return &pauseFault{env: env, mode: mode, length: f.For}, nil
	case FaultDebugSleep:
		d := o.DebugSleep.Duration
		if d == nil {
			return nil, diag.Errorf(n, "redis: fault %s: debug_sleep needs a duration, e.g. {duration: 1s}", f.Name)
		}
		if *d > maxDebugSleep {
			v := at("duration")
			return nil, diag.Errorf(v, "redis: fault %s: debug_sleep.duration must be at most %v, got %s", f.Name, maxDebugSleep, v.Value)
		}
		return &sleepFault{env: env, length: *d}, nil
	case FaultKill:
		k := &killFault{env: env, node: managed.RolePrimary, restart: true}
		if p := o.Kill.Node; p != nil {
			s := *p
			if s != managed.RolePrimary && s != managed.RoleReplica {
				return nil, diag.Errorf(at("node"), "redis: fault %s: kill.node: expected primary or replica, got %q", f.Name, s)
			}
			if s == managed.RoleReplica && cfg.managed.Replicas == 0 && env.topology != managed.Sentinel {
				return nil, diag.Errorf(at("node"), "redis: fault %s: kill.node: target %q has no replica (set managed.replicas)", f.Name, target.Name)
			}
			k.node = s
		}
		if p := o.Kill.Restart; p != nil {
			k.restart = *p
		}
		return k, nil
	case FaultFailover:
		return &failoverFault{env: env}, nil
	case FaultClusterFailover:
		if cfg.managed.Replicas == 0 {
			return nil, diag.Errorf(n, "redis: fault %s: cluster_failover needs a replica: set managed.replicas on target %q", f.Name, target.Name)
		}
		return &clusterFailoverFault{env: env}, nil
	case FaultMemorySqueeze:
		m := &squeezeFault{env: env}
		v := o.MemorySqueeze.MaxMemory
		if v == nil {
			return nil, diag.Errorf(n, "redis: fault %s: memory_squeeze needs maxmemory, e.g. {maxmemory: 2mb, policy: allkeys-lru}", f.Name)
		}
		if v.Kind != yaml.ScalarNode || !memorySize.MatchString(v.Value) {
			return nil, diag.Errorf(v, "redis: fault %s: memory_squeeze.maxmemory: expected a size such as 2mb or 1048576, got %s", f.Name, describe(v))
		}
		m.maxmemory = strings.ToLower(v.Value)
		if p := o.MemorySqueeze.Policy; p != nil {
			if !slices.Contains(evictionPolicies, *p) {
				return nil, diag.Errorf(at("policy"), "redis: fault %s: memory_squeeze.policy: expected one of %s, got %q", f.Name, strings.Join(evictionPolicies, ", "), *p)
			}
			m.policy = *p
		}
		return m, nil
	case FaultFlush:
		return &flushFault{env: env}, nil
	case FaultErrorReplies:
		p := o.ErrorReplies.Error
		if p == nil {
			return nil, diag.Errorf(n, "redis: fault %s: error_replies needs an error: LOADING, READONLY or MASTERDOWN", f.Name)
		}
		msg, ok := errorReplies[strings.ToUpper(*p)]
		if !ok {
			return nil, diag.Errorf(at("error"), "redis: fault %s: error_replies.error: expected LOADING, READONLY or MASTERDOWN, got %q", f.Name, *p)
		}
		return &errorFault{env: env, code: strings.ToUpper(*p), msg: msg}, nil
	}
	return nil, diag.Errorf(n, "redis: fault %s: unknown fault kind %q", f.Name, f.Kind)
}

// faultOptions are the parameters of every kind, by kind; a fault gives
// one of them (decode.Shorthand wraps its parameters under its kind).
type faultOptions struct {
	ClientPause *struct {
		Mode *string `yaml:"mode"`
	} `yaml:"client_pause"`
	DebugSleep *struct {
		Duration *time.Duration `yaml:"duration" decode:"positive"`
	} `yaml:"debug_sleep"`
	Kill *struct {
		Node    *string `yaml:"node"`
		Restart *bool   `yaml:"restart"`
	} `yaml:"kill"`
	Failover        *struct{} `yaml:"failover"`
	ClusterFailover *struct{} `yaml:"cluster_failover"`
	MemorySqueeze   *struct {
		MaxMemory *yaml.Node `yaml:"maxmemory"`
		Policy    *string    `yaml:"policy"`
	} `yaml:"memory_squeeze"`
	Flush        *struct{} `yaml:"flush"`
	ErrorReplies *struct {
		Error *string `yaml:"error"`
	} `yaml:"error_replies"`
	fields decode.Fields // where each parameter is
}

// decodeFault decodes the parameters n of a fault of kind. Problems with
// the keys come back in keyErr, problems with the values in valueErr: the
// keys are checked before the target may take the fault, the values after.
func decodeFault(kind string, n *yaml.Node) (o faultOptions, keyErr, valueErr error) {
	if isNull(n) { // no parameters
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		if n != nil {
			m.Line, m.Column = n.Line, n.Column
		}
		n = m
	}
	var keys, values []error
	o.fields, _ = decode.Decode(decode.Shorthand(kind, n), &o, decode.Options{Prefix: "redis: ", Message: func(p decode.Problem) string {
		err := diag.Errorf(p.Node, "%s", p.String())
		switch p.Kind {
		case decode.UnknownKey, decode.DuplicateKey, decode.KeyNotString, decode.TooDeep:
			keys = append(keys, err)
		default:
			values = append(values, err)
		}
		return err.Error()
	}})
	return o, joinErrors(keys), joinErrors(values)
}

// needs refuses a kind on a target it cannot act on.
func (e *faultEnv) needs(n *yaml.Node, kind string) error {
	mode := e.cfg.mode
	fail := func(what string) error {
		return diag.Errorf(n, "redis: fault %s: %s needs %s, and target %q is %s", e.name, kind, what, e.target, e.describe())
	}
	switch kind {
	case FaultClientPause, FaultDebugSleep, FaultMemorySqueeze:
		if mode == modeEmbedded && e.cfg.localServer == localMiniredis {
			return fail("a real redis-server (a managed: or url: target, or a target without them that starts a redis-server; miniredis does not implement it)")
		}
	case FaultKill:
		if mode != modeManaged {
			return fail("a managed: target (runplan kills and restarts the processes it started)")
		}
	case FaultFailover:
		if mode != modeSentinel && e.topology != managed.Sentinel {
			return fail("a Sentinel target (sentinel:, or managed: {topology: sentinel})")
		}
	case FaultClusterFailover:
		if e.topology != managed.Cluster {
			return fail("a managed cluster (managed: {topology: cluster, replicas: 1})")
		}
	case FaultErrorReplies:
		if mode != modeEmbedded || e.cfg.localServer != localMiniredis {
			return fail("the in-process miniredis (a target without url, sentinel, cluster or managed, with local_server: miniredis); use a network fault or client_pause on a real server")
		}
	}
	return nil
}

func (e *faultEnv) describe() string {
	switch {
	case e.topology != "":
		return "a managed " + e.topology + " target"
	case e.cfg.mode == modeEmbedded && e.cfg.localServer == localMiniredis:
		return "an in-process miniredis target"
	case e.cfg.mode == modeEmbedded:
		return "a local target (a redis-server when one is installed, else miniredis)"
	case e.cfg.mode == modeURL:
		return "a url target"
	default:
		return "a " + e.cfg.mode + " target"
	}
}

// redisTarget returns the open target a fault acts on.
func (e *faultEnv) redisTarget(t driver.Target) (*Target, error) {
	rt, ok := t.(*Target)
	if !ok || rt == nil {
		return nil, fmt.Errorf("redis: fault %s: expected a redis target, got %T", e.name, t)
	}
	return rt, nil
}

// realTarget is redisTarget for the kinds a real redis-server must serve: a
// local target that fell back to miniredis (no redis-server installed) is
// refused.
func (e *faultEnv) realTarget(dt driver.Target) (*Target, error) {
	t, err := e.redisTarget(dt)
	if err == nil && t.mini != nil {
		err = fmt.Errorf("redis: fault %s: needs a real redis-server, and target %q is the in-process miniredis (no redis-server is installed)", e.name, e.target)
	}
	return t, err
}

// wrap prefixes err with the fault's name and scrubs the target's
// passwords from it.
func (e *faultEnv) wrap(t *Target, err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	err = fmt.Errorf("redis: fault %s: %s: %w", e.name, fmt.Sprintf(format, args...), err)
	if t != nil {
		return t.scrub(err)
	}
	return scrub(err, e.cfg.secrets())
}

// adminClients returns a dedicated client for every primary of the
// target (one for a single server or a Sentinel target, one per primary
// of a cluster), with a read timeout of at least readTimeout. They dial the
// servers' real addresses, never through the fault proxy — so that a
// network fault on the target cannot hold up another fault's start or
// undo — and keep no pooled connection of the steps busy. A Sentinel
// target's primary is asked of the sentinels directly (cfg has them). The
// caller closes the clients.
func (t *Target) adminClients(ctx context.Context, cfg *config, readTimeout time.Duration) ([]*goredis.Client, error) {
	mk := func(o *goredis.Options) *goredis.Client {
		c := *o
		c.PoolSize, c.MinIdleConns, c.MaxIdleConns = 1, 0, 1
		c.MaxRetries = -1
		c.ReadTimeout = max(c.ReadTimeout, readTimeout)
		c.WriteTimeout = max(c.WriteTimeout, adminTimeout)
		c.ContextTimeoutEnabled = true
		c.Dialer = directDialer(c.TLSConfig, c.DialTimeout)
		return goredis.NewClient(&c)
	}
	if t.cluster != nil {
		// A cluster client of its own, dialling directly, finds the
		// primaries: the target's would ask through the proxy.
		co := *t.cluster.Options()
		co.Dialer = directDialer(co.TLSConfig, co.DialTimeout)
		co.MaxRetries = -1
		cc := goredis.NewClusterClient(&co)
		defer cc.Close()
		var mu sync.Mutex
		var out []*goredis.Client
		err := cc.ForEachMaster(ctx, func(_ context.Context, c *goredis.Client) error {
			mu.Lock()
			defer mu.Unlock()
			out = append(out, mk(c.Options()))
			return nil
		})
		if err != nil {
			closeAll(out)
			return nil, err
		}
		return out, nil
	}
	c, ok := t.client.(*goredis.Client)
	if !ok {
		return nil, fmt.Errorf("unexpected client %T", t.client)
	}
	o := c.Options()
	if cfg.mode == modeSentinel || t.deploy != nil && t.deploy.Topology() == managed.Sentinel {
		// The failover client's own dialer asks the sentinels through the
		// proxy: ask them directly.
		addr, err := t.sentinelPrimaryDirect(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("finding the primary: %w", err)
		}
		oc := *o
		oc.Addr = addr
		o = &oc
	}
	return []*goredis.Client{mk(o)}, nil
}

// directDialer dials addr itself, never through the fault proxy, with TLS
// on top when tc is set.
func directDialer(tc *tls.Config, timeout time.Duration) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return dialThrough(ctx, nil, tc, timeout, network, addr)
	}
}

// sentinelPrimaryDirect asks the target's sentinels for the primary's
// address, over connections of its own.
func (t *Target) sentinelPrimaryDirect(ctx context.Context, cfg *config) (string, error) {
	if d := t.Deployment(); d != nil {
		return sentinelPrimary(ctx, d)
	}
	sc := cfg.sentinel
	var errs []error
	for _, addr := range sc.addrs {
		s, err := externalSentinel(cfg, addr)
		if err != nil {
			return "", err
		}
		a, err := s.GetMasterAddrByName(ctx, sc.master).Result()
		_ = s.Close()
		if err == nil && len(a) == 2 {
			return net.JoinHostPort(a[0], a[1]), nil
		}
		errs = append(errs, fmt.Errorf("sentinel %s: %w", addr, err))
	}
	return "", errors.Join(errs...)
}

// externalSentinel returns a client of the sentinel at addr of a sentinel:
// target, with the target's sentinel credentials and TLS.
func externalSentinel(cfg *config, addr string) (*goredis.SentinelClient, error) {
	sc := cfg.sentinel
	o := &goredis.Options{Addr: addr, Username: sc.username, Password: sc.password, MaxRetries: -1, DisableIdentity: true,
		DialTimeout: adminTimeout, ReadTimeout: adminTimeout, WriteTimeout: adminTimeout, Protocol: 2}
	if cfg.tls != nil {
		tc, err := cfg.tls.load()
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		o.TLSConfig = tc
	}
	o.Dialer = directDialer(o.TLSConfig, adminTimeout)
	return goredis.NewSentinelClient(o), nil
}

func closeAll(cs []*goredis.Client) {
	for _, c := range cs {
		_ = c.Close()
	}
}

// onEach runs f on every client concurrently and joins the errors, each
// naming its server.
func onEach(cs []*goredis.Client, f func(c *goredis.Client) error) error {
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			if err := f(c); err != nil {
				errs[i] = fmt.Errorf("%s: %w", c.Options().Addr, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// pauseFault is client_pause: CLIENT PAUSE <for> WRITE|ALL on every
// primary. The pause is sent with the fault's whole length, so that it ends
// by itself even if runplan dies; an early undo (Ctrl-C, an error) lifts it
// with CLIENT UNPAUSE over a connection the pause does not hold.
type pauseFault struct {
	env    *faultEnv
	mode   string // WRITE or ALL
	length time.Duration
}

func (p *pauseFault) String() string {
	return fmt.Sprintf("client pause (%s) for %v", strings.ToLower(p.mode), p.length)
}

// Limits of an early CLIENT UNPAUSE: one try per node waits at most
// unpauseTry; the engine retries a failed undo (driver.Fault).
const unpauseTry = 3 * time.Second

// Start journals the pause, then pauses the clients of every primary for
// the fault's length, from dedicated connections that bypass the fault
// proxy. Under PAUSE ALL it first opens a pauseGuard per primary: the only
// kind of connection whose CLIENT UNPAUSE the paused server serves before
// the pause ends. When a guard cannot be opened (MONITOR refused by an ACL,
// say) the fault still runs, and an early undo reports that the pause ends
// by itself at its planned end.
func (p *pauseFault) Start(ctx context.Context, dt driver.Target) (func(context.Context) error, error) {
	t, err := p.env.realTarget(dt)
	if err != nil {
		return nil, err
	}
	cs, err := t.adminClients(ctx, p.env.cfg, adminTimeout)
	if err != nil {
		return nil, p.env.wrap(t, err, "CLIENT PAUSE")
	}
	defer closeAll(cs)
	nodes := make([]*pauseNode, len(cs))
	for i, c := range cs {
		nodes[i] = &pauseNode{opts: *c.Options()}
	}
	release := func() {
		for _, n := range nodes {
			if n.guard != nil {
				n.guard.close()
			}
		}
	}
	if p.mode == "ALL" {
		_ = onEach(cs, func(c *goredis.Client) error {
			n := nodes[slices.Index(cs, c)]
			n.guard, n.guardErr = openPauseGuard(ctx, c.Options())
			if n.guardErr != nil {
				t.logf("redis: fault %s: %s: no connection outside the pause (%v): an early undo cannot lift it", p.env.name, c.Options().Addr, t.scrub(n.guardErr))
			}
			return nil
		})
	}
	started := time.Now()
	until := started.Add(p.length)
	for _, n := range nodes {
		n.entry = journal.Entry{Kind: journal.KindPause, Node: n.opts.Addr, Name: p.mode, Until: until, Fault: p.env.name}
		if err := t.journal().Record(n.entry); err != nil {
			for _, m := range nodes {
				_ = t.journal().Forget(m.entry)
			}
			release()
			return nil, p.env.wrap(t, err, "CLIENT PAUSE not sent")
		}
	}
	// Whatever happens to the undo, the guards go when the pause ends.
	stopRelease := time.AfterFunc(p.length+adminTimeout, release)
	ms := strconv.FormatInt(p.length.Milliseconds(), 10)
	err = onEach(cs, func(c *goredis.Client) error { return c.Do(ctx, "CLIENT", "PAUSE", ms, p.mode).Err() })
	undo := func(ctx context.Context) error {
		var mu sync.Mutex
		var left []string
		errs := make([]error, len(nodes))
		var wg sync.WaitGroup
		for i, n := range nodes {
			wg.Go(func() {
				if err := p.lift(ctx, n, until); err != nil {
					errs[i] = fmt.Errorf("%s: %w", n.opts.Addr, err)
					mu.Lock()
					left = append(left, n.opts.Addr)
					mu.Unlock()
					return
				}
				if err := t.journal().Forget(n.entry); err != nil {
					t.logf("redis: fault %s: %v", p.env.name, err)
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return p.env.wrap(t, err, "CLIENT UNPAUSE (the pause ends by itself at %s)", until.UTC().Format("15:04:05.000Z"))
		}
		if stopRelease.Stop() {
			release()
		}
		return nil
	}
	if err != nil {
		return undo, p.env.wrap(t, err, "CLIENT PAUSE %s %s", ms, p.mode)
	}
	return undo, nil
}

// pauseNode is the pause on one primary.
type pauseNode struct {
	opts     goredis.Options
	entry    journal.Entry
	guard    *pauseGuard // PAUSE ALL only
	guardErr error
	lifted   bool
}

// lift ends the pause on one node: nothing to do once its planned end has
// passed (sending CLIENT UNPAUSE then could end somebody else's pause);
// before, CLIENT UNPAUSE, over the guard under PAUSE ALL (any connection
// serves it under PAUSE WRITE). It may be called again after a failure.
func (p *pauseFault) lift(ctx context.Context, n *pauseNode, until time.Time) error {
	if n.lifted || !time.Now().Before(until) {
		return nil
	}
	uctx, cancel := context.WithTimeout(ctx, unpauseTry)
	defer cancel()
	var err error
	switch {
	case p.mode != "ALL":
		o := n.opts
		o.PoolSize, o.MinIdleConns, o.MaxIdleConns, o.MaxRetries = 1, 0, 1, -1
		c := goredis.NewClient(&o)
		err = c.Do(uctx, "CLIENT", "UNPAUSE").Err()
		_ = c.Close()
	case n.guard != nil:
		err = n.guard.unpause(uctx)
	default:
		err = fmt.Errorf("CLIENT PAUSE ALL holds every ordinary connection's commands, CLIENT UNPAUSE included, and no monitor connection could be opened before it (%w)", n.guardErr)
	}
	if err != nil && time.Now().Before(until) {
		return err
	}
	n.lifted = true
	return nil
}

// sleepFault is debug_sleep: DEBUG SLEEP on every primary, from a
// dedicated connection, in the background.
type sleepFault struct {
	env    *faultEnv
	length time.Duration
}

func (s *sleepFault) String() string { return fmt.Sprintf("debug sleep %v", s.length) }

// Start sends DEBUG SLEEP without waiting for it; undo waits until the
// server has slept (or ctx ends) and reports a failed DEBUG SLEEP.
func (s *sleepFault) Start(ctx context.Context, dt driver.Target) (func(context.Context) error, error) {
	t, err := s.env.realTarget(dt)
	if err != nil {
		return nil, err
	}
	cs, err := t.adminClients(ctx, s.env.cfg, s.length+adminTimeout)
	if err != nil {
		return nil, s.env.wrap(t, err, "DEBUG SLEEP")
	}
	done := make(chan error, 1)
	secs := strconv.FormatFloat(s.length.Seconds(), 'f', -1, 64)
	go func() {
		defer closeAll(cs)
		// Its own deadline: the timeline's ctx of Start ends when Start
		// returns.
		sctx, cancel := context.WithTimeout(context.Background(), s.length+adminTimeout)
		defer cancel()
		done <- onEach(cs, func(c *goredis.Client) error { return c.Do(sctx, "DEBUG", "SLEEP", secs).Err() })
	}()
	return func(ctx context.Context) error {
		select {
		case err := <-done:
			done <- err // undo may be called again after a partial start
			return s.env.wrap(t, err, "DEBUG SLEEP %s", secs)
		case <-ctx.Done():
			return s.env.wrap(t, ctx.Err(), "waiting for DEBUG SLEEP %s", secs)
		}
	}, nil
}

// killFault is kill: SIGKILL of a managed primary or replica; undo starts
// it again on the same port with the same configuration.
type killFault struct {
	env     *faultEnv
	node    string // managed.RolePrimary or managed.RoleReplica
	restart bool
}

func (k *killFault) String() string {
	s := "kill the " + k.node
	if k.restart {
		s += ", then restart it"
	}
	return s
}

// Start kills the current primary (under Sentinel, the one the sentinels
// name; on a cluster, the first primary as started) or the first replica
// still serving as one.
func (k *killFault) Start(ctx context.Context, dt driver.Target) (func(context.Context) error, error) {
	t, err := k.env.redisTarget(dt)
	if err != nil {
		return nil, err
	}
	d := t.Deployment()
	if d == nil {
		return nil, fmt.Errorf("redis: fault %s: target %q is not managed", k.env.name, t.name)
	}
	primary := d.Addr()
	if d.Topology() == managed.Sentinel {
		if primary, err = sentinelPrimary(ctx, d); err != nil {
			return nil, k.env.wrap(t, err, "finding the primary")
		}
	}
	var victim *managed.Server
	for _, s := range d.Servers() {
		if s.Role() == managed.RoleSentinel || s.Exited() {
			continue
		}
		if (k.node == managed.RolePrimary) == (s.Addr() == primary) {
			victim = s
			break
		}
	}
	if victim == nil {
		return nil, fmt.Errorf("redis: fault %s: no running %s to kill", k.env.name, k.node)
	}
	t.logf("redis: fault %s: killing the %s %s (pid %d)", k.env.name, k.node, victim.Addr(), victim.Pid())
	d.Kill(victim)
	return func(ctx context.Context) error {
		if !k.restart || !victim.Exited() {
			return nil
		}
		ns, err := d.Restart(ctx, victim)
		if err != nil {
			return k.env.wrap(t, err, "restart")
		}
		t.logf("redis: fault %s: restarted %s (pid %d)", k.env.name, ns.Addr(), ns.Pid())
		victim = ns
		return nil
	}, nil
}

// sentinelPrimary asks the deployment's sentinels for the primary's
// address.
func sentinelPrimary(ctx context.Context, d *managed.Deployment) (string, error) {
	var errs []error
	for _, addr := range d.Sentinels() {
		s := sentinelClient(addr, "", "", d)
		a, err := s.GetMasterAddrByName(ctx, d.MasterName()).Result()
		_ = s.Close()
		if err == nil && len(a) == 2 {
			return a[0] + ":" + a[1], nil
		}
		errs = append(errs, fmt.Errorf("sentinel %s: %w", addr, err))
	}
	return "", errors.Join(errs...)
}

func sentinelClient(addr, user, pass string, d *managed.Deployment) *goredis.SentinelClient {
	o := &goredis.Options{Addr: addr, Username: user, Password: pass, MaxRetries: -1, DisableIdentity: true,
		DialTimeout: adminTimeout, ReadTimeout: adminTimeout, WriteTimeout: adminTimeout, Protocol: 2}
	if d != nil {
		o.TLSConfig = d.ClientTLS()
	}
	return goredis.NewSentinelClient(o)
}

// failoverFault is failover: SENTINEL FAILOVER through the first sentinel
// that accepts it. There is nothing to undo: the promoted replica stays
// the primary.
type failoverFault struct{ env *faultEnv }

func (f *failoverFault) String() string { return "sentinel failover" }

func (f *failoverFault) Start(ctx context.Context, dt driver.Target) (func(context.Context) error, error) {
	t, err := f.env.redisTarget(dt)
	if err != nil {
		return nil, err
	}
	var addrs []string
	var master string
	d := t.Deployment()
	if d != nil {
		addrs, master = d.Sentinels(), d.MasterName()
	} else {
		addrs, master = f.env.cfg.sentinel.addrs, f.env.cfg.sentinel.master
	}
	var errs []error
	for _, addr := range addrs {
		var s *goredis.SentinelClient
		if d != nil {
			s = sentinelClient(addr, "", "", d)
		} else {
			var terr error
			if s, terr = externalSentinel(f.env.cfg, addr); terr != nil {
				return nil, f.env.wrap(t, terr, "sentinel")
			}
		}
		err := s.Failover(ctx, master).Err()
		_ = s.Close()
		if err == nil {
			t.logf("redis: fault %s: sentinel %s started a failover of %s", f.env.name, addr, master)
			return func(context.Context) error { return nil }, nil
		}
		errs = append(errs, fmt.Errorf("sentinel %s: %w", addr, err))
	}
	return nil, f.env.wrap(t, errors.Join(errs...), "SENTINEL FAILOVER %s", master)
}

// clusterFailoverFault is cluster_failover: CLUSTER FAILOVER on the first
// node serving as a replica. Nothing to undo.
type clusterFailoverFault struct{ env *faultEnv }

func (f *clusterFailoverFault) String() string { return "cluster failover" }

func (f *clusterFailoverFault) Start(ctx context.Context, dt driver.Target) (func(context.Context) error, error) {
	t, err := f.env.redisTarget(dt)
	if err != nil {
		return nil, err
	}
	d := t.Deployment()
	if d == nil {
		return nil, fmt.Errorf("redis: fault %s: target %q is not managed", f.env.name, t.name)
	}
	var errs []error
	for _, s := range d.Servers() {
		if s.Role() == managed.RoleSentinel || s.Exited() {
			continue
		}
		c := goredis.NewClient(&goredis.Options{Addr: s.Addr(), Password: d.Password(), TLSConfig: d.ClientTLS(), Protocol: 2,
			MaxRetries: -1, DisableIdentity: true, DialTimeout: adminTimeout, ReadTimeout: adminTimeout, WriteTimeout: adminTimeout})
		role, err := c.Do(ctx, "ROLE").Slice()
		if err == nil && len(role) > 0 && role[0] == "slave" {
			err = c.Do(ctx, "CLUSTER", "FAILOVER").Err()
			_ = c.Close()
			if err == nil {
				t.logf("redis: fault %s: CLUSTER FAILOVER on replica %s", f.env.name, s.Addr())
				return func(context.Context) error { return nil }, nil
			}
			errs = append(errs, fmt.Errorf("%s: %w", s.Addr(), err))
			continue
		}
		_ = c.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: ROLE: %w", s.Addr(), err))
		}
	}
	if len(errs) == 0 {
		errs = append(errs, errors.New("no node is serving as a replica"))
	}
	return nil, f.env.wrap(t, errors.Join(errs...), "CLUSTER FAILOVER")
}

// squeezeFault is memory_squeeze: CONFIG SET maxmemory (and
// maxmemory-policy) on every primary; undo restores what CONFIG GET read.
// The original values are journaled before anything is set, so that
// `runplan cleanup` can restore them after a crash.
type squeezeFault struct {
	env       *faultEnv
	maxmemory string
	policy    string // "" keeps the server's
}

func (m *squeezeFault) String() string {
	s := "memory squeeze to " + m.maxmemory
	if m.policy != "" {
		s += " (" + m.policy + ")"
	}
	return s
}

// squeezed is what a squeeze changed on one primary: the settings it set,
// each journaled with its original value, in the order they were set.
type squeezed struct {
	opts    goredis.Options
	entries []journal.Entry
}

func (m *squeezeFault) Start(ctx context.Context, dt driver.Target) (func(context.Context) error, error) {
	t, err := m.env.realTarget(dt)
	if err != nil {
		return nil, err
	}
	cs, err := t.adminClients(ctx, m.env.cfg, adminTimeout)
	if err != nil {
		return nil, m.env.wrap(t, err, "memory_squeeze")
	}
	defer closeAll(cs)
	var mu sync.Mutex
	var changed []*squeezed
	err = onEach(cs, func(c *goredis.Client) error {
		sq := &squeezed{opts: *c.Options()}
		sets := []struct{ name, value string }{{"maxmemory", m.maxmemory}}
		if m.policy != "" {
			// The policy first: a lower maxmemory under the old policy
			// could start evicting (or refusing) before the new one is in.
			sets = []struct{ name, value string }{{"maxmemory-policy", m.policy}, {"maxmemory", m.maxmemory}}
		}
		for _, set := range sets {
			v, err := c.ConfigGet(ctx, set.name).Result()
			if err != nil {
				return fmt.Errorf("CONFIG GET %s: %w", set.name, err)
			}
			was, ok := v[set.name]
			if !ok {
				return fmt.Errorf("CONFIG GET %s: no value", set.name)
			}
			e := journal.Entry{Kind: journal.KindSetting, Node: sq.opts.Addr, Name: set.name, Was: was, Fault: m.env.name}
			if err := t.journal().Record(e); err != nil {
				return fmt.Errorf("%s not changed: %w", set.name, err)
			}
			mu.Lock()
			if len(sq.entries) == 0 {
				changed = append(changed, sq)
			}
			sq.entries = append(sq.entries, e)
			mu.Unlock()
			if err := c.ConfigSet(ctx, set.name, set.value).Err(); err != nil {
				return fmt.Errorf("CONFIG SET %s: %w", set.name, err)
			}
			// The value as the server reports it (1mb reads 1048576), so
			// that cleanup can tell whether anyone changed it since.
			if v, err := c.ConfigGet(ctx, set.name).Result(); err == nil && v[set.name] != "" {
				e.Now = v[set.name]
				if err := t.journal().Record(e); err != nil {
					t.logf("redis: fault %s: %v", m.env.name, err)
				}
			}
		}
		return nil
	})
	undo := func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		errs := make([]error, len(changed))
		var wg sync.WaitGroup
		for i, sq := range changed {
			wg.Go(func() { errs[i] = m.restore(ctx, t, sq) })
		}
		wg.Wait()
		return m.env.wrap(t, errors.Join(errs...), "undo")
	}
	if err != nil {
		return undo, m.env.wrap(t, err, "memory_squeeze")
	}
	return undo, nil
}

// restore sets one primary's settings back to their original values, the
// last set first, forgetting each restored one; it may be called again
// after a failure.
func (m *squeezeFault) restore(ctx context.Context, t *Target, sq *squeezed) error {
	if len(sq.entries) == 0 {
		return nil
	}
	o := sq.opts
	o.PoolSize, o.MinIdleConns, o.MaxIdleConns, o.MaxRetries = 1, 0, 1, -1
	c := goredis.NewClient(&o)
	defer c.Close()
	for len(sq.entries) > 0 {
		e := sq.entries[len(sq.entries)-1]
		if err := c.ConfigSet(ctx, e.Name, e.Was).Err(); err != nil {
			return fmt.Errorf("%s: restoring %s %s: %w", sq.opts.Addr, e.Name, e.Was, err)
		}
		sq.entries = sq.entries[:len(sq.entries)-1]
		if err := t.journal().Forget(e); err != nil {
			t.logf("redis: fault %s: %v", m.env.name, err)
		}
	}
	return nil
}

// flushFault is flush: FLUSHDB of the target's database (on every primary
// of a cluster). Nothing to undo: the data is gone.
type flushFault struct{ env *faultEnv }

func (f *flushFault) String() string { return "flush the database" }

func (f *flushFault) Start(ctx context.Context, dt driver.Target) (func(context.Context) error, error) {
	t, err := f.env.redisTarget(dt)
	if err != nil {
		return nil, err
	}
	cs, err := t.adminClients(ctx, f.env.cfg, adminTimeout)
	if err != nil {
		return nil, f.env.wrap(t, err, "FLUSHDB")
	}
	defer closeAll(cs)
	if err := onEach(cs, func(c *goredis.Client) error { return c.FlushDB(ctx).Err() }); err != nil {
		return nil, f.env.wrap(t, err, "FLUSHDB")
	}
	return func(context.Context) error { return nil }, nil
}

// errorFault is error_replies: the embedded server answers every command
// with an error until undone.
type errorFault struct {
	env  *faultEnv
	code string
	msg  string
}

func (e *errorFault) String() string { return "every command answers " + e.code }

func (e *errorFault) Start(_ context.Context, dt driver.Target) (func(context.Context) error, error) {
	t, err := e.env.redisTarget(dt)
	if err != nil {
		return nil, err
	}
	if t.mini == nil {
		return nil, fmt.Errorf("redis: fault %s: error_replies needs the in-process miniredis (local_server: miniredis)", e.env.name)
	}
	t.mini.SetError(e.msg)
	return func(context.Context) error {
		t.mini.SetError("")
		return nil
	}, nil
}
