package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/runplan/runplan/engine/redact"
	"github.com/runplan/runplan/engine/report"
)

// The report, compare and trend commands read saved JSON reports and render
// them; run writes the same renderings with --junit, --markdown and --html.

// stepSummaryEnv names the file GitHub Actions shows as the job summary;
// every Markdown rendering is appended to it when it is set.
const stepSummaryEnv = "GITHUB_STEP_SUMMARY"

// reportFile is a saved report.
type reportFile struct {
	path string
	rep  *report.Report
}

// loadReport reads a JSON report and validates it against the report
// schema: runplan wrote it, so anything else is bad input.
func loadReport(path string) (*reportFile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: not JSON: %w", path, err)
	}
	if m, ok := doc.(map[string]any); ok {
		if v, ok := m["report_version"].(json.Number); ok {
			if n, err := v.Int64(); err == nil && n > report.FormatVersion {
				return nil, fmt.Errorf("%s: report version %d is newer than this runplan reads (%d): upgrade runplan", path, n, report.FormatVersion)
			}
		}
	}
	// The step metrics of the drivers this binary has are held to their
	// declarations; a report of other drivers' figures to their shape.
	if err := report.ValidateJSON(doc); err != nil {
		return nil, fmt.Errorf("%s: not a runplan report: %w", path, err)
	}
	var r report.Report
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// A report written by an older runplan, or by hand, may still carry a
	// credential: mask what looks like one before it is rendered anywhere.
	var patternsOnly *redact.Redactor
	patternsOnly.Walk(&r)
	return &reportFile{path: path, rep: &r}, nil
}

// writeOutput writes render's output to path atomically, or to stdout when
// path is empty.
func writeOutput(path string, stdout io.Writer, render func(io.Writer) error) error {
	if path == "" {
		return render(stdout)
	}
	return report.WriteFileAtomic(path, render)
}

// appendStepSummary appends Markdown to $GITHUB_STEP_SUMMARY when it is
// set; a summary that cannot be written is reported, never fatal.
func appendStepSummary(render func(io.Writer) error) error {
	path := os.Getenv(stepSummaryEnv)
	if path == "" {
		return nil
	}
	var b bytes.Buffer
	if err := render(&b); err != nil {
		return err
	}
	b.WriteString("\n")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("%s: %w", stepSummaryEnv, err)
	}
	_, err = f.Write(b.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", stepSummaryEnv, err)
	}
	return nil
}

// colorFlag resolves --color for w.
func colorFlag(value string, w io.Writer) (bool, error) {
	switch value {
	case "auto":
		return isTerminal(w), nil
	case "always":
		return true, nil
	case "never":
		return false, nil
	}
	return false, fmt.Errorf("--color %q: use auto, always or never", value)
}

// writeRunFormats writes the --junit, --markdown and --html files of a run,
// each atomically, and appends the Markdown summary to the GitHub job
// summary when there is one (a summary that cannot be written is reported
// on stderr but does not fail the run). It is called after the JSON report.
func writeRunFormats(rep *report.Report, junit, markdown, html string, stderr io.Writer) error {
	outputs := []struct {
		path   string
		render func(io.Writer) error
	}{
		{junit, func(w io.Writer) error { return report.WriteJUnit(w, rep) }},
		{markdown, func(w io.Writer) error { return report.WriteMarkdown(w, rep) }},
		{html, func(w io.Writer) error { return report.WriteHTML(w, rep) }},
	}
	for _, o := range outputs {
		if o.path == "" {
			continue
		}
		if err := report.WriteFileAtomic(o.path, o.render); err != nil {
			return err
		}
	}
	if err := appendStepSummary(func(w io.Writer) error { return report.WriteMarkdown(w, rep) }); err != nil {
		fmt.Fprintln(stderr, "runplan:", err)
	}
	return nil
}

func reportCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("report", "runplan report FILE.json [--format console|junit|markdown|html] [--out FILE]", stdout, stderr)
	format := fs.String("format", "console", "output format: console, junit, markdown or html")
	out := fs.String("out", "", "write to this file (atomically) instead of stdout")
	color := fs.String("color", "auto", "colour the console format: auto (on a terminal), always or never")
	pos, code, ok := parseArgs(fs, args, 1, "give exactly one JSON report", stderr)
	if !ok {
		return code
	}
	loaded, err := loadReport(pos[0])
	if err != nil {
		fmt.Fprintln(stderr, "runplan report:", err)
		return ExitUsage
	}
	rep := loaded.rep
	var render func(io.Writer) error
	switch *format {
	case "console":
		target := stdout
		if *out != "" {
			target = io.Discard // a file is never a terminal
		}
		useColor, err := colorFlag(*color, target)
		if err != nil {
			fmt.Fprintln(stderr, "runplan report:", err)
			return ExitUsage
		}
		render = func(w io.Writer) error { return report.WriteConsole(w, rep, report.ConsoleOptions{Color: useColor}) }
	case "junit":
		render = func(w io.Writer) error { return report.WriteJUnit(w, rep) }
	case "markdown", "md":
		render = func(w io.Writer) error { return report.WriteMarkdown(w, rep) }
	case "html":
		render = func(w io.Writer) error { return report.WriteHTML(w, rep) }
	default:
		fmt.Fprintf(stderr, "runplan report: --format %q: use console, junit, markdown or html\n", *format)
		return ExitUsage
	}
	if err := writeOutput(*out, stdout, render); err != nil {
		fmt.Fprintln(stderr, "runplan report:", err)
		return ExitRuntime
	}
	if *format == "markdown" || *format == "md" {
		if err := appendStepSummary(render); err != nil {
			fmt.Fprintln(stderr, "runplan report:", err)
		}
	}
	return ExitOK
}

func compareCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("compare", "runplan compare BASE.json NEW.json [--tolerance p99=10%,rate=5%,error_rate=0.01]... [--format console|markdown] [--out FILE] [--force]\n\n"+
		"Exit codes: 0 no regression; 1 a regression (a figure beyond tolerance, a check that started failing,\n"+
		"a fault no longer recovered or recovered slower, or a new run invalid, partial or not started where\n"+
		"the base was not); 2 bad command line, unreadable report, or reports of different plans without\n"+
		"--force; 4 not judged (the new run and the base are both invalid, partial or not started)", stdout, stderr)
	var tols stringList
	fs.Var(&tols, "tolerance", "how far a figure may move before it is flagged, figure=value (comma-separated or repeated): "+
		"a percentage of the base (p99=10%), an absolute amount (p99=2ms, error_rate=0.01, rate=50, recovery=1s), both (p99=10%,p99=1ms: flagged when beyond both), or off; "+
		"figures: rate, error_rate, p50, p90, p95, p99, p999, max, and recovery (each fault's recovery time) (default rate=5%,error_rate=0.01,p50=10%,p95=10%,p99=10%,recovery=20%,recovery=1s)")
	force := fs.Bool("force", false, "compare reports of different plans (by default refused: see docs/REPORTS.md, Same plan only)")
	format := fs.String("format", "console", "output format: console or markdown")
	out := fs.String("out", "", "write to this file (atomically) instead of stdout")
	color := fs.String("color", "auto", "colour the console format: auto (on a terminal), always or never")
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		return ExitUsage
	}
	if len(pos) != 2 {
		fmt.Fprintln(fs.Output(), "runplan compare: give a base report and a new report")
		fs.Usage()
		return ExitUsage
	}
	tol, err := report.ParseTolerances(report.DefaultTolerances(), tols...)
	if err != nil {
		fmt.Fprintln(stderr, "runplan compare:", err)
		return ExitUsage
	}
	base, err := loadReport(pos[0])
	if err != nil {
		fmt.Fprintln(stderr, "runplan compare:", err)
		return ExitUsage
	}
	cur, err := loadReport(pos[1])
	if err != nil {
		fmt.Fprintln(stderr, "runplan compare:", err)
		return ExitUsage
	}
	if err := report.SamePlan(base.rep, cur.rep); err != nil && !*force {
		fmt.Fprintf(stderr, "runplan compare: %s is of plan %q and %s of plan %q: reports of different plans are not compared; pass --force to compare them anyway\n",
			pos[0], report.PlanKey(base.rep), pos[1], report.PlanKey(cur.rep))
		return ExitUsage
	}
	cmp := report.Compare(base.rep, cur.rep, tol)
	var render func(io.Writer) error
	switch *format {
	case "console":
		target := stdout
		if *out != "" {
			target = io.Discard
		}
		useColor, err := colorFlag(*color, target)
		if err != nil {
			fmt.Fprintln(stderr, "runplan compare:", err)
			return ExitUsage
		}
		render = func(w io.Writer) error {
			return report.WriteCompareConsole(w, cmp, report.CompareOptions{Color: useColor})
		}
	case "markdown", "md":
		render = func(w io.Writer) error { return report.WriteCompareMarkdown(w, cmp) }
	default:
		fmt.Fprintf(stderr, "runplan compare: --format %q: use console or markdown\n", *format)
		return ExitUsage
	}
	if err := writeOutput(*out, stdout, render); err != nil {
		fmt.Fprintln(stderr, "runplan compare:", err)
		return ExitRuntime
	}
	if *format != "console" {
		if err := appendStepSummary(render); err != nil {
			fmt.Fprintln(stderr, "runplan compare:", err)
		}
	}
	switch {
	case cmp.Regressions > 0:
		return ExitChecks
	case cmp.NotJudged != "":
		return ExitInvalid
	}
	return ExitOK
}

func trendCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("trend", "runplan trend REPORT.json|FOLDER... [--format markdown|html] [--out FILE]", stdout, stderr)
	format := fs.String("format", "markdown", "output format: markdown or html")
	out := fs.String("out", "", "write to this file (atomically) instead of stdout")
	pos, code, ok := parseArgs(fs, args, -1, "give JSON reports or folders of them", stderr)
	if !ok {
		return code
	}
	if *format != "markdown" && *format != "md" && *format != "html" {
		fmt.Fprintf(stderr, "runplan trend: --format %q: use markdown or html\n", *format)
		return ExitUsage
	}
	var reports []*report.Report
	for _, p := range pos {
		files, err := trendFiles(p, stderr)
		if err != nil {
			fmt.Fprintln(stderr, "runplan trend:", err)
			return ExitUsage
		}
		for _, f := range files {
			rf, err := loadReport(f)
			if err != nil {
				fmt.Fprintln(stderr, "runplan trend:", err)
				return ExitUsage
			}
			reports = append(reports, rf.rep)
		}
	}
	if len(reports) == 0 {
		fmt.Fprintln(stderr, "runplan trend: no reports found")
		return ExitUsage
	}
	t := report.NewTrend(reports)
	render := func(w io.Writer) error { return report.WriteTrendMarkdown(w, t) }
	if *format == "html" {
		render = func(w io.Writer) error { return report.WriteTrendHTML(w, t) }
	}
	if err := writeOutput(*out, stdout, render); err != nil {
		fmt.Fprintln(stderr, "runplan trend:", err)
		return ExitRuntime
	}
	if *format != "html" {
		if err := appendStepSummary(render); err != nil {
			fmt.Fprintln(stderr, "runplan trend:", err)
		}
	}
	return ExitOK
}

// trendFiles expands a folder into its *.json files that are runplan
// reports (others are skipped with a note); a file is taken as given.
func trendFiles(path string, stderr io.Writer) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		f := filepath.Join(path, e.Name())
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var probe struct {
			Version *int `json:"report_version"`
		}
		if json.Unmarshal(b, &probe) != nil || probe.Version == nil {
			fmt.Fprintf(stderr, "runplan trend: skipping %s: not a runplan report\n", f)
			continue
		}
		files = append(files, f)
	}
	sort.Strings(files)
	return files, nil
}
