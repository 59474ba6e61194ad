// Package cli is runplan's command line: flags, exit codes and wiring. It
// holds no logic that a test of engine would miss; it is a package (not
// main) so that tests can run the commands in-process.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/export"
	_ "github.com/runplan/runplan/engine/export/promrw" // --export prometheus-rw=URL
	"github.com/runplan/runplan/engine/journal"
	"github.com/runplan/runplan/engine/notify"
	"github.com/runplan/runplan/engine/plan"
	"github.com/runplan/runplan/engine/redact"
	"github.com/runplan/runplan/engine/report"
	"github.com/runplan/runplan/schema"
)

// Exit codes, documented in README.md.
const (
	ExitOK          = 0   // every check passed and the verdict is ready
	ExitChecks      = 1   // the run completed but checks failed or the verdict is not ready
	ExitUsage       = 2   // invalid plan or command line
	ExitRuntime     = 3   // runtime error, e.g. a target unreachable at start
	ExitInvalid     = 4   // the generator could not hold the load: the measurement is invalid
	ExitInterrupted = 130 // stopped by SIGINT/SIGTERM; the report is partial
	ExitInternal    = 70  // a bug in runplan (a panic); a runtime crash aborts with SIGABRT instead
)

// usage is runplan's help: its own commands, with the drivers' commands
// (driver.RegisterCommand) listed after those that read reports.
func usage() string {
	var drivers strings.Builder
	for _, c := range driver.Commands() {
		fmt.Fprintf(&drivers, "  %-32s %s\n", "runplan "+c.Synopsis, c.Summary)
	}
	return usageHead + drivers.String() + usageTail
}

const usageHead = `runplan — declarative scenario engine for Redis and webhooks

Usage:
  runplan PLAN [flags]             run a plan (same as runplan run)
  runplan run PLAN [flags]         run a plan and print a scored report
  runplan validate PLAN...         check plans without touching any target
  runplan render PLAN [flags]      show what a plan would send; opens no target
  runplan explain PLAN [flags]     what a plan does over time, for review
  runplan fmt [--check] PLAN...    rewrite plans in canonical form
  runplan init [FILE] [flags]      write a commented starter plan (runplan.yaml)
  runplan schema [--report]        print the plan (or report) JSON Schema
  runplan report FILE.json         render a saved report in another format
  runplan merge REPORT.json...     merge the reports of a run's segments
  runplan compare BASE NEW         compare two reports; exit 1 on a regression
  runplan trend REPORT|DIR...      score, verdict and checks over time
  runplan k8s PLAN --parallelism N Kubernetes manifests: PLAN as N segments
`

const usageTail = `  runplan cleanup URL              undo what a killed run left on a server
  runplan version                  print the version, commit and build date

Run "runplan COMMAND --help" for a command's flags.

Exit codes: 0 checks pass (verdict ready); 1 checks failed or verdict not
ready; 2 invalid plan or command line; 3 runtime error (e.g. target
unreachable, or a target left changed); 4 invalid measurement (the
generator could not hold the load); 130 interrupted (partial report
written); 70 internal error (a bug: please report it; a crash of the Go
runtime aborts with SIGABRT).
`

// Main runs the command line and returns the exit code.
//
// Everything a command prints passes through one Redactor, built here for
// the command: stdout and stderr are wrapped with it, and so, through
// stderr, are the logs, the progress display and the diagnostics. run and
// validate register with it every value that came from ${VAR} and the
// credentials of every URL of the plan and the command line; the report
// model is masked with it before any renderer or file sees it. See
// docs/SECURITY.md.
func Main(args []string, stdout, stderr io.Writer) int {
	red := redact.New()
	out, errOut := red.NewWriter(stdout), red.NewWriter(stderr)
	code := dispatch(args, out, errOut)
	_ = out.Flush()
	_ = errOut.Flush()
	return code
}

// secretsOf returns the Redactor that Main wrapped w with, so that a command
// registers the secrets it learns where its outputs will mask them; a
// fresh one when w is not wrapped (a test calling a command directly).
func secretsOf(w io.Writer) *redact.Redactor {
	if rw, ok := w.(*redact.Writer); ok && rw.Redactor() != nil {
		return rw.Redactor()
	}
	return redact.New()
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return ExitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage())
		return ExitOK
	case "run":
		return runCmd(args[1:], stdout, stderr)
	case "validate":
		return validateCmd(args[1:], stdout, stderr)
	case "render":
		return renderCmd(args[1:], stdout, stderr)
	case "init":
		return initCmd(args[1:], stdout, stderr)
	case "explain":
		return explainCmd(args[1:], stdout, stderr)
	case "fmt":
		return fmtCmd(args[1:], stdout, stderr)
	case "schema":
		return schemaCmd(args[1:], stdout, stderr)
	case "report":
		return reportCmd(args[1:], stdout, stderr)
	case "merge":
		return mergeCmd(args[1:], stdout, stderr)
	case "compare":
		return compareCmd(args[1:], stdout, stderr)
	case "trend":
		return trendCmd(args[1:], stdout, stderr)
	case "cleanup":
		return cleanupCmd(args[1:], stdout, stderr)
	case "k8s":
		return k8sCmd(args[1:], stdout, stderr)
	case "version", "--version":
		return versionCmd(args[1:], stdout, stderr)
	}
	if c, ok := driver.LookupCommand(args[0]); ok {
		return driverCmd(c, args[1:], stdout, stderr)
	}
	if strings.HasPrefix(args[0], "-") {
		// Flags before the plan: runplan --seed 1 plan.yaml
		return runCmd(args, stdout, stderr)
	}
	if _, err := os.Stat(args[0]); err != nil && !strings.ContainsAny(args[0], "./") {
		fmt.Fprintf(stderr, "runplan: unknown command %q\n\n%s", args[0], usage())
		return ExitUsage
	}
	return runCmd(args, stdout, stderr)
}

// driverCmd runs a command a driver registered until it returns, or until
// SIGINT or SIGTERM asks it to stop.
func driverCmd(c driver.Command, args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return c.Run(ctx, args, stdout, stderr)
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

type logFlags struct {
	level  string
	format string
}

func (lf *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&lf.level, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&lf.format, "log-format", "console", "log format on stderr: console or json")
}

func (lf *logFlags) logger(stderr io.Writer) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(lf.level)
	if err != nil || lf.level == "" {
		return zerolog.Nop(), fmt.Errorf("--log-level %q: use debug, info, warn or error", lf.level)
	}
	var w io.Writer
	// Many goroutines log at once: serialise the writes.
	stderr = zerolog.SyncWriter(stderr)
	switch lf.format {
	case "json":
		w = stderr
	case "console":
		w = zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.TimeOnly, NoColor: !isTerminal(stderr)}
	default:
		return zerolog.Nop(), fmt.Errorf("--log-format %q: use console or json", lf.format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := redact.Unmasked(w).(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

func newFlagSet(name, synopsis string, stdout, stderr io.Writer) *flag.FlagSet {
	return driver.CommandFlags(name, synopsis, stdout, stderr)
}

// parseInterleaved parses flags that may come before or after positional
// arguments (runplan run plan.yaml --out r.json).
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func runCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("run", "runplan run PLAN [--out report.json] [--set path=value]... [--env-file FILE]... [--seed N] [--segment I/N | --segments N] [--run-id ID] [--start-at TIME]", stdout, stderr)
	out := fs.String("out", "", "write the JSON report to this file (atomically)")
	junitOut := fs.String("junit", "", "also write the report as JUnit XML to this file")
	markdownOut := fs.String("markdown", "", "also write a Markdown summary to this file (and append it to $GITHUB_STEP_SUMMARY when set)")
	htmlOut := fs.String("html", "", "also write a self-contained HTML report with charts to this file")
	var pf planFlags
	pf.register(fs, "override a plan value, path=value (repeatable), e.g. scenarios.cache.load.duration=5s")
	seed := fs.String("seed", "", "random seed (overrides the plan's seed)")
	allowDestructive := fs.Bool("allow-destructive", false, "allow destructive operations on targets runplan did not start, where the plan's target also sets allow_destructive: true")
	color := fs.String("color", "auto", "colour the summary: auto, always or never")
	var notifyURLs stringList
	fs.Var(&notifyURLs, "notify", "post the outcome to this webhook URL when the run ends (repeatable; Discord, Slack or generic JSON by URL)")
	notifyOn := fs.String("notify-on", "failure", "when to post to --notify URLs: failure or always")
	var exportTo stringList
	fs.Var(&exportTo, "export", "stream metrics to KIND=TARGET during the run and at its end (repeatable; kinds: "+strings.Join(export.Kinds(), ", ")+"; docs/OBSERVABILITY.md)")
	quietProgress := fs.Bool("no-progress", false, "no live progress (bars on a terminal, a log line every 5 s otherwise)")
	var sf scaleFlags
	sf.register(fs)
	var lf logFlags
	lf.register(fs)
	pos, code, ok := parseArgs(fs, args, 1, "give exactly one plan file", stderr)
	if !ok {
		return code
	}
	log, err := lf.logger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "runplan run:", err)
		return ExitUsage
	}
	red := secretsOf(stderr)
	planOpts, err := pf.options(red)
	if err != nil {
		fmt.Fprintln(stderr, "runplan run:", err)
		return ExitUsage
	}
	var notifyTo []notify.Notification
	for _, u := range notifyURLs {
		// A webhook URL is a secret; a bad one is found now, not when the
		// run is over.
		red.AddURL(u)
		n := notify.Notification{URL: u, Always: *notifyOn == "always"}
		if err := notify.Check(n); err != nil {
			fmt.Fprintln(stderr, "runplan run: --notify:", err)
			return ExitUsage
		}
		notifyTo = append(notifyTo, n)
	}
	var exporters []export.Exporter
	for _, spec := range exportTo {
		// export.Open registers the target's credentials with red first.
		e, err := export.Open(spec, export.Options{Log: log, Secrets: red})
		if err != nil {
			fmt.Fprintln(stderr, "runplan run: --export:", err)
			return ExitUsage
		}
		exporters = append(exporters, e)
	}
	opts := engine.Options{Log: log}
	if !parseSeed("run", *seed, &opts, stderr) {
		return ExitUsage
	}
	if err := sf.apply(&opts, os.Getenv); err != nil {
		fmt.Fprintln(stderr, "runplan run:", err)
		return ExitUsage
	}
	if *notifyOn != "failure" && *notifyOn != "always" {
		fmt.Fprintf(stderr, "runplan run: --notify-on %q: use failure or always\n", *notifyOn)
		return ExitUsage
	}
	useColor := false
	switch *color {
	case "auto":
		useColor = isTerminal(stdout)
	case "always":
		useColor = true
	case "never":
	default:
		fmt.Fprintf(stderr, "runplan run: --color %q: use auto, always or never\n", *color)
		return ExitUsage
	}

	opts.AllowDestructive = *allowDestructive
	journalDir, journalErr := journal.DefaultDir()
	opts.JournalDir = journalDir
	// The first signal stops the run gracefully (in-flight iterations get
	// their graceful stop); a second one cancels them at once: opts.Kill.
	kill, killNow := context.WithCancel(context.Background())
	defer killNow()
	opts.Kill = kill
	// Loaded and prepared once: the drivers decode each target and step
	// once, for the diagnostics and for the run.
	prog, diags := engine.Load(pos[0], planOpts, opts)
	if prog == nil {
		fmt.Fprintln(stderr, diags.Error())
		return ExitUsage
	}
	for _, d := range diags {
		log.Warn().Msg(d.String())
	}
	notifications := prog.Notifications() // checked when the plan was prepared
	if journalErr != nil {
		log.Warn().Err(journalErr).Msg("changes to targets are journaled in memory only: runplan cleanup cannot restore them after a crash")
	}

	// The first signal stops the run gracefully (in-flight iterations get
	// their graceful stop); a second one cancels them at once. Either way
	// the targets are cleaned up and the report is written.
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	var interrupted atomic.Bool
	go func() {
		if _, ok := <-sigs; !ok {
			return
		}
		interrupted.Store(true)
		log.Warn().Msg("stopping: iterations in flight get their graceful stop; signal again to stop at once")
		stop()
		if _, ok := <-sigs; !ok {
			return
		}
		log.Warn().Msg("stopping at once")
		killNow()
	}()
	stopProgress := func() {}
	if !*quietProgress {
		stopProgress = showProgress(ctx, prog, stderr, isTerminal(stderr), log)
	}
	// Exports outlive an interrupted run: they write its final figures.
	for _, e := range exporters {
		e.Start(context.Background(), prog)
	}
	rep, runErr := prog.Run(ctx)
	stopProgress()
	if rep != nil {
		// A receiver that failed costs a note in the report, never the run.
		for _, e := range exporters {
			ectx, cancel := context.WithTimeout(context.Background(), exportFinishTimeout)
			rep.Notices = append(rep.Notices, e.Finish(ectx, rep)...)
			cancel()
		}
		// Masked once, before any renderer or file sees it, so that the
		// saved JSON is clean for report, compare and trend too.
		red.Walk(rep)
		if interrupted.Load() {
			rep.Partial = true
		}
		if *out != "" {
			if err := report.WriteFileAtomic(*out, func(w io.Writer) error { return report.WriteJSON(w, rep) }); err != nil {
				fmt.Fprintln(stderr, "runplan:", err)
				return ExitRuntime
			}
			log.Info().Str("file", *out).Msg("report written")
		}
		if err := writeRunFormats(rep, *junitOut, *markdownOut, *htmlOut, stderr); err != nil {
			fmt.Fprintln(stderr, "runplan:", err)
			return ExitRuntime
		}
		_ = report.WriteConsole(stdout, rep, report.ConsoleOptions{Color: useColor})
		// Notifications never change the exit code: failures are logged.
		to := append(notifications, notifyTo...)
		if len(to) > 0 {
			nctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			for _, err := range notify.Send(nctx, rep, to, red) {
				log.Error().Err(err).Msg("notification not delivered")
			}
			cancel()
		}
	}
	switch {
	case interrupted.Load():
		return ExitInterrupted
	case runErr != nil:
		fmt.Fprintln(stderr, "runplan:", runErr)
		return ExitRuntime
	case len(rep.Leftovers) > 0:
		// A target left changed is a runtime failure, whatever the checks
		// say: the console and the report say what is left.
		return ExitRuntime
	default:
		return verdictCode(rep)
	}
}

// exportFinishTimeout bounds each exporter's final write once the run is
// over.
const exportFinishTimeout = 15 * time.Second

// verdictCode is the exit status a finished report gives: ExitInvalid for
// an invalid measurement, ExitOK when it is ready (or unscored) and every
// check passed, ExitChecks otherwise.
func verdictCode(rep *report.Report) int {
	if rep.Invalid() {
		return ExitInvalid
	}
	if rep.Verdict != "ready" && rep.Verdict != "unscored" {
		return ExitChecks
	}
	for _, c := range rep.Checks {
		if !c.Passed {
			return ExitChecks
		}
	}
	return ExitOK
}

func validateCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("validate", "runplan validate PLAN... [--set path=value]... [--env-file FILE]...", stdout, stderr)
	var pf planFlags
	pf.register(fs, "")
	quiet := fs.Bool("q", false, "print nothing for valid plans")
	allowDestructive := fs.Bool("allow-destructive", false, "validate as run --allow-destructive would: destructive steps pass on targets whose plan entry sets allow_destructive: true")
	pos, code, ok := parseArgs(fs, args, -1, "give at least one plan file", stderr)
	if !ok {
		return code
	}
	planOpts, err := pf.options(secretsOf(stderr))
	if err != nil {
		fmt.Fprintln(stderr, "runplan validate:", err)
		return ExitUsage
	}
	code = ExitOK
	for _, path := range pos {
		p, diags := engine.Check(path, planOpts, engine.Options{AllowDestructive: *allowDestructive})
		if len(diags) > 0 {
			fmt.Fprintln(stderr, diags.Error())
		}
		if p == nil {
			code = ExitUsage
			continue
		}
		if !*quiet {
			fmt.Fprintf(stdout, "%s: ok\n", path)
		}
	}
	return code
}

// parseArgs parses args with fs, flags and positional arguments
// interleaved, and checks that there is at least one positional argument
// and, when max is positive, at most max. When they are not as they
// should be it has said why (need, e.g. "give exactly one plan file") and
// returns the code to exit with: ExitOK after -h, ExitUsage otherwise.
func parseArgs(fs *flag.FlagSet, args []string, max int, need string, stderr io.Writer) (pos []string, code int, ok bool) {
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil, ExitOK, false
	}
	if err != nil {
		return nil, ExitUsage, false
	}
	if len(pos) == 0 || max > 0 && len(pos) > max {
		fmt.Fprintf(fs.Output(), "runplan %s: %s\n", fs.Name(), need)
		fs.Usage()
		return nil, ExitUsage, false
	}
	return pos, ExitOK, true
}

// planFlags are the flags of every command that loads a plan: --set,
// --env-file and --max-plan-size. Register them, parse, then call options.
type planFlags struct {
	sets, envFiles stringList
	maxSize        plan.Size
}

// register adds the flags to fs; setUsage is --set's help ("": the short one).
func (f *planFlags) register(fs *flag.FlagSet, setUsage string) {
	if setUsage == "" {
		setUsage = "override a plan value, path=value (repeatable)"
	}
	fs.Var(&f.sets, "set", setUsage)
	fs.Var(&f.envFiles, "env-file", envFileUsage)
	fs.Var(&f.maxSize, "max-plan-size", maxPlanSizeUsage)
}

// options returns the plan options the parsed flags give; red, the
// command's redactor, learns the secrets of the --set values first. The
// error (a dotenv file that cannot be read) names its flag.
func (f *planFlags) options(red *redact.Redactor) (plan.Options, error) {
	registerSets(red, f.sets)
	env, err := plan.EnvFiles(nil, f.envFiles...)
	if err != nil {
		return plan.Options{}, fmt.Errorf("--env-file: %w", err)
	}
	return plan.Options{Env: env, Sets: f.sets, Secrets: red, MaxSize: int64(f.maxSize)}, nil
}

// parseSeed sets opts' seed from a --seed value ("": the plan's); false,
// having said why on stderr, when the value is not a seed.
func parseSeed(cmd, seed string, opts *engine.Options, stderr io.Writer) bool {
	if seed == "" {
		return true
	}
	n, err := strconv.ParseUint(seed, 10, 64)
	if err != nil {
		fmt.Fprintf(stderr, "runplan %s: --seed %q: want a non-negative integer\n", cmd, seed)
		return false
	}
	opts.Seed, opts.HasSeed = n, true
	return true
}

// envFileUsage is the help of --env-file, for every command that loads a plan.
const envFileUsage = "read ${VAR} values from this dotenv file (repeatable; a later file overrides an earlier one, the environment overrides every file)"

// registerSets registers the credentials of URLs given with --set.
func registerSets(red *redact.Redactor, sets []string) {
	for _, s := range sets {
		_, v, _ := strings.Cut(s, "=")
		red.AddURL(v)
	}
}

func schemaCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("schema", "runplan schema [--report]", stdout, stderr)
	rep := fs.Bool("report", false, "print the JSON report's schema instead of the plan's")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if *rep {
		_, _ = stdout.Write(schema.ReportJSON)
		return ExitOK
	}
	sch, err := engine.PlanSchema()
	if err != nil {
		fmt.Fprintf(stderr, "runplan: %v\n", err)
		return ExitInternal
	}
	_, _ = stdout.Write(sch.JSON())
	return ExitOK
}
