package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/tmpl"
	"github.com/runplan/runplan/scenarios/redis/redistest"
)

// backend opens a target of one kind; extra is appended to the target's YAML.
type backend struct {
	name string
	open func(t *testing.T, extra string) *Target
}

func backends() []backend {
	return []backend{
		{"embedded", func(t *testing.T, extra string) *Target { return openTarget(t, "", extra) }},
		{"external", func(t *testing.T, extra string) *Target {
			return openTarget(t, redistest.Start(t).URL(), extra)
		}},
	}
}

// openTarget opens a target whose run id is unique to the test, and closes
// it when the test ends.
func openTarget(t testing.TB, url, extra string) *Target {
	t.Helper()
	src := "driver: redis\n"
	if url != "" {
		src += "url: " + url + "\n"
	}
	src += extra
	spec := driver.TargetSpec{Name: "cache", Driver: "redis", URL: url, Node: node(t, src),
		RunID: strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())}
	if err := (Driver{}).CheckTarget(spec); err != nil {
		t.Fatalf("CheckTarget: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tg, err := Driver{}.Open(ctx, spec, driver.Env{Seed: 1})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := tg.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return tg.(*Target)
}

// bind prepares the step whose `redis:` value is src and binds it to tg.
func bind(t testing.TB, tg driver.Target, src string) driver.Step {
	t.Helper()
	step, err := Driver{}.Prepare(stepSpec(t, src))
	if err != nil {
		t.Fatalf("Prepare(%s): %v", src, err)
	}
	if err := step.Bind(tg); err != nil {
		t.Fatalf("Bind: %v", err)
	}
	return step
}

func newIter(vu int) *driver.Iteration {
	rng := rand.New(rand.NewPCG(1, uint64(vu)))
	return &driver.Iteration{Scenario: "sc", VU: vu, Rand: rng, Templates: tmpl.NewState("sc", vu, rng)}
}

// do runs the step as iteration n.
func do(t testing.TB, step driver.Step, it *driver.Iteration, n int64) driver.Outcome {
	t.Helper()
	it.Number, it.VUIter = n, n
	it.Templates.SetIteration(n)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return step.Do(ctx, it)
}

func mustDo(t *testing.T, step driver.Step, it *driver.Iteration, n int64) driver.Outcome {
	t.Helper()
	o := do(t, step, it, n)
	if o.Err != nil {
		t.Fatalf("Do: %v (class %q)", o.Err, o.Class)
	}
	return o
}

// allKeys lists every key of the target's database.
func allKeys(t *testing.T, c *goredis.Client) []string {
	t.Helper()
	var keys []string
	iter := c.Scan(context.Background(), 0, "*", 100).Iterator()
	for iter.Next(context.Background()) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("SCAN: %v", err)
	}
	slices.Sort(keys)
	return keys
}

func TestRegistered(t *testing.T) {
	t.Parallel()
	d, err := driver.Lookup("redis")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.(Driver); !ok {
		t.Fatalf("registered driver is %T", d)
	}
}

func TestKinds(t *testing.T) {
	t.Parallel()
	emb := openTarget(t, "", "")
	if emb.Kind() != driver.KindEmbedded || !strings.HasPrefix(emb.Addr(), "redis://127.0.0.1:") {
		t.Errorf("embedded: kind %q addr %q", emb.Kind(), emb.Addr())
	}
	srv := redistest.Start(t)
	ext := openTarget(t, srv.URL(), "")
	if ext.Kind() != driver.KindExternal || ext.Addr() != srv.URL() {
		t.Errorf("external: kind %q addr %q, want %q", ext.Kind(), ext.Addr(), srv.URL())
	}
	if err := ext.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if emb.KeyPrefix() != "runplan:"+t.Name()+":" {
		t.Errorf("KeyPrefix = %q", emb.KeyPrefix())
	}
}

func TestCommandSteps(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			tg := b.open(t, "key_prefix: \"p:\"\n")
			it := newIter(1)
			set := bind(t, tg, `[SET, "k:{{ seq(3) }}", "v{{ iteration }}", EX, 60]`)
			for n := range int64(3) {
				mustDo(t, set, it, n)
			}
			mustDo(t, bind(t, tg, `[MSET, a, 1, b, 2]`), it, 0)
			mustDo(t, bind(t, tg, `[HSET, h, f, "{{ vu }}"]`), it, 0)
			mustDo(t, bind(t, tg, `[INCRBY, n, 5]`), it, 0)
			mustDo(t, bind(t, tg, `[PUBLISH, chan, hi]`), it, 0)
			mustDo(t, bind(t, tg, `[PING]`), it, 0)
			// A nil reply is no error.
			mustDo(t, bind(t, tg, `[GET, "signal:latest"]`), it, 0)

			want := []string{"p:a", "p:b", "p:h", "p:k:0", "p:k:1", "p:k:2", "p:n"}
			if got := allKeys(t, tg.client); !slices.Equal(got, want) {
				t.Fatalf("keys = %v, want %v", got, want)
			}
			ctx := context.Background()
			if v := tg.client.Get(ctx, "p:k:2").Val(); v != "v2" {
				t.Errorf("p:k:2 = %q, want v2", v)
			}
			if ttl := tg.client.TTL(ctx, "p:k:0").Val(); ttl <= 0 || ttl > time.Minute {
				t.Errorf("TTL p:k:0 = %v, want about 60s", ttl)
			}
			if v := tg.client.HGet(ctx, "p:h", "f").Val(); v != "1" {
				t.Errorf("p:h f = %q, want 1", v)
			}

			// A server error reply.
			o := do(t, bind(t, tg, `[LPUSH, a, x]`), it, 0)
			if o.Err == nil || o.Class != ClassRedis || !strings.Contains(o.Err.Error(), "WRONGTYPE") ||
				!strings.HasPrefix(o.Err.Error(), "redis: LPUSH: ") {
				t.Errorf("LPUSH on a string: %v (class %q), want a WRONGTYPE redis error", o.Err, o.Class)
			}
			// A template that fails at run time.
			o = do(t, bind(t, tg, `[GET, "{{ uniform(0) }}"]`), it, 0)
			if o.Err == nil || o.Class != ClassTemplate {
				t.Errorf("uniform(0): %v (class %q), want a template error", o.Err, o.Class)
			}
		})
	}
}

func TestCacheGet(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			tg := b.open(t, "")
			ctx := context.Background()
			it := newIter(1)
			step := bind(t, tg, `{cache_get: {key: "strategy:{{ seq(2) }}", on_miss: {value_size: 512, ttl: 5m, load_delay: 5ms}}}`)
			wantCache := []driver.CacheResult{driver.CacheMiss, driver.CacheMiss, driver.CacheHit, driver.CacheHit}
			for n, want := range wantCache {
				start := time.Now()
				o := mustDo(t, step, it, int64(n))
				if o.Cache != want {
					t.Errorf("iteration %d: cache %v, want %v", n, o.Cache, want)
				}
				if want == driver.CacheMiss && time.Since(start) < 5*time.Millisecond {
					t.Errorf("iteration %d: a miss took %v, less than load_delay", n, time.Since(start))
				}
			}
			key := tg.prefix + "strategy:1"
			if v := tg.client.Get(ctx, key).Val(); len(v) != 512 {
				t.Errorf("filled value has %d bytes, want 512", len(v))
			}
			if ttl := tg.client.TTL(ctx, key).Val(); ttl <= 4*time.Minute || ttl > 5*time.Minute {
				t.Errorf("TTL = %v, want about 5m", ttl)
			}

			// Without on_miss a miss is not filled.
			probe := bind(t, tg, `{cache_get: {key: probe}}`)
			for n := range 2 {
				if o := mustDo(t, probe, it, int64(n)); o.Cache != driver.CacheMiss {
					t.Errorf("probe %d: cache %v, want a miss", n, o.Cache)
				}
			}
			// No ttl: no expiry; sub-second ttl: PX; value_size default.
			mustDo(t, bind(t, tg, `{cache_get: {key: forever, on_miss: {}}}`), it, 0)
			if ttl := tg.client.TTL(ctx, tg.prefix+"forever").Val(); ttl != -1 {
				t.Errorf("TTL without ttl = %v, want -1 (none)", ttl)
			}
			if n := tg.client.StrLen(ctx, tg.prefix+"forever").Val(); n != defaultValueSize {
				t.Errorf("default value_size = %d, want %d", n, defaultValueSize)
			}
			mustDo(t, bind(t, tg, `{cache_get: {key: brief, on_miss: {ttl: 1500ms}}}`), it, 0)
			if ttl := tg.client.PTTL(ctx, tg.prefix+"brief").Val(); ttl <= time.Second || ttl > 1500*time.Millisecond {
				t.Errorf("PTTL = %v, want about 1.5s", ttl)
			}

			// Keys expire, the embedded server included.
			short := bind(t, tg, `{cache_get: {key: short, on_miss: {ttl: 100ms}}}`)
			for n, want := range []driver.CacheResult{driver.CacheMiss, driver.CacheHit} {
				if o := mustDo(t, short, it, int64(n)); o.Cache != want {
					t.Errorf("short %d: cache %v, want %v", n, o.Cache, want)
				}
			}
			deadline := time.Now().Add(3 * time.Second)
			for tg.client.Exists(ctx, tg.prefix+"short").Val() == 1 {
				if time.Now().After(deadline) {
					t.Fatal("key with ttl 100ms did not expire")
				}
				time.Sleep(20 * time.Millisecond)
			}
			if o := mustDo(t, short, it, 2); o.Cache != driver.CacheMiss {
				t.Errorf("after expiry: cache %v, want a miss", o.Cache)
			}

			// A failing lookup reports neither hit nor miss.
			mustDo(t, bind(t, tg, `[LPUSH, list, x]`), it, 0)
			o := do(t, bind(t, tg, `{cache_get: {key: list}}`), it, 0)
			if o.Err == nil || o.Class != ClassRedis || o.Cache != driver.CacheNone {
				t.Errorf("cache_get on a list: %+v", o)
			}
		})
	}
}

func TestCleanup(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		for _, keep := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/keep=%v", b.name, keep), func(t *testing.T) {
				t.Parallel()
				tg := b.open(t, fmt.Sprintf("keep: %v\n", keep))
				ctx := context.Background()
				unrelated := []string{"unrelated", "runplan:other-run:k", strings.TrimSuffix(tg.prefix, ":")}
				for _, k := range unrelated {
					tg.client.Set(ctx, k, "x", 0)
				}
				it := newIter(1)
				set := bind(t, tg, `[SET, "k:{{ iteration }}", v]`)
				for n := range int64(2500) { // more than one SCAN batch
					mustDo(t, set, it, n)
				}
				mustDo(t, bind(t, tg, `{cache_get: {key: c, on_miss: {}}}`), it, 0)
				if err := tg.Cleanup(ctx); err != nil {
					t.Fatalf("Cleanup: %v", err)
				}
				got := allKeys(t, tg.client)
				want := 3
				if keep {
					want += 2501
				}
				if len(got) != want {
					t.Fatalf("%d keys left, want %d", len(got), want)
				}
				for _, k := range unrelated {
					if !slices.Contains(got, k) {
						t.Errorf("Cleanup removed unrelated key %q", k)
					}
				}
			})
		}
	}
}

func TestCleanupGlobPrefix(t *testing.T) {
	t.Parallel()
	tg := openTarget(t, "", "key_prefix: \"a*[b]?:\"\n")
	ctx := context.Background()
	tg.client.Set(ctx, "aXXbY:k", "x", 0) // matched by the unescaped glob
	mustDo(t, bind(t, tg, `[SET, k, v]`), newIter(1), 0)
	if err := tg.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if got := allKeys(t, tg.client); !slices.Equal(got, []string{"aXXbY:k"}) {
		t.Fatalf("keys = %v", got)
	}
}

func TestAuthAndRedaction(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, "--requirepass", "s3cret-pw")
	tg := openTarget(t, "redis://default:s3cret-pw@"+srv.Addr()+"/0", "")
	if want := "redis://default:****@" + srv.Addr() + "/0"; tg.Addr() != want {
		t.Errorf("Addr = %q, want %q", tg.Addr(), want)
	}
	mustDo(t, bind(t, tg, `[SET, k, v]`), newIter(1), 0)

	closed := closedPort(t)
	tests := []struct {
		name, url, secret, want string
		class                   string
	}{
		{"wrong password", "redis://default:wr0ng-pw@" + srv.Addr(), "wr0ng-pw", "WRONGPASS", ClassRedis},
		{"no password", srv.URL(), "", "NOAUTH", ClassRedis},
		{"unreachable", "redis://user:hunter2@" + closed, "hunter2", "redis://user:****@" + closed, ClassRefused},
		{"unreachable encoded", "redis://user:hun%74er2@" + closed, "hun", "redis://user:****@" + closed, ClassRefused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := driver.TargetSpec{Name: "cache", URL: tc.url, Node: node(t, "url: x\ntimeout: 1s\n"), RunID: "r"}
			tg, err := Driver{}.Open(context.Background(), spec, driver.Env{})
			if err == nil {
				tg.Close()
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			if tc.secret != "" && strings.Contains(msg, tc.secret) {
				t.Errorf("error leaks the password: %s", msg)
			}
			if !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, "redis: ") {
				t.Errorf("error %q, want it to contain %q", msg, tc.want)
			}
			if c := classify(err); c != tc.class {
				t.Errorf("class %q, want %q (%v)", c, tc.class, err)
			}
		})
	}
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestTimeouts(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	tg := openTarget(t, srv.URL(), "timeout: 100ms\n")
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer admin.Close()
	ctx := context.Background()
	it := newIter(1)
	get := bind(t, tg, `[GET, k]`)
	cache := bind(t, tg, `{cache_get: {key: k}}`)
	mustDo(t, get, it, 0) // a pooled connection exists before the pause

	if err := admin.Do(ctx, "CLIENT", "PAUSE", "600", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for _, s := range []driver.Step{get, cache} {
		o := do(t, s, it, 1) // read timeout of the target
		if o.Class != ClassTimeout || o.Err == nil {
			t.Errorf("during CLIENT PAUSE: %v (class %q), want a timeout", o.Err, o.Class)
		}
	}
	// The caller's deadline.
	dctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	o := get.Do(dctx, it)
	cancel()
	if o.Class != ClassTimeout {
		t.Errorf("past the caller's deadline: %v (class %q), want a timeout", o.Err, o.Class)
	}
	if el := time.Since(start); el > 550*time.Millisecond {
		t.Errorf("timeouts took %v", el)
	}
}

func TestTimeoutEmbedded(t *testing.T) {
	t.Parallel()
	tg := openTarget(t, "", "")
	it := newIter(1)
	slow := bind(t, tg, `{cache_get: {key: k, on_miss: {load_delay: 1s}}}`)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	o := slow.Do(ctx, it)
	if o.Class != ClassTimeout || o.Cache != driver.CacheMiss {
		t.Errorf("load_delay past the deadline: %+v", o)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if o := bind(t, tg, `[GET, k]`).Do(ctx, it); o.Err == nil || o.Class != ClassCanceled {
		t.Errorf("canceled context: %+v", o)
	}
}

func TestServerGone(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	tg := openTarget(t, srv.URL(), "timeout: 1s\n")
	it := newIter(1)
	get := bind(t, tg, `[GET, k]`)
	mustDo(t, get, it, 0)
	srv.Stop()
	var classes []string
	for n := range int64(3) {
		o := do(t, get, it, n)
		if o.Err == nil {
			t.Fatal("Do succeeded with the server gone")
		}
		classes = append(classes, o.Class)
	}
	for _, c := range classes {
		if c != ClassConnection && c != ClassRefused {
			t.Errorf("classes %v: want connection or refused", classes)
		}
	}
	if classes[len(classes)-1] != ClassRefused {
		t.Errorf("classes %v: want the last one refused", classes)
	}
}

func TestBindWrongTarget(t *testing.T) {
	t.Parallel()
	for _, src := range []string{`[GET, k]`, `{cache_get: {key: k}}`} {
		step, err := Driver{}.Prepare(stepSpec(t, src))
		if err != nil {
			t.Fatal(err)
		}
		if err := step.Bind(otherTarget{}); err == nil || !strings.HasPrefix(err.Error(), "redis: ") {
			t.Errorf("Bind(other target) = %v", err)
		}
	}
}

type otherTarget struct{}

func (otherTarget) Kind() string { return driver.KindExternal }
func (otherTarget) Addr() string { return "http://x" }
func (otherTarget) Close() error { return nil }

func TestOpenRejectsBadConfig(t *testing.T) {
	t.Parallel()
	spec := driver.TargetSpec{Name: "c", Node: node(t, "pool_size: 0\n")}
	if _, err := (Driver{}).Open(context.Background(), spec, driver.Env{}); err == nil {
		t.Fatal("Open accepted pool_size 0")
	}
}

// TestConcurrentDo runs steps from many goroutines, each with its own
// iteration state, as the engine does; run with -race.
func TestConcurrentDo(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			tg := b.open(t, "pool_size: 4\n")
			steps := []driver.Step{
				bind(t, tg, `[SET, "k:{{ vu }}:{{ uniform(50) }}", "{{ randstr(40) }}"]`),
				bind(t, tg, `[MGET, "k:{{ vu }}:{{ uniform(50) }}", "k:1:{{ uniform(50) }}", static]`),
				bind(t, tg, `{cache_get: {key: "c:{{ zipf(100, 1.1) }}", on_miss: {value_size: 32}}}`),
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			hits := 0
			for vu := 1; vu <= 8; vu++ {
				wg.Go(func() {
					it := newIter(vu)
					for n := range int64(200) {
						for _, s := range steps {
							o := do(t, s, it, n)
							if o.Err != nil {
								t.Errorf("vu %d: %v", vu, o.Err)
								return
							}
							if o.Cache == driver.CacheHit {
								mu.Lock()
								hits++
								mu.Unlock()
							}
						}
					}
				})
			}
			wg.Wait()
			if hits == 0 {
				t.Error("no cache hits")
			}
			for _, k := range allKeys(t, tg.client) {
				if !strings.HasPrefix(k, tg.prefix) {
					t.Errorf("key %q outside the prefix", k)
				}
			}
		})
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: err}}
	}
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{context.DeadlineExceeded, ClassTimeout},
		{fmt.Errorf("x: %w", os.ErrDeadlineExceeded), ClassTimeout},
		{goredis.ErrPoolTimeout, ClassTimeout},
		{&net.OpError{Op: "read", Err: timeoutErr{}}, ClassTimeout},
		{context.Canceled, ClassCanceled},
		{opErr(syscall.ECONNREFUSED), ClassRefused},
		{opErr(syscall.ECONNRESET), ClassConnection},
		{io.EOF, ClassConnection},
		{goredis.ErrClosed, ClassConnection},
		{errors.New("WRONGTYPE"), ""},
	}
	for _, tc := range tests {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("classify(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// BenchmarkDo measures a step's client-side cost against the embedded
// server; -benchmem shows the allocations per call.
func BenchmarkDo(b *testing.B) {
	tg := openTarget(b, "", "")
	for _, bc := range []struct{ name, src string }{
		{"get static", `[GET, k]`},
		{"set templated", `[SET, "k:{{ uniform(1000) }}", "v", EX, 60]`},
		{"cache_get", `{cache_get: {key: "s:{{ zipf(1000, 1.1) }}", on_miss: {value_size: 512}}}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			step := bind(b, tg, bc.src)
			it := newIter(1)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if o := step.Do(ctx, it); o.Err != nil {
					b.Fatal(o.Err)
				}
			}
		})
	}
}
