package webhook

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// fastClient is a lean HTTP/1.1 client for plain-http targets reached
// without a proxy: the embedded sink, local services, benchmarks. Where
// net/http spends two write system calls on a request with a body of its own
// type (headers, then body) and hands every exchange between three
// goroutines, it writes each request in one call and reads the answer in the
// calling goroutine, allocating nothing for an answer without a body. It
// keeps at most max_conns connections, reused in keep-alive. Targets over
// https, or behind a proxy, use net/http (with HTTP/2 where offered).
//
// A fastClient is safe for concurrent use.
type fastClient struct {
	addr   string // host:port to dial
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)
	idle   chan *fconn   // idle connections, most recently used last
	slots  chan struct{} // one per connection open or being opened
	closed atomic.Bool
}

func newFastClient(addr string, maxConns int, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *fastClient {
	return &fastClient{
		addr:  addr,
		dial:  dial,
		idle:  make(chan *fconn, maxConns),
		slots: make(chan struct{}, maxConns),
	}
}

// fastTarget tells whether a target URL can use the fast client, and the
// address to dial.
func fastTarget(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" || u.User != nil {
		return "", false
	}
	// A proxy from the environment (HTTP_PROXY, NO_PROXY) is net/http's
	// business.
	if p, err := http.ProxyFromEnvironment(&http.Request{URL: u}); err != nil || p != nil {
		return "", false
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	return host, true
}

// fconn is one connection of a fastClient.
type fconn struct {
	c      net.Conn
	br     *bufio.Reader
	wb     []byte
	reused bool
	probe  prober // tells, before a request, whether the service closed c while idle
	// ctx is the context the connection watches: when it ends, the I/O in
	// flight is aborted. Registered once per context, not per request (a
	// scenario's requests share one).
	ctx  context.Context
	stop func() bool
}

// watch makes the connection's I/O end with ctx. It returns false when the
// connection must not be used: an earlier context's abort may be under way.
func (c *fconn) watch(ctx context.Context) bool {
	if c.ctx == ctx {
		return true
	}
	if c.stop != nil && !c.stop() {
		return false
	}
	c.ctx, c.stop = ctx, nil
	if ctx.Done() != nil {
		conn := c.c
		c.stop = context.AfterFunc(ctx, func() { _ = conn.SetDeadline(aLongTimeAgo) })
	}
	return true
}

// maxWriteBuf keeps an occasional huge request from pinning its buffer.
const maxWriteBuf = 64 << 10

// get returns an idle connection, or dials one when fewer than max_conns
// are open, or waits for one.
func (fc *fastClient) get(ctx context.Context) (*fconn, error) {
	select {
	case c := <-fc.idle:
		c.reused = true
		return c, nil
	default:
	}
	select {
	case c := <-fc.idle:
		c.reused = true
		return c, nil
	case fc.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	nc, err := fc.dial(ctx, "tcp", fc.addr)
	if err != nil {
		<-fc.slots
		return nil, err
	}
	c := &fconn{c: nc, br: bufio.NewReaderSize(nc, 4096)}
	c.probe.init(nc)
	return c, nil
}

// put keeps c for reuse.
func (fc *fastClient) put(c *fconn) {
	if fc.closed.Load() {
		fc.discard(c)
		return
	}
	select {
	case fc.idle <- c:
	default:
		fc.discard(c)
	}
}

// discard closes c and frees its slot.
func (fc *fastClient) discard(c *fconn) {
	if c.stop != nil {
		c.stop()
	}
	_ = c.c.Close()
	<-fc.slots
}

// closeIdle closes the idle connections; those in use close when returned.
func (fc *fastClient) closeIdle() {
	fc.closed.Store(true)
	for {
		select {
		case c := <-fc.idle:
			fc.discard(c)
		default:
			return
		}
	}
}

// aLongTimeAgo is a deadline in the past, to abort a connection's I/O.
var aLongTimeAgo = time.Unix(1, 0)

// errNothingWritten marks a request that failed before any of its bytes
// left: the only failure after which it may go on another connection.
var errNothingWritten = errors.New("connection closed before the request was sent")

// roundTrip sends req on a connection and reads the answer's head. The
// answer's Body must be closed: it returns the connection to the pool when
// read to its end. Errors are wrapped in *url.Error, as net/http's are.
//
// A request is sent at most once. An idle keep-alive connection the service
// has closed is found before the request is written to it (see prober),
// and the request then goes on another connection; so does one whose write
// failed before a byte left. Once a byte is written, a failure is the
// attempt's, whatever the method: the service may have the request, and
// only the plan's retries, counted, may send it again. (net/http also
// re-sends GET, HEAD, OPTIONS and TRACE requests that failed on a reused
// connection before any answer; a load generator does not, so that every
// request the service sees is one the report counts.)
func (fc *fastClient) roundTrip(ctx context.Context, st *step, req *request, extra []hdr) (*http.Response, error) {
	for {
		c, err := fc.get(ctx)
		if err != nil {
			return nil, &url.Error{Op: st.op, URL: req.url, Err: err}
		}
		if !c.watch(ctx) {
			fc.discard(c)
			continue
		}
		// Set before the look at the socket, which an idle connection's
		// old deadline would fail.
		_ = c.c.SetDeadline(time.Now().Add(st.timeoutE))
		if err := ctx.Err(); err != nil {
			// Ended before the deadline was set: the abort may be lost.
			fc.discard(c)
			return nil, &url.Error{Op: st.op, URL: req.url, Err: err}
		}
		if c.reused && c.probe.closed() {
			// Nothing written yet: each idle connection is given up at
			// most once, so the loop ends with a fresh one at the latest.
			fc.discard(c)
			continue
		}
		fr, err := c.exchange(st, req, extra)
		if err != nil {
			fc.discard(c)
			if c.reused && errors.Is(err, errNothingWritten) && ctx.Err() == nil {
				continue
			}
			return nil, &url.Error{Op: st.op, URL: req.url, Err: err}
		}
		fr.body.fc, fr.body.c = fc, c
		return &fr.resp, nil
	}
}

// fastResponse holds an answer and its body, recycled once the body is
// closed (nothing keeps the *http.Response after that).
type fastResponse struct {
	resp http.Response
	body fastBody
}

var responsePool = sync.Pool{New: func() any { return new(fastResponse) }}

// recycle clears fr and puts it back in the pool.
func (fr *fastResponse) recycle() {
	*fr = fastResponse{}
	responsePool.Put(fr)
}

// emptyHeader is the Header of answers that carry none the driver reads.
// It is never written.
var emptyHeader = http.Header{}

// exchange writes the request and reads the answer's status and headers.
func (c *fconn) exchange(st *step, req *request, extra []hdr) (*fastResponse, error) {
	b := c.wb[:0]
	b = append(b, st.method...)
	b = append(b, ' ')
	b = append(b, req.target...)
	b = append(b, st.fastHead...)
	for _, h := range extra {
		b = append(b, h.k...)
		b = append(b, ": "...)
		b = append(b, h.v...)
		b = append(b, "\r\n"...)
	}
	if req.body != nil || st.needsLength {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(req.body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, req.body...)
	n, err := c.c.Write(b)
	if cap(b) <= maxWriteBuf {
		c.wb = b[:0]
	} else {
		c.wb = nil
	}
	if err != nil {
		if n == 0 && isReset(err) {
			return nil, fmt.Errorf("%w: %w", errNothingWritten, err)
		}
		return nil, err
	}
	fr := responsePool.Get().(*fastResponse)
	for {
		line, err := c.readLine()
		if err != nil {
			fr.recycle()
			return nil, err
		}
		status, proto11, err := parseStatusLine(line)
		if err != nil {
			fr.recycle()
			return nil, err
		}
		fr.resp.StatusCode = status
		fr.resp.Proto = "HTTP/1.0"
		if proto11 {
			fr.resp.Proto = "HTTP/1.1"
		}
		// A 1xx answer's headers are not the final answer's.
		fr.resp.Header = nil
		fr.body.length, fr.body.chunked = -1, false
		keepAlive, err := c.readHeaders(fr, proto11, st.reply)
		if err != nil {
			fr.recycle()
			return nil, err
		}
		fr.body.keepAlive = keepAlive
		if status >= 100 && status <= 199 && status != http.StatusSwitchingProtocols {
			continue // 100 Continue and friends: the answer follows
		}
		break
	}
	if fr.resp.Header == nil {
		fr.resp.Header = emptyHeader
	}
	switch {
	case st.method == http.MethodHead || fr.resp.StatusCode == http.StatusNoContent ||
		fr.resp.StatusCode == http.StatusNotModified:
		fr.body.length = 0
	case fr.body.chunked:
		// Chunked framing wins over a Content-Length (RFC 9112 6.3).
		fr.body.length = -1
		fr.body.r = httputil.NewChunkedReader(c.br)
	case fr.body.length < 0:
		// Delimited by the end of the connection.
		fr.body.keepAlive = false
		fr.body.r = c.br
	}
	fr.resp.ContentLength = fr.body.length
	fr.resp.Body = &fr.body
	fr.body.fr = fr
	return fr, nil
}

// readLine reads one CRLF-terminated line, without its end, from the
// buffer: valid until the next read.
func (c *fconn) readLine() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errors.New("malformed HTTP answer: a header line over 4 KiB")
		}
		if errors.Is(err, io.EOF) && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// parseStatusLine reads "HTTP/1.1 204 No Content". proto11 is true for
// HTTP/1.1 and any later 1.x, whose connections stay open by default.
func parseStatusLine(line []byte) (status int, proto11 bool, err error) {
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[7] < '0' || line[7] > '9' || line[8] != ' ' {
		return 0, false, fmt.Errorf("malformed HTTP response %q", truncate(string(line), 40))
	}
	code := line[9:12]
	if len(line) > 12 && line[12] != ' ' {
		return 0, false, fmt.Errorf("malformed HTTP status code %q", truncate(string(line[9:]), 20))
	}
	for _, d := range code {
		if d < '0' || d > '9' {
			return 0, false, fmt.Errorf("malformed HTTP status code %q", code)
		}
	}
	status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	if status < 100 {
		return 0, false, fmt.Errorf("malformed HTTP status code %q", code)
	}
	return status, line[7] != '0', nil
}

// kept are the headers the driver reads from answers; the others are
// skipped without allocating.
var kept = map[string]bool{
	"Content-Type": true, "Retry-After": true,
	"X-Ratelimit-Limit": true, "X-Ratelimit-Remaining": true, "X-Ratelimit-Reset": true,
	"X-Ratelimit-Reset-After": true, "X-Ratelimit-Bucket": true, "X-Ratelimit-Scope": true,
	"X-Ratelimit-Global": true,
}

// readHeaders reads the answer's headers: framing into the body, those
// the driver reads into the Header (all of them for a step whose reply is
// captured: all). It reports whether the connection stays
// open after the answer. Framing is read the way net/http reads it, and
// whatever net/http would refuse is malformed here too: an answer the two
// clients would frame differently could make the next answer be read from
// the wrong place.
func (c *fconn) readHeaders(fr *fastResponse, proto11, all bool) (keepAlive bool, err error) {
	var (
		closeTok, keepTok bool
		lengthDigits      int // of the first Content-Length, 0 if none
		te                bool
	)
	for n := 0; ; n++ {
		line, err := c.readLine()
		if err != nil {
			return false, err
		}
		if len(line) == 0 {
			// HTTP/1.0 connections close unless kept alive; later ones
			// stay open unless closed.
			return !closeTok && (proto11 || keepTok), nil
		}
		if n > 200 {
			return false, errors.New("malformed HTTP answer: over 200 header lines")
		}
		name, value, err := splitHeader(line)
		if err != nil {
			return false, err
		}
		switch {
		case asciiEqualFold(name, "Content-Length"):
			v, ok := parseLength(value)
			switch {
			case !ok:
				return false, fmt.Errorf("malformed HTTP Content-Length %q", truncate(string(value), 20))
			case lengthDigits > 0 && (v != fr.body.length || len(value) != lengthDigits):
				// Two lengths: which one frames the body is anyone's guess.
				return false, errors.New("malformed HTTP answer: Content-Length headers that disagree")
			}
			fr.body.length, lengthDigits = v, len(value)
		case asciiEqualFold(name, "Transfer-Encoding"):
			if !proto11 {
				continue // HTTP/1.0 has none: ignored, as net/http does
			}
			if te {
				return false, errors.New("malformed HTTP answer: more than one Transfer-Encoding header")
			}
			if !asciiEqualFold(value, "chunked") {
				return false, fmt.Errorf("malformed HTTP answer: unsupported Transfer-Encoding %q", truncate(string(value), 20))
			}
			te, fr.body.chunked = true, true
		case asciiEqualFold(name, "Connection"):
			// A list of tokens: "keep-alive, Upgrade", "close".
			for tok := range bytes.SplitSeq(value, []byte{','}) {
				tok = bytes.Trim(tok, " \t")
				closeTok = closeTok || asciiEqualFold(tok, "close")
				keepTok = keepTok || asciiEqualFold(tok, "keep-alive")
			}
		default:
			key := http.CanonicalHeaderKey(string(name))
			if kept[key] || all {
				if fr.resp.Header == nil {
					fr.resp.Header = make(http.Header, 8)
				}
				fr.resp.Header[key] = append(fr.resp.Header[key], string(value))
			}
		}
	}
}

// parseLength reads a Content-Length: decimal digits only, as net/http
// takes them, below 2⁶³.
func parseLength(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' || v > (math.MaxInt64-int64(c-'0'))/10 {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// splitHeader cuts a header line into its name and its trimmed value. It
// refuses what net/http's reader refuses — a name that is not a token
// (spaces aside, which net/http keeps as part of an unknown name), a value
// with control bytes — and, unlike net/http, a line folded onto the
// previous one (obsolete; RFC 9112 lets a client reject it): the answer is
// then malformed, and its connection is not reused.
func splitHeader(line []byte) (name, value []byte, err error) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 || line[0] == ' ' || line[0] == '\t' {
		return nil, nil, fmt.Errorf("malformed HTTP header line %q", truncate(string(line), 40))
	}
	name, value = line[:i], line[i+1:]
	for _, c := range name {
		if c != ' ' && !tokenByte(c) {
			return nil, nil, fmt.Errorf("malformed HTTP header name %q", truncate(string(name), 40))
		}
	}
	for _, c := range value {
		if c < ' ' && c != '\t' || c == 0x7f {
			return nil, nil, fmt.Errorf("malformed HTTP header line %q: a control byte in the value", truncate(string(name), 40))
		}
	}
	return name, bytes.Trim(value, " \t"), nil
}

// tokenByte reports whether c may appear in a header name (RFC 9110's
// tchar).
func tokenByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// asciiEqualFold compares b and s case-insensitively, ASCII only.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// fastBody is an answer's body on a fastClient connection. Read to its
// end, then closed, it gives the connection back for reuse; closed early, it
// closes the connection.
type fastBody struct {
	fr        *fastResponse
	fc        *fastClient
	c         *fconn
	r         io.Reader // chunked or until close; nil: length-delimited
	length    int64     // -1: unknown
	chunked   bool
	keepAlive bool
	eof       bool
	closed    bool
}

func (b *fastBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, errors.New("webhook: read on a closed answer body")
	}
	if b.eof {
		return 0, io.EOF
	}
	if b.r != nil {
		n, err := b.r.Read(p)
		if errors.Is(err, io.EOF) {
			b.eof = true
			if !b.chunked {
				b.keepAlive = false
			} else if terr := b.skipTrailer(); terr != nil {
				b.keepAlive = false
			}
		}
		return n, err
	}
	if b.length == 0 {
		b.eof = true
		return 0, io.EOF
	}
	if int64(len(p)) > b.length {
		p = p[:b.length]
	}
	n, err := b.c.br.Read(p)
	b.length -= int64(n)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return n, err
	}
	if b.length == 0 {
		return n, io.EOF
	}
	return n, nil
}

// skipTrailer reads the trailer of a chunked body, up to its empty line.
func (b *fastBody) skipTrailer() error {
	for range 100 {
		line, err := b.c.readLine()
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
		if _, _, err := splitHeader(line); err != nil {
			return err
		}
	}
	return errors.New("malformed HTTP answer: trailer too long")
}

// isReset reports a connection reset or aborted by the peer.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE)
}

// Close gives the connection back when the body was read to its end and
// the connection may be kept, and closes it otherwise.
func (b *fastBody) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	if b.length == 0 && b.r == nil {
		b.eof = true
	}
	if b.eof && b.keepAlive && b.c.br.Buffered() == 0 {
		b.fc.put(b.c)
	} else {
		b.fc.discard(b.c)
	}
	b.fr.recycle()
	return nil
}
