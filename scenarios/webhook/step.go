package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/tmpl"
)

var (
	stepKeys   = []string{"json", "method", "query", "headers", "timeout"}
	expectKeys = []string{"status"}
)

// maxDrain bounds the response body read to keep a connection reusable;
// beyond it the connection is dropped instead.
const maxDrain = 1 << 20

// param is a query parameter or a header of a step: static text, or a
// template rendered per iteration.
type param struct {
	name  string
	value string
	t     *tmpl.Template // nil when static
}

// statusRange is an accepted range of statuses, inclusive.
type statusRange struct{ lo, hi int }

// step is a prepared webhook call. Its fields are set by Prepare and Bind and
// only read by Do, which is safe for concurrent use.
type step struct {
	name    string
	method  string
	body    jsonNode // nil: no body
	query   []param
	headers []param
	timeout time.Duration // 0: the target's
	expect  []statusRange // nil: any 2xx
	expText string        // "200 or 204", for messages
	// needState tells whether Do must have a template state.
	needState bool

	// Set by Bind.
	t         *Target
	url       string // target URL with the static query
	querySep  byte   // '?' or '&', before the first templated parameter
	dynQuery  []param
	header    http.Header // static headers
	dynHeader []param
	host      string // a Host header, which net/http takes from Request.Host
	addr      string // url, redacted
	timeoutE  time.Duration
}

// prepareStep decodes the value under `webhook:` and the step's `expect:`,
// compiling every template, reporting every problem.
func prepareStep(s driver.StepSpec) (*step, error) {
	st := &step{name: s.Name, method: http.MethodPost}
	var errs []error
	n := deref(s.Node)
	if isNull(n) {
		return nil, driver.Errorf(n, "webhook: the step needs a mapping such as {json: {content: hello}}")
	}
	for _, f := range fields(n, "webhook step", &errs) {
		switch f.key.Value {
		case "json":
			st.body = compileJSON(f.val, s.Templates, &errs)
			if _, static := st.body.(staticJSON); !static {
				st.needState = true
			}
		case "method":
			m, ok := scalarString(f.val, "method", &errs)
			if !ok {
				continue
			}
			if !validHeaderName(m) {
				errs = append(errs, driver.Errorf(f.val, "webhook: %q is not an HTTP method", m))
				continue
			}
			st.method = strings.ToUpper(m)
		case "query":
			st.query = st.params(f.val, "query", s.Templates, &errs)
		case "headers":
			st.headers = st.params(f.val, "headers", s.Templates, &errs)
		case "timeout":
			if d, ok := parseDuration(f.val, "timeout", &errs); ok {
				st.timeout = d
			}
		default:
			errs = append(errs, unknownKey(f.key, "webhook step", stepKeys))
		}
	}
	if s.Expect != nil {
		st.parseExpect(s.Expect, &errs)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return st, nil
}

// params decodes a mapping of names to scalar templates.
func (st *step) params(n *yaml.Node, what string, c *tmpl.Compiler, errs *[]error) []param {
	var out []param
	for _, f := range fields(n, what, errs) {
		v := deref(f.val)
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			*errs = append(*errs, driver.Errorf(v, "webhook: %s %s must be a string, a number or a boolean", what, f.key.Value))
			continue
		}
		if what == "headers" {
			if !validHeaderName(f.key.Value) {
				*errs = append(*errs, driver.Errorf(f.key, "webhook: %q is not a valid header name", f.key.Value))
				continue
			}
			if !validHeaderValue(v.Value) {
				*errs = append(*errs, driver.Errorf(v, "webhook: header %s: the value holds a line break or NUL", f.key.Value))
				continue
			}
		}
		p := param{name: f.key.Value, value: v.Value}
		if tmpl.HasTemplate(v.Value) {
			t, err := compileTemplate(v, c)
			if err != nil {
				*errs = append(*errs, err)
				continue
			}
			p.t = t
			st.needState = true
		}
		out = append(out, p)
	}
	return out
}

// parseExpect decodes `expect: {status: 204}` or `{status: [200, 204]}`;
// a status may also be a class such as "2xx".
func (st *step) parseExpect(n *yaml.Node, errs *[]error) {
	for _, f := range fields(n, "expect", errs) {
		if f.key.Value != "status" {
			*errs = append(*errs, unknownKey(f.key, "expect", expectKeys))
			continue
		}
		v := deref(f.val)
		items := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			items = v.Content
			if len(items) == 0 {
				*errs = append(*errs, driver.Errorf(v, "webhook: expect status: the list is empty"))
			}
		}
		var texts []string
		for _, it := range items {
			it = deref(it)
			r, ok := parseStatus(it)
			if !ok {
				*errs = append(*errs, driver.Errorf(it, "webhook: expect status: %s is not an HTTP status (100 to 599) nor a class such as 2xx", kindName(it)))
				continue
			}
			st.expect = append(st.expect, r)
			texts = append(texts, it.Value)
		}
		switch len(texts) {
		case 0:
		case 1:
			st.expText = texts[0]
		default:
			st.expText = strings.Join(texts[:len(texts)-1], ", ") + " or " + texts[len(texts)-1]
		}
	}
}

func parseStatus(n *yaml.Node) (statusRange, bool) {
	if n.Kind != yaml.ScalarNode {
		return statusRange{}, false
	}
	if n.Tag == "!!int" {
		v, err := strconv.Atoi(n.Value)
		if err != nil || v < 100 || v > 599 {
			return statusRange{}, false
		}
		return statusRange{v, v}, true
	}
	s := strings.ToLower(n.Value)
	if n.Tag == "!!str" && len(s) == 3 && s[0] >= '1' && s[0] <= '5' && s[1:] == "xx" {
		lo := int(s[0]-'0') * 100
		return statusRange{lo, lo + 99}, true
	}
	return statusRange{}, false
}

// ok reports whether the step accepts status code.
func (st *step) ok(code int) bool {
	if st.expect == nil {
		return code >= 200 && code <= 299
	}
	for _, r := range st.expect {
		if code >= r.lo && code <= r.hi {
			return true
		}
	}
	return false
}

// Bind ties the step to its open target: the URL with the step's static query
// and the static headers are assembled once here.
func (st *step) Bind(t driver.Target) error {
	wt, ok := t.(*Target)
	if !ok {
		return fmt.Errorf("webhook: step %q: the target is a %T, not a webhook target", st.name, t)
	}
	u := wt.url
	var static []string
	var dyn []param
	for _, p := range st.query {
		if p.t == nil {
			static = append(static, url.QueryEscape(p.name)+"="+url.QueryEscape(p.value))
		} else {
			dyn = append(dyn, p)
		}
	}
	u, _, _ = strings.Cut(u, "#") // a fragment is never sent
	sep := byte('?')
	if strings.Contains(u, "?") {
		sep = '&'
		if strings.HasSuffix(u, "?") || strings.HasSuffix(u, "&") {
			sep = 0
		}
	}
	if len(static) > 0 {
		if sep != 0 {
			u += string(sep)
		}
		u += strings.Join(static, "&")
		sep = '&'
	}

	h := wt.cfg.headers.Clone()
	var dynH []param
	for _, p := range st.headers {
		if p.t != nil {
			dynH = append(dynH, p)
			continue
		}
		h.Set(p.name, p.value)
	}
	if st.body != nil && h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	if h.Get("User-Agent") == "" {
		h.Set("User-Agent", "runplan")
	}
	st.host = h.Get("Host")
	h.Del("Host")

	st.t, st.url, st.querySep, st.dynQuery, st.header, st.dynHeader = wt, u, sep, dyn, h, dynH
	st.addr = wt.red.scrub(Redact(u))
	st.timeoutE = wt.cfg.timeout
	if st.timeout > 0 {
		st.timeoutE = st.timeout
	}
	return nil
}

// bufPool holds the buffers bodies are rendered into, reused across
// iterations and virtual users.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxPooled keeps an occasional huge body from pinning its buffer.
const maxPooled = 64 << 10

// errBodyClosed is returned by a request body read after its Close.
var errBodyClosed = errors.New("webhook: request body read after close")

// reqBody is a request body over a rendered buffer that goes back to the pool
// when the transport closes it. The transport may close it from another
// goroutine while still writing, hence the lock.
type reqBody struct {
	mu     sync.Mutex
	data   []byte
	off    int
	pool   *[]byte // nil for a shared static body
	closed bool
}

func (r *reqBody) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, errBodyClosed
	}
	if r.off >= len(r.data) {
		return 0, io.EOF
	}
	n := copy(p, r.data[r.off:])
	r.off += n
	return n, nil
}

func (r *reqBody) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	if r.pool != nil && cap(r.data) <= maxPooled {
		*r.pool = r.data[:0]
		bufPool.Put(r.pool)
	}
	r.data, r.pool = nil, nil
	return nil
}

// Do sends one request and reads its response. It is safe for concurrent
// use; it returns when the response is read, the step's timeout expires or
// ctx ends.
func (st *step) Do(ctx context.Context, it *driver.Iteration) driver.Outcome {
	if st.t == nil {
		return driver.Outcome{Err: fmt.Errorf("webhook: step %q: Do before Bind", st.name)}
	}
	var ts *tmpl.State
	if it != nil {
		ts = it.Templates
	}
	if st.needState && ts == nil {
		return st.templateFailure(errors.New("no template state for this iteration"))
	}

	var body io.ReadCloser = http.NoBody
	size := 0
	if st.body != nil {
		if s, ok := st.body.(staticJSON); ok {
			body, size = &reqBody{data: s}, len(s)
		} else {
			pb := bufPool.Get().(*[]byte)
			b, err := st.body.appendJSON((*pb)[:0], ts)
			if err != nil {
				*pb = b[:0]
				bufPool.Put(pb)
				return st.templateFailure(fmt.Errorf("json: %w", err))
			}
			body, size = &reqBody{data: b, pool: pb}, len(b)
		}
	}

	u := st.url
	if len(st.dynQuery) > 0 {
		var sb strings.Builder
		sb.Grow(len(u) + 32*len(st.dynQuery))
		sb.WriteString(u)
		sep := st.querySep
		for _, p := range st.dynQuery {
			v, err := p.t.Render(ts)
			if err != nil {
				body.Close()
				return st.templateFailure(fmt.Errorf("query %s: %w", p.name, err))
			}
			if sep != 0 {
				sb.WriteByte(sep)
			}
			sep = '&'
			sb.WriteString(url.QueryEscape(p.name))
			sb.WriteByte('=')
			sb.WriteString(url.QueryEscape(v))
		}
		u = sb.String()
	}

	tctx, cancel := context.WithTimeout(ctx, st.timeoutE)
	defer cancel()
	req, err := http.NewRequestWithContext(tctx, st.method, u, body)
	if err != nil {
		body.Close()
		return st.failure("", innermost(err), redactErr(err, st.t.red))
	}
	if size > 0 {
		req.ContentLength = int64(size)
	} else if body != http.NoBody {
		body.Close()
		req.Body = http.NoBody
	}
	req.Header = st.header.Clone()
	if st.host != "" {
		req.Host = st.host
	}
	for _, p := range st.dynHeader {
		v, err := p.t.Render(ts)
		if err == nil && !validHeaderValue(v) {
			err = errors.New("the value holds a line break or NUL")
		}
		if err != nil {
			req.Body.Close()
			return st.templateFailure(fmt.Errorf("header %s: %w", p.name, err))
		}
		req.Header.Set(p.name, v)
	}

	resp, err := st.t.client.Do(req)
	if err != nil {
		timedOut := errors.Is(tctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
		class, detail := classify(err, ctx, timedOut, st.timeoutE)
		return st.failure(class, detail, redactErr(err, st.t.red))
	}
	defer resp.Body.Close()

	if !st.ok(resp.StatusCode) {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		return st.statusFailure(resp, snippet)
	}
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain)); err != nil {
		timedOut := errors.Is(tctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
		class, detail := classify(err, ctx, timedOut, st.timeoutE)
		return st.failure(class, "reading the response: "+detail, redactErr(err, st.t.red))
	}
	return driver.Outcome{}
}

func (st *step) failure(class, detail string, err error) driver.Outcome {
	return driver.Outcome{
		Class: class,
		Err: &Error{
			Class:  class,
			Method: st.method,
			URL:    st.addr,
			Detail: st.t.red.scrub(detail),
			Err:    err,
		},
	}
}

func (st *step) templateFailure(err error) driver.Outcome {
	return st.failure(ClassTemplate, "template: "+err.Error(), err)
}

func (st *step) statusFailure(resp *http.Response, snippet []byte) driver.Outcome {
	var (
		d     string
		code  int
		extra []string
	)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// The body of a success (a message object) explains nothing.
		d, code = statusDetail(st.t.cfg.flavor, resp.StatusCode, resp.Header.Get("Content-Type"), snippet)
	}
	if d != "" {
		extra = append(extra, st.t.red.scrub(d))
	}
	if st.expText != "" {
		extra = append(extra, "expected "+st.expText)
	}
	detail := "status " + strconv.Itoa(resp.StatusCode)
	if len(extra) > 0 {
		detail += " (" + strings.Join(extra, "; ") + ")"
	}
	return driver.Outcome{
		Class: ClassStatus,
		Err: &Error{
			Class:  ClassStatus,
			Method: st.method,
			URL:    st.addr,
			Status: resp.StatusCode,
			Code:   code,
			Detail: detail,
			Err:    ErrUnexpectedStatus,
		},
	}
}
