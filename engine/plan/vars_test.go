package plan

import (
	"slices"
	"strings"
	"testing"
)

// varsPlan is a plan whose scenario's vars are vars (a YAML block indented
// under vars:, starting on line 9).
func varsPlan(vars string) string {
	return `version: 1
name: t
targets:
  cache: {driver: redis}
scenarios:
  s1:
    load: {vus: 1, iterations: 1}
    vars:
` + vars + `    steps:
      - redis: [GET, k]
`
}

func TestVarsValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		vars  string
		want  []string // diagnostics, in order; none: valid
		names []string // the vars' names
	}{
		{name: "good", vars: "      sid: \"{{ uniform(1000) }}\"\n      key: \"s:{{ vars.sid + 1 }}\"\n      ttl: 60\n      on: true\n      plain: text\n",
			names: []string{"sid", "key", "ttl", "on", "plain"}},
		{name: "forward reference", vars: "      key: \"s:{{ vars.sid }}\"\n      sid: \"{{ uniform(1000) }}\"\n",
			want:  []string{`p.yaml:9:23: scenario s1: var key: vars.sid is defined below this var: a var may read only the vars above it`},
			names: []string{"key", "sid"}},
		{name: "itself", vars: "      n: \"{{ vars.n + 1 }}\"\n",
			want: []string{`p.yaml:9:19: scenario s1: var n: var n reads itself`}, names: []string{"n"}},
		{name: "unknown", vars: "      sid: \"{{ uniform(10) }}\"\n      key: \"{{ vars.sdi }}\"\n",
			want: []string{`p.yaml:10:21: scenario s1: var key: unknown var "sdi" (did you mean "sid"?)`}, names: []string{"sid", "key"}},
		{name: "duplicate", vars: "      sid: \"{{ uniform(10) }}\"\n      sid: \"{{ uniform(20) }}\"\n",
			want: []string{`p.yaml:10:7: duplicate key "sid" (first at line 9)`}, names: []string{"sid", "sid"}},
		{name: "bad expression", vars: "      sid: \"{{ uniform( }}\"\n",
			want: []string{`p.yaml:9:23: scenario s1: var sid: incomplete expression`}, names: []string{"sid"}},
		{name: "bad argument", vars: "      sid: \"{{ uniform(0) }}\"\n",
			want: []string{`p.yaml:9:24: scenario s1: var sid: uniform: n must be at least 1`}, names: []string{"sid"}},
		{name: "not an identifier", vars: "      my-var: \"1\"\n",
			want: []string{`p.yaml:9:7: scenario s1: var name "my-var" must be an identifier`}},
		{name: "not a scalar", vars: "      sid: [1, 2]\n",
			want: []string{`p.yaml:9:12: scenarios.s1.vars.sid: got array, want boolean or number or string`}, names: []string{"sid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, diags := ParseAll("p.yaml", []byte(varsPlan(tt.vars)), Options{StepKinds: testKinds, Schema: testSchema, Env: env(nil)})
			errs := diags.Errors().Sorted()
			if len(errs) != len(tt.want) {
				t.Fatalf("diagnostics:\n%s\nwant %d: %q", errs.Error(), len(tt.want), tt.want)
			}
			for i, d := range errs {
				if !strings.HasPrefix(d.String(), tt.want[i]) {
					t.Errorf("diagnostic %d:\n%s\nwant it to start with\n%s", i, d.String(), tt.want[i])
				}
			}
			if p == nil {
				t.Fatal("no plan")
			}
			s := p.Scenarios[0]
			if tt.names != nil && !slices.Equal(s.VarNames, tt.names) {
				t.Errorf("var names %v, want %v", s.VarNames, tt.names)
			}
			if (s.Vars != nil) != (len(tt.want) == 0) {
				t.Errorf("compiled vars %v with %d problems", s.Vars != nil, len(tt.want))
			}
			if s.Vars != nil && !slices.Equal(s.Vars.Names(), tt.names) {
				t.Errorf("compiled var names %v, want %v", s.Vars.Names(), tt.names)
			}
		})
	}
}
