// Package plan loads runplan plans: YAML with positions, ${ENV}
// interpolation, --set overrides, JSON Schema validation, and the semantic
// checks that need no driver and no I/O. Every problem is reported, each as a
// file:line:col diagnostic, never only the first.
//
// A loaded Plan is read-only afterwards and safe to share between goroutines.
package plan

import (
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/tmpl"
)

// Plan is a validated plan.
type Plan struct {
	File        string
	Version     int
	Name        string
	Description string
	// Seed drives every random choice; HasSeed is false when the plan gives none.
	Seed    uint64
	HasSeed bool

	Targets   []*Target
	Scenarios []*Scenario
	Faults    []*Fault
	Checks    []*Check
	Readiness Readiness
	// Validity holds the plan's validity limits (top-level `validity:`,
	// defaults filled in); each scenario has its own, resolved.
	Validity        Validity
	Recommendations []*Recommendation
	// Interval is the report's time-series interval (default 1s).
	Interval time.Duration
	// Late is the plan's default late policy for open-model scenarios
	// (top-level late:); empty means LateAuto. A scenario's load.late
	// overrides it.
	Late LatePolicy
	// Notify lists where to post the outcome when the run ends.
	Notify []Notify
	// Data are the plan's data sources (`data:`), in plan order.
	Data []*DataSource

	// Root is the plan's YAML mapping after interpolation and overrides,
	// with the fragments it includes merged in (and its include key gone).
	Root *yaml.Node
	// Fragments are the files the plan includes, directly or through
	// other fragments, in merge order, named as diagnostics name them: the
	// including file's directory joined with the include entry.
	Fragments []string
	// Digest is the SHA-256 of the plan file's bytes (and of its
	// fragments', when it includes some).
	Digest string
}

// FileOf returns the file node n of the plan was read from: the fragment
// that holds it, or the plan's own file.
func (p *Plan) FileOf(n *yaml.Node) string {
	if f := diag.FileOf(n); f != "" {
		return f
	}
	return p.File
}

// DirOf returns the directory of the file node n of the plan was read from
// (see FileOf): paths written in a block, such as a data source's file,
// are relative to it, whether the block is in the plan or in a fragment it
// includes.
func (p *Plan) DirOf(n *yaml.Node) string { return filepath.Dir(p.FileOf(n)) }

// Notify is one notification of the outcome.
type Notify struct {
	URL    string
	Flavor string // discord, slack, generic; empty: guessed from the URL
	When   string // always or failure (default)
	// Pos is the url value's place, in the plan or the fragment that
	// holds the entry.
	Pos diag.Pos
}

// Target is a named connection.
type Target struct {
	Name   string
	Driver string
	URL    string
	// AllowDestructive is the target's allow_destructive: true.
	AllowDestructive bool
	// Invalid marks a target with problems already reported.
	Invalid bool
	Node    *yaml.Node
	Pos     diag.Pos
}

// Scenario is a named workload: a load model and the steps of one iteration.
type Scenario struct {
	Name string
	// Description is the scenario's description:, for people.
	Description string
	Start       time.Duration
	Load        LoadSpec
	Steps       []*Step
	// Mix is true when each iteration runs one step drawn by weight
	// (the scenario's `mix:`) instead of all steps in order.
	Mix bool
	// Validity is the scenario's validity limits: its load.validity over
	// the plan's.
	Validity Validity
	// Vars are the scenario's iteration variables (`vars:`), compiled; nil
	// when it has none or they have problems (reported).
	Vars *tmpl.Vars
	// VarNames are the names of its vars in order, also when they have
	// problems: its steps' templates are compiled with
	// tmpl.NewCompiler(VarNames...), so that they are checked against them.
	VarNames []string
	// VarsData are the data sources its vars read (sorted): a scenario
	// draws a row from each source its vars or steps read.
	VarsData []string
	Pos      diag.Pos
}

// Validity holds the limits past which the generator did not hold the
// requested load and the measurement is invalid (docs/LOAD.md).
type Validity struct {
	// LagP99 is the largest open-model scheduling lag p99 allowed.
	LagP99 time.Duration
	// Late is the largest share of due open-model iterations that may be
	// late (0..1).
	Late float64
}

// Model is a load model.
type Model string

// Load models.
const (
	Closed Model = "closed" // VUs loop over the steps (a fixed or ramping count)
	Open   Model = "open"   // iterations start at an arrival rate (constant, ramping or in bursts)
)

// LoadSpec is a scenario's load shape; see docs/LOAD.md.
type LoadSpec struct {
	Model Model
	// VUs is the closed model's VU count (with stages: the start).
	VUs int
	// Iterations is shared by all VUs; PerVUIterations is for each.
	Iterations      int64
	PerVUIterations int64
	// Duration is the planned length: given, or the sum of the stages, or
	// the span of the bursts.
	Duration time.Duration
	// Rate is the open model's iterations per second (with stages: the
	// start).
	Rate   float64
	MaxVUs int
	// Stages ramp VUs (closed) or the rate (open) linearly.
	Stages []Stage
	Burst  *Burst
	// Warmup is a leading period that runs but is not measured.
	Warmup time.Duration
	// GracefulStop bounds how long iterations in flight at the end may
	// finish; zero means the default.
	GracefulStop time.Duration
	// Late is what the open model does with a hit the generator could only
	// dispatch after the late tolerance; empty: the plan's default.
	Late LatePolicy
}

// LatePolicy is what the open model does with a hit the generator could not
// dispatch on time (docs/LOAD.md).
type LatePolicy string

const (
	// LateAuto, the default, sends it late unless the next hit is due
	// already, when the generator would catch up in a burst: then it is
	// skipped.
	LateAuto LatePolicy = "auto"
	// LateSend sends it late; its response time runs from its due time, so
	// the lateness shows.
	LateSend LatePolicy = "send"
	// LateSkip skips it (outcome late), so that the load never catches up
	// in a burst.
	LateSkip LatePolicy = "skip"
)

// LatePolicy is the scenario's effective late policy: its own, else the
// plan's, else LateAuto.
func (p *Plan) LatePolicy(s *Scenario) LatePolicy {
	switch {
	case s.Load.Late != "":
		return s.Load.Late
	case p.Late != "":
		return p.Late
	}
	return LateAuto
}

// Stage moves the VU count or the rate linearly to Target over Duration.
type Stage struct {
	Duration time.Duration
	Target   float64 // VUs (closed) or iterations per second (open)
}

// Burst releases Size iterations at once, Every interval, Count times.
type Burst struct {
	Size  int
	Every time.Duration
	Count int
}

// MaxStageTarget is the highest target of the stages and the start value.
func (l LoadSpec) MaxStageTarget(start float64) float64 {
	m := start
	for _, s := range l.Stages {
		m = max(m, s.Target)
	}
	return m
}

// Step is one step of a scenario.
type Step struct {
	Name string
	// Kind is the name of the step's driver (one of Options.StepKinds) or "sleep".
	Kind   string
	Target string // target name; empty for sleep
	Sleep  time.Duration
	// Weight is the step's share of iterations in a mix.
	Weight float64
	Node   *yaml.Node // value under the kind key
	Expect *yaml.Node
	// Capture is the step's `capture:` (values saved from its reply for
	// the steps after it), compiled; nil when it has none or they have
	// problems (reported). CaptureNames are their names in order, also
	// then; CaptureNode is the mapping as written.
	Capture      *tmpl.Captures
	CaptureNames []string
	CaptureNode  *yaml.Node
	captureKey   *yaml.Node
	captureBad   bool // the schema found problems under capture:
	Pos          diag.Pos
	// Invalid marks a step with problems already reported; later stages
	// skip it so that no problem is reported twice.
	Invalid bool
}

// NetworkFaultKinds are the fault kinds runplan applies through its network
// fault proxy, for any target.
var NetworkFaultKinds = []string{"latency", "bandwidth", "blackhole", "reset", "slicer", "limit_data", "down"}

// faultFields are the keys of a fault that are not its kind.
var faultFields = []string{"name", "description", "target", "at", "for", "probability", "recovery"}

// Fault is one entry of the fault timeline.
type Fault struct {
	Name string
	// Description is the fault's description:, for people.
	Description string
	Target      string
	At          time.Duration
	// For is how long the fault lasts; zero means until the end of the run.
	For time.Duration
	// Probability that the fault happens at all (1 by default).
	Probability float64
	// Kind is the fault's kind key; Node the value under it.
	Kind     string
	Node     *yaml.Node
	KindNode *yaml.Node
	Recovery Recovery
	Pos      diag.Pos
	Invalid  bool // problems already reported
}

// Network reports whether the fault acts through the network fault proxy.
func (f *Fault) Network() bool {
	for _, k := range NetworkFaultKinds {
		if f.Kind == k {
			return true
		}
	}
	return false
}

// Recovery says when the scenarios a fault affected count as recovered:
// from the first moment after the fault's end that starts a stretch of
// Intervals × the time-series interval whose p99 is within Latency (a
// fraction) above the baseline and whose success rate is within Success
// below it (engine/fault.Window, docs/FAULTS.md).
type Recovery struct {
	Latency   float64
	Success   float64
	Intervals int
}

// Recovery defaults, documented in docs/FAULTS.md.
const (
	DefaultRecoveryLatency   = 0.5
	DefaultRecoverySuccess   = 0.02
	DefaultRecoveryIntervals = 2
)

// Check is a pass/fail expression with its weight.
type Check struct {
	Name string
	// Description is the check's description:, for people.
	Description string
	Expr        string
	ExprNode    *yaml.Node
	Weight      float64
	Critical    bool
	// Good and Bad, when HasBounds, give partial credit: the check's value
	// earns its full weight at Good or beyond, nothing at Bad or beyond,
	// linearly in between. Durations are in nanoseconds.
	Good, Bad float64
	HasBounds bool
	// BoundsAreDurations is true when the bounds were written as durations.
	BoundsAreDurations bool
	BoundsNode         *yaml.Node
	Pos                diag.Pos
	Invalid            bool // problems already reported
}

// Readiness holds the score bands of the verdicts.
type Readiness struct {
	Ready    float64 // score at or above: ready
	Degraded float64 // score at or above: degraded; below: not_ready
}

// Recommendation is a plan-defined advice, given when its condition holds.
type Recommendation struct {
	When     string
	WhenNode *yaml.Node
	Say      string
	SayNode  *yaml.Node
	Invalid  bool // problems already reported
}

// TargetByName returns the named target or nil.
func (p *Plan) TargetByName(name string) *Target {
	for _, t := range p.Targets {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// MaxEnd returns the latest planned end of any scenario (start + duration),
// zero when a scenario runs by iteration count only.
func (p *Plan) MaxEnd() time.Duration {
	var end time.Duration
	for _, s := range p.Scenarios {
		end = max(end, s.Start+s.Load.Duration)
	}
	return end
}
