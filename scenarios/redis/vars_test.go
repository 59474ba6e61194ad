package redis_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/plan"
)

// TestSessionStorePlan runs plans/session-store.yaml on a redis-server
// started for the run: the SET, the EXPIRE and the read of an iteration
// use the key its vars drew once, so every read finds the session written
// in the same iteration (client hit ratio 1), holding the login number the
// first step captured. The controls draw the read's key again in the
// step, as plans had to before vars: it misses, and the read's capture
// fails every iteration (class capture); or write another login number:
// the read hits, and its capture fails.
func TestSessionStorePlan(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(filepath.Join("..", "..", "plans", "session-store.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		edit    func(string) string
		hits    bool  // every read hits; else none may
		checkOK bool  // the plan's sessions_read_back check passes
		errors  int64 // iterations failed, of class capture
	}{
		{name: "vars", edit: func(s string) string { return s }, hits: true, checkOK: true},
		{name: "key drawn per step", edit: func(s string) string {
			return strings.Replace(s, `{cache_get: {key: "{{ vars.key }}"}}`, `{cache_get: {key: "sess:{{ uniform(1000000000) }}"}}`, 1)
		}, errors: 200},
		{name: "another login written", edit: func(s string) string {
			return strings.Replace(s, `"login {{ vars.login }}"`, `"login {{ vars.login + 1 }}"`, 1)
		}, hits: true, checkOK: true, errors: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			text := strings.Replace(string(src), "load: {vus: 8, duration: 5s}", "load: {vus: 4, per_vu_iterations: 50}", 1)
			text = tt.edit(text)
			if !strings.Contains(text, "per_vu_iterations: 50") {
				t.Fatal("the plan's load line changed: update the test")
			}
			rep := runKeysPlan(t, text, "")
			for _, sc := range rep.Scenarios {
				if sc.Name != "logins" {
					continue
				}
				if sc.Count != 200 || sc.Errors != tt.errors || sc.ErrorsBy["capture"] != tt.errors {
					t.Fatalf("count %d errors %d %v, want 200 and %d of class capture", sc.Count, sc.Errors, sc.ErrorsBy, tt.errors)
				}
				var client *float64
				for _, h := range sc.HitRatios {
					if h.Source == "client" {
						client = h.Value
					}
				}
				switch {
				case client == nil:
					t.Fatalf("no client hit ratio: %+v", sc.HitRatios)
				case tt.hits && *client != 1:
					t.Errorf("client hit ratio %g, want 1: a read missed the session its iteration wrote", *client)
				case !tt.hits && *client != 0:
					t.Errorf("client hit ratio %g, want 0 with keys drawn per step", *client)
				}
			}
			for _, c := range rep.Checks {
				if c.Name == "sessions_read_back" && c.Passed != tt.checkOK {
					t.Errorf("check %s passed %v, want %v", c.Name, c.Passed, tt.checkOK)
				}
			}
		})
	}
}

// A step reading a var its scenario does not define is refused at
// validation, at the var's name in the step's template, with the nearest
// name.
func TestStepReadsUnknownVar(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, vars, step, want string
	}{
		{"misspelt", `vars: {sid: "{{ uniform(10) }}"}`, `[GET, "sess:{{ vars.sd }}"]`,
			`v.yaml:8:41: redis: GET argument 1: template "sess:{{ vars.sd }}": unknown var "sd" (did you mean "sid"?)`},
		{"cache_get key", `vars: {sid: "{{ uniform(10) }}", ttl: 60}`, `{cache_get: {key: "{{ vars.key }}"}}`,
			`v.yaml:8:48: redis: cache_get key: template "{{ vars.key }}": unknown var "key" (vars: sid, ttl)`},
		{"no vars", ``, `[GET, "sess:{{ vars.sid }}"]`,
			`v.yaml:8:41: redis: GET argument 1: template "sess:{{ vars.sid }}": unknown var "sid": the scenario defines no vars`},
		{"known", `vars: {sid: "{{ uniform(10) }}"}`, `[GET, "sess:{{ vars.sid }}"]`, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := `version: 1
name: v
targets: {cache: {driver: redis}}
scenarios:
  logins:
    load: {vus: 1, iterations: 1}
    ` + tt.vars + `
    steps: [{redis: ` + tt.step + `}]
`
			p, err := plan.Parse("v.yaml", []byte(src), plan.Options{StepKinds: driver.Drivers(), Env: func(string) (string, bool) { return "", false }})
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
