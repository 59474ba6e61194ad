package plan

import (
	"strings"
	"testing"

	"github.com/runplan/runplan/engine/redact"
)

// Loading a plan gives its Redactor every value ${VAR} brought in (by the
// rule of redact.AddVar), the credentials of its URLs, and values written
// under secret keys; settings and key templates stay readable.
func TestLoadRegistersSecrets(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"REDIS_URL":   "redis://app:CANARY1#CANARY2@cache:6379/0",
		"HOOK_TOKEN":  "CANARYtok",
		"PLAN_LABEL":  "CANARY-label-long",
		"POOL":        "64",
		"DURATION":    "5s",
		"PREFIX_NAME": "short",
	}
	src := `version: 1
name: ${PLAN_LABEL}
targets:
  cache:
    driver: redis
    url: "${REDIS_URL}"
    pool_size: ${POOL}
    password: "CANARYliteral"
  hook:
    driver: webhook
    url: "https://discord.com/api/webhooks/1/CANARYplan"
    headers: {Authorization: "Bearer CANARYbearer", X-Token: "${HOOK_TOKEN}"}
scenarios:
  w:
    load: {vus: 1, duration: "${DURATION}"}
    steps:
      - redis: {cache_get: {key: "strategy:{{ uniform(10) }}"}}
        target: cache
      - redis: [SET, "${PREFIX_NAME}", v]
        target: cache
`
	red := redact.New()
	p, _ := ParseAll("p.yaml", []byte(src), Options{StepKinds: testKinds, Schema: testSchema, Secrets: red, Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if p == nil {
		t.Fatal("the plan does not parse")
	}
	masked := []string{
		"invalid url redis://app:CANARY1#CANARY2@cache:6379/0",
		`invalid port ":CANARY1" after host`,
		"fragment CANARY2@cache:6379/0",
		"header CANARYtok",
		"plan CANARY-label-long",
		"password CANARYliteral",
		"Authorization: Bearer CANARYbearer",
		"POST https://discord.com/api/webhooks/1/CANARYplan",
	}
	for _, text := range masked {
		if got := red.String(text); strings.Contains(got, "CANARY") {
			t.Errorf("%q is printed %q", text, got)
		}
	}
	kept := []string{"pool_size 64", "duration 5s", "key strategy:{{ uniform(10) }}", "SET short v", "redis://app:****@cache:6379/0"}
	for _, text := range kept {
		if got := red.String(text); got != text {
			t.Errorf("%q is printed %q: a setting was masked", text, got)
		}
	}
}
