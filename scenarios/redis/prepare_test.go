package redis

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/diag"
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
func posErrors(err error) []*diag.Error {
	var out []*diag.Error
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		if pe, ok := errors.AsType[*diag.Error](e); ok {
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
		{"unknown keys", `[GEOADD, k, 1, 2, m]`, []wantErr{{1, 2, "unsupported command GEOADD: only commands whose key positions are known"}}},
		{"too few", `[GET]`, []wantErr{{1, 2, "GET takes 1 argument, got 0"}}},
		{"too many", `[GET, a, b]`, []wantErr{{1, 2, "GET takes 1 argument, got 2"}}},
		{"too few minimum", `[SET, a]`, []wantErr{{1, 2, "SET takes at least 2 arguments, got 1"}}},
		{"pairs", `[MSET, a, 1, b]`, []wantErr{{1, 2, "key value pairs"}}},
		{"mapping argument", `[SET, k, {a: 1}]`, []wantErr{{1, 11, `unknown key "a" (expected one of: value_size)`}}},
		{"sequence argument", `[SET, k, [a]]`, []wantErr{{1, 10, "argument 2: expected a string, a number or {value_size: ...}, got a sequence"}}},
		{"null argument", `[SET, k, ~]`, []wantErr{{1, 10, "argument 2 is null"}}},
		{"unknown function", `[GET, "k:{{ nosuch(1) }}"]`, []wantErr{{1, 13, "GET argument 1: template"}}},
		{"unclosed", `[GET, "k:{{ 1"]`, []wantErr{{1, 10, "unclosed {{"}}},
		{"plain scalar template", "- GET\n- k:{{ 1\n", []wantErr{{2, 5, "unclosed {{"}}},
		{"two bad arguments", `[SET, "{{ nope }}", "{{"]`, []wantErr{{1, 11, "argument 1"}, {1, 22, "argument 2"}}},
		{"unknown form", `{cache_gte: {key: k}}`, []wantErr{{1, 2, `unknown key "cache_gte" (did you mean "cache_get"?)`}}},
		{"unrelated form", `{query: [GET, k]}`, []wantErr{{1, 2, `unknown key "query" (expected one of: cache_get, command, commands, pipeline, transaction)`}}},
		{"two forms", `{cache_get: {key: k}, cache_get2: 1}`, []wantErr{{1, 23, `did you mean "cache_get"`}}},
		{"cache_get scalar", `{cache_get: k}`, []wantErr{{1, 13, "cache_get: expected a mapping"}}},
		{"cache_get null", `{cache_get: }`, []wantErr{{1, 13, "got nothing (null)"}}},
		{"missing key", `{cache_get: {on_miss: {}}}`, []wantErr{{1, 13, "missing key"}}},
		{"key not string", `{cache_get: {key: [a]}}`, []wantErr{{1, 19, "key: expected a string"}}},
		{"key template", `{cache_get: {key: "s:{{ zipf(10, ) }}"}}`, []wantErr{{1, 25, "cache_get key: template"}}},
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
		{"command and commands", `{command: [GET, k], commands: [[GET, k]]}`, []wantErr{{1, 21, "command and commands exclude each other"}}},
		{"no command", `{pipeline: 2}`, []wantErr{{1, 1, "missing command"}}},
		{"pipeline zero", `{command: [GET, k], pipeline: 0}`, []wantErr{{1, 31, "pipeline must be between 1 and 10000"}}},
		{"transaction yes", `{command: [GET, k], transaction: yes}`, []wantErr{{1, 34, "transaction: expected true or false"}}},
		{"commands empty", `{commands: []}`, []wantErr{{1, 12, "commands: expected a list of commands"}}},
		{"commands not lists", `{commands: [GET, k]}`, []wantErr{{1, 13, "expected a command sequence"}, {1, 18, "expected a command sequence"}}},
		{"commands each checked", `{commands: [[GET], [SET, k]]}`, []wantErr{{1, 14, "GET takes 1 argument"}, {1, 21, "SET takes at least 2"}}},
		{"cache_get with pipeline", `{cache_get: {key: k}, pipeline: 2}`, []wantErr{{1, 23, "cache_get must be alone"}}},
		{"batch typo", `{command: [GET, k], pipelines: 2}`, []wantErr{{1, 21, `did you mean "pipeline"?`}}},
		{"value_size word", `[SET, k, {value_size: big}]`, []wantErr{{1, 23, "expected an integer"}}},
		{"value as key", `[SET, {value_size: 1}, v]`, []wantErr{{1, 7, "a key cannot be a generated value"}}},
		{"value range reversed", `[SET, k, {value_size: {min: 5, max: 1}}]`, []wantErr{{1, 24, "min 5 is more than max 1"}}},
		{"value range half", `[SET, k, {value_size: {min: 5}}]`, []wantErr{{1, 23, "expected a size in bytes, {min, max}"}}},
		{"value weight zero", `[SET, k, {value_size: [{size: 1, weight: 0}]}]`, []wantErr{{1, 42, "weight: expected a positive number"}}},
		{"value size and range", `[SET, k, {value_size: [{size: 1, min: 2, max: 3}]}]`, []wantErr{{1, 25, "give size, or min and max, not both"}}},
		{"value list empty", `[SET, k, {value_size: []}]`, []wantErr{{1, 23, "empty list of sizes"}}},
		{"value too big", `[SET, k, {value_size: 600000000}]`, []wantErr{{1, 23, "between 0 and 536870912"}}},
		{"on_miss value range", `{cache_get: {key: k, on_miss: {value_size: {max: 2}}}}`, []wantErr{{1, 44, "expected a size in bytes"}}},
		{"monitor", `[MONITOR]`, []wantErr{{1, 2, "MONITOR is refused: it takes over the connection"}}},
		{"select", `[SELECT, 2]`, []wantErr{{1, 2, "set the target's db instead"}}},
		{"multi", `[MULTI]`, []wantErr{{1, 2, "transaction: true"}}},
		{"every problem", "cache_get:\n  key: \"{{\"\n  on_miss:\n    ttl: 5x\n    load_delay: 1\n  extra: 1\n",
			[]wantErr{{2, 9, "unclosed"}, {4, 10, "ttl"}, {5, 17, "load_delay"}, {6, 3, `unknown key "extra"`}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			step, err := prepareStep(stepSpec(t, tc.src))
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
	_, err := prepareStep(spec)
	checkErrors(t, err, []wantErr{{3, 1, "expect is not supported"}})
}

func TestPrepareNilNode(t *testing.T) {
	t.Parallel()
	if _, err := prepareStep(driver.StepSpec{Name: "s"}); err == nil || !strings.Contains(err.Error(), "redis: ") {
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
		{"pipeline", `{command: [GET, "k:{{ uniform(10) }}"], pipeline: 16}`, []int{1}},
		{"transaction", `{commands: [[INCR, "{a}n"], [EXPIRE, "{a}n", 60]], transaction: true}`, []int{1}},
		{"pipelined transaction", `{commands: [[GET, a]], pipeline: 2, transaction: true}`, []int{1}},
		{"generated value", `[SET, k, {value_size: 10}]`, []int{1}},
		{"generated weighted value", `[HSET, h, f, {value_size: [100, {size: 1000, weight: 0.5}, {min: 1, max: 9, weight: 2}]}]`, []int{1}},
		{"cache_get value range", `{cache_get: {key: k, on_miss: {value_size: {min: 100, max: 200}}}}`, nil},
		{"wait", `[WAIT, 1, 100]`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			step, err := prepareStep(stepSpec(t, tc.src))
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			cs, ok := step.(*batchStep)
			if !ok {
				return
			}
			keys := cs.cmds[0].keys
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
		if destructive[name] || connectionState[name] != "" {
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

func TestConfigure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  string
		src  string
		want []wantErr // nil: valid
	}{
		{"embedded", "", "driver: redis\n", nil},
		{"local servers", "", "driver: redis\nlocal_server: miniredis\n", nil},
		{"local server unknown", "", "local_server: valkey\n", []wantErr{{1, 15, "local_server: expected one of auto, redis-server, miniredis"}}},
		{"local server with url", "redis://h", "url: redis://h\nlocal_server: auto\n", []wantErr{{2, 1, "local_server chooses the server runplan starts"}}},
		{"full", "redis://u:p@127.0.0.1:6379/2", "driver: redis\nurl: redis://u:p@127.0.0.1:6379/2\npool_size: 64\ntimeout: 500ms\nkey_prefix: \"app:\"\nkeep: true\n", nil},
		{"unix", "unix:///tmp/redis.sock?db=1", "driver: redis\nurl: unix:///tmp/redis.sock?db=1\n", nil},
		{"tls", "rediss://h:6380", "driver: redis\nurl: rediss://h:6380\n", nil},
		{"nil node", "", "", nil},
		{"pool_size zero", "", "driver: redis\npool_size: 0\n", []wantErr{{2, 12, "pool_size must be between 1 and"}}},
		{"pool_size string", "", "pool_size: many\n", []wantErr{{1, 12, "pool_size: expected an integer"}}},
		{"timeout no unit", "", "timeout: 5\n", []wantErr{{1, 10, "timeout: expected a duration"}}},
		{"timeout zero", "", "timeout: 0s\n", []wantErr{{1, 10, "timeout must be positive"}}},
		{"key_prefix empty", "", "key_prefix: \"\"\n", nil}, // the run's keys are under runplan:<run id>: anyway
		{"key_prefix list", "", "key_prefix: [a]\n", []wantErr{{1, 13, "key_prefix: expected a string"}}},
		{"keep not bool", "", "keep: maybe\n", []wantErr{{1, 7, "keep: expected true or false"}}},
		{"typo", "", "driver: redis\npool_sise: 3\n", []wantErr{{2, 1, `unknown key "pool_sise" (did you mean "pool_size"?)`}}},
		{"unknown", "", "replicas: 3\n", []wantErr{{1, 1, "expected one of: url, sentinel, cluster, managed"}}},
		{"duplicate", "", "keep: true\nkeep: false\n", []wantErr{{2, 1, `duplicate key "keep"`}}},
		{"not a mapping", "", "[a]\n", []wantErr{{1, 1, "expected a mapping"}}},
		{"bad scheme", "http://h", "driver: redis\nurl: http://h\n", []wantErr{{2, 6, "invalid URL scheme"}}},
		{"bad db", "redis://h/x", "url: redis://h/x\n", []wantErr{{1, 6, "invalid database number"}}},
		{"sentinel", "", "sentinel: {master: mymaster, addrs: [\"10.0.0.1:26379\", \"h2:26379\"], username: s, password: p}\nusername: app\npassword: pw\ndb: 2\ntls: {}\n", nil},
		{"cluster", "", "cluster: {addrs: [\"h1:7000\"]}\ntls: {insecure_skip_verify: true, server_name: cache}\nretries: {max: 2, min_backoff: 1ms, max_backoff: 10ms}\n", nil},
		{"managed", "", "managed: {topology: cluster, replicas: 1, primaries: 4, password: pw, tls: true, config: {maxmemory: 64mb, maxmemory-policy: allkeys-lru, io-threads: 2}, node_timeout: 1s}\nallow_destructive: false\n", nil},
		{"timeouts", "redis://h", "url: redis://h\ntimeout: 1s\ndial_timeout: 2s\nread_timeout: 3s\nwrite_timeout: 4s\npool_timeout: 5s\nfast_path: false\n", nil},
		{"prefill", "", "prefill: [{key: \"u:{{ iteration }}\", count: 10, value_size: [1, 2], ttl: 1m, batch: 5}]\n", nil},
		{"url and managed", "redis://h", "url: redis://h\nmanaged: {}\n", []wantErr{{2, 1, "url and managed exclude each other"}}},
		{"sentinel and cluster", "", "sentinel: {master: m, addrs: [\"h:1\"]}\ncluster: {addrs: [\"h:2\"]}\n", []wantErr{{2, 1, "sentinel and cluster exclude each other"}}},
		{"sentinel incomplete", "", "sentinel: {addrs: [h], user: x}\n", []wantErr{{1, 20, `expected a host:port address, got "h"`}, {1, 24, `unknown key "user"`}, {1, 11, "missing master"}}},
		{"sentinel not a mapping", "", "sentinel: mymaster\n", []wantErr{{1, 11, "sentinel: expected a mapping"}}},
		{"cluster addrs empty", "", "cluster: {addrs: []}\n", []wantErr{{1, 18, "expected a list of host:port addresses"}}},
		{"cluster db", "", "cluster: {addrs: [\"h:1\"]}\ndb: 1\n", []wantErr{{2, 1, "a cluster has only db 0"}}},
		{"managed problems", "", "managed: {topology: ring, replicas: 9, sentinels: 2, config: {port: 1, maxmemory: {a: 1}}, node_timeout: 10ms}\n",
			[]wantErr{{1, 21, "managed.topology: expected one of standalone, sentinel, cluster"}, {1, 37, "replicas must be between 0 and 5"},
				{1, 63, "port is set by runplan"}, {1, 83, "managed.config.maxmemory: expected a string"}, {1, 106, "at least 100ms"}, {1, 40, "sentinels applies to the sentinel topology only"}}},
		{"managed primaries", "", "managed: {primaries: 3}\n", []wantErr{{1, 11, "primaries applies to the cluster topology only"}}},
		{"managed password outside", "", "managed: {}\npassword: x\ntls: {}\n", []wantErr{{2, 1, "set managed.password instead"}, {3, 1, "set managed.tls instead"}}},
		{"embedded credentials", "", "username: u\npassword: p\ndb: 1\nretries: {max: 1}\n", []wantErr{
			{1, 1, "username needs a server"}, {2, 1, "password needs a server"}, {3, 1, "db needs a server"}, {4, 1, "retries needs a server"}}},
		{"given twice", "redis://u:p@h/1", "url: redis://u:p@h/1\nusername: v\npassword: q\ndb: 2\n", []wantErr{
			{2, 1, "username is given twice"}, {3, 1, "password is given twice"}, {4, 1, "db is given twice"}}},
		{"retries twice", "redis://h?max_retries=2", "url: redis://h?max_retries=2\nretries: {max: 1}\n", []wantErr{{2, 1, "retries are given twice"}}},
		{"tls on plain url", "redis://h", "url: redis://h\ntls: {}\n", []wantErr{{2, 1, "tls needs a rediss:// url"}}},
		{"tls half a certificate", "rediss://h", "url: rediss://h\ntls: {cert_file: c.pem}\n", []wantErr{{2, 6, "cert_file and key_file go together"}}},
		{"tls missing file", "rediss://h", "url: rediss://h\ntls: {ca_file: /nonexistent/ca.pem}\n", []wantErr{{2, 1, "ca_file: open /nonexistent/ca.pem"}}},
		{"tls not a mapping", "rediss://h", "url: rediss://h\ntls: true\n", []wantErr{{2, 6, "tls: expected a mapping"}}},
		{"retries backwards", "redis://h", "url: redis://h\nretries: {max: 500, min_backoff: 1s, max_backoff: 10ms, jitter: 1}\n", []wantErr{
			{2, 16, "retries.max must be between 0 and 100"}, {2, 57, `unknown key "jitter"`}}},
		{"retries min over max", "redis://h", "url: redis://h\nretries: {min_backoff: 1s, max_backoff: 10ms}\n", []wantErr{{2, 10, "min_backoff 1s is more than max_backoff 10ms"}}},
		{"fast path on sentinel", "", "sentinel: {master: m, addrs: [\"h:1\"]}\nfast_path: true\n", []wantErr{{2, 1, "the fast path serves single servers"}}},
		{"allow_destructive not bool", "", "allow_destructive: sure\n", []wantErr{{1, 20, "allow_destructive: expected true or false"}}},
		{"prefill problems", "", "prefill: {key: static, value_size: x, count: 0, batch: 0}\n", []wantErr{
			{1, 36, "prefill.value_size: expected an integer"}, {1, 46, "prefill.count must be between 1 and"}, {1, 56, "prefill.batch must be between 1 and"}}},
		{"prefill missing", "", "prefill: {ttl: 1s}\n", []wantErr{{1, 10, "prefill: missing key"}, {1, 10, "prefill: missing count"}}},
		{"prefill static key", "", "prefill: {key: k, count: 2}\n", []wantErr{{1, 16, "has no {{ }}: all 2 keys would be the same"}}},
		{"prefill bad template", "", "prefill: {key: \"k:{{ nope }}\", count: 2}\n", []wantErr{{1, 22, "prefill key: template"}}},
		{"prefill empty list", "", "prefill: []\n", []wantErr{{1, 10, "prefill: empty list"}}},
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

func TestConfigureNeverShowsPassword(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"redis://user:hunter2@host:bad",
		"redis://user:hunter2@ho st:1",
		"redis://user:hunter2@host/x",
		"http://user:hunter2@host",
		"redis://user:hunter2@host?password=hunter2&x=1",
		"redis://user:hun%74er2@host:bad",
	} {
		err := checkTarget(driver.TargetSpec{Name: "t", URL: u, Node: node(t, "url: x\n")})
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

func TestSizeSpec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src      string
		min, max int
		share1   float64 // the share of draws equal to min, -1 to skip
	}{
		{`512`, 512, 512, 1},
		{`{min: 10, max: 20}`, 10, 20, -1},
		{`[{size: 1, weight: 9}, {size: 2, weight: 1}]`, 1, 2, 0.9},
		{`[1, 2, 2, 2]`, 1, 2, 0.25},
		{`[{min: 1, max: 1, weight: 3}, {min: 5, max: 6}]`, 1, 6, 0.75},
	}
	for _, tc := range tests {
		sz, err := parseSize(node(t, tc.src), "value_size")
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		if sz.max != tc.max {
			t.Errorf("%s: max %d, want %d", tc.src, sz.max, tc.max)
		}
		r := rand.New(rand.NewPCG(1, 2))
		lo, hi, ones := 1<<30, -1, 0
		const draws = 20000
		for range draws {
			n := sz.pick(r)
			lo, hi = min(lo, n), max(hi, n)
			if n == tc.min {
				ones++
			}
		}
		if lo != tc.min || hi != tc.max {
			t.Errorf("%s: drew %d..%d, want %d..%d", tc.src, lo, hi, tc.min, tc.max)
		}
		if tc.share1 >= 0 && math.Abs(float64(ones)/draws-tc.share1) > 0.02 {
			t.Errorf("%s: %d of %d draws were %d, want a share of %v", tc.src, ones, draws, tc.min, tc.share1)
		}
	}
	g := newValueGen(fixedSize(100))
	a, b := g.value(rand.New(rand.NewPCG(1, 1))), g.value(rand.New(rand.NewPCG(1, 1)))
	if len(a) != 100 || string(a) != string(b) {
		t.Error("the same seed gave different values")
	}
	if v := g.value(nil); len(v) != 100 {
		t.Errorf("value without a random source has %d bytes", len(v))
	}
}
