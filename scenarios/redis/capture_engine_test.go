package redis_test

import (
	"context"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/plan"
	"github.com/runplan/runplan/scenarios/redis/redistest"
)

// Captures run end to end on a redis-server runplan did not start: each
// iteration INCRs a counter and captures the new value, writes a key named
// after it with SET NX — whose nil reply, when the key exists already,
// fails the write's own capture — and reads it back. With the counter
// captured every key is new and every read hits; with a constant key every
// iteration but the first fails with class capture, its cause logged.
func TestCapturesRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		key       string
		wantFails int64
	}{
		{name: "captured counter", key: "seen:{{ vars.n }}"},
		{name: "constant key", key: "seen:0", wantFails: 19},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := `version: 1
name: captures
targets:
  cache: {driver: redis, url: "` + redistest.Start(t).URL() + `"}
scenarios:
  writes:
    load: {vus: 2, per_vu_iterations: 10}
    steps:
      - name: count
        redis: [INCR, counter]
        capture: {n: reply}
      - name: mark
        redis: [SET, "` + tt.key + `", "{{ vars.n }}", NX]
        capture: {written: 'reply == "OK" ? vars.n : nil'}
      - name: read
        redis: {cache_get: {key: "` + tt.key + `"}}
        capture: {value: reply.value}
      - name: check
        redis: [ECHO, "{{ vars.value }}"]
        capture: {same: 'reply == string(vars.written) ? true : nil'}
`
			p, err := plan.Parse("captures.yaml", []byte(src), plan.Options{StepKinds: driver.Drivers(), Env: func(string) (string, bool) { return "", false }})
			if err != nil {
				t.Fatal(err)
			}
			var logs syncBuffer
			opts := engine.Options{Log: zerolog.New(&logs).Level(zerolog.DebugLevel)}
			if diags := engine.ValidateWith(p, opts).Errors(); len(diags) > 0 {
				t.Fatal(diags)
			}
			prog, err := engine.Prepare(p, opts)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := prog.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			sc := rep.Scenarios[0]
			if sc.Count != 20 || sc.Errors != tt.wantFails || sc.ErrorsBy["capture"] != tt.wantFails {
				t.Fatalf("count %d errors %d %v, want 20 with %d of class capture", sc.Count, sc.Errors, sc.ErrorsBy, tt.wantFails)
			}
			var mark, check int64
			for _, st := range sc.Steps {
				switch st.Name {
				case "mark":
					mark = st.ErrorsBy["capture"]
				case "check":
					check = st.Count
				}
			}
			if mark != tt.wantFails || check != 20-tt.wantFails {
				t.Errorf("mark failed %d times, check ran %d times; want %d and %d", mark, check, tt.wantFails, 20-tt.wantFails)
			}
			const cause = `capture \"written\": reply == \"OK\" ? vars.n : nil is nil`
			if got := strings.Count(logs.String(), cause); got != int(tt.wantFails) {
				t.Errorf("the cause is logged %d times, want %d:\n%s", got, tt.wantFails, logs.String())
			}
		})
	}
}

// A step's templates read the captures of the steps before it only:
// reading a later step's capture, the step's own or an unknown name is
// refused at validation, at the name in the template.
func TestStepReadsCaptures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, first, second, want string
	}{
		{"earlier", `{name: a, redis: [INCR, n], capture: {n: reply}}`, `{name: b, redis: [GET, "k{{ vars.n }}"]}`, ``},
		{"later", `{name: a, redis: [GET, "k{{ vars.n }}"]}`, `{name: b, redis: [INCR, n], capture: {n: reply}}`,
			`c.yaml:8:42: redis: GET argument 1: template "k{{ vars.n }}": vars.n is captured by step b, which runs after this one`},
		{"own", `{name: a, redis: [GET, "k{{ vars.n }}"], capture: {n: reply}}`, `{name: b, redis: [PING]}`,
			`c.yaml:8:42: redis: GET argument 1: template "k{{ vars.n }}": vars.n is captured by this step`},
		{"misspelt", `{name: a, redis: [INCR, n], capture: {count: reply}}`, `{name: b, redis: [GET, "k{{ vars.cuont }}"]}`,
			`c.yaml:9:42: redis: GET argument 1: template "k{{ vars.cuont }}": unknown var "cuont" (did you mean "count"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := `version: 1
name: c
targets: {cache: {driver: redis}}
scenarios:
  writes:
    load: {vus: 1, iterations: 1}
    steps:
      - ` + tt.first + `
      - ` + tt.second + `
`
			p, err := plan.Parse("c.yaml", []byte(src), plan.Options{StepKinds: driver.Drivers(), Env: func(string) (string, bool) { return "", false }})
			if err != nil {
				t.Fatal(err)
			}
			diags := engine.Validate(p).Errors()
			switch {
			case tt.want == "" && len(diags) != 0:
				t.Fatalf("diagnostics:\n%s", diags.Error())
			case tt.want != "" && (len(diags) != 1 || !strings.HasPrefix(diags[0].String(), tt.want)):
				t.Fatalf("diagnostics:\n%s\nwant one starting with\n%s", diags.Error(), tt.want)
			}
		})
	}
}
