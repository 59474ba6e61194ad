package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/runplan/runplan/engine"
)

// versionCmd prints the version, the commit and the build date: from the
// release build's link-time values when set, otherwise from the go tool's
// build information (engine.BuildInfo). `runplan --version` is the same.
func versionCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", "runplan version [--short]", stdout, stderr)
	short := fs.Bool("short", false, "print the version only")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "runplan version: unexpected argument %q\n", fs.Arg(0))
		return ExitUsage
	}
	b := engine.BuildInfo()
	if *short {
		fmt.Fprintln(stdout, b.Version)
		return ExitOK
	}
	fmt.Fprint(stdout, b.String())
	return ExitOK
}
