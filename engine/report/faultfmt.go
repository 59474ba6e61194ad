package report

import (
	"fmt"
	"strings"
)

// winCell is a fault window for a table cell: its p99 next to its success
// rate and call count, so that fast failures (a refused connection) do not
// read as a fast window.
func winCell(w *Window) string {
	switch {
	case w == nil:
		return "-"
	case w.Count == 0:
		return "no calls"
	}
	s := "p99 " + winP99(w) + ", " + okShare(w)
	if w.Errors > 0 && w.SuccessLatency != nil && w.Latency != nil && w.SuccessLatency.P99 != w.Latency.P99 {
		s += "; ok calls p99 " + short(w.SuccessLatency.P99)
	}
	return s
}

// okShare is "99.6% ok of 980": a success rate never rounds up to 100%.
func okShare(w *Window) string {
	if w.SuccessRate == nil {
		return fmt.Sprintf("%d calls", w.Count)
	}
	return fmt.Sprintf("%s ok of %d", pctFloor(*w.SuccessRate), w.Count)
}

// pctFloor prints a ratio as a percentage with one decimal, never showing
// 100% for less than all, nor 0% for more than none.
func pctFloor(x float64) string {
	s := fmt.Sprintf("%.1f", x*100)
	switch {
	case x >= 1:
		return "100%"
	case s == "100.0":
		s = "99.9"
	case s == "0.0" && x > 0:
		s = "0.1"
	}
	return strings.TrimSuffix(s, ".0") + "%"
}

// secs prints seconds from the report: 97ms, 1.53s.
func secs(s float64) string {
	if s < 1 {
		return fmt.Sprintf("%.0fms", s*1000)
	}
	return fmt.Sprintf("%.2fs", s)
}

// recoveryText is a fault's recovery: when errors stopped and latency
// returned, or why it is unknown.
func recoveryText(f Fault) string {
	if f.Recovery == nil {
		if f.RecoveryNote == "" {
			return "-"
		}
		return "unknown: " + f.RecoveryNote
	}
	s := secs(*f.Recovery)
	var parts []string
	switch {
	case f.ErrorsStopped == nil:
	case *f.ErrorsStopped == 0:
		parts = append(parts, "errors stopped at once")
	default:
		parts = append(parts, "errors stopped after "+secs(*f.ErrorsStopped))
	}
	if f.LatencyReturned != nil {
		l := "latency back"
		if f.LatencyLimit != nil {
			l = "p99 back under " + short(*f.LatencyLimit)
		}
		if *f.LatencyReturned == 0 {
			l += " at once"
		} else {
			l += " after " + secs(*f.LatencyReturned)
		}
		parts = append(parts, l)
	}
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, ", ")
	}
	return s
}

// spansNote says that a target's server figures mix several servers, or ""
// when they do not.
func spansNote(t Target) string {
	if t.SpansServers < 2 {
		return ""
	}
	s := fmt.Sprintf("server figures of %s span %d servers", t.Name, t.SpansServers)
	if len(t.ServerChangedAt) > 0 {
		at := make([]string, len(t.ServerChangedAt))
		for i, c := range t.ServerChangedAt {
			at[i] = fmt.Sprintf("%.1fs", c)
		}
		s += " (another answered from " + strings.Join(at, ", ") + ")"
	}
	return s + ": a failover or a restart; figures from the first and last samples mix them"
}
