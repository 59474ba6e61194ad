package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/driver"
)

// targetKeys are the target options this driver reads; "driver" and "url"
// belong to the engine.
var targetKeys = []string{"pool_size", "timeout", "key_prefix", "keep"}

// maxPoolSize bounds pool_size to something a single generator can use.
const maxPoolSize = 100_000

// config is a target's decoded configuration.
type config struct {
	url       string
	poolSize  int           // 0: go-redis default
	timeout   time.Duration // 0: go-redis defaults
	keyPrefix string        // "": derived from the run id at Open
	keep      bool
	opts      *goredis.Options // parsed url; nil when embedded
}

// CheckTarget validates a target's options and URL without I/O. Every problem
// is reported, each located at the offending value. It is safe for concurrent
// use.
func (Driver) CheckTarget(t driver.TargetSpec) error {
	_, err := parseTarget(t)
	return err
}

// parseTarget decodes and validates t.
func parseTarget(t driver.TargetSpec) (config, error) {
	cfg := config{url: t.URL}
	var errs []error
	n := valueNode(t.Node)
	var urlNode *yaml.Node
	switch {
	case n == nil || isNull(n):
	case n.Kind != yaml.MappingNode:
		errs = append(errs, driver.Errorf(n, "redis: target %q: expected a mapping, got %s", t.Name, describe(n)))
	default:
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], valueNode(n.Content[i+1])
			if seen[k.Value] {
				errs = append(errs, driver.Errorf(k, "redis: duplicate key %q", k.Value))
				continue
			}
			seen[k.Value] = true
			var err error
			switch k.Value {
			case "driver":
			case "url":
				urlNode = v
			case "pool_size":
				cfg.poolSize, err = decodeInt(v, "pool_size", 1, maxPoolSize)
			case "timeout":
				cfg.timeout, err = decodeDuration(v, "timeout")
				if err == nil && cfg.timeout <= 0 {
					err = driver.Errorf(v, "redis: timeout must be positive, got %s", v.Value)
				}
			case "key_prefix":
				cfg.keyPrefix, err = decodeString(v, "key_prefix")
				if err == nil && cfg.keyPrefix == "" {
					err = driver.Errorf(v, "redis: key_prefix must not be empty: Cleanup deletes every key under it")
				}
			case "keep":
				cfg.keep, err = decodeBool(v, "keep")
			default:
				err = unknownKey(k, targetKeys)
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	if cfg.url != "" {
		opts, err := goredis.ParseURL(cfg.url)
		if err != nil {
			if ue, ok := errors.AsType[*url.Error](err); ok {
				err = ue.Err // url.Error quotes the whole URL, password included
			}
			errs = append(errs, driver.Errorf(urlNode, "redis: target %q: invalid url %s: %w",
				t.Name, redactURL(cfg.url), scrub(err, cfg.url)))
		} else {
			cfg.opts = opts
		}
	}
	return cfg, joinErrors(errs)
}

func decodeInt(n *yaml.Node, what string, lo, hi int) (int, error) {
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		return 0, driver.Errorf(n, "redis: %s: expected an integer, got %s", what, describe(n))
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
	if err != nil || v < int64(lo) || v > int64(hi) {
		return 0, driver.Errorf(n, "redis: %s must be between %d and %d, got %s", what, lo, hi, n.Value)
	}
	return int(v), nil
}

func decodeDuration(n *yaml.Node, what string) (time.Duration, error) {
	if n == nil || n.Kind != yaml.ScalarNode || isNull(n) {
		return 0, driver.Errorf(n, "redis: %s: expected a duration such as 500ms or 5m, got %s", what, describe(n))
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		return 0, driver.Errorf(n, "redis: %s: expected a duration such as 500ms or 5m, got %q", what, n.Value)
	}
	if d < 0 {
		return 0, driver.Errorf(n, "redis: %s must not be negative, got %s", what, n.Value)
	}
	return d, nil
}

func decodeString(n *yaml.Node, what string) (string, error) {
	if n == nil || n.Kind != yaml.ScalarNode || isNull(n) {
		return "", driver.Errorf(n, "redis: %s: expected a string, got %s", what, describe(n))
	}
	return n.Value, nil
}

func decodeBool(n *yaml.Node, what string) (bool, error) {
	var b bool
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		return false, driver.Errorf(n, "redis: %s: expected true or false, got %s", what, describe(n))
	}
	return b, nil
}

// Target is an open Redis target: a go-redis client pool, plus the embedded
// miniredis when the target has no URL. It is safe for concurrent use.
type Target struct {
	name   string
	kind   string
	addr   string
	prefix string
	keep   bool
	client *goredis.Client

	mini     *miniredis.Miniredis // embedded only
	stopTick chan struct{}        // embedded only: stops the TTL clock
	tickDone chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// embeddedTick is how often the embedded server's TTLs are advanced:
// miniredis expires keys only when told that time has passed.
const embeddedTick = 100 * time.Millisecond

// Open connects to the target and PINGs it; without a URL it first starts an
// embedded miniredis on a loopback port. On failure everything acquired is
// released, and the error never contains the URL's password. Open is safe for
// concurrent use.
func (Driver) Open(ctx context.Context, t driver.TargetSpec, env driver.Env) (driver.Target, error) {
	cfg, err := parseTarget(t)
	if err != nil {
		return nil, err
	}
	tg := &Target{name: t.Name, keep: cfg.keep, prefix: cfg.keyPrefix}
	if tg.prefix == "" {
		id := t.RunID
		if id == "" {
			id = randomID()
		}
		tg.prefix = "runplan:" + id + ":"
	}
	opts := cfg.opts
	if opts == nil {
		tg.kind = driver.KindEmbedded
		tg.mini = miniredis.NewMiniRedis()
		if err := tg.mini.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("redis: target %q: starting embedded server: %w", t.Name, err)
		}
		opts = &goredis.Options{Addr: tg.mini.Addr()}
		tg.addr = "redis://" + tg.mini.Addr()
		tg.startClock()
	} else {
		tg.kind = driver.KindExternal
		tg.addr = redactURL(cfg.url)
	}
	opts.ContextTimeoutEnabled = true
	if cfg.poolSize > 0 {
		opts.PoolSize = cfg.poolSize
	}
	if cfg.timeout > 0 {
		opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = cfg.timeout, cfg.timeout, cfg.timeout
	}
	if cfg.opts == nil || !urlHasParam(cfg.url, "max_retries") {
		// A load generator reports what one call did; silent retries would
		// hide failures and stretch latencies.
		opts.MaxRetries = -1
	}
	// One dial attempt per call, for the same reason.
	opts.DialerRetries = 1
	opts.DisableIdentity = true // no CLIENT SETINFO noise in the measured connections
	opts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	tg.client = goredis.NewClient(opts)

	if err := tg.Ping(ctx); err != nil {
		_ = tg.Close()
		return nil, scrub(err, cfg.url)
	}
	if env.Log != nil {
		env.Log(fmt.Sprintf("redis: target %q: %s target at %s, keys under %q", t.Name, tg.kind, tg.addr, tg.prefix))
	}
	return tg, nil
}

func urlHasParam(raw, name string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Query().Has(name)
}

func randomID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

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

// Kind returns driver.KindEmbedded or driver.KindExternal. It is safe for
// concurrent use.
func (t *Target) Kind() string { return t.kind }

// Addr returns the target's address as a redis URL with the password masked.
// It is safe for concurrent use.
func (t *Target) Addr() string { return t.addr }

// KeyPrefix returns the prefix every key of the run is put under. It is safe
// for concurrent use.
func (t *Target) KeyPrefix() string { return t.prefix }

// Client returns the underlying go-redis client, safe for concurrent use.
func (t *Target) Client() *goredis.Client { return t.client }

// Ping checks that the target answers. It is safe for concurrent use.
func (t *Target) Ping(ctx context.Context) error {
	if err := t.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: target %q: ping %s: %w", t.name, t.addr, err)
	}
	return nil
}

// Cleanup deletes every key under the target's key prefix (SCAN MATCH, then
// UNLINK, or DEL where UNLINK is unknown), unless the target has keep: true.
// It is safe for concurrent use, though calling it once is enough.
func (t *Target) Cleanup(ctx context.Context) error {
	if t.keep {
		return nil
	}
	pattern := globEscape(t.prefix) + "*"
	useDel := false
	var cursor uint64
	for {
		keys, next, err := t.client.Scan(ctx, cursor, pattern, 1000).Result()
		if err != nil {
			return fmt.Errorf("redis: target %q: cleanup: scan: %w", t.name, err)
		}
		if len(keys) > 0 {
			if !useDel {
				err = t.client.Unlink(ctx, keys...).Err()
				if err != nil && isUnknownCommand(err) {
					useDel = true
				}
			}
			if useDel {
				err = t.client.Del(ctx, keys...).Err()
			}
			if err != nil {
				return fmt.Errorf("redis: target %q: cleanup: delete: %w", t.name, err)
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
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

// Close closes the client and stops the embedded server. It is idempotent
// and safe for concurrent use; steps must have finished.
func (t *Target) Close() error {
	t.closeOnce.Do(func() {
		if t.client != nil {
			t.closeErr = t.client.Close()
		}
		if t.mini != nil {
			close(t.stopTick)
			<-t.tickDone
			t.mini.Close()
		}
		if t.closeErr != nil {
			t.closeErr = fmt.Errorf("redis: target %q: close: %w", t.name, t.closeErr)
		}
	})
	return t.closeErr
}
