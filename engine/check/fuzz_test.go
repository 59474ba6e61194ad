package check

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/runplan/runplan/engine/plan"
)

// fuzzPlan holds the fuzzed expression three times: as a check, as a check
// with partial credit, and as a recommendation's say template.
const fuzzPlan = `version: 1
targets: {cache: {driver: redis}}
scenarios:
  sc:
    load: {vus: 1, duration: 1s}
    steps:
      - name: lookup
        redis: {cache_get: {key: k}}
checks:
  - {name: c, expr: EXPR}
  - {name: p, expr: EXPR, weight: 10, good: 1, bad: 2}
recommendations:
  - {when: "sc.count > 0", say: EXPR}
`

// FuzzCheckExpr compiles arbitrary check expressions against the check
// environment (a scenario, its step, a target's server metrics), and runs
// those that compile on a measured summary. Nothing panics, and every
// problem is placed on the expression's own line, within it.
func FuzzCheckExpr(f *testing.F) {
	for _, s := range []string{
		"sc.steps.lookup.latency.p99 < ms(100)", "sc.hit_ratio > 0.9", "sc.success_rate > 0.95 && sc.errors == 0",
		"sc.errors_by.timeout == 0", "sc.latency.p99 < 100", "sc.steps.lokup.count > 1", "scx.count > 1",
		"sc.hit_ratio", "sc.count >", "", "a = 0", "sc.rate > 90%", "known(sc.latency.p50) && in_ms(sc.latency.p50) < 5",
		"worst(sc, s(1)).latency.p99 < ms(50)", "dur_add(sc.latency.p50, ms(1)) > s(0)", "cache.server.used_memory > 0",
		"run.generator.lag.p99 < ms(1) && run.valid", "pct(sc.error_rate) == 'n/a'", "sc.latency.p99 - sc.latency.p50 > us(1)",
		"{{ pct(sc.hit_ratio) }} at {{ sc.latency.p99 }}", "say {{ sc.count", "{{ }}", "1 / 0 > 1", "[1][2] == 1",
		"sc.latency['p99'] < ms(1)", "sc['steps'].lookup.count > 0", "map(1..3, #) == [1, 2, 3]", "é\n+ 1",
	} {
		f.Add(s)
	}
	sum := summary(100, 5, 60, 40, 3*time.Millisecond)
	names := Names{Server: map[string][]string{"cache": {"used_memory", "hits"}}, StepMetrics: testMetrics}
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 512 {
			return // an expression is a line of a plan
		}
		text := strings.ReplaceAll(fuzzPlan, "EXPR", yamlQuote(src))
		p, diags := plan.ParseAll("p.yaml", []byte(text), plan.Options{StepKinds: testKinds, Env: func(string) (string, bool) { return "", false }})
		if p == nil {
			t.Fatalf("the plan around %q did not load: %v", src, diags)
		}
		prog, diags := Compile(p, names)
		lines := strings.Split(text, "\n")
		for _, d := range diags {
			if d.Line < 10 || d.Line > 13 || d.Col < 1 || d.Col > utf8.RuneCountInString(lines[d.Line-1])+1 {
				t.Fatalf("%q: diagnostic %q at %d:%d, not on the expression's line", src, d.Msg, d.Line, d.Col)
			}
		}
		out := prog.Evaluate(sum)
		if out == nil {
			t.Fatal("no outcome")
		}
	})
}

// yamlQuote writes s as a YAML double-quoted scalar, escaping what YAML
// does not allow raw (control characters, C1, BOM, non-characters; an
// invalid byte reads as U+FFFD).
func yamlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r >= 0x20 && r < 0x7f || r > 0x9f && r != 0xfeff && r != 0xfffe && r != 0xffff:
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, "\\u%04x", r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
