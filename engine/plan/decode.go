package plan

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/tmpl"
	"github.com/runplan/runplan/schema"
)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reserved names cannot name a scenario or a target: they are top-level
// names of the check environment.
var reserved = map[string]bool{"run": true, "faults": true, "ms": true, "s": true, "pct": true, "true": true, "false": true, "nil": true}

// Defaults, documented in docs/PLAN-FORMAT.md.
const (
	DefaultReady    = 90
	DefaultDegraded = 70
	DefaultMaxVUs   = 100
)

// Default validity limits, documented in docs/LOAD.md and docs/SCORING.md.
const (
	DefaultLagP99 = 10 * time.Millisecond
	DefaultLate   = 0.001 // 0.1 % of due iterations
)

// stepFields are the keys of a step that are not its kind.
var stepFields = []string{"name", "target", "expect", "capture", "weight"}

// mapping iterates over a mapping node's entries.
func mapping(n *yaml.Node, f func(k, v *yaml.Node)) {
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		v := n.Content[i+1]
		if v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		f(n.Content[i], v)
	}
}

func get(n *yaml.Node, key string) (k, v *yaml.Node) {
	mapping(n, func(kk, vv *yaml.Node) {
		if kk.Value == key {
			k, v = kk, vv
		}
	})
	return k, v
}

func str(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

func num(n *yaml.Node) (float64, bool) {
	if n == nil || n.Kind != yaml.ScalarNode {
		return 0, false
	}
	switch v := scalarValue(n).(type) {
	case int64:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

func dur(n *yaml.Node) (time.Duration, bool) {
	if n == nil || n.Kind != yaml.ScalarNode {
		return 0, false
	}
	d, err := schema.ParseDuration(n.Value)
	return d, err == nil
}

func (l *loader) decode(p *Plan, root *yaml.Node) {
	if _, v := get(root, "version"); v != nil {
		if f, ok := num(v); ok {
			p.Version = int(f)
		}
	}
	_, v := get(root, "name")
	p.Name = str(v)
	_, v = get(root, "description")
	p.Description = str(v)
	if _, v := get(root, "seed"); v != nil {
		if f, ok := num(v); ok && f >= 0 && f <= math.MaxUint64 {
			var s uint64
			if v.Decode(&s) == nil {
				p.Seed, p.HasSeed = s, true
			}
		}
	}
	p.Validity = l.validity(Validity{LagP99: DefaultLagP99, Late: DefaultLate}, root, "")
	// Data sources first: templates (vars, steps) are checked against
	// their columns.
	_, dataNode := get(root, "data")
	l.dataSources(p, dataNode)
	names := map[string]*yaml.Node{}
	_, targets := get(root, "targets")
	mapping(targets, func(k, v *yaml.Node) {
		l.checkName(k, "target", names)
		t := &Target{Name: k.Value, Node: v, Pos: diag.PosOf(k), Invalid: l.bad("/targets/" + escapePtr(k.Value))}
		_, d := get(v, "driver")
		t.Driver = str(d)
		_, u := get(v, "url")
		t.URL = str(u)
		if _, ad := get(v, "allow_destructive"); ad != nil {
			_ = ad.Decode(&t.AllowDestructive)
		}
		p.Targets = append(p.Targets, t)
	})
	_, scenarios := get(root, "scenarios")
	mapping(scenarios, func(k, v *yaml.Node) {
		l.checkName(k, "scenario", names)
		p.Scenarios = append(p.Scenarios, l.scenario(p, k, v))
	})
	_, faults := get(root, "faults")
	if faults != nil && faults.Kind == yaml.SequenceNode {
		seen := map[string]*yaml.Node{}
		for i, fn := range items(faults) {
			if f := l.fault(p, fn, fmt.Sprintf("/faults/%d", i), seen); f != nil {
				p.Faults = append(p.Faults, f)
			}
		}
	}
	_, checks := get(root, "checks")
	if checks != nil && checks.Kind == yaml.SequenceNode {
		seen := map[string]*yaml.Node{}
		for i, c := range items(checks) {
			ck := &Check{Weight: 1, Pos: diag.PosOf(c), Invalid: l.bad(fmt.Sprintf("/checks/%d", i))}
			_, dv := get(c, "description")
			ck.Description = str(dv)
			nk, nv := get(c, "name")
			ck.Name = str(nv)
			if nv != nil && nv.Kind == yaml.ScalarNode {
				if !identRE.MatchString(ck.Name) {
					l.addf(nv, "check name %q must be an identifier (letters, digits, _; not starting with a digit)", ck.Name)
				} else if first, dup := seen[ck.Name]; dup {
					l.addf(nv, "duplicate check name %q (first at %s)", ck.Name, l.lineOf(first, nv))
				} else {
					seen[ck.Name] = nk
				}
			}
			_, ev := get(c, "expr")
			ck.Expr, ck.ExprNode = str(ev), ev
			if _, wv := get(c, "weight"); wv != nil {
				if f, ok := num(wv); ok {
					ck.Weight = f
				}
			}
			if _, cv := get(c, "critical"); cv != nil {
				_ = cv.Decode(&ck.Critical)
			}
			_, gv := get(c, "good")
			_, bv := get(c, "bad")
			if gv != nil && bv != nil {
				g, gd, gok := bound(gv)
				b, bd, bok := bound(bv)
				switch {
				case !gok || !bok:
					// the schema reported it
				case gd != bd:
					l.addf(bv, "check %s: good and bad must both be numbers or both durations", ck.Name)
				case g == b:
					l.addf(bv, "check %s: good and bad must differ", ck.Name)
				default:
					ck.Good, ck.Bad, ck.HasBounds, ck.BoundsAreDurations, ck.BoundsNode = g, b, true, gd, gv
				}
			}
			p.Checks = append(p.Checks, ck)
		}
	}
	p.Readiness = Readiness{Ready: DefaultReady, Degraded: DefaultDegraded}
	_, rd := get(root, "readiness")
	if _, v := get(rd, "ready"); v != nil {
		if f, ok := num(v); ok {
			p.Readiness.Ready = f
		}
	}
	if _, v := get(rd, "degraded"); v != nil {
		if f, ok := num(v); ok {
			p.Readiness.Degraded = f
		}
	}
	if p.Readiness.Degraded > p.Readiness.Ready && !l.bad("/readiness") {
		_, dv := get(rd, "degraded")
		l.addf(dv, "readiness: degraded (%g) must not be above ready (%g)", p.Readiness.Degraded, p.Readiness.Ready)
	}
	if _, lv := get(root, "late"); lv != nil {
		p.Late = l.latePolicy(lv)
	}
	p.Interval = time.Second
	if _, iv := get(root, "interval"); iv != nil {
		if d, ok := dur(iv); ok && d > 0 {
			p.Interval = d
		}
	}
	_, notify := get(root, "notify")
	if notify != nil && notify.Kind == yaml.SequenceNode {
		for _, nn := range items(notify) {
			var n Notify
			_, u := get(nn, "url")
			_, f := get(nn, "flavor")
			_, w := get(nn, "when")
			n.URL, n.Flavor, n.When, n.Pos = str(u), str(f), str(w), diag.PosOf(u)
			if n.When == "" {
				n.When = "failure"
			}
			if n.URL != "" {
				p.Notify = append(p.Notify, n)
			}
		}
	}
	_, recs := get(root, "recommendations")
	if recs != nil && recs.Kind == yaml.SequenceNode {
		for i, r := range items(recs) {
			_, w := get(r, "when")
			_, s := get(r, "say")
			p.Recommendations = append(p.Recommendations, &Recommendation{When: str(w), WhenNode: w, Say: str(s), SayNode: s,
				Invalid: l.bad(fmt.Sprintf("/recommendations/%d", i))})
		}
	}
}

func (l *loader) checkName(k *yaml.Node, what string, names map[string]*yaml.Node) {
	name := k.Value
	switch {
	case strings.HasPrefix(name, "x-"):
		l.addf(k, "%s name %q must be an identifier: x- keys are ignored where runplan names the keys (the top level, inside a %s), not where they are names; move it to the top level", what, name, what)
	case !identRE.MatchString(name):
		l.addf(k, "%s name %q must be an identifier (letters, digits, _; not starting with a digit): it becomes a name in check expressions", what, name)
	case reserved[name]:
		l.addf(k, "%s name %q is reserved in check expressions; choose another", what, name)
	case names[name] != nil:
		l.addf(k, "%s name %q is already used at %s: targets and scenarios share one namespace in check expressions", what, name, l.lineOf(names[name], k))
	default:
		names[name] = k
	}
}

func (l *loader) scenario(p *Plan, k, v *yaml.Node) *Scenario {
	ptr := "/scenarios/" + escapePtr(k.Value)
	s := &Scenario{Name: k.Value, Pos: diag.PosOf(k)}
	_, dv := get(v, "description")
	s.Description = str(dv)
	if _, sv := get(v, "start"); sv != nil {
		s.Start, _ = dur(sv)
	}
	lk, lv := get(v, "load")
	if lv != nil && !l.bad(ptr+"/load") {
		s.Load = l.load1(lk, lv)
	}
	s.Validity = l.validity(p.Validity, lv, "scenario "+k.Value+": load.")
	if _, vv := get(v, "vars"); vv != nil {
		s.Vars, s.VarNames, s.VarsData = l.vars(p, s.Name, vv, l.bad(ptr+"/vars"))
	}
	sk, steps := get(v, "steps")
	mk, mix := get(v, "mix")
	switch {
	case steps != nil && mix != nil:
		l.addf(mk, "scenario %s: steps (run in order) and mix (one drawn by weight) exclude each other", s.Name)
	case steps == nil && mix == nil && !l.bad(ptr):
		l.addf(k, "scenario %s: give it steps (run in order each iteration) or a mix (one drawn by weight)", s.Name)
	case mix != nil:
		steps, s.Mix, sk = mix, true, mk
		ptr += "/mix"
	default:
		ptr += "/steps"
	}
	_ = sk
	if steps == nil || steps.Kind != yaml.SequenceNode {
		return s
	}
	seen := map[string]*yaml.Node{}
	count := map[string]int{}
	for i, sn := range items(steps) {
		sptr := fmt.Sprintf("%s/%d", ptr, i)
		st := l.step(p, sn, sptr)
		if st == nil {
			continue
		}
		// The driver validates what is under its key and expect: skip it
		// where the schema already found problems there.
		st.Invalid = st.Invalid || l.bad(sptr+"/"+st.Kind) || l.bad(sptr+"/expect")
		st.captureBad = l.bad(sptr + "/capture")
		wk, wv := get(sn, "weight")
		if f, ok := num(wv); ok {
			st.Weight = f
		}
		switch {
		case s.Mix && wv == nil:
			l.addf(sn, "step in the mix of %s: give it a weight (its share of iterations)", s.Name)
		case !s.Mix && wv != nil:
			l.addf(wk, "step: weight belongs to a scenario's mix; under steps every step runs each iteration")
		}
		_, nv := get(sn, "name")
		nk := nv
		if nv != nil {
			st.Name = str(nv)
			if !identRE.MatchString(st.Name) {
				l.addf(nv, "step name %q must be an identifier (letters, digits, _; not starting with a digit)", st.Name)
			}
		} else {
			count[st.Kind]++
			st.Name = st.Kind
			if count[st.Kind] > 1 {
				st.Name = fmt.Sprintf("%s_%d", st.Kind, count[st.Kind])
			}
			nk = sn
		}
		if first, dup := seen[st.Name]; dup {
			l.addf(nk, "duplicate step name %q in scenario %s (first at line %d)", st.Name, s.Name, first.Line)
		} else {
			seen[st.Name] = nk
		}
		s.Steps = append(s.Steps, st)
	}
	l.captures(s)
	return s
}

// vars compiles scenario name's `vars:` mapping n, in order: each value a
// template string, or a constant number or boolean kept with its type. It
// reports every problem at its position and returns nil vars when there is
// one; the names are those of the vars, also then, and also when the
// schema found problems in them (bad), so that the steps reading them are
// checked against them. The last result is the data sources the vars read
// (p's, which are decoded first).
func (l *loader) vars(p *Plan, name string, n *yaml.Node, bad bool) (*tmpl.Vars, []string, []string) {
	if n.Kind != yaml.MappingNode {
		return nil, nil, nil
	}
	var names []string
	if bad {
		mapping(n, func(k, _ *yaml.Node) { names = append(names, k.Value) })
		return nil, names, nil
	}
	var defs []tmpl.VarDef
	var nodes []*yaml.Node
	ok := true
	mapping(n, func(k, v *yaml.Node) {
		if !identRE.MatchString(k.Value) {
			l.addf(k, "scenario %s: var name %q must be an identifier (letters, digits, _; not starting with a digit): steps read it as {{ vars.%s }}", name, k.Value, k.Value)
			ok = false
			return
		}
		if slices.Contains(names, k.Value) {
			ok = false // a duplicate key, reported as every one is
		}
		names = append(names, k.Value)
		d := tmpl.VarDef{Name: k.Value, Src: v.Value}
		if v.Kind == yaml.ScalarNode {
			switch v.ShortTag() {
			case "!!int":
				var i int
				if err := v.Decode(&i); err == nil {
					d.Const, d.IsConst = i, true
				}
			case "!!float":
				var f float64
				if err := v.Decode(&f); err == nil {
					d.Const, d.IsConst = f, true
				}
			case "!!bool":
				var b bool
				if err := v.Decode(&b); err == nil {
					d.Const, d.IsConst = b, true
				}
			}
		}
		defs = append(defs, d)
		nodes = append(nodes, v)
	})
	use := &tmpl.DataUse{}
	vars, errs := tmpl.NewCompiler().WithData(p.DataSources(), use).CompileVars(defs)
	for _, err := range errs {
		ve, isVar := err.(*tmpl.VarError)
		if !isVar {
			l.addf(n, "scenario %s: vars: %v", name, err)
			continue
		}
		vn := nodes[ve.Index]
		msg := fmt.Sprintf("scenario %s: var %s: %v", name, defs[ve.Index].Name, ve.Err)
		var te *tmpl.Error
		if errors.As(ve.Err, &te) && !strings.ContainsAny(vn.Value, "\\'") {
			l.errAtOffset(vn, te.Offset, msg)
			continue
		}
		l.add(vn, msg)
	}
	if !ok || errs != nil {
		return nil, names, use.Names()
	}
	return vars, names, use.Names()
}

// validity reads n's `validity:` over base: each limit given replaces
// base's. what prefixes messages ("" at the top level).
func (l *loader) validity(base Validity, n *yaml.Node, what string) Validity {
	_, vv := get(n, "validity")
	if vv == nil {
		return base
	}
	out := base
	if _, lv := get(vv, "lag_p99"); lv != nil {
		if d, ok := dur(lv); ok {
			if d <= 0 {
				l.addf(lv, "%svalidity.lag_p99 must be positive", what)
			} else {
				out.LagP99 = d
			}
		}
	}
	if _, sv := get(vv, "late"); sv != nil {
		if f, ok := share(sv); ok {
			if f < 0 || f > 1 {
				l.addf(sv, "%svalidity.late must be a share from 0 to 1, or a percentage like 0.1%%", what)
			} else {
				out.Late = f
			}
		}
	}
	return out
}

// share reads a share: a number (0.001) or a percentage ("0.1%").
func share(n *yaml.Node) (float64, bool) {
	if f, ok := num(n); ok {
		return f, true
	}
	if n == nil || n.Kind != yaml.ScalarNode {
		return 0, false
	}
	s, ok := strings.CutSuffix(strings.TrimSpace(n.Value), "%")
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, false
	}
	return f / 100, true
}

func (l *loader) load1(k, n *yaml.Node) LoadSpec {
	var ld LoadSpec
	key := func(name string) (*yaml.Node, *yaml.Node) { return get(n, name) }
	vk, vus := key("vus")
	ik, its := key("iterations")
	pk, pvi := key("per_vu_iterations")
	dk, dv := key("duration")
	rk, rv := key("rate")
	mk, mv := key("max_vus")
	sk, stages := key("stages")
	bk, burst := key("burst")
	if f, ok := num(vus); ok {
		ld.VUs = int(f)
	}
	if f, ok := num(its); ok {
		ld.Iterations = int64(f)
	}
	if f, ok := num(pvi); ok {
		ld.PerVUIterations = int64(f)
	}
	if dv != nil {
		ld.Duration, _ = dur(dv)
		if ld.Duration <= 0 {
			l.addf(dv, "load.duration must be positive")
		}
	}
	if f, ok := num(mv); ok {
		ld.MaxVUs = int(f)
	}
	if _, wv := key("warmup"); wv != nil {
		ld.Warmup, _ = dur(wv)
	}
	if _, gv := key("graceful_stop"); gv != nil {
		ld.GracefulStop, _ = dur(gv)
	}
	lk, lv := key("late")
	if lv != nil {
		ld.Late = l.latePolicy(lv)
	}
	if rv != nil {
		if f, ok := num(rv); ok {
			ld.Rate = f
		} else {
			ld.Rate, _ = schema.ParseRate(rv.Value)
		}
	}
	// Stages: a rate target ("50/s") makes an open ramp; a number ramps VUs,
	// unless the load names the open model with rate or max_vus.
	rateStages := rv != nil || mv != nil
	if stages != nil && stages.Kind == yaml.SequenceNode {
		for _, st := range items(stages) {
			_, sd := get(st, "duration")
			_, tv := get(st, "target")
			stage := Stage{}
			stage.Duration, _ = dur(sd)
			if f, ok := num(tv); ok {
				stage.Target = f
			} else if tv != nil {
				stage.Target, _ = schema.ParseRate(tv.Value)
				rateStages = true
			}
			ld.Stages = append(ld.Stages, stage)
			ld.Duration += stage.Duration
		}
		if dv != nil {
			l.addf(dk, "load: with stages the duration is the sum of the stages; remove duration")
		}
	}
	label := map[string]string{"vus": "vus (closed model)", "iterations": "iterations (closed model)",
		"per_vu_iterations": "per_vu_iterations (closed model)", "rate": "rate (open model)",
		"burst": "burst (open model)", "stages": "stages", "duration": "duration"}
	conflict := func(a, b *yaml.Node, why string) {
		if a != nil && b != nil {
			l.addf(b, "load: %s and %s exclude each other%s", label[a.Value], label[b.Value], why)
		}
	}
	switch {
	case burst != nil:
		ld.Model = Open
		b := &Burst{}
		if f, ok := num(pick(get(burst, "size"))); ok {
			b.Size = int(f)
		}
		if f, ok := num(pick(get(burst, "count"))); ok {
			b.Count = int(f)
		}
		b.Every, _ = dur(pick(get(burst, "every")))
		ld.Burst = b
		if b.Count > 0 && b.Every > 0 {
			// The last burst is released at (count-1)*every; the scenario
			// lasts one more interval for it to be served.
			ld.Duration = time.Duration(b.Count) * b.Every
		}
		for _, other := range []*yaml.Node{vk, ik, pk, dk, rk, sk} {
			conflict(bk, other, ": a burst sets its own pace")
		}
		if ld.MaxVUs == 0 {
			ld.MaxVUs = max(b.Size, 1)
		}
	case rateStages:
		ld.Model = Open
		conflict(rk, vk, "; cap the open model's concurrency with max_vus")
		conflict(rk, ik, ": the open model runs for a duration")
		conflict(rk, pk, ": the open model runs for a duration")
		if rv == nil && len(ld.Stages) == 0 {
			l.addf(mk, "load: max_vus belongs to the open model; give a rate (e.g. rate: 50/s) or stages of rates")
		}
		if dv == nil && len(ld.Stages) == 0 && rk != nil {
			l.addf(rk, "load: the open model (rate) needs a duration")
		}
		if rv != nil && len(ld.Stages) == 0 && ld.Rate <= 0 && !l.bad(ptrOf(rv)) {
			l.addf(rv, "load: the rate must be positive (a rate of zero only makes sense as the start of stages)")
		}
		if vus != nil && rv == nil {
			l.addf(vk, "load: vus (closed model) and rate stages (open model) exclude each other; cap the open model's concurrency with max_vus")
		}
		if ld.MaxVUs == 0 {
			ld.MaxVUs = DefaultMaxVUs
		}
	default:
		ld.Model = Closed
		conflict(ik, pk, ": say either the shared or the per-VU count")
		if ld.VUs == 0 {
			ld.VUs = 1
			if len(ld.Stages) > 0 {
				ld.VUs = 0 // a ramp starts from zero unless vus says otherwise
			}
		}
		if dv == nil && its == nil && pvi == nil && len(ld.Stages) == 0 {
			l.addf(k, "load: say how long to run: duration (e.g. {vus: 10, duration: 30s}), iterations, stages, or an open model rate (e.g. {rate: 50/s, duration: 30s})")
		}
		if len(ld.Stages) > 0 && ld.MaxStageTarget(float64(ld.VUs)) < 1 {
			l.addf(sk, "load: the stages never reach one VU")
		}
	}
	if lv != nil && ld.Model == Closed {
		l.addf(lk, "load: late belongs to the open model (rate, stages of rates, burst): a closed-model VU is never late")
	}
	if ld.Warmup > 0 && ld.Duration > 0 && ld.Warmup >= ld.Duration {
		_, wv := key("warmup")
		l.addf(wv, "load: warmup (%v) must be shorter than the scenario (%v)", ld.Warmup, ld.Duration)
	}
	return ld
}

// latePolicy reads a late: value; the schema already refused anything but
// auto, send and skip, with its position.
func (l *loader) latePolicy(n *yaml.Node) LatePolicy {
	switch v := LatePolicy(str(n)); v {
	case LateAuto, LateSend, LateSkip:
		return v
	}
	return ""
}

// ptrOf is a placeholder location for nodes whose pointer is not tracked;
// it matches no schema error.
func ptrOf(*yaml.Node) string { return "\x00" }

func (l *loader) fault(p *Plan, n *yaml.Node, ptr string, seen map[string]*yaml.Node) *Fault {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	f := &Fault{Probability: 1, Pos: diag.PosOf(n), Invalid: l.bad(ptr),
		Recovery: Recovery{Latency: DefaultRecoveryLatency, Success: DefaultRecoverySuccess, Intervals: DefaultRecoveryIntervals}}
	_, dv := get(n, "description")
	f.Description = str(dv)
	_, nv := get(n, "name")
	f.Name = str(nv)
	if nv != nil && nv.Kind == yaml.ScalarNode {
		switch {
		case !identRE.MatchString(f.Name):
			l.addf(nv, "fault name %q must be an identifier (letters, digits, _; not starting with a digit)", f.Name)
			f.Invalid = true
		case seen[f.Name] != nil:
			l.addf(nv, "duplicate fault name %q (first at line %d)", f.Name, seen[f.Name].Line)
			f.Invalid = true
		default:
			seen[f.Name] = nv
		}
	}
	_, tv := get(n, "target")
	f.Target = str(tv)
	if tv != nil && p.TargetByName(f.Target) == nil {
		var known []string
		for _, t := range p.Targets {
			known = append(known, t.Name)
		}
		msg := fmt.Sprintf("fault %s: unknown target %q", f.Name, f.Target)
		if s := diag.Suggest(f.Target, known); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		l.add(tv, msg)
		f.Invalid = true
	}
	if _, v := get(n, "at"); v != nil {
		f.At, _ = dur(v)
	}
	if _, v := get(n, "for"); v != nil {
		f.For, _ = dur(v)
		if f.For <= 0 && !l.bad(ptr+"/for") {
			l.addf(v, "fault %s: for must be positive (leave it out to last until the end)", f.Name)
		}
	}
	if _, v := get(n, "probability"); v != nil {
		if x, ok := num(v); ok {
			f.Probability = x
		}
	}
	if _, rv := get(n, "recovery"); rv != nil {
		if _, v := get(rv, "latency"); v != nil {
			f.Recovery.Latency, _ = num(v)
		}
		if _, v := get(rv, "success"); v != nil {
			f.Recovery.Success, _ = num(v)
		}
		if _, v := get(rv, "intervals"); v != nil {
			x, _ := num(v)
			f.Recovery.Intervals = int(x)
		}
	}
	var kinds []*yaml.Node
	mapping(n, func(k, v *yaml.Node) {
		if slices.Contains(faultFields, k.Value) {
			return
		}
		kinds = append(kinds, k)
		f.Kind, f.Node, f.KindNode = k.Value, v, k
	})
	switch len(kinds) {
	case 0:
		l.addf(n, "fault %s: give it one kind: a network kind (%s) or one of its target driver's kinds", f.Name, strings.Join(NetworkFaultKinds, ", "))
		f.Invalid = true
	case 1:
	default:
		l.addf(kinds[1], "fault %s: one kind per fault; this one has both %s and %s", f.Name, kinds[0].Value, kinds[1].Value)
		f.Invalid = true
	}
	return f
}

// bound reads a partial-credit bound: a number, or a duration (in ns).
func bound(n *yaml.Node) (v float64, isDur, ok bool) {
	if f, ok := num(n); ok {
		return f, false, true
	}
	if d, ok := dur(n); ok {
		return float64(d), true, true
	}
	return 0, false, false
}

// pick returns the value node of a get.
func pick(_, v *yaml.Node) *yaml.Node { return v }

func (l *loader) step(p *Plan, n *yaml.Node, ptr string) *Step {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	st := &Step{Pos: diag.PosOf(n)}
	var kinds []*yaml.Node
	known := append(slices.Clone(l.stepKinds), "sleep")
	unknown := false
	mapping(n, func(k, v *yaml.Node) {
		if slices.Contains(known, k.Value) {
			kinds = append(kinds, k)
			st.Kind, st.Node = k.Value, v
			return
		}
		if slices.Contains(stepFields, k.Value) {
			return
		}
		// The schema allows any lower-case key, for drivers registered by
		// other packages; here Options.StepKinds says which exist.
		unknown = true
		msg := fmt.Sprintf("unknown key %q in step", k.Value)
		all := append(append([]string{}, stepFields...), known...)
		if s := diag.Suggest(k.Value, all); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		} else {
			msg += " (a step has name, target, expect, capture and one kind: " + strings.Join(known, ", ") + ")"
		}
		l.add(k, msg)
	})
	switch len(kinds) {
	case 0:
		if !l.bad(ptr) && !unknown {
			l.addf(n, "step: give it one kind: %s", strings.Join(known, ", "))
		}
		return nil
	case 1:
	default:
		l.addf(kinds[1], "step: one kind per step; this step has both %s and %s", kinds[0].Value, kinds[1].Value)
		return nil
	}
	tk, tv := get(n, "target")
	_, st.Expect = get(n, "expect")
	st.captureKey, st.CaptureNode = get(n, "capture")
	if st.Kind == "sleep" {
		if st.CaptureNode != nil {
			l.addf(st.captureKey, "step: a sleep step has no reply to capture")
			st.captureKey, st.CaptureNode = nil, nil
		}
		st.Sleep, _ = dur(st.Node)
		if tv != nil {
			l.addf(tk, "step: a sleep step has no target")
		}
		if st.Expect != nil {
			l.addf(st.Expect, "step: a sleep step has nothing to expect")
		}
		return st
	}
	if tv != nil {
		name := str(tv)
		t := p.TargetByName(name)
		switch {
		case t == nil:
			st.Invalid = true
			var known []string
			for _, t := range p.Targets {
				known = append(known, t.Name)
			}
			msg := fmt.Sprintf("step: unknown target %q", name)
			if s := diag.Suggest(name, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else if len(known) > 0 {
				msg += " (targets: " + strings.Join(known, ", ") + ")"
			}
			l.add(tv, msg)
		case t.Driver != st.Kind:
			st.Invalid = true
			l.addf(tv, "step: target %q uses driver %s, but this is a %s step", name, t.Driver, st.Kind)
		}
		st.Target = name
		return st
	}
	var match []string
	for _, t := range p.Targets {
		if t.Driver == st.Kind {
			match = append(match, t.Name)
		}
	}
	unknownDriver := false
	for _, t := range p.Targets {
		if !slices.Contains(known, t.Driver) || t.Driver == "sleep" {
			unknownDriver = true // reported at the target; its driver may be this one
		}
	}
	switch len(match) {
	case 1:
		st.Target = match[0]
	case 0:
		st.Invalid = true
		if unknownDriver {
			break
		}
		l.addf(kinds[0], "step: no target uses driver %s; add one under targets (for example `cache: {driver: %s}`)", st.Kind, st.Kind)
	default:
		st.Invalid = true
		l.addf(kinds[0], "step: several %s targets (%s): say which with target:", st.Kind, strings.Join(match, ", "))
	}
	return st
}

// items is a sequence node's entries with aliases resolved: `- *step` is
// the anchored step, not a node the decoder would skip.
func items(n *yaml.Node) []*yaml.Node {
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = deref(c)
	}
	return out
}
