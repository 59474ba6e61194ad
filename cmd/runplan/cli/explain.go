package cli

import (
	"fmt"
	"io"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/explain"
)

// explainCmd prints what a plan does, for a reviewer, without opening any
// target (engine.Explain): text for a terminal or Markdown for a pull
// request comment.
func explainCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("explain", "runplan explain PLAN [--format text|markdown] [--set path=value]... [--env-file FILE]...", stdout, stderr)
	format := fs.String("format", "text", "output format: text or markdown (for a pull request comment)")
	var pf planFlags
	pf.register(fs, "")
	pos, code, ok := parseArgs(fs, args, 1, "give exactly one plan file", stderr)
	if !ok {
		return code
	}
	write := explain.WriteText
	switch *format {
	case "text":
	case "markdown", "md":
		write = explain.WriteMarkdown
	default:
		fmt.Fprintf(stderr, "runplan explain: --format %q: use text or markdown\n", *format)
		return ExitUsage
	}
	planOpts, err := pf.options(secretsOf(stderr))
	if err != nil {
		fmt.Fprintln(stderr, "runplan explain:", err)
		return ExitUsage
	}
	ex, diags := engine.Explain(pos[0], planOpts, engine.Options{})
	if len(diags) > 0 {
		fmt.Fprintln(stderr, diags.Error())
	}
	if ex == nil {
		return ExitUsage
	}
	if err := write(stdout, ex); err != nil {
		fmt.Fprintln(stderr, "runplan explain:", err)
		return ExitRuntime
	}
	return ExitOK
}
