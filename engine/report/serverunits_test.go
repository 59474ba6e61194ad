package report

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/runplan/runplan/engine/driver"
)

// unitProbe is a driver that only declares server figures, some of them
// durations in the server's own units.
type unitProbe struct{}

func (unitProbe) Configure(driver.TargetSpec) (driver.Config, error) {
	return nil, errors.New("unitprobe: declarations only")
}
func (unitProbe) Schema() driver.SchemaFragment { return driver.SchemaFragment{} }
func (unitProbe) ServerMetrics() []driver.ServerMetric {
	return []driver.ServerMetric{
		{Name: "usec_per_call", Unit: "us"},
		{Name: "replica_lag_max", Unit: "s"},
		{Name: "queue_ms", Unit: "ms"},
		{Name: "commands"},
	}
}

func init() { driver.Register("unitprobe", unitProbe{}) }

// TestServerLatenciesInMs: a server figure its driver declares as a
// duration is shown as a latency, like the client-side ones, whatever
// unit the server gives it in; counts stay plain numbers, without an
// exponent.
func TestServerLatenciesInMs(t *testing.T) {
	t.Parallel()
	r := fixture(t, fixtureOptions{})
	r.Targets[0].Driver = "unitprobe"
	r.Targets[0].Server = []ServerFigure{
		{Name: "usec_per_call", Value: val(23.4)},
		{Name: "replica_lag_max", Value: val(1.2)},
		{Name: "queue_ms", Value: val(0.75)},
		{Name: "commands", Value: val(12345678)},
	}
	var console, html, md bytes.Buffer
	if err := WriteConsole(&console, r, ConsoleOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&html, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"usec_per_call 23µs", "replica_lag_max 1.20s", "queue_ms 750µs", "commands 12345678"} {
		if !strings.Contains(console.String(), want) {
			t.Errorf("console lacks %q:\n%s", want, console.String())
		}
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
		name, value, _ := strings.Cut(want, " ")
		if !strings.Contains(html.String(), "<dt>"+name+"</dt><dd>"+value) {
			t.Errorf("html lacks %s %s", name, value)
		}
	}
}
