package webhook

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hangUp, ending an answer of a rawServer, closes the connection after it.
const hangUp = "\x00hang up"

// rawServer accepts connections on 127.0.0.1 and answers every request read
// on them with answer(n), n counting requests from 1, written as raw bytes
// ("" closes the connection; an answer ending with hangUp closes it after).
// It counts connections and the most open at once.
type rawServer struct {
	url         string
	conns, peak atomic.Int64
	open        atomic.Int64
	requests    atomic.Int64
}

func newRawServer(t *testing.T, answer func(n int64, r *http.Request) string) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rs := &rawServer{url: "http://" + ln.Addr().String()}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var all []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range all {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			all = append(all, c)
			mu.Unlock()
			rs.conns.Add(1)
			if o := rs.open.Add(1); o > rs.peak.Load() {
				rs.peak.Store(o)
			}
			wg.Go(func() {
				defer func() { rs.open.Add(-1); c.Close() }()
				br := bufio.NewReader(c)
				for {
					r, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, r.Body)
					a := answer(rs.requests.Add(1), r)
					if a == "" {
						return
					}
					a, hang := strings.CutSuffix(a, hangUp)
					if _, err := io.WriteString(c, a); err != nil || hang {
						return
					}
				}
			})
		}
	})
	return rs
}

// The fast client reads every framing of an answer and keeps the
// connection when it may.
func TestFastClientFraming(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		answer string
		conns  int64 // connections for three deliveries
		class  string
	}{
		{name: "204", answer: "HTTP/1.1 204 No Content\r\nDate: x\r\n\r\n", conns: 1},
		{name: "length", answer: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", conns: 1},
		{name: "chunked with trailer", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n", conns: 1},
		{name: "100 continue", answer: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", conns: 1},
		{name: "connection close", answer: "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", conns: 3},
		{name: "http 1.0 until close", answer: "HTTP/1.0 200 OK\r\n\r\nbody" + hangUp, conns: 3},
		{name: "error body", answer: "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\nno_text", conns: 1, class: "http_400"},
		{name: "bad status", answer: "HTTP/1.1 2OO OK\r\n\r\n", conns: 3, class: ClassMalformed},
		{name: "bad header", answer: "HTTP/1.1 204 No Content\r\nno colon here\r\n\r\n", conns: 3, class: ClassMalformed},
		{name: "bad length", answer: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", conns: 3, class: ClassMalformed},
		{name: "short body", answer: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf" + hangUp, conns: 3, class: ClassReset},
		{name: "closed before answering", answer: hangUp, conns: 3, class: ClassReset},
		{name: "connection tokens", answer: "HTTP/1.1 204 No Content\r\nConnection: keep-alive, close\r\n\r\n", conns: 3},
		{name: "http 1.0 kept alive", answer: "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok", conns: 1},
		{name: "lengths that disagree", answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nokX", conns: 3, class: ClassMalformed},
		{name: "two transfer encodings", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", conns: 3, class: ClassMalformed},
		{name: "folded header", answer: "HTTP/1.1 204 No Content\r\nX-A: 1\r\n 2\r\n\r\n", conns: 3, class: ClassMalformed},
		{name: "control byte", answer: "HTTP/1.1 204 No Content\r\nX-A: \x01\r\n\r\n", conns: 3, class: ClassMalformed},
		{name: "1xx headers not kept", answer: "HTTP/1.1 100 Continue\r\nTransfer-Encoding: chunked\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", conns: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs := newRawServer(t, func(int64, *http.Request) string { return tt.answer })
			tg := open(t, urlTarget(t, rs.url+"/hook", "flavor: generic\nretries: 0\n")).(*Target)
			if tg.fast == nil {
				t.Fatal("no fast client for a plain-http target")
			}
			st := bound(t, tg, "{json: {n: '{{ iteration }}'}}", "")
			for i := range 3 {
				out := st.Do(context.Background(), iteration())
				if out.Class != tt.class {
					t.Fatalf("delivery %d: class %q err %v, want %q", i, out.Class, out.Err, tt.class)
				}
			}
			if got := rs.conns.Load(); got != tt.conns {
				t.Errorf("%d connections for 3 deliveries, want %d", got, tt.conns)
			}
		})
	}
}

// A keep-alive connection the service closed while idle is replaced
// transparently: the client finds it closed before writing, and the
// request, never sent on it, goes on a new connection.
func TestFastClientStaleConnection(t *testing.T) {
	t.Parallel()
	rs := newRawServer(t, func(n int64, r *http.Request) string {
		if n == 1 {
			return "HTTP/1.1 204 No Content\r\n\r\n" + hangUp // no Connection: close
		}
		return "HTTP/1.1 204 No Content\r\n\r\n"
	})
	tg := open(t, urlTarget(t, rs.url+"/hook", "retries: 0\n")).(*Target)
	st := bound(t, tg, "{json: {a: 1}}", "")
	for i := range 2 {
		if out := st.Do(context.Background(), iteration()); out.Err != nil {
			t.Fatalf("delivery %d: %v", i, out.Err)
		}
		if i == 0 {
			waitIdleClosed(t, tg.fast)
		}
	}
	if got, req := rs.conns.Load(), rs.requests.Load(); got != 2 || req != 2 {
		t.Errorf("%d connections, %d requests; want 2 and 2", got, req)
	}
}

// waitIdleClosed waits until the client's one idle connection shows the
// service's hang-up: the FIN has crossed loopback.
func waitIdleClosed(t *testing.T, fc *fastClient) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) { // a hang guard
		c := <-fc.idle
		gone := c.probe.closed()
		fc.idle <- c
		if gone {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the client never saw the service hang up")
		}
	}
}

// max_conns bounds the connections open at once.
func TestFastClientMaxConns(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var once sync.Once
	var waiting atomic.Int64
	rs := newRawServer(t, func(n int64, r *http.Request) string {
		if waiting.Add(1) >= 2 {
			once.Do(func() { close(release) })
		}
		<-release
		return "HTTP/1.1 204 No Content\r\n\r\n"
	})
	tg := open(t, urlTarget(t, rs.url+"/hook", "max_conns: 2\nrate_limit: ignore\n"))
	st := bound(t, tg, "{json: {a: 1}}", "")
	outs := burst(st, 12)
	for _, o := range outs {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
	}
	if rs.conns.Load() > 2 || rs.peak.Load() > 2 {
		t.Errorf("%d connections, %d at once; max_conns is 2", rs.conns.Load(), rs.peak.Load())
	}
}

// A timeout while the body trickles in is a timeout, and the connection is
// not reused.
func TestFastClientBodyTimeout(t *testing.T) {
	t.Parallel()
	rs := newRawServer(t, func(n int64, r *http.Request) string {
		if n == 1 {
			return "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial"
		}
		return "HTTP/1.1 204 No Content\r\n\r\n"
	})
	// The timeout also bounds the second delivery, which must succeed: it
	// is long beside a busy machine's delays.
	tg := open(t, urlTarget(t, rs.url+"/hook", "retries: 0\ntimeout: 2s\n"))
	st := bound(t, tg, "{json: {a: 1}}", "")
	start := time.Now()
	out := st.Do(context.Background(), iteration())
	if out.Class != ClassTimeout || !strings.Contains(out.Err.Error(), "reading the response: timeout after 2s") {
		t.Fatalf("class %q err %v", out.Class, out.Err)
	}
	if time.Since(start) < 2*time.Second {
		t.Error("timed out early")
	}
	if out := st.Do(context.Background(), iteration()); out.Err != nil {
		t.Fatal(out.Err)
	}
	if rs.conns.Load() != 2 {
		t.Errorf("%d connections, want 2 (the timed-out one dropped)", rs.conns.Load())
	}
}

// Plain http without a proxy takes the fast client; https stays on net/http.
func TestClientChoice(t *testing.T) {
	t.Parallel()
	for u, want := range map[string]bool{
		"http://127.0.0.1:9/hook":              true,
		"http://localhost/hook":                true,
		"https://discord.com/api/webhooks/1/x": false,
		"http://user:pw@127.0.0.1:9/hook":      false,
	} {
		_, got := fastTarget(u)
		if got != want {
			t.Errorf("fastTarget(%q) = %v, want %v", u, got, want)
		}
	}
	if addr, _ := fastTarget("http://localhost/hook"); addr != "localhost:80" {
		t.Errorf("address %q", addr)
	}
}
