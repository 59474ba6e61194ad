package redis

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// fastPool is the driver's own RESP2 client for a single server, used for
// steps instead of go-redis when the target is one endpoint (a url, an
// embedded or a managed standalone server). A step's round trip then costs
// no allocation: arguments are written from the rendered bytes straight
// into the connection's buffer, and replies are parsed only as far as a
// load generator needs (error or not, nil or not), never copied.
//
// It honours the target's pool size, dial, read and write timeouts, pool
// timeout, context deadlines, credentials, db and TLS, and retries network
// failures and transient error replies (LOADING, BUSY, TRYAGAIN,
// MASTERDOWN) when the target asks for retries. A fastPool is safe for
// concurrent use.
type fastPool struct {
	o fastOptions

	idle   chan *fastConn // connections ready for use
	slots  chan struct{}  // one token per open connection, up to size
	closed atomic.Bool
}

// fastOptions configure a fastPool.
type fastOptions struct {
	network, addr      string
	tls                *tls.Config
	username, password string
	db                 int
	clientName         string
	size               int
	dialTimeout        time.Duration
	timeout            time.Duration // the longer of read and write; 0: none
	poolTimeout        time.Duration
	maxRetries         int
	minBackoff         time.Duration
	maxBackoff         time.Duration
	via                func(upstream string) (string, error) // the fault proxy, or nil
}

// fastOptionsFrom takes the settings of a go-redis client's options (with
// go-redis's defaults applied, as NewClient leaves them).
func fastOptionsFrom(o *goredis.Options) fastOptions {
	timeout := max(o.ReadTimeout, o.WriteTimeout, 0)
	return fastOptions{
		network: o.Network, addr: o.Addr, tls: o.TLSConfig,
		username: o.Username, password: o.Password, db: o.DB, clientName: o.ClientName,
		size: max(o.PoolSize, 1), dialTimeout: o.DialTimeout, timeout: timeout, poolTimeout: o.PoolTimeout,
		maxRetries: max(o.MaxRetries, 0), minBackoff: max(o.MinRetryBackoff, 0), maxBackoff: max(o.MaxRetryBackoff, 0),
	}
}

func newFastPool(o fastOptions) *fastPool {
	return &fastPool{o: o, idle: make(chan *fastConn, o.size), slots: make(chan struct{}, o.size)}
}

// fastConn is one connection of a fastPool, used by one call at a time.
type fastConn struct {
	nc       net.Conn
	bw       *bufio.Writer
	br       *bufio.Reader
	deadline time.Time // the deadline set on nc, zero if none
	num      [24]byte
	line     []byte // for reply lines longer than br's buffer
}

const fastBufSize = 16 << 10

// replyError is an error reply of the server. It satisfies go-redis's
// Error interface, so that both clients' server errors classify alike.
type replyError string

func (e replyError) Error() string { return string(e) }

// RedisError marks replyError as a server error reply.
func (replyError) RedisError() {}

// errProtocol reports a reply that is not valid RESP.
var errProtocol = errors.New("redis: protocol error")

// do sends the commands of argv (argc[i] arguments each) in one round
// trip, wrapped in MULTI/EXEC when tx, and reads every reply. It returns
// whether the first reply was a nil, and the first error: a failure to
// talk to the server, or else the first error reply found, nested replies
// included (so an error inside EXEC's reply counts). at is the index in
// argc of the command whose reply held that error reply, -1 when the error
// is not one command's (a failure to talk, MULTI's or EXEC's own reply).
func (p *fastPool) do(ctx context.Context, argv [][]byte, argc []int, tx bool) (firstNil bool, at int, err error) {
	for attempt := 0; ; attempt++ {
		var retry bool
		firstNil, at, retry, err = p.once(ctx, argv, argc, tx)
		if err == nil || !retry || attempt >= p.o.maxRetries {
			return firstNil, at, err
		}
		t := time.NewTimer(p.backoff(attempt))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return false, -1, ctx.Err()
		}
	}
}

// backoff is the pause before retry attempt+1: min_backoff doubled per
// attempt, capped at max_backoff, with jitter over its upper half.
func (p *fastPool) backoff(attempt int) time.Duration {
	d := p.o.minBackoff
	for range attempt {
		if d >= p.o.maxBackoff/2 {
			d = p.o.maxBackoff
			break
		}
		d *= 2
	}
	d = min(d, p.o.maxBackoff)
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}

func (p *fastPool) once(ctx context.Context, argv [][]byte, argc []int, tx bool) (firstNil bool, at int, retry bool, err error) {
	select {
	case <-ctx.Done():
		return false, -1, false, ctx.Err()
	default:
	}
	c, err := p.get(ctx)
	if err != nil {
		return false, -1, retryable(err), err
	}
	if err := c.arm(ctx, p.o.timeout); err != nil {
		p.discard(c)
		return false, -1, false, err
	}
	if tx {
		c.bw.WriteString("*1\r\n$5\r\nMULTI\r\n")
	}
	k := 0
	for _, n := range argc {
		c.writeCommand(argv[k : k+n])
		k += n
	}
	n := len(argc)
	if tx {
		c.bw.WriteString("*1\r\n$4\r\nEXEC\r\n")
		n += 2
	}
	if err := c.bw.Flush(); err != nil {
		p.discard(c)
		return false, -1, retryable(err), err
	}
	var first error
	at = -1
	for i := range n {
		isNil, rerr, err := c.readReply()
		if err != nil {
			p.discard(c)
			return false, -1, retryable(err), err
		}
		if i == 0 {
			firstNil = isNil
		}
		if rerr != nil && first == nil {
			first = rerr
			at = replyCommand(i, len(argc), tx)
		}
	}
	p.put(c)
	return firstNil, at, first != nil && retryable(first), first
}

// replyCommand maps reply i of a round trip of n commands to the command's
// index, -1 for MULTI's and EXEC's own replies.
func replyCommand(i, n int, tx bool) int {
	if tx {
		i--
	}
	if i < 0 || i >= n {
		return -1
	}
	return i
}

// retryable reports whether err may pass on a second attempt: a connection
// failure, or a transient error reply. Timeouts are not retried: under
// load, a retry would only add load where the server is already late.
func retryable(err error) bool {
	if re, ok := errors.AsType[replyError](err); ok {
		for _, p := range []string{"LOADING ", "BUSY ", "TRYAGAIN ", "MASTERDOWN ", "CLUSTERDOWN "} {
			if strings.HasPrefix(string(re), p) {
				return true
			}
		}
		return false
	}
	switch classify(err) {
	case ClassConnection, ClassRefused:
		return !errors.Is(err, goredis.ErrClosed)
	}
	return false
}

// get takes an idle connection, or dials one while the pool has room, or
// waits for one until the pool timeout.
func (p *fastPool) get(ctx context.Context) (*fastConn, error) {
	if p.closed.Load() {
		return nil, goredis.ErrClosed
	}
	select {
	case c := <-p.idle:
		return c, nil
	default:
	}
	select {
	case c := <-p.idle:
		return c, nil
	case p.slots <- struct{}{}:
		return p.dial(ctx)
	default:
	}
	var timeout <-chan time.Time
	if p.o.poolTimeout > 0 {
		t := time.NewTimer(p.o.poolTimeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case c := <-p.idle:
		return c, nil
	case p.slots <- struct{}{}:
		return p.dial(ctx)
	case <-timeout:
		return nil, goredis.ErrPoolTimeout
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// put returns a healthy connection to the pool.
func (p *fastPool) put(c *fastConn) {
	p.idle <- c // never blocks: at most size connections exist
	if p.closed.Load() {
		p.drain()
	}
}

// discard closes a connection that failed, freeing its slot.
func (p *fastPool) discard(c *fastConn) {
	_ = c.nc.Close()
	<-p.slots
}

func (p *fastPool) drain() {
	for {
		select {
		case c := <-p.idle:
			p.discard(c)
		default:
			return
		}
	}
}

// Close closes the idle connections; connections in use are closed when
// their call returns them. It is idempotent.
func (p *fastPool) Close() {
	p.closed.Store(true)
	p.drain()
}

// dial opens and prepares a connection; its slot is already taken, and is
// given back on failure.
func (p *fastPool) dial(ctx context.Context) (_ *fastConn, err error) {
	defer func() {
		if err != nil {
			<-p.slots
		}
	}()
	nc, err := dialThrough(ctx, p.o.via, p.o.tls, p.o.dialTimeout, p.o.network, p.o.addr)
	if err != nil {
		return nil, err
	}
	dctx := ctx
	if p.o.dialTimeout > 0 {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(ctx, p.o.dialTimeout)
		defer cancel()
	}
	c := &fastConn{nc: nc, bw: bufio.NewWriterSize(nc, fastBufSize), br: bufio.NewReaderSize(nc, fastBufSize)}
	if err := c.hello(dctx, p.o); err != nil {
		_ = nc.Close()
		return nil, err
	}
	return c, nil
}

// hello authenticates, selects the database and names the connection, in
// one round trip.
func (c *fastConn) hello(ctx context.Context, o fastOptions) error {
	var cmds [][]string
	switch {
	case o.username != "":
		cmds = append(cmds, []string{"AUTH", o.username, o.password})
	case o.password != "":
		cmds = append(cmds, []string{"AUTH", o.password})
	}
	if o.db != 0 {
		cmds = append(cmds, []string{"SELECT", strconv.Itoa(o.db)})
	}
	if o.clientName != "" {
		cmds = append(cmds, []string{"CLIENT", "SETNAME", o.clientName})
	}
	if len(cmds) == 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.nc.SetDeadline(dl)
		defer func() { _ = c.nc.SetDeadline(time.Time{}) }()
	}
	for _, cmd := range cmds {
		argv := make([][]byte, len(cmd))
		for i, a := range cmd {
			argv[i] = []byte(a)
		}
		c.writeCommand(argv)
	}
	if err := c.bw.Flush(); err != nil {
		return err
	}
	var first error
	for range cmds {
		_, rerr, err := c.readReply()
		if err != nil {
			return err
		}
		if rerr != nil && first == nil {
			first = rerr
		}
	}
	return first
}

// arm sets the connection's deadline for a call starting now: the context's
// deadline when it comes first, else now plus timeout. Re-arming a timer
// costs more than a round trip's other work, so a deadline already set
// within timeout/16 past the wanted one is kept: a call then times out
// between timeout and timeout×17/16 after it started.
func (c *fastConn) arm(ctx context.Context, timeout time.Duration) error {
	dl, hasCtx := ctx.Deadline()
	if timeout <= 0 && !hasCtx {
		if c.deadline.IsZero() {
			return nil
		}
		c.deadline = time.Time{}
		return c.nc.SetDeadline(c.deadline)
	}
	now := time.Now()
	want := now.Add(timeout)
	if hasCtx && (timeout <= 0 || dl.Before(want)) {
		c.deadline = dl
		return c.nc.SetDeadline(dl)
	}
	slack := timeout / 16
	if !c.deadline.Before(want) && c.deadline.Sub(want) <= slack {
		return nil
	}
	c.deadline = want.Add(slack)
	return c.nc.SetDeadline(c.deadline)
}

// writeCommand writes one command as a RESP array of bulk strings.
func (c *fastConn) writeCommand(argv [][]byte) {
	w := c.bw
	_ = w.WriteByte('*')
	_, _ = w.Write(strconv.AppendInt(c.num[:0], int64(len(argv)), 10))
	_, _ = w.WriteString("\r\n")
	for _, a := range argv {
		_ = w.WriteByte('$')
		_, _ = w.Write(strconv.AppendInt(c.num[:0], int64(len(a)), 10))
		_, _ = w.WriteString("\r\n")
		_, _ = w.Write(a)
		_, _ = w.WriteString("\r\n")
	}
}

// readLine reads one CRLF-terminated line, without the CRLF. The slice is
// valid until the next read.
func (c *fastConn) readLine() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		c.line = append(c.line[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = c.br.ReadSlice('\n')
			c.line = append(c.line, line...)
		}
		line = c.line
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("%w: bad line %q", errProtocol, truncate(line))
	}
	return line[:len(line)-2], nil
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// maxErrorText bounds the part of a blob error kept as its message: the
// rest is read and dropped, so that a length announced by a broken server
// or proxy is never an allocation.
const maxErrorText = 64 << 10

// readReply reads one reply and everything nested in it. isNil is true for
// a nil bulk string or array; rerr is the first error reply found; err is a
// failure to read (the connection is then unusable).
//
// It reads RESP2 and RESP3 (maps, sets, pushes, attributes, verbatim
// strings, doubles, booleans, big numbers, nulls, blob errors); streamed
// strings and aggregates (`$?`, `*?`), which Redis never sends, are
// protocol errors. Every reply is checked as far as its framing and the
// form of its scalar, so that a malformed stream fails with errProtocol
// rather than being read as some other reply.
//
// A line is a slice of the read buffer (or of c.line), valid only until
// the next read: everything needed from it is taken before a nested read.
func (c *fastConn) readReply() (isNil bool, rerr, err error) {
	line, err := c.readLine()
	if err != nil {
		return false, nil, err
	}
	typ, body := line[0], line[1:]
	switch typ {
	case '+':
		return false, nil, nil
	case ':', '(':
		if !validInteger(body) {
			return false, nil, fmt.Errorf("%w: bad number %q", errProtocol, truncate(line))
		}
		return false, nil, nil
	case ',':
		if !validDouble(body) {
			return false, nil, fmt.Errorf("%w: bad double %q", errProtocol, truncate(line))
		}
		return false, nil, nil
	case '#':
		if len(body) != 1 || body[0] != 't' && body[0] != 'f' {
			return false, nil, fmt.Errorf("%w: bad boolean %q", errProtocol, truncate(line))
		}
		return false, nil, nil
	case '_':
		if len(body) != 0 {
			return false, nil, fmt.Errorf("%w: bad null %q", errProtocol, truncate(line))
		}
		return true, nil, nil
	case '-':
		return false, replyError(body), nil
	case '$', '=', '!':
		n, err := parseLen(body)
		if err != nil {
			return false, nil, err
		}
		if n < 0 {
			return true, nil, nil
		}
		switch typ {
		case '!':
			msg, err := c.readBlob(n)
			if err != nil {
				return false, nil, err
			}
			return false, replyError(msg), nil
		case '=':
			// A verbatim string starts with its three-letter format
			// ("txt:"); Peek leaves it for the Discard below.
			if n < 4 {
				return false, nil, fmt.Errorf("%w: verbatim string of %d bytes", errProtocol, n)
			}
			f, err := c.br.Peek(4)
			if err != nil {
				return false, nil, eof(err)
			}
			if f[3] != ':' {
				return false, nil, fmt.Errorf("%w: verbatim string without its format: %q", errProtocol, f)
			}
		}
		if _, err := c.br.Discard(n); err != nil {
			return false, nil, eof(err)
		}
		return false, nil, c.readCRLF()
	case '*', '~', '>', '%', '|':
		n, err := parseLen(body)
		if err != nil {
			return false, nil, err
		}
		if n < 0 {
			if typ == '|' {
				// An attribute always comes before a reply; a nil one
				// leaves unknown whether one follows.
				return false, nil, fmt.Errorf("%w: nil attribute", errProtocol)
			}
			return true, nil, nil
		}
		if typ == '%' || typ == '|' {
			n *= 2
		}
		for range n {
			_, e, err := c.readReply()
			if err != nil {
				return false, nil, err
			}
			if e != nil && rerr == nil && typ != '|' {
				rerr = e
			}
		}
		if typ == '|' {
			// An attribute is metadata about the reply that follows it:
			// the reply is that one, and an error among the metadata is
			// not the reply's.
			return c.readReply()
		}
		return false, rerr, nil
	}
	return false, nil, fmt.Errorf("%w: unexpected reply %q", errProtocol, truncate(line))
}

// readBlob reads a blob error's n bytes and their CRLF, keeping at most
// maxErrorText of them.
func (c *fastConn) readBlob(n int) (string, error) {
	b := make([]byte, min(n, maxErrorText))
	if _, err := io.ReadFull(c.br, b); err != nil {
		return "", eof(err)
	}
	if _, err := c.br.Discard(n - len(b)); err != nil {
		return "", eof(err)
	}
	return string(b), c.readCRLF()
}

// readCRLF reads the CRLF that ends a bulk string.
func (c *fastConn) readCRLF() error {
	cr, err := c.br.ReadByte()
	if err != nil {
		return eof(err)
	}
	lf, err := c.br.ReadByte()
	if err != nil {
		return eof(err)
	}
	if cr != '\r' || lf != '\n' {
		return fmt.Errorf("%w: bulk string not followed by CRLF", errProtocol)
	}
	return nil
}

// eof turns the end of the stream inside a reply into io.ErrUnexpectedEOF.
func eof(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// validInteger reports whether b is a RESP integer or big number: an
// optional sign and at least one digit.
func validInteger(b []byte) bool {
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		b = b[1:]
	}
	return len(b) > 0 && digits(b) == len(b)
}

// validDouble reports whether b is a RESP3 double: inf, -inf, nan, or an
// optional sign, digits, an optional fraction and an optional exponent.
func validDouble(b []byte) bool {
	switch string(b) { // compared without allocating
	case "inf", "+inf", "-inf", "nan", "-nan":
		return true
	}
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		b = b[1:]
	}
	i := digits(b)
	if i == 0 {
		return false
	}
	b = b[i:]
	if len(b) > 0 && b[0] == '.' {
		if i = digits(b[1:]); i == 0 {
			return false
		}
		b = b[1+i:]
	}
	if len(b) > 0 && (b[0] == 'e' || b[0] == 'E') {
		b = b[1:]
		if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
			b = b[1:]
		}
		if i = digits(b); i == 0 {
			return false
		}
		b = b[i:]
	}
	return len(b) == 0
}

// digits is the length of b's leading run of ASCII digits.
func digits(b []byte) int {
	for i, ch := range b {
		if ch < '0' || ch > '9' {
			return i
		}
	}
	return len(b)
}

// parseLen parses a RESP length without allocating.
func parseLen(b []byte) (int, error) {
	if len(b) == 2 && b[0] == '-' && b[1] == '1' {
		return -1, nil
	}
	if len(b) == 0 || len(b) > 10 {
		return 0, fmt.Errorf("%w: bad length %q", errProtocol, b)
	}
	if digits(b) != len(b) {
		return 0, fmt.Errorf("%w: bad length %q", errProtocol, b)
	}
	n := 0
	for _, ch := range b {
		n = n*10 + int(ch-'0')
	}
	return n, nil
}
