package check

import (
	"math"
	"testing"
	"time"
)

// TestFormatValueNoExponent: counts print in full and other numbers to
// four significant digits, never with an exponent (1e+04 is 10000).
func TestFormatValueNoExponent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v    any
		want string
	}{
		{10000.0, "10000"},
		{12345678.0, "12345678"},
		{1e14, "100000000000000"},
		{-2500000.0, "-2500000"},
		{0.0, "0"},
		{0.92151, "0.9215"},
		{1234.56, "1235"},
		{98765.4321, "98770"},
		{0.00012345, "0.0001234"},
		{1.5e-9, "0.0000000015"},
		{math.NaN(), "n/a"},
		{nil, "n/a"},
		{Duration{D: 1500 * time.Millisecond, OK: true}, Duration{D: 1500 * time.Millisecond, OK: true}.String()},
	}
	for _, tt := range tests {
		if got := FormatValue(tt.v); got != tt.want {
			t.Errorf("FormatValue(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}
