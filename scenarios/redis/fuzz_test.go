package redis

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"net"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// The RESP reader is fuzzed two ways.
//
// FuzzRESPReader reads its input as a deterministic generator of RESP2 and
// RESP3 values (so that a corpus entry keeps meaning the same values), writes
// them as one pipelined stream, and has three readers agree on it:
//
//   - the model: what the generated values are (nil or not, first error);
//   - the fast reader, over the whole stream at once with the driver's
//     buffer and a byte at a time with bufio's smallest one;
//   - go-redis, whose reader is internal: a go-redis client pipelines one
//     command per value to a loopback server that answers each with the
//     value's bytes, so go-redis parses the same stream, over a real
//     connection, into its own values, compared with the model's.
//
// FuzzRESPReaderRaw feeds arbitrary bytes to the fast reader and to an
// independent reference decoder written below (plain slicing, no bufio):
// they must agree on every reply — nil, first error, where it ends — and on
// where and how the stream goes wrong (truncated or malformed). Neither may
// panic, and the fast reader never reads past a reply the reference
// rejects.

// ---- the model ----

// rv is a generated RESP value.
type rv struct {
	typ   byte   // the type byte
	null  bool   // a nil of its type (-1 length), or '_'
	text  string // simple string, error, bulk, verbatim (with its format), double, big number
	num   int64  // integer
	flag  bool   // boolean
	elems []rv   // aggregates; a map's are key, value, key, value...
	attr  []rv   // the attribute sent before the value: key, value...
}

// write appends v's RESP form.
func (v *rv) write(b []byte) []byte {
	if v.attr != nil {
		b = fmt.Appendf(b, "|%d\r\n", len(v.attr)/2)
		for i := range v.attr {
			b = v.attr[i].write(b)
		}
	}
	if v.null {
		if v.typ == '_' {
			return append(b, "_\r\n"...)
		}
		return append(b, v.typ, '-', '1', '\r', '\n')
	}
	b = append(b, v.typ)
	switch v.typ {
	case '+', '-', ',', '(':
		b = append(b, v.text...)
	case ':':
		b = strconv.AppendInt(b, v.num, 10)
	case '#':
		b = append(b, "ft"[boolInt(v.flag)])
	case '$', '=', '!':
		b = strconv.AppendInt(b, int64(len(v.text)), 10)
		b = append(b, "\r\n"...)
		b = append(b, v.text...)
	case '*', '~', '>', '%':
		n := len(v.elems)
		if v.typ == '%' {
			n /= 2
		}
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, "\r\n"...)
		for i := range v.elems {
			b = v.elems[i].write(b)
		}
		return b
	}
	return append(b, "\r\n"...)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// isNil is the fast reader's nil: a nil of any type.
func (v *rv) isNil() bool { return v.null }

// firstError is the first error reply in v, depth first, leaving out
// attributes (metadata, not the reply).
func (v *rv) firstError() (string, bool) {
	if v.null {
		return "", false
	}
	switch v.typ {
	case '-':
		return v.text, true
	case '!':
		return v.text[:min(len(v.text), maxErrorText)], true
	}
	for i := range v.elems {
		if msg, ok := v.elems[i].firstError(); ok {
			return msg, true
		}
	}
	return "", false
}

// goValue is what go-redis's reader makes of a nested v.
func (v *rv) goValue() any {
	if v.null {
		return nil
	}
	switch v.typ {
	case '+', '$':
		return v.text
	case '=':
		return v.text[4:]
	case '-', '!':
		return goErr(v.text)
	case ':':
		return v.num
	case ',':
		switch v.text {
		case "inf":
			return math.Inf(1)
		case "-inf":
			return math.Inf(-1)
		case "nan":
			return math.NaN()
		}
		f, err := strconv.ParseFloat(v.text, 64)
		if err != nil {
			panic(err)
		}
		return f
	case '#':
		return v.flag
	case '(':
		n, ok := new(big.Int).SetString(v.text, 10)
		if !ok {
			panic(v.text)
		}
		return n
	case '*', '~', '>':
		out := make([]any, len(v.elems))
		for i := range v.elems {
			out[i] = v.elems[i].goValue()
		}
		return out
	case '%':
		out := make(map[any]any, len(v.elems)/2)
		for i := 0; i+1 < len(v.elems); i += 2 {
			out[v.elems[i].goValue()] = v.elems[i+1].goValue()
		}
		return out
	}
	panic("unknown type " + string(v.typ))
}

// goErr stands for go-redis's error values, compared by their text.
type goErr string

// goComparable tells whether go-redis reads v as RESP means it. It does
// not in two cases, left out of the comparison: an error reply nested in
// an aggregate whose text go-redis turns into a typed error (LOADING ...,
// MOVED ...) fails the whole reply; and a value carrying an attribute,
// inside an attribute, is skipped without the value (go-redis discards an
// attribute as if it were a map).
func (v *rv) goComparable(nested, inAttr bool) bool {
	if inAttr && v.attr != nil {
		return false
	}
	if nested && !v.null && (v.typ == '-' || v.typ == '!') && typedByGoRedis(v.text) {
		return false
	}
	for i := range v.attr {
		if !v.attr[i].goComparable(true, true) {
			return false
		}
	}
	for i := range v.elems {
		if !v.elems[i].goComparable(true, inAttr) {
			return false
		}
	}
	return true
}

// typedByGoRedis mirrors go-redis's parseTypedRedisError: the messages it
// turns into an error type of its own.
func typedByGoRedis(msg string) bool {
	for _, p := range []string{"LOADING ", "READONLY ", "MOVED ", "ASK ", "CLUSTERDOWN ", "TRYAGAIN ", "MASTERDOWN ",
		"NOREPLICAS ", "NOAUTH ", "WRONGPASS ", "NOPERM ", "EXECABORT ", "OOM "} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return msg == "ERR max number of clients reached" || strings.Contains(msg, "unauthenticated")
}

// ---- the generator ----

// gen draws values from fuzz input bytes; past their end it reads zeros,
// which draw the smallest values, so every input is a finite stream.
type gen struct {
	in     []byte
	budget int // bytes of values left to generate, to bound memory
}

func (g *gen) byte() byte {
	if len(g.in) == 0 {
		return 0
	}
	c := g.in[0]
	g.in = g.in[1:]
	return c
}

func (g *gen) intn(n int) int { return int(g.byte()) % n }

func (g *gen) u64() uint64 {
	var u uint64
	for range 8 {
		u = u<<8 | uint64(g.byte())
	}
	return u
}

// fills are the bytes a long string is made of: the RESP type bytes and
// line ends, which a reader that lost its place would take for replies.
const fills = "|*$%>~=!:+-_#,(\r\n"

// str draws a string; line strings hold no CR or LF. Now and then it is
// long — up to three times the driver's read buffer — and made of one
// byte repeated.
func (g *gen) str(line bool) string {
	c := g.byte()
	if c >= 0xf0 && g.budget > 0 {
		n := (int(g.byte())<<8 | int(g.byte())) % (3 * fastBufSize)
		n = min(n, g.budget)
		g.budget -= n
		f := fills[g.intn(len(fills))]
		if line && (f == '\r' || f == '\n') {
			f = '|'
		}
		return strings.Repeat(string(f), n)
	}
	n := int(c) % 24
	b := make([]byte, 0, n)
	for range n {
		x := g.byte()
		if line && (x == '\r' || x == '\n') {
			x = ' '
		}
		b = append(b, x)
	}
	return string(b)
}

// errText draws an error message: an error code and a text.
func (g *gen) errText(line bool) string {
	codes := []string{"ERR ", "WRONGTYPE ", "NOSCRIPT ", "BUSYKEY ", "e", "LOADING "}
	return codes[g.intn(len(codes))] + g.str(line)
}

// value draws one value; depth bounds nesting.
func (g *gen) value(depth int) rv {
	var v rv
	if depth > 0 && g.intn(8) == 0 {
		v.attr = g.pairs(depth-1, 1+g.intn(2))
	}
	kinds := "+-:$,#(=!_*~>%"
	if depth == 0 {
		kinds = kinds[:10] // scalars only
	}
	v.typ = kinds[g.intn(len(kinds))]
	if g.intn(10) == 0 && v.typ != '+' && v.typ != '-' && v.typ != ':' && v.typ != ',' && v.typ != '#' && v.typ != '(' {
		v.null = true // $-1, *-1, _, and RESP3's rarer -1 lengths
		return v
	}
	switch v.typ {
	case '_':
		v.null = true
	case '+':
		v.text = g.str(true)
	case '-':
		v.text = g.errText(true)
	case '!':
		v.text = g.errText(false)
	case '$':
		v.text = g.str(false)
	case '=':
		formats := []string{"txt:", "mkd:", "xyz:"}
		v.text = formats[g.intn(len(formats))] + g.str(false)
	case ':':
		v.num = int64(g.u64())
		if g.intn(2) == 0 {
			v.num %= 1000
		}
	case ',':
		switch g.intn(8) {
		case 0:
			v.text = "inf"
		case 1:
			v.text = "-inf"
		case 2:
			v.text = "nan"
		default:
			f := math.Float64frombits(g.u64())
			if math.IsNaN(f) || math.IsInf(f, 0) {
				f = float64(g.intn(100))
			}
			v.text = strconv.FormatFloat(f, 'g', -1, 64)
		}
	case '#':
		v.flag = g.intn(2) == 1
	case '(':
		var b strings.Builder
		if g.intn(2) == 0 {
			b.WriteByte('-')
		}
		for n := 1 + g.intn(60); n > 0; n-- {
			b.WriteByte('0' + byte(g.intn(10)))
		}
		v.text = b.String()
	case '*', '~', '>':
		for n := g.intn(5); n > 0; n-- {
			v.elems = append(v.elems, g.value(depth-1))
		}
	case '%':
		v.elems = g.pairs(depth-1, g.intn(4))
	}
	return v
}

// pairs draws n map entries: distinct scalar keys (a simple string, a bulk
// string or an integer, as Redis sends them), and any values.
func (g *gen) pairs(depth, n int) []rv {
	var out []rv
	seen := map[any]bool{}
	for range n {
		var k rv
		switch g.intn(3) {
		case 0:
			k = rv{typ: '+', text: g.str(true)}
		case 1:
			k = rv{typ: '$', text: g.str(false)}
		default:
			k = rv{typ: ':', num: int64(g.intn(256))}
		}
		for seen[k.goValue()] {
			k.text += "'"
			k.num += 1000
		}
		seen[k.goValue()] = true
		out = append(out, k, g.value(depth))
	}
	return out
}

// stream draws 1 to 4 values and their RESP bytes.
func (g *gen) stream() ([]rv, []byte) {
	vals := make([]rv, 1+g.intn(4))
	var b []byte
	for i := range vals {
		vals[i] = g.value(3)
		b = vals[i].write(b)
	}
	return vals, b
}

// ---- a loopback server that answers with raw bytes ----

// rawRedis answers RAW <bytes> with the bytes as they are, HELLO with an
// error (go-redis then stays on RESP2, as runplan's fast path does), and
// anything else with +OK.
func rawRedis(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	tb.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				br := bufio.NewReader(c)
				bw := bufio.NewWriter(c)
				for {
					args, err := readCommand(br)
					if err != nil {
						return
					}
					switch {
					case len(args) == 2 && args[0] == "RAW":
						bw.WriteString(args[1])
					case len(args) > 0 && strings.EqualFold(args[0], "HELLO"):
						bw.WriteString("-ERR unknown command 'HELLO'\r\n")
					default:
						bw.WriteString("+OK\r\n")
					}
					if br.Buffered() == 0 {
						if err := bw.Flush(); err != nil {
							return
						}
					}
				}
			})
		}
	})
	return l.Addr().String()
}

// ---- the differential fuzz test ----

func FuzzRESPReader(f *testing.F) {
	for _, seed := range [][]byte{
		{}, // zeros: an attribute before a simple string
		// The stream: *1 holding a 40,000-byte bulk string of '|',
		// then -ERR swamp. Byte by byte: 2 values; no attribute, '*', not
		// nil, 1 element; no attribute, '$', not nil, long (0xf0), 0x9c40
		// bytes of fills[0]; no attribute, '-', not nil, "ERR " and 5 bytes.
		[]byte("\x01\x01\x0a\x01\x01\x01\x03\x01\xf0\x9c\x40\x00\x01\x01\x01\x00\x05swamp"),
		// %1 holding k => a 28,672-byte simple string of '*', then $3 xyz.
		[]byte("\x01\x01\x0d\x01\x01\x00\x01k\x01\x00\x01\xf1\x70\x00\x01\x01\x03\x01\x03xyz"),
		[]byte("redis: the fast reader must agree with go-redis"),
		bytes.Repeat([]byte{0xf4, 0x0d, 0x01, 0xff}, 16),
		bytes.Repeat([]byte{0x00, 0x08, 0x0b, 0x0c, 0x0d}, 12),
		bytes.Repeat([]byte{0x03, 0x0c, 0x07, 0x09, 0x01, 0x0e, 0x02}, 10),
	} {
		f.Add(seed)
	}
	addr := rawRedis(f)
	client := goredis.NewClient(&goredis.Options{
		Addr: addr, Protocol: 2, DisableIdentity: true, MaxRetries: -1, PoolSize: 1,
		ReadTimeout: 20 * time.Second, WriteTimeout: 20 * time.Second,
	})
	f.Cleanup(func() { client.Close() })

	f.Fuzz(func(t *testing.T, in []byte) {
		g := &gen{in: in, budget: 8 * fastBufSize}
		vals, stream := g.stream()

		// The fast reader, fed two ways.
		for _, rd := range readerKinds {
			c := &fastConn{br: bufio.NewReaderSize(rd.wrap(bytes.NewReader(stream)), rd.size)}
			for i := range vals {
				isNil, rerr, err := c.readReply()
				if err != nil {
					t.Fatalf("%s: reply %d: %v\nstream %.200q", rd.name, i, err, stream)
				}
				wantMsg, wantErr := vals[i].firstError()
				if isNil != vals[i].isNil() || (rerr != nil) != wantErr || wantErr && rerr.Error() != wantMsg {
					t.Fatalf("%s: reply %d: nil %v, error %.60q; want nil %v, error %.60q\nstream %.200q",
						rd.name, i, isNil, errText(rerr), vals[i].isNil(), wantMsg, stream)
				}
			}
			if _, err := c.br.Peek(1); err != io.EOF {
				t.Fatalf("%s: %d replies read, and the stream is not over (%v): the reader lost its place", rd.name, len(vals), err)
			}
		}

		// go-redis, over a real connection.
		for i := range vals {
			if !vals[i].goComparable(false, false) {
				return
			}
		}
		ctx := context.Background()
		pipe := client.Pipeline()
		cmds := make([]*goredis.Cmd, len(vals))
		for i := range vals {
			cmds[i] = pipe.Do(ctx, "RAW", vals[i].write(nil))
		}
		_, _ = pipe.Exec(ctx)
		for i, cmd := range cmds {
			checkGoRedis(t, i, &vals[i], cmd)
		}
	})
}

// checkGoRedis compares what go-redis read for top-level value v with the
// model.
func checkGoRedis(t *testing.T, i int, v *rv, cmd *goredis.Cmd) {
	t.Helper()
	val, err := cmd.Val(), cmd.Err()
	switch {
	case v.null:
		if !errors.Is(err, goredis.Nil) {
			t.Fatalf("go-redis: reply %d: %v, %v; want redis.Nil", i, val, err)
		}
	case v.typ == '-' || v.typ == '!':
		if err == nil || err.Error() != v.text {
			t.Fatalf("go-redis: reply %d: %v, %.60v; want the error %.60q", i, val, err, v.text)
		}
	default:
		if err != nil {
			t.Fatalf("go-redis: reply %d: %v", i, err)
		}
		if !sameValue(val, v.goValue()) {
			t.Fatalf("go-redis: reply %d: read %.200v, want %.200v", i, val, v.goValue())
		}
	}
}

// sameValue compares a go-redis value with the model's: errors by text,
// big numbers by value, NaN equal to NaN.
func sameValue(got, want any) bool {
	switch w := want.(type) {
	case goErr:
		e, ok := got.(error)
		return ok && e.Error() == string(w)
	case float64:
		g, ok := got.(float64)
		return ok && (g == w || math.IsNaN(g) && math.IsNaN(w))
	case *big.Int:
		g, ok := got.(*big.Int)
		return ok && g.Cmp(w) == 0
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !sameValue(g[i], w[i]) {
				return false
			}
		}
		return true
	case map[any]any:
		g, ok := got.(map[any]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !sameValue(gv, wv) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(got, want)
}

// ---- the reference decoder ----

// refReply is one reply as the reference decoder reads it.
type refReply struct {
	isNil  bool
	hasErr bool
	msg    string
	end    int // offset just past the reply
}

// Ways a stream goes wrong.
var (
	errRefTruncated = errors.New("truncated")
	errRefMalformed = errors.New("malformed")
)

// refDecode reads the reply at data[pos:], following RESP2 and RESP3 as the
// fast reader documents it, by plain slicing.
func refDecode(data []byte, pos int) (refReply, error) {
	nl := bytes.IndexByte(data[pos:], '\n')
	if nl < 0 {
		return refReply{}, errRefTruncated
	}
	line := data[pos : pos+nl+1]
	next := pos + nl + 1
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return refReply{}, errRefMalformed
	}
	typ, body := line[0], string(line[1:len(line)-2])
	number := func(s string) bool {
		if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
			s = s[1:]
		}
		return s != "" && strings.Trim(s, "0123456789") == ""
	}
	length := func() (int, bool) {
		if body == "-1" {
			return -1, true
		}
		if body == "" || len(body) > 10 || strings.Trim(body, "0123456789") != "" {
			return 0, false
		}
		n, _ := strconv.Atoi(body)
		return n, true
	}
	switch typ {
	case '+':
		return refReply{end: next}, nil
	case '-':
		return refReply{hasErr: true, msg: body, end: next}, nil
	case ':', '(':
		if !number(body) {
			return refReply{}, errRefMalformed
		}
		return refReply{end: next}, nil
	case ',':
		if !refDouble(body) {
			return refReply{}, errRefMalformed
		}
		return refReply{end: next}, nil
	case '#':
		if body != "t" && body != "f" {
			return refReply{}, errRefMalformed
		}
		return refReply{end: next}, nil
	case '_':
		if body != "" {
			return refReply{}, errRefMalformed
		}
		return refReply{isNil: true, end: next}, nil
	case '$', '=', '!':
		n, ok := length()
		if !ok {
			return refReply{}, errRefMalformed
		}
		if n < 0 {
			return refReply{isNil: true, end: next}, nil
		}
		rest := data[next:]
		if typ == '=' {
			if n < 4 {
				return refReply{}, errRefMalformed
			}
			if len(rest) < 4 {
				return refReply{}, errRefTruncated
			}
			if rest[3] != ':' {
				return refReply{}, errRefMalformed
			}
		}
		if len(rest) < n+2 {
			return refReply{}, errRefTruncated
		}
		if rest[n] != '\r' || rest[n+1] != '\n' {
			return refReply{}, errRefMalformed
		}
		r := refReply{end: next + n + 2}
		if typ == '!' {
			r.hasErr, r.msg = true, string(rest[:min(n, maxErrorText)])
		}
		return r, nil
	case '*', '~', '>', '%', '|':
		n, ok := length()
		if !ok || n < 0 && typ == '|' {
			return refReply{}, errRefMalformed
		}
		if n < 0 {
			return refReply{isNil: true, end: next}, nil
		}
		if typ == '%' || typ == '|' {
			n *= 2
		}
		r := refReply{end: next}
		for range n {
			e, err := refDecode(data, r.end)
			if err != nil {
				return refReply{}, err
			}
			r.end = e.end
			if e.hasErr && !r.hasErr && typ != '|' {
				r.hasErr, r.msg = true, e.msg
			}
		}
		if typ == '|' {
			return refDecode(data, r.end)
		}
		return r, nil
	}
	return refReply{}, errRefMalformed
}

// refDouble reads a RESP3 double the long way: a sign, then the mantissa
// and the exponent cut apart.
func refDouble(s string) bool {
	switch s {
	case "inf", "+inf", "-inf", "nan", "-nan":
		return true
	}
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	isDigits := func(x string) bool { return x != "" && strings.Trim(x, "0123456789") == "" }
	mant, exp, hasExp := strings.Cut(strings.ReplaceAll(s, "E", "e"), "e")
	if hasExp {
		if strings.HasPrefix(exp, "-") || strings.HasPrefix(exp, "+") {
			exp = exp[1:]
		}
		if !isDigits(exp) {
			return false
		}
	}
	intPart, frac, hasFrac := strings.Cut(mant, ".")
	return isDigits(intPart) && (!hasFrac || isDigits(frac))
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func FuzzRESPReaderRaw(f *testing.F) {
	for _, s := range []string{
		"+OK\r\n", ":-12\r\n$5\r\nhello\r\n", "*2\r\n$1\r\na\r\n-ERR x\r\n", "$-1\r\n*-1\r\n_\r\n",
		",1.5e-3\r\n,inf\r\n#t\r\n(12345678901234567890\r\n", "=7\r\ntxt:abc\r\n", "!5\r\nERR x\r\n",
		"%1\r\n+k\r\n:1\r\n~1\r\n+m\r\n>2\r\n+p\r\n+q\r\n", "|1\r\n+a\r\n-ERR meta\r\n+OK\r\n",
		"|1\r\n+a\r\n|1\r\n+b\r\n:1\r\n:2\r\n+OK\r\n", "*1\r\n$40\r\n||||||||||||||||||||||||||||||||||||||||\r\n:1\r\n",
		"$3\r\nabcXY", "=3\r\nabc\r\n", "|-1\r\n+OK\r\n", "*-2\r\n", ",1..2\r\n", "#x\r\n", "_a\r\n", "+OK\n",
		"*3\r\n:1\r\n", "!2000000000\r\nERR", "*?\r\n:1\r\n.\r\n", ":--1\r\n", ",+-1\r\n", ",1e\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want []refReply
		var wantErr error
		for pos := 0; pos < len(data); {
			r, err := refDecode(data, pos)
			if err != nil {
				wantErr = err
				break
			}
			want = append(want, r)
			pos = r.end
		}
		for _, rd := range readerKinds {
			cr := &countingReader{r: bytes.NewReader(data)}
			c := &fastConn{br: bufio.NewReaderSize(rd.wrap(cr), rd.size)}
		replies:
			for i := 0; ; i++ {
				if i == len(want) && wantErr == nil {
					if _, err := c.br.Peek(1); err != io.EOF {
						t.Fatalf("%s: %d replies and the stream is not over: %v", rd.name, i, err)
					}
					break
				}
				isNil, rerr, err := c.readReply()
				if i == len(want) {
					// The reference stops here: the fast reader must too,
					// for the same reason.
					switch {
					case err == nil:
						t.Fatalf("%s: reply %d read (nil %v, error %.60q) where the reference finds it %v\ndata %.200q",
							rd.name, i, isNil, errText(rerr), wantErr, data)
					case wantErr == errRefMalformed && !errors.Is(err, errProtocol),
						wantErr == errRefTruncated && !errors.Is(err, io.ErrUnexpectedEOF):
						t.Fatalf("%s: reply %d: %v, where the reference finds it %v\ndata %.200q", rd.name, i, err, wantErr, data)
					}
					break replies
				}
				w := want[i]
				if err != nil {
					t.Fatalf("%s: reply %d: %v, where the reference reads it\ndata %.200q", rd.name, i, err, data)
				}
				if isNil != w.isNil || (rerr != nil) != w.hasErr || w.hasErr && rerr.Error() != w.msg {
					t.Fatalf("%s: reply %d: nil %v, error %.60q; the reference: nil %v, error %.60q\ndata %.200q",
						rd.name, i, isNil, errText(rerr), w.isNil, w.msg, data)
				}
				if at := cr.n - c.br.Buffered(); at != w.end {
					t.Fatalf("%s: reply %d ends at %d, the reference at %d\ndata %.200q", rd.name, i, at, w.end, data)
				}
			}
		}
	})
}
