package redis

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/runplan/runplan/scenarios/redis/redistest"
)

// pipes is a bulk string of '|' longer than a connection's read buffer: the
// reply type a stale slice of that buffer would read is an attribute's.
var pipes = strings.Repeat("|", 3*fastBufSize+7)

func bulk(s string) string { return "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n" }

// Replies whose nested reads refill the read buffer keep their own type:
// the reply after them is left for the next read, whatever bytes the
// refill brought.
func TestReadReplyAfterRefill(t *testing.T) {
	t.Parallel()
	const next = ":1\r\n"
	tests := []struct {
		name, in string
		isNil    bool
		rerr     string
	}{
		{"array of a long bulk", "*1\r\n" + bulk(pipes), false, ""},
		{"array of a long simple string", "*2\r\n+" + pipes + "\r\n:2\r\n", false, ""},
		{"map with a long value", "%1\r\n+k\r\n" + bulk(pipes), false, ""},
		{"set of a long verbatim string", "~1\r\n=" + strconv.Itoa(len(pipes)+4) + "\r\ntxt:" + pipes + "\r\n", false, ""},
		{"push of a long error", ">2\r\n-ERR " + pipes + "\r\n+x\r\n", false, "ERR " + pipes},
		{"attribute then nil", "|1\r\n+k\r\n" + bulk(pipes) + "_\r\n", true, ""},
		{"nested arrays", "*2\r\n*1\r\n" + bulk(pipes) + "*1\r\n" + bulk(pipes), false, ""},
		{"error after a long bulk", "*2\r\n" + bulk(pipes) + "-WRONGTYPE x\r\n", false, "WRONGTYPE x"},
	}
	for _, tc := range tests {
		for _, rd := range readerKinds {
			t.Run(tc.name+"/"+rd.name, func(t *testing.T) {
				t.Parallel()
				c := &fastConn{br: bufio.NewReaderSize(rd.wrap(strings.NewReader(tc.in+next)), rd.size)}
				isNil, rerr, err := c.readReply()
				if err != nil {
					t.Fatalf("readReply: %v", err)
				}
				if isNil != tc.isNil {
					t.Errorf("isNil = %v, want %v", isNil, tc.isNil)
				}
				if got := errText(rerr); got != tc.rerr {
					t.Errorf("error reply %.40q, want %.40q", got, tc.rerr)
				}
				if rest, _ := io.ReadAll(c.br); string(rest) != next {
					t.Errorf("left %.40q, want the next reply %q", rest, next)
				}
			})
		}
	}
}

// readerKinds are the ways the tests feed a fastConn: the driver's buffer
// over a stream that arrives at once, and the smallest buffer bufio allows
// over one that arrives a byte at a time, which refills at every read.
var readerKinds = []struct {
	name string
	size int
	wrap func(io.Reader) io.Reader
}{
	{"driver buffer", fastBufSize, func(r io.Reader) io.Reader { return r }},
	{"byte by byte", 16, iotest.OneByteReader},
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// The reader accepts RESP3's types the way servers send them and rejects
// what no server sends with a protocol error, never reading past the
// malformed reply as if it were something else.
func TestReadReplyRESP3(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		isNil    bool
		rerr     string
		bad      bool // a protocol error
	}{
		{"double", ",3.14\r\n", false, "", false},
		{"double exponent", ",-1.5e+300\r\n", false, "", false},
		{"double inf", ",-inf\r\n", false, "", false},
		{"double nan", ",nan\r\n", false, "", false},
		{"bad double", ",3.1.4\r\n", false, "", true},
		{"empty double", ",\r\n", false, "", true},
		{"boolean", "#t\r\n", false, "", false},
		{"bad boolean", "#yes\r\n", false, "", true},
		{"big number", "(-3492890328409238509324850943850943825024385\r\n", false, "", false},
		{"bad big number", "(12a\r\n", false, "", true},
		{"integer", ":-42\r\n", false, "", false},
		{"bad integer", ":4 2\r\n", false, "", true},
		{"empty integer", ":\r\n", false, "", true},
		{"null", "_\r\n", true, "", false},
		{"null with text", "_x\r\n", false, "", true},
		{"verbatim", "=15\r\ntxt:Some string\r\n", false, "", false},
		{"verbatim without format", "=3\r\nabc\r\n", false, "", true},
		{"blob error", "!22\r\nSYNTAX invalid\r\nsyntax\r\n", false, "SYNTAX invalid\r\nsyntax", false},
		{"null blob error", "!-1\r\n", true, "", false},
		{"bulk without its CRLF", "$3\r\nabcXY:1\r\n", false, "", true},
		{"set", "~2\r\n+a\r\n:1\r\n", false, "", false},
		{"push", ">2\r\n+message\r\n+hi\r\n", false, "", false},
		{"map", "%2\r\n+a\r\n:1\r\n+b\r\n-ERR in map\r\n", false, "ERR in map", false},
		{"null map", "%-1\r\n", true, "", false},
		{"attribute", "|1\r\n+ttl\r\n:3600\r\n+OK\r\n", false, "", false},
		{"error in an attribute is not the reply's", "|1\r\n+a\r\n-ERR meta\r\n+OK\r\n", false, "", false},
		{"attribute of an error", "|1\r\n+a\r\n:1\r\n-ERR real\r\n", false, "ERR real", false},
		{"null attribute", "|-1\r\n+OK\r\n", false, "", true},
		{"negative length", "*-2\r\n", false, "", true},
		{"streamed string", "$?\r\n;4\r\nHell\r\n;0\r\n", false, "", true},
		{"streamed array", "*?\r\n:1\r\n.\r\n", false, "", true},
	}
	for _, tc := range tests {
		for _, rd := range readerKinds {
			t.Run(tc.name+"/"+rd.name, func(t *testing.T) {
				t.Parallel()
				c := &fastConn{br: bufio.NewReaderSize(rd.wrap(strings.NewReader(tc.in)), rd.size)}
				isNil, rerr, err := c.readReply()
				if tc.bad {
					if !errors.Is(err, errProtocol) {
						t.Fatalf("err = %v, want a protocol error", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("readReply: %v", err)
				}
				if isNil != tc.isNil {
					t.Errorf("isNil = %v, want %v", isNil, tc.isNil)
				}
				if got := errText(rerr); got != tc.rerr {
					t.Errorf("error reply %q, want %q", got, tc.rerr)
				}
				if rest, _ := io.ReadAll(c.br); len(rest) != 0 {
					t.Errorf("left %q unread", rest)
				}
			})
		}
	}
}

// A blob error's announced length is not an allocation: a server (or a
// proxy) announcing gigabytes gets what it sends, not what it announces.
func TestReadReplyBlobErrorLength(t *testing.T) {
	t.Parallel()
	c := &fastConn{br: bufio.NewReaderSize(strings.NewReader("!2000000000\r\nERR short"), fastBufSize)}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := c.readReply()
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("a truncated blob error was read without error")
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<30 {
		t.Errorf("reading a 9-byte blob error announced as 2 GB allocated %d MB", grew>>20)
	}
}

// scriptServer is a Redis stand-in on loopback that answers the n-th
// command it reads (counted from 0, over all connections) with replies[n],
// written as raw bytes, and counts its connections.
type scriptServer struct {
	addr     string
	conns    atomic.Int64
	commands atomic.Int64
}

func newScriptServer(t *testing.T, replies ...string) *scriptServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scriptServer{addr: l.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			wg.Go(func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					if _, err := readCommand(br); err != nil {
						return
					}
					n := int(s.commands.Add(1)) - 1
					if n >= len(replies) {
						return
					}
					if _, err := io.WriteString(c, replies[n]); err != nil {
						return
					}
				}
			})
		}
	})
	return s
}

// readCommand reads one command, an array of bulk strings, the way a
// server does; it shares no code with the reader under test.
func readCommand(br *bufio.Reader) ([]string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(line, "*"), "\r\n"))
	if err != nil || line[0] != '*' {
		return nil, fmt.Errorf("bad command header %q", line)
	}
	args := make([]string, n)
	for i := range args {
		if line, err = br.ReadString('\n'); err != nil {
			return nil, err
		}
		size, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(line, "$"), "\r\n"))
		if err != nil || line[0] != '$' {
			return nil, fmt.Errorf("bad argument header %q", line)
		}
		b := make([]byte, size+2)
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, err
		}
		args[i] = string(b[:size])
	}
	return args, nil
}

// The case: an array reply holding a value full of '|', larger
// than the read buffer, followed by a pipelined reply. Both replies are
// read as sent, and the pooled connection stays in step for the next call.
func TestFastPoolLongValueInArray(t *testing.T) {
	t.Parallel()
	srv := newScriptServer(t,
		"*1\r\n"+bulk(pipes), // LRANGE l 0 -1
		"-ERR second\r\n",    // the pipelined command
		"$-1\r\n",            // the next call
		":5\r\n",             // and the one after
	)
	p := newFastPool(fastOptions{network: "tcp", addr: srv.addr, size: 1, timeout: 30 * time.Second, dialTimeout: 30 * time.Second})
	defer p.Close()
	ctx := context.Background()
	args := func(s ...string) [][]byte {
		out := make([][]byte, len(s))
		for i, a := range s {
			out[i] = []byte(a)
		}
		return out
	}
	firstNil, _, err := p.do(ctx, args("LRANGE", "l", "0", "-1", "GET", "k"), []int{4, 2}, false)
	if err == nil || err.Error() != "ERR second" || firstNil {
		t.Fatalf("pipeline: firstNil %v, err %v; want false and the second reply's ERR second", firstNil, err)
	}
	if firstNil, _, err = p.do(ctx, args("GET", "missing"), []int{2}, false); err != nil || !firstNil {
		t.Fatalf("next call: firstNil %v, err %v; want the nil reply sent for it", firstNil, err)
	}
	if firstNil, _, err = p.do(ctx, args("INCR", "n"), []int{2}, false); err != nil || firstNil {
		t.Fatalf("third call: firstNil %v, err %v; want the integer reply", firstNil, err)
	}
	if n := srv.conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1: the pooled connection lost step", n)
	}
}

// The same against a real redis-server: a list element full of '|' read
// back in a round trip with another command, then more calls on the same
// pooled connection.
func TestFastLongValueRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	tg := openTarget(t, srv.URL(), "pool_size: 1\nread_timeout: 30s\n")
	it := newIter(1)
	mustDo(t, bind(t, tg, `[RPUSH, l, "`+pipes+`"]`), it, 0)
	mustDo(t, bind(t, tg, `{commands: [[LRANGE, l, 0, -1], [GET, k], [HGETALL, h]]}`), it, 1)
	mustDo(t, bind(t, tg, `{command: [LRANGE, l, 0, -1], pipeline: 3}`), it, 2)
	o := do(t, bind(t, tg, `{commands: [[LRANGE, l, 0, -1], [INCR, l]]}`), it, 3)
	if o.Err == nil || !strings.Contains(o.Err.Error(), "WRONGTYPE") {
		t.Fatalf("INCR on a list after LRANGE: %v, want WRONGTYPE", o.Err)
	}
	mustDo(t, bind(t, tg, `[SET, k, v]`), it, 4)
}

// Reading a reply allocates nothing unless it is an error: the fast path's
// promise, checked for every type the reader accepts. Not parallel:
// AllocsPerRun counts the whole process's allocations.
func TestReadReplyAllocs(t *testing.T) {
	stream := "+OK\r\n:1\r\n$5\r\nhello\r\n$-1\r\n*-1\r\n_\r\n,1.5e+3\r\n,inf\r\n#t\r\n(123456789012345678901234567890\r\n" +
		"=8\r\ntxt:abcd\r\n*3\r\n$1\r\na\r\n:2\r\n%1\r\n+k\r\n+v\r\n~1\r\n+m\r\n>1\r\n+p\r\n|1\r\n+a\r\n:1\r\n+OK\r\n" +
		"*1\r\n" + bulk(pipes) + "*1\r\n+" + pipes + "\r\n"
	const replies = 17
	r := strings.NewReader(stream)
	c := &fastConn{br: bufio.NewReaderSize(r, fastBufSize)}
	read := func() {
		r.Reset(stream)
		c.br.Reset(r)
		for range replies {
			if _, rerr, err := c.readReply(); err != nil || rerr != nil {
				t.Fatalf("readReply: %v, %v", rerr, err)
			}
		}
		if _, err := c.br.Peek(1); err != io.EOF {
			t.Fatalf("%d replies did not end the stream: %v", replies, err)
		}
	}
	read() // c.line grows once, for the long simple string
	if n := testing.AllocsPerRun(20, read); n != 0 {
		t.Errorf("%v allocations to read the replies, want 0", n)
	}
}
