package schema

import (
	"testing"
	"time"
)

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{5, "5ns"},
		{1500 * time.Nanosecond, "1.5µs"},
		{time.Millisecond, "1ms"},
		{1500 * time.Microsecond, "1.5ms"},
		{250 * time.Millisecond, "250ms"},
		{1500 * time.Millisecond, "1.5s"},
		{1001 * time.Millisecond, "1.001s"},
		{20 * time.Second, "20s"},
		{60 * time.Second, "1m"},
		{90 * time.Second, "1m30s"},
		{61500 * time.Millisecond, "1m1.5s"},
		{time.Hour, "1h"},
		{90 * time.Minute, "1h30m"},
		{25*time.Hour + 1*time.Second, "25h1s"},
	} {
		got := FormatDuration(tc.d)
		if got != tc.want {
			t.Errorf("FormatDuration(%d) = %q, want %q", tc.d, got, tc.want)
		}
		if tc.d == 0 {
			continue
		}
		back, err := ParseDuration(got)
		if err != nil || back != tc.d {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", got, back, err, tc.d)
		}
	}
}
