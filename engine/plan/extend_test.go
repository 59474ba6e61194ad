package plan

import (
	"strings"
	"testing"
	"time"
)

// sharedPlan shares a load block and check defaults through anchors under an
// x-defaults key, merged with <<: where some keys are overridden.
const sharedPlan = `version: 1
x-defaults:
  load: &load {vus: 2, duration: 5s}
  check: &check {weight: 10, critical: true}
  escaped: &escaped {description: "costs $${CENTS}"}
targets:
  hook:
    driver: webhook
    x-note: ignored, like every x- key where runplan names the keys
    headers: {x-api-key: "kept: a header"}
scenarios:
  a:
    <<: *escaped
    load: *load
    steps: [{sleep: 1ms, x-why: think time}]
  b:
    <<: *escaped
    load: {<<: *load, vus: 4}
    steps: [{webhook: {json: {x-kept: 1}}}]
checks:
  - {<<: *check, name: a_ok, expr: a.success_rate > 0.9}
  - {<<: [*check, {weight: 99, description: from the second}], name: b_ok, expr: b.success_rate > 0.9, critical: false}
`

func TestSharedBlocks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sets []string
		aDur time.Duration
		bDur time.Duration
	}{
		{name: "as written", aDur: 5 * time.Second, bDur: 5 * time.Second},
		// --set changes one place, not every place the anchor is used.
		{name: "set through an alias", sets: []string{"scenarios.a.load.duration=7s"}, aDur: 7 * time.Second, bDur: 5 * time.Second},
		{name: "set through a merge", sets: []string{"scenarios.b.load.duration=9s"}, aDur: 5 * time.Second, bDur: 9 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse("p.yaml", []byte(sharedPlan), Options{StepKinds: testKinds, Schema: testSchema, Env: env(map[string]string{"CENTS": "never read"}), Sets: tt.sets})
			if err != nil {
				t.Fatal(err)
			}
			a, b := p.Scenarios[0].Load, p.Scenarios[1].Load
			if a.VUs != 2 || a.Duration != tt.aDur {
				t.Errorf("a: %d VUs for %v, want 2 for %v", a.VUs, a.Duration, tt.aDur)
			}
			if b.VUs != 4 || b.Duration != tt.bDur {
				t.Errorf("b: %d VUs for %v, want 4 (its own) for %v", b.VUs, b.Duration, tt.bDur)
			}
			for _, s := range []string{"a", "b"} {
				_, sn := get(p.Root, "scenarios")
				_, sc := get(sn, s)
				_, d := get(sc, "description")
				// Interpolated once, where the anchor is: the escape is not
				// undone a second time for each place it is merged into.
				if str(d) != "costs ${CENTS}" {
					t.Errorf("scenario %s: description %q, want %q", s, str(d), "costs ${CENTS}")
				}
			}
			c1, c2 := p.Checks[0], p.Checks[1]
			if c1.Weight != 10 || !c1.Critical {
				t.Errorf("a_ok: weight %g critical %v, want 10 true from the anchor", c1.Weight, c1.Critical)
			}
			// The first mapping of a merge list wins, and the check's own
			// keys win over both.
			if c2.Weight != 10 || c2.Critical {
				t.Errorf("b_ok: weight %g critical %v, want 10 false", c2.Weight, c2.Critical)
			}
			if _, x := get(p.Root, "x-defaults"); x != nil {
				t.Errorf("x-defaults is still in the plan")
			}
			hook := p.Targets[0].Node
			if _, x := get(hook, "x-note"); x != nil {
				t.Errorf("x-note is still in the target")
			}
			if _, h := get(hook, "headers"); str(pick(get(h, "x-api-key"))) != "kept: a header" {
				t.Errorf("the x- header was removed: %v", h)
			}
			if _, j := get(p.Scenarios[1].Steps[0].Node, "json"); pick(get(j, "x-kept")) == nil {
				t.Errorf("the x- key of a JSON body was removed")
			}
			if _, x := get(p.Root.Content[0], "x-why"); x != nil {
				t.Errorf("x-why is still in the step")
			}
		})
	}
}

func TestSharedBlockProblems(t *testing.T) {
	t.Parallel()
	const head = "version: 1\nx-d: &d {vus: 2, duration: 5s}\nx-v: &v 5\n"
	tests := []struct {
		name, src string
		want      []string
	}{
		{"a problem in a merged value is shown where it is written",
			"version: 1\nx-d: &d {vus: two, duration: 5s}\nscenarios:\n  s1: {load: {<<: *d}, steps: [{sleep: 1s}]}\n",
			[]string{`p.yaml:2:15: scenarios.s1.load.vus: got string, want integer`}},
		{"merge of a value",
			head + "scenarios:\n  s1: {load: {<<: *v, vus: 1, duration: 1s}, steps: [{sleep: 1s}]}\n",
			[]string{`p.yaml:5:19: <<: merges a mapping into this one; this is a value, 5 (write <<: *name, where &name is on a mapping, or <<: [*a, *b])`}},
		{"merge of a value in a list",
			head + "scenarios:\n  s1: {load: {<<: [*d, 3]}, steps: [{sleep: 1s}]}\n",
			[]string{`p.yaml:5:24: <<: merges mappings; this item of its list is a value, 3 (write <<: *name, where &name is on a mapping, or <<: [*a, *b])`}},
		{"an x- key where names are",
			head + "scenarios:\n  x-base: {load: *d}\n  s1: {load: *d, steps: [{sleep: 1s}]}\n",
			[]string{`p.yaml:5:3: scenario name "x-base" must be an identifier: x- keys are ignored where runplan names the keys (the top level, inside a scenario), not where they are names; move it to the top level`,
				`p.yaml:5:3: scenario x-base: give it steps`}},
		{"an unknown key that a merge brought in",
			"version: 1\nx-d: &d {vus: 2, duratoin: 5s}\nscenarios:\n  s1:\n    load: {<<: *d, duration: 1s}\n    steps: [{sleep: 1s}]\n",
			[]string{`p.yaml:2:18: unknown key "duratoin" in scenarios.s1.load (did you mean "duration"?); the <<: at line 5 merged it in`}},
		{"a quoted << is a key like any other",
			head + "scenarios:\n  s1: {load: {\"<<\": *d}, steps: [{sleep: 1s}]}\n",
			[]string{`p.yaml:5:15: unknown key "<<" in scenarios.s1.load`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("p.yaml", []byte(tt.src), Options{StepKinds: testKinds, Schema: testSchema, Env: env(nil)})
			if err == nil {
				t.Fatal("no error")
			}
			got := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			if n := strings.Count(got, "\n") + 1; n != len(tt.want) {
				t.Errorf("%d diagnostics, want %d:\n%s", n, len(tt.want), got)
			}
		})
	}
}

func TestSetPaths(t *testing.T) {
	t.Parallel()
	const src = `version: 1
targets:
  cache: {driver: redis}
  hook: {driver: webhook, headers: {A: b}}
scenarios:
  cache_s:
    load: {vus: 1, duration: 1s}
    steps: [{redis: [GET, k]}]
checks:
  - {name: c1, expr: cache_s.success_rate > 0.9}
`
	tests := []struct {
		set     string
		wantErr string // empty: accepted
	}{
		{set: "scenarios.cache_s.load.duration=5s"},
		{set: "scenarios.cache_s.load.warmup=100ms"}, // a key the schema names
		{set: "readiness.ready=95"},                  // created where the schema names it
		{set: "checks.0.critical=true"},
		{set: "targets.hook.headers.X-Token=abc"}, // the author's keys: a header may be added
		{set: "targets.cache.pool_size=4"},
		{set: "scenarios.cahce_s.load.duration=5s", wantErr: "--set: scenarios.cahce_s.load.duration: the plan has no scenarios.cahce_s (did you mean scenarios.cache_s.load.duration?)"},
		{set: "scenarios.cache_s.laod.duration=5s", wantErr: "--set: scenarios.cache_s.laod.duration: the plan has no scenarios.cache_s.laod (did you mean scenarios.cache_s.load.duration?)"},
		{set: "scenarios.cache_s.load.durtion=5s", wantErr: "--set: scenarios.cache_s.load.durtion: the plan has no scenarios.cache_s.load.durtion (did you mean scenarios.cache_s.load.duration?)"},
		{set: "checks.0.critcal=true", wantErr: "--set: checks.0.critcal: the plan has no checks.0.critcal (did you mean checks.0.critical?)"},
		{set: "checks.1.expr=x", wantErr: `--set: checks.1.expr: "1" is not an index of the list at checks (it has 1 item, 0)`},
		{set: "targets.cache.poolsize=4", wantErr: "--set: targets.cache.poolsize: the plan has no targets.cache.poolsize (did you mean targets.cache.pool_size?)"},
		{set: "scenarios.other.load.vus=1", wantErr: "--set: scenarios.other.load.vus: the plan has no scenarios.other (scenarios has cache_s)"},
		{set: "scenarios.other={load: {vus: 1}}", wantErr: "--set: scenarios.other: the plan has no scenarios.other (scenarios has cache_s)"},
		{set: "targets.hook.headers.a.b=1", wantErr: "--set: targets.hook.headers.a.b: the plan has no targets.hook.headers.a (did you mean targets.hook.headers.A.b?)"},
		{set: "nope=1", wantErr: "--set: nope: the plan has no nope (the plan has version, targets, scenarios, checks)"},
	}
	for _, tt := range tests {
		t.Run(tt.set, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("p.yaml", []byte(src), Options{StepKinds: testKinds, Schema: testSchema, Env: env(nil), Sets: []string{tt.set}})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Errorf("err = %v\nwant %s", err, tt.wantErr)
			}
		})
	}
}
