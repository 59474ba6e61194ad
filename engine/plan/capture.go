package plan

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/tmpl"
)

// StepCompiler returns the compiler for the templates of step i of s: base
// (which knows the scenario's vars) plus the captures of the steps before
// it; a template reading a capture of step i or of a later step is refused
// saying so.
func (s *Scenario) StepCompiler(base *tmpl.Compiler, i int) *tmpl.Compiler {
	var known []string
	later := map[string]string{}
	for j, st := range s.Steps {
		for _, name := range st.CaptureNames {
			switch {
			case j < i:
				known = append(known, name)
			case j == i:
				later[name] = ""
			default:
				if _, dup := later[name]; !dup {
					later[name] = st.Name
				}
			}
		}
	}
	if len(known) == 0 && len(later) == 0 {
		return base
	}
	return base.WithCaptures(known, later)
}

// captures reads and compiles the `capture:` of the steps of s, in order:
// names are identifiers, unique in the scenario among its vars and the
// captures of its steps, and each expression may read the vars and the
// captures of the steps before. A mix runs one step per iteration, so no
// capture could feed another step: captures are refused there.
func (l *loader) captures(s *Scenario) {
	type def struct {
		key   *yaml.Node
		value *yaml.Node
	}
	defs := make([][]def, len(s.Steps))
	firstAt := map[string]*Step{}
	for i, st := range s.Steps {
		n := st.CaptureNode
		if n == nil {
			continue
		}
		if s.Mix {
			l.addf(st.captureKey, "step in the mix of %s: capture feeds the later steps of an iteration, and a mix runs one step per iteration; "+
				"write the steps in order under steps: to use what a step captures", s.Name)
			st.CaptureNode = nil
			continue
		}
		if n.Kind != yaml.MappingNode {
			if !st.captureBad {
				l.addf(n, "step %s: capture: expected a mapping of names to expressions such as {msg_id: reply.json.id}", st.Name)
			}
			continue
		}
		if len(n.Content) == 0 && !st.captureBad {
			l.addf(n, "step %s: capture is empty: give it names and expressions such as {msg_id: reply.json.id}", st.Name)
			continue
		}
		mapping(n, func(k, v *yaml.Node) {
			name := k.Value
			switch {
			case !identRE.MatchString(name):
				l.addf(k, "step %s: capture name %q must be an identifier (letters, digits, _; not starting with a digit): later steps read it as {{ vars.%s }}", st.Name, name, name)
				return
			case slices.Contains(s.VarNames, name):
				l.addf(k, "step %s: capture %s: the scenario has a var %s: a capture and a var share the names of vars.NAME; choose another name", st.Name, name, name)
				return
			case firstAt[name] == st:
				return // a duplicate key, reported as every one is
			case firstAt[name] != nil:
				l.addf(k, "step %s: capture %s: step %s captures it already (line %d); choose another name", st.Name, name, firstAt[name].Name, firstAt[name].CaptureNode.Line)
				return
			}
			firstAt[name] = st
			st.CaptureNames = append(st.CaptureNames, name)
			defs[i] = append(defs[i], def{k, v})
		})
	}
	base := tmpl.NewCompiler(s.VarNames...)
	for i, st := range s.Steps {
		if len(defs[i]) == 0 || st.captureBad {
			continue
		}
		var tds []tmpl.CaptureDef
		ok := true
		for _, d := range defs[i] {
			if d.value.Kind != yaml.ScalarNode || d.value.ShortTag() != "!!str" {
				l.addf(d.value, "step %s: capture %s: expected an expression (a string) such as reply.json.id", st.Name, d.key.Value)
				ok = false
				continue
			}
			tds = append(tds, tmpl.CaptureDef{Name: d.key.Value, Src: d.value.Value})
		}
		if !ok {
			continue
		}
		cs, errs := s.StepCompiler(base, i).CompileCaptures(tds)
		for _, err := range errs {
			ce, isCapture := err.(*tmpl.CaptureError)
			if !isCapture {
				l.addf(st.CaptureNode, "step %s: capture: %v", st.Name, err)
				continue
			}
			vn := defs[i][ce.Index].value
			msg := fmt.Sprintf("step %s: capture %s: %v", st.Name, tds[ce.Index].Name, ce.Err)
			var te *tmpl.Error
			if errors.As(ce.Err, &te) && !strings.ContainsAny(vn.Value, "\\'") {
				l.errAtOffset(vn, te.Offset, msg)
				continue
			}
			l.add(vn, msg)
		}
		st.Capture = cs
	}
}
