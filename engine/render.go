package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"strings"

	"github.com/runplan/runplan/engine/data"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/redact"
	"github.com/runplan/runplan/engine/tmpl"
)

// DefaultRenderIterations is how many iterations of each scenario `runplan
// render` shows when not told.
const DefaultRenderIterations = 3

// RenderRunID is the run id a Program is prepared with for render: key
// namespaces read runplan:<run-id>:..., the run's own id being drawn only
// when it runs.
const RenderRunID = "<run-id>"

// RenderOptions choose what Render shows.
type RenderOptions struct {
	// Iterations is how many iterations of each scenario to render
	// (DefaultRenderIterations when 0 or less).
	Iterations int
	// Scenario, when not "", renders that scenario only.
	Scenario string
}

// Rendering is what the first iterations of a plan's scenarios would send,
// computed without opening any target (Program.Render). Every text in it
// is masked (engine/redact).
type Rendering struct {
	Plan      string             `json:"plan"`
	Seed      uint64             `json:"seed"`
	Targets   []RenderedTarget   `json:"targets"`
	Scenarios []RenderedScenario `json:"scenarios"`
	// Failed counts the iterations that failed to render (a template).
	Failed int `json:"failed"`
}

// RenderedTarget is a target as render names it: its address masked, or
// what starts it when the plan gives none.
type RenderedTarget struct {
	Name   string `json:"name"`
	Driver string `json:"driver"`
	Addr   string `json:"addr"`
}

// RenderedScenario is the first iterations of one scenario.
type RenderedScenario struct {
	Name string `json:"name"`
	// VUs is how many VUs the scenario may run; iteration n is shown on
	// VU n mod VUs + 1, the order in which the executors hand out the first
	// iterations.
	VUs        int                 `json:"vus"`
	Mix        bool                `json:"mix,omitempty"`
	Iterations []RenderedIteration `json:"iterations"`
}

// RenderedIteration is one iteration: its vars, the step a mix drew, and
// what each step would send.
type RenderedIteration struct {
	Number int64         `json:"iteration"`
	VU     int           `json:"vu"`
	Vars   []RenderedVar `json:"vars,omitempty"`
	// Mix names the step a weighted mix drew.
	Mix   string         `json:"mix,omitempty"`
	Steps []RenderedStep `json:"steps"`
	// Error is the failure of its data rows or vars, which stops the
	// iteration before its first step.
	Error *RenderError `json:"error,omitempty"`
	// Stopped is set when a unique data source ran out with exhausted:
	// stop: the scenario ends there (Error says why), as in a run.
	Stopped bool `json:"stopped,omitempty"`
}

// RenderedVar is one iteration variable's value.
type RenderedVar struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

// RenderedStep is what one step would send.
type RenderedStep struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Target string `json:"target,omitempty"`
	At     string `json:"at"`
	// Lines are what it sends, one thing a line (driver.Renderer).
	Lines []string `json:"lines"`
	// Renderable is false for a step whose driver cannot render it.
	Renderable bool `json:"renderable"`
	// Error is the step's failure: the iteration stops there.
	Error *RenderError `json:"error,omitempty"`
}

// RenderError is a failure to render, at its place in the plan.
type RenderError struct {
	At      string `json:"at"`
	Message string `json:"message"`
}

// Render computes what the first iterations of the program's scenarios
// would send, without opening any target: vars evaluated per iteration,
// the mix drawn, every step rendered through driver.Renderer, from the
// same seeded sources as a run with the same seed. A template that fails
// ends its iteration (as in a run) and is recorded; the next iteration is
// rendered. It does no I/O and leaves the Program as it was: it may still
// run. Safe for concurrent use.
func (prog *Program) Render(opts RenderOptions) (*Rendering, error) {
	n := opts.Iterations
	if n <= 0 {
		n = DefaultRenderIterations
	}
	r := &Rendering{Plan: prog.info.Path, Seed: prog.seed, Targets: []RenderedTarget{}, Scenarios: []RenderedScenario{}}
	for _, t := range prog.targets {
		addr := "(no url: runplan starts it for the run)"
		if t.url != "" {
			addr = prog.red.String(redact.MaskURL(t.url))
		}
		r.Targets = append(r.Targets, RenderedTarget{Name: t.name, Driver: t.driver, Addr: addr})
	}
	// The data sources are local files, read as a run reads them, each
	// scenario's VUs with cursors of their own on fresh sources.
	found := opts.Scenario == ""
	var names []string
	for _, s := range prog.scenarios {
		names = append(names, s.name)
		if opts.Scenario != "" && s.name != opts.Scenario {
			continue
		}
		found = true
		sources, err := prog.openRenderData()
		if err != nil {
			return nil, err
		}
		rs := prog.renderScenario(s, n, sources)
		for _, src := range sources {
			_ = src.Close()
		}
		for _, it := range rs.Iterations {
			if it.failed() {
				r.Failed++
			}
		}
		r.Scenarios = append(r.Scenarios, rs)
	}
	if !found {
		return nil, fmt.Errorf("engine: render: no scenario %q (scenarios: %s)", opts.Scenario, strings.Join(names, ", "))
	}
	return r, nil
}

func (it *RenderedIteration) failed() bool {
	if it.Stopped {
		return false
	}
	if it.Error != nil {
		return true
	}
	for _, st := range it.Steps {
		if st.Error != nil {
			return true
		}
	}
	return false
}

// renderScenario renders the first n iterations of s, iteration k on VU
// k mod vus + 1, each VU with the random source and template state a run
// gives it.
func (prog *Program) renderScenario(s *preparedScenario, n int, sources map[string]*data.Source) RenderedScenario {
	rs := RenderedScenario{Name: s.name, VUs: s.vus, Mix: s.mix, Iterations: []RenderedIteration{}}
	vus := make([]*vuState, s.vus)
	for k := range int64(n) {
		vu := int(k%int64(s.vus)) + 1
		st := vus[vu-1]
		if st == nil {
			// As newScenarioRun seeds the VU.
			rng := mrand.New(mrand.NewPCG(prog.seed, s.salt^uint64(vu)*0x9e3779b97f4a7c15))
			ts := tmpl.NewState(s.name, vu, rng)
			ts.SetVUs(s.vus)
			st = &vuState{it: driver.Iteration{Scenario: s.name, VU: vu, Rand: rng, Templates: ts}}
			for _, name := range s.data {
				if src := sources[name]; src != nil {
					c := src.NewCursor()
					ts.SetData(name, c.Row())
					st.cursors = append(st.cursors, c)
				}
			}
			vus[vu-1] = st
		}
		ri, stop := prog.renderIteration(s, st, k)
		rs.Iterations = append(rs.Iterations, ri)
		st.it.VUIter++
		if stop {
			break
		}
	}
	return rs
}

// openRenderData opens the program's data sources for one scenario's
// render; the caller closes them.
func (prog *Program) openRenderData() (map[string]*data.Source, error) {
	sources := map[string]*data.Source{}
	for _, spec := range prog.data {
		src, err := data.Open(spec)
		if err != nil {
			for _, s := range sources {
				_ = s.Close()
			}
			return nil, fmt.Errorf("engine: render: %w", err)
		}
		sources[spec.Name] = src
	}
	return sources, nil
}

// renderIteration renders iteration k on it, drawing in the order
// scenarioRun.iterate does: vars, the mix, then each step.
// The iteration's data rows are drawn first; a unique source that ran out
// with exhausted: stop ends the scenario there (stop), as in a run.
func (prog *Program) renderIteration(s *preparedScenario, st *vuState, k int64) (_ RenderedIteration, stop bool) {
	it := &st.it
	out := RenderedIteration{Number: k, VU: it.VU, Steps: []RenderedStep{}}
	it.Number = k
	it.Templates.SetIteration(k)
	var varsErr error
	for _, c := range st.cursors {
		if err := c.Next(it.Rand); err != nil {
			if errors.Is(err, data.ErrExhausted) && c.Spec().Exhausted == data.Stop {
				out.Error = &RenderError{At: s.varsAt, Message: "the scenario stops: " + prog.red.String(err.Error())}
				out.Stopped = true
				return out, true
			}
			varsErr = err
			break
		}
	}
	if s.vars != nil && varsErr == nil {
		varsErr = s.vars.Eval(it.Templates)
		for _, name := range s.vars.Names() {
			if v, ok := it.Templates.Var(name); ok && varsErr == nil {
				out.Vars = append(out.Vars, RenderedVar{Name: name, Value: prog.maskValue(v)})
			}
		}
	}
	first, last := 0, len(s.steps)
	if s.mix {
		first = s.pick(it.Rand.Float64())
		last = first + 1
		out.Mix = s.steps[first].name
	}
	if varsErr != nil {
		out.Error = &RenderError{At: s.varsAt, Message: prog.red.String(varsErr.Error())}
		return out, false
	}
	for i := first; i < last; i++ {
		st := &s.steps[i]
		rst := RenderedStep{Name: st.name, Kind: st.kind, Target: st.target, At: st.at, Lines: []string{}, Renderable: true}
		var err error
		switch r, ok := st.step.(driver.Renderer); {
		case st.step == nil:
			rst.Lines = append(rst.Lines, "sleep "+st.sleep.String())
		case ok:
			var lines []string
			lines, err = r.Render(it)
			for _, l := range lines {
				rst.Lines = append(rst.Lines, prog.red.String(l))
			}
		default:
			rst.Renderable = false
			rst.Lines = append(rst.Lines, st.kind+" step (not renderable)")
		}
		if err != nil {
			rst.Error = &RenderError{At: st.at, Message: prog.red.String(err.Error())}
		} else if names := st.capture.Names(); len(names) > 0 {
			// No reply at render time: the steps after it see a
			// placeholder for each captured value.
			var shown []string
			for _, name := range names {
				ph := "<captured: " + name + ">"
				it.Templates.SetVar(name, ph)
				shown = append(shown, "vars."+name+" = "+ph)
			}
			rst.Lines = append(rst.Lines, "# captures from the reply: "+strings.Join(shown, ", "))
		}
		out.Steps = append(out.Steps, rst)
		if err != nil {
			break
		}
	}
	return out, false
}

// maskValue masks a var's value when it is text.
func (prog *Program) maskValue(v any) any {
	if s, ok := v.(string); ok {
		return prog.red.String(s)
	}
	return v
}

// WriteJSON writes the rendering as indented JSON.
func (r *Rendering) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// WriteText writes the rendering for a reader: the targets, then each
// scenario's iterations, each step's lines indented under it, failures
// with their place in the plan.
func (r *Rendering) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: seed %d; what the first iterations would send (no target is opened)\n", r.Plan, r.Seed)
	if len(r.Targets) > 0 {
		b.WriteString("targets:\n")
		for _, t := range r.Targets {
			fmt.Fprintf(&b, "  %s (%s): %s\n", t.Name, t.Driver, t.Addr)
		}
	}
	for _, s := range r.Scenarios {
		fmt.Fprintf(&b, "\nscenario %s (%s)\n", s.Name, vusText(s.VUs))
		for _, it := range s.Iterations {
			fmt.Fprintf(&b, "  iteration %d (VU %d)\n", it.Number, it.VU)
			if len(it.Vars) > 0 {
				parts := make([]string, 0, len(it.Vars))
				for _, v := range it.Vars {
					parts = append(parts, v.Name+" = "+varText(v.Value))
				}
				fmt.Fprintf(&b, "    vars: %s\n", strings.Join(parts, ", "))
			}
			if it.Mix != "" {
				fmt.Fprintf(&b, "    mix: drew %s\n", it.Mix)
			}
			switch {
			case it.Stopped:
				fmt.Fprintf(&b, "    STOP %s: %s\n", it.Error.At, it.Error.Message)
			case it.Error != nil:
				fmt.Fprintf(&b, "    ERROR %s: %s\n", it.Error.At, it.Error.Message)
			}
			for _, st := range it.Steps {
				head := "    " + st.Name
				if st.Target != "" {
					head += " → " + st.Target
				}
				fmt.Fprintf(&b, "%s (%s)\n", head, st.At)
				for _, l := range st.Lines {
					for _, part := range strings.Split(l, "\n") {
						if part == "" {
							b.WriteString("\n")
							continue
						}
						fmt.Fprintf(&b, "      %s\n", part)
					}
				}
				if st.Error != nil {
					fmt.Fprintf(&b, "      ERROR %s: %s\n", st.Error.At, st.Error.Message)
				}
			}
		}
	}
	if r.Failed > 0 {
		fmt.Fprintf(&b, "\n%d iteration(s) failed to render\n", r.Failed)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func vusText(n int) string {
	if n == 1 {
		return "1 VU"
	}
	return fmt.Sprintf("%d VUs; iteration n on VU n mod %d + 1", n, n)
}

// varText is a var's value as text: strings quoted, so that "" and " "
// show.
func varText(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return string(tmpl.AppendValue(nil, v))
}
