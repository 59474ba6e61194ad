package engine_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/driver"
)

// tcpecho is a driver for the engine's network-fault tests: each call
// writes a line to a real TCP echo server and reads it back, over a
// connection dialled through the fault proxy (TargetSpec.Via), within a
// deadline (the step's `deadline`, default 5 s); the step's `size` pads the
// line to that many bytes. It exercises the embedded toxiproxy end to end.
type tcpecho struct{}

type echoTarget struct {
	addr string // what the calls dial (the proxy when there is one)
	mu   sync.Mutex
	pool []net.Conn
}

type echoStep struct {
	t        *echoTarget
	deadline time.Duration
	size     int
}

func (tcpecho) CheckTarget(driver.TargetSpec) error { return nil }

func (tcpecho) Open(ctx context.Context, t driver.TargetSpec, _ driver.Env) (driver.Target, error) {
	addr := strings.TrimPrefix(t.URL, "tcp://")
	if t.Via != nil {
		via, err := t.Via(addr)
		if err != nil {
			return nil, err
		}
		addr = via
	}
	return &echoTarget{addr: addr}, nil
}

func (tcpecho) Prepare(s driver.StepSpec) (driver.Step, error) {
	var cfg struct {
		Deadline string `yaml:"deadline"`
		Size     int    `yaml:"size"`
	}
	if err := s.Node.Decode(&cfg); err != nil {
		return nil, diag.Errorf(s.Node, "tcpecho: %v", err)
	}
	st := &echoStep{deadline: 5 * time.Second, size: cfg.Size}
	if cfg.Deadline != "" {
		d, err := time.ParseDuration(cfg.Deadline)
		if err != nil {
			return nil, diag.Errorf(s.Node, "tcpecho: %v", err)
		}
		st.deadline = d
	}
	return st, nil
}

func (t *echoTarget) Kind() string { return driver.KindExternal }
func (t *echoTarget) Addr() string { return t.addr }
func (t *echoTarget) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.pool {
		c.Close()
	}
	return nil
}

func (s *echoStep) Bind(t driver.Target) error { s.t = t.(*echoTarget); return nil }

func (s *echoStep) Do(ctx context.Context, it *driver.Iteration) driver.Outcome {
	s.t.mu.Lock()
	var c net.Conn
	if n := len(s.t.pool); n > 0 {
		c, s.t.pool = s.t.pool[n-1], s.t.pool[:n-1]
	}
	s.t.mu.Unlock()
	if c == nil {
		var err error
		d := net.Dialer{Timeout: s.deadline}
		if c, err = d.DialContext(ctx, "tcp", s.t.addr); err != nil {
			return driver.Outcome{Err: err}
		}
	}
	_ = c.SetDeadline(time.Now().Add(s.deadline))
	line := fmt.Sprintf("ping %d", it.Number)
	if pad := s.size - len(line) - 1; pad > 0 {
		line += strings.Repeat(".", pad)
	}
	_, err := io.WriteString(c, line+"\n")
	if err == nil {
		_, err = bufio.NewReader(c).ReadString('\n')
	}
	if err != nil {
		c.Close()
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded):
			return driver.Outcome{Err: err, Class: "timeout"}
		}
		return driver.Outcome{Err: err, Class: "connection"}
	}
	s.t.mu.Lock()
	s.t.pool = append(s.t.pool, c)
	s.t.mu.Unlock()
	return driver.Outcome{}
}

func init() { driver.Register("tcpecho", tcpecho{}) }

// echoServer answers every line with the same line until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := c.Write([]byte(line)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// Each network fault's effect is measured in its window and undone after.
// The machine's own speed adds to every latency (on a loaded machine, tens
// to hundreds of milliseconds), so the delaying faults are made to cost a
// second a call, and the checks are what a fault implies whatever that
// speed: a lower bound on latency while it is on and, once it is undone,
// calls faster than it would allow; errors of its class while it is on,
// and successes once it is undone. (Recovery times are tested under
// synctest's clock in TestFaultEffectAndRecovery.)
func TestNetworkFaults(t *testing.T) {
	t.Parallel()
	// back: after the undo, calls succeed again.
	const back = `
  - {name: back, expr: "faults.f.after.count > faults.f.after.errors"}`
	tests := []struct {
		name   string
		fault  string
		step   string // the tcpecho step's options
		checks string
	}{
		// The answer comes a second late while the latency is on.
		{"latency", "latency: {delay: 1s}", "{}", `
  - {name: slowed, expr: "faults.f.during.latency.p50 >= s(1)"}
  - {name: undone, expr: "faults.f.after.latency.min < s(1)"}` + back},
		// Calls time out; connections the proxy cuts when the fault ends
		// fail too.
		{"blackhole", "blackhole: {}", "{deadline: 300ms}", `
  - {name: timeouts, expr: "faults.f.during.errors_by.timeout > 0"}` + back},
		{"down", "down: {}", "{}", `
  - {name: refused, expr: "faults.f.during.errors_by.connection > 0"}` + back},
		// 1 KB/s: a line of 1,000 bytes comes back in a second.
		{"bandwidth", "bandwidth: {rate: 1}", "{size: 1000}", `
  - {name: throttled, expr: "faults.f.during.latency.p50 >= ms(900)"}
  - {name: undone, expr: "faults.f.after.latency.min < ms(900)"}` + back},
		// About a byte every 10 ms: a line of 100 bytes takes a second.
		{"slicer", "slicer: {average_size: 1, delay: 10ms}", "{size: 100}", `
  - {name: sliced, expr: "faults.f.during.latency.p50 >= ms(500)"}
  - {name: undone, expr: "faults.f.after.latency.min < ms(500)"}` + back},
		{"limit_data", "limit_data: {bytes: 20}", "{}", `
  - {name: cut, expr: "faults.f.during.errors_by.connection > 0"}` + back},
		{"reset", "reset: {}", "{}", `
  - {name: reset, expr: "faults.f.during.errors_by.connection > 0"}` + back},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := echoServer(t)
			// The fault's window is three seconds, so that calls begun under
			// it also end under it.
			src := fmt.Sprintf(`version: 1
targets: {echo: {driver: tcpecho, url: "tcp://%s"}}
scenarios:
  sc:
    load: {rate: 50/s, duration: 7s, max_vus: 200}
    steps: [{tcpecho: %s}]
faults:
  - {name: f, target: echo, at: 1s, for: 3s, %s}
checks:%s
`, addr, tt.step, tt.fault, tt.checks)
			r := runPlan(t, src, engine.Options{}, context.Background())
			f := r.Faults[0]
			if !f.Applied || f.UndoError != "" {
				t.Fatalf("fault: %+v", f)
			}
			for _, c := range r.Checks {
				if !c.Passed {
					t.Errorf("check %s failed: %s (during %+v, after %+v)", c.Name, c.Display, f.During, f.After)
				}
			}
			if t.Failed() {
				for _, p := range r.Scenarios[0].Series {
					t.Logf("  t=%v count=%d errors=%d latency=%+v", p.T, p.Count, p.Errors, p.Latency)
				}
			}
		})
	}
}

// Schema accepts any options: the test needs none checked.
func (tcpecho) Schema() driver.SchemaFragment { return driver.SchemaFragment{} }
