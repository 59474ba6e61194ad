package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runplan/runplan/scenarios/webhook/sink"
)

// A failing run posts its outcome, with the failed checks and their values,
// to the status webhook — here the embedded sink over a real socket —
// whether the webhook is given with --notify or in the plan's notify:
// (which the run reads from its prepared program). A notification that
// cannot be delivered is logged and leaves the exit code.
func TestFailingRunNotifies(t *testing.T) {
	t.Parallel()
	const src = `version: 1
name: notify-test
targets: {cache: {driver: redis}}
scenarios:
  w:
    load: {vus: 1, iterations: 20}
    steps:
      - redis: [SET, "k:{{ uniform(10) }}", v]
checks:
  - {name: impossible_latency, expr: "w.latency.p99 < us(0)"}
  - {name: counted, expr: "w.count == 20"}
`
	tests := []struct {
		name string
		// plan and args are the plan's notify: section and the extra
		// arguments, given the sink's URL.
		plan func(url string) string
		args func(url string) []string
	}{
		{"--notify", func(string) string { return "" }, func(url string) []string { return []string{"--notify", url} }},
		{"plan notify", func(url string) string { return "notify:\n  - url: \"" + url + "\"\n" }, func(string) []string { return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := sink.New(sink.Options{})
			if err := s.Start("127.0.0.1:0"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			plan := filepath.Join(t.TempDir(), "fail.yaml")
			if err := os.WriteFile(plan, []byte(src+tt.plan(s.URL())), 0o644); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := runMain(t, append([]string{"run", plan, "--no-progress"}, tt.args(s.URL())...)...)
			if code != ExitChecks {
				t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
			}
			msgs := s.Messages()
			if len(msgs) != 1 {
				t.Fatalf("the sink received %d messages\n%s", len(msgs), stderr)
			}
			embed := string(msgs[0].Embeds[0])
			for _, want := range []string{"notify-test", "NOT READY", "impossible_latency", "w.latency.p99 < us(0)"} {
				if !strings.Contains(embed, want) {
					t.Errorf("the notification lacks %q: %s", want, embed)
				}
			}
			if strings.Contains(embed, "counted =") {
				t.Errorf("a passed check was listed as failed: %s", embed)
			}

			// Undeliverable: the run's exit code does not change.
			s.Close()
			if err := os.WriteFile(plan, []byte(src+tt.plan(s.URL()+"x")), 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, stderr = runMain(t, append([]string{"run", plan, "--no-progress"}, tt.args(s.URL()+"x")...)...)
			if code != ExitChecks || !strings.Contains(stderr, "notification not delivered") {
				t.Fatalf("exit %d with an undeliverable notification\n%s", code, stderr)
			}
		})
	}
}
