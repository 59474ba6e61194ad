package check

import (
	"fmt"
	"testing"
	"time"

	"github.com/runplan/runplan/engine/metrics"
)

// TestInvalidVerdict: an invalid measurement has the verdict invalid,
// whatever the score; the score is still computed (issue 11).
func TestInvalidVerdict(t *testing.T) {
	t.Parallel()
	p := load(t, `  - {name: ok, expr: "sc.success_rate > 0.95", critical: true}`)
	prog, diags := Compile(p, testNames())
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

// TestBandingOnTheDisplayedScore: the verdict is banded on the score as
// shown, rounded to one decimal: 89.96 shows as 90.0 and is ready at a 90
// band (issue 11).
func TestBandingOnTheDisplayedScore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		pass, fail float64 // weights
		verdict    string
	}{
		{"89.96 shows as 90.0: ready", 8996, 1004, Ready},
		{"89.94 shows as 89.9: degraded", 8994, 1006, Degraded},
		{"69.96 shows as 70.0: degraded", 6996, 3004, Degraded},
		{"69.94 shows as 69.9: not ready", 6994, 3006, NotReady},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := load(t, fmt.Sprintf("  - {name: a, expr: \"sc.errors == 0\", weight: %g}\n  - {name: b, expr: \"sc.errors > 0\", weight: %g}", tt.pass, tt.fail))
			prog, diags := Compile(p, testNames())
			if len(diags) > 0 {
				t.Fatal(diags)
			}
			out := prog.Evaluate(summary(10, 0, 0, 0, time.Millisecond))
			if shown := RoundScore(out.Score); (shown >= 90) != (out.Verdict == Ready) {
				t.Fatalf("score shown %.1f, verdict %s: banded on another score than shown", shown, out.Verdict)
			}
			if out.Verdict != tt.verdict {
				t.Fatalf("score %v: verdict %s, want %s", out.Score, out.Verdict, tt.verdict)
			}
		})
	}
}

// TestInvalidAdviceByCause: the built-in advice on an invalid measurement
// is the diagnosis's, not always "lower the rate".
func TestInvalidAdviceByCause(t *testing.T) {
	t.Parallel()
	sum := summary(10, 0, 0, 0, time.Millisecond)
	sum.Generator = metrics.Generator{Reasons: []string{"a: scheduling lag p99 15ms is above 10ms"}, CPU: 0.95,
		Cause: "closed_model", Advice: "Cause: the closed-model scenario sc ran beside the open model. Run the closed-model scenario separately or lower its VUs."}
	got := builtinAdvice(layoutOf(nil), nil, sum)
	want := "The measurement is invalid: a: scheduling lag p99 15ms is above 10ms. Cause: the closed-model scenario sc ran beside the open model. Run the closed-model scenario separately or lower its VUs."
	if len(got) != 1 || got[0] != want {
		t.Fatalf("advice %q\nwant [%q] (and no second CPU advice)", got, want)
	}
}
