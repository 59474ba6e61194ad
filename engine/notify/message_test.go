package notify

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/runplan/runplan/engine/report"
)

// TestNotifyInvalidVerdict: a notification of an invalid measurement says
// invalid, marks the score untrusted, and names a check's missing figures.
func TestNotifyInvalidVerdict(t *testing.T) {
	t.Parallel()
	score := 100.0
	r := &report.Report{Plan: report.PlanInfo{Name: "p"}, RunID: "r1", Verdict: "invalid", Score: &score,
		Generator: report.Generator{Reasons: []string{"a: scheduling lag p99 15ms is above 10ms"}},
		Checks:    []report.Check{{Name: "errs", Expr: "never.errors == 0", Display: "n/a", Missing: []string{"never.errors"}}}}
	for _, flavor := range []string{"discord", "slack", "generic"} {
		t.Run(flavor, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(message(r, flavor))
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"never.errors"}
			switch flavor {
			case "generic":
				want = append(want, `"verdict":"invalid"`, `"valid":false`, `"missing":["never.errors"]`)
			default:
				want = append(want, "runplan: p — INVALID", "100.0/100 (untrusted)", "invalid measurement: a: scheduling lag p99 15ms")
			}
			for _, w := range want {
				if !strings.Contains(string(b), w) {
					t.Errorf("%s message lacks %q: %s", flavor, w, b)
				}
			}
		})
	}
}
