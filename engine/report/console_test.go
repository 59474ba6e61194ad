package report

import "testing"

func TestFigure(t *testing.T) {
	t.Parallel()
	for v, want := range map[float64]string{42: "42", 8.967e-05: "0.00008967", 1.23456: "1.235", 54070.5: "54070", 0.5: "0.5", 1e-12: "1e-12"} {
		if got := figure(v); got != want {
			t.Errorf("figure(%v) = %q, want %q", v, got, want)
		}
	}
}
