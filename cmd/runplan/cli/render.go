package cli

import (
	"fmt"
	"io"

	"github.com/runplan/runplan/engine"
)

// renderCmd prints what the first iterations of a plan's scenarios would
// send, without opening any target (engine.Program.Render). Exit 0 when
// every iteration rendered, 1 when a template failed in one (each failure
// is shown with its place in the plan), 2 for an invalid plan or command
// line.
func renderCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("render", "runplan render PLAN [--iterations N] [--scenario S] [--seed N] [--format text|json] [--set path=value]... [--env-file FILE]...", stdout, stderr)
	iterations := fs.Int("iterations", engine.DefaultRenderIterations, "how many iterations of each scenario to show")
	scenario := fs.String("scenario", "", "show this scenario only")
	seed := fs.String("seed", "", "random seed (overrides the plan's seed; a run with the same seed sends the same values)")
	format := fs.String("format", "text", "output format: text or json")
	var pf planFlags
	pf.register(fs, "")
	allowDestructive := fs.Bool("allow-destructive", false, "render as run --allow-destructive would: destructive steps pass on targets whose plan entry sets allow_destructive: true")
	pos, code, ok := parseArgs(fs, args, 1, "give exactly one plan file", stderr)
	if !ok {
		return code
	}
	if *iterations < 1 {
		fmt.Fprintf(stderr, "runplan render: --iterations %d: want at least 1\n", *iterations)
		return ExitUsage
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "runplan render: --format %q: use text or json\n", *format)
		return ExitUsage
	}
	opts := engine.Options{RunID: engine.RenderRunID, AllowDestructive: *allowDestructive}
	if !parseSeed("render", *seed, &opts, stderr) {
		return ExitUsage
	}
	planOpts, err := pf.options(secretsOf(stderr))
	if err != nil {
		fmt.Fprintln(stderr, "runplan render:", err)
		return ExitUsage
	}
	prog, diags := engine.Load(pos[0], planOpts, opts)
	if len(diags) > 0 {
		fmt.Fprintln(stderr, diags.Error())
	}
	if prog == nil {
		return ExitUsage
	}
	r, err := prog.Render(engine.RenderOptions{Iterations: *iterations, Scenario: *scenario})
	if err != nil {
		fmt.Fprintln(stderr, "runplan render:", err)
		return ExitUsage
	}
	if *format == "json" {
		err = r.WriteJSON(stdout)
	} else {
		err = r.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "runplan render:", err)
		return ExitRuntime
	}
	if r.Failed > 0 {
		return ExitChecks
	}
	return ExitOK
}
