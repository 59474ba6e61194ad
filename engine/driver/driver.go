// Package driver defines the contract between the engine and the drivers that
// do I/O against targets (Redis, webhooks, ...), and the registry through which
// drivers make themselves known, in the manner of database/sql.
//
// Lifecycle, for every target of a plan:
//
//	Driver.Configure (decodes and validates the target once, no I/O) → Config
//	Config.Prepare for every step (validation, no I/O)
//	FaultPreparer.PrepareFault for every fault of the target's driver (no I/O)
//	Identifier.Identity (the journal identity, no I/O)
//	Config.Open (connects; starts an embedded server when the target has no URL)
//	Step.Bind (once per step, after Open)
//	Step.Do (many times, concurrently)
//	Journaler.BindJournal (targets on servers runplan did not start)
//	Cleaner.Cleanup, then Target.Close (also after a failed run)
//
// A target's options are decoded once, by Configure: everything after it
// works from the Config, and no driver decodes a target a second time.
//
// The validating calls (Configure, Prepare, PrepareFault) report problems
// in the plan as engine/diag describes: each at its node (diag.Errorf), all
// of them joined (errors.Join), words suggested with diag.Suggest. The
// engine shows them as "file:line:col: message".
//
// A driver's steps may produce figures of their own (a cache's hits, a
// client's rate-limit wait): the driver declares them once (StepMetricser,
// see metrics.go) and every Outcome carries their values in a fixed-size
// array (Outcome.Counters); checks, the report and its schema take them
// from the declaration.
//
// Nothing in this package imports a driver; drivers import this package.
package driver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/journal"
	"github.com/runplan/runplan/engine/tmpl"
)

// Driver configures targets of one family of systems (Redis, webhooks).
// Implementations must be safe for concurrent use.
type Driver interface {
	// Configure decodes and validates target t once, strictly and without
	// any I/O, reporting every problem (engine/diag). The Config it returns
	// is what every later call works from: nothing decodes t again. With
	// problems it may still return a Config, its best reading of t: the
	// engine then checks the target's steps and faults against it, so that
	// one validation lists every problem, and never opens it.
	Configure(t TargetSpec) (Config, error)
	// Schema returns the driver's part of the plan schema; the same on every call.
	Schema() SchemaFragment
}

// Config is one target's configuration, decoded and validated once by
// Driver.Configure. It is immutable, does no I/O but in Open, and is safe
// for concurrent use. Optional interfaces, found by type assertion:
// FaultPreparer, Identifier.
type Config interface {
	// Prepare decodes and validates one step against this target without
	// any I/O. Templates are compiled here, through s.Templates.
	Prepare(s StepSpec) (Step, error)
	// Open connects to the target, starting an embedded server when the
	// target has no URL. When Open fails it either returns a nil Target,
	// having released what it acquired, or a non-nil Target that the
	// caller closes (Target.Close is also called after a failed Open).
	Open(ctx context.Context, env Env) (Target, error)
}

// Sharer is a Config that says whether its target is a server runplan
// does not start — the same one for every process of a run, so that the
// segments of a run share its state (docs/SCALE.md) — or one each process
// starts for itself (an embedded or managed server). Without it, a target
// with a URL is taken as shared. Shared must be safe for concurrent use.
type Sharer interface {
	Shared() bool
}

// Clocker is a Target that can tell its server's clock. The segments of a
// run read it, on a target they share, to measure how far apart their own
// clocks are (docs/SCALE.md). ServerTime must be safe for concurrent use
// and cost one round trip.
type Clocker interface {
	ServerTime(ctx context.Context) (time.Time, error)
}

// Target is an open connection (pool) to one system. Close is called once,
// after every step has finished. Implementations are safe for concurrent use.
type Target interface {
	// Kind says where the numbers come from: KindEmbedded, KindManaged or KindExternal.
	Kind() string
	// Addr describes the target for reports, with every secret redacted.
	Addr() string
	Close() error
}

// Describer is implemented by targets that say which software serves them
// and what a reader of the report must know about their figures. The engine
// copies both into the report's target; every renderer shows the notices as
// a banner, and checks that read a latency figure of a scenario on the
// target carry them as a note. Both are fixed once the target is open;
// implementations are safe for concurrent use.
type Describer interface {
	// Software names what serves the target, e.g. "redis-server 7.0.15" or
	// "miniredis"; "" when unknown.
	Software() string
	// Notices are warnings about the target's figures, e.g. "in-process
	// miniredis: figures are not Redis measurements"; none for most targets.
	Notices() []string
}

// Target kinds, as reported.
const (
	KindEmbedded = "embedded"
	KindManaged  = "managed"
	KindExternal = "external"
)

// Step is a prepared step. Bind is called once before the run; Do is then
// called concurrently by many virtual users and must not block beyond ctx.
type Step interface {
	Bind(t Target) error
	Do(ctx context.Context, it *Iteration) Outcome
}

// Cleaner is implemented by targets that leave state behind (generated keys).
// Cleanup runs after the run, before Close, with its own deadline.
type Cleaner interface {
	Cleanup(ctx context.Context) error
}

// CleanupResult is what a cleanup did, for the report.
type CleanupResult struct {
	// What names what was cleaned, without secrets (e.g. `keys under
	// "runplan:20260102T030405-ab12cd34:"`).
	What string
	// KeysRemoved counts the keys deleted.
	KeysRemoved int64
	// KeysLeft counts the run's keys still on the server after a failed
	// cleanup: 0 after a successful one, -1 when unknown.
	KeysLeft int64
	// Deferred is set when the target is shared by the segments of a run
	// and other segments were still running: the cleanup is left to the
	// last segment to end, and What says how many had ended.
	Deferred bool
}

// ResultCleaner is a Cleaner that says what it cleaned, and what it left
// after a failure; the engine prefers it to Cleanup. Clean runs after the
// run, before Close, with its own deadline.
type ResultCleaner interface {
	Clean(ctx context.Context) (CleanupResult, error)
}

// Journal records what a driver is about to change on a server runplan did
// not start — before it changes it — and forgets each change once it is
// undone, so that a run killed before its undo leaves enough behind for
// `runplan cleanup` (package journal). A Record error means the change must
// not be made. Implementations are safe for concurrent use.
type Journal interface {
	Record(e journal.Entry) error
	Forget(e journal.Entry) error
}

// Journaler is implemented by targets that may change state on servers
// runplan did not start. The engine calls BindJournal once, after Open and
// before the prefill or any step: the target records the namespace of the
// keys it will write at once, and every server setting it changes before it
// changes it. j is never nil.
type Journaler interface {
	BindJournal(j Journal) error
}

// Identifier is implemented by the Configs of targets that journal their
// changes (see Journaler). Safe for concurrent use.
type Identifier interface {
	// Identity returns the journal identity of the target's servers: no
	// secret, the same for every run against them (e.g.
	// redis://127.0.0.1:6379/0); "" when runplan starts the servers itself,
	// so that nothing outlives the run. No I/O.
	Identity() string
}

// Recoverer is implemented by drivers whose targets journal their changes:
// it restores what a dead run left, for `runplan cleanup`, from the URL of
// the servers alone (no plan, no Config). Safe for concurrent use.
type Recoverer interface {
	// URLIdentity returns the identity of the servers a URL given to
	// `runplan cleanup` names; an error wrapping ErrNotHandled when the
	// driver does not handle the URL's scheme. No I/O.
	URLIdentity(url string) (string, error)
	// Recover restores, on the servers url names, what run runID left in
	// entries (read from its journal): original settings, pauses, and the
	// run's keys (only a namespace that names runID). It returns what it
	// completed; the error joins what it could not.
	Recover(ctx context.Context, url, runID string, entries []journal.Entry) (RecoverResult, error)
}

// RecoverResult is what Recover did.
type RecoverResult struct {
	// Done lists the entries restored, or found already undone or expired.
	Done []journal.Entry
	// Notes say what was done, one line each, without secrets.
	Notes []string
	// KeysRemoved counts the keys deleted.
	KeysRemoved int64
}

// ErrNotHandled is returned by Recoverer.URLIdentity for a URL whose scheme
// belongs to another driver.
var ErrNotHandled = errors.New("driver: url not handled")

// Pinger is implemented by targets that can prove they are reachable.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Outcome is what one Do reports. The engine measures the call's duration
// itself; drivers only say what happened.
type Outcome struct {
	// Err is nil on success.
	Err error
	// Class names the kind of failure ("timeout", "refused", "status", ...).
	// Empty with a non-nil Err lets the engine classify the error.
	Class string
	// Counters are the step's own figures (StepMetricser), by slot: a cache
	// lookup that hit adds 1 to the slot of the driver's "hits" counter, a
	// rate-limit wait its nanoseconds to the slot of its duration. A fixed
	// array, so that returning an Outcome allocates nothing; zero for
	// drivers that declare no step metrics.
	Counters Counters
	// Ops is how many operations the call carried (a pipeline of 16
	// commands: 16); zero means one. Rates of operations use it, while
	// counts and latencies stay per call (per round trip).
	Ops int
	// Reply is the call's reply, for the step's `capture:` expressions
	// (reply.NAME): set only on success of a step prepared with
	// StepSpec.WantReply, nil otherwise, so that an Outcome still costs no
	// allocation. Its shape is the driver's to document, built of the
	// types a JSON decoder gives — string, int64, float64, bool, nil,
	// []any, map[string]any — so that expressions read it as they read
	// JSON. The engine reads it once, before the next Do of the VU, and
	// keeps only the values the captures select.
	Reply any
}

// Iteration is the state of one iteration of one virtual user. It is owned by
// one goroutine at a time and reused from one iteration to the next.
type Iteration struct {
	Scenario  string
	VU        int   // 1-based virtual user number within the scenario (the whole plan's number in a segment)
	Number    int64 // 0-based iteration number within the scenario
	VUIter    int64 // 0-based iteration number of this VU
	Rand      *rand.Rand
	Templates *tmpl.State
}

// TargetSpec is the configuration of one target, from the plan.
type TargetSpec struct {
	Name   string
	Driver string
	// URL is empty for an embedded target.
	URL string
	// Node is the target's YAML mapping, for decoding driver options with
	// positions (keys "driver" and "url" included).
	Node *yaml.Node
	// RunID identifies the run; drivers derive key prefixes from it.
	RunID string
	// RunLength is how long the run is planned to last: the latest end of a
	// scenario (its start plus its duration) plus the graceful stop of its
	// iterations in flight. Zero when unknown: some scenario is bounded by
	// an iteration count only. Drivers size expiries from it.
	RunLength time.Duration
	// SegmentIndex and SegmentCount say which execution segment of the
	// run this process runs (docs/SCALE.md); SegmentCount is 0 or 1 for a
	// whole run. With SegmentCount > 1, a target with a URL is shared by
	// the segments' processes: a driver that cleans it up leaves that to
	// the last segment to end (CleanupResult.Deferred).
	SegmentIndex, SegmentCount int
	// AllowDestructive is true only when both the plan's target
	// (allow_destructive: true) and the command line (--allow-destructive)
	// allow destructive operations on a target runplan did not start.
	AllowDestructive bool
}

// StepSpec is one step of a scenario, from the plan.
type StepSpec struct {
	// Name is the step's name (given, or derived from its position).
	Name string
	// Node is the value under the driver's key (for `redis: [GET, k]`, the
	// sequence node), for decoding with positions.
	Node *yaml.Node
	// Expect is the step's `expect:` mapping, or nil.
	Expect *yaml.Node
	// Templates compiles `{{ expr }}` strings.
	Templates *tmpl.Compiler
	// WantReply is true when the step has `capture:`: on success, Do
	// returns the call's reply in Outcome.Reply. A driver whose steps
	// cannot give a reply refuses such a step in Prepare (engine/diag).
	WantReply bool
	// Load describes the scenario's load, for drivers that warn when a plan
	// aims more load at a service than its documented limits allow.
	Load LoadInfo
	// Warn records a validation warning located at node n (nil: the step).
	// It never fails validation. Never nil.
	Warn func(n *yaml.Node, msg string)
}

// LoadInfo summarises a scenario's load for drivers.
type LoadInfo struct {
	// Model is "closed" or "open".
	Model string
	// VUs is the closed model's VUs or the open model's max_vus.
	VUs int
	// Rate is the open model's peak arrival rate per second (0 for closed).
	Rate float64
	// Duration is the scenario's planned duration (0 when unbounded).
	Duration time.Duration
}

// ServerStatser is implemented by targets that can read the server's own
// statistics (Redis INFO). The engine samples it at the start, every
// interval and at the end of the run. Values are raw counters and gauges
// named as the driver's ServerMetrics documents; a figure the server does
// not provide is absent from the map, never zero.
type ServerStatser interface {
	ServerStats(ctx context.Context) (map[string]float64, error)
}

// IdentifiedServerStatser is implemented by ServerStatsers that can say
// which server answered: IdentifiedServerStats is ServerStats plus an opaque
// identity of the server process(es) read (Redis: each primary's run_id and
// role), "" when unknown. The engine notes when the identity changes during
// a run — a failover, a restart — because figures derived from the first and
// last samples then span different servers. Safe for concurrent use.
type IdentifiedServerStatser interface {
	ServerStatser
	IdentifiedServerStats(ctx context.Context) (stats map[string]float64, server string, err error)
}

// DurationUnits are the units of ServerMetric.Unit, each in milliseconds.
var DurationUnits = map[string]float64{"s": 1000, "ms": 1, "us": 0.001}

// ServerMetricser is implemented by drivers whose targets are
// ServerStatsers: it lists the names visible to checks as
// `<target>.server.<name>` and how each is derived from the samples.
type ServerMetricser interface {
	ServerMetrics() []ServerMetric
}

// ServerMetric is one figure of `<target>.server.*`.
type ServerMetric struct {
	Name string
	// Help says what it means, for docs and reports.
	Help string
	// Unit is the unit of a figure that is a duration, as the server
	// reports it and checks read it: "s", "ms" or "us" (DurationUnits).
	// Reports show such a figure as a latency in ms, like the client-side
	// ones ("23µs", "1.20ms", "2.50s"). Empty for everything else (counts,
	// ratios, rates, bytes).
	Unit string
	// Compute derives the figure from the first and last samples and the
	// peak of every sample (per raw name). ok is false when the samples lack
	// what it needs: the figure is then reported as unavailable.
	Compute func(first, last, peak map[string]float64, elapsed time.Duration) (v float64, ok bool)
}

// FaultSpec is one fault of the plan's timeline whose kind a driver
// handles (a Redis CLIENT PAUSE, a webhook sink answering 503, ...).
type FaultSpec struct {
	Name string
	// Kind is the fault's key in the plan (client_pause, http, ...).
	Kind string
	// For is the fault's planned length; zero means until the end of the
	// run (some faults, like a timed CLIENT PAUSE, need it up front).
	For time.Duration
	// Node is the value under the kind's key, for decoding with positions.
	Node *yaml.Node
}

// Faulter is implemented by drivers with fault kinds of their own: the
// kinds are known without a target. Their Configs are FaultPreparers.
type Faulter interface {
	// FaultKinds lists the kinds the driver handles.
	FaultKinds() []string
}

// FaultPreparer is implemented by the Configs of drivers that are
// Faulters. Safe for concurrent use.
type FaultPreparer interface {
	// PrepareFault decodes and validates one fault on this target without
	// any I/O; it refuses faults that change a server runplan did not
	// start unless the target allows destructive operations.
	PrepareFault(f FaultSpec) (Fault, error)
}

// Fault is a prepared fault. The engine calls Start when the fault's window
// opens and the returned undo when it closes — and at exit in every case,
// also after an error or an interruption. Undo restores the target; it
// must be safe to call after a partial Start. Both run on the engine's
// timeline goroutine, concurrently with steps.
type Fault interface {
	Start(ctx context.Context, t Target) (undo func(context.Context) error, err error)
}

// Prefiller is implemented by targets that load data before the run is
// measured (a keyspace prefill). The engine calls Prefill after Open and
// before any scenario starts.
type Prefiller interface {
	Prefill(ctx context.Context) error
}

// Env is what the engine offers a target at Open time.
type Env struct {
	// Seed is the plan's random seed.
	Seed uint64
	// Log receives human-readable progress notes (never secrets).
	Log func(msg string)
	// Via, when not nil, returns the address to dial to reach upstream (a
	// host:port the driver would otherwise dial) through runplan's fault
	// proxy; drivers call it for every address they dial, at dial time
	// (cluster nodes, sentinels, replicas included). It is set only for
	// targets with network faults in the plan. Safe for concurrent use.
	Via func(upstream string) (string, error)
}

// ErrAbortScenario, wrapped in an Outcome's Err, asks the engine to stop
// the scenario at once: no new iterations start, and the report says why
// (for example an invalid-request budget spent, before a real service bans
// the user's address). The outcome itself is recorded as a failure.
var ErrAbortScenario = errors.New("driver: scenario aborted")

// ErrUnknownDriver is returned by Lookup for a name nobody registered.
var ErrUnknownDriver = errors.New("driver: unknown driver")

var (
	mu      sync.RWMutex
	drivers = map[string]Driver{}
)

// Register makes a driver available under name. It panics if d is nil, the
// name is taken (as database/sql does) or its step metrics are declared
// wrongly (CheckStepMetrics). Call it from init.
func Register(name string, d Driver) {
	mu.Lock()
	defer mu.Unlock()
	if d == nil {
		panic("driver: Register driver is nil")
	}
	if _, dup := drivers[name]; dup {
		panic("driver: Register called twice for driver " + name)
	}
	if err := CheckStepMetrics(StepMetricsOf(d)); err != nil {
		panic(fmt.Sprintf("driver: Register %s: %v", name, err))
	}
	drivers[name] = d
}

// Lookup returns the driver registered under name.
func Lookup(name string) (Driver, error) {
	mu.RLock()
	defer mu.RUnlock()
	d, ok := drivers[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownDriver, name)
	}
	return d, nil
}

// Drivers returns the sorted names of the registered drivers.
func Drivers() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(drivers))
	for n := range drivers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
