package webhook

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// memConn is a connection whose peer's bytes are in memory: what the
// client writes is dropped. It counts the bytes read from it.
type memConn struct {
	r *bytes.Reader
	n int
}

func (c *memConn) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
func (c *memConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *memConn) Close() error                     { return nil }
func (c *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

// consumed is how far a reader over c has read: what c gave it, less what
// it still holds.
func (c *memConn) consumed(br *bufio.Reader) int { return c.n - br.Buffered() }

// maxFuzzBody bounds the body a fuzzed answer is read for.
const maxFuzzBody = 1 << 20

// fastRead is what the fast client makes of data as the answer to a POST:
// the status, the body read to its end, and whether it keeps the
// connection afterwards; with the bytes it consumed.
type fastRead struct {
	status   int
	body     []byte
	headErr  error
	bodyErr  error
	keep     bool
	consumed int
}

func readFast(data []byte) fastRead {
	mc := &memConn{r: bytes.NewReader(data)}
	fc := newFastClient("x:80", 1, nil)
	fc.slots <- struct{}{} // the connection's, as get takes it
	c := &fconn{c: mc, br: bufio.NewReaderSize(mc, 4096)}
	st := &step{method: http.MethodPost, fastHead: []byte(" HTTP/1.1\r\nHost: x\r\n"), needsLength: true}
	fr, err := c.exchange(st, &request{url: "http://x/hook", target: "/hook", body: []byte(`{"a":1}`)}, nil)
	if err != nil {
		return fastRead{headErr: err}
	}
	fr.body.fc, fr.body.c = fc, c
	out := fastRead{status: fr.resp.StatusCode}
	out.body, out.bodyErr = io.ReadAll(io.LimitReader(fr.resp.Body, maxFuzzBody))
	fr.resp.Body.Close()
	out.keep = len(fc.idle) == 1 // given back for the next request
	out.consumed = mc.consumed(c.br)
	return out
}

// stdRead is the same through net/http's own response reader, the way its
// Transport reads (skipping 1xx answers).
type stdRead struct {
	status   int
	body     []byte
	headErr  error
	bodyErr  error
	close    bool
	consumed int
}

func readStd(data []byte) stdRead {
	mc := &memConn{r: bytes.NewReader(data)}
	br := bufio.NewReaderSize(mc, 4096)
	req, _ := http.NewRequest(http.MethodPost, "http://x/hook", nil)
	for {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return stdRead{headErr: err}
		}
		if resp.StatusCode >= 100 && resp.StatusCode <= 199 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		out := stdRead{status: resp.StatusCode, close: resp.Close}
		out.body, out.bodyErr = io.ReadAll(io.LimitReader(resp.Body, maxFuzzBody))
		resp.Body.Close()
		out.consumed = mc.consumed(br)
		return out
	}
}

// nextAnswer follows a fuzzed answer that the fast client read as complete:
// on a live connection, net/http would wait for more bytes where it peeks
// past an answer's end (a chunked body's trailer), and get the next one.
const nextAnswer = "HTTP/1.1 204 No Content\r\n\r\n"

// FuzzHTTPResponse feeds arbitrary bytes to the fast client as a service's
// answer. It must never panic; and when it keeps the connection for the
// next request, net/http must read the same answer — same status, same
// body — end it at the same byte, agree the connection stays open, and read
// the next answer after it: otherwise the next answer would be read from
// the wrong place.
func FuzzHTTPResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nuntil the end",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nX-RateLimit-Remaining: 0\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\n\r\n",
		"HTTP/1.1 2OO OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nConnection: keep-alive, Upgrade\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"HTTP/1.1 100 Continue\r\nTransfer-Encoding: chunked\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		// Each of these was kept alive, framed otherwise than net/http
		// frames it (the fixes came with them).
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nokX",
		"HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nConnection: close\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := readFast(data)
		if fr.headErr != nil || fr.bodyErr != nil || !fr.keep {
			return // the connection is dropped: nothing more can be misread
		}
		sr := readStd(append(data[:len(data):len(data)], nextAnswer...))
		switch {
		case sr.headErr != nil:
			t.Fatalf("the fast client keeps the connection after an answer net/http rejects (%v)\ndata %q", sr.headErr, data)
		case sr.bodyErr != nil:
			t.Fatalf("the fast client keeps the connection after a body net/http cannot read (%v)\ndata %q", sr.bodyErr, data)
		case sr.close:
			t.Fatalf("the fast client keeps a connection net/http would close\ndata %q", data)
		case fr.status != sr.status:
			t.Fatalf("status %d, net/http reads %d\ndata %q", fr.status, sr.status, data)
		case !bytes.Equal(fr.body, sr.body):
			t.Fatalf("body %q, net/http reads %q\ndata %q", fr.body, sr.body, data)
		case fr.consumed != sr.consumed:
			t.Fatalf("the answer ends at byte %d, net/http ends it at %d\ndata %q", fr.consumed, sr.consumed, data)
		}
		if next := readStd(data[fr.consumed:len(data):len(data)]); next.headErr == nil {
			// Only nextAnswer may follow: the fast client gave the
			// connection back with nothing left unread.
			t.Fatalf("bytes after the answer, read as another (status %d), yet the connection was kept\ndata %q", next.status, data)
		}
	})
}
