// Package redistest starts real redis-server processes for tests, on free
// loopback ports, and stops them when the test ends.
//
// Tests use real servers rather than mocks; a missing redis-server binary is a
// test failure, not a skip, so that a green run always means the Redis paths
// were exercised.
package redistest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Binary is the server executable looked up on PATH. Constants are safe for
// concurrent use.
const Binary = "redis-server"

// MissingBinary is the failure message when Binary is not on PATH.
const MissingBinary = "redistest: redis-server not found on PATH: run ./test.sh, which installs it from Debian's redis-server package"

const (
	startAttempts = 5
	startTimeout  = 10 * time.Second
)

// Server is one running redis-server. Its methods are safe for concurrent use.
type Server struct {
	port int
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	log  *syncBuffer
	once sync.Once
}

// Start starts a redis-server on a free 127.0.0.1 port, with persistence off
// and its working directory in t.TempDir(), waits until it answers PING (an
// authentication error counts as an answer), and registers its shutdown with
// t.Cleanup. args are appended to the command line, e.g. "--requirepass", "pw".
// Start calls t.Fatal if the server cannot be started. It is safe to call from
// parallel tests.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath(Binary)
	if err != nil {
		t.Fatal(MissingBinary)
	}
	dir := t.TempDir()
	var lastErr error
	for range startAttempts {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: no free port: %v", err)
		}
		s, retry, err := start(bin, dir, port, args)
		if err == nil {
			t.Cleanup(s.Stop)
			return s
		}
		lastErr = err
		if !retry {
			break
		}
	}
	t.Fatalf("redistest: %v", lastErr)
	return nil
}

func start(bin, dir string, port int, args []string) (s *Server, retry bool, err error) {
	argv := append([]string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", dir,
		"--daemonize", "no",
	}, args...)
	s = &Server{port: port, done: make(chan struct{}), log: &syncBuffer{}}
	s.cmd = exec.Command(bin, argv...)
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		return nil, false, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.done)
	}()
	deadline := time.Now().Add(startTimeout)
	for {
		if answers(s.Addr()) {
			return s, false, nil
		}
		select {
		case <-s.done:
			out := s.log.String()
			inUse := strings.Contains(out, "already in use")
			return nil, inUse, fmt.Errorf("redis-server on port %d exited: %s", port, strings.TrimSpace(out))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, false, fmt.Errorf("redis-server on port %d did not answer PING within %v: %s",
				port, startTimeout, strings.TrimSpace(s.log.String()))
		}
	}
}

// answers reports whether a server at addr replies to PING, with PONG or with
// an authentication error.
func answers(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return false
	}
	return strings.HasPrefix(line, "+PONG") || strings.HasPrefix(line, "-NOAUTH")
}

// freePort returns a port that was free a moment ago; Start retries when a
// race makes the server fail to bind it.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Addr returns the server's host:port. It is safe for concurrent use.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Port returns the server's TCP port. It is safe for concurrent use.
func (s *Server) Port() int { return s.port }

// URL returns redis://host:port, without credentials. It is safe for
// concurrent use.
func (s *Server) URL() string { return "redis://" + s.Addr() }

// Log returns what the server printed so far. It is safe for concurrent use.
func (s *Server) Log() string { return s.log.String() }

// Stop kills the server and waits for it to exit. It is idempotent and is
// called by t.Cleanup; tests call it early to make the server unreachable.
// It is safe for concurrent use.
func (s *Server) Stop() {
	s.once.Do(func() {
		select {
		case <-s.done:
			return
		default:
		}
		// Kill fails only when the process has already exited, which the
		// wait below settles either way.
		_ = s.cmd.Process.Kill()
		<-s.done
	})
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of the
// process's stdout and stderr copiers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
