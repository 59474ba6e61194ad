package report

import (
	"fmt"
	"strings"
)

// HitRatio is one hit ratio of a scenario with the window it covers: the
// client's, over the scenario's cache lookups in its measured window, or a
// server's, from the target's INFO (Δkeyspace_hits / (Δhits + Δmisses))
// over the whole run. Times are seconds from the run's start.
type HitRatio struct {
	// Source is "client" or "server".
	Source string `json:"source"`
	// Target is the server's target (server ratios only).
	Target string `json:"target,omitempty"`
	// Value is null when unknown: no lookups, or a server that keeps no
	// keyspace counters (miniredis).
	Value *float64 `json:"value"`
	From  float64  `json:"from"`
	To    float64  `json:"to"`
	// Window is "measured" (the scenario's measured window: warmup
	// excluded) or "run" (the whole run: warmup, other scenarios and
	// every other client's lookups included).
	Window string `json:"window"`
	// metric names the ratio (the step metric), for people; "" in a
	// report read back (see ratioName).
	metric string
}

// hitRatios puts the scenario's client hit ratio beside the server hit
// ratio of every target its cache steps use; none when the scenario made no
// lookups or no such target reads server figures.
//
// Generic over declarations: the ratio is the scenario's first ratio step
// metric that the targets' servers also report under its name (a cache's
// hit_ratio); a step takes part when it has the ratio.
func hitRatios(s Scenario, layout Layout, targets []Target, runLength float64) []HitRatio {
	var ratio *Metric
	for i, m := range s.Metrics {
		if m.Kind == "ratio" && serverHas(targets, m.Name) {
			ratio = &s.Metrics[i]
			break
		}
	}
	if ratio == nil {
		return nil
	}
	var ps *ScenarioLayout
	for i, sc := range layout.Scenarios {
		if sc.Name == s.Name {
			ps = &layout.Scenarios[i]
		}
	}
	if ps == nil {
		return nil
	}
	from := round3(s.Start + s.Warmup)
	out := []HitRatio{{Source: "client", Value: ptr(ratio.Value), From: from, To: round3(from + s.Elapsed), Window: "measured", metric: ratio.Name}}
	seen := map[string]bool{}
	for _, st := range s.Steps {
		if st.Metric(ratio.Name) == nil {
			continue
		}
		for _, pst := range ps.Steps {
			if pst.Name != st.Name || seen[pst.Target] {
				continue
			}
			seen[pst.Target] = true
			for _, t := range targets {
				if t.Name != pst.Target {
					continue
				}
				for _, f := range t.Server {
					if f.Name == ratio.Name {
						out = append(out, HitRatio{Source: "server", Target: t.Name, Value: f.Value, From: 0, To: round3(runLength), Window: "run", metric: ratio.Name})
					}
				}
			}
		}
	}
	if len(out) == 1 {
		return nil
	}
	return out
}

// hitRatioText is the scenario's client and server ratios side by side, for people:
// "hit ratio: client 93.1% (measured 3–28s) · server cache 92.0% (whole run 0–28.4s)".
func hitRatioText(s Scenario) string {
	if len(s.HitRatios) == 0 {
		return ""
	}
	var parts []string
	for _, h := range s.HitRatios {
		v := "unavailable"
		if h.Value != nil {
			v = fmt.Sprintf("%.1f%%", *h.Value*100)
		}
		switch h.Source {
		case "client":
			parts = append(parts, fmt.Sprintf("client %s (measured window %s–%ss)", v, num(h.From), num(h.To)))
		default:
			parts = append(parts, fmt.Sprintf("server %s %s (whole run %s–%ss)", h.Target, v, num(h.From), num(h.To)))
		}
	}
	return label(ratioName(s)) + ": " + strings.Join(parts, " · ")
}

// ratioName is the step metric the scenario's side-by-side ratios are of:
// in a report read back, the scenario's ratio whose value the client's
// is.
func ratioName(s Scenario) string {
	if n := s.HitRatios[0].metric; n != "" {
		return n
	}
	for _, h := range s.HitRatios {
		if h.Source != "client" || h.Value == nil {
			continue
		}
		for _, m := range s.Metrics {
			if m.Kind == "ratio" && m.Value == *h.Value {
				return m.Name
			}
		}
	}
	return "ratio"
}

// serverHas reports whether some target's server reports a figure named
// name.
func serverHas(targets []Target, name string) bool {
	for _, t := range targets {
		for _, f := range t.Server {
			if f.Name == name {
				return true
			}
		}
	}
	return false
}
