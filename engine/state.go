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

// identities returns each target's journal identity ("" for targets whose
// servers runplan starts, or whose driver journals nothing).
func (prog *Program) identities() map[string]string {
	out := map[string]string{}
	for _, t := range prog.plan.Targets {
		if ic, ok := prog.configs[t.Name].(driver.Identifier); ok {
			if id := ic.Identity(); id != "" {
				out[t.Name] = id
			}
		}
	}
	return out
}

// deadRuns looks in the journal directory for runs that are not running
// any more (or ran on another host) and left changes on one of the plan's
// targets.
func (prog *Program) deadRuns(ids map[string]string) []report.DeadRun {
	if prog.opts.JournalDir == "" || len(ids) == 0 {
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
			for _, t := range prog.plan.Targets {
				if ids[t.Name] != jt.Server {
					continue
				}
				d := report.DeadRun{RunID: r.RunID, PID: r.PID, Host: r.Host, Started: r.Started, State: state.String(),
					Target: t.Name, Server: jt.Server, Journal: r.Path()}
				for _, e := range jt.Entries {
					d.Changes = append(d.Changes, e.String())
				}
				out = append(out, d)
				prog.opts.Log.Warn().Str("target", t.Name).Str("run_id", r.RunID).Str("server", jt.Server).
					Strs("changes", d.Changes).Msg("an earlier run died and left changes on this target; run `runplan cleanup " + jt.Server + "`")
			}
		}
	}
	return out
}

// bindJournal hands an open target its journal, when it changes state on
// servers runplan did not start.
func (prog *Program) bindJournal(name, drv string, tg driver.Target) error {
	id := prog.idents[name]
	jt, ok := tg.(driver.Journaler)
	if !ok || id == "" || prog.journal == nil {
		return nil
	}
	return jt.BindJournal(prog.journal.For(name, drv, id))
}

// cleanupResult is one target's cleanup, as it ended.
type cleanupResult struct {
	res driver.CleanupResult
	err error
}

// leftovers lists what the journal still holds at the end of the run —
// what could not be undone or cleaned up — each with the error that kept
// it there. A pause whose planned end has passed is over, not left.
func (prog *Program) leftovers(faults []*metrics.FaultSummary, cleaned map[string]cleanupResult) []report.Leftover {
	if prog.journal == nil {
		return nil
	}
	now := time.Now()
	var out []report.Leftover
	for _, t := range prog.journal.Left() {
		log := prog.journal.For(t.Name, t.Driver, t.Server)
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
func (prog *Program) closeJournal() string {
	if prog.journal == nil {
		return ""
	}
	if err := prog.journal.Close(); err != nil {
		prog.opts.Log.Error().Err(err).Msg("the journal could not be written")
	}
	if len(prog.journal.Left()) == 0 {
		return ""
	}
	return prog.journal.Path()
}
