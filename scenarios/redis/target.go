package redis

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/scenarios/redis/managed"
)

// Target is an open Redis target: a go-redis client (plain, sentinel
// failover or cluster), the fast path for single servers, and whatever
// runplan started for it (an embedded miniredis or a managed deployment).
// It is safe for concurrent use.
type Target struct {
	name   string
	kind   string
	addr   string
	prefix string // the full prefix every key of this run starts with (see runNamespace)
	keep   bool
	owned  bool
	// readOnly: keys are the user's own, used as written under key_prefix;
	// steps only read, and nothing is ever deleted.
	readOnly bool
	// safetyTTL is the expiry of every key the run writes on a target
	// runplan did not start (0 on embedded, managed and read_only targets);
	// ttlArg is it in seconds, as sent. safetyNX: the server takes EXPIRE
	// ... NX (Redis 7.0+). runLength is the run's planned length.
	safetyTTL time.Duration
	ttlArg    []byte
	safetyNX  bool
	runLength time.Duration
	secrets   []string
	// segment and segments: this process runs segment `segment` of
	// `segments` (segments > 1), and a target it did not start is shared
	// with the other segments' processes: see Clean.
	segment, segments int

	client  goredis.UniversalClient
	cluster *goredis.ClusterClient // cluster targets only
	fast    *fastPool              // single-server targets, unless fast_path: false

	mini     *miniredis.Miniredis // embedded only
	stopTick chan struct{}        // embedded only: stops the TTL clock
	tickDone chan struct{}
	deploy   *managed.Deployment // managed (and local redis-server) only

	software string   // what serves the target; see Software
	notices  []string // see Notices

	prefill []*prefillSpec
	seed    uint64
	log     func(string)
	via     func(upstream string) (string, error) // the engine's fault proxy, or nil
	jr      driver.Journal                        // set by BindJournal before the run; nil: none

	bulk          func() goredis.UniversalClient // a prefill's client; see bulk.go
	progressEvery time.Duration                  // 0: progressEvery
	observerOnce  sync.Once
	obs           goredis.UniversalClient // see observer

	infoMode atomic.Int32 // which INFO form the server accepts; see info

	closeOnce sync.Once
	closeErr  error
}

// embeddedTick is how often the embedded server's TTLs are advanced:
// miniredis expires keys only when told that time has passed.
const embeddedTick = 100 * time.Millisecond

// Open connects to the target and PINGs it. Without a URL, sentinel or
// cluster it first starts an embedded miniredis on a loopback port; with
// managed it starts the deployment (which Close stops). On failure
// everything acquired is released, and the error never contains a
// password. Open is safe for concurrent use.
func (c *Config) Open(ctx context.Context, env driver.Env) (_ driver.Target, err error) {
	t, cfg := c.spec, c.cfg
	tg := &Target{name: t.Name, keep: cfg.keep, prefix: cfg.keyPrefix, owned: cfg.owned(), readOnly: cfg.readOnly,
		runLength: t.RunLength, secrets: cfg.secrets(), prefill: cfg.prefill, seed: env.Seed, log: env.Log, via: env.Via,
		segment: t.SegmentIndex, segments: t.SegmentCount}
	if !cfg.readOnly {
		id := t.RunID
		if id == "" {
			id = randomID() // direct use, as in tests; the engine always names the run
		}
		tg.prefix = runNamespace(cfg.keyPrefix, id)
	}
	defer func() {
		if err != nil {
			_ = tg.Close()
			err = tg.scrub(err)
		}
	}()
	if err := tg.connect(ctx, cfg); err != nil {
		return nil, err
	}
	if err := tg.Ping(ctx); err != nil {
		return nil, err
	}
	if tg.readOnly {
		tg.logf("redis: target %q: %s target at %s, read only, keys as written under %q", t.Name, tg.kind, tg.addr, tg.prefix)
		return tg, nil
	}
	if !tg.owned {
		tg.armSafetyTTL(ctx, cmp.Or(cfg.safetyTTL, defaultSafetyTTL(t.RunLength)))
	}
	tg.logf("redis: target %q: %s target at %s, keys under %q%s", t.Name, tg.kind, tg.addr, tg.prefix, tg.safetyNote())
	return tg, nil
}

// connect builds the clients for cfg's mode.
func (t *Target) connect(ctx context.Context, cfg *config) error {
	u := cfg.universal()
	switch cfg.mode {
	case modeEmbedded:
		if cfg.localServer == localRedisServer || cfg.localServer == localAuto && redisServerInstalled() {
			return t.startLocal(ctx, cfg, u)
		}
		t.kind = driver.KindEmbedded
		t.software = "miniredis"
		t.notices = []string{MiniredisNotice}
		t.mini = miniredis.NewMiniRedis()
		if err := t.mini.StartAddr("127.0.0.1:0"); err != nil {
			return fmt.Errorf("redis: target %q: starting embedded server: %w", t.name, err)
		}
		t.startClock()
		t.addr = "redis://" + t.mini.Addr()
		t.infoMode.Store(infoPlain)
		u.Addrs = []string{t.mini.Addr()}
		t.single(t.dialVia(u.Simple()), cfg)
	case modeURL:
		t.kind = driver.KindExternal
		t.addr = redactURL(cfg.url)
		o := new(goredis.Options)
		*o = *cfg.opts // the Config's own stays as parsed: go-redis changes what it is given
		cfg.apply(o)
		if cfg.tls != nil {
			tc, err := cfg.tls.load()
			if err != nil {
				return fmt.Errorf("redis: target %q: tls: %w", t.name, err)
			}
			if tc.ServerName == "" && o.TLSConfig != nil {
				tc.ServerName = o.TLSConfig.ServerName
			}
			o.TLSConfig = tc
		}
		t.single(t.dialVia(o), cfg)
	case modeSentinel:
		t.kind = driver.KindExternal
		if err := cfg.applyTLS(u); err != nil {
			return fmt.Errorf("redis: target %q: tls: %w", t.name, err)
		}
		u.MasterName, u.Addrs = cfg.sentinel.master, cfg.sentinel.addrs
		u.SentinelUsername, u.SentinelPassword = cfg.sentinel.username, cfg.sentinel.password
		t.addr = scheme(u, "sentinel") + strings.Join(u.Addrs, ",") + "/" + u.MasterName
		t.client = t.newFailover(t.dialViaFailover(u.Failover()))
	case modeCluster:
		t.kind = driver.KindExternal
		if err := cfg.applyTLS(u); err != nil {
			return fmt.Errorf("redis: target %q: tls: %w", t.name, err)
		}
		u.Addrs = cfg.cluster.addrs
		t.addr = scheme(u, "cluster") + strings.Join(u.Addrs, ",")
		t.cluster = t.newCluster(t.dialViaCluster(u.Cluster()))
		t.client = t.cluster
	case modeManaged:
		t.kind = driver.KindManaged
		mc := *cfg.managed
		defer func() {
			if t.deploy != nil {
				t.software = "redis-server " + t.deploy.Release()
			}
		}()
		mc.Log = t.log
		d, err := managed.Start(ctx, mc)
		if err != nil {
			return fmt.Errorf("redis: target %q: %w", t.name, err)
		}
		t.deploy = d
		u.Password, u.TLSConfig = d.Password(), d.ClientTLS()
		switch d.Topology() {
		case managed.Sentinel:
			u.MasterName, u.Addrs = d.MasterName(), d.Sentinels()
			t.addr = scheme(u, "sentinel") + strings.Join(u.Addrs, ",") + "/" + u.MasterName
			t.client = t.newFailover(t.dialViaFailover(u.Failover()))
		case managed.Cluster:
			u.Addrs = d.Nodes()
			t.addr = scheme(u, "cluster") + strings.Join(d.Primaries(), ",")
			t.cluster = t.newCluster(t.dialViaCluster(u.Cluster()))
			t.client = t.cluster
		default:
			u.Addrs = []string{d.Addr()}
			t.addr = scheme(u, "") + d.Addr()
			t.single(t.dialVia(u.Simple()), cfg)
		}
	}
	return nil
}

var _ driver.Describer = (*Target)(nil)

// MiniredisNotice is the notice of a target served by the in-process
// miniredis (see Target.Notices).
const MiniredisNotice = "in-process miniredis: figures are not Redis measurements"

// redisServerInstalled reports whether a redis-server is on PATH: the
// default (local_server: auto) target then starts one.
func redisServerInstalled() bool {
	_, err := exec.LookPath(managed.DefaultBinary)
	return err == nil
}

// startLocal starts the standalone redis-server of a target without url,
// sentinel, cluster or managed (local_server: auto with a redis-server on
// PATH, or local_server: redis-server): a managed standalone deployment,
// which Close stops.
func (t *Target) startLocal(ctx context.Context, cfg *config, u *goredis.UniversalOptions) error {
	t.kind = driver.KindManaged
	d, err := managed.Start(ctx, managed.Config{Log: t.log})
	if err != nil {
		if errors.Is(err, managed.ErrNotInstalled) {
			err = fmt.Errorf("%w (or set local_server: miniredis for the in-process server, whose figures are not Redis measurements)", err)
		}
		return fmt.Errorf("redis: target %q: starting a local redis-server: %w", t.name, err)
	}
	t.deploy = d
	t.software = "redis-server " + d.Release()
	u.Addrs = []string{d.Addr()}
	t.addr = scheme(u, "") + d.Addr()
	t.single(t.dialVia(u.Simple()), cfg)
	return nil
}

// single makes the client of a single-server target, and its fast path.
func (t *Target) single(o *goredis.Options, cfg *config) {
	c := t.newSingle(o)
	t.client = c
	if !cfg.noFastPath {
		// The client's options have go-redis's defaults filled in.
		fo := fastOptionsFrom(c.Options())
		fo.via = t.via
		t.fast = newFastPool(fo)
	}
}

// dialVia makes go-redis dial through the engine's fault proxy, when the
// plan has network faults on the target.
func (t *Target) dialVia(o *goredis.Options) *goredis.Options {
	if t.via != nil {
		o.Dialer = viaDialer(t.via, o.TLSConfig, o.DialTimeout)
	}
	return o
}

func (t *Target) dialViaFailover(o *goredis.FailoverOptions) *goredis.FailoverOptions {
	if t.via != nil {
		o.Dialer = viaDialer(t.via, o.TLSConfig, o.DialTimeout)
	}
	return o
}

func (t *Target) dialViaCluster(o *goredis.ClusterOptions) *goredis.ClusterOptions {
	if t.via != nil {
		o.Dialer = viaDialer(t.via, o.TLSConfig, o.DialTimeout)
	}
	return o
}

// viaDialer dials every TCP address through via (the fault proxy), with
// TLS on top when tc is set, verified against the upstream's name. (A
// custom dialer replaces go-redis's, TLS included.)
func viaDialer(via func(string) (string, error), tc *tls.Config, timeout time.Duration) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return dialThrough(ctx, via, tc, timeout, network, addr)
	}
}

// dialThrough dials addr, through via when set (unix sockets never), and
// runs the TLS handshake when tc is set.
func dialThrough(ctx context.Context, via func(string) (string, error), tc *tls.Config, timeout time.Duration,
	network, addr string) (net.Conn, error) {
	target := addr
	if via != nil && network != "unix" {
		a, err := via(addr)
		if err != nil {
			return nil, fmt.Errorf("redis: fault proxy for %s: %w", addr, err)
		}
		target = a
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, target)
	if err != nil || tc == nil {
		return nc, err
	}
	cfg := tc
	if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
		cfg = tc.Clone()
		cfg.ServerName, _, _ = net.SplitHostPort(addr)
	}
	conn := tls.Client(nc, cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("redis: tls handshake with %s: %w", addr, err)
	}
	return conn, nil
}

// scheme returns the report's scheme for the target's addresses.
func scheme(u *goredis.UniversalOptions, kind string) string {
	s := "redis"
	if u.TLSConfig != nil {
		s = "rediss"
	}
	if kind != "" {
		s += "-" + kind
	}
	return s + "://"
}

// universal returns the client options every mode shares.
func (c *config) universal() *goredis.UniversalOptions {
	u := &goredis.UniversalOptions{Username: c.username, Password: c.password, DB: c.db}
	o := &goredis.Options{}
	c.apply(o)
	u.PoolSize, u.PoolTimeout = o.PoolSize, o.PoolTimeout
	u.DialTimeout, u.ReadTimeout, u.WriteTimeout = o.DialTimeout, o.ReadTimeout, o.WriteTimeout
	u.MaxRetries, u.MinRetryBackoff, u.MaxRetryBackoff = o.MaxRetries, o.MinRetryBackoff, o.MaxRetryBackoff
	u.DialerRetries, u.ContextTimeoutEnabled = o.DialerRetries, o.ContextTimeoutEnabled
	u.DisableIdentity, u.MaintNotificationsConfig = o.DisableIdentity, o.MaintNotificationsConfig
	return u
}

// apply sets the target's options on o, keeping what a url set when the
// target does not say otherwise.
func (c *config) apply(o *goredis.Options) {
	if c.hasUser {
		o.Username = c.username
	}
	if c.hasPass {
		o.Password = c.password
	}
	if c.hasDB {
		o.DB = c.db
	}
	if c.poolSize > 0 {
		o.PoolSize = c.poolSize
	}
	if c.dialTimeout > 0 {
		o.DialTimeout = c.dialTimeout
	}
	if c.readTimeout > 0 {
		o.ReadTimeout = c.readTimeout
	}
	if c.writeTimeout > 0 {
		o.WriteTimeout = c.writeTimeout
	}
	if c.poolTimeout > 0 {
		o.PoolTimeout = c.poolTimeout
	}
	switch {
	case c.retries != nil:
		o.MaxRetries = c.retries.max
		if o.MaxRetries == 0 {
			o.MaxRetries = -1
		}
		o.MinRetryBackoff, o.MaxRetryBackoff = c.retries.minBackoff, c.retries.maxBackoff
		if o.MinRetryBackoff == 0 {
			o.MinRetryBackoff = 8 * time.Millisecond
		}
		if o.MaxRetryBackoff == 0 {
			o.MaxRetryBackoff = 512 * time.Millisecond
		}
	case c.url == "" || !urlHasParam(c.url, "max_retries"):
		// A load generator reports what one call did; silent retries would
		// hide failures and stretch latencies.
		o.MaxRetries = -1
	}
	// One dial attempt per call, for the same reason.
	o.DialerRetries = 1
	o.ContextTimeoutEnabled = true
	o.DisableIdentity = true // no CLIENT SETINFO noise in the measured connections
	o.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
}

// applyTLS loads the target's TLS configuration into u.
func (c *config) applyTLS(u *goredis.UniversalOptions) error {
	if c.tls == nil {
		return nil
	}
	tc, err := c.tls.load()
	if err != nil {
		return err
	}
	u.TLSConfig = tc
	return nil
}

func randomID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (t *Target) logf(format string, args ...any) {
	if t.log != nil {
		t.log(fmt.Sprintf(format, args...))
	}
}

// scrub masks the target's passwords in err's message.
func (t *Target) scrub(err error) error { return scrub(err, t.secrets) }

// startClock advances the embedded server's TTLs with the wall clock.
func (t *Target) startClock() {
	t.stopTick, t.tickDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(t.tickDone)
		tick := time.NewTicker(embeddedTick)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-t.stopTick:
				return
			case now := <-tick.C:
				t.mini.FastForward(now.Sub(last))
				last = now
			}
		}
	}()
}

// Kind returns driver.KindEmbedded, driver.KindManaged or
// driver.KindExternal. It is safe for concurrent use.
func (t *Target) Kind() string { return t.kind }

// Software names what serves the target: "redis-server <version>" for the
// servers runplan starts, "miniredis" for the in-process
// server, "" for servers runplan did not start (their version is in the
// server figures). It is safe for concurrent use.
func (t *Target) Software() string { return t.software }

// Notices returns MiniredisNotice for a target served by the in-process
// miniredis, none otherwise. It is safe for concurrent use.
func (t *Target) Notices() []string { return t.notices }

// Addr describes the target's servers, without any password: a redis URL,
// or redis-sentinel://addrs/master, redis-cluster://addrs (rediss-* under
// TLS). It is safe for concurrent use.
func (t *Target) Addr() string { return t.addr }

// KeyPrefix returns the prefix every key of the run is put under. It is safe
// for concurrent use.
func (t *Target) KeyPrefix() string { return t.prefix }

// Client returns the underlying go-redis client, safe for concurrent use.
func (t *Target) Client() goredis.UniversalClient { return t.client }

// Deployment returns the managed deployment, nil for other targets.
func (t *Target) Deployment() *managed.Deployment { return t.deploy }

// Ping checks that the target answers (on a cluster, every primary), on
// the observer client: a server slow to answer on a busy machine is still
// up. It is safe for concurrent use.
func (t *Target) Ping(ctx context.Context) error {
	var err error
	if cc, ok := t.observer().(*goredis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error { return c.Ping(ctx).Err() })
	} else {
		err = t.observer().Ping(ctx).Err()
	}
	if err != nil {
		return t.scrub(fmt.Errorf("redis: target %q: ping %s: %w", t.name, t.addr, err))
	}
	return nil
}

// Cleanup deletes every key under the target's key prefix (see Clean). It
// is safe for concurrent use, though calling it once is enough.
func (t *Target) Cleanup(ctx context.Context) error {
	_, err := t.Clean(ctx)
	return err
}

// cleanTries bounds Clean's attempts; each may resume where the last
// stopped (the keys it deleted are gone).
const cleanTries = 3

// Clean deletes every key under the target's key prefix (SCAN MATCH, then
// UNLINK, or DEL where UNLINK is unknown; on a cluster, on every primary),
// unless the target has keep: true, and says how many it deleted. A failed
// attempt is retried (cleanTries in all, while ctx lasts); after the last,
// the keys still there are counted, if the server answers, so that the
// report says how many were left. Once the namespace is empty its journal
// entry is forgotten. It is safe for concurrent use.
func (t *Target) Clean(ctx context.Context) (driver.CleanupResult, error) {
	res := driver.CleanupResult{What: fmt.Sprintf("keys under %q", t.prefix)}
	if t.readOnly { // a read_only target's keys are the user's: never touched
		res.What = fmt.Sprintf("keys under %q left alone (read_only: true)", t.prefix)
		return res, nil
	}
	if t.keep {
		res.What = fmt.Sprintf("keys under %q kept (keep: true)", t.prefix)
		return res, nil
	}
	if t.segments > 1 && !t.owned {
		// The segments of a run share this target's namespace: the last
		// to end cleans it, so that none pulls keys from under another.
		ended, err := t.segmentEnded(ctx)
		if err != nil {
			res.KeysLeft = -1
			return res, t.scrub(fmt.Errorf("redis: target %q: cleanup: recording the end of segment %d of %d: %w (the run's keys are left; they expire by their safety TTL)",
				t.name, t.segment, t.segments, err))
		}
		if ended < int64(t.segments) {
			res.Deferred, res.KeysLeft = true, -1
			res.What = fmt.Sprintf("keys under %q left to the last segment to end (%d of %d ended)", t.prefix, ended, t.segments)
			if jerr := t.journal().Forget(t.keysEntry()); jerr != nil {
				t.logf("redis: target %q: %v", t.name, jerr)
			}
			return res, nil
		}
	}
	pattern := globEscape(t.prefix) + "*"
	var err error
	for try := 0; try < cleanTries; try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(try) * 200 * time.Millisecond):
			}
			if ctx.Err() != nil {
				break
			}
		}
		var n int64
		n, err = t.cleanAll(ctx, pattern, false)
		res.KeysRemoved += n
		if err == nil {
			break
		}
	}
	if err != nil {
		res.KeysLeft = -1
		// A short count of its own: ctx may be spent.
		cctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		if n, cerr := t.cleanAll(cctx, pattern, true); cerr == nil {
			res.KeysLeft = n
		}
		cancel()
		return res, t.scrub(fmt.Errorf("redis: target %q: cleanup: %w", t.name, err))
	}
	if jerr := t.journal().Forget(t.keysEntry()); jerr != nil {
		t.logf("redis: target %q: %v", t.name, jerr)
	}
	return res, nil
}

// segmentsEndedKey names, under the run's namespace, the set of the
// segments that have ended (their indexes), shared by the segments'
// processes: the one that completes it cleans the namespace.
const segmentsEndedKey = "_segments_ended"

// segmentEnded records that this segment has ended and returns how many
// of the run's segments have, in one transaction: exactly one segment
// sees them all. The set expires like the run's keys (safety TTL), so a
// run whose last segment never ends leaves nothing for long.
func (t *Target) segmentEnded(ctx context.Context) (int64, error) {
	key := t.prefix + segmentsEndedKey
	ttl := cmp.Or(t.safetyTTL, defaultSafetyTTL(t.runLength))
	var card *goredis.IntCmd
	_, err := t.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.SAdd(ctx, key, t.segment)
		p.Expire(ctx, key, ttl)
		card = p.SCard(ctx, key)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return card.Val(), nil
}

// cleanAll deletes (or, with countOnly, counts) the keys matching pattern
// on every server of the target, and returns how many.
func (t *Target) cleanAll(ctx context.Context, pattern string, countOnly bool) (int64, error) {
	var total atomic.Int64
	var err error
	if t.cluster != nil {
		err = t.cluster.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error {
			n, err := cleanNode(ctx, c, pattern, true, countOnly)
			total.Add(n)
			return err
		})
	} else {
		var n int64
		n, err = cleanNode(ctx, t.client, pattern, false, countOnly)
		total.Add(n)
	}
	return total.Load(), err
}

// cleanNode removes the keys matching pattern from one server and returns
// how many it removed (with countOnly, counts them and removes nothing).
// perKey deletes them one command each, as a cluster requires when keys of
// one node hash to different slots.
func cleanNode(ctx context.Context, c goredis.UniversalClient, pattern string, perKey, countOnly bool) (int64, error) {
	useDel := false
	var cursor uint64
	var n int64
	for {
		keys, next, err := c.Scan(ctx, cursor, pattern, 1000).Result()
		if err != nil {
			return n, fmt.Errorf("scan: %w", err)
		}
		switch {
		case countOnly:
			n += int64(len(keys))
		case len(keys) > 0:
			d, err := deleteKeys(ctx, c, keys, perKey, &useDel)
			n += d
			if err != nil {
				return n, fmt.Errorf("delete: %w", err)
			}
		}
		if next == 0 {
			return n, nil
		}
		cursor = next
	}
}

// deleteKeys deletes keys and returns how many the server deleted.
func deleteKeys(ctx context.Context, c goredis.UniversalClient, keys []string, perKey bool, useDel *bool) (int64, error) {
	run := func(cmd string) (int64, error) {
		if !perKey {
			args := make([]any, 0, len(keys)+1)
			args = append(args, cmd)
			for _, k := range keys {
				args = append(args, k)
			}
			return c.Do(ctx, args...).Int64()
		}
		pipe := c.Pipeline()
		cmds := make([]*goredis.Cmd, len(keys))
		for i, k := range keys {
			cmds[i] = pipe.Do(ctx, cmd, k)
		}
		_, err := pipe.Exec(ctx)
		var n int64
		for _, c := range cmds {
			v, _ := c.Int64()
			n += v
		}
		return n, err
	}
	if !*useDel {
		n, err := run("UNLINK")
		if err == nil || !isUnknownCommand(err) {
			return n, err
		}
		*useDel = true
	}
	return run("DEL")
}

func isUnknownCommand(err error) bool {
	_, ok := errors.AsType[goredis.Error](err)
	return ok && strings.Contains(strings.ToLower(err.Error()), "unknown command")
}

// globEscape escapes the glob metacharacters of SCAN MATCH.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Close closes the clients and stops what runplan started: the embedded
// server, or the managed deployment's processes (removing their files).
// It is idempotent and safe for concurrent use; steps must have finished.
func (t *Target) Close() error {
	t.closeOnce.Do(func() {
		var errs []error
		if t.fast != nil {
			t.fast.Close()
		}
		if err := t.closeObserver(); err != nil {
			errs = append(errs, err)
		}
		if t.client != nil {
			if err := t.client.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		if t.mini != nil {
			if t.stopTick != nil {
				close(t.stopTick)
				<-t.tickDone
			}
			t.mini.Close()
		}
		if t.deploy != nil {
			if err := t.deploy.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			t.closeErr = t.scrub(fmt.Errorf("redis: target %q: close: %w", t.name, errors.Join(errs...)))
		}
	})
	return t.closeErr
}

// ServerTime returns the server's clock (TIME), on a cluster the clock of
// the primary that holds one fixed slot, so that every process of a run
// reads the same server (driver.Clocker). It is safe for concurrent use.
func (t *Target) ServerTime(ctx context.Context) (time.Time, error) {
	var c goredis.Cmdable = t.client
	if t.cluster != nil {
		m, err := t.cluster.MasterForKey(ctx, "runplan-clock")
		if err != nil {
			return time.Time{}, t.scrub(fmt.Errorf("redis: target %q: TIME: %w", t.name, err))
		}
		c = m
	}
	at, err := c.Time(ctx).Result()
	if err != nil {
		return time.Time{}, t.scrub(fmt.Errorf("redis: target %q: TIME: %w", t.name, err))
	}
	return at, nil
}
