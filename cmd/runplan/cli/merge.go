package cli

import (
	"fmt"
	"io"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/redact"
	"github.com/runplan/runplan/engine/report"
)

// mergeCmd combines the reports of one run's execution segments into the
// report of the whole run (report.Merge), writes it as JSON and, like run,
// as JUnit, Markdown and HTML, and prints its console summary. The plan's
// checks, score, verdict and recommendations are evaluated on the merged
// figures (engine.Program.Rescore); its exit status is run's.
func mergeCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("merge", "runplan merge REPORT.json... --out report.json [--junit FILE] [--markdown FILE] [--html FILE]", stdout, stderr)
	out := fs.String("out", "", "write the merged JSON report to this file (atomically)")
	junitOut := fs.String("junit", "", "also write the merged report as JUnit XML to this file")
	markdownOut := fs.String("markdown", "", "also write a Markdown summary to this file (and append it to $GITHUB_STEP_SUMMARY when set)")
	htmlOut := fs.String("html", "", "also write a self-contained HTML report with charts to this file")
	planPath := fs.String("plan", "", "the plan the segments ran, to evaluate its checks on the merged figures (default: the reports' plan path); it must be the same file (digest)")
	allowDestructive := fs.Bool("allow-destructive", false, "load a plan with destructive faults (as run needed it): nothing is run")
	var pf planFlags
	pf.register(fs, "the --set values the segments ran with, path=value (repeatable): they may change the checks")
	color := fs.String("color", "auto", "colour the console summary: auto (on a terminal), always or never")
	pos, code, ok := parseArgs(fs, args, 0, "give the segments' JSON reports", stderr)
	if !ok {
		return code
	}
	useColor, err := colorFlag(*color, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "runplan merge:", err)
		return ExitUsage
	}
	var reps []*report.Report
	for _, p := range pos {
		loaded, err := loadReport(p)
		if err != nil {
			fmt.Fprintln(stderr, "runplan merge:", err)
			return ExitUsage
		}
		reps = append(reps, loaded.rep)
	}
	merged, err := report.Merge(reps)
	if err != nil {
		fmt.Fprintln(stderr, "runplan", err) // err says "merge: ..."
		return ExitUsage
	}
	path := *planPath
	if path == "" {
		path = merged.Plan.Path
	}
	red := redact.New()
	planOpts, err := pf.options(red)
	if err != nil {
		fmt.Fprintln(stderr, "runplan merge:", err)
		return ExitUsage
	}
	prog, diags := engine.Load(path, planOpts, engine.Options{AllowDestructive: *allowDestructive})
	if prog == nil {
		fmt.Fprintf(stderr, "runplan merge: the plan, to evaluate the checks on the merged figures (--plan):\n%s\n", diags.Error())
		return ExitUsage
	}
	if err := prog.Rescore(merged); err != nil {
		fmt.Fprintln(stderr, "runplan merge:", err)
		return ExitUsage
	}
	if *out != "" {
		if err := report.WriteFileAtomic(*out, func(w io.Writer) error { return report.WriteJSON(w, merged) }); err != nil {
			fmt.Fprintln(stderr, "runplan merge:", err)
			return ExitRuntime
		}
	}
	if err := writeRunFormats(merged, *junitOut, *markdownOut, *htmlOut, stderr); err != nil {
		fmt.Fprintln(stderr, "runplan merge:", err)
		return ExitRuntime
	}
	if err := report.WriteConsole(stdout, merged, report.ConsoleOptions{Color: useColor}); err != nil {
		fmt.Fprintln(stderr, "runplan merge:", err)
		return ExitRuntime
	}
	// The exit status is run's on the merged figures.
	return verdictCode(merged)
}
