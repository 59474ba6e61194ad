package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/runplan/runplan/scenarios/redis/redistest"
)

func writePlanFile(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plan.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// render prints what the iterations would send, with secrets masked and
// without opening a target: both targets are on closed ports, and render
// succeeds. The same seed prints the same; --format json is JSON.
func TestRenderCommand(t *testing.T) {
	t.Parallel()
	const pw, token = "Pw-" + canary, "tok" + canary + "ABCDEFGHIJKLMNOP0123456789"
	closed := closedAddr(t)
	plan := writePlanFile(t, `version: 1
name: render
targets:
  cache: {driver: redis, url: "redis://app:`+pw+`@`+closed+`/0"}
  hook: {driver: webhook, url: "http://`+closed+`/api/webhooks/42/`+token+`", flavor: discord, headers: {Authorization: "Bearer `+canary+`x"}}
scenarios:
  users:
    load: {vus: 1, iterations: 10}
    vars: {id: "{{ uniform(1000) }}"}
    steps:
      - redis: [SET, "user:{{ vars.id }}", "a b"]
      - webhook: {json: {content: "user {{ vars.id }}"}}
`)
	code, stdout, stderr := runMain(t, "render", plan, "--seed", "3", "--iterations", "2")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"  cache (redis): redis://app:****@" + closed + "/0\n",
		"  iteration 1 (VU 1)\n    vars: id = ",
		`      SET runplan:<run-id>:user:`,
		`"a b" EX 3600   # safety TTL`,
		"      POST http://" + closed + "/api/webhooks/42/****\n",
		"      Authorization: ****\n",
		`      {"content":"user `,
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout+stderr, canary) {
		t.Errorf("a secret shows:\n%s\n%s", stdout, stderr)
	}
	if _, again, _ := runMain(t, "render", plan, "--seed", "3", "--iterations", "2"); again != stdout {
		t.Errorf("the same seed renders differently:\n%s\nvs\n%s", stdout, again)
	}
	if _, other, _ := runMain(t, "render", plan, "--seed", "4", "--iterations", "2"); other == stdout {
		t.Errorf("seeds 3 and 4 render the same:\n%s", stdout)
	}
	code, stdout, stderr = runMain(t, "render", plan, "--format", "json", "--iterations", "1")
	var r struct {
		Scenarios []struct {
			Iterations []struct {
				Steps []struct {
					Lines []string `json:"lines"`
				} `json:"steps"`
			} `json:"iterations"`
		} `json:"scenarios"`
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || code != ExitOK {
		t.Fatalf("exit %d, JSON %v:\n%s\n%s", code, err, stdout, stderr)
	}
	if len(r.Scenarios) != 1 || len(r.Scenarios[0].Iterations) != 1 || len(r.Scenarios[0].Iterations[0].Steps) != 2 {
		t.Errorf("JSON %+v, want 1 scenario, 1 iteration, 2 steps", r)
	}
	for _, bad := range [][]string{{"--iterations", "0"}, {"--format", "yaml"}, {"--scenario", "nope"}, {"--seed", "-1"}} {
		if code, _, _ := runMain(t, append([]string{"render", plan}, bad...)...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", bad, code, ExitUsage)
		}
	}
}

// A template that fails shows its error at the step's place in the plan,
// for the iteration that fails; render goes on with the next, and exits 1.
func TestRenderShowsTemplateErrors(t *testing.T) {
	t.Parallel()
	plan := writePlanFile(t, `version: 1
name: render
targets: {cache: {driver: redis}}
scenarios:
  users:
    load: {vus: 1, iterations: 10}
    vars: {m: "{{ 1 - iteration }}"}
    steps:
      - redis: [GET, "k:{{ uniform(vars.m) }}"]
`)
	code, stdout, stderr := runMain(t, "render", plan)
	if code != ExitChecks {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitChecks, stdout, stderr)
	}
	for _, want := range []string{
		"  iteration 0 (VU 1)\n    vars: m = 1\n    redis → cache (" + plan + ":9:9)\n      GET runplan:<run-id>:k:0\n",
		"  iteration 1 (VU 1)\n    vars: m = 0\n    redis → cache (" + plan + ":9:9)\n      ERROR " + plan + `:9:9: redis: GET argument 1 "k:{{ uniform(vars.m) }}": {{ uniform(vars.m) }}: uniform(0): n must be positive` + "\n",
		"  iteration 2 (VU 1)\n    vars: m = -1\n",
		"2 iteration(s) failed to render",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

// What render shows for a seed is what a run with that seed sends: the
// keys written on a real redis-server (kept after the run) and the sizes
// of their values are those rendered.
func TestRenderMatchesTheRun(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	plan := writePlanFile(t, `version: 1
name: render
targets: {cache: {driver: redis, url: "`+srv.URL()+`", keep: true, allow_destructive: true}}
scenarios:
  users:
    load: {vus: 1, iterations: 3}
    vars: {id: "{{ uniform(1000000) }}"}
    steps:
      - redis: [SET, "k:{{ vars.id }}", {value_size: {min: 1, max: 1000}}]
`)
	code, stdout, stderr := runMain(t, "render", plan, "--seed", "11")
	if code != ExitOK {
		t.Fatalf("render: exit %d\n%s\n%s", code, stdout, stderr)
	}
	re := regexp.MustCompile(`SET runplan:<run-id>:(k:\d+) <(\d+) random bytes>`)
	var want []string
	for _, m := range re.FindAllStringSubmatch(stdout, -1) {
		want = append(want, m[1]+"="+m[2])
	}
	if len(want) != 3 {
		t.Fatalf("rendered %v, want 3 SETs:\n%s", want, stdout)
	}
	if code, stdout, stderr := runMain(t, "run", plan, "--seed", "11", "--no-progress"); code != ExitOK && code != ExitChecks && code != ExitInvalid {
		t.Fatalf("run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer c.Close()
	ctx := context.Background()
	keys, err := c.Keys(ctx, "runplan:*:k:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range keys {
		n, err := c.StrLen(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, k[strings.Index(k, ":k:")+1:]+"="+strconv.FormatInt(n, 10))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the run wrote %v, render showed %v", got, want)
	}
}

// A template that fails at run time is visible: the JSON report holds its
// message with the step's file:line:col and its count, the console shows
// it, and the log warns once per distinct message.
func TestRunShowsErrorSamples(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	plan := writePlanFile(t, `version: 1
name: samples
targets: {cache: {driver: redis, url: "`+srv.URL()+`"}}
scenarios:
  users:
    load: {vus: 1, per_vu_iterations: 6}
    vars: {m: "{{ 3 - iteration % 4 }}"}
    steps:
      - name: write
        redis: [SET, "k:{{ uniform(vars.m) }}", v]
`)
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runMain(t, "run", plan, "--out", out, "--no-progress", "--log-format", "json", "--seed", "1")
	if code == ExitUsage || code == ExitRuntime {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	// m is 3, 2, 1, 0, 3, 2: iteration 3 fails, and only it.
	msg := `redis: SET argument 1 "k:{{ uniform(vars.m) }}": {{ uniform(vars.m) }}: uniform(0): n must be positive`
	at := plan + ":9:9"
	var rep struct {
		Scenarios []struct {
			Steps []struct {
				ErrorSamples []struct {
					Class   string `json:"class"`
					Message string `json:"message"`
					Count   int64  `json:"count"`
					At      string `json:"at"`
				} `json:"error_samples"`
			} `json:"steps"`
		} `json:"scenarios"`
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	samples := rep.Scenarios[0].Steps[0].ErrorSamples
	if len(samples) != 1 || samples[0].Class != "template" || samples[0].Message != msg || samples[0].Count != 1 || samples[0].At != at {
		t.Errorf("error samples %+v, want one of class template, count 1, at %s: %s", samples, at, msg)
	}
	if want := "template ×1 at " + at + ":"; !strings.Contains(stdout, want) || !strings.Contains(stdout, "uniform(0): n must be") {
		t.Errorf("the console lacks %q and the message:\n%s", want, stdout)
	}
	if n := strings.Count(stderr, "first time with this message"); n != 1 || !strings.Contains(stderr, `"at":"`+at+`"`) {
		t.Errorf("%d warnings in the log, want 1 with at %s:\n%s", n, at, stderr)
	}
}

// Every example plan renders: each of its steps has something to show and
// no template fails.
func TestRenderExamplePlans(t *testing.T) {
	t.Parallel()
	plans, err := filepath.Glob("../../../plans/*.yaml")
	if err != nil || len(plans) == 0 {
		t.Fatalf("no plans: %v", err)
	}
	for _, p := range plans {
		t.Run(filepath.Base(p), func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runMain(t, "render", p, "--iterations", "2")
			if code != ExitOK || strings.Contains(stdout, "not renderable") || !strings.Contains(stdout, "  iteration 1 (VU ") {
				t.Errorf("exit %d\n%s\n%s", code, stdout, stderr)
			}
			// A captured value has no reply at render time: the steps after
			// the capture show its placeholder.
			if filepath.Base(p) == "session-store.yaml" && !strings.Contains(stdout, `"login <captured: login>"`) {
				t.Errorf("no capture placeholder:\n%s", stdout)
			}
		})
	}
}

// Data rows are drawn per iteration as in a run; a unique source that runs
// out with exhausted: stop ends the scenario's render there, which is no
// failure.
func TestRenderDataRows(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rows.csv"), []byte("sym,px\nBTC,1\nETH,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	plan := filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(plan, []byte(`version: 1
name: d
data:
  rows: {file: rows.csv, pick: unique, exhausted: stop}
targets: {cache: {driver: redis}}
scenarios:
  users:
    load: {vus: 1, iterations: 10}
    steps:
      - redis: [SET, "px:{{ data.rows.sym }}", "{{ data.rows.px }}"]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runMain(t, "render", plan, "--iterations", "5")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"      SET runplan:<run-id>:px:BTC 1\n",
		"      SET runplan:<run-id>:px:ETH 2\n",
		"  iteration 2 (VU 1)\n    STOP " + plan + ":7:3: the scenario stops: data rows: every row of",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "iteration 3") {
		t.Errorf("render went on after the scenario stopped:\n%s", stdout)
	}
}

// A step of an included fragment is placed in the fragment, in render as
// in the report's error samples.
func TestRenderPlacesIncludedSteps(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "shared"), 0o700); err != nil {
		t.Fatal(err)
	}
	frag := filepath.Join(dir, "shared", "sc.yaml")
	if err := os.WriteFile(frag, []byte(`scenarios:
  users:
    load: {vus: 1, iterations: 3}
    steps:
      - redis: [GET, "k:{{ uniform(iteration) }}"]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	plan := filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(plan, []byte("version: 1\nname: inc\ninclude: [shared/sc.yaml]\ntargets: {cache: {driver: redis}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runMain(t, "render", plan)
	want := "      ERROR " + frag + `:5:9: redis: GET argument 1 "k:{{ uniform(iteration) }}": {{ uniform(iteration) }}: uniform(0): n must be positive`
	if code != ExitChecks || !strings.Contains(stdout, want) {
		t.Errorf("exit %d, want %d and %q:\n%s\n%s", code, ExitChecks, want, stdout, stderr)
	}
}
