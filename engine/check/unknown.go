package check

import (
	"reflect"
	"slices"
	"strings"

	"github.com/expr-lang/expr/ast"
)

// Unknown figures. A figure that was never measured — a latency with no
// sample, a ratio over nothing, a count of a scenario or step that completed
// nothing, a fault window that never happened or held no data — is unknown,
// and a check that reads one is n/a: it does not pass (docs/SCORING.md).
//
// Every figure an expression reads is wrapped, at compile time, in a call
// to figName, which hands the value through unchanged and tells the
// evaluation's recorder (recName in the environment) which figure was read
// and whether it was known. Only figures actually read count: in
// `a.count > 0 || b.errors == 0` with a known positive a.count, b.errors
// is never read. Figures given to known() are not recorded: asking whether
// a figure is known is an answer either way.

const (
	figName   = "__figure"
	knownName = "__known"
	recName   = "__recorder"
)

// recorder collects, for one evaluation of one expression, the unknown
// figures it read. It is used by one goroutine at a time.
type recorder struct {
	env     map[string]any
	missing []string
}

// figure is figName's implementation: it returns its value unchanged and
// records it when unknown.
func figure(p ...any) (any, error) {
	rec, _ := p[0].(*recorder)
	path, _ := p[1].(string)
	v := p[2]
	if rec != nil && (!known(v) || unmeasured(rec.env, path)) && !slices.Contains(rec.missing, path) {
		rec.missing = append(rec.missing, path)
	}
	return v, nil
}

var (
	durationType = reflect.TypeOf(Duration{})
	intType      = reflect.TypeOf(0)
	floatType    = reflect.TypeOf(0.0)
)

// figPatcher wraps every figure an expression reads in figName; it runs
// after a type check, so member nodes carry their types.
type figPatcher struct{}

func (figPatcher) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.MemberNode:
		switch n.Type() {
		case durationType, intType, floatType:
		default:
			return
		}
		ast.Patch(node, &ast.CallNode{
			Callee:    &ast.IdentifierNode{Value: figName},
			Arguments: []ast.Node{&ast.IdentifierNode{Value: recName}, &ast.StringNode{Value: figurePath(n)}, n},
		})
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok || id.Value != "known" || len(n.Arguments) != 1 {
			return
		}
		// known(figure) asks the recorder, which knows about counts;
		// figures deeper inside known() are not recorded.
		if fig, ok := n.Arguments[0].(*ast.CallNode); ok && isFigure(fig) {
			ast.Patch(node, &ast.CallNode{Callee: &ast.IdentifierNode{Value: knownName}, Arguments: fig.Arguments})
			return
		}
		unwrapFigures(&n.Arguments[0])
	}
}

func isFigure(c *ast.CallNode) bool {
	id, ok := c.Callee.(*ast.IdentifierNode)
	return ok && id.Value == figName && len(c.Arguments) == 3
}

// knownFigure is knownName's implementation: known(x) for a figure.
func knownFigure(p ...any) (any, error) {
	rec, _ := p[0].(*recorder)
	path, _ := p[1].(string)
	return known(p[2]) && (rec == nil || !unmeasured(rec.env, path)), nil
}

// unwrapFigures undoes figPatcher under node (the arguments of known()).
func unwrapFigures(node *ast.Node) {
	ast.Walk(node, unwrapper{})
}

type unwrapper struct{}

func (unwrapper) Visit(node *ast.Node) {
	if c, ok := (*node).(*ast.CallNode); ok && isFigure(c) {
		ast.Patch(node, c.Arguments[2])
	}
}

// stepCounts are the figures of a scenario or step that are unknown when it
// completed nothing, beyond those already NaN or unknown durations.
// The declared counters and durations of drivers (StepEnv.isCount) are
// unknown in the same way.
var stepCounts = []string{"count", "errors", "errors_by", "ops", "rate", "ops_rate"}

// outcomeCounts are a scenario's outcome counts: unknown when the scenario
// never started (absent from the summary).
var outcomeCounts = []string{"due", "ok", "failed", "dropped", "interrupted", "late", "sent_late"}

// windowCounts are the figures of a fault window that are unknown when it
// held no data.
var windowCounts = []string{"count", "errors", "errors_by", "rate"}

// unmeasured reports whether the figure at path (a chain of names such as
// sc.steps.lookup.errors or faults.outage.before.count) belongs to
// something that measured nothing. Paths through a function call (worst())
// are judged by their value alone.
func unmeasured(env map[string]any, path string) bool {
	if env == nil || strings.ContainsAny(path, "([") {
		return false
	}
	segs := strings.Split(path, ".")
	if len(segs) < 2 {
		return false
	}
	switch x := env[segs[0]].(type) {
	case *ScenarioEnv:
		if segs[1] == "steps" {
			if len(segs) < 4 {
				return false
			}
			st := x.Steps[segs[2]]
			return st != nil && !st.measured && (slices.Contains(stepCounts, segs[3]) || st.isCount(segs[3]))
		}
		if !x.present && slices.Contains(outcomeCounts, segs[1]) {
			return true
		}
		return !x.measured && (slices.Contains(stepCounts, segs[1]) || x.isCount(segs[1]))
	case map[string]*FaultEnv:
		if segs[0] != "faults" || len(segs) < 3 {
			return false
		}
		f := x[segs[1]]
		if f == nil {
			return false
		}
		var w *FaultWindowEnv
		switch segs[2] {
		case "errors":
			return !f.Applied
		case "before":
			w = f.Before
		case "during":
			w = f.During
		case "after":
			w = f.After
		default:
			return false
		}
		return len(segs) >= 4 && (w == nil || !w.measured) && slices.Contains(windowCounts, segs[3])
	}
	return false
}
