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

	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/tmpl"
)

var prefillKeys = []string{"key", "count", "value_size", "ttl", "batch"}

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

// parsePrefill decodes one prefill mapping or a list of them.
func parsePrefill(n *yaml.Node) ([]*prefillSpec, error) {
	if n != nil && n.Kind == yaml.SequenceNode {
		var out []*prefillSpec
		var errs []error
		for _, item := range n.Content {
			p, err := parsePrefillOne(valueNode(item))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out = append(out, p)
		}
		if len(n.Content) == 0 {
			errs = append(errs, diag.Errorf(n, "redis: prefill: empty list"))
		}
		return out, joinErrors(errs)
	}
	p, err := parsePrefillOne(n)
	if err != nil {
		return nil, err
	}
	return []*prefillSpec{p}, nil
}

func parsePrefillOne(n *yaml.Node) (*prefillSpec, error) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, diag.Errorf(n, "redis: prefill: expected a mapping such as {key: \"user:{{ iteration }}\", count: 10000, value_size: 512}, got %s", describe(n))
	}
	p := &prefillSpec{size: fixedSize(defaultValueSize), batch: defaultPrefillBatch}
	var errs []error
	var key, count *yaml.Node
	forEach(n, prefillKeys, &errs, func(k, v *yaml.Node) (err error) {
		switch k.Value {
		case "key":
			key = v
			if v.Kind != yaml.ScalarNode || isNull(v) {
				return diag.Errorf(v, "redis: prefill.key: expected a string, got %s", describe(v))
			}
			p.key, err = compileAt(tmpl.NewCompiler(), v, "prefill key")
		case "count":
			count = v
			p.count, err = decodeInt(v, "prefill.count", 1, maxPrefillCount)
		case "value_size":
			p.size, err = parseSize(v, "prefill.value_size")
		case "ttl":
			p.ttl, err = decodeTTL(v, "prefill.ttl")
		case "batch":
			p.batch, err = decodeInt(v, "prefill.batch", 1, maxPrefillBatch)
		}
		return err
	})
	if key == nil {
		errs = append(errs, diag.Errorf(n, "redis: prefill: missing key (a template such as \"user:{{ iteration }}\", iteration running from 0 to count-1)"))
	}
	if count == nil {
		errs = append(errs, diag.Errorf(n, "redis: prefill: missing count"))
	}
	if len(errs) == 0 && p.key.Static() && p.count > 1 {
		errs = append(errs, diag.Errorf(key, "redis: prefill.key %q has no {{ }}: all %d keys would be the same; use {{ iteration }}", p.key.Source(), p.count))
	}
	return p, joinErrors(errs)
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
