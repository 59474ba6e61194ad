// Package export streams a run's figures to outside systems while it runs
// (runplan run --export KIND=TARGET): a registry of exporter kinds, in the
// database/sql model, and the contract every kind keeps.
//
// An exporter reads the run's live figures (engine.Program.Progress) and,
// once it is over, the report; it never changes either. Exporting is never
// part of the measurement: a receiver that is down or refuses what it is
// sent costs a logged warning and a note in the report, never the run nor
// its exit code.
package export

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/rs/zerolog"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/load"
	"github.com/runplan/runplan/engine/redact"
	"github.com/runplan/runplan/engine/report"
)

// Run is what an exporter sees of a run in flight: *engine.Program
// satisfies it. Its methods are safe to call while the run runs.
type Run interface {
	PlanInfo() report.PlanInfo
	RunID() string
	// Segment is the execution segment the run runs: the segments of one
	// run share its run ID, so their series need a label apart.
	Segment() load.Segment
	Layout() report.Layout
	Progress() []engine.ScenarioProgress
	FaultProgress() []engine.FaultProgress
}

var _ Run = (*engine.Program)(nil)

// Exporter streams one run's figures. Lifecycle: Open (by kind) → Start,
// once, before the run starts → Finish, once, with the report when it is
// over. Start returns at once; whatever it starts ends by the time Finish
// returns. Start and Finish are called from one goroutine.
type Exporter interface {
	// Start begins streaming run's live figures until ctx ends or Finish.
	Start(ctx context.Context, run Run)
	// Finish sends the final figures (rep's, which it must not change),
	// within ctx, and stops. It returns notes for the report: what could
	// not be exported, its secrets masked; nil when everything was.
	Finish(ctx context.Context, rep *report.Report) []string
}

// Options are given to every exporter an Open opens.
type Options struct {
	// Log receives the exporter's warnings; the zero logger discards.
	Log zerolog.Logger
	// Secrets learns the credentials of the target before the exporter
	// sees it (Open registers them), and masks what the exporter logs or
	// notes. Nil: a Redactor of Open's own.
	Secrets *redact.Redactor
}

// Opener opens an exporter of one kind on target, the text after
// "KIND=". It checks target (and does no I/O): a bad target is an error
// now, not a warning during the run.
type Opener func(target string, opts Options) (Exporter, error)

// ErrUnknownKind is wrapped by Open's error for a kind nobody registered.
var ErrUnknownKind = errors.New("export: unknown kind")

var (
	mu    sync.RWMutex
	kinds = map[string]Opener{}
)

// Register makes an exporter kind available to Open; it panics on a nil
// opener or a kind registered twice. Call it from an init function.
func Register(kind string, open Opener) {
	mu.Lock()
	defer mu.Unlock()
	if open == nil {
		panic("export: Register opener is nil")
	}
	if _, dup := kinds[kind]; dup {
		panic("export: Register called twice for kind " + kind)
	}
	kinds[kind] = open
}

// Kinds returns the registered kinds, sorted.
func Kinds() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Open opens the exporter spec names, "KIND=TARGET" (--export's value).
// The target's credentials are registered with opts.Secrets first, so that
// no error, log line or note shows them.
func Open(spec string, opts Options) (Exporter, error) {
	if opts.Secrets == nil {
		opts.Secrets = redact.New()
	}
	kind, target, ok := strings.Cut(spec, "=")
	opts.Secrets.AddURL(target)
	if !ok || kind == "" || target == "" {
		return nil, fmt.Errorf("export: %q: want KIND=TARGET (kinds: %s)", opts.Secrets.String(spec), strings.Join(Kinds(), ", "))
	}
	mu.RLock()
	open := kinds[kind]
	mu.RUnlock()
	if open == nil {
		return nil, fmt.Errorf("%w %q (kinds: %s)", ErrUnknownKind, kind, strings.Join(Kinds(), ", "))
	}
	e, err := open(target, opts)
	if err != nil {
		return nil, opts.Secrets.Error(fmt.Errorf("export %s: %w", kind, err))
	}
	return e, nil
}
