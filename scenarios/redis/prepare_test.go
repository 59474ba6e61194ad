package redis

import (
	"errors"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/tmpl"
)

// node parses src as one YAML document and returns its value node.
func node(t testing.TB, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatalf("bad test YAML %q: %v", src, err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

func stepSpec(t testing.TB, src string) driver.StepSpec {
	return driver.StepSpec{Name: "s", Node: node(t, src), Templates: tmpl.NewCompiler()}
}

// posErrors flattens err into its located parts.
func posErrors(err error) []*driver.PosError {
	var out []*driver.PosError
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		if pe, ok := errors.AsType[*driver.PosError](e); ok {
			out = append(out, pe)
		}
	}
	walk(err)
	return out
}

type wantErr struct {
	line, col int
	msg       string
}

func checkErrors(t *testing.T, err error, want []wantErr) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", want)
	}
	if !strings.Contains(err.Error(), "redis: ") {
		t.Errorf("error %q lacks the redis: prefix", err)
	}
	got := posErrors(err)
	if len(got) != len(want) {
		t.Fatalf("got %d located errors (%v), want %d: %v", len(got), err, len(want), want)
	}
	for i, w := range want {
		g := got[i]
		if g.Line != w.line || g.Col != w.col || !strings.Contains(g.Error(), w.msg) {
			t.Errorf("error %d = %q, want %d:%d: ...%s...", i, g.Error(), w.line, w.col, w.msg)
		}
	}
}

func TestPrepareErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []wantErr
	}{
		{"scalar", `GET k`, []wantErr{{1, 1, "expected a command sequence"}}},
		{"number", `42`, []wantErr{{1, 1, "the number 42"}}},
		{"empty sequence", `[]`, []wantErr{{1, 1, "empty command"}}},
		{"empty mapping", `{}`, []wantErr{{1, 1, "empty mapping"}}},
		{"name not scalar", `[[GET], k]`, []wantErr{{1, 2, "expected a command name"}}},
		{"templated name", `["{{ 'GET' }}", k]`, []wantErr{{1, 2, "must not be a template"}}},
		{"destructive", `[FLUSHALL]`, []wantErr{{1, 2, "FLUSHALL is refused"}}},
		{"destructive lower case", `[config, set, maxmemory, 1]`, []wantErr{{1, 2, "CONFIG is refused"}}},
		{"keys", `[KEYS, "*"]`, []wantErr{{1, 2, "KEYS is refused"}}},
		{"typo", `[GTE, k]`, []wantErr{{1, 2, "did you mean GET?"}}},
		{"unknown keys", `[OBJECT, ENCODING, k]`, []wantErr{{1, 2, "unsupported command OBJECT: only commands whose key positions are known"}}},
		{"too few", `[GET]`, []wantErr{{1, 2, "GET takes 1 argument, got 0"}}},
		{"too many", `[GET, a, b]`, []wantErr{{1, 2, "GET takes 1 argument, got 2"}}},
		{"too few minimum", `[SET, a]`, []wantErr{{1, 2, "SET takes at least 2 arguments, got 1"}}},
		{"pairs", `[MSET, a, 1, b]`, []wantErr{{1, 2, "key value pairs"}}},
		{"mapping argument", `[SET, k, {a: 1}]`, []wantErr{{1, 10, "argument 2: expected a string or a number, got a mapping"}}},
		{"null argument", `[SET, k, ~]`, []wantErr{{1, 10, "argument 2 is null"}}},
		{"unknown function", `[GET, "k:{{ nosuch(1) }}"]`, []wantErr{{1, 12, "GET argument 1: template"}}},
		{"unclosed", `[GET, "k:{{ 1"]`, []wantErr{{1, 10, "unclosed {{"}}},
		{"plain scalar template", "- GET\n- k:{{ 1\n", []wantErr{{2, 5, "unclosed {{"}}},
		{"two bad arguments", `[SET, "{{ nope }}", "{{"]`, []wantErr{{1, 10, "argument 1"}, {1, 22, "argument 2"}}},
		{"unknown form", `{cache_gte: {key: k}}`, []wantErr{{1, 2, `unknown key "cache_gte" (did you mean "cache_get"?)`}}},
		{"unrelated form", `{command: [GET, k]}`, []wantErr{{1, 2, `unknown key "command" (expected one of: cache_get)`}}},
		{"two forms", `{cache_get: {key: k}, cache_get2: 1}`, []wantErr{{1, 23, `did you mean "cache_get"`}}},
		{"cache_get scalar", `{cache_get: k}`, []wantErr{{1, 13, "cache_get: expected a mapping"}}},
		{"cache_get null", `{cache_get: }`, []wantErr{{1, 13, "got nothing (null)"}}},
		{"missing key", `{cache_get: {on_miss: {}}}`, []wantErr{{1, 13, "missing key"}}},
		{"key not string", `{cache_get: {key: [a]}}`, []wantErr{{1, 19, "key: expected a string"}}},
		{"key template", `{cache_get: {key: "s:{{ zipf(10, ) }}"}}`, []wantErr{{1, 24, "cache_get key: template"}}},
		{"cache_get typo", `{cache_get: {key: k, on_mis: {}}}`, []wantErr{{1, 22, `unknown key "on_mis" (did you mean "on_miss"?)`}}},
		{"cache_get far", `{cache_get: {key: k, fallback: {}}}`, []wantErr{{1, 22, `(expected one of: key, on_miss)`}}},
		{"on_miss scalar", `{cache_get: {key: k, on_miss: 5}}`, []wantErr{{1, 31, "on_miss: expected a mapping"}}},
		{"on_miss typo", `{cache_get: {key: k, on_miss: {value_sise: 3}}}`, []wantErr{{1, 32, `did you mean "value_size"?`}}},
		{"ttl without unit", `{cache_get: {key: k, on_miss: {ttl: 5}}}`, []wantErr{{1, 37, "ttl: expected a duration"}}},
		{"ttl negative", `{cache_get: {key: k, on_miss: {ttl: -1s}}}`, []wantErr{{1, 37, "must not be negative"}}},
		{"ttl too fine", `{cache_get: {key: k, on_miss: {ttl: 500us}}}`, []wantErr{{1, 37, "at least 1ms"}}},
		{"value_size string", `{cache_get: {key: k, on_miss: {value_size: big}}}`, []wantErr{{1, 44, "expected an integer"}}},
		{"value_size negative", `{cache_get: {key: k, on_miss: {value_size: -1}}}`, []wantErr{{1, 44, "between 0 and"}}},
		{"load_delay", `{cache_get: {key: k, on_miss: {load_delay: soon}}}`, []wantErr{{1, 44, "load_delay: expected a duration"}}},
		{"duplicate", `{cache_get: {key: a, key: b}}`, []wantErr{{1, 22, `duplicate key "key"`}}},
		{"every problem", "cache_get:\n  key: \"{{\"\n  on_miss:\n    ttl: 5x\n    load_delay: 1\n  extra: 1\n",
			[]wantErr{{2, 9, "unclosed"}, {4, 10, "ttl"}, {5, 17, "load_delay"}, {6, 3, `unknown key "extra"`}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			step, err := Driver{}.Prepare(stepSpec(t, tc.src))
			if step != nil {
				t.Errorf("got a step along with the error")
			}
			checkErrors(t, err, tc.want)
		})
	}
}

func TestPrepareRefusesExpect(t *testing.T) {
	t.Parallel()
	spec := stepSpec(t, `[GET, k]`)
	spec.Expect = node(t, "\n\n{status: 200}")
	_, err := Driver{}.Prepare(spec)
	checkErrors(t, err, []wantErr{{3, 1, "expect is not supported"}})
}

func TestPrepareNilNode(t *testing.T) {
	t.Parallel()
	if _, err := (Driver{}).Prepare(driver.StepSpec{Name: "s"}); err == nil || !strings.Contains(err.Error(), "redis: ") {
		t.Fatalf("Prepare(nil node) = %v, want a redis: error", err)
	}
}

func TestPrepareValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		keys []int // argument positions holding keys, for commands
	}{
		{"get", `[GET, "signal:latest"]`, []int{1}},
		{"get lower case", `[get, k]`, []int{1}},
		{"set with options", `[SET, "k:{{ uniform(100) }}", "v", EX, 60]`, []int{1}},
		{"numbers as arguments", `[INCRBY, counter, 5]`, []int{1}},
		{"mset", `[MSET, a, 1, b, 2]`, []int{1, 3}},
		{"mget", `[MGET, a, b, c]`, []int{1, 2, 3}},
		{"del", `[DEL, a, b]`, []int{1, 2}},
		{"lmove", `[LMOVE, src, dst, LEFT, RIGHT]`, []int{1, 2}},
		{"hset", `[HSET, h, f, v, f2, v2]`, []int{1}},
		{"xadd", `[XADD, s, "*", f, v]`, []int{1}},
		{"publish", `[PUBLISH, channel, msg]`, nil},
		{"ping", `[PING]`, nil},
		{"echo", `[ECHO, hello]`, nil},
		{"info", `[INFO, memory]`, nil},
		{"time", `[TIME]`, nil},
		{"dbsize", `[DBSIZE]`, nil},
		{"empty string argument", `[SET, k, ""]`, []int{1}},
		{"cache_get", `{cache_get: {key: "strategy:{{ zipf(10000, 1.1) }}", on_miss: {value_size: 512, ttl: 5m, load_delay: 5ms}}}`, nil},
		{"cache_get without on_miss", `{cache_get: {key: k}}`, nil},
		{"cache_get empty on_miss", `{cache_get: {key: k, on_miss: {}}}`, nil},
		{"cache_get zero ttl", `{cache_get: {key: k, on_miss: {ttl: 0, value_size: 0}}}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			step, err := Driver{}.Prepare(stepSpec(t, tc.src))
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			cs, ok := step.(*commandStep)
			if !ok {
				return
			}
			var keys []int
			for i, a := range cs.args {
				if a.key {
					keys = append(keys, i)
				}
			}
			if !equalInts(keys, tc.keys) {
				t.Errorf("key positions = %v, want %v", keys, tc.keys)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCommandTableConsistent(t *testing.T) {
	t.Parallel()
	for name, c := range commands {
		if refused[name] {
			t.Errorf("%s is both supported and refused", name)
		}
		if c.first != 0 && (c.step < 1 || (c.last > 0 && c.last < c.first)) {
			t.Errorf("%s: bad key spec %+v", name, c)
		}
		if c.arity == 0 {
			t.Errorf("%s: arity 0", name)
		}
	}
}

func TestCheckTarget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  string
		src  string
		want []wantErr // nil: valid
	}{
		{"embedded", "", "driver: redis\n", nil},
		{"full", "redis://u:p@127.0.0.1:6379/2", "driver: redis\nurl: redis://u:p@127.0.0.1:6379/2\npool_size: 64\ntimeout: 500ms\nkey_prefix: \"app:\"\nkeep: true\n", nil},
		{"unix", "unix:///tmp/redis.sock?db=1", "driver: redis\nurl: unix:///tmp/redis.sock?db=1\n", nil},
		{"tls", "rediss://h:6380", "driver: redis\nurl: rediss://h:6380\n", nil},
		{"nil node", "", "", nil},
		{"pool_size zero", "", "driver: redis\npool_size: 0\n", []wantErr{{2, 12, "pool_size must be between 1 and"}}},
		{"pool_size string", "", "pool_size: many\n", []wantErr{{1, 12, "pool_size: expected an integer"}}},
		{"timeout no unit", "", "timeout: 5\n", []wantErr{{1, 10, "timeout: expected a duration"}}},
		{"timeout zero", "", "timeout: 0s\n", []wantErr{{1, 10, "timeout must be positive"}}},
		{"key_prefix empty", "", "key_prefix: \"\"\n", []wantErr{{1, 13, "key_prefix must not be empty"}}},
		{"key_prefix list", "", "key_prefix: [a]\n", []wantErr{{1, 13, "key_prefix: expected a string"}}},
		{"keep not bool", "", "keep: maybe\n", []wantErr{{1, 7, "keep: expected true or false"}}},
		{"typo", "", "driver: redis\npool_sise: 3\n", []wantErr{{2, 1, `unknown key "pool_sise" (did you mean "pool_size"?)`}}},
		{"unknown", "", "replicas: 3\n", []wantErr{{1, 1, "expected one of: pool_size, timeout, key_prefix, keep"}}},
		{"duplicate", "", "keep: true\nkeep: false\n", []wantErr{{2, 1, `duplicate key "keep"`}}},
		{"not a mapping", "", "[a]\n", []wantErr{{1, 1, "expected a mapping"}}},
		{"bad scheme", "http://h", "driver: redis\nurl: http://h\n", []wantErr{{2, 6, "invalid URL scheme"}}},
		{"bad db", "redis://h/x", "url: redis://h/x\n", []wantErr{{1, 6, "invalid database number"}}},
		{"every problem", "redis://h?bogus=1", "url: redis://h?bogus=1\npool_size: -1\ntimeout: x\n",
			[]wantErr{{2, 12, "pool_size"}, {3, 10, "timeout"}, {1, 6, "unexpected option: bogus"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := driver.TargetSpec{Name: "cache", Driver: "redis", URL: tc.url, RunID: "r1"}
			if tc.src != "" {
				spec.Node = node(t, tc.src)
			}
			err := Driver{}.CheckTarget(spec)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("CheckTarget: %v", err)
				}
				return
			}
			checkErrors(t, err, tc.want)
		})
	}
}

func TestCheckTargetNeverShowsPassword(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"redis://user:hunter2@host:bad",
		"redis://user:hunter2@ho st:1",
		"redis://user:hunter2@host/x",
		"http://user:hunter2@host",
		"redis://user:hunter2@host?password=hunter2&x=1",
		"redis://user:hun%74er2@host:bad",
	} {
		err := Driver{}.CheckTarget(driver.TargetSpec{Name: "t", URL: u, Node: node(t, "url: x\n")})
		if err == nil {
			t.Errorf("%s: no error", u)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "hunter2") || strings.Contains(msg, "hun%74er2") {
			t.Errorf("error leaks the password: %s", msg)
		}
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"redis://127.0.0.1:6379", "redis://127.0.0.1:6379"},
		{"redis://user:pass@host:6379/0", "redis://user:****@host:6379/0"},
		{"redis://:pass@host", "redis://:****@host"},
		{"redis://user@host", "redis://user@host"},
		{"rediss://u:p@ss/w@host:1?db=1", "rediss://u:****@host:1?db=1"},
		{"unix://u:p@/tmp/r.sock", "unix://u:****@/tmp/r.sock"},
		{"redis://host?password=x&db=1", "redis://host?password=****&db=1"},
		{"u:p@host", "u:****@host"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := redactURL(tc.in); got != tc.want {
			t.Errorf("redactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
	}{
		{"on_mis", "on_miss"},
		{"KEY", "key"},
		{"ky", "key"},
		{"onmiss", "on_miss"},
		{"something", ""},
	}
	for _, tc := range tests {
		if got := suggest(tc.in, cacheGetKeys); got != tc.want {
			t.Errorf("suggest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if d := editDistance("kitten", "sitting"); d != 3 {
		t.Errorf("editDistance = %d, want 3", d)
	}
}
