package check

import "testing"

func TestFraction(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"90": "0.9", "99.9": "0.999", "100": "1", "5": "0.05", "0.5": "0.005", "99.99": "0.9999", "150": "1.5", "0": "0"} {
		if got := fraction(in); got != want {
			t.Errorf("fraction(%q) = %q, want %q", in, got, want)
		}
	}
}
