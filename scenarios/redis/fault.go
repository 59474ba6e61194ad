package redis

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/driver"
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
// particular kind of target (kill: managed; error_replies: embedded; ...)
// say so. Errors are located in the plan. Safe for concurrent use.
func (Driver) PrepareFault(f driver.FaultSpec) (driver.Fault, error) {
	n := valueNode(f.Node)
	if !containsString(faultKinds, f.Kind) {
		return nil, driver.Errorf(n, "redis: fault %s: unknown fault kind %q (expected one of: %s)", f.Name, f.Kind, strings.Join(faultKinds, ", "))
	}
	cfg, _ := parseTarget(f.Target)
	if cfg == nil {
		return nil, driver.Errorf(n, "redis: fault %s: target %q is invalid", f.Name, f.Target.Name)
	}
	env := &faultEnv{name: f.Name, target: f.Target.Name, cfg: cfg}
	if cfg.mode == modeManaged && cfg.managed != nil {
		env.topology = cfg.managed.Topology
		if env.topology == "" {
			env.topology = managed.Standalone
		}
	}
	params := map[string]*yaml.Node{}
	var errs []error
	switch {
	case n == nil || isNull(n):
	case n.Kind != yaml.MappingNode:
		return nil, driver.Errorf(n, "redis: fault %s: %s: expected a mapping of parameters such as {}, got %s", f.Name, f.Kind, describe(n))
	default:
		forEach(n, faultParams[f.Kind], &errs, func(k, v *yaml.Node) error {
			params[k.Value] = v
			return nil
		})
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	if !cfg.owned() && !f.Target.AllowDestructive {
		return nil, driver.Errorf(n, "redis: fault %s: %s changes the server, and runplan did not start target %q: it needs allow_destructive: true on the target and --allow-destructive on the command line (or use a managed: target)",
			f.Name, f.Kind, f.Target.Name)
	}
	if err := env.needs(n, f.Kind); err != nil {
		return nil, err
	}
	switch f.Kind {
	case FaultClientPause:
		mode := "ALL"
		if v := params["mode"]; v != nil {
			s, err := decodeString(v, "client_pause.mode")
			if err != nil {
				return nil, err
			}
			switch strings.ToLower(s) {
			case "write":
				mode = "WRITE"
			case "all":
			default:
				return nil, driver.Errorf(v, "redis: fault %s: client_pause.mode: expected write or all, got %q", f.Name, s)
			}
		}
		if f.For <= 0 {
			return nil, driver.Errorf(n, "redis: fault %s: client_pause needs `for:` (CLIENT PAUSE takes its length up front, and a pause until the end of the run would outlive it)", f.Name)
		}
		if f.For < time.Millisecond {
			return nil, driver.Errorf(n, "redis: fault %s: client_pause: `for:` must be at least 1ms", f.Name)
		}
		return &pauseFault{env: env, mode: mode, length: f.For}, nil
	case FaultDebugSleep:
		v := params["duration"]
		if v == nil {
			return nil, driver.Errorf(n, "redis: fault %s: debug_sleep needs a duration, e.g. {duration: 1s}", f.Name)
		}
		d, err := decodePositive(v, "debug_sleep.duration")
		if err != nil {
			return nil, err
		}
		if d > maxDebugSleep {
			return nil, driver.Errorf(v, "redis: fault %s: debug_sleep.duration must be at most %v, got %s", f.Name, maxDebugSleep, v.Value)
		}
		return &sleepFault{env: env, length: d}, nil
	case FaultKill:
		k := &killFault{env: env, node: managed.RolePrimary, restart: true}
		if v := params["node"]; v != nil {
			s, err := decodeString(v, "kill.node")
			if err != nil {
				return nil, err
			}
			if s != managed.RolePrimary && s != managed.RoleReplica {
				return nil, driver.Errorf(v, "redis: fault %s: kill.node: expected primary or replica, got %q", f.Name, s)
			}
			if s == managed.RoleReplica && cfg.managed.Replicas == 0 && env.topology != managed.Sentinel {
				return nil, driver.Errorf(v, "redis: fault %s: kill.node: target %q has no replica (set managed.replicas)", f.Name, f.Target.Name)
			}
			k.node = s
		}
		if v := params["restart"]; v != nil {
			b, err := decodeBool(v, "kill.restart")
			if err != nil {
				return nil, err
			}
			k.restart = b
		}
		return k, nil
	case FaultFailover:
		return &failoverFault{env: env}, nil
	case FaultClusterFailover:
		if cfg.managed.Replicas == 0 {
			return nil, driver.Errorf(n, "redis: fault %s: cluster_failover needs a replica: set managed.replicas on target %q", f.Name, f.Target.Name)
		}
		return &clusterFailoverFault{env: env}, nil
	case FaultMemorySqueeze:
		m := &squeezeFault{env: env}
		v := params["maxmemory"]
		if v == nil {
			return nil, driver.Errorf(n, "redis: fault %s: memory_squeeze needs maxmemory, e.g. {maxmemory: 2mb, policy: allkeys-lru}", f.Name)
		}
		if v.Kind != yaml.ScalarNode || !memorySize.MatchString(v.Value) {
			return nil, driver.Errorf(v, "redis: fault %s: memory_squeeze.maxmemory: expected a size such as 2mb or 1048576, got %s", f.Name, describe(v))
		}
		m.maxmemory = strings.ToLower(v.Value)
		if v := params["policy"]; v != nil {
			s, err := decodeString(v, "memory_squeeze.policy")
			if err != nil {
				return nil, err
			}
			if !containsString(evictionPolicies, s) {
				return nil, driver.Errorf(v, "redis: fault %s: memory_squeeze.policy: expected one of %s, got %q", f.Name, strings.Join(evictionPolicies, ", "), s)
			}
			m.policy = s
		}
		return m, nil
	case FaultFlush:
		return &flushFault{env: env}, nil
	case FaultErrorReplies:
		v := params["error"]
		if v == nil {
			return nil, driver.Errorf(n, "redis: fault %s: error_replies needs an error: LOADING, READONLY or MASTERDOWN", f.Name)
		}
		s, err := decodeString(v, "error_replies.error")
		if err != nil {
			return nil, err
		}
		msg, ok := errorReplies[strings.ToUpper(s)]
		if !ok {
			return nil, driver.Errorf(v, "redis: fault %s: error_replies.error: expected LOADING, READONLY or MASTERDOWN, got %q", f.Name, s)
		}
		return &errorFault{env: env, code: strings.ToUpper(s), msg: msg}, nil
	}
	return nil, driver.Errorf(n, "redis: fault %s: unknown fault kind %q", f.Name, f.Kind)
}

// faultParams are the parameters of each kind.
var faultParams = map[string][]string{
	FaultClientPause:     {"mode"},
	FaultDebugSleep:      {"duration"},
	FaultKill:            {"node", "restart"},
	FaultFailover:        {},
	FaultClusterFailover: {},
	FaultMemorySqueeze:   {"maxmemory", "policy"},
	FaultFlush:           {},
	FaultErrorReplies:    {"error"},
}

// needs refuses a kind on a target it cannot act on.
func (e *faultEnv) needs(n *yaml.Node, kind string) error {
	mode := e.cfg.mode
	fail := func(what string) error {
		return driver.Errorf(n, "redis: fault %s: %s needs %s, and target %q is %s", e.name, kind, what, e.target, e.describe())
	}
	switch kind {
	case FaultClientPause, FaultDebugSleep, FaultMemorySqueeze:
		if mode == modeEmbedded {
			return fail("a real redis-server (a managed: or url: target; the embedded server does not implement it)")
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
		if mode != modeEmbedded {
			return fail("the embedded server (a target without url, sentinel, cluster or managed); use a network fault or client_pause on a real server")
		}
	}
	return nil
}

func (e *faultEnv) describe() string {
	switch {
	case e.topology != "":
		return "a managed " + e.topology + " target"
	case e.cfg.mode == modeEmbedded:
		return "an embedded target"
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
// of a cluster), with a read timeout of at least readTimeout. They dial
// like the target's own clients (through the fault proxy when there is
// one) but keep no pooled connection of the steps busy. The caller closes
// them.
func (t *Target) adminClients(ctx context.Context, readTimeout time.Duration) ([]*goredis.Client, error) {
	mk := func(o *goredis.Options) *goredis.Client {
		c := *o
		c.PoolSize, c.MinIdleConns, c.MaxIdleConns = 1, 0, 1
		c.MaxRetries = -1
		c.ReadTimeout = max(c.ReadTimeout, readTimeout)
		c.WriteTimeout = max(c.WriteTimeout, adminTimeout)
		c.ContextTimeoutEnabled = true
		return goredis.NewClient(&c)
	}
	if t.cluster != nil {
		var mu sync.Mutex
		var out []*goredis.Client
		err := t.cluster.ForEachMaster(ctx, func(_ context.Context, c *goredis.Client) error {
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
	return []*goredis.Client{mk(c.Options())}, nil
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
// primary. The pause ends by itself when the fault's window does.
type pauseFault struct {
	env    *faultEnv
	mode   string // WRITE or ALL
	length time.Duration
}

func (p *pauseFault) String() string {
	return fmt.Sprintf("client pause (%s) for %v", strings.ToLower(p.mode), p.length)
}

// Start pauses the clients of every primary for the fault's length, from
// dedicated connections. Undo sends CLIENT UNPAUSE, best effort: Redis 7.0
// queues it behind a PAUSE ALL, whose own timeout then ends the pause, and
// a failure once the pause has run its length is no failure.
func (p *pauseFault) Start(ctx context.Context, dt driver.Target) (func(context.Context) error, error) {
	t, err := p.env.redisTarget(dt)
	if err != nil {
		return nil, err
	}
	cs, err := t.adminClients(ctx, adminTimeout)
	if err != nil {
		return nil, p.env.wrap(t, err, "CLIENT PAUSE")
	}
	defer closeAll(cs)
	started := time.Now()
	ms := strconv.FormatInt(p.length.Milliseconds(), 10)
	err = onEach(cs, func(c *goredis.Client) error { return c.Do(ctx, "CLIENT", "PAUSE", ms, p.mode).Err() })
	undo := func(ctx context.Context) error {
		ended := started.Add(p.length)
		uctx, cancel := context.WithDeadline(ctx, latest(ended.Add(time.Second), time.Now().Add(time.Second)))
		defer cancel()
		us, uerr := t.adminClients(uctx, adminTimeout)
		if uerr == nil {
			defer closeAll(us)
			uerr = onEach(us, func(c *goredis.Client) error { return c.Do(uctx, "CLIENT", "UNPAUSE").Err() })
		}
		if uerr != nil && time.Now().Before(ended) {
			return p.env.wrap(t, uerr, "CLIENT UNPAUSE")
		}
		return nil
	}
	if err != nil {
		return undo, p.env.wrap(t, err, "CLIENT PAUSE %s %s", ms, p.mode)
	}
	return undo, nil
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
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
	t, err := s.env.redisTarget(dt)
	if err != nil {
		return nil, err
	}
	cs, err := t.adminClients(ctx, s.length+adminTimeout)
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
	var user, pass, master string
	d := t.Deployment()
	if d != nil {
		addrs, master = d.Sentinels(), d.MasterName()
	} else {
		sc := f.env.cfg.sentinel
		addrs, user, pass, master = sc.addrs, sc.username, sc.password, sc.master
	}
	var errs []error
	for _, addr := range addrs {
		s := sentinelClient(addr, user, pass, d)
		if d == nil && f.env.cfg.tls != nil {
			tc, terr := f.env.cfg.tls.load()
			if terr != nil {
				_ = s.Close()
				return nil, f.env.wrap(t, terr, "tls")
			}
			s = goredis.NewSentinelClient(&goredis.Options{Addr: addr, Username: user, Password: pass, MaxRetries: -1,
				DisableIdentity: true, DialTimeout: adminTimeout, ReadTimeout: adminTimeout, WriteTimeout: adminTimeout, Protocol: 2, TLSConfig: tc})
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

func (m *squeezeFault) Start(ctx context.Context, dt driver.Target) (func(context.Context) error, error) {
	t, err := m.env.redisTarget(dt)
	if err != nil {
		return nil, err
	}
	cs, err := t.adminClients(ctx, adminTimeout)
	if err != nil {
		return nil, m.env.wrap(t, err, "memory_squeeze")
	}
	type saved struct{ maxmemory, policy string }
	var mu sync.Mutex
	prev := map[*goredis.Client]saved{}
	err = onEach(cs, func(c *goredis.Client) error {
		var s saved
		for _, p := range []struct {
			name string
			dst  *string
		}{{"maxmemory", &s.maxmemory}, {"maxmemory-policy", &s.policy}} {
			v, err := c.ConfigGet(ctx, p.name).Result()
			if err != nil {
				return fmt.Errorf("CONFIG GET %s: %w", p.name, err)
			}
			val, ok := v[p.name]
			if !ok {
				return fmt.Errorf("CONFIG GET %s: no value", p.name)
			}
			*p.dst = val
		}
		mu.Lock()
		prev[c] = s
		mu.Unlock()
		if m.policy != "" {
			if err := c.ConfigSet(ctx, "maxmemory-policy", m.policy).Err(); err != nil {
				return fmt.Errorf("CONFIG SET maxmemory-policy: %w", err)
			}
		}
		if err := c.ConfigSet(ctx, "maxmemory", m.maxmemory).Err(); err != nil {
			return fmt.Errorf("CONFIG SET maxmemory: %w", err)
		}
		return nil
	})
	var once sync.Once
	var undoErr error
	undo := func(ctx context.Context) error {
		once.Do(func() {
			defer closeAll(cs)
			mu.Lock()
			defer mu.Unlock()
			undoErr = onEach(cs, func(c *goredis.Client) error {
				s, ok := prev[c]
				if !ok {
					return nil // nothing was read, so nothing was set
				}
				if err := c.ConfigSet(ctx, "maxmemory", s.maxmemory).Err(); err != nil {
					return fmt.Errorf("restoring maxmemory %s: %w", s.maxmemory, err)
				}
				if err := c.ConfigSet(ctx, "maxmemory-policy", s.policy).Err(); err != nil {
					return fmt.Errorf("restoring maxmemory-policy %s: %w", s.policy, err)
				}
				return nil
			})
			undoErr = m.env.wrap(t, undoErr, "undo")
		})
		return undoErr
	}
	if err != nil {
		return undo, m.env.wrap(t, err, "memory_squeeze")
	}
	return undo, nil
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
	cs, err := t.adminClients(ctx, adminTimeout)
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
		return nil, fmt.Errorf("redis: fault %s: error_replies needs the embedded server", e.env.name)
	}
	t.mini.SetError(e.msg)
	return func(context.Context) error {
		t.mini.SetError("")
		return nil
	}, nil
}
