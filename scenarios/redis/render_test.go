package redis

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/tmpl"
)

// Render shows the commands a step would send, quoted as redis-cli reads
// them, keys under the run's namespace, generated values by their size and
// the safety TTL on a server runplan did not start — without opening the
// target (its URL is a closed port).
func TestRender(t *testing.T) {
	t.Parallel()
	external := driver.TargetSpec{Name: "cache", URL: "redis://app:s3cretpassword@127.0.0.1:1/0", RunID: "<run-id>"}
	embedded := driver.TargetSpec{Name: "cache", RunID: "<run-id>"}
	tests := []struct {
		name   string
		target driver.TargetSpec
		step   string
		want   []string
		err    string
	}{
		{name: "templated key, quoted value", target: embedded, step: `[SET, "user:{{ iteration + 7 }}", "hello world", EX, 60]`,
			want: []string{`SET runplan:<run-id>:user:7 "hello world" EX 60`}},
		{name: "quoting", target: embedded, step: `[SET, k, "say \"hi\"\n\tnow", EX, 1]`,
			want: []string{`SET runplan:<run-id>:k "say \"hi\"\n\tnow" EX 1`}},
		{name: "empty argument", target: embedded, step: `[ECHO, ""]`, want: []string{`ECHO ""`}},
		{name: "value size", target: embedded, step: `[SET, k, {value_size: 512}]`,
			want: []string{`SET runplan:<run-id>:k <512 random bytes>`}},
		{name: "safety TTL on a SET", target: external, step: `[SET, k, v]`,
			want: []string{`SET runplan:<run-id>:k v EX 3600   # safety TTL`}},
		{name: "safety EXPIRE after a write", target: external, step: `[INCR, "c:{{ vu }}"]`,
			want: []string{`INCR runplan:<run-id>:c:1`, `EXPIRE runplan:<run-id>:c:1 3600   # safety TTL`}},
		{name: "pipeline", target: embedded, step: `{command: [GET, "k{{ iteration }}"], pipeline: 2}`,
			want: []string{`# pipeline: 2 commands in one round trip`, `GET runplan:<run-id>:k0`, `GET runplan:<run-id>:k0`}},
		{name: "transaction", target: embedded, step: `{commands: [[INCR, n], [GET, n]], transaction: true}`,
			want: []string{`MULTI`, `INCR runplan:<run-id>:n`, `GET runplan:<run-id>:n`, `EXEC`}},
		{name: "cache_get", target: embedded, step: `{cache_get: {key: "s:{{ vu }}", on_miss: {value_size: 100, ttl: 5m, load_delay: 5ms}}}`,
			want: []string{`GET runplan:<run-id>:s:1`, `# on a miss: wait 5ms (load_delay), then`, `SET runplan:<run-id>:s:1 <100 random bytes> EX 300`}},
		{name: "cache_get without fill", target: external, step: `{cache_get: {key: s}}`,
			want: []string{`GET runplan:<run-id>:s`}},
		{name: "cache_get safety TTL", target: external, step: `{cache_get: {key: s, on_miss: {value_size: 10}}}`,
			want: []string{`GET runplan:<run-id>:s`, `# on a miss:`, `SET runplan:<run-id>:s <10 random bytes> EX 3600   # safety TTL`}},
		{name: "template error", target: embedded, step: `[GET, "k:{{ uniform(iteration) }}"]`,
			err: `redis: GET argument 1 "k:{{ uniform(iteration) }}": {{ uniform(iteration) }}: uniform(0): n must be positive`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, err := prepareOn(tt.target, driver.StepSpec{Name: "s", Node: node(t, tt.step), Templates: tmpl.NewCompiler()})
			if err != nil {
				t.Fatal(err)
			}
			r, ok := st.(driver.Renderer)
			if !ok {
				t.Fatalf("%T is no driver.Renderer", st)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			ts := tmpl.NewState("s", 1, rng)
			ts.SetIteration(0)
			got, err := r.Render(&driver.Iteration{Scenario: "s", VU: 1, Rand: rng, Templates: ts})
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for _, l := range got {
				if strings.Contains(l, "s3cretpassword") {
					t.Errorf("the password shows: %s", l)
				}
			}
		})
	}
}

// Render draws what Do draws: after rendering, the iteration's random
// source is where a run's would be, so a value_size range and a template
// give the same values in both.
func TestRenderDrawsAsDo(t *testing.T) {
	t.Parallel()
	st, err := prepareOn(driver.TargetSpec{Name: "c", RunID: "r"}, driver.StepSpec{Name: "s",
		Node: node(t, `[SET, "k{{ uniform(1000) }}", {value_size: {min: 1, max: 1000}}]`), Templates: tmpl.NewCompiler()})
	if err != nil {
		t.Fatal(err)
	}
	b := st.(*batchStep)
	// Do's path: the command's render (after bind) on one source ...
	b.cmds[0].bind("runplan:r:")
	r1 := rand.New(rand.NewPCG(3, 4))
	ts1 := tmpl.NewState("s", 1, r1)
	argv, _, err := b.cmds[0].render(nil, nil, "runplan:r:", &driver.Iteration{Rand: r1, Templates: ts1})
	if err != nil {
		t.Fatal(err)
	}
	// ... Render's on another with the same seed.
	r2 := rand.New(rand.NewPCG(3, 4))
	lines, err := b.Render(&driver.Iteration{Rand: r2, Templates: tmpl.NewState("s", 1, r2)})
	if err != nil {
		t.Fatal(err)
	}
	want := "SET " + string(argv[1]) + " <" + strconv.Itoa(len(argv[2])) + " random bytes>"
	if lines[0] != want {
		t.Errorf("render %q, Do sends %q", lines[0], want)
	}
	if a, b := r1.Uint64(), r2.Uint64(); a != b {
		t.Errorf("the sources part after the step: %d vs %d", a, b)
	}
}
