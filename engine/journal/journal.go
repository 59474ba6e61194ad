// Package journal records on disk what a run changed on servers it did not
// start — a server setting and its original value, a pause and when it ends
// by itself, the namespace of the keys it writes — before it changes them,
// and forgets each change once it is undone. A run that dies before it can
// undo (SIGKILL, a power cut, a panic in a driver) leaves its journal
// behind: the next run against the same server warns, and `runplan cleanup`
// restores what the journal holds.
//
// One small JSON file per run, under Dir (by default
// $XDG_STATE_HOME/runplan/journal), mode 0600, rewritten atomically (a
// temporary file, fsync, rename) on every change, and removed when nothing
// is left to undo. The package knows no driver: entries are plain data that
// the driver that wrote them interprets.
package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Entry kinds.
const (
	// KindSetting is a server setting changed: Name, its original value in
	// Was, the value set in Now.
	KindSetting = "setting"
	// KindPause is a pause of the server's clients (Name is its mode) that
	// ends by itself at Until.
	KindPause = "pause"
	// KindKeys is the namespace of the keys a run writes: Name is the
	// prefix every one of them starts with; it always names the run.
	KindKeys = "keys"
)

// Entry is one change a run made (or is about to make) on a server.
type Entry struct {
	Kind string `json:"kind"`
	// Node is the server the change is on (host:port) when the target has
	// several (cluster primaries); empty for the target as a whole.
	Node string `json:"node,omitempty"`
	Name string `json:"name"`
	Was  string `json:"was,omitempty"`
	Now  string `json:"now,omitempty"`
	// Until is when the change ends by itself (zero: never).
	Until time.Time `json:"until,omitzero"`
	// Fault names the plan's fault that made the change, if one did.
	Fault string `json:"fault,omitempty"`
}

// same reports whether e and o are the same change (the same thing on the
// same server), whatever their values.
func (e Entry) same(o Entry) bool { return e.Kind == o.Kind && e.Node == o.Node && e.Name == o.Name }

// Expired reports whether the change has ended by itself at now.
func (e Entry) Expired(now time.Time) bool { return !e.Until.IsZero() && !now.Before(e.Until) }

// String describes the change for people, without secrets (entries hold
// none).
func (e Entry) String() string {
	on := ""
	if e.Node != "" {
		on = " on " + e.Node
	}
	switch e.Kind {
	case KindSetting:
		now := e.Now
		if now == "" {
			now = "changed"
		}
		return fmt.Sprintf("%s=%s (was %s)%s", e.Name, now, quoteEmpty(e.Was), on)
	case KindPause:
		return fmt.Sprintf("clients paused (%s)%s until %s, when the pause ends by itself", strings.ToLower(e.Name), on,
			e.Until.UTC().Format(time.RFC3339))
	case KindKeys:
		return fmt.Sprintf("keys under %q%s", e.Name, on)
	}
	return e.Kind + " " + e.Name + on
}

func quoteEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// Target is what one run changed on one target of its plan.
type Target struct {
	// Name is the target's name in the plan; Driver its driver.
	Name   string `json:"name"`
	Driver string `json:"driver"`
	// Server identifies the server(s) without secrets, the same for every
	// run against them (e.g. redis://127.0.0.1:6379/0): what `runplan
	// cleanup` is given.
	Server  string  `json:"server"`
	Entries []Entry `json:"entries"`
}

// Run is one run's journal file.
type Run struct {
	RunID string `json:"run_id"`
	PID   int    `json:"pid"`
	Host  string `json:"host"`
	// ProcStart tells a reused process id apart: the process's start time
	// as the system counts it (clock ticks since boot on Linux); zero where
	// unknown.
	ProcStart uint64    `json:"proc_start,omitempty"`
	Started   time.Time `json:"started"`
	Plan      string    `json:"plan,omitempty"`
	Targets   []Target  `json:"targets"`

	path string // the file it was read from or is written to
}

// Path returns the file the run's journal lives in.
func (r *Run) Path() string { return r.path }

// Empty reports whether nothing is left to undo.
func (r *Run) Empty() bool {
	for _, t := range r.Targets {
		if len(t.Entries) > 0 {
			return false
		}
	}
	return true
}

// ErrNoHome is returned by DefaultDir when neither XDG_STATE_HOME nor a home
// directory is known.
var ErrNoHome = errors.New("journal: no state directory: set XDG_STATE_HOME")

// DefaultDir returns $XDG_STATE_HOME/runplan/journal, or
// ~/.local/state/runplan/journal when XDG_STATE_HOME is unset (the XDG base
// directory specification). It creates nothing.
func DefaultDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "runplan", "journal"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return "", ErrNoHome
	}
	return filepath.Join(home, ".local", "state", "runplan", "journal"), nil
}

// fileName maps a run id to a file name, keeping only safe characters.
func fileName(runID string) string {
	b := []byte(runID)
	for i, c := range b {
		ok := c == '-' || c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !ok {
			b[i] = '_'
		}
	}
	return strings.TrimLeft(string(b), ".") + ".json"
}

// Journal is the live journal of the running process's run. Its methods
// are safe for concurrent use. With an empty directory it keeps its
// entries in memory only (what is left is still known at the end of the
// run, for the report).
type Journal struct {
	mu      sync.Mutex
	dir     string
	run     Run
	written bool // the file exists
}

// New starts the journal of run in dir ("" keeps it in memory). The run's
// PID, Host, ProcStart and Started are filled in from this process when
// zero. Nothing is written until the first entry is recorded.
func New(dir string, run Run) *Journal {
	if run.PID == 0 {
		run.PID = os.Getpid()
		run.ProcStart = procStart(run.PID)
	}
	if run.Host == "" {
		run.Host, _ = os.Hostname()
	}
	if run.Started.IsZero() {
		run.Started = time.Now()
	}
	run.Started = run.Started.UTC()
	if dir != "" {
		run.path = filepath.Join(dir, fileName(run.RunID))
	}
	return &Journal{dir: dir, run: run}
}

// Path returns the journal's file ("" in memory).
func (j *Journal) Path() string { return j.run.path }

// Log is the journal of one target. Its methods are safe for concurrent
// use.
type Log struct {
	j    *Journal
	name string
}

// For returns the log of target name (driver drv, server identity server),
// adding it to the journal.
func (j *Journal) For(name, drv, server string) *Log {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !slices.ContainsFunc(j.run.Targets, func(t Target) bool { return t.Name == name }) {
		j.run.Targets = append(j.run.Targets, Target{Name: name, Driver: drv, Server: server, Entries: []Entry{}})
	}
	return &Log{j: j, name: name}
}

func (j *Journal) target(name string) *Target {
	for i := range j.run.Targets {
		if j.run.Targets[i].Name == name {
			return &j.run.Targets[i]
		}
	}
	return nil
}

// Record adds e before the change it describes is made, and writes the
// journal. Recording the same change again (same kind, node and name)
// updates Now, Until and Fault but keeps the first Was: the original value
// is the one before the first change. An error means the change must not
// be made: nothing would be left to undo it after a crash.
func (l *Log) Record(e Entry) error {
	j := l.j
	j.mu.Lock()
	defer j.mu.Unlock()
	t := j.target(l.name)
	if t == nil {
		return fmt.Errorf("journal: unknown target %q", l.name)
	}
	before := slices.Clone(t.Entries)
	if i := slices.IndexFunc(t.Entries, e.same); i >= 0 {
		e.Was = t.Entries[i].Was
		t.Entries[i] = e
	} else {
		t.Entries = append(t.Entries, e)
	}
	if err := j.sync(); err != nil {
		t.Entries = before
		return err
	}
	return nil
}

// Forget removes e (matched by kind, node and name) once the change is
// undone, and writes the journal — removing its file when nothing is left.
func (l *Log) Forget(e Entry) error {
	j := l.j
	j.mu.Lock()
	defer j.mu.Unlock()
	t := j.target(l.name)
	if t == nil {
		return nil
	}
	n := len(t.Entries)
	t.Entries = slices.DeleteFunc(t.Entries, e.same)
	if len(t.Entries) == n {
		return nil
	}
	return j.sync()
}

// Left returns the targets with changes not undone yet, each with its
// entries (copies).
func (j *Journal) Left() []Target {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []Target
	for _, t := range j.run.Targets {
		if len(t.Entries) > 0 {
			t.Entries = slices.Clone(t.Entries)
			out = append(out, t)
		}
	}
	return out
}

// Close writes the journal a last time: it removes the file when nothing
// is left to undo and keeps it, with what is left, otherwise.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.sync()
}

// sync writes the run's file, or removes it when nothing is left. Called
// with mu held.
func (j *Journal) sync() error {
	if j.dir == "" {
		return nil
	}
	if j.run.Empty() {
		if !j.written {
			return nil
		}
		if err := os.Remove(j.run.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("journal: %w", err)
		}
		j.written = false
		return nil
	}
	if err := os.MkdirAll(j.dir, 0o700); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err := writeAtomic(j.run.path, &j.run); err != nil {
		return err
	}
	j.written = true
	return nil
}

// writeAtomic writes r to path through a temporary file in the same
// directory, synced before the rename, so that a crash leaves either the
// old journal or the new one, never half of one.
func writeAtomic(path string, r *Run) (err error) {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp") // mode 0600
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	// The rename itself is durable once the directory is synced; not every
	// system can sync a directory, and the file is complete either way.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// Load reads every run journal in dir. A missing directory holds none. A
// file that cannot be read or decoded is reported in errs and skipped.
// Runs are sorted by start time.
func Load(dir string) (runs []*Run, errs []error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, []error{fmt.Errorf("journal: %w", err)}
	}
	for _, p := range names {
		data, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("journal: %w", err))
			continue
		}
		r := &Run{}
		if err := json.Unmarshal(data, r); err != nil {
			errs = append(errs, fmt.Errorf("journal: %s: %w", p, err))
			continue
		}
		r.path = p
		runs = append(runs, r)
	}
	slices.SortFunc(runs, func(a, b *Run) int { return a.Started.Compare(b.Started) })
	return runs, errs
}

// Save writes r back to the file it was loaded from, or removes the file
// when nothing is left to undo (after `runplan cleanup`).
func (r *Run) Save() error {
	if r.path == "" {
		return errors.New("journal: run was not loaded from a file")
	}
	if r.Empty() {
		if err := os.Remove(r.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("journal: %w", err)
		}
		return nil
	}
	return writeAtomic(r.path, r)
}

// Liveness says whether a run's process may still be running.
type Liveness int

// Liveness values.
const (
	// Alive: the process runs on this host (its journal is in use).
	Alive Liveness = iota
	// Dead: no such process on this host: the run ended without undoing
	// what is left in its journal.
	Dead
	// Unknown: the run was on another host (a shared state directory), or
	// this system cannot tell.
	Unknown
)

func (l Liveness) String() string {
	switch l {
	case Alive:
		return "alive"
	case Dead:
		return "dead"
	}
	return "unknown"
}

// Liveness tells whether r's process still runs. A process id reused by
// another process counts as dead where the start time tells them apart.
func (r *Run) Liveness() Liveness {
	host, _ := os.Hostname()
	if r.Host != host || r.PID <= 0 {
		return Unknown
	}
	return pidLiveness(r.PID, r.ProcStart)
}
