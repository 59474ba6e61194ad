package redis

import (
	"context"
	"fmt"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/tmpl"
)

var (
	cacheGetKeys = []string{"key", "on_miss"}
	onMissKeys   = []string{"value_size", "ttl", "load_delay"}
)

const (
	// defaultValueSize is the size of the value written on a miss when
	// on_miss gives none.
	defaultValueSize = 64
	// maxValueSize is Redis's own limit on a string (proto-max-bulk-len).
	maxValueSize = 512 << 20
)

// cacheGetStep is a read-through cache lookup: GET, and on a miss, wait for
// the simulated backing fetch and SET. After Bind it is safe for concurrent
// use.
type cacheGetStep struct {
	step      string
	key       *tmpl.Template
	fill      bool
	value     any // []byte, allocated once; held in an interface once
	ttl       time.Duration
	loadDelay time.Duration

	target *Target
	pool   sync.Pool
}

// cacheScratch holds one call's rendered key and prebuilt argument lists.
type cacheScratch struct {
	buf     []byte
	key     argSlot
	getArgs []any
	setArgs []any
}

func prepareCacheGet(step string, n *yaml.Node, c *tmpl.Compiler) (driver.Step, error) {
	n = valueNode(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, driver.Errorf(n, "redis: cache_get: expected a mapping with key and on_miss, got %s", describe(n))
	}
	s := &cacheGetStep{step: step}
	var errs []error
	var keyNode *yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], valueNode(n.Content[i+1])
		if seen[k.Value] {
			errs = append(errs, driver.Errorf(k, "redis: cache_get: duplicate key %q", k.Value))
			continue
		}
		seen[k.Value] = true
		switch k.Value {
		case "key":
			keyNode = v
			if v.Kind != yaml.ScalarNode || isNull(v) {
				errs = append(errs, driver.Errorf(v, "redis: cache_get: key: expected a string, got %s", describe(v)))
				continue
			}
			t, err := compileAt(c, v, "cache_get key")
			if err != nil {
				errs = append(errs, err)
				continue
			}
			s.key = t
		case "on_miss":
			if err := s.prepareOnMiss(v); err != nil {
				errs = append(errs, err)
			}
		default:
			errs = append(errs, unknownKey(k, cacheGetKeys))
		}
	}
	if keyNode == nil {
		errs = append(errs, driver.Errorf(n, "redis: cache_get: missing key"))
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return s, nil
}

func (s *cacheGetStep) prepareOnMiss(n *yaml.Node) error {
	if n == nil || n.Kind != yaml.MappingNode {
		return driver.Errorf(n, "redis: cache_get: on_miss: expected a mapping with value_size, ttl and load_delay, got %s", describe(n))
	}
	s.fill = true
	size := defaultValueSize
	var errs []error
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], valueNode(n.Content[i+1])
		if seen[k.Value] {
			errs = append(errs, driver.Errorf(k, "redis: cache_get: on_miss: duplicate key %q", k.Value))
			continue
		}
		seen[k.Value] = true
		var err error
		switch k.Value {
		case "value_size":
			size, err = decodeInt(v, "value_size", 0, maxValueSize)
		case "ttl":
			s.ttl, err = decodeDuration(v, "ttl")
			if err == nil && s.ttl > 0 && s.ttl < time.Millisecond {
				err = driver.Errorf(v, "redis: ttl must be 0 (no expiry) or at least 1ms, got %s", v.Value)
			}
		case "load_delay":
			s.loadDelay, err = decodeDuration(v, "load_delay")
		default:
			err = unknownKey(k, onMissKeys)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return joinErrors(errs)
	}
	value := make([]byte, size)
	const filler = "runplan-cache-value:"
	for i := range value {
		value[i] = filler[i%len(filler)]
	}
	s.value = value
	return nil
}

// Bind ties the step to its target. It must not run concurrently with Do.
func (s *cacheGetStep) Bind(t driver.Target) error {
	tg, ok := t.(*Target)
	if !ok {
		return fmt.Errorf("redis: step %q: target is a %T, not a redis target", s.step, t)
	}
	s.target = tg
	var expiry []any
	switch {
	case s.ttl <= 0:
	case s.ttl%time.Second == 0:
		expiry = []any{"EX", int64(s.ttl / time.Second)}
	default:
		expiry = []any{"PX", s.ttl.Milliseconds()}
	}
	s.pool = sync.Pool{New: func() any {
		sc := &cacheScratch{}
		sc.getArgs = []any{"GET", &sc.key}
		sc.setArgs = append([]any{"SET", &sc.key, s.value}, expiry...)
		return sc
	}}
	return nil
}

// Do looks the key up and fills it on a miss. It reports CacheHit or
// CacheMiss unless the lookup itself failed. It is safe for concurrent use.
func (s *cacheGetStep) Do(ctx context.Context, it *driver.Iteration) driver.Outcome {
	sc := s.pool.Get().(*cacheScratch)
	buf := append(sc.buf[:0], s.target.prefix...)
	if !s.key.Static() {
		if it == nil || it.Templates == nil {
			s.pool.Put(sc)
			return driver.Outcome{Err: fmt.Errorf("redis: cache_get: no template state for iteration"), Class: ClassTemplate}
		}
		var err error
		buf, err = s.key.AppendTo(buf, it.Templates)
		if err != nil {
			sc.buf = buf[:0]
			s.pool.Put(sc)
			return driver.Outcome{Err: fmt.Errorf("redis: cache_get: key %q: %w", s.key.Source(), err), Class: ClassTemplate}
		}
	} else {
		buf = append(buf, s.key.Source()...)
	}
	sc.buf, sc.key.b = buf[:0], buf

	get := goredis.NewCmd(ctx, sc.getArgs...)
	err := s.target.client.Process(ctx, get)
	switch {
	case err == nil:
		s.pool.Put(sc)
		return driver.Outcome{Cache: driver.CacheHit}
	case err != goredis.Nil:
		return s.fail(sc, "GET", err, driver.CacheNone)
	case !s.fill:
		s.pool.Put(sc)
		return driver.Outcome{Cache: driver.CacheMiss}
	}
	if s.loadDelay > 0 {
		t := time.NewTimer(s.loadDelay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			s.pool.Put(sc)
			err := ctx.Err()
			return driver.Outcome{Err: fmt.Errorf("redis: cache_get: load_delay: %w", err), Class: classify(err), Cache: driver.CacheMiss}
		}
	}
	set := goredis.NewCmd(ctx, sc.setArgs...)
	if err := s.target.client.Process(ctx, set); err != nil {
		return s.fail(sc, "SET", err, driver.CacheMiss)
	}
	s.pool.Put(sc)
	return driver.Outcome{Cache: driver.CacheMiss}
}

func (s *cacheGetStep) fail(sc *cacheScratch, op string, err error, cache driver.CacheResult) driver.Outcome {
	class := classify(err)
	if class == ClassRedis {
		s.pool.Put(sc) // see commandStep.Do
	}
	return driver.Outcome{Err: fmt.Errorf("redis: cache_get: %s: %w", op, err), Class: class, Cache: cache}
}
