package redistest

import (
	"bufio"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// answers reports whether a server at addr replies to PING, with PONG or with
// an authentication error.
func answers(addr string) bool {
	// Generous: a ready server answers at once, unless the machine is busy.
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return false
	}
	return strings.HasPrefix(line, "+PONG") || strings.HasPrefix(line, "-NOAUTH")
}

func TestStartStop(t *testing.T) {
	t.Parallel()
	a, b := Start(t), Start(t, "--requirepass", "pw")
	if a.Addr() == b.Addr() {
		t.Fatalf("two servers on %s", a.Addr())
	}
	if !strings.HasPrefix(a.URL(), "redis://127.0.0.1:") || !strings.HasSuffix(a.URL(), fmt.Sprint(a.Port())) {
		t.Errorf("URL = %q", a.URL())
	}
	for _, s := range []*Server{a, b} {
		if !answers(s.Addr()) {
			t.Errorf("%s does not answer", s.Addr())
		}
	}
	a.Stop()
	a.Stop() // idempotent
	if c, err := net.Dial("tcp", a.Addr()); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after Stop", a.Addr())
	}
}

// fatalTB records the first Fatal and ends its goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestMissingBinaryFails(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Start(f)
	}()
	<-done
	if f.msg != MissingBinary {
		t.Fatalf("Fatal(%q), want Fatal(%q)", f.msg, MissingBinary)
	}
}

func TestBadArgumentsFail(t *testing.T) {
	t.Parallel()
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Start(f, "--no-such-option", "1")
	}()
	<-done
	if !strings.Contains(f.msg, "exited") {
		t.Fatalf("Fatal(%q), want a message saying the server exited", f.msg)
	}
}
