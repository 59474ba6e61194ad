package explain

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// Words says a check's (or a recommendation's) expression in plain words:
// `strategy_cache.hit_ratio > 0.90` is "strategy_cache: hit ratio above
// 90 %". It returns "" for an expression it cannot say more plainly than
// it is written (anything but comparisons of figures with numbers and
// durations, joined by and/or/not).
func Words(expr string) string {
	tree, err := parser.Parse(expr)
	if err != nil {
		return ""
	}
	s, ok := say(tree.Node)
	if !ok {
		return ""
	}
	return s
}

var comparisons = map[string]string{
	">": "above", ">=": "at least", "<": "below", "<=": "at most", "==": "equal to", "!=": "not equal to",
}

func say(n ast.Node) (string, bool) {
	switch x := n.(type) {
	case *ast.BinaryNode:
		switch x.Operator {
		case "&&", "and", "||", "or":
			l, ok1 := say(x.Left)
			r, ok2 := say(x.Right)
			if !ok1 || !ok2 {
				return "", false
			}
			join := " and "
			if x.Operator == "||" || x.Operator == "or" {
				join = " or "
			}
			return l + join + r, true
		}
		word, ok := comparisons[x.Operator]
		if !ok {
			return "", false
		}
		path, ok := pathOf(x.Left)
		if !ok {
			return "", false
		}
		v, ok := value(x.Right, isShare(path))
		if other, isPath := pathOf(x.Right); !ok && isPath {
			v, ok = figure(other), true
		}
		if !ok {
			return "", false
		}
		return figure(path) + " " + word + " " + v, true
	case *ast.UnaryNode:
		if x.Operator != "!" && x.Operator != "not" {
			return "", false
		}
		s, ok := say(x.Node)
		if !ok {
			return "", false
		}
		return "not (" + s + ")", true
	case *ast.MemberNode, *ast.IdentifierNode:
		path, ok := pathOf(n)
		if !ok {
			return "", false
		}
		if len(path) == 3 && path[0] == "faults" && path[2] == "applied" {
			return "fault " + path[1] + " was applied", true
		}
		return figure(path), true
	}
	return "", false
}

// pathOf is the dotted name n reads (a.b.c), if it is one.
func pathOf(n ast.Node) ([]string, bool) {
	switch x := n.(type) {
	case *ast.IdentifierNode:
		return []string{x.Value}, true
	case *ast.MemberNode:
		base, ok := pathOf(x.Node)
		if !ok {
			return nil, false
		}
		s, ok := x.Property.(*ast.StringNode)
		if !ok {
			return nil, false
		}
		return append(base, s.Value), true
	}
	return nil, false
}

// isShare reports whether the figure at path is a share of 0..1 (a rate or
// a ratio), said in per cent.
func isShare(path []string) bool {
	last := path[len(path)-1]
	return strings.HasSuffix(last, "_rate") || strings.HasSuffix(last, "_ratio") || last == "ratio"
}

// value says a number or a duration (ms(100), s(2)).
func value(n ast.Node, share bool) (string, bool) {
	switch x := n.(type) {
	case *ast.IntegerNode:
		if share && (x.Value == 0 || x.Value == 1) {
			return strconv.Itoa(x.Value*100) + " %", true
		}
		return strconv.Itoa(x.Value), true
	case *ast.FloatNode:
		if share && x.Value >= 0 && x.Value <= 1 {
			return strconv.FormatFloat(math.Round(x.Value*1e8)/1e6, 'f', -1, 64) + " %", true
		}
		return strconv.FormatFloat(x.Value, 'f', -1, 64), true
	case *ast.BoolNode:
		return strconv.FormatBool(x.Value), true
	case *ast.CallNode:
		id, ok := x.Callee.(*ast.IdentifierNode)
		if !ok || len(x.Arguments) != 1 {
			return "", false
		}
		unit, ok := map[string]string{"ns": "ns", "us": "µs", "ms": "ms", "s": "s", "m": "min", "h": "h"}[id.Value]
		if !ok {
			return "", false
		}
		v, ok := value(x.Arguments[0], false)
		if !ok {
			return "", false
		}
		return v + " " + unit, true
	}
	return "", false
}

// figure says which figure path reads: `faults.slow_cache.during.latency.p99`
// is "during fault slow_cache: p99 latency".
func figure(path []string) string {
	switch {
	case len(path) >= 3 && path[0] == "faults":
		switch path[2] {
		case "during", "after", "before":
			return path[2] + " fault " + path[1] + ": " + metric(path[3:])
		case "recovery":
			return "recovery time after fault " + path[1]
		}
		return "fault " + path[1] + " " + metric(path[2:])
	case len(path) >= 4 && path[1] == "steps":
		return path[0] + " step " + path[2] + ": " + metric(path[3:])
	case len(path) >= 3 && path[1] == "server":
		return path[0] + " (server): " + metric(path[2:])
	case len(path) >= 2:
		return path[0] + ": " + metric(path[1:])
	}
	return metric(path)
}

// metric says a figure's own name: latency.p99 is "p99 latency",
// errors_by.timeout "timeout errors", success_rate "success rate".
func metric(path []string) string {
	if len(path) == 0 {
		return "(all)"
	}
	switch {
	case len(path) == 2 && strings.HasSuffix(path[0], "latency"):
		return fmt.Sprintf("%s %s", path[1], strings.ReplaceAll(path[0], "_", " "))
	case len(path) == 2 && path[0] == "errors_by":
		return path[1] + " errors"
	}
	return strings.ReplaceAll(strings.Join(path, " "), "_", " ")
}
