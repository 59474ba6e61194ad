package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/plan"
)

// prepCount is a test driver that counts how often the engine asks it to
// check a target and prepare a step.
type prepCount struct{}

var prepChecks, prepSteps atomic.Int64

type prepTarget struct{}

func (prepTarget) Kind() string                       { return driver.KindEmbedded }
func (prepTarget) Addr() string                       { return "prepcount" }
func (prepTarget) Close() error                       { return nil }
func (prepCount) CheckTarget(driver.TargetSpec) error { prepChecks.Add(1); return nil }
func (prepCount) Prepare(driver.StepSpec) (driver.Step, error) {
	prepSteps.Add(1)
	return prepStep{}, nil
}
func (prepCount) Open(context.Context, driver.TargetSpec, driver.Env) (driver.Target, error) {
	return prepTarget{}, nil
}

type prepStep struct{}

func (prepStep) Bind(driver.Target) error                             { return nil }
func (prepStep) Do(context.Context, *driver.Iteration) driver.Outcome { return driver.Outcome{} }

func init() { driver.Register("prepcount", prepCount{}) }

// Load, what `runplan run` runs, loads and prepares a plan once: each
// driver decodes and checks every target and step one time, for the
// diagnostics and the run alike (the CLI used to validate, then prepare
// again for the run), and the program runs without preparing again.
func TestLoadPreparesOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "plan.yaml")
	src := `version: 1
targets: {c: {driver: prepcount}}
scenarios:
  once:
    load: {vus: 1, iterations: 3}
    steps:
      - {prepcount: {}}
      - {prepcount: {}}
`
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	prog, diags := engine.Load(path, plan.Options{Env: func(string) (string, bool) { return "", false }}, engine.Options{})
	if prog == nil {
		t.Fatal(diags)
	}
	rep, err := prog.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Scenarios[0].Count != 3 {
		t.Errorf("%d iterations, want 3", rep.Scenarios[0].Count)
	}
	if c, s := prepChecks.Load(), prepSteps.Load(); c != 1 || s != 2 {
		t.Errorf("the target was checked %d times and the steps prepared %d times, want 1 and 2", c, s)
	}
}

// Schema accepts any options: the test needs none checked.
func (prepCount) Schema() driver.SchemaFragment { return driver.SchemaFragment{} }
