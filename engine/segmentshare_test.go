package engine

import (
	"testing"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/load"
	"github.com/runplan/runplan/engine/plan"
	_ "github.com/runplan/runplan/scenarios/all"
)

// TestFaultOwnershipByTarget: whether a driver fault is shared state is
// the driver's word (driver.Sharer), not whether the target has a URL: a
// Redis Cluster named by its nodes (`cluster: {addrs}`) is shared by the
// segments, so segment 1 leaves its pause to segment 0, while a managed
// deployment or a local server is each segment's own.
func TestFaultOwnershipByTarget(t *testing.T) {
	t.Parallel()
	src := `version: 1
name: shares
targets:
  by_url: {driver: redis, url: "redis://127.0.0.1:1/0", allow_destructive: true}
  by_nodes: {driver: redis, cluster: {addrs: ["127.0.0.1:1", "127.0.0.1:2"]}, allow_destructive: true}
  by_sentinels: {driver: redis, sentinel: {master: mymaster, addrs: ["127.0.0.1:3"]}, allow_destructive: true}
  managed: {driver: redis, managed: {topology: standalone}}
  sink: {driver: webhook, flavor: discord}
scenarios:
  ping:
    load: {vus: 1, iterations: 1}
    steps: [{redis: [PING], target: by_url}]
faults:
  - {name: url_pause, target: by_url, at: 1s, for: 1s, client_pause: {}}
  - {name: nodes_pause, target: by_nodes, at: 1s, for: 1s, client_pause: {}}
  - {name: sentinel_pause, target: by_sentinels, at: 1s, for: 1s, client_pause: {}}
  - {name: managed_pause, target: managed, at: 1s, for: 1s, client_pause: {}}
  - {name: sink_outage, target: sink, at: 1s, for: 1s, http: {status: 503}}
`
	p, err := plan.Parse("shares.yaml", []byte(src), plan.Options{StepKinds: driver.Drivers(), Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Prepare(p, Options{RunID: "r1", AllowDestructive: true, Segment: load.Segment{Index: 1, Count: 2}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"url_pause": false, "nodes_pause": false, "sentinel_pause": false, "managed_pause": true, "sink_outage": true}
	if len(prog.faults) != len(want) {
		t.Fatalf("%d faults prepared, want %d", len(prog.faults), len(want))
	}
	for _, f := range prog.faults {
		if applies := f.Elsewhere == ""; applies != want[f.Name] {
			t.Errorf("fault %s: applied by segment 1 of 2: %v (elsewhere %q), want %v", f.Name, applies, f.Elsewhere, want[f.Name])
		}
	}
}
