package engine

import (
	"slices"
	"time"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/journal"
	"github.com/runplan/runplan/engine/metrics"
	"github.com/runplan/runplan/engine/report"
)

// What the engine does so that a run leaves its targets as it found them:
// it journals (package journal) what drivers change on servers runplan did
// not start, retries a failed undo within a budget, and reports what it
// could not undo or clean up — in the report, not only in a log line.

// cleanupBudget bounds a target's cleanup, retries included. (A fault's
// undo is retried within a budget of its own: fault.Timeline.)
const cleanupBudget = 30 * time.Second

// deadRuns looks in the journal directory for runs that are not running
// any more (or ran on another host) and left changes on one of the plan's
// targets (by their journal identity, preparedTarget.identity).
func (prog *Program) deadRuns() []report.DeadRun {
	if prog.opts.JournalDir == "" || !slices.ContainsFunc(prog.targets, func(t *preparedTarget) bool { return t.identity != "" }) {
		return nil
	}
	runs, errs := journal.Load(prog.opts.JournalDir)
	for _, err := range errs {
		prog.opts.Log.Warn().Err(err).Msg("unreadable journal file skipped")
	}
	var out []report.DeadRun
	for _, r := range runs {
		if r.RunID == prog.runID {
			continue
		}
		state := r.Liveness()
		if state == journal.Alive {
			continue
		}
		for _, jt := range r.Targets {
			if len(jt.Entries) == 0 {
				continue
			}
			for _, t := range prog.targets {
				if t.identity == "" || t.identity != jt.Server {
					continue
				}
				d := report.DeadRun{RunID: r.RunID, PID: r.PID, Host: r.Host, Started: r.Started, State: state.String(),
					Target: t.name, Server: jt.Server, Journal: r.Path()}
				for _, e := range jt.Entries {
					d.Changes = append(d.Changes, e.String())
				}
				out = append(out, d)
				prog.opts.Log.Warn().Str("target", t.name).Str("run_id", r.RunID).Str("server", jt.Server).
					Strs("changes", d.Changes).Msg("an earlier run died and left changes on this target; run `runplan cleanup " + jt.Server + "`")
			}
		}
	}
	return out
}

// bindJournal hands an open target tg of t its journal, when it changes
// state on servers runplan did not start.
func (rs *runState) bindJournal(t *preparedTarget, tg driver.Target) error {
	jt, ok := tg.(driver.Journaler)
	if !ok || t.identity == "" || rs.journal == nil {
		return nil
	}
	return jt.BindJournal(rs.journal.For(t.name, t.driver, t.identity))
}

// cleanupResult is one target's cleanup, as it ended.
type cleanupResult struct {
	res driver.CleanupResult
	err error
}

// leftovers lists what the journal still holds at the end of the run —
// what could not be undone or cleaned up — each with the error that kept
// it there. A pause whose planned end has passed is over, not left.
func (rs *runState) leftovers(faults []*metrics.FaultSummary, cleaned map[string]cleanupResult) []report.Leftover {
	if rs.journal == nil {
		return nil
	}
	now := time.Now()
	var out []report.Leftover
	for _, t := range rs.journal.Left() {
		log := rs.journal.For(t.Name, t.Driver, t.Server)
		for _, e := range t.Entries {
			if e.Expired(now) {
				_ = log.Forget(e)
				continue
			}
			l := report.Leftover{Target: t.Name, Server: t.Server, Kind: e.Kind, Node: e.Node, Name: e.Name, Was: e.Was, Now: e.Now,
				Fault: e.Fault, What: e.String()}
			if !e.Until.IsZero() {
				u := e.Until.UTC()
				l.Until = &u
			}
			switch {
			case e.Kind == journal.KindKeys:
				c, ok := cleaned[t.Name]
				switch {
				case !ok:
					l.Error = "the cleanup did not run"
				case c.err != nil:
					l.Error = c.err.Error()
				default:
					l.Error = "the cleanup did not remove them"
				}
				if ok && c.res.KeysLeft >= 0 {
					n := c.res.KeysLeft
					l.KeysLeft = &n
				}
			case e.Fault != "":
				l.Error = "the fault's undo did not run"
				if i := slices.IndexFunc(faults, func(f *metrics.FaultSummary) bool { return f.Name == e.Fault }); i >= 0 {
					f := faults[i]
					switch {
					case f.UndoErr != "":
						l.Error = f.UndoErr
					case f.Err != "":
						l.Error = f.Err
					}
				}
			default:
				l.Error = "not undone"
			}
			out = append(out, l)
		}
	}
	return out
}

// closeJournal writes the journal a last time: its file goes when nothing
// is left, and stays, with what is left, for `runplan cleanup` otherwise.
func (rs *runState) closeJournal() string {
	if rs.journal == nil {
		return ""
	}
	if err := rs.journal.Close(); err != nil {
		rs.prog.opts.Log.Error().Err(err).Msg("the journal could not be written")
	}
	if len(rs.journal.Left()) == 0 {
		return ""
	}
	return rs.journal.Path()
}
