package report

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Figures that compare knows, in display order. Throughput is better
// higher; the error rate and the latencies are better lower.
var compareFigures = []string{"rate", "error_rate", "p50", "p90", "p95", "p99", "p999", "max"}

// Tolerance bounds how far a figure may move before the move is flagged.
// Rel is a fraction of the base value (0.1 is 10 %), Abs is in the
// figure's unit (milliseconds for latencies, per second for rate, a ratio
// for error_rate); a negative value is unset. With both set, a change is
// flagged only when it exceeds both: large relative to the base and large
// in absolute terms (so that 120µs → 140µs is not a "17 % regression").
type Tolerance struct {
	Rel, Abs float64
}

func (t Tolerance) set() bool { return t.Rel >= 0 || t.Abs >= 0 }

func (t Tolerance) String(figure string) string {
	var parts []string
	if t.Rel >= 0 {
		parts = append(parts, strconv.FormatFloat(t.Rel*100, 'f', -1, 64)+"%")
	}
	if t.Abs >= 0 {
		switch {
		case strings.HasPrefix(figure, "p") || figure == "max":
			parts = append(parts, short(t.Abs))
		case figure == "rate":
			parts = append(parts, strconv.FormatFloat(t.Abs, 'f', -1, 64)+"/s")
		default:
			parts = append(parts, strconv.FormatFloat(t.Abs, 'f', -1, 64))
		}
	}
	return strings.Join(parts, " and ")
}

// Tolerances maps a figure name to its tolerance. A figure without one is
// neither shown nor judged.
type Tolerances map[string]Tolerance

// DefaultTolerances are rate 5 %, error_rate 0.01 (one percentage point),
// p50, p95 and p99 10 %.
func DefaultTolerances() Tolerances {
	return Tolerances{
		"rate":       {Rel: 0.05, Abs: -1},
		"error_rate": {Rel: -1, Abs: 0.01},
		"p50":        {Rel: 0.10, Abs: -1},
		"p95":        {Rel: 0.10, Abs: -1},
		"p99":        {Rel: 0.10, Abs: -1},
	}
}

// ErrTolerance is wrapped by every tolerance syntax error.
var ErrTolerance = errors.New("bad tolerance")

// ParseTolerances applies specs such as "p99=10%", "p99=2ms",
// "error_rate=0.01", "rate=5%", "max=off" (comma-separated or repeated) to
// a copy of base. A percentage sets the relative part, anything else the
// absolute part (a latency takes a duration unit: 500us, 2ms, 1s), and
// "off" removes the figure. A figure named in specs gets exactly the parts
// given there: "p99=10%,p99=1ms" sets both, "p99=1ms" alone only the
// absolute part.
func ParseTolerances(base Tolerances, specs ...string) (Tolerances, error) {
	out := Tolerances{}
	for k, v := range base {
		out[k] = v
	}
	given := map[string]Tolerance{}
	var order []string
	off := map[string]bool{}
	for _, spec := range specs {
		for _, item := range strings.Split(spec, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			name, value, ok := strings.Cut(item, "=")
			name, value = strings.TrimSpace(name), strings.TrimSpace(value)
			if !ok || value == "" {
				return nil, fmt.Errorf("%w %q: want figure=value, e.g. p99=10%%", ErrTolerance, item)
			}
			if !slices.Contains(compareFigures, name) {
				return nil, fmt.Errorf("%w %q: unknown figure %q (use %s)", ErrTolerance, item, name, strings.Join(compareFigures, ", "))
			}
			t, had := given[name]
			if !had {
				t = Tolerance{Rel: -1, Abs: -1}
				order = append(order, name)
			}
			switch {
			case value == "off":
				off[name] = true
			case strings.HasSuffix(value, "%"):
				f, err := strconv.ParseFloat(strings.TrimSuffix(value, "%"), 64)
				if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
					return nil, fmt.Errorf("%w %q: want a non-negative percentage", ErrTolerance, item)
				}
				t.Rel = f / 100
			default:
				f, err := parseAbs(name, value)
				if err != nil {
					return nil, fmt.Errorf("%w %q: %v", ErrTolerance, item, err)
				}
				t.Abs = f
			}
			given[name] = t
		}
	}
	for _, name := range order {
		if off[name] {
			delete(out, name)
			continue
		}
		out[name] = given[name]
	}
	return out, nil
}

func parseAbs(name, value string) (float64, error) {
	if strings.HasPrefix(name, "p") || name == "max" {
		d, err := parseDurationMs(value)
		if err != nil {
			return 0, err
		}
		return d, nil
	}
	f, err := strconv.ParseFloat(value, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, errors.New("want a non-negative number or a percentage")
	}
	if name == "error_rate" && f > 1 {
		return 0, errors.New("an error-rate tolerance is a ratio (0.01 is one percentage point) or a percentage of the base")
	}
	return f, nil
}

// parseDurationMs reads "2ms", "500us", "1.5s" as milliseconds.
func parseDurationMs(s string) (float64, error) {
	units := []struct {
		suffix string
		ms     float64
	}{{"ns", 1e-6}, {"us", 1e-3}, {"µs", 1e-3}, {"ms", 1}, {"s", 1000}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(num, 64)
			if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
				break
			}
			return f * u.ms, nil
		}
	}
	return 0, errors.New("want a percentage (10%) or a duration with a unit (500us, 2ms, 1s)")
}

// Change verdicts.
const (
	Regression  = "regression"
	Improvement = "improvement"
)

// FigureChange is one figure of one scenario or step, base against new.
type FigureChange struct {
	Figure string
	// Base and New are nil when the figure was not measured.
	Base, New *float64
	// Rel is the relative change (0.1 is +10 %), nil when the base is 0
	// or either side is unknown.
	Rel *float64
	// Status is Regression, Improvement or "" (within tolerance, or not
	// comparable).
	Status    string
	Tolerance string
}

// CompareRow compares one scenario (Step "") or step.
type CompareRow struct {
	Scenario, Step string
	// Only is "base" or "new" when the row exists in one report only.
	Only    string
	Figures []FigureChange
}

// CheckChange is one check whose outcome changed, or that exists on one
// side only.
type CheckChange struct {
	Name               string
	BasePass, NewPass  *bool
	BaseValue, NewText string
	Status             string
}

// RunRef identifies one side of a comparison.
type RunRef struct {
	Title, RunID, Started, Verdict, Score string
	// Valid is false only for a measurement judged invalid; NotStarted
	// runs are not judged.
	Valid, NotStarted bool
}

// Comparison is a baseline report against a new one.
type Comparison struct {
	Base, New    RunRef
	Figures      []string
	Tolerances   Tolerances
	Rows         []CompareRow
	Checks       []CheckChange
	Notes        []string
	Regressions  int
	Improvements int
}

// Compare compares new against base, scenario by scenario and step by
// step, judging each figure that has a tolerance. A check that passed in
// base and fails in new is a regression too.
func Compare(base, cur *Report, tol Tolerances) *Comparison {
	c := &Comparison{Base: runRef(base), New: runRef(cur), Tolerances: tol}
	for _, f := range compareFigures {
		if t, ok := tol[f]; ok && t.set() {
			c.Figures = append(c.Figures, f)
		}
	}
	if base.Plan.Digest != "" && cur.Plan.Digest != "" && base.Plan.Digest != cur.Plan.Digest {
		c.Notes = append(c.Notes, "the plans differ (their digests do not match): figures may not be comparable")
	}
	for _, side := range []struct {
		name string
		r    *Report
	}{{"base", base}, {"new", cur}} {
		switch {
		case side.r.NotStarted:
			// Not an invalid measurement: nothing was measured at all.
			c.Notes = append(c.Notes, "the "+side.name+" run did not start: it measured nothing to compare")
		case !side.r.Valid:
			c.Notes = append(c.Notes, "the "+side.name+" run's measurement is invalid: the generator could not hold the load")
		}
	}
	if base.Partial && !base.NotStarted || cur.Partial && !cur.NotStarted {
		c.Notes = append(c.Notes, "a run is partial: it did not complete")
	}

	baseScen := map[string]Scenario{}
	for _, s := range base.Scenarios {
		baseScen[s.Name] = s
	}
	seen := map[string]bool{}
	for _, ns := range cur.Scenarios {
		seen[ns.Name] = true
		bs, ok := baseScen[ns.Name]
		if !ok {
			c.Rows = append(c.Rows, CompareRow{Scenario: ns.Name, Only: "new"})
			continue
		}
		c.Rows = append(c.Rows, c.row(ns.Name, "", bs.Stats, ns.Stats))
		baseSteps := map[string]Step{}
		for _, st := range bs.Steps {
			baseSteps[st.Name] = st
		}
		stepSeen := map[string]bool{}
		for _, st := range ns.Steps {
			stepSeen[st.Name] = true
			if bst, ok := baseSteps[st.Name]; ok {
				c.Rows = append(c.Rows, c.row(ns.Name, st.Name, bst.Stats, st.Stats))
			} else {
				c.Rows = append(c.Rows, CompareRow{Scenario: ns.Name, Step: st.Name, Only: "new"})
			}
		}
		for _, st := range bs.Steps {
			if !stepSeen[st.Name] {
				c.Rows = append(c.Rows, CompareRow{Scenario: ns.Name, Step: st.Name, Only: "base"})
			}
		}
	}
	for _, bs := range base.Scenarios {
		if !seen[bs.Name] {
			c.Rows = append(c.Rows, CompareRow{Scenario: bs.Name, Only: "base"})
		}
	}

	baseChecks := map[string]Check{}
	for _, ch := range base.Checks {
		baseChecks[ch.Name] = ch
	}
	newSeen := map[string]bool{}
	for _, nc := range cur.Checks {
		newSeen[nc.Name] = true
		np := nc.Passed
		cc := CheckChange{Name: nc.Name, NewPass: &np, NewText: checkValue(nc)}
		if bc, ok := baseChecks[nc.Name]; ok {
			bp := bc.Passed
			cc.BasePass, cc.BaseValue = &bp, checkValue(bc)
			switch {
			case bp && !np:
				cc.Status = Regression
				c.Regressions++
			case !bp && np:
				cc.Status = Improvement
				c.Improvements++
			default:
				continue
			}
		}
		c.Checks = append(c.Checks, cc)
	}
	for _, bc := range base.Checks {
		if !newSeen[bc.Name] {
			bp := bc.Passed
			c.Checks = append(c.Checks, CheckChange{Name: bc.Name, BasePass: &bp, BaseValue: checkValue(bc)})
		}
	}
	return c
}

func runRef(r *Report) RunRef {
	return RunRef{Title: title(r), RunID: r.RunID, Started: r.StartedAt.UTC().Format("2006-01-02 15:04"),
		Verdict: r.Verdict, Score: scoreText(r), Valid: !r.Invalid(), NotStarted: r.NotStarted}
}

func (c *Comparison) row(scenario, step string, b, n Stats) CompareRow {
	row := CompareRow{Scenario: scenario, Step: step}
	for _, f := range c.Figures {
		fc := judge(f, figureOfStats(f, b), figureOfStats(f, n), c.Tolerances[f])
		switch fc.Status {
		case Regression:
			c.Regressions++
		case Improvement:
			c.Improvements++
		}
		row.Figures = append(row.Figures, fc)
	}
	return row
}

func figureOfStats(f string, s Stats) *float64 {
	switch f {
	case "rate":
		return val(s.Rate)
	case "error_rate":
		return s.ErrorRate
	}
	if s.Latency == nil {
		return nil
	}
	return val(latencyPick[f](s.Latency))
}

// judge flags a change beyond the tolerance. Higher is better for rate
// only.
func judge(f string, b, n *float64, t Tolerance) FigureChange {
	fc := FigureChange{Figure: f, Base: b, New: n, Tolerance: t.String(f)}
	if b == nil || n == nil {
		return fc
	}
	delta := *n - *b
	if *b != 0 {
		fc.Rel = val(delta / math.Abs(*b))
	}
	worse := delta > 0
	if f == "rate" {
		worse = delta < 0
	}
	mag := math.Abs(delta)
	if mag == 0 {
		return fc
	}
	beyond := true
	if t.Rel >= 0 {
		if *b == 0 {
			beyond = beyond && mag > 0
		} else {
			beyond = beyond && mag > t.Rel*math.Abs(*b)
		}
	}
	if t.Abs >= 0 {
		beyond = beyond && mag > t.Abs
	}
	if !beyond || !t.set() {
		return fc
	}
	if worse {
		fc.Status = Regression
	} else {
		fc.Status = Improvement
	}
	return fc
}

// figureText prints a figure's value.
func figureText(f string, v *float64) string {
	if v == nil {
		return "n/a"
	}
	switch f {
	case "rate":
		return rateText(*v) + "/s"
	case "error_rate":
		return fmt.Sprintf("%.2f%%", *v*100)
	}
	return short(*v)
}

// changeText prints a figure's change: relative for rates and latencies,
// in percentage points for the error rate.
func changeText(fc FigureChange) string {
	if fc.Base == nil || fc.New == nil {
		return "n/a"
	}
	if fc.Figure == "error_rate" {
		d := (*fc.New - *fc.Base) * 100
		if d == 0 {
			return "±0pp"
		}
		return fmt.Sprintf("%+.2fpp", d)
	}
	if fc.Rel == nil {
		if *fc.New == *fc.Base {
			return "±0%"
		}
		return "new"
	}
	r := *fc.Rel * 100
	if math.Abs(r) < 0.05 {
		return "±0%"
	}
	if math.Abs(r) >= 1000 {
		return fmt.Sprintf("%+.0fx", *fc.Rel)
	}
	return fmt.Sprintf("%+.1f%%", r)
}

func rowName(r CompareRow) string {
	if r.Step == "" {
		return r.Scenario
	}
	return r.Scenario + " › " + r.Step
}

// CompareOptions tune the console rendering of a comparison.
type CompareOptions struct {
	Color bool
}

// WriteCompareConsole writes a comparison for a terminal, within 80
// columns for the default figures.
func WriteCompareConsole(w io.Writer, c *Comparison, opts CompareOptions) error {
	p := painter(opts.Color)
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", p.paint("1", "runplan compare · "+c.New.Title))
	for _, side := range []struct {
		name string
		ref  RunRef
	}{{"base", c.Base}, {"new ", c.New}} {
		fmt.Fprintf(&b, "  %s  %s  %s  %s %s\n", side.name, cut(side.ref.RunID, 28), side.ref.Started, side.ref.Verdict, side.ref.Score)
	}
	for _, n := range c.Notes {
		fmt.Fprintln(&b, p.paint("33", "  note: "+n))
	}
	fmt.Fprintln(&b)
	// 19 columns for the name and 12 per figure: 79 for the default five.
	fmt.Fprintf(&b, "%-19s", "CHANGE")
	for _, f := range c.Figures {
		fmt.Fprintf(&b, " %9s  ", strings.ToUpper(strings.ReplaceAll(f, "error_rate", "errors")))
	}
	fmt.Fprintln(&b)
	for _, r := range c.Rows {
		name := r.Scenario
		if r.Step != "" {
			name = "  " + r.Step
		}
		fmt.Fprintf(&b, "%-19s", cut(name, 19))
		if r.Only != "" {
			fmt.Fprintf(&b, " only in the %s report\n", r.Only)
			continue
		}
		for _, fc := range r.Figures {
			cell := fmt.Sprintf(" %9s ", changeText(fc))
			switch fc.Status {
			case Regression:
				cell = p.paint("1;31", cell+"✗")
			case Improvement:
				cell = p.paint("32", cell+"✓")
			default:
				cell += " "
			}
			b.WriteString(cell)
		}
		b.WriteString("\n")
	}
	regs, imps := c.flagged()
	for _, group := range []struct {
		title, mark, color string
		lines              []string
	}{{"REGRESSIONS", "✗", "31", regs}, {"IMPROVEMENTS", "✓", "32", imps}} {
		if len(group.lines) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s\n", p.paint("1", fmt.Sprintf("%s (%d)", group.title, len(group.lines))))
		for _, l := range group.lines {
			fmt.Fprintf(&b, " %s %s\n", p.paint(group.color, group.mark), l)
		}
	}
	fmt.Fprintln(&b)
	if c.Regressions > 0 {
		fmt.Fprintln(&b, p.paint("1;31", fmt.Sprintf("%d regression(s) beyond tolerance", c.Regressions)))
	} else {
		fmt.Fprintln(&b, p.paint("1;32", "no regression beyond tolerance"))
	}
	fmt.Fprintf(&b, "tolerances: %s\n", c.toleranceText())
	_, err := io.WriteString(w, b.String())
	return err
}

func (c *Comparison) toleranceText() string {
	var parts []string
	for _, f := range c.Figures {
		parts = append(parts, f+" "+c.Tolerances[f].String(f))
	}
	return strings.Join(parts, ", ")
}

// flagged lists the regressions and improvements, one line each.
func (c *Comparison) flagged() (regs, imps []string) {
	for _, r := range c.Rows {
		for _, fc := range r.Figures {
			if fc.Status == "" {
				continue
			}
			l := fmt.Sprintf("%s %s: %s → %s (%s, tolerance %s)", rowName(r), fc.Figure, figureText(fc.Figure, fc.Base),
				figureText(fc.Figure, fc.New), changeText(fc), fc.Tolerance)
			if fc.Status == Regression {
				regs = append(regs, l)
			} else {
				imps = append(imps, l)
			}
		}
	}
	for _, ch := range c.Checks {
		var l string
		switch ch.Status {
		case Regression:
			l = fmt.Sprintf("check %s: passed → failed (%s → %s)", ch.Name, ch.BaseValue, ch.NewText)
			regs = append(regs, l)
		case Improvement:
			l = fmt.Sprintf("check %s: failed → passed (%s → %s)", ch.Name, ch.BaseValue, ch.NewText)
			imps = append(imps, l)
		}
	}
	return regs, imps
}

// WriteCompareMarkdown writes a comparison for a pull-request comment.
func WriteCompareMarkdown(w io.Writer, c *Comparison) error {
	var b strings.Builder
	if c.Regressions > 0 {
		fmt.Fprintf(&b, "### ❌ runplan compare · %s: %d regression(s)\n\n", mdEscape(c.New.Title), c.Regressions)
	} else {
		fmt.Fprintf(&b, "### ✅ runplan compare · %s: no regression\n\n", mdEscape(c.New.Title))
	}
	b.WriteString("| | run | started | verdict | score |\n|---|---|---|---|--:|\n")
	fmt.Fprintf(&b, "| base | %s | %s | %s | %s |\n", mdCode(c.Base.RunID), c.Base.Started, strings.ReplaceAll(c.Base.Verdict, "_", " "), c.Base.Score)
	fmt.Fprintf(&b, "| new | %s | %s | %s | %s |\n\n", mdCode(c.New.RunID), c.New.Started, strings.ReplaceAll(c.New.Verdict, "_", " "), c.New.Score)
	for _, n := range c.Notes {
		fmt.Fprintf(&b, "> **Note:** %s\n", mdEscape(n))
	}
	if len(c.Notes) > 0 {
		b.WriteString("\n")
	}
	regs, imps := c.flagged()
	if len(regs) > 0 {
		b.WriteString("**Regressions**\n\n")
		for _, l := range regs {
			b.WriteString("- 🔴 " + mdEscape(l) + "\n")
		}
		b.WriteString("\n")
	}
	if len(imps) > 0 {
		b.WriteString("**Improvements**\n\n")
		for _, l := range imps {
			b.WriteString("- 🟢 " + mdEscape(l) + "\n")
		}
		b.WriteString("\n")
	}
	if len(c.Rows) > 0 && len(c.Figures) > 0 {
		b.WriteString("| scenario / step |")
		align := "|---|"
		for _, f := range c.Figures {
			b.WriteString(" " + strings.ReplaceAll(f, "_", " ") + " |")
			align += "--:|"
		}
		b.WriteString("\n" + align + "\n")
		for _, r := range c.Rows {
			name := "**" + mdEscape(r.Scenario) + "**"
			if r.Step != "" {
				name = "↳ " + mdEscape(r.Step)
			}
			b.WriteString("| " + name + " |")
			if r.Only != "" {
				b.WriteString(" only in the " + r.Only + " report |" + strings.Repeat(" |", len(c.Figures)-1) + "\n")
				continue
			}
			for _, fc := range r.Figures {
				cell := fmt.Sprintf("%s → %s (%s)", figureText(fc.Figure, fc.Base), figureText(fc.Figure, fc.New), changeText(fc))
				switch fc.Status {
				case Regression:
					cell = "🔴 **" + cell + "**"
				case Improvement:
					cell = "🟢 " + cell
				}
				b.WriteString(" " + cell + " |")
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "<sub>tolerances: %s</sub>\n", mdEscape(c.toleranceText()))
	_, err := io.WriteString(w, b.String())
	return err
}
