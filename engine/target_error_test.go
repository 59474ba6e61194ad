package engine_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/plan"
)

// unreachable is a driver whose targets fail to open the way real ones do,
// chosen by the URL's scheme: refuse:// dials a closed port, exec:// starts
// a program that does not exist, file:// opens a missing file, and quote://
// fails with an error that quotes a fragment of the URL's password, as
// url.Parse does for a password holding '#'.
type unreachable struct{}

func (unreachable) CheckTarget(driver.TargetSpec) error { return nil }

func (unreachable) Open(ctx context.Context, t driver.TargetSpec, _ driver.Env) (driver.Target, error) {
	scheme, rest, _ := strings.Cut(t.URL, "://")
	var err error
	switch scheme {
	case "refuse":
		var d net.Dialer
		var c net.Conn
		if c, err = d.DialContext(ctx, "tcp", rest); err == nil {
			c.Close()
			return nil, errors.New("unreachable: something listens")
		}
	case "exec":
		err = exec.Command(rest).Start()
	case "file":
		_, err = os.Open(rest)
	case "quote":
		pw, _, _ := strings.Cut(strings.TrimPrefix(rest, ":"), "#")
		err = fmt.Errorf("parse: invalid port %q after host", ":"+pw)
	}
	return nil, fmt.Errorf("unreachable: target %q: open %s: %w", t.Name, t.URL, err)
}

func (unreachable) Prepare(driver.StepSpec) (driver.Step, error) { return unreachableStep{}, nil }

type unreachableStep struct{}

func (unreachableStep) Bind(driver.Target) error { return nil }
func (unreachableStep) Do(context.Context, *driver.Iteration) driver.Outcome {
	return driver.Outcome{}
}

func init() { driver.Register("unreachable", unreachable{}) }

// A target that cannot be opened stops the run before it starts: the error
// names the target, its address (credentials masked) and the root cause;
// the report is partial, not started, and its measurement is not judged.
func TestTargetUnreachableAtStart(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	tests := []struct {
		name, url, want string
	}{
		{"connection refused", "refuse://" + closed, "target u (refuse://" + closed + "): connection refused"},
		{"missing program", "exec://runplan-no-such-program", `target u (exec://runplan-no-such-program): exec: "runplan-no-such-program": executable file not found in $PATH`},
		{"missing file", "file:///nonexistent/runplan-cert.pem", "target u (file:///nonexistent/runplan-cert.pem): open /nonexistent/runplan-cert.pem: no such file or directory"},
		{"password fragment", "quote://:SECRET#pw@h:1", `target u (quote://:****@h:1): parse: invalid port ":****" after host`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := fmt.Sprintf(`version: 1
targets: {u: {driver: unreachable, url: %q}}
scenarios:
  w:
    load: {vus: 1, iterations: 1}
    steps: [{unreachable: {}}]
`, tc.url)
			p, err := plan.Parse("t.yaml", []byte(src), plan.Options{StepKinds: driver.Drivers(), Env: func(string) (string, bool) { return "", false }})
			if err != nil {
				t.Fatal(err)
			}
			prog, err := engine.Prepare(p, engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := prog.Run(context.Background())
			var te *engine.TargetError
			if !errors.Is(err, engine.ErrTarget) || !errors.As(err, &te) {
				t.Fatalf("error %v (%T) is not a TargetError wrapping ErrTarget", err, err)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n%q\nwant\n%q", err.Error(), tc.want)
			}
			if strings.Contains(err.Error(), "SECRET") || strings.Contains(rep.Error, "SECRET") {
				t.Errorf("the error prints the password: %v", err)
			}
			if !rep.NotStarted || !rep.Partial || rep.Invalid() || rep.Error != tc.want {
				t.Errorf("report: not started %v, partial %v, invalid %v, error %q", rep.NotStarted, rep.Partial, rep.Invalid(), rep.Error)
			}
		})
	}
}

// A run that started is never marked not started, even when it ends in an
// error; nor is one that ran to its end.
func TestStartedRunIsJudged(t *testing.T) {
	t.Parallel()
	rep := runPlan(t, `version: 1
targets: {p: {driver: probe}}
scenarios:
  w:
    load: {vus: 1, iterations: 3}
    steps: [{probe: {}}]
`, engine.Options{}, context.Background())
	if rep.NotStarted || rep.Invalid() != !rep.Valid {
		t.Errorf("a complete run: not started %v, valid %v, invalid %v", rep.NotStarted, rep.Valid, rep.Invalid())
	}
}

// Schema accepts any options: the test needs none checked.
func (unreachable) Schema() driver.SchemaFragment { return driver.SchemaFragment{} }
