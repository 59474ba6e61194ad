package check

import (
	"math"
	"reflect"
	"strings"

	"github.com/expr-lang/expr/ast"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/metrics"
)

// Step metrics in checks. The figures drivers declare (driver.StepMetric)
// are read like the engine's own: `<scenario>.hits`,
// `<scenario>.steps.<step>.rate_limit_wait`. StepEnv keeps them in three
// maps, one per kind, so that each has its type in expressions (a counter
// an int, a ratio a float64, a duration a Duration); a patch rewrites
// `x.<name>` into `x.<map>.<name>` before the figures are wrapped (see
// unknown.go), which still records them under the name the plan wrote.

// The maps' keys in expressions: not names a plan can write (checkNames
// rejects them), only the rewrite makes them.
const (
	countersField  = "__counters"
	ratiosField    = "__ratios"
	durationsField = "__durations"
)

// AddStepMetrics adds a driver's declared step metrics to the names checks
// may use on every scenario and step; a name already added keeps its first
// declaration.
func (n *Names) AddStepMetrics(ms []driver.StepMetric) {
	for _, m := range ms {
		if n.stepMetric(m.Name) == nil {
			n.StepMetrics = append(n.StepMetrics, m)
		}
	}
}

func (n *Names) stepMetric(name string) *driver.StepMetric {
	for i := range n.StepMetrics {
		if n.StepMetrics[i].Name == name {
			return &n.StepMetrics[i]
		}
	}
	return nil
}

func (n *Names) kinds() map[string]driver.MetricKind {
	k := make(map[string]driver.MetricKind, len(n.StepMetrics))
	for _, m := range n.StepMetrics {
		k[m.Name] = m.Kind
	}
	return k
}

// setFigures sets e's declared figures from fs (a step's or the sum of a
// scenario's steps): a name fs lacks is 0 (counters), a ratio over
// nothing, or a duration of 0 once measured. Durations are known when
// the step measured something, like the other counts.
func (e *StepEnv) setFigures(names []driver.StepMetric, fs []metrics.Figure, measured bool) {
	for _, m := range names {
		var f metrics.Figure
		if i := metrics.FigureIndex(fs, m.Name); i >= 0 && fs[i].Kind == m.Kind {
			f = fs[i]
		}
		switch m.Kind {
		case driver.Counter:
			e.Counters[m.Name] = int(f.N)
		case driver.Ratio:
			e.Ratios[m.Name] = f.Ratio()
		case driver.Duration:
			e.Durations[m.Name] = Duration{D: f.Duration(), OK: measured}
		}
	}
}

// zeroFigures is setFigures of nothing measured: counters 0 (unknown,
// see unmeasured), ratios NaN, durations unknown.
func zeroFigures(names []driver.StepMetric) (map[string]int, map[string]float64, map[string]Duration) {
	c, r, d := map[string]int{}, map[string]float64{}, map[string]Duration{}
	for _, m := range names {
		switch m.Kind {
		case driver.Counter:
			c[m.Name] = 0
		case driver.Ratio:
			r[m.Name] = math.NaN()
		case driver.Duration:
			d[m.Name] = Duration{}
		}
	}
	return c, r, d
}

// isCount reports whether name is one of e's declared counters or
// durations: unknown, like count, when e measured nothing.
func (e *StepEnv) isCount(name string) bool {
	if _, ok := e.Counters[name]; ok {
		return true
	}
	_, ok := e.Durations[name]
	return ok
}

var (
	stepEnvType     = reflect.TypeOf(StepEnv{})
	scenarioEnvType = reflect.TypeOf(ScenarioEnv{})
)

// stepMetricPatcher rewrites `x.<name>`, for a declared step metric name
// and x a scenario or step, into `x.<kind's map>.<name>`. It runs after a
// type check, so x carries its type.
type stepMetricPatcher struct {
	kinds map[string]driver.MetricKind
}

func (p stepMetricPatcher) Visit(node *ast.Node) {
	n, ok := (*node).(*ast.MemberNode)
	if !ok {
		return
	}
	prop, ok := n.Property.(*ast.StringNode)
	if !ok {
		return
	}
	kind, ok := p.kinds[prop.Value]
	if !ok {
		return
	}
	t := n.Node.Type()
	if t == nil {
		return
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != stepEnvType && t != scenarioEnvType {
		return
	}
	field := countersField
	switch kind {
	case driver.Ratio:
		field = ratiosField
	case driver.Duration:
		field = durationsField
	}
	ast.Patch(node, &ast.MemberNode{
		Node:     &ast.MemberNode{Node: n.Node, Property: &ast.StringNode{Value: field}},
		Property: &ast.StringNode{Value: prop.Value},
	})
}

// figurePath is the name of the figure n reads, as the plan wrote it:
// without the maps the step metric patch inserted.
func figurePath(n ast.Node) string {
	s := n.String()
	if !strings.Contains(s, ".__") {
		return s
	}
	return strings.NewReplacer("."+countersField+".", ".", "."+ratiosField+".", ".", "."+durationsField+".", ".").Replace(s)
}
