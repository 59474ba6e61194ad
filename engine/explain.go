package engine

import (
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/explain"
	"github.com/runplan/runplan/engine/plan"
	"github.com/runplan/runplan/engine/redact"
	"github.com/runplan/runplan/schema"
)

// Explain loads the plan at path and prepares it as Load does, without
// opening any target, and returns what it does for a reviewer (`runplan
// explain`): its targets and their kinds, each scenario's load over time
// and steps, the fault timeline, the checks and recommendations. The
// explanation is nil when the plan has errors; the diagnostics list every
// problem and warning, sorted.
func Explain(path string, lo plan.Options, opts Options) (*explain.Plan, diag.Diagnostics) {
	opts.RunID = "explain"
	p, prog, diags := loadPlan(path, lo, opts)
	if p == nil || prog == nil {
		return nil, diags
	}
	return explainPlan(p, prog), diags
}

// explainPlan builds the explanation of p from p and its program prog.
func explainPlan(p *plan.Plan, prog *Program) *explain.Plan {
	ex := &explain.Plan{Name: p.Name, Description: p.Description, Path: p.File, Seed: p.Seed, HasSeed: p.HasSeed,
		Interval:  prog.interval,
		Readiness: explain.Readiness{Ready: p.Readiness.Ready, Degraded: p.Readiness.Degraded},
		Validity:  explain.Validity{LagP99: p.Validity.LagP99, Late: p.Validity.Late}}
	for _, t := range prog.targets {
		et := explain.Target{Name: t.name, Driver: t.driver, Kind: driver.KindExternal}
		if t.url != "" {
			et.Addr = redact.MaskURL(t.url)
		} else {
			et.Kind = driver.KindEmbedded
		}
		if kp, ok := t.config.(driver.KindPlanner); ok {
			et.Kind, et.Note = kp.PlannedKind()
		}
		ex.Targets = append(ex.Targets, et)
	}
	for _, d := range p.Data {
		ex.Data = append(ex.Data, explain.DataSource{Name: d.Name, File: d.File, Format: string(d.Format), Pick: string(d.Pick),
			Cursor: string(d.Cursor), Exhausted: string(d.Exhausted), Columns: d.Columns, Rows: d.Rows})
	}
	for i, s := range p.Scenarios {
		ex.Scenarios = append(ex.Scenarios, explainScenario(p, s, prog.scenarios[i]))
	}
	for _, f := range prog.faults {
		ef := explain.Fault{Name: f.Name, Target: f.Target, Kind: f.Kind, Describe: f.Describe(), At: f.At, For: f.For,
			Probability: f.Probability, Scenarios: overlapping(ex.Scenarios, f.Scenarios, f.At, f.For)}
		for _, pf := range p.Faults {
			if pf.Name == f.Name {
				ef.Description = pf.Description
			}
		}
		ex.Faults = append(ex.Faults, ef)
	}
	for _, c := range p.Checks {
		ec := explain.Check{Name: c.Name, Description: c.Description, Expr: c.Expr, Words: explain.Words(c.Expr),
			Weight: c.Weight, Critical: c.Critical, HasBounds: c.HasBounds}
		if c.HasBounds {
			ec.Good, ec.Bad = bound(c.Good, c.BoundsAreDurations), bound(c.Bad, c.BoundsAreDurations)
		}
		ex.Checks = append(ex.Checks, ec)
	}
	for _, r := range p.Recommendations {
		ex.Recommendations = append(ex.Recommendations, explain.Recommendation{When: r.When, Words: explain.Words(r.When), Say: r.Say})
	}
	return ex
}

func bound(v float64, isDuration bool) string {
	if isDuration {
		return schema.FormatDuration(time.Duration(v))
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// explainScenario is scenario s of p, as prepared in ps.
func explainScenario(p *plan.Plan, s *plan.Scenario, ps *preparedScenario) explain.Scenario {
	l := s.Load
	es := explain.Scenario{Name: s.Name, Description: s.Description, Model: explain.Model(l.Model), Start: s.Start,
		Duration: l.Duration, Warmup: l.Warmup, VUs: l.VUs, MaxVUs: ps.vus, GracefulStop: l.GracefulStop,
		Mix: s.Mix, Vars: s.VarNames, Validity: explain.Validity{LagP99: s.Validity.LagP99, Late: s.Validity.Late}}
	if l.Model == plan.Open {
		es.Late = string(p.LatePolicy(s))
	}
	switch {
	case l.Iterations > 0:
		es.Iterations = l.Iterations
	case l.PerVUIterations > 0:
		es.Iterations, es.PerVU = l.PerVUIterations, true
	}
	start := float64(l.VUs)
	if l.Model == plan.Open {
		start = l.Rate
	}
	switch {
	case l.Burst != nil:
		es.Burst = &explain.Burst{Size: l.Burst.Size, Every: l.Burst.Every, Count: l.Burst.Count}
		if es.Duration <= 0 {
			es.Duration = time.Duration(max(l.Burst.Count-1, 0))*l.Burst.Every + 1
		}
	case len(l.Stages) > 0:
		es.Shape = []explain.Point{{At: 0, Value: start}}
		var at time.Duration
		for _, st := range l.Stages {
			at += st.Duration
			es.Shape = append(es.Shape, explain.Point{At: at, Value: st.Target})
		}
	case l.Duration > 0:
		es.Shape = []explain.Point{{At: 0, Value: start}, {At: l.Duration, Value: start}}
	}
	for _, st := range s.Steps {
		e := explain.Step{Name: st.Name, Kind: st.Kind, Target: st.Target, Weight: st.Weight}
		if st.Kind == "sleep" {
			e.Detail = "sleep " + schema.FormatDuration(st.Sleep)
		} else {
			e.Detail = oneLine(st.Node)
			if st.Expect != nil {
				e.Detail += "; expect " + oneLine(st.Expect)
			}
		}
		es.Steps = append(es.Steps, e)
	}
	return es
}

// maxDetail bounds a step's line in an explanation.
const maxDetail = 160

// oneLine writes n as flow YAML on one line, shortened to maxDetail runes.
func oneLine(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	b, err := yaml.Marshal(flow(n, 0))
	if err != nil {
		return ""
	}
	s := strings.Join(strings.Fields(strings.TrimSpace(string(b))), " ")
	if r := []rune(s); len(r) > maxDetail {
		s = string(r[:maxDetail-1]) + "…"
	}
	return s
}

// flow copies n in flow style, aliases resolved, without comments.
func flow(n *yaml.Node, depth int) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil && depth < 64 {
		return flow(n.Alias, depth+1)
	}
	c := &yaml.Node{Kind: n.Kind, Tag: n.Tag, Value: n.Value, Style: n.Style}
	switch n.Kind {
	case yaml.MappingNode, yaml.SequenceNode:
		c.Style = yaml.FlowStyle
		if depth < 64 {
			for _, x := range n.Content {
				c.Content = append(c.Content, flow(x, depth+1))
			}
		}
	case yaml.ScalarNode:
		if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			c.Style = yaml.DoubleQuotedStyle
		}
	}
	return c
}

// overlapping keeps, of the scenarios with a step on a fault's target
// (names), those that run while the fault is active (from at, for length
// d; zero: to the end of the run). A scenario whose length is unknown
// (bounded by iterations) or whose graceful stop reaches into the fault
// is kept: it may be running.
func overlapping(scenarios []explain.Scenario, names []string, at, d time.Duration) []string {
	var out []string
	for _, name := range names {
		for _, s := range scenarios {
			if s.Name != name {
				continue
			}
			end := s.Start + s.Duration + s.GracefulStop
			if s.Duration == 0 || (end > at && (d == 0 || s.Start < at+d)) {
				out = append(out, name)
			}
		}
	}
	return out
}
