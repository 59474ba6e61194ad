package redis

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// pauseGuard is a connection to one server that a CLIENT PAUSE ALL does not
// hold, so that the pause can be lifted early. Under PAUSE ALL, Redis
// postpones every command of every ordinary connection until the pause
// ends — CLIENT UNPAUSE included, from a fresh connection, an older one or
// the one that paused — but never pauses replicas, and a connection in
// MONITOR mode carries the replica flag (server.c, processCommand:
// "Replicas are never paused"). A CLIENT UNPAUSE sent on a monitor
// connection opened before the pause is therefore served at once; this was
// verified against redis-server 7.0.15 (TestPauseUndoneOnInterrupt), and
// the same check stands in 7.2 and later. A monitor also escapes the
// server's idle timeout.
//
// The connection speaks RESP2 by hand: after MONITOR the server streams
// every command it executes, as simple strings starting with a timestamp,
// which go-redis would take for replies. The guard drains that stream and
// keeps only the replies to its own commands (AUTH, MONITOR, CLIENT
// UNPAUSE: "+OK" or an error). During a PAUSE ALL the stream is quiet:
// nothing runs. A guard is safe for concurrent use; close releases it.
type pauseGuard struct {
	addr    string
	conn    net.Conn
	replies chan string
	done    chan struct{} // closed when the reader stops
	mu      sync.Mutex    // serialises commands
	once    sync.Once
}

// openPauseGuard dials the server o names, directly (never through the
// fault proxy), authenticates and enters MONITOR mode.
func openPauseGuard(ctx context.Context, o *goredis.Options) (*pauseGuard, error) {
	network := o.Network
	if network == "" {
		network = "tcp"
	}
	timeout := o.DialTimeout
	if timeout <= 0 {
		timeout = adminTimeout
	}
	nc, err := dialThrough(ctx, nil, o.TLSConfig, timeout, network, o.Addr)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	g := &pauseGuard{addr: o.Addr, conn: nc, replies: make(chan string, 4), done: make(chan struct{})}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	} else {
		_ = nc.SetDeadline(time.Now().Add(adminTimeout))
	}
	br := bufio.NewReader(nc)
	hello := func(args ...string) error {
		if _, err := nc.Write(respCommand(args...)); err != nil {
			return err
		}
		line, err := readLine(br)
		if err != nil {
			return err
		}
		return guardReply(line)
	}
	if o.Password != "" {
		args := []string{"AUTH", o.Password}
		if o.Username != "" {
			args = []string{"AUTH", o.Username, o.Password}
		}
		if err := hello(args...); err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("AUTH: %w", err)
		}
	}
	if err := hello("MONITOR"); err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("MONITOR: %w", err)
	}
	_ = nc.SetDeadline(time.Time{})
	go g.read(br)
	return g, nil
}

// read drains the monitor stream and passes on the replies to the guard's
// own commands.
func (g *pauseGuard) read(br *bufio.Reader) {
	defer close(g.done)
	for {
		line, err := readLine(br)
		if err != nil {
			return
		}
		// A monitored command: "+1700000000.123456 [0 127.0.0.1:5000] ...".
		if len(line) > 1 && line[0] == '+' && line[1] >= '0' && line[1] <= '9' {
			continue
		}
		select {
		case g.replies <- line:
		default: // nobody waits for it: an answer after a timeout
		}
	}
}

// unpause sends CLIENT UNPAUSE and waits for the server's answer or ctx.
func (g *pauseGuard) unpause(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	// An answer left over from an attempt that timed out is not this one's.
	for len(g.replies) > 0 {
		<-g.replies
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = g.conn.SetWriteDeadline(dl)
	}
	if _, err := g.conn.Write(respCommand("CLIENT", "UNPAUSE")); err != nil {
		return fmt.Errorf("CLIENT UNPAUSE on the monitor connection: %w", err)
	}
	select {
	case line := <-g.replies:
		return guardReply(line)
	case <-g.done:
		return errors.New("CLIENT UNPAUSE: the server closed the monitor connection")
	case <-ctx.Done():
		return fmt.Errorf("CLIENT UNPAUSE on the monitor connection: %w", ctx.Err())
	}
}

// close closes the connection and waits for the reader. It is idempotent.
func (g *pauseGuard) close() {
	g.once.Do(func() {
		_ = g.conn.Close()
		<-g.done
	})
}

// respCommand encodes a command as a RESP array of bulk strings.
func respCommand(args ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return []byte(b.String())
}

// readLine reads one line of a reply, without its CRLF.
func readLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// guardReply turns an error reply ("-ERR ...") into an error; "+OK" is nil.
func guardReply(line string) error {
	switch {
	case strings.HasPrefix(line, "-"):
		return errors.New(line[1:])
	case line == "+OK":
		return nil
	}
	return fmt.Errorf("unexpected reply %q", cut(line, 60))
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
