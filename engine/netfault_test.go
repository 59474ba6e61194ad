package engine_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/driver"
)

// tcpecho is a driver for the engine's network-fault tests: each call
// writes a line to a real TCP echo server and reads it back, over a
// connection dialled through the fault proxy (TargetSpec.Via), with a
// 300 ms deadline. It exercises the embedded toxiproxy end to end.
type tcpecho struct{}

type echoTarget struct {
	addr string // what the calls dial (the proxy when there is one)
	mu   sync.Mutex
	pool []net.Conn
}

type echoStep struct{ t *echoTarget }

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

func (tcpecho) Prepare(driver.StepSpec) (driver.Step, error) { return &echoStep{}, nil }

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
		d := net.Dialer{Timeout: 300 * time.Millisecond}
		if c, err = d.DialContext(ctx, "tcp", s.t.addr); err != nil {
			return driver.Outcome{Err: err}
		}
	}
	_ = c.SetDeadline(time.Now().Add(300 * time.Millisecond))
	_, err := fmt.Fprintf(c, "ping %d\n", it.Number)
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
// (Recovery times are tested under a fake clock in TestFaultEffectAndRecovery:
// with real time on a shared machine, tail latencies are too noisy for
// exact recovery assertions.)
func TestNetworkFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fault  string
		checks string
	}{
		{"latency", "latency: {delay: 100ms}", `
  - {name: slowed, expr: "faults.f.during.latency.p50 >= ms(100)"}
  - {name: back, expr: "faults.f.after.latency.p50 < ms(50)"}`},
		{"blackhole", "blackhole: {}", `
  # Calls time out; connections the proxy cuts when the fault ends fail too.
  - {name: timeouts, expr: "faults.f.during.errors_by.timeout > faults.f.during.errors / 2"}
  - {name: back, expr: "faults.f.after.success_rate > 0.5"}`},
		{"down", "down: {}", `
  - {name: refused, expr: "faults.f.during.errors > 0"}
  - {name: back, expr: "faults.f.after.success_rate > 0.5"}`},
		{"bandwidth", "bandwidth: {rate: 1}", `
  - {name: throttled, expr: "faults.f.during.latency.p50 >= ms(5)"}
  - {name: back, expr: "faults.f.after.latency.p50 < ms(5)"}`},
		{"slicer", "slicer: {average_size: 1, delay: 10ms}", `
  - {name: sliced, expr: "faults.f.during.latency.p50 >= ms(30)"}
  - {name: back, expr: "faults.f.after.latency.p50 < ms(5)"}`},
		{"limit_data", "limit_data: {bytes: 20}", `
  - {name: cut, expr: "faults.f.during.errors_by.connection > 0"}
  - {name: back, expr: "faults.f.after.success_rate > 0.5"}`},
		{"reset", "reset: {}", `
  - {name: reset, expr: "faults.f.during.errors_by.connection > 0"}
  - {name: back, expr: "faults.f.after.success_rate > 0.5"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := echoServer(t)
			src := fmt.Sprintf(`version: 1
targets: {echo: {driver: tcpecho, url: "tcp://%s"}}
scenarios:
  sc:
    load: {rate: 50/s, duration: 6s, max_vus: 50}
    steps: [{tcpecho: {}}]
faults:
  - {name: f, target: echo, at: 1s, for: 2s, %s}
checks:%s
`, addr, tt.fault, tt.checks)
			r := runPlan(t, src, engine.Options{}, context.Background())
			f := r.Faults[0]
			if !f.Applied || f.UndoError != "" {
				t.Fatalf("fault: %+v", f)
			}
			for _, c := range r.Checks {
				if !c.Passed {
					t.Errorf("check %s failed: %s (during %+v, after %+v, note %q)", c.Name, c.Display, f.During, f.After, f.RecoveryNote)
					for _, p := range r.Scenarios[0].Series {
						t.Logf("  t=%v count=%d errors=%d latency=%+v", p.T, p.Count, p.Errors, p.Latency)
					}
				}
			}
		})
	}
}
