package check

import (
	"testing"
	"time"

	"github.com/runplan/runplan/engine/metrics"
)

// TestInvalidVerdict: an invalid measurement has the verdict invalid,
// whatever the score; the score is still computed (issue 11).
func TestInvalidVerdict(t *testing.T) {
	t.Parallel()
	p := load(t, `  - {name: ok, expr: "sc.success_rate > 0.95", critical: true}`)
	prog, diags := Compile(p, Names{})
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	tests := []struct {
		name    string
		gen     metrics.Generator
		errs    int64
		verdict string
		score   float64
		capped  bool
	}{
		{"valid and passing", metrics.Generator{Valid: true}, 0, Ready, 100, false},
		{"invalid and passing", metrics.Generator{Valid: false, Reasons: []string{"sc: scheduling lag p99 15ms is above 10ms"}}, 0, Invalid, 100, false},
		{"invalid and a critical check failing", metrics.Generator{Valid: false, Reasons: []string{"sc: late"}}, 10, Invalid, 0, false},
		{"valid and a critical check failing", metrics.Generator{Valid: true}, 10, NotReady, 0, false},
		// A run that never started is not judged: no reasons, no invalid verdict.
		{"not judged", metrics.Generator{}, 0, Ready, 100, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sum := summary(10, tt.errs, 0, 0, time.Millisecond)
			sum.Generator = tt.gen
			out := prog.Evaluate(sum)
			if out.Verdict != tt.verdict || out.Score != tt.score || out.Capped != tt.capped {
				t.Fatalf("verdict %s score %v capped %v; want %s %v %v", out.Verdict, out.Score, out.Capped, tt.verdict, tt.score, tt.capped)
			}
		})
	}
}
