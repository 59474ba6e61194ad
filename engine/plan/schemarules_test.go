package plan

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/runplan/runplan/schema"
)

// TestSchemaRulesLeftToTheDecoder: where the plan schema states a rule the
// decoder also checks (decoderChecks), runplan shows the decoder's message
// only; and a schema error there that the decoder does not report refuses
// the plan all the same, in the schema's words.
func TestSchemaRulesLeftToTheDecoder(t *testing.T) {
	t.Parallel()
	var doc map[string]any
	if err := json.Unmarshal(testSchema.JSON(), &doc); err != nil {
		t.Fatal(err)
	}
	// A rule the decoder does not know, where the decoder's rules are.
	load := doc["$defs"].(map[string]any)["load"].(map[string]any)
	load["dependentSchemas"].(map[string]any)["warmup"] = map[string]any{"required": []any{"duration"}}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	extra, err := schema.CompilePlan(b)
	if err != nil {
		t.Fatal(err)
	}
	const head = "version: 1\ntargets:\n  cache: {driver: redis}\nscenarios:\n  s1:\n"
	tests := []struct {
		name, plan string
		sch        *schema.PlanSchema
		want       []string
	}{
		{"two kinds", head + "    load: {vus: 1, duration: 1s}\n    steps: [{redis: [PING], sleep: 1s}]\n", testSchema,
			[]string{"7:29: step: one kind per step; this step has both redis and sleep"}},
		{"rate zero", head + "    load: {rate: 0/s, duration: 1s}\n    steps: [{redis: [PING]}]\n", testSchema,
			[]string{"6:18: load: the rate must be positive (a rate of zero only makes sense as the start of stages)"}},
		{"decoder finds nothing", head + "    load: {vus: 1, iterations: 5, warmup: 1s}\n    steps: [{redis: [PING]}]\n", extra,
			[]string{`6:11: scenarios.s1.load: missing required key "duration"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, diags := ParseAll("p.yaml", []byte(tt.plan), Options{StepKinds: testKinds, Schema: tt.sch})
			var got []string
			for _, d := range diags {
				s := d.String()
				got = append(got, strings.TrimPrefix(s, "p.yaml:"))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
