package managed

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Roles of the processes of a deployment.
const (
	RolePrimary  = "primary"
	RoleReplica  = "replica"
	RoleSentinel = "sentinel"
)

const (
	// startAttempts bounds the retries when another process took the port
	// between the probe and the server's bind.
	startAttempts = 6
	// logTail is how much of a process's output is kept for error messages.
	logTail = 32 << 10
)

// Server is one redis-server process of a deployment (a data node or a
// sentinel). Its methods are safe for concurrent use.
type Server struct {
	role string
	port int
	dir  string
	tls  *tls.Config
	pw   string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	log  *tailBuffer
	once sync.Once
	spec procSpec // how it was started, for Restart
}

// Role returns RolePrimary, RoleReplica or RoleSentinel, as started (a
// failover may have changed the role since).
func (s *Server) Role() string { return s.role }

// Port returns the TCP port the server listens on (its TLS port under TLS).
func (s *Server) Port() int { return s.port }

// Addr returns 127.0.0.1:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Pid returns the process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Dir returns the server's working directory.
func (s *Server) Dir() string { return s.dir }

// Log returns the tail of what the process printed.
func (s *Server) Log() string { return s.log.String() }

// Exited reports whether the process has exited.
func (s *Server) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Stop kills the process and waits for it to exit. It is idempotent. The
// data is thrown away with the deployment, so there is nothing for a
// graceful SHUTDOWN to save.
func (s *Server) Stop() {
	s.once.Do(func() {
		if s.Exited() {
			return
		}
		// Kill fails only when the process has already exited, which the
		// wait below settles either way.
		_ = s.cmd.Process.Kill()
		<-s.done
	})
}

// client returns an administrative client for the server: no retries, short
// timeouts, RESP2.
func (s *Server) client() *goredis.Client { return goredis.NewClient(s.options()) }

// options are the administrative client's options.
func (s *Server) options() *goredis.Options {
	return &goredis.Options{
		Addr:                     s.Addr(),
		Password:                 s.pw,
		TLSConfig:                s.tls,
		Protocol:                 2,
		MaxRetries:               -1,
		DialerRetries:            1,
		DialTimeout:              time.Second,
		ReadTimeout:              2 * time.Second,
		WriteTimeout:             2 * time.Second,
		PoolSize:                 2,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
}

// procSpec says how to start one process.
type procSpec struct {
	bin  string
	role string
	dir  string
	// conf renders the configuration file for a port (and its bus port,
	// port+10000, when bus is set).
	conf func(port int) string
	// args are appended to the command line, after the configuration file.
	args     []string
	sentinel bool
	bus      bool
	tls      *tls.Config
	password string // to PING a server that requires one
	// keepConf starts the process with the configuration file already in
	// its directory (a restart).
	keepConf bool
}

// startProcess starts a process on a free port and waits until it answers
// PING. It retries on another port when the chosen one was taken meanwhile.
func startProcess(ctx context.Context, p procSpec) (*Server, error) {
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return nil, fmt.Errorf("managed: %w", err)
	}
	var lastErr error
	for range startAttempts {
		port, err := freePort(p.bus)
		if err != nil {
			return nil, fmt.Errorf("managed: no free port: %w", err)
		}
		s, retry, err := startOn(ctx, p, port)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if !retry {
			break
		}
	}
	return nil, lastErr
}

func startOn(ctx context.Context, p procSpec, port int) (s *Server, retry bool, err error) {
	conf := filepath.Join(p.dir, "redis.conf")
	// The file may hold a password: readable by its owner only. A restart
	// keeps the file as the server (or a sentinel's CONFIG REWRITE) left it.
	if !p.keepConf {
		if err := os.WriteFile(conf, []byte(p.conf(port)), 0o600); err != nil {
			return nil, false, fmt.Errorf("managed: %w", err)
		}
	}
	argv := []string{conf}
	if p.sentinel {
		argv = append(argv, "--sentinel")
	}
	argv = append(argv, p.args...)
	s = &Server{role: p.role, port: port, dir: p.dir, tls: p.tls, pw: p.password,
		done: make(chan struct{}), log: &tailBuffer{max: logTail}, spec: p}
	s.cmd = exec.Command(p.bin, argv...)
	s.cmd.Dir = p.dir
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.SysProcAttr = sysProcAttr()
	if err := s.cmd.Start(); err != nil {
		return nil, false, fmt.Errorf("managed: starting %s: %w", p.bin, err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(ctx); err != nil {
		s.Stop()
		out := strings.TrimSpace(s.log.String())
		inUse := strings.Contains(out, "already in use")
		return nil, inUse, fmt.Errorf("managed: %s on port %d: %w: %s", p.role, port, err, lastLines(out, 8))
	}
	return s, false, nil
}

// errExited says that a process ended while it was awaited.
var errExited = errors.New("exited")

// waitReady polls PING until the server answers, it exits or ctx ends.
// Each try has a generous timeout of its own: a server starting on a busy
// machine may take seconds to answer, which is not a failure.
func (s *Server) waitReady(ctx context.Context) error {
	c := s.client()
	defer c.Close()
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := c.Ping(pctx).Err()
		ready := answered(err) && s.ours(pctx, c)
		cancel()
		if ready {
			return nil
		}
		select {
		case <-s.done:
			return errExited
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w (last: %v)", ctx.Err(), err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// ours reports whether the server answering on s's port is s's own
// process. Another process (a parallel test's server) may take the port
// between freePort and s's bind: it then answers PING in s's stead while s
// exits with "Address already in use", and startOn must retry on another
// port rather than take a stranger for s. An INFO that fails (NOAUTH when
// the password came on the command line) names no process: only s's exit
// can tell, then.
func (s *Server) ours(ctx context.Context, c *goredis.Client) bool {
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return !s.Exited()
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			return v == strconv.Itoa(s.Pid())
		}
	}
	return !s.Exited()
}

// answered reports whether a PING's outcome shows a server ready to serve:
// PONG, or an error reply other than LOADING (such as NOAUTH when the
// password was given on the command line).
func answered(err error) bool {
	if err == nil {
		return true
	}
	var re goredis.Error
	return errors.As(err, &re) && !strings.HasPrefix(err.Error(), "LOADING")
}

// freePort returns a loopback port that was free a moment ago; with bus,
// port+10000 (the cluster bus) was free too.
func freePort(bus bool) (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		if !bus {
			l.Close()
			return port, nil
		}
		if port+10000 > 65535 {
			l.Close()
			continue
		}
		l2, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+10000)))
		l.Close()
		if err != nil {
			continue
		}
		l2.Close()
		return port, nil
	}
	return 0, errors.New("no port pair free for a cluster node and its bus")
}

// tailBuffer keeps the last max bytes written to it; it is safe for the
// concurrent writes of a process's stdout and stderr copiers.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max/2:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// lastLines returns the last n lines of s, joined by " | ".
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, " | ")
}

// quote renders a value for a redis.conf line: double-quoted, with the
// escapes redis's sdssplitargs understands.
func quote(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
