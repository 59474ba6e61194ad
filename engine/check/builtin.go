package check

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/runplan/runplan/engine/metrics"
)

// Thresholds of the built-in recommendations, documented in docs/SCORING.md.
const (
	adviseHitRatio   = 0.80 // below it, with at least adviseMinLookups lookups
	adviseMinLookups = 100
	adviseCPU        = 0.90 // runplan's own CPU share above which it may have limited the load
)

// builtinAdvice returns recommendations grounded in what was measured, each
// naming the figures that triggered it. They follow the plan's own.
func builtinAdvice(sum *metrics.RunSummary) []string {
	if sum == nil {
		return nil
	}
	var out []string
	g := sum.Generator
	if !g.Valid && len(g.Reasons) > 0 {
		advice := g.Advice
		if advice == "" { // a summary without a diagnosis
			advice = "Run runplan on a less loaded machine, apart from the target, or lower the rate."
		}
		out = append(out, "The measurement is invalid: "+strings.Join(g.Reasons, "; ")+". "+advice)
	}
	if g.CPU > adviseCPU && g.Cause != "generator_cpu" && g.Cause != "closed_model" {
		out = append(out, fmt.Sprintf("runplan used %.0f%% of its CPUs: the generator may have limited the load; run it on another machine than the target.", g.CPU*100))
	}
	for _, sc := range sum.Scenarios {
		if sc == nil || sc.Iteration == nil {
			continue
		}
		var hits, misses int64
		for _, st := range sc.Steps {
			hits += st.Hits
			misses += st.Misses
		}
		if n := hits + misses; n >= adviseMinLookups {
			if r := float64(hits) / float64(n); r < adviseHitRatio {
				out = append(out, fmt.Sprintf("%s: cache hit ratio %.1f%% (%d hits of %d lookups): keys expire or are evicted before they are reused; lengthen TTLs, pre-warm hot keys or give the cache more memory.",
					sc.Name, r*100, hits, n))
			}
		}
		if sc.Dropped > 0 {
			due := sc.Scheduled
			out = append(out, fmt.Sprintf("%s: %d of %d due iterations were dropped because all %d VUs were busy: the target did not keep up with the arrival rate; raise max_vus only if more concurrency is realistic.",
				sc.Name, sc.Dropped, due, sc.MaxVUs))
		}
		for _, st := range sc.Steps {
			out = append(out, stepAdvice(sc.Name, st)...)
		}
	}
	for _, t := range sum.Targets {
		for _, name := range t.Order {
			v := t.Server[name]
			if strings.Contains(name, "evicted") && !math.IsNaN(v) && v > 0 {
				out = append(out, fmt.Sprintf("%s: the server evicted %.0f keys during the run (%s): it reached maxmemory; raise maxmemory, shorten TTLs or store less.", t.Name, v, name))
			}
		}
	}
	return out
}

// stepAdvice looks at a step's errors by class.
func stepAdvice(scenario string, st *metrics.Stats) []string {
	if st.Errors == 0 {
		return nil
	}
	var out []string
	classes := make([]string, 0, len(st.ErrorsBy))
	for c := range st.ErrorsBy {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	share := func(n int64) string {
		return fmt.Sprintf("%d of %d (%.1f%%)", n, st.Count, 100*float64(n)/float64(max(st.Count, 1)))
	}
	for _, c := range classes {
		n := st.ErrorsBy[c]
		where := scenario + "." + st.Name
		switch c {
		case "timeout":
			out = append(out, fmt.Sprintf("%s: %s calls timed out: find what stalls the target (slow commands, a saturated connection pool, the network) before raising the timeout.", where, share(n)))
		case "rate_limited", "429":
			out = append(out, fmt.Sprintf("%s: %s requests were rate limited (429): send fewer, spread them over more webhooks, or let the driver respect the limits.", where, share(n)))
		case "refused", "connection", "reset", "dns", "tls":
			out = append(out, fmt.Sprintf("%s: %s calls failed to connect (%s): check that the target is up and reachable, and its connection limits.", where, share(n), c))
		}
	}
	return out
}
