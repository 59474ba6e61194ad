package check

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/plan"
	"github.com/runplan/runplan/engine/tmpl"
)

// Program is a plan's compiled checks and recommendations. It holds no
// engine/plan value: Compile copies what evaluation needs (the names the
// plan defines, its steps' drivers, its checks' weights and bounds, its
// score bands) into the Program, which is never changed afterwards, so
// that Evaluate may run from several goroutines at once and the plan may
// be dropped.
type Program struct {
	layout *layout
	names  Names
	checks []*compiled
	recs   []*compiledRec
}

// compiled is a check as evaluation needs it: the plan's plan.Check
// copied, less what only validation reads (positions, nodes).
type compiled struct {
	name     string
	expr     string
	weight   float64
	critical bool
	// good and bad, when hasBounds, give partial credit (see plan.Check).
	good, bad float64
	hasBounds bool
	prog      *vm.Program
	// value is the left side of a top-level comparison, reported as the
	// check's actual value; nil when the expression is not a comparison.
	value *vm.Program
}

type compiledRec struct {
	when *vm.Program
	say  []sayPart
}

type sayPart struct {
	text string
	prog *vm.Program
}

func options(env map[string]any, kinds map[string]driver.MetricKind, extra ...expr.Option) []expr.Option {
	return append([]expr.Option{
		expr.Env(env),
		// Before figPatcher, which wraps the rewritten figures.
		expr.Patch(stepMetricPatcher{kinds: kinds}),
		expr.Function("ms", func(p ...any) (any, error) { return durOf(p[0], 1e6), nil }, new(func(float64) Duration)),
		expr.Function("s", func(p ...any) (any, error) { return durOf(p[0], 1e9), nil }, new(func(float64) Duration)),
		expr.Function("us", func(p ...any) (any, error) { return durOf(p[0], 1e3), nil }, new(func(float64) Duration)),
		expr.Function("in_ms", func(p ...any) (any, error) { return inUnit(p[0].(Duration), 1e6), nil }, new(func(Duration) float64)),
		expr.Function("in_s", func(p ...any) (any, error) { return inUnit(p[0].(Duration), 1e9), nil }, new(func(Duration) float64)),
		expr.Function("pct", func(p ...any) (any, error) { return pct(p[0].(float64)), nil }, new(func(float64) string)),
		expr.Function("known", func(p ...any) (any, error) { return known(p[0]), nil }, new(func(any) bool)),
		expr.Function("dur_lt", cmpDur(func(a, b Duration) bool { return a.D < b.D }), new(func(Duration, Duration) bool)),
		expr.Function("dur_le", cmpDur(func(a, b Duration) bool { return a.D <= b.D }), new(func(Duration, Duration) bool)),
		expr.Function("dur_gt", cmpDur(func(a, b Duration) bool { return a.D > b.D }), new(func(Duration, Duration) bool)),
		expr.Function("dur_ge", cmpDur(func(a, b Duration) bool { return a.D >= b.D }), new(func(Duration, Duration) bool)),
		expr.Function("dur_eq", cmpDur(func(a, b Duration) bool { return a.D == b.D }), new(func(Duration, Duration) bool)),
		expr.Function("dur_ne", func(p ...any) (any, error) {
			return !(p[0].(Duration).OK && p[1].(Duration).OK && p[0].(Duration).D == p[1].(Duration).D), nil
		}, new(func(Duration, Duration) bool)),
		expr.Function("dur_add", func(p ...any) (any, error) {
			a, b := p[0].(Duration), p[1].(Duration)
			return Duration{D: a.D + b.D, OK: a.OK && b.OK}, nil
		}, new(func(Duration, Duration) Duration)),
		expr.Function("dur_sub", func(p ...any) (any, error) {
			a, b := p[0].(Duration), p[1].(Duration)
			return Duration{D: a.D - b.D, OK: a.OK && b.OK}, nil
		}, new(func(Duration, Duration) Duration)),
		expr.Function("worst", worstFn,
			new(func(*StepEnv, Duration) *WindowEnv),
			new(func(*ScenarioEnv, Duration) *WindowEnv)),
		expr.Function(figName, figure,
			new(func(*recorder, string, int) int),
			new(func(*recorder, string, float64) float64),
			new(func(*recorder, string, Duration) Duration)),
		expr.Function(knownName, knownFigure,
			new(func(*recorder, string, int) bool),
			new(func(*recorder, string, float64) bool),
			new(func(*recorder, string, Duration) bool)),
		expr.Patch(figPatcher{}),
		expr.Operator("<", "dur_lt"),
		expr.Operator("<=", "dur_le"),
		expr.Operator(">", "dur_gt"),
		expr.Operator(">=", "dur_ge"),
		expr.Operator("==", "dur_eq"),
		expr.Operator("!=", "dur_ne"),
		expr.Operator("+", "dur_add"),
		expr.Operator("-", "dur_sub"),
	}, extra...)
}

func durOf(v any, unit float64) Duration {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case int:
		f = float64(x)
	}
	return Duration{D: timeDur(f * unit), OK: !math.IsNaN(f)}
}

func inUnit(d Duration, unit float64) float64 {
	if !d.OK {
		return math.NaN()
	}
	return float64(d.D) / unit
}

func cmpDur(f func(a, b Duration) bool) func(p ...any) (any, error) {
	return func(p ...any) (any, error) {
		a, b := p[0].(Duration), p[1].(Duration)
		return a.OK && b.OK && f(a, b), nil
	}
}

func pct(f float64) string {
	if math.IsNaN(f) {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%%", f*100)
}

func known(v any) bool {
	switch x := v.(type) {
	case Duration:
		return x.OK
	case float64:
		return !math.IsNaN(x)
	}
	return v != nil
}

// Compile compiles every check and recommendation of p against the names p
// defines, runs each once on a zero environment to catch type errors that
// expr only finds at run time, and returns every problem found.
func Compile(p *plan.Plan, names Names) (*Program, diag.Diagnostics) {
	l := layoutOf(p)
	c := &compiler{plan: p, env: zeroEnvOf(l, names), shape: shapeOf(l, names), names: names, kinds: names.kinds()}
	prog := &Program{layout: l, names: names}
	for _, ck := range p.Checks {
		if ck.Invalid {
			continue
		}
		cc := c.check(ck)
		if cc != nil {
			prog.checks = append(prog.checks, cc)
		}
	}
	for _, r := range p.Recommendations {
		if r.Invalid {
			continue
		}
		if cr := c.rec(r); cr != nil {
			prog.recs = append(prog.recs, cr)
		}
	}
	return prog, c.diags
}

type compiler struct {
	plan  *plan.Plan
	env   map[string]any
	shape *shape
	names Names
	kinds map[string]driver.MetricKind
	diags diag.Diagnostics
}

// ratioExamples names ratios for a hint: the first ratio the plan's
// drivers declare, and success_rate.
func (c *compiler) ratioExamples() string {
	for _, m := range c.names.StepMetrics {
		if m.Kind == driver.Ratio {
			return m.Name + " and success_rate"
		}
	}
	return "success_rate"
}

// compileExpr checks names, then compiles src; it reports problems located
// at n and returns nil on failure.
func (c *compiler) compileExpr(n *yaml.Node, what, src string, asBool bool) *vm.Program {
	// 90% parses (as a modulo missing its right side) or fails far from
	// the mistake; say what was meant first.
	percent := false
	for _, m := range percentRE.FindAllStringSubmatchIndex(src, -1) {
		if strings.Count(src[:m[2]], `"`)%2 != 0 || strings.Count(src[:m[2]], "'")%2 != 0 {
			continue // inside a string
		}
		lit := src[m[2]:m[3]]
		c.errOff(n, m[2], fmt.Sprintf("%s: %s%% is not a number: write %s (ratios such as %s are fractions from 0 to 1)", what, lit, fraction(lit), c.ratioExamples()))
		percent = true
	}
	if percent {
		return nil
	}
	tree, err := parser.Parse(src)
	if err != nil {
		c.exprErr(n, what, src, err)
		return nil
	}
	if !c.checkNames(n, what, src, tree.Node) {
		return nil
	}
	var extra []expr.Option
	if asBool {
		extra = append(extra, expr.AsBool())
	}
	prog, err := expr.Compile(src, options(c.env, c.kinds, extra...)...)
	if err != nil {
		c.exprErr(n, what, src, err)
		return nil
	}
	if _, err := expr.Run(prog, c.env); err != nil {
		c.exprErr(n, what, src, err)
		return nil
	}
	return prog
}

func (c *compiler) exprErr(n *yaml.Node, what, src string, err error) {
	off, msg := tmpl.ExprError(src, err)
	c.errOff(n, off, what+": "+friendly(msg))
}

// errOff reports a problem at byte offset off of the expression held by n.
func (c *compiler) errOff(n *yaml.Node, off int, msg string) {
	if n == nil {
		c.diags = append(c.diags, diag.New(c.plan.File, diag.Pos{}, msg))
		return
	}
	line, col := plan.OffsetPos(n, off)
	c.diags = append(c.diags, diag.At(c.plan.File, n, line, col, msg)) // in the fragment n came from, if any
}

// percentRE finds a percentage written as in prose: a number and % with
// nothing to divide by after it (x % 2 is a modulo).
var percentRE = regexp.MustCompile(`(?:^|[^\w.])(\d+(?:\.\d+)?)\s*%\s*(?:$|\)|\]|,|&&|\|\||\band\b|\bor\b)`)

// fraction turns a percentage's number into the fraction it means, by
// moving the decimal point (90 is 0.9, 99.9 is 0.999: no float rounding).
func fraction(lit string) string {
	whole, frac, _ := strings.Cut(lit, ".")
	whole = strings.Repeat("0", max(0, 3-len(whole))) + whole
	out := strings.TrimLeft(whole[:len(whole)-2], "0")
	if out == "" {
		out = "0"
	}
	if rest := strings.TrimRight(whole[len(whole)-2:]+frac, "0"); rest != "" {
		out += "." + rest
	}
	return out
}

// friendly adds advice to expr's messages for plan authors.
func friendly(msg string) string {
	if strings.HasPrefix(msg, `unexpected token Operator("=")`) {
		return "a single = does not compare: write == (or !=, <=, >=)"
	}
	if strings.Contains(msg, "mismatched types duration and") || strings.Contains(msg, "and duration)") {
		msg += ": compare latencies with durations, like ms(100) or s(2)"
	}
	if strings.HasPrefix(msg, "expected bool, but got ") {
		got := strings.TrimPrefix(msg, "expected bool, but got ")
		msg = "must be a condition (true or false), but this is a " + got + "; compare it, like `x > 0.9` or `p99 < ms(100)`"
	}
	return msg
}

func (c *compiler) check(ck *plan.Check) *compiled {
	what := fmt.Sprintf("check %s", ck.Name)
	prog := c.compileExpr(ck.ExprNode, what, ck.Expr, true)
	if prog == nil {
		return nil
	}
	cc := &compiled{name: ck.Name, expr: ck.Expr, weight: ck.Weight, critical: ck.Critical,
		good: ck.Good, bad: ck.Bad, hasBounds: ck.HasBounds, prog: prog}
	tree, _ := parser.Parse(ck.Expr)
	if b, ok := tree.Node.(*ast.BinaryNode); ok {
		switch b.Operator {
		case "<", "<=", ">", ">=", "==", "!=":
			if v, err := expr.Compile(b.Left.String(), options(c.env, c.kinds)...); err == nil {
				cc.value = v
			}
		}
	}
	if ck.HasBounds {
		if cc.value == nil {
			c.errOff(ck.BoundsNode, 0, fmt.Sprintf("check %s: partial credit (good, bad) scores the left side of a comparison; write the check as a comparison like `x.success_rate > 0.9`", ck.Name))
			return nil
		}
		v, _ := expr.Run(cc.value, c.env)
		_, isDur := v.(Duration)
		switch {
		case isDur && !ck.BoundsAreDurations:
			c.errOff(ck.BoundsNode, 0, fmt.Sprintf("check %s: the value is a duration, so good and bad must be durations like 50ms", ck.Name))
			return nil
		case !isDur && ck.BoundsAreDurations:
			c.errOff(ck.BoundsNode, 0, fmt.Sprintf("check %s: the value is a number, so good and bad must be numbers", ck.Name))
			return nil
		}
	}
	return cc
}

func (c *compiler) rec(r *plan.Recommendation) *compiledRec {
	cr := &compiledRec{}
	cr.when = c.compileExpr(r.WhenNode, "recommendation when", r.When, true)
	pieces, err := tmpl.Split(r.Say)
	if err != nil {
		var te *tmpl.Error
		off := 0
		if errors.As(err, &te) {
			off = te.Offset
		}
		c.errOff(r.SayNode, off, "recommendation say: "+err.Error())
		return nil
	}
	ok := cr.when != nil
	for _, p := range pieces {
		if !p.IsExpr {
			cr.say = append(cr.say, sayPart{text: p.Text})
			continue
		}
		// Report positions inside the template relative to the whole string.
		// Pad the expression to its place in the string so that positions
		// inside it land in the right column.
		prog := c.compileExpr(r.SayNode, "recommendation say", strings.Repeat(" ", p.Offset)+p.Text, false)
		if prog == nil {
			ok = false
			continue
		}
		cr.say = append(cr.say, sayPart{prog: prog})
	}
	if !ok {
		return nil
	}
	return cr
}

// shape describes the names an expression may use.
type shape struct {
	fields map[string]*shape
	// open shapes accept any key (errors_by.<class>).
	open bool
}

func leafShape() *shape { return &shape{} }

func statShape(withSteps map[string]*shape, stepMetrics []driver.StepMetric) *shape {
	lat := &shape{fields: map[string]*shape{}}
	for _, f := range []string{"min", "mean", "p50", "p90", "p95", "p99", "p999", "max"} {
		lat.fields[f] = leafShape()
	}
	s := &shape{fields: map[string]*shape{
		"latency": lat, "service_latency": lat, "response_latency": lat, "count": leafShape(), "errors": leafShape(), "errors_by": {open: true},
		"success_rate": leafShape(), "error_rate": leafShape(), "rate": leafShape(), "ops": leafShape(), "ops_rate": leafShape(),
	}}
	for _, m := range stepMetrics {
		s.fields[m.Name] = leafShape()
	}
	if withSteps != nil {
		s.fields["steps"] = &shape{fields: withSteps}
		for _, f := range []string{"due", "ok", "failed", "dropped", "interrupted", "late", "sent_late", "arrival_rate", "planned_rate"} {
			s.fields[f] = leafShape()
		}
	}
	return s
}

func shapeOf(l *layout, names Names) *shape {
	lat := statShape(nil, nil).fields["latency"]
	top := &shape{fields: map[string]*shape{
		"run": {fields: map[string]*shape{"duration": leafShape(), "partial": leafShape(), "valid": leafShape(),
			"generator": {fields: map[string]*shape{"lag": lat, "cpu": leafShape(), "scheduled": leafShape(),
				"late": leafShape(), "dropped": leafShape()}}}},
	}}
	faults := &shape{fields: map[string]*shape{}}
	win := &shape{fields: map[string]*shape{"latency": statShape(nil, nil).fields["latency"], "error_rate": leafShape(),
		"success_rate": leafShape(), "rate": leafShape(), "count": leafShape(), "errors": leafShape(), "errors_by": {open: true},
		"success_latency": statShape(nil, nil).fields["latency"]}}
	for _, f := range l.faults {
		faults.fields[f] = &shape{fields: map[string]*shape{"applied": leafShape(), "recovery": leafShape(),
			"recovered": leafShape(), "errors_stopped": leafShape(), "latency_returned": leafShape(), "errors": leafShape(),
			"before": win, "during": win, "after": win}}
	}
	top.fields["faults"] = faults
	for target, metrics := range names.Server {
		server := &shape{fields: map[string]*shape{}}
		for _, m := range metrics {
			server.fields[m] = leafShape()
		}
		top.fields[target] = &shape{fields: map[string]*shape{"server": server}}
	}
	for _, s := range l.scenarios {
		steps := map[string]*shape{}
		for _, st := range s.steps {
			steps[st] = statShape(nil, names.StepMetrics)
		}
		top.fields[s.name] = statShape(steps, names.StepMetrics)
	}
	return top
}

func (s *shape) names() []string {
	out := make([]string, 0, len(s.fields))
	for k := range s.fields {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkNames walks the tree and reports every metric name the plan does not
// define, with a suggestion; it returns false when it found any.
func (c *compiler) checkNames(n *yaml.Node, what, src string, root ast.Node) bool {
	ok := true
	var walk func(node ast.Node)
	walk = func(node ast.Node) {
		switch x := node.(type) {
		case *ast.MemberNode, *ast.IdentifierNode:
			if segs, locs, isChain := chain(node); isChain {
				if !c.resolve(n, what, src, segs, locs) {
					ok = false
				}
				return
			}
			if m, isMember := x.(*ast.MemberNode); isMember {
				walk(m.Node)
				walk(m.Property)
			}
		case *ast.BinaryNode:
			walk(x.Left)
			walk(x.Right)
		case *ast.UnaryNode:
			walk(x.Node)
		case *ast.CallNode:
			for _, a := range x.Arguments {
				walk(a)
			}
		case *ast.BuiltinNode:
			for _, a := range x.Arguments {
				walk(a)
			}
		case *ast.ConditionalNode:
			walk(x.Cond)
			walk(x.Exp1)
			walk(x.Exp2)
		case *ast.ArrayNode:
			for _, a := range x.Nodes {
				walk(a)
			}
		case *ast.ChainNode:
			walk(x.Node)
		}
	}
	walk(root)
	return ok
}

// chain flattens a.b.c (identifier plus constant member names) into its
// segments and their source offsets.
func chain(node ast.Node) ([]string, []int, bool) {
	switch x := node.(type) {
	case *ast.IdentifierNode:
		return []string{x.Value}, []int{x.Location().From}, true
	case *ast.MemberNode:
		prop, ok := x.Property.(*ast.StringNode)
		if !ok {
			return nil, nil, false
		}
		segs, locs, ok := chain(x.Node)
		if !ok {
			return nil, nil, false
		}
		return append(segs, prop.Value), append(locs, x.Property.Location().From), true
	}
	return nil, nil, false
}

func (c *compiler) resolve(n *yaml.Node, what, src string, segs []string, locs []int) bool {
	cur := c.shape
	for i, seg := range segs {
		if cur.open {
			return true
		}
		if cur.fields == nil {
			// A leaf used with a member: let expr report the type error.
			return true
		}
		next := cur.fields[seg]
		if next == nil {
			if i == 0 && len(segs) == 1 {
				// A lone name may be a function or builtin: expr judges it.
				return true
			}
			path := strings.Join(segs[:i+1], ".")
			msg := fmt.Sprintf("%s: unknown name %s", what, path)
			if s := diag.Suggest(seg, cur.names()); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(append(segs[:i:i], s), "."))
			} else if len(cur.fields) == 0 && i > 0 {
				msg += fmt.Sprintf(" (%s has none)", strings.Join(segs[:i], "."))
			} else if len(cur.fields) <= 12 {
				msg += " (known: " + strings.Join(cur.names(), ", ") + ")"
			}
			c.errOff(n, runeToByte(src, locs[i]), msg)
			return false
		}
		cur = next
	}
	return true
}

// runeToByte converts a rune offset in src (expr's locations) to bytes.
func runeToByte(src string, runes int) int {
	off := 0
	for i := 0; i < runes && off < len(src); i++ {
		_, size := utf8.DecodeRuneInString(src[off:])
		off += size
	}
	return off
}
