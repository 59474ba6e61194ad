package report

import (
	"fmt"
	"strings"
	"time"
)

// Leftover is a change a run made on a target and could not undo or clean
// up: the target still differs from what it was before the run. A clean
// run has none. Where the run journaled it (a server runplan did not
// start), `runplan cleanup <Server>` restores it later.
type Leftover struct {
	Target string `json:"target"`
	// Server is the target's journal identity (no secrets), the argument of
	// runplan cleanup; empty when the change was not journaled.
	Server string `json:"server,omitempty"`
	// Kind is setting, pause or keys (journal entry kinds).
	Kind string `json:"kind"`
	// Node is the server the change is on, when the target has several.
	Node string `json:"node,omitempty"`
	// Name is the setting, the pause's mode or the keys' namespace.
	Name string `json:"name"`
	// Was is a setting's original value; Now what the run set.
	Was string `json:"was,omitempty"`
	Now string `json:"now,omitempty"`
	// Until is when the change ends by itself (a pause), if it does.
	Until *time.Time `json:"until,omitempty"`
	// Fault is the plan's fault that made the change.
	Fault string `json:"fault,omitempty"`
	// KeysLeft counts the run's keys still there, when they could be
	// counted.
	KeysLeft *int64 `json:"keys_left,omitempty"`
	// What says it for people: "maxmemory=1048576 (was 0) on 127.0.0.1:6379".
	What string `json:"what"`
	// Error is why it was not undone.
	Error string `json:"error,omitempty"`
}

// Cleanup is what a target's cleanup did at the end of the run.
type Cleanup struct {
	// What names what was cleaned (e.g. `keys under "runplan:…:"`).
	What        string `json:"what"`
	KeysRemoved int64  `json:"keys_removed"`
	// KeysLeft is 0 after a successful cleanup, the count of the run's keys
	// still there after a failed one, null when they could not be counted.
	KeysLeft *int64 `json:"keys_left"`
	Error    string `json:"error,omitempty"`
	// Deferred: the target is shared by the run's segments and others
	// were still running, so this segment left the cleanup to the last
	// one to end (docs/SCALE.md); KeysLeft is then null.
	Deferred bool `json:"deferred,omitempty"`
}

// DeadRun is an earlier run, found in the journal when this one started,
// that ended without undoing what it changed on one of this run's targets
// (it was killed, or crashed). State is "dead" (no such process on this
// host) or "unknown" (the run was on another host).
type DeadRun struct {
	RunID   string    `json:"run_id"`
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started_at"`
	State   string    `json:"state"`
	Target  string    `json:"target"`
	Server  string    `json:"server"`
	// Changes says what it left, one line each.
	Changes []string `json:"changes"`
	// Journal is the file that holds them.
	Journal string `json:"journal,omitempty"`
}

// cleanupCommand is the command that restores what is left on server.
func cleanupCommand(server string) string { return "runplan cleanup " + server }

// leftoverLine says one leftover in a line, error included.
func leftoverLine(l Leftover) string {
	s := l.What
	if l.Fault != "" {
		s += " (fault " + l.Fault + ")"
	}
	switch {
	case l.Kind == "keys" && l.KeysLeft != nil:
		s += fmt.Sprintf(": %d keys left", *l.KeysLeft)
	case l.Kind == "keys":
		s += ": keys left, how many unknown"
	}
	if l.Error != "" {
		s += ": " + l.Error
	}
	return s
}

// leftoverServers lists the journaled servers with leftovers, in order of
// first appearance.
func leftoverServers(ls []Leftover) []string {
	var out []string
	for _, l := range ls {
		if l.Server != "" && !contains(out, l.Server) {
			out = append(out, l.Server)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// deadRunLine says what a dead run left, in a line.
func deadRunLine(d DeadRun) string {
	who := fmt.Sprintf("run %s (pid %d on %s, started %s)", d.RunID, d.PID, d.Host, d.Started.UTC().Format(time.RFC3339))
	state := "a dead " + who
	if d.State != "dead" {
		state = who + ", which may still be running on another host,"
	}
	return fmt.Sprintf("%s left changes on target %s (%s): %s", state, d.Target, d.Server, strings.Join(d.Changes, "; "))
}
