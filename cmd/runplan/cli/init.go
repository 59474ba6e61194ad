package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// initDefaultFile is where runplan init writes when no FILE is given.
const initDefaultFile = "runplan.yaml"

// initFlavors are the webhook flavors runplan init can start from, in the
// order the usage lists them.
var initFlavors = []string{"discord", "slack", "generic"}

// flavorFlag is --webhook: a flavor, and whether it was given at all.
type flavorFlag struct {
	set    bool
	flavor string
}

func (f *flavorFlag) String() string { return f.flavor }

func (f *flavorFlag) Set(v string) error {
	for _, ok := range initFlavors {
		if v == ok {
			f.set, f.flavor = true, v
			return nil
		}
	}
	return fmt.Errorf("flavor %q: use %s", v, strings.Join(initFlavors, ", "))
}

func initCmd(args []string, stdout, stderr io.Writer) int {
	flags := newFlagSet("init", "runplan init [FILE] [--redis] [--webhook discord|slack|generic] [--force]", stdout, stderr)
	withRedis := flags.Bool("redis", false, "a Redis cache scenario (with neither --redis nor --webhook: both)")
	var hook flavorFlag
	flags.Var(&hook, "webhook", "a webhook delivery scenario of this flavor: discord, slack or generic")
	force := flags.Bool("force", false, "overwrite FILE if it exists")
	pos, err := parseInterleaved(flags, args)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		return ExitUsage
	}
	if len(pos) > 1 {
		fmt.Fprintln(flags.Output(), "runplan init: give at most one file (- for stdout)")
		flags.Usage()
		return ExitUsage
	}
	file := initDefaultFile
	if len(pos) == 1 {
		file = pos[0]
	}
	if !*withRedis && !hook.set {
		*withRedis = true
		hook = flavorFlag{set: true, flavor: "discord"}
	}
	src := starterPlan(file, *withRedis, hook.flavor)
	if file == "-" {
		_, _ = io.WriteString(stdout, src)
		return ExitOK
	}
	if err := writeNewFile(file, []byte(src), *force); err != nil {
		fmt.Fprintln(stderr, "runplan init:", err)
		if errors.Is(err, fs.ErrExist) {
			return ExitUsage
		}
		return ExitRuntime
	}
	fmt.Fprintf(stdout, "wrote %s: check it with runplan validate %s, run it with runplan run %s\n", file, file, file)
	return ExitOK
}

// writeNewFile writes b to path atomically (a temporary file in the same
// folder, then a link or a rename), so that no reader sees half a plan.
// Unless force is set it never replaces an existing file, even one created
// meanwhile: the error then wraps fs.ErrExist.
func writeNewFile(path string, b []byte, force bool) (err error) {
	if !force {
		if _, err := os.Lstat(path); err == nil {
			return existsError(path)
		}
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	tmp := f.Name()
	defer func() { _ = os.Remove(tmp) }() // after a link or on failure; gone after a rename
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return fmt.Errorf("write: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("write: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if force {
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		return nil
	}
	// A hard link fails when path exists, where a rename would replace it.
	switch err := os.Link(tmp, path); {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrExist):
		return existsError(path)
	default:
		// A file system without hard links: the check above has to do.
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		return nil
	}
}

// starterPlan returns the commented starter plan runplan init writes: a
// Redis cache scenario when withRedis, a webhook delivery scenario of the
// flavor when flavor is not empty, each with the Phase 1 checks that apply
// to it, on embedded targets.
//
// file, the path the plan is written to, names it in the comment that says
// how to validate and run it ("-", or a name that cannot sit in a YAML
// comment, gives the default name).
func starterPlan(file string, withRedis bool, flavor string) string {
	name := file
	if name == "-" || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 }) {
		name = initDefaultFile
	}
	var b strings.Builder
	b.WriteString(strings.ReplaceAll(starterHead, "FILE", name))
	b.WriteString(starterTargetsHead)
	if withRedis {
		b.WriteString(starterRedisTarget)
	}
	if flavor != "" {
		b.WriteString(strings.NewReplacer("NAME", hookTarget(flavor), "FLAVOR", flavor, "ENV", hookEnv[flavor]).Replace(starterWebhookTarget))
	}
	b.WriteString(starterScenariosHead)
	if withRedis {
		b.WriteString(starterRedisScenario)
	}
	if flavor != "" {
		if withRedis {
			b.WriteString("\n")
		}
		b.WriteString(starterWebhookScenario[flavor])
	}
	b.WriteString(starterChecksHead)
	if withRedis {
		b.WriteString(starterRedisChecks)
	}
	if flavor != "" {
		b.WriteString(starterWebhookChecks)
	}
	b.WriteString(starterReadiness)
	b.WriteString(starterRecommendationsHead)
	if withRedis {
		b.WriteString(starterRedisRecommendations)
	}
	if flavor != "" {
		b.WriteString(starterWebhookRecommendations)
	}
	return b.String()
}

// hookEnv is the environment variable the starter plan suggests for a
// real webhook's URL, by flavor.
var hookEnv = map[string]string{"discord": "DISCORD_WEBHOOK_URL", "slack": "SLACK_WEBHOOK_URL", "generic": "WEBHOOK_URL"}

// hookTarget is the name of the starter plan's webhook target.
func hookTarget(flavor string) string {
	if flavor == "generic" {
		return "hook"
	}
	return flavor
}

const starterHead = `# yaml-language-server: $schema=https://runplan.dev/schema/plan.schema.json
#
# A runplan starter plan, written by runplan init. The line above gives editors
# that speak the YAML language server completion and checks; offline, write the
# schema with "runplan schema > plan.schema.json" and point $schema at it.
#
#   runplan validate FILE
#       checks it without touching any target;
#   runplan run FILE
#       runs it (a few seconds) and prints a scored report.
#
# As written it needs no server: each target without a url: is started for the
# run on 127.0.0.1. In runplan's docs (github.com/runplan/runplan, docs/):
# the plan format in PLAN-FORMAT.md, the drivers in REDIS.md and WEBHOOKS.md,
# the checks, score and verdict in SCORING.md.
version: 1
name: starter
description: A starter plan against the Phase 1 targets.
seed: 42                     # same seed, same keys and payloads (--seed N)
`

const starterTargetsHead = `
# Targets: what the scenarios talk to, by name.
targets:
`

const starterRedisTarget = `  cache:
    driver: redis
    # No url: a redis-server started for the run (the in-process miniredis when
    # none is installed). For a real server, uncomment one of these; the run's
    # keys live under a namespace of their own and are removed at the end.
    # url: redis://localhost:6379/0
    # url: ${REDIS_URL}             # from the environment
    pool_size: 32
    timeout: 500ms
    # Loaded before any scenario starts, so that the cache is warm and the hit
    # ratio is real: keys strategy:0 to strategy:499.
    prefill:
      - {key: "strategy:{{ iteration }}", count: 500, value_size: 512, ttl: 5m}
`

const starterWebhookTarget = `  NAME:
    driver: webhook
    flavor: FLAVOR
    # No url: an embedded FLAVOR-compatible sink started for the run.
    # For a real webhook, give its URL (a secret: read it from the environment):
    # url: ${ENV}
    timeout: 5s
    retries: {max: 3, backoff: 250ms}   # 5xx and connection failures only
`

const starterScenariosHead = `
# Scenarios: the workloads, run at the same time. Each iteration runs the
# steps in order; rate: starts iterations at a fixed pace (the open model).
scenarios:
`

const starterRedisScenario = `  strategy_cache:
    description: Strategy lookups; a miss loads one (5 ms) and caches it.
    # 200 lookups a second for 5 s; the first second (inside the 5 s) warms the
    # connections and is not measured.
    load: {rate: 200/s, duration: 5s, warmup: 1s, max_vus: 50}
    steps:
      - name: lookup
        redis:
          cache_get:                  # GET; on a miss: load_delay, then SET
            key: "strategy:{{ zipf(500, 1.3) }}"    # a few hot keys
            on_miss: {value_size: 512, ttl: 5m, load_delay: 5ms}
`

var starterWebhookScenario = map[string]string{
	"discord": `  signal_delivery:
    description: Signals delivered to Discord, end to end.
    # 2 a second: within Discord's bucket of 5 per 2 s.
    load: {rate: 2/s, duration: 6s, max_vus: 20}
    steps:
      - name: deliver
        webhook:
          query: {wait: "true"}       # Discord answers 200 with the message
          json:
            username: runplan
            content: "signal {{ iteration }}: BUY BTC @ {{ 60000 + uniform(5000) }}"
        expect: {status: 200}
`,
	"slack": `  signal_delivery:
    description: Signals delivered to Slack, end to end.
    # One every 2 s: Slack allows about one a second per webhook.
    load: {rate: 30/m, duration: 6s, max_vus: 20}
    steps:
      - name: deliver
        webhook:
          json:
            text: "signal {{ iteration }}: BUY BTC @ {{ 60000 + uniform(5000) }}"
        expect: {status: 200}         # Slack answers 200 "ok"
`,
	"generic": `  signal_delivery:
    description: Signals delivered to a JSON webhook, end to end.
    load: {rate: 2/s, duration: 6s, max_vus: 20}
    steps:
      - name: deliver
        webhook:
          json:
            symbol: BTC
            side: BUY
            price: "{{ 60000 + uniform(5000) }}"   # one {{ }}: stays a number
            sequence: "{{ iteration }}"
        expect: {status: "2xx"}
`,
}

const starterChecksHead = `
# Checks: the Phase 1 targets. Each passes or fails; their weights make the
# score (0-100) and readiness turns the score into a verdict.
checks:
`

const starterRedisChecks = `  - name: cache_hit_ratio
    expr: strategy_cache.hit_ratio > 0.90
    weight: 25
  - name: redis_latency
    expr: strategy_cache.steps.lookup.latency.p99 < ms(100)
    weight: 25
`

const starterWebhookChecks = `  - name: signal_delivery_time
    expr: signal_delivery.latency.p95 < s(2)
    weight: 25
  - name: delivery_success
    expr: signal_delivery.success_rate > 0.95
    weight: 25
    critical: true                # failing it caps the verdict at not_ready
`

const starterReadiness = `
readiness: {ready: 90, degraded: 70}   # score >= 90: ready; >= 70: degraded
`

const starterRecommendationsHead = `
# Recommendations: advice printed with the report when their condition holds.
recommendations:
`

const starterRedisRecommendations = `  - when: strategy_cache.hit_ratio < 0.9
    say: "Cache hit ratio is {{ pct(strategy_cache.hit_ratio) }}: lengthen TTLs or pre-warm hot keys."
  - when: strategy_cache.steps.lookup.latency.p99 >= ms(100)
    say: "Redis p99 is {{ strategy_cache.steps.lookup.latency.p99 }}: check the pool size and the server's load."
`

const starterWebhookRecommendations = `  - when: signal_delivery.success_rate <= 0.95
    say: "Only {{ pct(signal_delivery.success_rate) }} of signals were delivered: look at the errors by class."
`

// existsError refuses to overwrite path; it wraps fs.ErrExist without
// repeating its text.
func existsError(path string) error {
	return &fileExists{path: path}
}

type fileExists struct{ path string }

func (e *fileExists) Error() string {
	return e.path + " exists: give --force to overwrite it, or another file name"
}

func (e *fileExists) Unwrap() error { return fs.ErrExist }
