package redis

import (
	"reflect"
	"testing"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/scenarios/redis/redistest"
)

// bindReply prepares the step whose `redis:` value is src as a step with
// captures (StepSpec.WantReply) and binds it to tg.
func bindReply(t *testing.T, tg *Target, src string) driver.Step {
	t.Helper()
	spec := stepSpec(t, src)
	spec.WantReply = true
	step, err := prepareOn(driver.TargetSpec{Name: "cache", Node: node(t, "managed: {}\n")}, spec)
	if err != nil {
		t.Fatalf("Prepare(%s): %v", src, err)
	}
	if err := step.Bind(tg); err != nil {
		t.Fatalf("Bind: %v", err)
	}
	return step
}

// A step with captures returns its reply as go-redis gives it, on a
// redis-server runplan did not start (the fast path's target, with safety
// EXPIREs sent after writes, which the reply leaves out) and through
// go-redis alone; the same step without captures returns none.
func TestStepReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		before []string // steps run first, without captures
		step   string
		want   any
	}{
		{name: "integer", step: `[INCR, n]`, want: int64(1)},
		{name: "status", step: `[SET, k, v]`, want: "OK"},
		{name: "string", before: []string{`[SET, k, hello]`}, step: `[GET, k]`, want: "hello"},
		{name: "nil", step: `[GET, missing]`, want: nil},
		{name: "list", before: []string{`[RPUSH, l, a, b]`}, step: `[LRANGE, l, 0, -1]`, want: []any{"a", "b"}},
		{name: "map", before: []string{`[HSET, h, f, v]`}, step: `[HGETALL, h]`, want: map[string]any{"f": "v"}},
		{name: "commands", step: `{commands: [[SET, k, v], [GET, k], [GET, nothing]]}`, want: []any{"OK", "v", nil}},
		{name: "pipeline", step: `{command: [INCR, p], pipeline: 3}`, want: []any{int64(1), int64(2), int64(3)}},
		{name: "transaction", step: `{commands: [[INCR, x], [INCRBY, x, 5]], transaction: true}`, want: []any{int64(1), int64(6)}},
		{name: "one command in a transaction", step: `{command: [INCR, y], transaction: true}`, want: []any{int64(1)}},
		{name: "cache miss", step: `{cache_get: {key: c}}`, want: map[string]any{"hit": false, "value": nil}},
		{name: "cache hit", before: []string{`[SET, c, cached]`}, step: `{cache_get: {key: c}}`, want: map[string]any{"hit": true, "value": "cached"}},
		{name: "cache filled", step: `{cache_get: {key: c, on_miss: {value_size: 0}}}`, want: map[string]any{"hit": false, "value": ""}},
	}
	for _, b := range []struct{ name, extra string }{{"external", ""}, {"go-redis", "fast_path: false\n"}} {
		// One server for every case: each opens its target with a key
		// prefix of its own (its test name).
		url := redistest.Start(t).URL()
		for _, tt := range tests {
			t.Run(b.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				tg := openTarget(t, url, b.extra)
				for _, src := range tt.before {
					mustDo(t, bind(t, tg, src), newIter(1), 0)
				}
				got := mustDo(t, bindReply(t, tg, tt.step), newIter(1), 0).Reply
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("reply %#v, want %#v", got, tt.want)
				}
				if plain := mustDo(t, bind(t, tg, tt.step), newIter(1), 1); plain.Reply != nil {
					t.Errorf("the step without captures returned the reply %#v", plain.Reply)
				}
			})
		}
	}
}

// A filled miss captures the value it wrote, and the next lookup reads it.
func TestCacheGetReplyRoundTrip(t *testing.T) {
	t.Parallel()
	tg := openTarget(t, redistest.Start(t).URL(), "")
	step := bindReply(t, tg, `{cache_get: {key: c, on_miss: {value_size: 16}}}`)
	first := mustDo(t, step, newIter(1), 0).Reply.(map[string]any)
	second := mustDo(t, step, newIter(1), 1).Reply.(map[string]any)
	v, _ := first["value"].(string)
	if first["hit"] != false || len(v) != 16 {
		t.Fatalf("first lookup %#v, want a miss that wrote 16 bytes", first)
	}
	if second["hit"] != true || second["value"] != v {
		t.Errorf("second lookup %#v, want a hit on %q", second, v)
	}
}
