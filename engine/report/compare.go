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

// faultFigures are judged per fault rather than per scenario: recovery is
// a fault's recovery time (Fault.Recovery), better lower.
var faultFigures = []string{"recovery"}

// durationFigure reports whether a figure is a duration: its absolute
// tolerance takes a unit and is held in milliseconds.
func durationFigure(f string) bool {
	return strings.HasPrefix(f, "p") || f == "max" || f == "recovery"
}

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
		case durationFigure(figure):
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
// p50, p95 and p99 10 %, and a fault's recovery 20 % and 1 s (both: a
// recovery judged over whole intervals moves by an interval between
// identical runs).
func DefaultTolerances() Tolerances {
	return Tolerances{
		"rate":       {Rel: 0.05, Abs: -1},
		"error_rate": {Rel: -1, Abs: 0.01},
		"p50":        {Rel: 0.10, Abs: -1},
		"p95":        {Rel: 0.10, Abs: -1},
		"p99":        {Rel: 0.10, Abs: -1},
		"recovery":   {Rel: 0.20, Abs: 1000},
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
			if !slices.Contains(compareFigures, name) && !slices.Contains(faultFigures, name) {
				return nil, fmt.Errorf("%w %q: unknown figure %q (use %s)", ErrTolerance, item, name,
					strings.Join(append(slices.Clone(compareFigures), faultFigures...), ", "))
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
	if durationFigure(name) {
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

// CheckChange is one check whose outcome or value changed, or that exists
// on one side only. Checks that read the same in both reports are not
// listed.
type CheckChange struct {
	Name string
	// BasePass and NewPass are nil on the side the check is absent from.
	BasePass, NewPass  *bool
	BaseValue, NewText string
	// Only is "base" or "new" for a check of one report only.
	Only string
	// Status is Regression when the check fails in new and did not fail
	// in base (it passed, or did not exist), Improvement when it passes in
	// new and failed in base, "" otherwise (its value moved, or it was
	// removed).
	Status string
}

// FaultChange is one fault of the timeline, base against new: whether the
// affected scenarios recovered, and how long that took. Only faults that
// moved are listed.
type FaultChange struct {
	Name string
	// Only is "base" or "new" for a fault of one report only.
	Only string
	// Applied says whether the fault was applied on each side; a fault
	// not applied on a side (skipped, or its injection failed) is not
	// judged.
	BaseApplied, NewApplied bool
	// Recovered says whether the scenarios recovered after the fault.
	BaseRecovered, NewRecovered bool
	// Recovery is the recovery time in ms, nil when unknown; Change
	// judges it against the "recovery" tolerance.
	Recovery FigureChange
	// Status is Regression when the scenarios recovered in base and not
	// in new, or took longer beyond the tolerance; Improvement the
	// reverse; "" otherwise.
	Status string
	// Note says why the fault was not judged ("not applied in new: ...").
	Note string
}

// RunRef identifies one side of a comparison.
type RunRef struct {
	Title, RunID, Started, Verdict, Score string
	// Valid is false only for a measurement judged invalid; NotStarted
	// runs are not judged.
	Valid, NotStarted, Partial bool
	// Segment is "segment 1/4" for a segment's report, "4 segments merged"
	// for a merged one, "" for a whole run.
	Segment string
}

// trusted reports whether the run is one whose figures can be judged: it
// started, completed, and its measurement is valid.
func (r RunRef) trusted() bool { return r.Valid && !r.NotStarted && !r.Partial }

// untrusted says why a run's figures cannot be judged, "" when they can.
func (r RunRef) untrusted() string {
	switch {
	case r.NotStarted:
		return "did not start"
	case !r.Valid && r.Partial:
		return "is invalid and partial"
	case !r.Valid:
		return "is invalid"
	case r.Partial:
		return "is partial"
	}
	return ""
}

// Comparison is a baseline report against a new one.
//
// Its outcome is one of three: Regressions > 0 (something is worse beyond
// tolerance, a check started failing, a fault stopped recovering, or the
// new run is invalid, partial or did not start where the base was not);
// NotJudged (the new run cannot be trusted, and neither could the base);
// or no regression. It never says "no regression" of a new run that is
// invalid, partial or did not start.
type Comparison struct {
	Base, New  RunRef
	Figures    []string
	Tolerances Tolerances
	Rows       []CompareRow
	Checks     []CheckChange
	Faults     []FaultChange
	// Validity is the change in the runs' trustworthiness, "" when both
	// are valid and complete; ValidityStatus judges it.
	Validity, ValidityStatus string
	// NotJudged says why there is no verdict: the new run cannot be
	// trusted and neither could the base. Empty when judged.
	NotJudged string
	// OtherPlan is set when the reports are of different plans (compared
	// only when asked: see SamePlan).
	OtherPlan    bool
	Notes        []string
	Regressions  int
	Improvements int
}

// PlanKey identifies the plan a report is of, for trend's grouping and
// compare's refusal: the plan's name, or, for a plan without one, its
// file's name (the base of its path). The digest is not part of it: an
// edited plan (a threshold tightened) stays the same plan, so its runs
// stay on one trend (compare notes the edit). A segment's report and a
// merged report carry their plan's PlanInfo as it was, so they are of the
// same plan as a whole run of it.
func PlanKey(r *Report) string {
	if r.Plan.Name != "" {
		return r.Plan.Name
	}
	if r.Plan.Path != "" {
		p := strings.ReplaceAll(r.Plan.Path, "\\", "/")
		return p[strings.LastIndex(p, "/")+1:]
	}
	return "runplan"
}

// ErrOtherPlan is wrapped by SamePlan's error.
var ErrOtherPlan = errors.New("reports of different plans")

// SamePlan returns nil when base and cur are of the same plan (PlanKey),
// and otherwise an error wrapping ErrOtherPlan that names both plans.
func SamePlan(base, cur *Report) error {
	b, n := PlanKey(base), PlanKey(cur)
	if b == n {
		return nil
	}
	return fmt.Errorf("%w: the base is of plan %q, the new report of plan %q", ErrOtherPlan, b, n)
}

// Compare compares new against base, scenario by scenario and step by
// step, judging each figure that has a tolerance, then the checks, the
// faults' recovery and the runs' validity. Reports of different plans
// (SamePlan) are compared all the same, with a note: the caller decides
// whether to ask.
func Compare(base, cur *Report, tol Tolerances) *Comparison {
	c := &Comparison{Base: runRef(base), New: runRef(cur), Tolerances: tol}
	for _, f := range compareFigures {
		if t, ok := tol[f]; ok && t.set() {
			c.Figures = append(c.Figures, f)
		}
	}
	if err := SamePlan(base, cur); err != nil {
		c.OtherPlan = true
		c.Notes = append(c.Notes, fmt.Sprintf("different plans compared (--force): the base is of plan %q, the new report of plan %q", PlanKey(base), PlanKey(cur)))
	} else if base.Plan.Digest != "" && cur.Plan.Digest != "" && base.Plan.Digest != cur.Plan.Digest {
		c.Notes = append(c.Notes, "the plan changed between the runs (their digests do not match): figures may not be comparable")
	}
	if c.Base.Segment != c.New.Segment {
		c.Notes = append(c.Notes, fmt.Sprintf("the base is %s, the new report %s: rates are not comparable", segmentWords(c.Base.Segment), segmentWords(c.New.Segment)))
	}
	if base.NotStarted {
		c.Notes = append(c.Notes, "the base run did not start: it measured nothing to compare")
	}
	c.validity()
	c.compareRows(base, cur)
	c.compareChecks(base, cur)
	c.compareFaults(base, cur)
	return c
}

func segmentWords(s string) string {
	if s == "" {
		return "a whole run"
	}
	return s
}

// validity judges the change in the runs' trustworthiness: a new run that
// is invalid, partial or did not start is a regression from a base that
// was none of these, and leaves the comparison not judged otherwise.
func (c *Comparison) validity() {
	bu, nu := c.Base.untrusted(), c.New.untrusted()
	switch {
	case nu != "" && bu == "":
		c.Validity = "the base run is valid and complete; the new run " + nu
		c.ValidityStatus = Regression
		c.Regressions++
	case nu != "":
		c.Validity = "the new run " + nu + ", and the base run " + bu
		c.NotJudged = c.Validity + ": neither measurement can be trusted"
	case bu != "":
		c.Validity = "the base run " + bu + "; the new run is valid and complete"
		c.ValidityStatus = Improvement
		c.Improvements++
	}
}

func (c *Comparison) compareRows(base, cur *Report) {
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
}

// compareChecks lists the checks whose outcome or value changed, and
// those of one report only, in the new report's order, then the removed
// ones in the base's.
func (c *Comparison) compareChecks(base, cur *Report) {
	baseChecks := map[string]Check{}
	for _, ch := range base.Checks {
		baseChecks[ch.Name] = ch
	}
	newSeen := map[string]bool{}
	for _, nc := range cur.Checks {
		newSeen[nc.Name] = true
		np := nc.Passed
		cc := CheckChange{Name: nc.Name, NewPass: &np, NewText: checkValue(nc)}
		bc, ok := baseChecks[nc.Name]
		if !ok {
			cc.Only = "new"
			if !np {
				cc.Status = Regression
			}
		} else {
			bp := bc.Passed
			cc.BasePass, cc.BaseValue = &bp, checkValue(bc)
			switch {
			case bp && !np:
				cc.Status = Regression
			case !bp && np:
				cc.Status = Improvement
			case cc.BaseValue == cc.NewText:
				continue
			}
		}
		switch cc.Status {
		case Regression:
			c.Regressions++
		case Improvement:
			c.Improvements++
		}
		c.Checks = append(c.Checks, cc)
	}
	for _, bc := range base.Checks {
		if !newSeen[bc.Name] {
			bp := bc.Passed
			c.Checks = append(c.Checks, CheckChange{Name: bc.Name, BasePass: &bp, BaseValue: checkValue(bc), Only: "base"})
		}
	}
}

// compareFaults judges each fault of both reports by its name: a fault
// after which the scenarios recovered in base and not in new is a
// regression, a recovery time longer beyond the "recovery" tolerance too.
func (c *Comparison) compareFaults(base, cur *Report) {
	baseFaults := map[string]Fault{}
	for _, f := range base.Faults {
		baseFaults[f.Name] = f
	}
	tol, judged := c.Tolerances["recovery"]
	newSeen := map[string]bool{}
	for _, nf := range cur.Faults {
		newSeen[nf.Name] = true
		bf, ok := baseFaults[nf.Name]
		if !ok {
			c.Faults = append(c.Faults, FaultChange{Name: nf.Name, Only: "new", NewApplied: nf.Applied, NewRecovered: nf.Recovered,
				Recovery: FigureChange{Figure: "recovery", New: recoveryMs(nf)}})
			continue
		}
		fc := FaultChange{Name: nf.Name, BaseApplied: bf.Applied, NewApplied: nf.Applied,
			BaseRecovered: bf.Recovered, NewRecovered: nf.Recovered,
			Recovery: FigureChange{Figure: "recovery", Base: recoveryMs(bf), New: recoveryMs(nf)}}
		switch {
		case !bf.Applied && !nf.Applied:
			continue
		case !nf.Applied:
			fc.Note = "not applied in the new run: " + notApplied(nf)
		case !bf.Applied:
			fc.Note = "not applied in the base run: " + notApplied(bf)
		case bf.Recovered && !nf.Recovered:
			fc.Status = Regression
		case !bf.Recovered && nf.Recovered:
			fc.Status = Improvement
		case bf.Recovered && nf.Recovered && judged && tol.set():
			fc.Recovery = judge("recovery", fc.Recovery.Base, fc.Recovery.New, tol)
			fc.Status = fc.Recovery.Status
		}
		if fc.Status == "" && fc.Note == "" {
			continue
		}
		switch fc.Status {
		case Regression:
			c.Regressions++
		case Improvement:
			c.Improvements++
		}
		c.Faults = append(c.Faults, fc)
	}
	for _, bf := range base.Faults {
		if !newSeen[bf.Name] {
			c.Faults = append(c.Faults, FaultChange{Name: bf.Name, Only: "base", BaseApplied: bf.Applied, BaseRecovered: bf.Recovered,
				Recovery: FigureChange{Figure: "recovery", Base: recoveryMs(bf)}})
		}
	}
}

func recoveryMs(f Fault) *float64 {
	if f.Recovery == nil {
		return nil
	}
	return val(*f.Recovery * 1000)
}

func notApplied(f Fault) string {
	switch {
	case f.Skipped != "":
		return f.Skipped
	case f.Error != "":
		return f.Error
	}
	return "not applied"
}

func runRef(r *Report) RunRef {
	ref := RunRef{Title: title(r), RunID: r.RunID, Started: r.StartedAt.UTC().Format("2006-01-02 15:04"),
		Verdict: r.Verdict, Score: scoreText(r), Valid: !r.Invalid(), NotStarted: r.NotStarted, Partial: r.Partial}
	switch {
	case r.Segment != nil:
		ref.Segment = fmt.Sprintf("segment %d/%d", r.Segment.Index, r.Segment.Count)
	case r.Segments > 0:
		ref.Segment = fmt.Sprintf("%d segments merged", r.Segments)
	}
	return ref
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
	regs, imps, others := c.flagged()
	for _, group := range []struct {
		title, mark, color string
		lines              []string
	}{{"REGRESSIONS", "✗", "31", regs}, {"IMPROVEMENTS", "✓", "32", imps}, {"OTHER CHANGES", "·", "33", others}} {
		if len(group.lines) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s\n", p.paint("1", fmt.Sprintf("%s (%d)", group.title, len(group.lines))))
		for _, l := range group.lines {
			fmt.Fprintf(&b, " %s %s\n", p.paint(group.color, group.mark), l)
		}
	}
	fmt.Fprintln(&b)
	switch {
	case c.Regressions > 0:
		fmt.Fprintln(&b, p.paint("1;31", fmt.Sprintf("%d regression(s) beyond tolerance", c.Regressions)))
	case c.NotJudged != "":
		fmt.Fprintln(&b, p.paint("1;33", "not judged: "+c.NotJudged))
	default:
		fmt.Fprintln(&b, p.paint("1;32", "no regression beyond tolerance"))
	}
	// Wrapped at the figures' commas to stay within 80 columns.
	line := "tolerances:"
	for i, part := range strings.Split(c.toleranceText(), ", ") {
		sep := " "
		if i > 0 {
			sep = ", "
		}
		if len([]rune(line+sep+part)) > 79 {
			fmt.Fprintln(&b, line+",")
			line, sep = "           ", " "
		}
		line += sep + part
	}
	fmt.Fprintln(&b, line)
	_, err := io.WriteString(w, b.String())
	return err
}

func (c *Comparison) toleranceText() string {
	var parts []string
	for _, f := range append(slices.Clone(c.Figures), faultFigures...) {
		t, ok := c.Tolerances[f]
		if !ok || !t.set() {
			continue
		}
		parts = append(parts, f+" "+t.String(f))
	}
	return strings.Join(parts, ", ")
}

// flagged lists the regressions, the improvements and the other changes
// (a check's value that moved, a check or fault of one report only, a
// fault not applied), one line each.
func (c *Comparison) flagged() (regs, imps, others []string) {
	add := func(status, line string) {
		switch status {
		case Regression:
			regs = append(regs, line)
		case Improvement:
			imps = append(imps, line)
		default:
			others = append(others, line)
		}
	}
	if c.Validity != "" {
		add(c.ValidityStatus, "validity: "+c.Validity)
	}
	for _, r := range c.Rows {
		for _, fc := range r.Figures {
			if fc.Status == "" {
				continue
			}
			add(fc.Status, fmt.Sprintf("%s %s: %s → %s (%s, tolerance %s)", rowName(r), fc.Figure, figureText(fc.Figure, fc.Base),
				figureText(fc.Figure, fc.New), changeText(fc), fc.Tolerance))
		}
	}
	for _, ch := range c.Checks {
		add(ch.Status, "check "+ch.Name+": "+checkChangeText(ch))
	}
	for _, f := range c.Faults {
		add(f.Status, "fault "+f.Name+": "+faultChangeText(f))
	}
	return regs, imps, others
}

func passWord(p bool) string {
	if p {
		return "passed"
	}
	return "failed"
}

func checkChangeText(ch CheckChange) string {
	switch {
	case ch.Only == "new":
		return fmt.Sprintf("added, %s (%s)", passWord(*ch.NewPass), ch.NewText)
	case ch.Only == "base":
		return fmt.Sprintf("removed (%s in the base: %s)", passWord(*ch.BasePass), ch.BaseValue)
	case *ch.BasePass != *ch.NewPass:
		return fmt.Sprintf("%s → %s (%s → %s)", passWord(*ch.BasePass), passWord(*ch.NewPass), ch.BaseValue, ch.NewText)
	}
	return fmt.Sprintf("%s → %s (%s in both)", ch.BaseValue, ch.NewText, passWord(*ch.NewPass))
}

func recoveredText(applied, recovered bool, ms *float64) string {
	switch {
	case !applied:
		return "not applied"
	case !recovered:
		return "did not recover"
	case ms == nil:
		return "recovered"
	}
	return "recovered in " + short(*ms)
}

func faultChangeText(f FaultChange) string {
	switch {
	case f.Only == "new":
		return "new in this run, " + recoveredText(f.NewApplied, f.NewRecovered, f.Recovery.New)
	case f.Only == "base":
		return "not in this run (base: " + recoveredText(f.BaseApplied, f.BaseRecovered, f.Recovery.Base) + ")"
	case f.Note != "":
		return f.Note
	case f.BaseRecovered != f.NewRecovered:
		return recoveredText(true, f.BaseRecovered, f.Recovery.Base) + " → " + recoveredText(true, f.NewRecovered, f.Recovery.New)
	}
	return fmt.Sprintf("recovery %s → %s (%s, tolerance %s)", figureText("recovery", f.Recovery.Base),
		figureText("recovery", f.Recovery.New), changeText(f.Recovery), f.Recovery.Tolerance)
}

// Outcome says how the comparison came out, in a line: the regressions
// counted, not judged (and why), or no regression.
func (c *Comparison) Outcome() string {
	switch {
	case c.Regressions > 0:
		return fmt.Sprintf("%d regression(s)", c.Regressions)
	case c.NotJudged != "":
		return "not judged: " + c.NotJudged
	}
	return "no regression"
}

// WriteCompareMarkdown writes a comparison for a pull-request comment.
func WriteCompareMarkdown(w io.Writer, c *Comparison) error {
	var b strings.Builder
	switch {
	case c.Regressions > 0:
		fmt.Fprintf(&b, "### ❌ runplan compare · %s: %d regression(s)\n\n", mdEscape(c.New.Title), c.Regressions)
	case c.NotJudged != "":
		fmt.Fprintf(&b, "### ⚠️ runplan compare · %s: not judged\n\n", mdEscape(c.New.Title))
	default:
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
	regs, imps, others := c.flagged()
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
	if len(others) > 0 {
		b.WriteString("**Other changes**\n\n")
		for _, l := range others {
			b.WriteString("- " + mdEscape(l) + "\n")
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
	if c.NotJudged != "" && c.Regressions == 0 {
		fmt.Fprintf(&b, "**Not judged:** %s\n\n", mdEscape(c.NotJudged))
	}
	fmt.Fprintf(&b, "<sub>tolerances: %s</sub>\n", mdEscape(c.toleranceText()))
	_, err := io.WriteString(w, b.String())
	return err
}
