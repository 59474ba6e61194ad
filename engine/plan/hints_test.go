package plan

import (
	"strings"
	"testing"
)

// TestNewcomerHints checks the advice added to the diagnostics of the
// commonest first mistakes.
func TestNewcomerHints(t *testing.T) {
	t.Parallel()
	const head = "version: 1\ntargets:\n  hook: {driver: webhook}\n"
	const sc = "scenarios:\n  s1: {load: {vus: 1, duration: 1s}, steps: [{sleep: 1s}]}\n"
	tests := []struct {
		name, src string
		want      []string
	}{
		{"{NAME} for ${NAME}", head + "  cache: {driver: redis, url: {REDIS_URL}}\n" + sc,
			[]string{`p.yaml:4:31: targets.cache.url: got object, want string: {REDIS_URL} is a YAML mapping; did you mean "${REDIS_URL}"?`}},
		{"{NAME:-default} for ${NAME:-default}", head + sc + "notify:\n  - url: {HOOK_URL:-}\n",
			[]string{`p.yaml:7:10: notify[0].url: got object, want string: {HOOK_URL:-} is a YAML mapping; did you mean "${HOOK_URL:-}"?`}},
		{"a real mapping gets no hint", head + "  cache: {driver: redis, url: {host: x}}\n" + sc,
			[]string{`p.yaml:4:31: targets.cache.url: got object, want string`}},
		{"a quoted number", head + "scenarios:\n  s1: {load: {vus: \"10\", duration: 1s}, steps: [{sleep: 1s}]}\n",
			[]string{`p.yaml:5:20: scenarios.s1.load.vus: got string, want integer: write 10 without quotes`}},
		{"a quoted status", head + "scenarios:\n  s1: {load: {vus: 1, duration: 1s}, steps: [{webhook: {json: {}}, expect: {status: '204'}}]}\n",
			[]string{`p.yaml:5:85: scenarios.s1.steps[0].expect.status: "204" in quotes is a string, not a number: write 204 without quotes`}},
		{"a word where a number is", head + "scenarios:\n  s1: {load: {vus: \"ten\", duration: 1s}, steps: [{sleep: 1s}]}\n",
			[]string{`p.yaml:5:20: scenarios.s1.load.vus: got string, want integer`}},
		{"a Latin-1 byte on line 7", head + "scenarios:\n  s1:\n    start: 0s\n    description: caf\xe9\n    load: {vus: 1, duration: 1s}\n    steps: [{sleep: 1s}]\n",
			[]string{`p.yaml:7:21: byte 0xE9 is not UTF-8 (é in Latin-1?): save the plan as UTF-8`}},
		{"one per line", "version: 1\nname: \xff\xfe\ndescription: a\xe9\n",
			[]string{`p.yaml:2:7: byte 0xFF is not UTF-8`, `p.yaml:3:15: byte 0xE9 is not UTF-8`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("p.yaml", []byte(tt.src), Options{StepKinds: testKinds, Schema: testSchema, Env: env(nil)})
			if err == nil {
				t.Fatal("no error")
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tt.want) {
				t.Fatalf("%d diagnostics, want %d:\n%s", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				// A want ends where the message may go on, except that the
				// hint must be there in full.
				if !strings.HasPrefix(got[i], w) || strings.Contains(w, "did you mean") && got[i] != w {
					t.Errorf("got  %s\nwant %s", got[i], w)
				}
			}
			if tt.name == "a real mapping gets no hint" && strings.Contains(got[0], "did you mean") {
				t.Errorf("a hint for a mapping that is one: %s", got[0])
			}
		})
	}
}
