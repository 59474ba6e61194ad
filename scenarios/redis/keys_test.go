package redis

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/scenarios/redis/redistest"
)

func TestRunNamespace(t *testing.T) {
	t.Parallel()
	tests := []struct{ keyPrefix, runID, want string }{
		{"", "r1", "runplan:r1:"},
		{"app:", "r1", "app:runplan:r1:"}, // the user's prefix first: ACL patterns such as ~app:* still match
		{"user:", "20261201T150405-0a1b2c3d", "user:runplan:20261201T150405-0a1b2c3d:"},
	}
	for _, tc := range tests {
		if got := runNamespace(tc.keyPrefix, tc.runID); got != tc.want {
			t.Errorf("runNamespace(%q, %q) = %q, want %q", tc.keyPrefix, tc.runID, got, tc.want)
		}
	}
}

// TestOpenPrefix checks the prefix a target's keys go under: the run's
// namespace always, after key_prefix; key_prefix alone on a read_only
// target.
func TestOpenPrefix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, runID, want string
	}{
		{"default", "", "r1", "runplan:r1:"},
		{"key_prefix", "key_prefix: \"user:\"\n", "r1", "user:runplan:r1:"},
		{"empty key_prefix", "key_prefix: \"\"\n", "r1", "runplan:r1:"},
		{"read_only", "key_prefix: \"user:\"\nread_only: true\n", "r1", "user:"},
		{"read_only without key_prefix", "read_only: true\n", "r1", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := driver.TargetSpec{Name: "cache", Node: node(t, "driver: redis\n"+tc.src), RunID: tc.runID}
			tg, err := openTargetSpec(context.Background(), spec, driver.Env{})
			if err != nil {
				t.Fatal(err)
			}
			defer tg.Close()
			if got := tg.(*Target).KeyPrefix(); got != tc.want {
				t.Errorf("prefix = %q, want %q", got, tc.want)
			}
		})
	}
	// Without a run id (direct use), a random one: still a run namespace.
	spec := driver.TargetSpec{Name: "cache", Node: node(t, "key_prefix: \"app:\"\n")}
	tg, err := openTargetSpec(context.Background(), spec, driver.Env{})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	if p := tg.(*Target).KeyPrefix(); !strings.HasPrefix(p, "app:runplan:") || len(p) <= len("app:runplan::") {
		t.Errorf("prefix without a run id = %q", p)
	}
}

func TestDefaultSafetyTTL(t *testing.T) {
	t.Parallel()
	tests := []struct{ run, want time.Duration }{
		{0, time.Hour}, // not planned: an iteration count only
		{30 * time.Second, 10*time.Minute + 30*time.Second},
		{90 * time.Minute, 100 * time.Minute},                     // the 10-minute floor
		{2 * time.Hour, 2*time.Hour + 12*time.Minute},             // 10 %
		{1500 * time.Millisecond, 10*time.Minute + 2*time.Second}, // whole seconds, rounded up
	}
	for _, tc := range tests {
		if got := defaultSafetyTTL(tc.run); got != tc.want {
			t.Errorf("defaultSafetyTTL(%v) = %v, want %v", tc.run, got, tc.want)
		}
	}
}

// TestSafetyTTLOption checks safety_ttl's validation against the run's
// planned length.
func TestSafetyTTLOption(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		run  time.Duration
		want []wantErr
	}{
		{"longer than the run", "safety_ttl: 2h\n", time.Hour, nil},
		{"equal to the run", "safety_ttl: 1h\n", time.Hour, nil},
		{"run not planned", "safety_ttl: 1s\n", 0, nil},
		{"shorter than the run", "safety_ttl: 5m\n", 10*time.Minute + 30*time.Second, []wantErr{{1, 13, "safety_ttl 5m is shorter than the run, planned to last 10m30s"}}},
		{"not whole seconds", "safety_ttl: 1500ms\n", 0, []wantErr{{1, 13, "safety_ttl must be whole seconds"}}},
		{"zero", "safety_ttl: 0s\n", 0, []wantErr{{1, 13, "safety_ttl must be at least 1s"}}},
		{"not a duration", "safety_ttl: long\n", 0, []wantErr{{1, 13, "safety_ttl: expected a duration"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := driver.TargetSpec{Name: "cache", Node: node(t, tc.src+"url: redis://h\n"), URL: "redis://h", RunLength: tc.run}
			err := checkTarget(spec)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Configure: %v", err)
				}
				return
			}
			checkErrors(t, err, tc.want)
		})
	}
}

// TestReadOnlyOptions checks what a read_only target refuses in its own
// options: anything that would write.
func TestReadOnlyOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []wantErr
	}{
		{"plain", "read_only: true\nkey_prefix: \"user:\"\n", nil},
		{"false", "read_only: false\nprefill: {key: \"k:{{ iteration }}\", count: 2}\nkeep: true\nsafety_ttl: 1h\n", nil},
		{"prefill", "read_only: true\nprefill: {key: \"k:{{ iteration }}\", count: 2}\n", []wantErr{{2, 1, "prefill does not apply to a read_only target, which reads the keys it is given and writes none (prefill writes keys)"}}},
		{"keep and safety_ttl", "read_only: true\nkeep: true\nsafety_ttl: 1h\n", []wantErr{
			{2, 1, "keep does not apply to a read_only target"}, {3, 1, "safety_ttl does not apply to a read_only target"}}},
		{"not bool", "read_only: yes please\n", []wantErr{{1, 12, "read_only: expected true or false"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := checkTarget(driver.TargetSpec{Name: "cache", Node: node(t, tc.src)})
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Configure: %v", err)
				}
				return
			}
			checkErrors(t, err, tc.want)
		})
	}
}

// readOnlySpec is a read_only target of someone else's, as the engine
// passes it to Prepare.
func readOnlySpec(t testing.TB, allowDestructive bool) driver.TargetSpec {
	src := "driver: redis\nurl: redis://cache:6379\nkey_prefix: \"user:\"\nread_only: true\n"
	if allowDestructive {
		src += "allow_destructive: true\n"
	}
	return driver.TargetSpec{Name: "users", URL: "redis://cache:6379", Node: node(t, src), AllowDestructive: allowDestructive}
}

// TestReadOnlySteps checks which steps a read_only target runs: reads only,
// every refusal located at the command and saying why.
func TestReadOnlySteps(t *testing.T) {
	t.Parallel()
	allowed := []string{
		`[GET, "{{ uniform(100) }}"]`, `[MGET, a, b]`, `[HGET, h, f]`, `[HGETALL, h]`, `[EXISTS, a]`, `[TTL, a]`,
		`[STRLEN, a]`, `[LRANGE, l, 0, -1]`, `[SMEMBERS, s]`, `[ZRANGE, z, 0, -1]`, `[PING]`,
		`{command: [GET, "{{ seq(100) }}"], pipeline: 16}`, `{commands: [[GET, a], [TTL, a]], transaction: true}`,
		`{cache_get: {key: "{{ zipf(100, 1.1) }}"}}`,
	}
	for _, src := range allowed {
		spec := stepSpec(t, src)
		target := readOnlySpec(t, false)
		if _, err := prepareOn(target, spec); err != nil {
			t.Errorf("%s refused on a read_only target: %v", src, err)
		}
	}
	refused := []struct {
		src      string
		allowDes bool
		want     []wantErr
	}{
		{`[SET, k, v]`, false, []wantErr{{1, 2, `command SET is refused on target "users": the target is read_only, so that runplan never changes data it did not write, and it writes`}}},
		{`[DEL, k]`, false, []wantErr{{1, 2, "DEL is refused"}}},
		{`[INCR, k]`, false, []wantErr{{1, 2, "INCR is refused"}}},
		{`[EXPIRE, k, 60]`, false, []wantErr{{1, 2, "EXPIRE is refused"}}},
		{`[hset, h, f, v]`, false, []wantErr{{1, 2, "HSET is refused"}}},
		{`[PUBLISH, ch, hi]`, false, []wantErr{{1, 2, "it acts beyond the keyspace (PUBLISH reaches the server's subscribers)"}}},
		{`[FLUSHALL]`, true, []wantErr{{1, 2, "FLUSHALL is refused on target \"users\": the target is read_only"}}},
		{`[KEYS, "*"]`, true, []wantErr{{1, 2, "KEYS is refused"}}},
		{`{commands: [[GET, a], [SET, a, b]], transaction: true}`, false, []wantErr{{1, 24, "SET is refused"}}},
		{`{command: [LPUSH, l, x], pipeline: 4}`, false, []wantErr{{1, 12, "LPUSH is refused"}}},
		{`{cache_get: {key: k, on_miss: {ttl: 1m}}}`, false, []wantErr{{1, 22, "on_miss is refused on target \"users\": on a miss it SETs the key, and the target is read_only"}}},
	}
	for _, tc := range refused {
		spec := stepSpec(t, tc.src)
		target := readOnlySpec(t, tc.allowDes)
		_, err := prepareOn(target, spec)
		t.Run(tc.src, func(t *testing.T) { checkErrors(t, err, tc.want) })
	}
}

// TestReadOnlyEveryCommand runs every supported command past a read_only
// target's gate: exactly the reads pass.
func TestReadOnlyEveryCommand(t *testing.T) {
	t.Parallel()
	for name, c := range commands {
		n := max(c.arity, -c.arity)
		args := []string{name}
		for range n - 1 {
			args = append(args, "a")
		}
		spec := stepSpec(t, "["+strings.Join(args, ", ")+"]")
		target := readOnlySpec(t, false)
		_, err := prepareOn(target, spec)
		if c.access == aRead && err != nil {
			t.Errorf("%s (a read) refused: %v", name, err)
		}
		if c.access != aRead && (err == nil || !strings.Contains(err.Error(), "read_only")) {
			t.Errorf("%s (access %d) on a read_only target: %v, want refused", name, c.access, err)
		}
	}
}

// TestReadOnlyBind refuses to bind a writing step to a read_only target,
// whatever Prepare was told.
func TestReadOnlyBind(t *testing.T) {
	t.Parallel()
	tg := &Target{name: "users", prefix: "user:", readOnly: true}
	for _, src := range []string{`[SET, k, v]`, `{commands: [[GET, a], [INCR, a]]}`, `{cache_get: {key: k, on_miss: {}}}`} {
		step, err := prepareStep(stepSpec(t, src))
		if err != nil {
			t.Fatal(err)
		}
		if err := step.Bind(tg); err == nil || !strings.Contains(err.Error(), "read_only") {
			t.Errorf("%s bound to a read_only target: %v", src, err)
		}
	}
	if err := tg.Cleanup(context.Background()); err != nil { // no client: it must not even try
		t.Errorf("Cleanup of a read_only target: %v", err)
	}
}

// sent renders one call of step (bound to a target with no server) and
// returns its commands as the server would receive them.
func sent(t *testing.T, step driver.Step, n int64) []string {
	t.Helper()
	s := step.(*batchStep)
	argv := s.static
	if argv == nil {
		it := newIter(1)
		it.Number, it.VUIter = n, n
		it.Templates.SetIteration(n)
		var err error
		if argv, _, err = s.render(nil, nil, it); err != nil {
			t.Fatal(err)
		}
	}
	var out []string
	k := 0
	for _, c := range s.argc {
		var parts []string
		for _, a := range argv[k : k+c] {
			parts = append(parts, string(a))
		}
		out = append(out, strings.Join(parts, " "))
		k += c
	}
	if k != len(argv) {
		t.Fatalf("argc covers %d arguments of %d", k, len(argv))
	}
	return out
}

// TestSafetyTTLCommands checks the commands a step sends on a target with a
// safety TTL: SET gets EX unless it has its own expiry, keys other writes
// may create get EXPIRE ... NX after their command (once per static key),
// and nothing else changes.
func TestSafetyTTLCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		want []string
	}{
		{`[SET, k, v]`, []string{"SET p:k v EX 600"}},
		{`[SET, k, v, NX, GET]`, []string{"SET p:k v NX GET EX 600"}},
		{`[SET, k, v, EX, 60]`, []string{"SET p:k v EX 60"}},
		{`[SET, k, v, px, 1500]`, []string{"SET p:k v px 1500"}},
		{`[SET, k, v, EXAT, "{{ iteration }}"]`, []string{"SET p:k v EXAT 3"}},
		{`[SET, k, v, KEEPTTL]`, []string{"SET p:k v KEEPTTL", "EXPIRE p:k 600 NX"}},
		{`[SET, k, v, "{{ iteration > 1 ? 'KEEPTTL' : 'NX' }}"]`, []string{"SET p:k v KEEPTTL", "EXPIRE p:k 600 NX"}}, // an option unknown before the call
		{`[SETEX, k, 60, v]`, []string{"SETEX p:k 60 v"}},
		{`[HSET, h, f, v]`, []string{"HSET p:h f v", "EXPIRE p:h 600 NX"}},
		{`[INCR, "n:{{ seq(10) }}"]`, []string{"INCR p:n:3", "EXPIRE p:n:3 600 NX"}},
		{`[MSET, a, 1, b, 2]`, []string{"MSET p:a 1 p:b 2", "EXPIRE p:a 600 NX", "EXPIRE p:b 600 NX"}},
		{`[MSET, a, 1, a, 2]`, []string{"MSET p:a 1 p:a 2", "EXPIRE p:a 600 NX"}},
		{`[RENAME, a, b]`, []string{"RENAME p:a p:b", "EXPIRE p:b 600 NX"}},
		{`[LMOVE, a, b, LEFT, RIGHT]`, []string{"LMOVE p:a p:b LEFT RIGHT", "EXPIRE p:b 600 NX"}},
		{`[PERSIST, a]`, []string{"PERSIST p:a", "EXPIRE p:a 600 NX"}},
		{`[DEL, a, b]`, []string{"DEL p:a p:b"}},
		{`[EXPIRE, a, 60]`, []string{"EXPIRE p:a 60"}},
		{`[GET, a]`, []string{"GET p:a"}},
		{`[PUBLISH, ch, m]`, []string{"PUBLISH ch m"}},
		{`{command: [HINCRBY, c, f, 1], pipeline: 3}`, []string{"HINCRBY p:c f 1", "HINCRBY p:c f 1", "HINCRBY p:c f 1", "EXPIRE p:c 600 NX"}},
		{`{command: [LPUSH, "l:{{ seq(5) }}", x], pipeline: 2}`, []string{"LPUSH p:l:3 x", "EXPIRE p:l:3 600 NX", "LPUSH p:l:3 x", "EXPIRE p:l:3 600 NX"}},
		{`{commands: [[INCR, c], [EXPIRE, c, 60]], transaction: true}`, []string{"INCR p:c", "EXPIRE p:c 600 NX", "EXPIRE p:c 60"}},
		{`{commands: [[INCR, c], [GET, c], [SADD, s, x]], pipeline: 2}`, []string{
			"INCR p:c", "GET p:c", "SADD p:s x", "INCR p:c", "EXPIRE p:c 600 NX", "GET p:c", "SADD p:s x", "EXPIRE p:s 600 NX"}},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			t.Parallel()
			tg := &Target{name: "cache", prefix: "p:"}
			tg.setSafetyTTL(10*time.Minute, true)
			step := bind(t, tg, tc.src)
			if got := sent(t, step, 3); !slices.Equal(got, tc.want) {
				t.Errorf("sent\n%q\nwant\n%q", got, tc.want)
			}
			if ops, want := step.(*batchStep).ops(), len(step.(*batchStep).cmds)*step.(*batchStep).repeat; ops != want {
				t.Errorf("ops = %d, want %d: safety EXPIREs are not the plan's operations", ops, want)
			}
		})
	}
	// A server without EXPIRE ... NX gets plain EXPIRE; a target with no
	// safety TTL (runplan's own) gets the commands as written.
	tg := &Target{name: "cache", prefix: "p:"}
	tg.setSafetyTTL(time.Hour, false)
	if got := sent(t, bind(t, tg, `[HSET, h, f, v]`), 0); !slices.Equal(got, []string{"HSET p:h f v", "EXPIRE p:h 3600"}) {
		t.Errorf("without NX: %q", got)
	}
	own := &Target{name: "cache", prefix: "p:", owned: true}
	for _, src := range []string{`[SET, k, v]`, `[HSET, h, f, v]`, `{command: [INCR, c], pipeline: 2}`} {
		got := sent(t, bind(t, own, src), 0)
		for _, c := range got {
			if strings.HasPrefix(c, "EXPIRE") || strings.HasSuffix(c, " EX 0") || strings.Contains(c, " EX ") {
				t.Errorf("%s on runplan's own server sends %q", src, got)
			}
		}
	}
}

// TestProbeExpireNX checks how the driver finds out whether EXPIRE takes
// NX: Redis 7 answers 0, older servers refuse the argument count.
func TestProbeExpireNX(t *testing.T) {
	t.Parallel()
	tests := []struct {
		reply   string
		nx      bool
		wantErr bool
	}{
		{":0\r\n", true, false},
		{"-ERR wrong number of arguments for 'expire' command\r\n", false, false},
		{"-ERR Unsupported option NX\r\n", false, false},
		{"-NOPERM this user has no permissions to run the 'expire' command\r\n", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.reply, func(t *testing.T) {
			t.Parallel()
			// go-redis says HELLO first; an old server does not know it.
			addr, _ := fakeServer(t, "-ERR unknown command 'HELLO'\r\n", tc.reply)
			c := goredis.NewClient(&goredis.Options{Addr: addr, Protocol: 2, DisableIdentity: true, MaxRetries: -1})
			defer c.Close()
			tg := &Target{name: "cache", prefix: "p:", client: c}
			nx, err := tg.probeExpireNX(context.Background())
			if nx != tc.nx || (err != nil) != tc.wantErr {
				t.Errorf("probe = %v, %v; want %v, error %v", nx, err, tc.nx, tc.wantErr)
			}
		})
	}
}

// openSpec opens a target from YAML options with the run's planned length,
// and closes it when the test ends.
func openSpec(t *testing.T, src string, runLength time.Duration) *Target {
	t.Helper()
	spec := driver.TargetSpec{Name: "cache", Driver: "redis", Node: node(t, "driver: redis\n"+src), RunID: runID(t), RunLength: runLength}
	if err := checkTarget(spec); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tg, err := openTargetSpec(ctx, spec, driver.Env{Seed: 1, Log: func(string) {}})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = tg.Close() })
	return tg.(*Target)
}

// TestSafetyTTLOnServers writes with every kind of write — SET, SET with
// its own expiry, HSET, INCR, pipelines, transactions, cache_get fills,
// prefill — and checks every key's TTL: on a server runplan did not start,
// each one expires within the safety TTL (or its own, shorter, expiry); on
// runplan's own servers, only keys given an expiry have one.
func TestSafetyTTLOnServers(t *testing.T) {
	t.Parallel()
	const runLength = 2 * time.Minute
	safety := defaultSafetyTTL(runLength) // 12m
	const prefill = "prefill: [{key: \"pf:{{ iteration }}\", count: 50, batch: 7}, {key: \"pt:{{ iteration }}\", count: 5, ttl: 90s}]\n"
	targets := []struct {
		name, src string
		foreign   bool
	}{
		{"external", "", true},
		{"go-redis", "fast_path: false\n", true},
		{"keep", "keep: true\n", true},
		{"safety_ttl", "safety_ttl: 3h\n", true},
		{"tls", "tls", true},
		{"sentinel", "sentinel", true},
		{"cluster", "cluster", true},
		{"embedded", "embedded", false},
		{"managed", "managed: {}\n", false},
	}
	for _, tc := range targets {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := tc.src
			switch tc.src {
			case "tls":
				src = targetYAML(tlsDeployment(t))
			case "sentinel":
				src = targetYAML(sentinelDeployment(t))
			case "cluster":
				src = targetYAML(clusterDeployment(t))
			case "embedded":
				src = ""
			case "managed: {}\n":
			default:
				src = "url: " + redistest.Start(t).URL() + "\n" + src
			}
			tg := openSpec(t, src+prefill, runLength)
			want := safety
			if tc.name == "safety_ttl" {
				want = 3 * time.Hour
			}
			if !tc.foreign {
				want = 0
			}
			if tg.safetyTTL != want {
				t.Fatalf("safety TTL = %v, want %v", tg.safetyTTL, want)
			}
			ctx := context.Background()
			if err := tg.Prefill(ctx); err != nil {
				t.Fatal(err)
			}
			it := newIter(1)
			own := map[string]time.Duration{} // keys with an expiry of their own: at most this
			for _, st := range []struct {
				src  string
				ops  int
				owns map[string]time.Duration
			}{
				{`[SET, "s:{{ iteration }}", v]`, 1, nil},
				{`[SET, ex, v, EX, 60]`, 1, map[string]time.Duration{"ex": time.Minute}},
				{`[SETEX, sx, 30, v]`, 1, map[string]time.Duration{"sx": 30 * time.Second}},
				{`[SET, kt, v, KEEPTTL]`, 1, nil},
				{`[HSET, h, f, v]`, 1, nil},
				{`[INCR, n]`, 1, nil},
				{`[APPEND, ap, x]`, 1, nil},
				{`[PFADD, hll, a]`, 1, nil},
				{`[XADD, st, "*", f, v]`, 1, nil},
				{`{command: [RPUSH, "{l}l:{{ seq(2) }}", x], pipeline: 4}`, 4, nil},
				{`[MSET, "{m}a", 1, "{m}b", 2]`, 1, nil},
				{`{commands: [[SADD, "{t}s", x], [ZADD, "{t}z", 1, x], [HINCRBY, "{t}h", f, 1]], transaction: true}`, 3, nil},
				{`{commands: [[INCR, "{r}c"], [EXPIRE, "{r}c", 45]], transaction: true}`, 2, map[string]time.Duration{"{r}c": 45 * time.Second}},
				{`[COPY, "{m}a", "{m}copy"]`, 1, nil},
				{`{cache_get: {key: "c:{{ iteration }}", on_miss: {}}}`, 0, nil},
				{`{cache_get: {key: cttl, on_miss: {ttl: 5m}}}`, 0, map[string]time.Duration{"cttl": 5 * time.Minute}},
			} {
				o := mustDo(t, bind(t, tg, st.src), it, 0)
				if o.Ops != st.ops {
					t.Errorf("%s: ops = %d, want %d (safety EXPIREs are not counted)", st.src, o.Ops, st.ops)
				}
				for k, d := range st.owns {
					own[k] = d
				}
			}
			for i := range 5 {
				own[fmt.Sprintf("pt:%d", i)] = 90 * time.Second
			}
			keys := keysUnder(t, tg, tg.prefix)
			if len(keys) != 50+5+19 {
				t.Errorf("%d keys under the prefix, want %d: %v", len(keys), 50+5+19, keys)
			}
			check := func(keys []string) {
				for _, k := range keys {
					name := strings.TrimPrefix(k, tg.prefix)
					ttl := tg.client.TTL(ctx, k).Val()
					switch limit, has := own[name]; {
					case has && (ttl <= 0 || ttl > limit):
						t.Errorf("%s: TTL %v, want its own, at most %v", name, ttl, limit)
					case has:
					case want == 0 && ttl != -1:
						t.Errorf("%s: TTL %v on runplan's own server, want none", name, ttl)
					case want > 0 && (ttl <= want/2 || ttl > want):
						// More than half the safety TTL: this one, not another.
						t.Errorf("%s: TTL %v, want the safety TTL (%v)", name, ttl, want)
					}
				}
			}
			check(keys)
			if err := tg.Cleanup(ctx); err != nil {
				t.Fatal(err)
			}
			left := keysUnder(t, tg, tg.prefix)
			if tc.name != "keep" {
				if len(left) != 0 {
					t.Errorf("%d keys left after cleanup", len(left))
				}
				return
			}
			// keep: true keeps the keys, and they still expire.
			if !slices.Equal(left, keys) {
				t.Errorf("keep: %d keys left of %d", len(left), len(keys))
			}
			check(left)
			tg.keep = false
			if err := tg.Cleanup(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSafetyTTLWithACL runs against ACL users: one limited to ~app:* works
// with key_prefix "app:" (the run's namespace comes after it), and one that
// may not EXPIRE gets its writes through with the failed safety TTL
// reported under a class of its own.
func TestSafetyTTLWithACL(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), DisableIdentity: true})
	defer admin.Close()
	ctx := context.Background()
	for _, acl := range [][]any{
		{"ACL", "SETUSER", "app", "on", ">app-pw", "~app:*", "+@all"},
		{"ACL", "SETUSER", "noexpire", "on", ">ne-pw", "~*", "+@all", "-expire"},
	} {
		if err := admin.Do(ctx, acl...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := admin.Set(ctx, "user:1", "theirs", 0).Err(); err != nil {
		t.Fatal(err)
	}
	for _, fast := range []bool{true, false} {
		t.Run(fmt.Sprintf("fast_path=%v", fast), func(t *testing.T) {
			t.Parallel()
			opts := fmt.Sprintf("fast_path: %v\n", fast)
			app := openSpec(t, "url: redis://app:app-pw@"+srv.Addr()+"\nkey_prefix: \"app:\"\n"+opts, time.Minute)
			if !strings.HasPrefix(app.prefix, "app:runplan:") {
				t.Fatalf("prefix %q", app.prefix)
			}
			it := newIter(1)
			for _, src := range []string{`[SET, k, v]`, `[HSET, h, f, v]`, `{command: [INCR, "c:{{ seq(3) }}"], pipeline: 2}`} {
				mustDo(t, bind(t, app, src), it, 0)
			}
			if n := len(keysUnder(t, app, app.prefix)); n != 3 {
				t.Errorf("%d keys under %q, want 3", n, app.prefix)
			}
			if err := app.Cleanup(ctx); err != nil {
				t.Fatalf("Cleanup as a user limited to ~app:*: %v", err)
			}
			if n := len(keysUnder(t, app, app.prefix)); n != 0 {
				t.Errorf("%d keys left", n)
			}

			ne := openSpec(t, "url: redis://noexpire:ne-pw@"+srv.Addr()+"\n"+opts, time.Minute)
			mustDo(t, bind(t, ne, `[SET, k, v]`), it, 0) // EX in the SET itself: no EXPIRE needed
			for _, src := range []string{`[HSET, h, f, v]`, `{commands: [[GET, x], [LPUSH, l, x]], pipeline: 2}`,
				`{commands: [[GET, x], [INCR, n]], transaction: true}`} {
				o := do(t, bind(t, ne, src), it, 0)
				if o.Class != ClassSafetyTTL || o.Err == nil || !strings.Contains(o.Err.Error(), "safety TTL") || !strings.Contains(o.Err.Error(), "NOPERM") {
					t.Errorf("%s without EXPIRE permission: %v (class %q), want class %s", src, o.Err, o.Class, ClassSafetyTTL)
				}
			}
			// A failing write is the write's failure, not the TTL's.
			o := do(t, bind(t, ne, `[HSET, k, f, v]`), it, 0)
			if o.Class != ClassRedis || !strings.Contains(o.Err.Error(), "WRONGTYPE") {
				t.Errorf("HSET on a string: %v (class %q), want WRONGTYPE, class redis", o.Err, o.Class)
			}
			if err := ne.Cleanup(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
	if v := admin.Get(ctx, "user:1").Val(); v != "theirs" {
		t.Errorf("the user's key = %q", v)
	}
}

// BenchmarkSafetyTTL measures what the safety TTL costs a step on the fast
// path: against a redis-server runplan did not start (a url: the safety TTL
// applies) and against the same kind of server runplan started (managed:
// none). The steps: a static SET (EX in the command itself: still no
// allocation), a static HSET (one EXPIRE NX more in the same round trip),
// a templated SET. -benchmem shows the allocations per call.
func BenchmarkSafetyTTL(b *testing.B) {
	srv := redistest.Start(b)
	targets := []struct {
		name string
		tg   *Target
		ttl  bool
	}{
		{"external", openTarget(b, srv.URL(), "pool_size: 8\n"), true},
		{"managed", openTarget(b, "", "managed: {}\npool_size: 8\n"), false},
	}
	ctx := context.Background()
	for _, tc := range targets {
		if (tc.tg.safetyTTL > 0) != tc.ttl || tc.tg.fast == nil {
			b.Fatalf("%s: safety TTL %v, fast path %v", tc.name, tc.tg.safetyTTL, tc.tg.fast != nil)
		}
		for _, st := range []struct{ name, src string }{
			{"set static", `[SET, k, v]`},
			{"hset static", `[HSET, h, f, v]`},
			{"set templated", `[SET, "k:{{ uniform(1000) }}", v]`},
		} {
			step := bind(b, tc.tg, st.src)
			b.Run(tc.name+"/"+st.name, func(b *testing.B) {
				it := newIter(1)
				b.ReportAllocs()
				for b.Loop() {
					if o := step.Do(ctx, it); o.Err != nil {
						b.Fatal(o.Err)
					}
				}
			})
		}
	}
}

// TestCommandAccessMatchesRedis checks the command table's access kinds
// against what a real server says of its commands (COMMAND INFO): reads are
// flagged readonly, writes write, and the keys that get the safety TTL are
// those whose key spec says INSERT or UPDATE — except where the command sets
// an expiry itself.
func TestCommandAccessMatchesRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), Protocol: 2, DisableIdentity: true})
	defer c.Close()
	args := []any{"COMMAND", "INFO"}
	for _, name := range commandNames {
		args = append(args, name)
	}
	reply, err := c.Do(context.Background(), args...).Slice()
	if err != nil {
		t.Fatal(err)
	}
	// Commands that update their key only to set its expiry: they never
	// leave a key without one.
	setsExpiry := map[string]bool{"EXPIRE": true, "PEXPIRE": true, "EXPIREAT": true, "PEXPIREAT": true, "SETEX": true, "PSETEX": true, "SET": true}
	for i, name := range commandNames {
		info, ok := reply[i].([]any)
		if !ok || len(info) < 9 {
			t.Errorf("%s: the server does not know it: %v", name, reply[i])
			continue
		}
		flags := map[string]bool{}
		for _, f := range info[2].([]any) {
			flags[f.(string)] = true
		}
		// Which of the command's key specs may insert or update.
		var grows []bool
		for _, spec := range info[8].([]any) {
			kv := spec.([]any)
			g := false
			for j := 0; j+1 < len(kv); j += 2 {
				if kv[j] == "flags" {
					for _, f := range kv[j+1].([]any) {
						g = g || f == "insert" || f == "update"
					}
				}
			}
			grows = append(grows, g)
		}
		acc := commands[name].access
		switch {
		case flags["write"] && !acc.writes():
			t.Errorf("%s: Redis flags it write, the table says it only reads", name)
		case flags["readonly"] && acc != aRead:
			t.Errorf("%s: Redis flags it readonly, the table says access %d", name, acc)
		case !flags["write"] && !flags["readonly"] && acc != aRead && !flags["pubsub"]:
			t.Errorf("%s: Redis flags it neither read nor write, the table says access %d", name, acc)
		}
		var want access
		switch {
		case !flags["write"]:
			want = acc // checked above
		case setsExpiry[name] && name == "SET":
			want = aSet
		case setsExpiry[name] && (name == "SETEX" || name == "PSETEX"):
			want = aOwnTTL
		case setsExpiry[name]:
			want = aWrite
		case !slices.Contains(grows, true):
			want = aWrite
		case len(grows) > 1 && !grows[0] && grows[len(grows)-1]:
			want = aGrowDest
		default:
			want = aGrow
		}
		if acc != want {
			t.Errorf("%s: access %d, want %d from Redis's flags %v and key specs (insert/update: %v)", name, acc, want, info[2], grows)
		}
	}
}
