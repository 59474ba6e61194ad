package check

import (
	"math"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"

	"github.com/runplan/runplan/engine/metrics"
	"github.com/runplan/runplan/engine/tmpl"
)

// Verdicts.
const (
	Ready    = "ready"
	Degraded = "degraded"
	NotReady = "not_ready"
	// Unscored is the verdict of a plan without checks: nothing was judged.
	Unscored = "unscored"
	// Invalid is the verdict of a run whose measurement is invalid: the
	// generator did not hold the requested load, so whatever the score,
	// it describes the generator as much as the target.
	Invalid = "invalid"
)

// Result is one evaluated check.
type Result struct {
	Name     string
	Expr     string
	Passed   bool
	Weight   float64
	Critical bool
	// Value is the left side of a comparison (a Duration, float64, int, ...)
	// or the expression's boolean when it is no comparison.
	Value any
	// Error is set when the expression failed to evaluate; the check fails.
	Error string
	// Credit is the share of Weight the check earns in the score: 1 or 0,
	// or in between for a check with good and bad bounds.
	Credit float64
	// Partial is true for a check scored with good and bad bounds.
	Partial bool
	// NA is true when the check read a figure that was never measured: it
	// does not pass and earns nothing. Missing names those figures, in the
	// order read.
	NA      bool
	Missing []string
}

// Outcome is the evaluation of a whole plan.
type Outcome struct {
	Checks []Result
	// Score is 0..100, NaN when the plan has no checks (or no weight).
	Score           float64
	Verdict         string
	Recommendations []string
	// Capped is true when a failed critical check capped the verdict.
	Capped bool
}

// AllPassed reports whether every check passed.
func (o *Outcome) AllPassed() bool {
	for _, r := range o.Checks {
		if !r.Passed {
			return false
		}
	}
	return true
}

// Evaluate runs the checks and recommendations on a run's summary and
// scores the result; see docs/SCORING.md for the rule.
func (p *Program) Evaluate(sum *metrics.RunSummary) *Outcome {
	env := envOf(p.layout, p.names, sum)
	out := &Outcome{}
	var total, passed float64
	criticalFailed := false
	for _, c := range p.checks {
		r := Result{Name: c.name, Expr: c.expr, Weight: c.weight, Critical: c.critical}
		rec := &recorder{env: env}
		env[recName] = rec
		v, err := expr.Run(c.prog, env)
		env[recName] = (*recorder)(nil)
		switch {
		case err != nil:
			r.Error = firstLine(err.Error())
		case len(rec.missing) > 0:
			// Unknown is never a pass.
			r.NA, r.Missing = true, rec.missing
			r.Value = v
		default:
			r.Passed, _ = v.(bool)
			r.Value = v
		}
		if c.value != nil {
			if vv, err := expr.Run(c.value, env); err == nil {
				r.Value = vv
			}
		}
		r.Credit = 0
		if r.Passed {
			r.Credit = 1
		}
		if c.hasBounds {
			r.Partial = true
			if !r.NA {
				r.Credit = credit(r.Value, c.good, c.bad)
			}
		}
		total += r.Weight
		passed += r.Weight * r.Credit
		if !r.Passed && r.Critical {
			criticalFailed = true
		}
		out.Checks = append(out.Checks, r)
	}
	out.Score = math.NaN()
	out.Verdict = Unscored
	if total > 0 {
		out.Score = 100 * passed / total
		// Band the score as it is shown: 89.96 shows as 90.0, and is
		// ready at a 90 band.
		shown := RoundScore(out.Score)
		switch {
		case shown >= p.layout.ready:
			out.Verdict = Ready
		case shown >= p.layout.degraded:
			out.Verdict = Degraded
		default:
			out.Verdict = NotReady
		}
	}
	if criticalFailed && out.Verdict != NotReady {
		out.Verdict, out.Capped = NotReady, true
	}
	// An invalid measurement always gives reasons; a run that never
	// started has none and is not judged.
	if sum != nil && !sum.Generator.Valid && len(sum.Generator.Reasons) > 0 {
		out.Verdict, out.Capped = Invalid, false
	}
	for _, r := range p.recs {
		rec := &recorder{env: env}
		env[recName] = rec
		v, err := expr.Run(r.when, env)
		if err != nil || v != true || len(rec.missing) > 0 {
			continue // a condition on an unknown figure does not hold
		}
		var b strings.Builder
		for _, part := range r.say {
			if part.prog == nil {
				b.WriteString(part.text)
				continue
			}
			val, err := expr.Run(part.prog, env)
			if err != nil {
				b.WriteString("<" + firstLine(err.Error()) + ">")
				continue
			}
			b.WriteString(FormatValue(val))
		}
		out.Recommendations = append(out.Recommendations, b.String())
	}
	out.Recommendations = append(out.Recommendations, builtinAdvice(p.layout, p.names.Advisors, sum)...)
	return out
}

// RoundScore rounds a score as every output shows it: to one decimal.
func RoundScore(s float64) float64 { return math.Round(s*10) / 10 }

// credit scores a value between good (1) and bad (0), linearly; an unknown
// value earns nothing.
func credit(v any, good, bad float64) float64 {
	var x float64
	switch t := v.(type) {
	case Duration:
		if !t.OK {
			return 0
		}
		x = float64(t.D)
	case float64:
		x = t
	case int:
		x = float64(t)
	default:
		return 0
	}
	if math.IsNaN(x) {
		return 0
	}
	c := (x - bad) / (good - bad)
	return math.Round(min(max(c, 0), 1)*1000) / 1000
}

// FormatValue prints a check value for people: durations with units, ratios
// with four significant digits, unknown figures as n/a.
func FormatValue(v any) string {
	switch x := v.(type) {
	case Duration:
		return x.String()
	case float64:
		if math.IsNaN(x) {
			return "n/a"
		}
		return FormatNumber(x)
	case nil:
		return "n/a"
	default:
		return string(tmpl.AppendValue(nil, x))
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// FormatNumber prints a number for people, never with an exponent between
// 1e-9 and 1e15: a whole number in full (12345678, a count), anything else
// to four significant digits (0.9215, 1234.5 → 1235). Outside that range
// (a figure no run produces) it keeps four significant digits with an
// exponent rather than a page of zeros.
func FormatNumber(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return strconv.FormatFloat(v, 'g', -1, 64)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 1e-9 && math.Abs(v) < 1e15:
		r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 4, 64), 64)
		return strconv.FormatFloat(r, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
