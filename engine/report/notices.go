package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// targetNotices lists every target's notices, each prefixed with its
// target's name, for the report's banner.
func targetNotices(targets []Target) []string {
	var out []string
	for _, t := range targets {
		for _, n := range t.Notices {
			out = append(out, "target "+t.Name+": "+n)
		}
	}
	return out
}

// tainted maps the names a check can start from (a scenario, or a fault
// under "faults") to the notices of the targets behind their figures.
type tainted struct {
	scenarios map[string][]string
	faults    map[string][]string
}

// taintedNames finds the scenarios with a step on a target with notices,
// and the faults on such a target.
func taintedNames(layout Layout, targets []Target) tainted {
	out := tainted{scenarios: map[string][]string{}, faults: map[string][]string{}}
	notes := map[string][]string{}
	for _, t := range targets {
		for _, n := range t.Notices {
			notes[t.Name] = append(notes[t.Name], "target "+t.Name+": "+n)
		}
	}
	if len(notes) == 0 {
		return out
	}
	for _, sc := range layout.Scenarios {
		for _, st := range sc.Steps {
			for _, n := range notes[st.Target] {
				if !slices.Contains(out.scenarios[sc.Name], n) {
					out.scenarios[sc.Name] = append(out.scenarios[sc.Name], n)
				}
			}
		}
	}
	for _, f := range layout.Faults {
		out.faults[f.Name] = append(out.faults[f.Name], notes[f.Target]...)
	}
	return out
}

// latencyNotes returns the notes of a check that reads a latency figure of
// a tainted scenario or fault window: its expression names the scenario (or
// faults.<fault>) and a latency field anywhere. The rule errs on the side of
// warning: worst(sc, s(1)).latency.p99 and sc.steps.x.latency both count.
func latencyNotes(src string, t tainted) []string {
	if len(t.scenarios) == 0 && len(t.faults) == 0 {
		return nil
	}
	tree, err := parser.Parse(src)
	if err != nil {
		return nil
	}
	var v collector
	ast.Walk(&tree.Node, &v)
	if !v.members["latency"] {
		return nil
	}
	var out []string
	add := func(notes []string) {
		for _, n := range notes {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	for name := range v.roots {
		add(t.scenarios[name])
	}
	if v.roots["faults"] {
		for name := range v.members {
			add(t.faults[name])
		}
	}
	slices.Sort(out)
	if len(out) == 0 {
		return nil
	}
	for i, n := range out {
		out[i] = "reads a latency figure: " + n
	}
	return out
}

// collector gathers an expression's identifiers and member names.
type collector struct {
	roots, members map[string]bool
}

func (c *collector) Visit(node *ast.Node) {
	if c.roots == nil {
		c.roots, c.members = map[string]bool{}, map[string]bool{}
	}
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		c.roots[n.Value] = true
	case *ast.MemberNode:
		if s, ok := n.Property.(*ast.StringNode); ok {
			c.members[s.Value] = true
		}
	}
}

// kindText is a target's kind, with the software that serves it when known:
// "managed (redis-server 7.0.15)", "embedded (miniredis)".
func kindText(t Target) string {
	if t.Software == "" {
		return t.Kind
	}
	return t.Kind + " (" + t.Software + ")"
}

// writeNoticesText writes the report's notices, then every check's notes,
// one a line, for plain-text outputs (JUnit's system-err).
func writeNoticesText(b *strings.Builder, r *Report) {
	for _, n := range r.Notices {
		fmt.Fprintf(b, "notice: %s\n", n)
	}
	for _, c := range r.Checks {
		for _, n := range c.Notes {
			fmt.Fprintf(b, "check %s: %s\n", c.Name, n)
		}
	}
}
