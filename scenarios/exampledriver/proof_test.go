package exampledriver_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/plan"
	"github.com/runplan/runplan/engine/report"
)

// noEnv keeps the machine's environment out of the plans.
func noEnv(string) (string, bool) { return "", false }

// writePlan writes src as plan.yaml in a directory of its own.
func writePlan(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plan.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A plan with mistakes in the driver's target option, step and fault — and
// in checks on its metrics — is refused with every problem at its
// file:line:col, with "did you mean" from the driver's schema fragment, and
// with the driver's own checks (what a schema cannot say) placed at the
// node they concern. Nothing in engine/ or schema/ knows the driver.
func TestExampleDriverDiagnostics(t *testing.T) {
	t.Parallel()
	const valid = `version: 1
targets:
  work: {driver: queue, capacity: 64}
scenarios:
  consume:
    load: {vus: 1, iterations: 10}
    steps:
      - {name: produce, queue: {op: push}}
      - {name: take, queue: {op: pop}}
faults:
  - {name: jam, target: work, at: 1s, for: 1s, queue_stall: {affects: pop}}
checks:
  - {name: served, expr: consume.empty_ratio < 0.9}
`
	tests := []struct {
		name string
		// edits are replacements applied to valid, in order.
		edits [][2]string
		want  []string // "line:col: message"; empty: the plan is valid
	}{
		{name: "valid"},
		{
			name: "schema: every mistake at once, with did you mean",
			edits: [][2]string{
				{"capacity: 64", "capasity: 64"},
				{"{op: pop}", "{op: pob}"},
				{"{affects: pop}", "{afects: pop}"},
			},
			want: []string{
				`3:25: unknown key "capasity" in targets.work (did you mean "capacity"?)`,
				`9:34: scenarios.consume.steps[1].queue.op: "pob" is not one of "push", "pop" (did you mean "pop"?)`,
				`11:62: unknown key "afects" in faults[0].queue_stall (did you mean "affects"?)`,
			},
		},
		{
			name:  "schema: a target option out of range",
			edits: [][2]string{{"capacity: 64", "capacity: 0"}},
			want:  []string{`3:35: targets.work.capacity: must be at least 1 (got 0)`},
		},
		{
			name: "driver: what the schema cannot say, at its node",
			edits: [][2]string{
				{"{op: push}", "{op: push, count: 100}"},
				{"{op: pop}", "{op: pop, count: 2}"},
			},
			want: []string{
				`8:50: queue: step "produce": count 100 is more than target "work" holds (capacity 64)`,
				`9:39: queue: step "take": count is for push; a pop takes one item`,
			},
		},
		{
			name:  "checks: a misspelt step metric",
			edits: [][2]string{{"consume.empty_ratio", "consume.empty_ration"}},
			want:  []string{`13:34: check served: unknown name consume.empty_ration (did you mean consume.empty_ratio?)`},
		},
		{
			name:  "checks: another driver's step metric",
			edits: [][2]string{{"consume.empty_ratio < 0.9", "consume.hit_ratio > 0.9"}},
			want:  []string{`13:34: check served: unknown name consume.hit_ratio`},
		},
		{
			name:  "checks: a ratio compared with a duration",
			edits: [][2]string{{"consume.empty_ratio < 0.9", "consume.empty_ratio < ms(5)"}},
			want:  []string{`13:46: check served: invalid operation: < (mismatched types number and duration)`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := valid
			for _, e := range tt.edits {
				if !strings.Contains(src, e[0]) {
					t.Fatalf("the plan has no %q", e[0])
				}
				src = strings.Replace(src, e[0], e[1], 1)
			}
			path := writePlan(t, src)
			_, diags := engine.Check(path, plan.Options{Env: noEnv}, engine.Options{})
			got := diags.Error()
			errs := diags.Errors()
			if len(tt.want) == 0 {
				if len(errs) > 0 {
					t.Fatalf("a valid plan was refused:\n%s", got)
				}
				return
			}
			for _, w := range tt.want {
				if !strings.Contains(got, path+":"+w) {
					t.Errorf("missing %q in:\n%s", path+":"+w, got)
				}
			}
			if len(errs) != len(tt.want) {
				t.Errorf("%d diagnostics, want %d:\n%s", len(errs), len(tt.want), got)
			}
		})
	}
}

// runExample loads testdata/plan.yaml as `runplan run` does (engine.Load:
// one pass of validation and preparation) and runs it.
func runExample(t *testing.T) *report.Report {
	t.Helper()
	prog, diags := engine.Load(filepath.Join("testdata", "plan.yaml"), plan.Options{Env: noEnv},
		engine.Options{Log: zerolog.Nop(), JournalDir: t.TempDir()})
	if prog == nil || len(diags.Errors()) > 0 {
		t.Fatalf("the example plan does not load:\n%s", diags.Error())
	}
	rep, err := prog.Run(context.Background())
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return rep
}

// The example plan runs, and the driver's figures are in the report as
// the engine guarantees them: every one of them is deterministic (one VU per
// scenario, a fault from the run's start), so they are asserted exactly.
func TestExampleDriverRuns(t *testing.T) {
	t.Parallel()
	// The subtests share rep and run one after the other: renderers are
	// safe for concurrent use on distinct reports only.
	rep := runExample(t)

	t.Run("checks on the driver's metrics", func(t *testing.T) {
		tests := []struct {
			name    string
			passed  bool
			value   any    // nil: unknown
			missing string // the figure a check on an unknown one names
		}{
			{name: "pushed_all", passed: true},
			{name: "mostly_served", passed: true, value: 2.0 / 3},
			{name: "rarely_empty", passed: false, value: 2.0 / 3},
			{name: "take_served", passed: true, value: 0.0},
			{name: "fill_never_empty", passed: false, missing: "fill.empty_ratio"},
			{name: "stalled_once", passed: true},
			{name: "no_stall_errors", passed: true},
		}
		byName := map[string]report.Check{}
		for _, c := range rep.Checks {
			byName[c.Name] = c
		}
		if len(byName) != len(tests) {
			t.Errorf("%d checks in the report, want %d", len(byName), len(tests))
		}
		for _, tt := range tests {
			c, ok := byName[tt.name]
			if !ok {
				t.Errorf("check %s: not in the report", tt.name)
				continue
			}
			if c.Passed != tt.passed || c.Error != "" {
				t.Errorf("check %s (%s): passed %v, error %q; want passed %v", tt.name, c.Expr, c.Passed, c.Error, tt.passed)
			}
			if tt.missing != "" {
				if !c.NA() || !strings.Contains(strings.Join(c.Missing, " "), tt.missing) {
					t.Errorf("check %s: missing %v (n/a %v), want %s unknown", tt.name, c.Missing, c.NA(), tt.missing)
				}
				continue
			}
			if c.NA() {
				t.Errorf("check %s: n/a (missing %v), want measured", tt.name, c.Missing)
			}
			if want, ok := tt.value.(float64); ok {
				if got, ok := c.Value.(float64); !ok || math.Abs(got-want) > 1e-9 {
					t.Errorf("check %s: value %v, want %v", tt.name, c.Value, want)
				}
			}
		}
	})

	t.Run("the figures in the report model", func(t *testing.T) {
		consume, fill := scenario(t, rep, "consume"), scenario(t, rep, "fill")
		tests := []struct {
			where string
			stats report.Stats
			name  string
			want  float64 // NaN: absent (nothing to show)
		}{
			{"consume", consume.Stats, "pushed", 300},
			{"consume", consume.Stats, "popped", 300},
			{"consume", consume.Stats, "empty_pops", 600},
			{"consume", consume.Stats, "empty_ratio", 2.0 / 3},
			{"consume.produce", step(t, consume, "produce").Stats, "pushed", 300},
			{"consume.take", step(t, consume, "take").Stats, "empty_ratio", 0},
			{"consume.take_more", step(t, consume, "take_more").Stats, "empty_ratio", 1},
			{"fill", fill.Stats, "pushed", 100},
			{"fill", fill.Stats, "empty_ratio", math.NaN()},
		}
		for _, tt := range tests {
			m := tt.stats.Metric(tt.name)
			switch {
			case math.IsNaN(tt.want):
				if m != nil {
					t.Errorf("%s.%s = %v, want absent (never measured)", tt.where, tt.name, m.Value)
				}
			case m == nil:
				t.Errorf("%s.%s: absent, want %v", tt.where, tt.name, tt.want)
			case math.Abs(m.Value-tt.want) > 1e-9:
				t.Errorf("%s.%s = %v, want %v", tt.where, tt.name, m.Value, tt.want)
			}
		}
		// The client's empty_ratio beside the queue's own, which has a
		// server figure of the same name: both 2/3 here, the client's over
		// the measured window, the server's over the run.
		var sources []string
		for _, h := range consume.HitRatios {
			sources = append(sources, h.Source+" "+h.Target)
			if h.Value == nil || math.Abs(*h.Value-2.0/3) > 1e-9 {
				t.Errorf("consume: %s ratio %v, want 2/3", h.Source, h.Value)
			}
		}
		if got := strings.Join(sources, ", "); got != "client , server work" {
			t.Errorf("consume's ratios side by side: %s; want client, server work", got)
		}
		if len(fill.HitRatios) != 0 {
			t.Errorf("fill has ratios side by side %+v, want none (no pops)", fill.HitRatios)
		}
		if consume.Errors != 0 || fill.Errors != 0 {
			t.Errorf("errors: consume %d, fill %d; want none", consume.Errors, fill.Errors)
		}
	})

	t.Run("the fault was applied and undone", func(t *testing.T) {
		if len(rep.Faults) != 1 {
			t.Fatalf("%d faults in the report, want 1", len(rep.Faults))
		}
		f := rep.Faults[0]
		if f.Name != "jam" || f.Kind != "queue_stall" || !f.Applied || f.Error != "" || f.UndoError != "" || f.Skipped != "" {
			t.Errorf("fault %+v: want jam, queue_stall, applied, undone without error", f)
		}
		// The target's own view, sampled after every undo: one stall
		// started, none active.
		server := map[string]*float64{}
		for _, tg := range rep.Targets {
			if tg.Name == "spare" {
				for _, s := range tg.Server {
					server[s.Name] = s.Value
				}
			}
		}
		for name, want := range map[string]float64{"stalls": 1, "stalled": 0, "depth": 100} {
			switch v := server[name]; {
			case v == nil:
				t.Errorf("spare.server.%s: unknown, want %v", name, want)
			case *v != want:
				t.Errorf("spare.server.%s = %v, want %v", name, *v, want)
			}
		}
	})

	t.Run("the driver's advice", func(t *testing.T) {
		want := "consume: 66.7% of pops found the queue empty (empty_ratio, 600 of 900 pops): the consumer outruns the producer"
		n := 0
		for _, r := range rep.Recommendations {
			if strings.Contains(r, "empty_ratio") {
				n++
				if !strings.HasPrefix(r, want) {
					t.Errorf("recommendation %q, want %q...", r, want)
				}
			}
		}
		if n != 1 {
			t.Errorf("%d recommendations on empty_ratio, want 1 (consume only; fill pops nothing): %q", n, rep.Recommendations)
		}
	})

	t.Run("renderers", func(t *testing.T) {
		tests := []struct {
			format string
			write  func(*bytes.Buffer, *report.Report) error
			want   []string
		}{
			{"json", func(b *bytes.Buffer, r *report.Report) error { return report.WriteJSON(b, r) },
				[]string{`"pushed": 300`, `"empty_pops": 600`, `"empty_ratio": 0.666`, `"kind": "queue_stall"`, `"driver": "queue"`,
					`"source": "server",`, `"target": "work",`}},
			{"console", func(b *bytes.Buffer, r *report.Report) error {
				return report.WriteConsole(b, r, report.ConsoleOptions{})
			}, []string{"pushed 300", "empty ratio 66.7% (600/900)", "the consumer outruns the producer"}},
			{"html", func(b *bytes.Buffer, r *report.Report) error { return report.WriteHTML(b, r) },
				[]string{"pushed 300", "empty ratio 66.7%", "the consumer outruns the producer"}},
		}
		for _, tt := range tests {
			t.Run(tt.format, func(t *testing.T) {
				var b bytes.Buffer
				if err := tt.write(&b, rep); err != nil {
					t.Fatal(err)
				}
				for _, w := range tt.want {
					if !strings.Contains(b.String(), w) {
						t.Errorf("%s: missing %q", tt.format, w)
					}
				}
				if tt.format != "json" {
					return
				}
				// The report schema is built from the declarations of the
				// report's drivers: the driver's metrics validate, as
				// numbers of their kind.
				doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b.Bytes()))
				if err != nil {
					t.Fatal(err)
				}
				if err := report.ValidateJSON(doc); err != nil {
					t.Errorf("the JSON report does not validate: %v", err)
				}
				// ... and hold it to them: a counter that is not an
				// integer is refused.
				bad := bytes.Replace(b.Bytes(), []byte(`"pushed": 300`), []byte(`"pushed": 300.5`), 1)
				doc, err = jsonschema.UnmarshalJSON(bytes.NewReader(bad))
				if err != nil {
					t.Fatal(err)
				}
				if err := report.ValidateJSON(doc); err == nil {
					t.Error("a report with a fractional counter validates")
				}
				// The report reads back with its figures.
				path := filepath.Join(t.TempDir(), "report.json")
				if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
					t.Fatal(err)
				}
				back, err := report.Read(path)
				if err != nil {
					t.Fatal(err)
				}
				if s := scenario(t, back, "consume"); s.Metric("empty_ratio") == nil || s.Metric("empty_ratio").Kind != "ratio" {
					t.Errorf("read back: consume.empty_ratio = %+v, want a ratio", s.Metrics)
				}
			})
		}
	})
}

func scenario(t *testing.T, r *report.Report, name string) report.Scenario {
	t.Helper()
	for _, s := range r.Scenarios {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no scenario %s in the report", name)
	return report.Scenario{}
}

func step(t *testing.T, s report.Scenario, name string) report.Step {
	t.Helper()
	for _, st := range s.Steps {
		if st.Name == name {
			return st
		}
	}
	t.Fatalf("no step %s in scenario %s", name, s.Name)
	return report.Step{}
}

// The driver was registered from this _test package and nothing else: the
// engine knows it only through the registry, and the schema the plan was
// checked against is assembled with its fragment.
func TestExampleDriverIsRegisteredOnly(t *testing.T) {
	t.Parallel()
	if got := driver.Drivers(); len(got) != 1 || got[0] != driverName {
		t.Errorf("registered drivers %q, want only %q (this test links no real driver)", got, driverName)
	}
	s, err := engine.PlanSchema()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"queueTarget"`, `"queueStep"`, `"queueCount"`, `"queue_stall"`} {
		if !strings.Contains(string(s.JSON()), w) {
			t.Errorf("the assembled plan schema lacks %s", w)
		}
	}
}
