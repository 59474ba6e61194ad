package driver

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
)

// Command is a subcommand a driver adds to runplan's command line, like the
// webhook driver's `runplan sink`: `runplan NAME ARGS...` runs it, and
// runplan's usage lists it. A driver registers its commands from init, with
// RegisterCommand; the command line finds them through LookupCommand and
// Commands, so that it imports no driver. runplan's own commands (run,
// validate, ...) take precedence over a registered one of the same name.
// The registry is safe for concurrent use.
type Command struct {
	// Name is the word after runplan, e.g. "sink".
	Name string
	// Synopsis is the usage line after "runplan ", e.g. "sink --listen ADDR".
	Synopsis string
	// Summary says what the command does in a line, for runplan's usage.
	Summary string
	// Run runs the command on the command line's goroutine, once, with the
	// arguments after its name, and returns the exit code: ExitOK,
	// ExitUsage or ExitRuntime. ctx ends on SIGINT or SIGTERM: a command
	// that serves until stopped returns ExitOK then. stdout and stderr mask
	// secrets as every output of runplan does (docs/SECURITY.md); what the
	// user asked to see unmasked goes to redact.Unmasked(stdout). Command
	// flags made with CommandFlags print their usage as runplan's own do.
	Run func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// Exit codes of a Command, the same as runplan's own (README.md).
const (
	ExitOK      = 0 // done, or stopped by SIGINT or SIGTERM
	ExitUsage   = 2 // invalid command line
	ExitRuntime = 3 // runtime error, e.g. an address already in use
)

var commands = map[string]Command{}

// RegisterCommand makes a driver's command available under c.Name. It
// panics if the name is empty, Run is nil or the name is taken, as Register
// does. Call it from init.
func RegisterCommand(c Command) {
	mu.Lock()
	defer mu.Unlock()
	if c.Name == "" || c.Run == nil {
		panic("driver: RegisterCommand without a name or a Run")
	}
	if _, dup := commands[c.Name]; dup {
		panic("driver: RegisterCommand called twice for command " + c.Name)
	}
	commands[c.Name] = c
}

// LookupCommand returns the command registered under name.
func LookupCommand(name string) (Command, bool) {
	mu.RLock()
	defer mu.RUnlock()
	c, ok := commands[name]
	return c, ok
}

// Commands returns the registered commands, sorted by name.
func Commands() []Command {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]Command, 0, len(commands))
	for _, c := range commands {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// CommandFlags returns a flag set for a command that prints its usage as
// runplan's commands do: "Usage: " and the synopsis, then the flags. Parse
// returns flag.ErrHelp for -h and --help, after printing the usage to
// stdout (asked for, it is the command's output: the caller exits 0).
// Errors go to stderr, through fs.Output(), and a usage printed after one
// (the flag package's own on a bad flag, or fs.Usage() called after a
// message written to fs.Output()) goes to stderr with it. Not safe for
// concurrent use, like flag.FlagSet.
func CommandFlags(name, synopsis string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	out := &errOutput{w: stderr}
	fs.SetOutput(out)
	fs.Usage = func() {
		w := stdout
		if out.wrote {
			w = stderr
		}
		out.wrote = false
		fmt.Fprintf(w, "Usage: %s\n\nFlags:\n", synopsis)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(out)
	}
	return fs
}

// errOutput is a flag set's error output: it remembers that an error was
// written, so that the usage that follows goes with it to stderr.
type errOutput struct {
	w     io.Writer
	wrote bool
}

func (e *errOutput) Write(p []byte) (int, error) {
	e.wrote = true
	return e.w.Write(p)
}
