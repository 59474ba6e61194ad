package fault

import (
	"testing"
	"time"
)

// TestFmtDurNoExponent: three significant digits, never an exponent.
func TestFmtDurNoExponent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{450 * time.Microsecond, "450µs"},
		{1234567 * time.Nanosecond, "1.23ms"},
		{12345 * time.Millisecond, "12300ms"},
		{2 * time.Hour, "7200000ms"},
	}
	for _, tt := range tests {
		if got := fmtDur(tt.d); got != tt.want {
			t.Errorf("fmtDur(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
