package schema

import (
	"strconv"
	"strings"
	"time"
)

// FormatDuration writes d as a plan duration in its canonical form, the
// shortest that reads naturally and parses back to d (ParseDuration):
// 1m rather than 60s, 1.5s rather than 1500ms, 1m30s, 1h30m, 250ms.
// Negative durations are written as time.Duration writes them.
func FormatDuration(d time.Duration) string {
	switch {
	case d < 0:
		return d.String()
	case d == 0:
		return "0s"
	case d < time.Microsecond:
		return strconv.FormatInt(int64(d), 10) + "ns"
	case d < time.Millisecond:
		return decimal(d, time.Microsecond) + "µs"
	case d < time.Second:
		return decimal(d, time.Millisecond) + "ms"
	case d < time.Minute:
		return decimal(d, time.Second) + "s"
	}
	var b strings.Builder
	if h := d / time.Hour; h > 0 {
		b.WriteString(strconv.FormatInt(int64(h), 10) + "h")
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		b.WriteString(strconv.FormatInt(int64(m), 10) + "m")
		d -= m * time.Minute
	}
	if d > 0 {
		b.WriteString(decimal(d, time.Second) + "s")
	}
	return b.String()
}

// decimal writes d in units of unit, with as many decimals as it needs
// and no more, exactly (no floating point).
func decimal(d, unit time.Duration) string {
	whole, frac := d/unit, d%unit
	s := strconv.FormatInt(int64(whole), 10)
	if frac == 0 {
		return s
	}
	digits := len(strconv.FormatInt(int64(unit), 10)) - 1
	f := strconv.FormatInt(int64(frac), 10)
	f = strings.Repeat("0", digits-len(f)) + f
	return s + "." + strings.TrimRight(f, "0")
}
