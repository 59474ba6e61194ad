package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/journal"
)

// cleanupTimeout bounds `runplan cleanup` as a whole.
const cleanupTimeout = 2 * time.Minute

// cleanupCmd restores what dead runs left on the servers a URL names: it
// reads their journals (journal.DefaultDir), asks the driver that handles
// the URL's scheme to undo each entry, prints what it did, and removes the
// entries it completed (the file with the last one).
func cleanupCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("cleanup", "runplan cleanup URL [--run-id ID] [--dry-run]", stdout, stderr)
	runID := fs.String("run-id", "", "restore only what this run left (also a run that may still be running on another host)")
	dryRun := fs.Bool("dry-run", false, "print what would be restored and change nothing")
	pos, code, ok := parseArgs(fs, args, 1, "give exactly one URL, e.g. runplan cleanup redis://127.0.0.1:6379/0", stderr)
	if !ok {
		return code
	}
	raw := pos[0]
	rc, server, err := recovererFor(raw)
	if err != nil {
		fmt.Fprintln(stderr, "runplan cleanup:", err)
		return ExitUsage
	}
	dir, err := journal.DefaultDir()
	if err != nil {
		fmt.Fprintln(stderr, "runplan cleanup:", err)
		return ExitRuntime
	}
	runs, errs := journal.Load(dir)
	for _, err := range errs {
		fmt.Fprintln(stderr, "runplan cleanup: skipped:", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
	defer cancel()

	found, failed, skipped := false, false, 0
	for _, r := range runs {
		if *runID != "" && r.RunID != *runID {
			continue
		}
		for i := range r.Targets {
			jt := &r.Targets[i]
			if jt.Server != server || len(jt.Entries) == 0 {
				continue
			}
			who := fmt.Sprintf("run %s (pid %d on %s, started %s, target %s)", r.RunID, r.PID, r.Host,
				r.Started.Local().Format(time.DateTime), jt.Name)
			switch state := r.Liveness(); {
			case state == journal.Alive:
				fmt.Fprintf(stdout, "%s is still running: its changes are its own to undo; skipped\n", who)
				skipped++
				continue
			case state == journal.Unknown && *runID == "":
				fmt.Fprintf(stdout, "%s may still be running on its host: pass --run-id %s to restore what it left; skipped\n", who, r.RunID)
				skipped++
				continue
			}
			found = true
			fmt.Fprintf(stdout, "%s left on %s:\n", who, server)
			for _, e := range jt.Entries {
				fmt.Fprintf(stdout, "  - %s\n", e)
			}
			if *dryRun {
				fmt.Fprintln(stdout, "  (dry run: nothing changed)")
				continue
			}
			res, rerr := rc.Recover(ctx, raw, r.RunID, jt.Entries)
			for _, n := range res.Notes {
				fmt.Fprintf(stdout, "  %s\n", n)
			}
			jt.Entries = slices.DeleteFunc(jt.Entries, func(e journal.Entry) bool { return slices.Contains(res.Done, e) })
			if err := r.Save(); err != nil {
				fmt.Fprintln(stderr, "runplan cleanup:", err)
				failed = true
			}
			if rerr != nil {
				failed = true
				for _, line := range strings.Split(rerr.Error(), "\n") {
					fmt.Fprintf(stdout, "  NOT RESTORED: %s\n", line)
				}
				fmt.Fprintf(stdout, "  the journal keeps it: %s\n", r.Path())
			}
		}
	}
	switch {
	case !found && skipped > 0:
		fmt.Fprintf(stdout, "nothing restored on %s\n", server)
	case !found && *runID != "":
		fmt.Fprintf(stdout, "nothing to restore: no journal of run %s names %s\n", *runID, server)
	case !found:
		fmt.Fprintf(stdout, "nothing to restore on %s\n", server)
	}
	if failed {
		return ExitRuntime
	}
	return ExitOK
}

// recovererFor finds the driver that handles raw's scheme and returns it
// with the identity of the servers raw names. Errors never hold raw: it
// may carry a password.
func recovererFor(raw string) (driver.Recoverer, string, error) {
	for _, name := range driver.Drivers() {
		d, err := driver.Lookup(name)
		if err != nil {
			continue
		}
		rc, ok := d.(driver.Recoverer)
		if !ok {
			continue
		}
		id, err := rc.URLIdentity(raw)
		if errors.Is(err, driver.ErrNotHandled) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		return rc, id, nil
	}
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, "", errors.New("want a URL such as redis://host:6379/0")
	}
	return nil, "", fmt.Errorf("no driver restores %s:// targets", scheme)
}
