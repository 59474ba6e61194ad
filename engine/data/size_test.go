package data

import "testing"

// TestSizeNoExponent: sizes keep three significant digits without an
// exponent.
func TestSizeNoExponent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    int64
		want string
	}{
		{12, "12 B"},
		{900 << 10, "900 KiB"},
		{1536 << 20, "1540 MiB"},
		{64 << 20, "64 MiB"},
		{1500, "1.46 KiB"},
	}
	for _, tt := range tests {
		if got := Size(tt.n); got != tt.want {
			t.Errorf("Size(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
