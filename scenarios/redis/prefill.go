package redis

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/decode"
	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/tmpl"
)

const (
	maxPrefillCount     = 100_000_000
	defaultPrefillBatch = 500
	maxPrefillBatch     = 100_000
	// prefillWorkers is how many round trips a prefill keeps in flight.
	prefillWorkers = 8
)

// prefillSpec is one keyspace to load before the run: count keys rendered
// from a template whose `iteration` runs from 0 to count-1, each SET to a
// value of the given size. It is immutable once parsed.
type prefillSpec struct {
	key   *tmpl.Template
	count int
	size  sizeSpec
	ttl   time.Duration
	batch int
}

// prefillOptions are one prefill keyspace as written.
type prefillOptions struct {
	Key       templateOption `yaml:"key" decode:"required" help:"a template such as \"user:{{ iteration }}\", iteration running from 0 to count-1"`
	Count     int            `yaml:"count" decode:"required" min:"1" max:"100000000"` // maxPrefillCount
	ValueSize sizeOption     `yaml:"value_size"`
	TTL       ttlOption      `yaml:"ttl"`
	Batch     int            `yaml:"batch" min:"1" max:"100000"` // maxPrefillBatch
}

// templateOption is a key template, compiled.
type templateOption struct {
	t *tmpl.Template
	n *yaml.Node
}

// UnmarshalNode compiles the template.
func (o *templateOption) UnmarshalNode(c *decode.Context, n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		return c.Errorf(n, "%s: expected a string, got %s", c.Name(), describe(n))
	}
	t, err := compileAt(tmpl.NewCompiler(), n, "prefill key")
	o.t, o.n = t, n
	return err
}

// sizeOption is a value size (parseSize).
type sizeOption sizeSpec

// UnmarshalNode parses the size.
func (o *sizeOption) UnmarshalNode(c *decode.Context, n *yaml.Node) error {
	s, err := parseSize(n, c.Name())
	*o = sizeOption(s)
	return err
}

// ttlOption is an expiry (decodeTTL).
type ttlOption time.Duration

// UnmarshalNode decodes the expiry.
func (o *ttlOption) UnmarshalNode(c *decode.Context, n *yaml.Node) error {
	d, err := decodeTTL(n, c.Name())
	*o = ttlOption(d)
	return err
}

// parsePrefill decodes prefill n, one mapping or a list of them, at c's
// path.
func parsePrefill(c *decode.Context, n *yaml.Node) ([]*prefillSpec, error) {
	if n.Kind != yaml.SequenceNode {
		p, err := parsePrefillOne(c, n)
		if err != nil {
			return nil, err
		}
		return []*prefillSpec{p}, nil
	}
	var out []*prefillSpec
	var errs []error
	for _, item := range n.Content {
		p, err := parsePrefillOne(c, valueNode(item))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, p)
	}
	if len(n.Content) == 0 {
		errs = append(errs, c.Errorf(n, "prefill: empty list"))
	}
	return out, joinErrors(errs)
}

func parsePrefillOne(c *decode.Context, n *yaml.Node) (*prefillSpec, error) {
	o := &prefillOptions{ValueSize: sizeOption(fixedSize(defaultValueSize)), Batch: defaultPrefillBatch}
	err := c.Decode(n, o)
	if err == nil && o.Key.t.Static() && o.Count > 1 {
		err = c.Errorf(o.Key.n, "prefill.key %q has no {{ }}: all %d keys would be the same; use {{ iteration }}", o.Key.t.Source(), o.Count)
	}
	return &prefillSpec{key: o.Key.t, count: o.Count, size: sizeSpec(o.ValueSize), ttl: time.Duration(o.TTL), batch: o.Batch}, err
}

// decodeTTL decodes an expiry: 0 for none, else at least 1ms.
func decodeTTL(n *yaml.Node, what string) (time.Duration, error) {
	d, err := decodeDuration(n, what)
	if err == nil && d > 0 && d < time.Millisecond {
		err = diag.Errorf(n, "redis: %s must be 0 (no expiry) or at least 1ms, got %s", what, n.Value)
	}
	return d, err
}

// expiryArgs returns the SET options for a TTL: EX when whole seconds, PX
// otherwise, nothing for 0.
func expiryArgs(ttl time.Duration) []any {
	switch {
	case ttl <= 0:
		return nil
	case ttl%time.Second == 0:
		return []any{"EX", int64(ttl / time.Second)}
	default:
		return []any{"PX", ttl.Milliseconds()}
	}
}

// Prefill loads the target's prefill keyspaces (SET in pipelined batches,
// several batches in flight), under the run's key prefix, each key with its
// ttl or else, on a server runplan did not start, the safety TTL; on a
// client with generous timeouts (see bulk.go), logging its progress when
// it takes long. The keys are derived from the plan's seed, so a rerun
// loads the same ones. It is safe for concurrent use, though the engine
// calls it once, before any scenario starts.
func (t *Target) Prefill(ctx context.Context) error {
	if len(t.prefill) == 0 {
		return nil
	}
	if t.readOnly {
		return fmt.Errorf("redis: target %q: prefill writes keys, and the target is read_only", t.name)
	}
	begin := time.Now()
	defer func() {
		// The safety TTL's margin over the run's length covers the prefill;
		// past it, the first keys loaded may expire before the run ends.
		if margin := t.safetyTTL - t.runLength; t.safetyTTL > 0 && t.runLength > 0 && time.Since(begin) > margin {
			t.logf("redis: target %q: the prefill took %v, more than the safety TTL's margin over the run (%v): "+
				"its first keys may expire before the run ends; set safety_ttl to the run's length plus the prefill's",
				t.name, time.Since(begin).Round(time.Second), margin)
		}
	}()
	c, closeBulk := t.bulkClient()
	defer closeBulk()
	for i, p := range t.prefill {
		start := time.Now()
		if err := t.prefillOne(ctx, c, i, p); err != nil {
			return fmt.Errorf("redis: target %q: prefill %q: %w", t.name, p.key.Source(), t.scrub(err))
		}
		t.logf("redis: target %q: prefilled %d keys %q in %v", t.name, p.count, p.key.Source(), time.Since(start).Round(time.Millisecond))
	}
	return nil
}

func (t *Target) prefillOne(ctx context.Context, c goredis.UniversalClient, idx int, p *prefillSpec) error {
	gen := newValueGen(p.size)
	expiry := expiryArgs(t.safetyExpiry(p.ttl))
	batches := (p.count + p.batch - 1) / p.batch
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	h := fnv.New64a()
	h.Write([]byte(t.name))
	salt := h.Sum64() ^ uint64(idx)<<32
	workers := min(prefillWorkers, batches)
	var done atomic.Int64
	defer t.progress(p.key.Source(), p.count, &done)()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(t.seed, salt^uint64(w+1)*0x9e3779b97f4a7c15))
			st := tmpl.NewState("prefill", w+1, rng)
			for {
				b := int(next.Add(1) - 1)
				if b >= batches || ctx.Err() != nil {
					return
				}
				lo, hi := b*p.batch, min((b+1)*p.batch, p.count)
				if err := t.prefillBatch(ctx, c, p, st, rng, gen, expiry, lo, hi); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					next.Store(int64(batches)) // stop the others
					return
				}
				done.Add(int64(hi - lo))
			}
		})
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}

func (t *Target) prefillBatch(ctx context.Context, c goredis.UniversalClient, p *prefillSpec, st *tmpl.State, rng *rand.Rand,
	gen *valueGen, expiry []any, lo, hi int) error {
	pipe := c.Pipeline()
	var buf []byte
	for i := lo; i < hi; i++ {
		st.SetIteration(int64(i))
		start := len(buf)
		buf = append(buf, t.prefix...)
		var err error
		buf, err = p.key.AppendTo(buf, st)
		if err != nil {
			return fmt.Errorf("key of iteration %d: %w", i, err)
		}
		key := string(buf[start:])
		args := make([]any, 0, 3+len(expiry))
		args = append(args, "SET", key, gen.value(rng))
		args = append(args, expiry...)
		pipe.Do(ctx, args...)
	}
	cmds, err := pipe.Exec(ctx)
	if err != nil {
		for _, c := range cmds {
			if c.Err() != nil {
				return fmt.Errorf("%s: %w", c.Name()+" "+strconv.Quote(fmt.Sprint(c.Args()[1])), c.Err())
			}
		}
		return err
	}
	return nil
}
