package redis

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPrefill(t *testing.T) {
	t.Parallel()
	const opts = `prefill:
  - {key: "user:{{ iteration }}", count: 1200, value_size: {min: 10, max: 20}, ttl: 1h, batch: 100}
  - {key: "r:{{ uniform(1000000) }}", count: 20}
`
	for _, b := range []backend{backends()[0], backends()[1], backends()[5]} { // embedded, external, cluster
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			tg := b.open(t, opts)
			ctx := context.Background()
			if err := tg.Prefill(ctx); err != nil {
				t.Fatalf("Prefill: %v", err)
			}
			users := keysUnder(t, tg, tg.prefix+"user:")
			if len(users) != 1200 {
				t.Fatalf("%d user keys, want 1200", len(users))
			}
			for _, k := range []string{"user:0", "user:599", "user:1199"} {
				n := tg.client.StrLen(ctx, tg.prefix+k).Val()
				if n < 10 || n > 20 {
					t.Errorf("%s has %d bytes, want 10 to 20", k, n)
				}
				if ttl := tg.client.TTL(ctx, tg.prefix+k).Val(); ttl < 59*time.Minute || ttl > time.Hour {
					t.Errorf("%s TTL %v, want about 1h", k, ttl)
				}
			}
			// The keys come from the plan's seed: a second prefill with the
			// same seed loads the same ones.
			first := keysUnder(t, tg, tg.prefix+"r:")
			if len(first) == 0 || len(first) > 20 {
				t.Fatalf("%d random keys", len(first))
			}
			if err := tg.Cleanup(ctx); err != nil {
				t.Fatal(err)
			}
			if err := tg.Prefill(ctx); err != nil {
				t.Fatal(err)
			}
			if again := keysUnder(t, tg, tg.prefix+"r:"); !slices.Equal(first, again) {
				t.Errorf("a second prefill loaded %v, the first %v", again, first)
			}
			// A cache lookup on prefilled keys hits.
			get := bind(t, tg, `{cache_get: {key: "user:{{ uniform(1200) }}"}}`)
			for n := range int64(20) {
				if o := mustDo(t, get, newIter(1), n); cacheOf(o) != cacheHit {
					t.Fatalf("lookup %d missed a prefilled key", n)
				}
			}
		})
	}
}

func TestPrefillFailure(t *testing.T) {
	t.Parallel()
	tg := openTarget(t, "", "prefill: {key: \"k:{{ uniform(iteration) }}\", count: 10}\n")
	err := tg.Prefill(context.Background())
	if err == nil || !strings.Contains(err.Error(), "uniform(0)") || !strings.HasPrefix(err.Error(), "redis: ") {
		t.Errorf("Prefill = %v, want the template's failure", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tg = openTarget(t, "", "prefill: {key: \"k:{{ iteration }}\", count: 10}\n")
	if err := tg.Prefill(ctx); err == nil {
		t.Error("Prefill succeeded with a cancelled context")
	}
}
