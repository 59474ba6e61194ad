// Command runplan validates a YAML plan, runs it against Redis and webhook
// targets, and prints a scored report. See README.md for the exit codes.
package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/runplan/runplan/cmd/runplan/cli"
	_ "github.com/runplan/runplan/scenarios/all" // every driver registers itself, like database/sql drivers
)

// crashTestHook is nil except in the binary that main_test.go builds with
// the runplan_crashtest tag: it lets the test crash runplan on purpose.
var crashTestHook func()

func main() {
	os.Exit(run())
}

// run is main with runplan's crash policy: exit status 2 means an invalid
// plan or command line, and a crash must never be mistaken for that. The Go
// runtime ends a panic it cannot hand to a recover (one on another
// goroutine) and a fatal error (out of memory, a concurrent map write) with
// status 2; at the crash traceback level it aborts with SIGABRT instead
// (shell status 134). A panic on this goroutine is recovered and ends with
// cli.ExitInternal.
func run() (code int) {
	abortOnCrash()
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "runplan: internal error: %v (please report it, with what follows)\n%s", r, debug.Stack())
			code = cli.ExitInternal
		}
	}()
	if crashTestHook != nil {
		crashTestHook()
	}
	return cli.Main(os.Args[1:], os.Stdout, os.Stderr)
}

// abortOnCrash makes the runtime abort on a crash rather than exit 2. The
// abort would write a core file as large as the heap in the working
// directory; unless the user asked for crash dumps with GOTRACEBACK, core
// files are switched off for the process.
func abortOnCrash() {
	if _, set := os.LookupEnv("GOTRACEBACK"); !set {
		disableCoreFiles()
	}
	debug.SetTraceback("crash")
}
