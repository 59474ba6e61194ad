package redis

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/scenarios/redis/redistest"
)

func TestReadReply(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 3*fastBufSize)
	tests := []struct {
		name, in string
		isNil    bool
		rerr     string // error reply, "" for none
		err      bool   // a read failure
		rest     string // what must be left unread
	}{
		{"simple", "+OK\r\nX", false, "", false, "X"},
		{"integer", ":42\r\n", false, "", false, ""},
		{"bulk", "$5\r\nhello\r\nX", false, "", false, "X"},
		{"empty bulk", "$0\r\n\r\n", false, "", false, ""},
		{"nil bulk", "$-1\r\nX", true, "", false, "X"},
		{"nil array", "*-1\r\n", true, "", false, ""},
		{"resp3 null", "_\r\n", true, "", false, ""},
		{"error", "-ERR wrong\r\nX", false, "ERR wrong", false, "X"},
		{"long error", "-ERR " + long + "\r\nX", false, "ERR " + long, false, "X"},
		{"long bulk", "$" + itoa(len(long)) + "\r\n" + long + "\r\nX", false, "", false, "X"},
		{"array", "*3\r\n$1\r\na\r\n:1\r\n*1\r\n+x\r\nX", false, "", false, "X"},
		{"error in exec", "*2\r\n+OK\r\n-WRONGTYPE Operation\r\nX", false, "WRONGTYPE Operation", false, "X"},
		{"first error kept", "*2\r\n-A first\r\n-B second\r\n", false, "A first", false, ""},
		{"map", "%1\r\n+k\r\n:1\r\nX", false, "", false, "X"},
		{"blob error", "!5\r\nERR x\r\nX", false, "ERR x", false, "X"},
		{"truncated", "$5\r\nhel", false, "", true, ""},
		{"no crlf", "+OK\n", false, "", true, ""},
		{"bad length", "$x\r\n", false, "", true, ""},
		{"bad type", "?\r\n", false, "", true, ""},
		{"eof", "", false, "", true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := strings.NewReader(tc.in)
			c := &fastConn{br: bufio.NewReaderSize(r, fastBufSize)}
			isNil, rerr, err := c.readReply()
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want failure %v", err, tc.err)
			}
			if tc.err {
				return
			}
			if isNil != tc.isNil {
				t.Errorf("isNil = %v, want %v", isNil, tc.isNil)
			}
			switch {
			case tc.rerr == "" && rerr != nil:
				t.Errorf("error reply %v, want none", rerr)
			case tc.rerr != "" && (rerr == nil || rerr.Error() != tc.rerr):
				t.Errorf("error reply %v, want %q", rerr, tc.rerr)
			case rerr != nil:
				if _, ok := errors.AsType[goredis.Error](rerr); !ok || classify(rerr) != ClassRedis {
					t.Errorf("error reply %T is not a redis error", rerr)
				}
			}
			rest, _ := io.ReadAll(c.br)
			if string(rest) != tc.rest {
				t.Errorf("left %q, want %q", rest, tc.rest)
			}
		})
	}
}

func itoa(n int) string { return string(appendInt(nil, n)) }

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

func TestWriteCommand(t *testing.T) {
	t.Parallel()
	var sb strings.Builder
	c := &fastConn{bw: bufio.NewWriter(&sb)}
	c.writeCommand([][]byte{[]byte("SET"), []byte("k"), {}})
	c.bw.Flush()
	if want := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"; sb.String() != want {
		t.Errorf("wrote %q, want %q", sb.String(), want)
	}
}

// fakeServer answers each command on each connection with the next of
// replies (the last one repeated), and counts the commands.
func fakeServer(t *testing.T, replies ...string) (addr string, commands *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	commands = &atomic.Int64{}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fc := &fastConn{br: bufio.NewReader(c)}
				for {
					// Every command is an array: read it as a reply.
					if _, _, err := fc.readReply(); err != nil {
						return
					}
					n := int(commands.Add(1)) - 1
					if _, err := io.WriteString(c, replies[min(n, len(replies)-1)]); err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String(), commands
}

func TestFastRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		replies  []string
		retries  string
		wantErr  string
		wantCmds int64
	}{
		{"no retries by default", []string{"-LOADING loading the dataset\r\n", "+OK\r\n"}, "", "LOADING", 1},
		{"transient reply retried", []string{"-LOADING loading the dataset\r\n", "-BUSY script\r\n", "+OK\r\n"}, "retries: {max: 3, min_backoff: 1ms, max_backoff: 2ms}\n", "", 3},
		{"gives up", []string{"-TRYAGAIN later\r\n"}, "retries: {max: 2, min_backoff: 1ms}\n", "TRYAGAIN", 3},
		{"other errors not retried", []string{"-WRONGTYPE no\r\n", "+OK\r\n"}, "retries: {max: 3, min_backoff: 1ms}\n", "WRONGTYPE", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr, cmds := fakeServer(t, tc.replies...)
			spec := driver.TargetSpec{Name: "fake", Node: node(t, "url: redis://"+addr+"\n"+tc.retries), RunID: "r"}
			cfg, err := parseTarget(spec)
			if err != nil {
				t.Fatal(err)
			}
			tg := &Target{name: "fake", prefix: "p:"}
			if err := tg.connect(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			defer tg.Close()
			o := bind(t, tg, `[SET, k, v]`).Do(context.Background(), newIter(1))
			switch {
			case tc.wantErr == "" && o.Err != nil:
				t.Errorf("Do: %v", o.Err)
			case tc.wantErr != "" && (o.Err == nil || !strings.Contains(o.Err.Error(), tc.wantErr)):
				t.Errorf("Do: %v, want %s", o.Err, tc.wantErr)
			}
			if got := cmds.Load(); got != tc.wantCmds {
				t.Errorf("%d commands sent, want %d", got, tc.wantCmds)
			}
		})
	}
}

func TestFastRetryReconnects(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	tg := openTarget(t, srv.URL(), "retries: {max: 2, min_backoff: 1ms}\n")
	get := bind(t, tg, `[GET, k]`)
	it := newIter(1)
	mustDo(t, get, it, 0)
	// The pooled connection dies; the retry dials a new one.
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer admin.Close()
	if err := admin.Do(context.Background(), "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes").Err(); err != nil {
		t.Fatal(err)
	}
	mustDo(t, get, it, 1)
}

func TestFastPoolTimeout(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	tg := openTarget(t, srv.URL(), "pool_size: 1\npool_timeout: 50ms\nread_timeout: 30s\n")
	ctx := context.Background()
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer admin.Close()
	it := newIter(1)
	get := bind(t, tg, `[GET, k]`)
	mustDo(t, get, it, 0)
	if err := admin.Do(ctx, "CLIENT", "PAUSE", "3000", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	// Two calls, one connection, a paused server: whichever call takes the
	// connection waits for the pause to end; the other times out waiting
	// for the connection. (The pause is long beside the pool timeout, so
	// that a busy machine cannot start the second call after it.)
	done := make(chan driver.Outcome, 2)
	for vu := range 2 {
		go func() { done <- get.Do(ctx, newIter(vu+2)) }()
	}
	var timeouts, ok int
	for range 2 {
		o := <-done
		switch {
		case o.Err == nil:
			ok++
		case o.Class == ClassTimeout && errors.Is(o.Err, goredis.ErrPoolTimeout):
			timeouts++
		default:
			t.Errorf("call: %v (class %q), want success or a pool timeout", o.Err, o.Class)
		}
	}
	if ok != 1 || timeouts != 1 {
		t.Errorf("%d successes and %d pool timeouts, want one each", ok, timeouts)
	}
}

// The deadline's slack is a sixteenth of the timeout; synctest's clock
// makes the times exact (on a real clock, a descheduled test would see the
// slack used up between two calls).
func TestFastArmDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		c := &fastConn{nc: a}
		ctx := context.Background()
		if err := c.arm(ctx, time.Second); err != nil {
			t.Fatal(err)
		}
		first := c.deadline
		if d := time.Until(first); d != time.Second+time.Second/16 {
			t.Errorf("deadline in %v, want 1.0625s", d)
		}
		time.Sleep(time.Second / 16)
		_ = c.arm(ctx, time.Second)
		if !c.deadline.Equal(first) {
			t.Error("deadline re-armed within its slack")
		}
		time.Sleep(time.Millisecond)
		_ = c.arm(ctx, time.Second)
		if c.deadline.Equal(first) {
			t.Error("deadline not re-armed past its slack")
		}
		short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
		defer cancel()
		_ = c.arm(short, time.Second)
		if dl, _ := short.Deadline(); !c.deadline.Equal(dl) {
			t.Error("the context's earlier deadline was not used")
		}
		_ = c.arm(ctx, 0)
		if !c.deadline.IsZero() {
			t.Error("deadline kept without a timeout")
		}
	})
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	p := &fastPool{o: fastOptions{minBackoff: 8 * time.Millisecond, maxBackoff: 100 * time.Millisecond}}
	for attempt, want := range []time.Duration{8, 16, 32, 64, 100, 100, 100} {
		want *= time.Millisecond
		for range 20 {
			if d := p.backoff(attempt); d < want/2 || d > want {
				t.Errorf("backoff(%d) = %v, want between %v and %v", attempt, d, want/2, want)
			}
		}
	}
}

func TestKeySlot(t *testing.T) {
	t.Parallel()
	if got := crc16([]byte("123456789")); got != 0x31C3 {
		t.Errorf("crc16 check value = %#x, want 0x31c3", got)
	}
	tests := []struct {
		key  string
		want uint16
	}{
		{"foo", 12182},
		{"bar", 5061},
		{"{user1000}.following", 3443},
		{"{user1000}.followers", 3443},
		{"user1000", 3443},
		{"foo{}{bar}", keySlot([]byte("foo{}{bar}"))}, // empty tag: the whole key
		{"foo{{bar}}zap", keySlot([]byte("{bar"))},
		{"runplan:run:{t}a", keySlot([]byte("t"))},
	}
	for _, tc := range tests {
		if got := keySlot([]byte(tc.key)); got != tc.want {
			t.Errorf("keySlot(%q) = %d, want %d", tc.key, got, tc.want)
		}
	}
	if keySlot([]byte("foo{}{bar}")) == keySlot([]byte("bar")) {
		t.Error("an empty hash tag must not select the next one")
	}
}

func TestClusterTransactionSlots(t *testing.T) {
	t.Parallel()
	tg := openTarget(t, "", targetYAML(clusterDeployment(t)))
	it := newIter(1)
	mustDo(t, bind(t, tg, `{commands: [[SET, "{u1}a", 1], [INCR, "{u1}b"]], transaction: true}`), it, 0)
	o := do(t, bind(t, tg, `{commands: [[SET, a, 1], [INCR, b], [SET, c, 1]], transaction: true}`), it, 0)
	if o.Err == nil || o.Class != ClassRedis || !strings.Contains(o.Err.Error(), "CROSSSLOT") {
		t.Errorf("cross-slot transaction: %v (class %q), want CROSSSLOT", o.Err, o.Class)
	}
	// A pipeline may span slots: go-redis sends each command to its node.
	mustDo(t, bind(t, tg, `{commands: [[SET, a, 1], [INCR, b], [SET, c, 1]], pipeline: 3}`), it, 0)
}
