package cli

import (
	"fmt"
	"io"

	"github.com/runplan/runplan/engine/report"
)

// mergeCmd combines the reports of one run's execution segments into the
// report of the whole run (report.Merge), writes it as JSON and, like run,
// as JUnit, Markdown and HTML, and prints its console summary.
func mergeCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("merge", "runplan merge REPORT.json... --out report.json [--junit FILE] [--markdown FILE] [--html FILE]", stderr)
	out := fs.String("out", "", "write the merged JSON report to this file (atomically)")
	junitOut := fs.String("junit", "", "also write the merged report as JUnit XML to this file")
	markdownOut := fs.String("markdown", "", "also write a Markdown summary to this file (and append it to $GITHUB_STEP_SUMMARY when set)")
	htmlOut := fs.String("html", "", "also write a self-contained HTML report with charts to this file")
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
	return ExitOK
}
