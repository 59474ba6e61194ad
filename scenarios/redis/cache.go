package redis

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/decode"
	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/tmpl"
)

// defaultValueSize is the size of a value written without a value_size.
const defaultValueSize = 64

// cacheGetStep is a read-through cache lookup: GET, and on a miss, wait for
// the simulated backing fetch and SET a value of the configured size.
// After Bind it is safe for concurrent use.
type cacheGetStep struct {
	step      string
	key       *tmpl.Template
	fill      bool
	size      sizeSpec
	ttl       time.Duration
	loadDelay time.Duration
	// reply: the step has captures, so Do returns the reply
	// (Outcome.Reply, cacheReply), reading the value through go-redis.
	reply bool

	target  *Target
	gen     *valueGen
	expiry  [][]byte // EX n or PX n, or nothing
	setArgc []int
	setOpts []any // the expiry for go-redis
	pool    sync.Pool
}

// cacheScratch holds one call's rendered key and argument lists.
type cacheScratch struct {
	buf  []byte
	argv [][]byte
	// go-redis path
	key, value argSlot
	getArgs    []any
	setArgs    []any
}

var (
	getName, setName = []byte("GET"), []byte("SET")
	argcGet          = []int{2}
)

// cacheGetOptions are the options of cache_get as written.
type cacheGetOptions struct {
	Key    *yaml.Node `yaml:"key" decode:"required"`
	OnMiss *yaml.Node `yaml:"on_miss"` // decoded apart (onMissOptions): refused on read_only targets
}

// onMissOptions are cache_get.on_miss as written.
type onMissOptions struct {
	ValueSize sizeOption    `yaml:"value_size"`
	TTL       ttlOption     `yaml:"ttl"`
	LoadDelay time.Duration `yaml:"load_delay"`
}

// cacheMessage words the decoder's problems in cache_get (or in on_miss,
// at) as the driver always has: "redis: cache_get: key: expected a string".
func cacheMessage(at string) func(p decode.Problem) string {
	return func(p decode.Problem) string {
		where := "redis: " + at + ": "
		switch {
		case p.Kind == decode.DuplicateKey:
			return fmt.Sprintf("%sduplicate key %q", where, p.Key)
		case p.Kind == decode.Missing:
			return where + "missing " + p.Key
		case len(p.Path) == 0 && p.Kind == decode.Type: // on_miss
			return fmt.Sprintf("%sexpected a mapping with value_size, ttl and load_delay, got %s", where, describe(p.Node))
		case at == "cache_get" && p.Kind == decode.Type:
			return fmt.Sprintf("%s%s: expected %s, got %s", where, decode.JoinPath(p.Path), p.Want, describe(p.Node))
		}
		return p.String()
	}
}

func prepareCacheGet(step string, n *yaml.Node, c *tmpl.Compiler, g gate) (driver.Step, error) {
	n = valueNode(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, diag.Errorf(n, "redis: cache_get: expected a mapping with key and on_miss, got %s", describe(n))
	}
	var o cacheGetOptions
	f, err := decode.Decode(n, &o, decode.Options{Prefix: "redis: ", Message: cacheMessage("cache_get")})
	errs := []error{err}
	s := &cacheGetStep{step: step, size: fixedSize(defaultValueSize)}
	if v := o.Key; v != nil {
		if v.Kind != yaml.ScalarNode || isNull(v) {
			errs = append(errs, diag.Errorf(v, "redis: cache_get: key: expected a string, got %s", describe(v)))
		} else if t, err := compileAt(c, v, "cache_get key"); err != nil {
			errs = append(errs, err)
		} else {
			s.key = t
		}
	}
	if k := f.Key("on_miss"); k != nil {
		if g.readOnly {
			errs = append(errs, diag.Errorf(k, "redis: cache_get: on_miss is refused on target %q: on a miss it SETs the key, and the target is read_only, "+
				"so that runplan never changes data it did not write; without on_miss a lookup only reads", g.target))
		} else {
			m := onMissOptions{ValueSize: sizeOption(s.size)}
			_, err := decode.Decode(o.OnMiss, &m, decode.Options{Prefix: "redis: ", Message: cacheMessage("cache_get: on_miss")})
			errs = append(errs, err)
			s.fill = true
			s.size, s.ttl, s.loadDelay = sizeSpec(m.ValueSize), time.Duration(m.TTL), m.LoadDelay
		}
	}
	if err := inOrder(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// Bind ties the step to its target. It must not run concurrently with Do.
func (s *cacheGetStep) Bind(t driver.Target) error {
	tg, ok := t.(*Target)
	if !ok {
		return fmt.Errorf("redis: step %q: target is a %T, not a redis target", s.step, t)
	}
	if s.fill && tg.readOnly {
		return fmt.Errorf("redis: step %q: cache_get with on_miss writes, and target %q is read_only", s.step, tg.name)
	}
	s.target = tg
	if s.fill {
		s.gen = newValueGen(s.size)
	}
	// Without a ttl of its own, a fill on a server runplan did not start
	// expires after the safety TTL.
	s.setOpts = expiryArgs(tg.safetyExpiry(s.ttl))
	s.expiry = nil
	for _, a := range s.setOpts {
		switch v := a.(type) {
		case string:
			s.expiry = append(s.expiry, []byte(v))
		case int64:
			s.expiry = append(s.expiry, strconv.AppendInt(nil, v, 10))
		}
	}
	s.setArgc = []int{3 + len(s.expiry)}
	s.pool = sync.Pool{New: func() any {
		sc := &cacheScratch{}
		sc.getArgs = []any{"GET", &sc.key}
		sc.setArgs = append([]any{"SET", &sc.key, &sc.value}, s.setOpts...)
		return sc
	}}
	return nil
}

// Do looks the key up and fills it on a miss. It counts a hit,
// a miss, or a lookup error when the lookup itself failed (stepMetrics). It is safe for concurrent use.
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
	argv := append(sc.argv[:0], getName, buf)

	fast := s.target.fast
	if s.reply {
		fast = nil // the fast path reads no values
	}
	var err error
	var got any
	hit := false
	if fast != nil {
		var isNil bool
		isNil, _, err = fast.do(ctx, argv, argcGet, false)
		hit = err == nil && !isNil
	} else {
		cmd := goredis.NewCmd(ctx, sc.getArgs...)
		err = s.target.client.Process(ctx, cmd)
		hit = err == nil
		if err == goredis.Nil {
			err = nil
		}
		if hit && s.reply {
			got = replyValue(cmd.Val())
		}
	}
	switch {
	case err != nil:
		return s.fail(sc, "GET", err, outLookupError)
	case hit:
		s.pool.Put(sc)
		return driver.Outcome{Counters: outHit, Reply: s.replyOf(true, got)}
	case !s.fill:
		s.pool.Put(sc)
		return driver.Outcome{Counters: outMiss, Reply: s.replyOf(false, nil)}
	}
	if s.loadDelay > 0 {
		t := time.NewTimer(s.loadDelay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			s.pool.Put(sc)
			err := ctx.Err()
			return driver.Outcome{Err: fmt.Errorf("redis: cache_get: load_delay: %w", err), Class: classify(err), Counters: outMiss}
		}
	}
	var r = randOf(it)
	value := s.gen.value(r)
	if fast != nil {
		argv = append(argv[:0], setName, buf, value)
		argv = append(argv, s.expiry...)
		_, _, err = fast.do(ctx, argv, s.setArgc, false)
	} else {
		sc.value.b = value
		err = s.target.client.Process(ctx, goredis.NewCmd(ctx, sc.setArgs...))
	}
	sc.argv = argv[:0]
	if err != nil {
		return s.fail(sc, "SET", err, outMiss)
	}
	if s.reply {
		got = string(value)
	}
	s.pool.Put(sc)
	return driver.Outcome{Counters: outMiss, Reply: s.replyOf(false, got)}
}

// replyOf is the reply of a lookup, for captures: {hit, value}, value
// being what the key holds after the step (the value read on a hit, the
// value written on a filled miss, nil on a miss without on_miss). nil for
// a step without captures.
func (s *cacheGetStep) replyOf(hit bool, value any) any {
	if !s.reply {
		return nil
	}
	return map[string]any{"hit": hit, "value": value}
}

func (s *cacheGetStep) fail(sc *cacheScratch, op string, err error, cache driver.Counters) driver.Outcome {
	class := classify(err)
	if class == ClassRedis || s.target.fast != nil && !s.reply {
		s.pool.Put(sc) // see batchStep.Do
	}
	return driver.Outcome{Err: fmt.Errorf("redis: cache_get: %s: %w", op, err), Class: class, Counters: cache}
}
