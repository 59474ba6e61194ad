package plan

import (
	"strings"
	"testing"
	"time"
)

const base = `version: 1
name: t
targets:
  cache:
    driver: redis
    url: "${RP_URL:-}"
    pool_size: ${RP_POOL:-8}
scenarios:
  s1:
    load: {vus: 2, duration: 5s}
    steps:
      - redis: [GET, k]
`

func env(m map[string]string) LookupEnv {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseValid(t *testing.T) {
	t.Parallel()
	p, err := Parse("p.yaml", []byte(base), Options{StepKinds: testKinds, Schema: testSchema, Env: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Targets) != 1 || p.Targets[0].URL != "" || p.Targets[0].Driver != "redis" {
		t.Fatalf("targets: %+v", p.Targets[0])
	}
	s := p.Scenarios[0]
	if s.Load.Model != Closed || s.Load.VUs != 2 || s.Load.Duration != 5*time.Second {
		t.Fatalf("load: %+v", s.Load)
	}
	if s.Steps[0].Name != "redis" || s.Steps[0].Target != "cache" {
		t.Fatalf("step: %+v", s.Steps[0])
	}
	if p.Readiness.Ready != DefaultReady || p.Digest == "" {
		t.Fatalf("defaults: %+v %q", p.Readiness, p.Digest)
	}
}

func TestInterpolationAndSet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		sets    []string
		url     string
		pool    string
		dur     time.Duration
		wantErr string
	}{
		{name: "defaults", url: "", pool: "8", dur: 5 * time.Second},
		{name: "from env", env: map[string]string{"RP_URL": "redis://x:1", "RP_POOL": "64"}, url: "redis://x:1", pool: "64", dur: 5 * time.Second},
		{name: "set overrides", sets: []string{"scenarios.s1.load.duration=2s", "targets.cache.url=redis://y:2"}, url: "redis://y:2", pool: "8", dur: 2 * time.Second},
		{name: "set bad value is a schema error", sets: []string{"scenarios.s1.load.duration=soon"}, wantErr: `p.yaml:10:30: scenarios.s1.load.duration: invalid duration "soon"`},
		{name: "set into a scalar", sets: []string{"version.x=1"}, wantErr: "--set: version.x: version is a value"},
		{name: "set without =", sets: []string{"version"}, wantErr: "--set: \"version\": use --set path=value"},
		{name: "env var with a number becomes a number", env: map[string]string{"RP_POOL": "ten"}, wantErr: "pool_size: got string, want integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse("p.yaml", []byte(base), Options{StepKinds: testKinds, Schema: testSchema, Env: env(tt.env), Sets: tt.sets})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Targets[0].URL != tt.url {
				t.Errorf("url %q, want %q", p.Targets[0].URL, tt.url)
			}
			if _, v := get(p.Targets[0].Node, "pool_size"); v.Value != tt.pool {
				t.Errorf("pool %q, want %q", v.Value, tt.pool)
			}
			if p.Scenarios[0].Load.Duration != tt.dur {
				t.Errorf("duration %v, want %v", p.Scenarios[0].Load.Duration, tt.dur)
			}
		})
	}
}

func TestDiagnostics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"unset variable is located", "version: 1\ntargets:\n  c: {driver: redis, url: \"redis://${RP_NOPE}\"}\nscenarios: {s1: {load: {iterations: 1}, steps: [{sleep: 1s}]}}\n",
			[]string{`p.yaml:3:36: environment variable RP_NOPE is not set`}},
		{"unknown key with suggestion", strings.Replace(base, "load: {vus: 2, duration: 5s}", "load: {vus: 2, durration: 5s}", 1),
			[]string{`p.yaml:10:20: unknown key "durration" in scenarios.s1.load (did you mean "duration"?)`}},
		{"open and closed mixed", strings.Replace(base, "vus: 2, duration: 5s", "vus: 2, rate: 5/s, duration: 5s", 1),
			[]string{`p.yaml:10:12: load: rate (open model) and vus (closed model) exclude each other`}},
		{"every problem at once", "version: 2\ntargets: {c: {driver: redis, pool_sise: 3}}\nscenarios:\n  sc: {load: {vus: x, duration: 5}, steps: [{redis: [GET, k]}]}\n",
			[]string{
				`p.yaml:1:10: version: unsupported plan version 2`,
				`p.yaml:2:30: unknown key "pool_sise" in targets.c (did you mean "pool_size"?)`,
				`p.yaml:4:20: scenarios.sc.load.vus: got string, want integer`,
				`p.yaml:4:33: scenarios.sc.load.duration: a duration needs a unit, like 500ms, 20s or 1m30s (got 5)`,
			}},
		{"late policy is send or skip", strings.Replace(base, "vus: 2, duration: 5s", "rate: 5/s, duration: 5s, late: later", 1),
			[]string{`p.yaml:10:43: scenarios.s1.load.late: "later" is not one of "auto", "send", "skip"`}},
		{"late belongs to the open model", strings.Replace(base, "vus: 2, duration: 5s", "vus: 2, duration: 5s, late: skip", 1),
			[]string{`p.yaml:10:34: load: late belongs to the open model`}},
		{"top-level late is send or skip", strings.Replace(base, "name: t\n", "name: t\nlate: never\n", 1),
			[]string{`p.yaml:3:7: late: `}},
		{"duplicate key", "version: 1\nversion: 1\ntargets: {c: {driver: redis}}\nscenarios: {s1: {load: {iterations: 1}, steps: [{sleep: 1s}]}}\n", []string{`p.yaml:2:1: duplicate key "version" (first at line 1)`}},
		{"syntax error", "version: 1\ntargets: [\n", []string{"p.yaml:2:1: YAML syntax:"}},
		{"bad names", "version: 1\ntargets: {run: {driver: redis}}\nscenarios:\n  my-s: {load: {vus: 1, iterations: 1}, steps: [{sleep: 1s}]}\n",
			[]string{`p.yaml:2:11: target name "run" is reserved`, `p.yaml:4:3: scenario name "my-s" must be an identifier`}},
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

// A scenario's late policy is its own, else the plan's, else send.
func TestLatePolicyDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, top, own string
		want           LatePolicy
	}{
		{"default auto", "", "", LateAuto},
		{"plan default", "skip", "", LateSkip},
		{"scenario overrides", "skip", "send", LateSend},
		{"scenario only", "", "skip", LateSkip},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := strings.Replace(base, "vus: 2, duration: 5s", "rate: 5/s, duration: 5s", 1)
			if tt.own != "" {
				src = strings.Replace(src, "duration: 5s}", "duration: 5s, late: "+tt.own+"}", 1)
			}
			if tt.top != "" {
				src = strings.Replace(src, "name: t\n", "name: t\nlate: "+tt.top+"\n", 1)
			}
			p, err := Parse("p.yaml", []byte(src), Options{StepKinds: testKinds, Schema: testSchema, Env: env(nil)})
			if err != nil {
				t.Fatal(err)
			}
			if got := p.LatePolicy(p.Scenarios[0]); got != tt.want {
				t.Fatalf("late policy %q, want %q", got, tt.want)
			}
		})
	}
}
