package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/explain"
	"github.com/runplan/runplan/engine/plan"
)

// explainCmd prints what a plan does, for a reviewer, without opening any
// target (engine.Explain): text for a terminal or Markdown for a pull
// request comment.
func explainCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("explain", "runplan explain PLAN [--format text|markdown] [--set path=value]... [--env-file FILE]...", stderr)
	format := fs.String("format", "text", "output format: text or markdown (for a pull request comment)")
	var sets stringList
	fs.Var(&sets, "set", "override a plan value, path=value (repeatable)")
	var envFiles stringList
	fs.Var(&envFiles, "env-file", envFileUsage)
	var maxSize plan.Size
	fs.Var(&maxSize, "max-plan-size", maxPlanSizeUsage)
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		return ExitUsage
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "runplan explain: give exactly one plan file")
		fs.Usage()
		return ExitUsage
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
	red := secretsOf(stderr)
	registerSets(red, sets)
	env, err := plan.EnvFiles(nil, envFiles...)
	if err != nil {
		fmt.Fprintln(stderr, "runplan explain: --env-file:", err)
		return ExitUsage
	}
	ex, diags := engine.Explain(pos[0], plan.Options{Env: env, Sets: sets, Secrets: red, MaxSize: int64(maxSize)}, engine.Options{})
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
