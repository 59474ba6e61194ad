package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/decode"
	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/tmpl"
	"github.com/runplan/runplan/scenarios/webhook/sink"
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
	body    jsonNode // nil: no body; json or a raw body
	query   []param
	headers []param
	timeout time.Duration // 0: the target's
	expect  []statusRange // nil: any 2xx
	expText string        // "200 or 204", for messages
	// needState tells whether Do must have a template state.
	needState bool
	// reply: the step has captures, so Do returns the reply
	// (Outcome.Reply, replyOf), reading the whole answer (up to maxDrain).
	reply bool

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
	wait      bool   // Discord's wait=true: a 200 carries a message object
	static    []byte // the body when it has no template
	// For the fast client.
	target      string // request-target: path and static query
	op          string // "Post", as net/http names the operation in errors
	fastHead    []byte // " HTTP/1.1\r\nHost: ...\r\n" and the static headers
	needsLength bool   // a body-less POST, PUT or PATCH still says Content-Length: 0
}

// stepOptions are a step's options as written (the value under `webhook:`).
type stepOptions struct {
	JSON    *yaml.Node    `yaml:"json"`
	Body    *yaml.Node    `yaml:"body"`
	Method  methodOption  `yaml:"method"`
	Query   paramList     `yaml:"query"`
	Headers paramList     `yaml:"headers"`
	Timeout time.Duration `yaml:"timeout" decode:"positive"`
}

// stepMessages words the decoder's problems in a step as the driver always
// has: the step itself is "webhook step", its options are named by their
// keys (messages).
func stepMessages() func(p decode.Problem) string {
	step, option := messages("webhook step"), messages()
	return func(p decode.Problem) string {
		if len(p.Path) == 0 {
			return step(p)
		}
		return option(p)
	}
}

// prepareStep decodes the value under `webhook:` and the step's `expect:`,
// compiling every template, reporting every problem.
func prepareStep(s driver.StepSpec) (*step, error) {
	st := &step{name: s.Name, method: http.MethodPost, reply: s.WantReply}
	var errs []error
	n := deref(s.Node)
	if isNull(n) {
		return nil, diag.Errorf(n, "webhook: the step needs a mapping such as {json: {content: hello}}")
	}
	var o stepOptions
	f, err := decode.Decode(n, &o, decode.Options{Prefix: "webhook: ", Message: stepMessages()})
	if err != nil {
		errs = append(errs, err)
	}
	body, raw := o.JSON, false
	if jk, bk := f.Key("json"), f.Key("body"); bk != nil {
		switch {
		case jk == nil:
			body, raw = o.Body, true
		case before(bk, jk):
			errs = append(errs, diag.Errorf(jk, "webhook: give json or body, not both"))
			body, raw = o.Body, true
		default:
			errs = append(errs, diag.Errorf(bk, "webhook: give json or body, not both"))
		}
	}
	if body != nil {
		if raw {
			st.body = compileRaw(body, s.Templates, &errs)
		} else {
			st.body = compileJSON(body, s.Templates, &errs)
		}
		if _, static := st.body.(staticJSON); !static {
			st.needState = true
		}
	}
	if o.Method != "" {
		st.method = string(o.Method)
	}
	st.query = st.params(o.Query, "query", s.Templates, &errs)
	st.headers = st.params(o.Headers, "headers", s.Templates, &errs)
	st.timeout = o.Timeout
	if s.Expect != nil {
		st.parseExpect(s.Expect, &errs)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return st, nil
}

// methodOption is an HTTP method, upper-cased.
type methodOption string

// UnmarshalNode decodes the method, which must be a token.
func (m *methodOption) UnmarshalNode(c *decode.Context, n *yaml.Node) error {
	var s string
	if err := c.Decode(n, &s); err != nil {
		return err
	}
	if !validHeaderName(s) {
		return c.Errorf(n, "%q is not an HTTP method", s)
	}
	*m = methodOption(strings.ToUpper(s))
	return nil
}

// before reports whether node a stands before node b in the document.
func before(a, b *yaml.Node) bool {
	return a.Line < b.Line || a.Line == b.Line && a.Column < b.Column
}

// compileRaw compiles `body:`, a string sent as it is (after its templates
// render), for payloads JSON cannot express: invalid JSON, other formats.
func compileRaw(n *yaml.Node, c *tmpl.Compiler, errs *[]error) jsonNode {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		*errs = append(*errs, diag.Errorf(n, "webhook: body must be a string (use json for structured bodies)"))
		return nil
	}
	if !tmpl.HasTemplate(n.Value) {
		return staticJSON(n.Value)
	}
	t, err := compileTemplate(n, c)
	if err != nil {
		*errs = append(*errs, err)
		return nil
	}
	return rawJSON{t}
}

// rawJSON renders a raw body template as text.
type rawJSON struct{ t *tmpl.Template }

func (r rawJSON) appendJSON(b []byte, st *tmpl.State) ([]byte, error) {
	start := len(b)
	b, err := r.t.AppendTo(b, st)
	if err != nil {
		return b[:start], fmt.Errorf("%q: %w", r.t.Source(), err)
	}
	return b, nil
}

// paramList is query or headers: names to scalars, in the order written.
type paramList []paramEntry

// paramEntry is one name and its value as written.
type paramEntry struct{ key, val *yaml.Node }

// paramValue is the value of one parameter: a scalar, not null.
type paramValue struct{ n *yaml.Node }

// UnmarshalNode decodes the mapping; its values must be scalars.
func (l *paramList) UnmarshalNode(c *decode.Context, n *yaml.Node) error {
	var m map[string]paramValue
	err := c.Decode(n, &m)
	for name, v := range m {
		if v.n != nil {
			*l = append(*l, paramEntry{key: c.Field(name).Key, val: v.n})
		}
	}
	slices.SortFunc(*l, func(a, b paramEntry) int {
		if before(a.key, b.key) {
			return -1
		}
		return 1
	})
	return err
}

// UnmarshalNode keeps a scalar value; "query a", "headers X-Id" name it in
// messages.
func (p *paramValue) UnmarshalNode(c *decode.Context, n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return c.Errorf(n, "%s must be a string, a number or a boolean", webhookName(c.Path()))
	}
	p.n = n
	return nil
}

// params checks the headers' names and values and compiles the templates.
func (st *step) params(l paramList, what string, c *tmpl.Compiler, errs *[]error) []param {
	var out []param
	for _, e := range l {
		k, v := e.key, e.val
		if what == "headers" {
			if !validHeaderName(k.Value) {
				*errs = append(*errs, diag.Errorf(k, "webhook: %q is not a valid header name", k.Value))
				continue
			}
			if !validHeaderValue(v.Value) {
				*errs = append(*errs, diag.Errorf(v, "webhook: header %s: the value holds a line break or NUL", k.Value))
				continue
			}
		}
		p := param{name: k.Value, value: v.Value}
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

// expectOptions are a step's `expect:`.
type expectOptions struct {
	Status statusList `yaml:"status"`
}

// statusList is expect.status: one status or class, or a list of them.
type statusList struct {
	ranges []statusRange
	text   string // "200 or 204"
}

// UnmarshalNode decodes a status, a class such as "2xx", or a list of them.
func (l *statusList) UnmarshalNode(c *decode.Context, n *yaml.Node) error {
	items := []*yaml.Node{n}
	var errs []error
	if n.Kind == yaml.SequenceNode {
		items = n.Content
		if len(items) == 0 {
			errs = append(errs, c.Errorf(n, "expect status: the list is empty"))
		}
	}
	var texts []string
	for _, it := range items {
		it = deref(it)
		r, ok := parseStatus(it)
		if !ok {
			if code, err := strconv.Atoi(it.Value); err == nil && it.Kind == yaml.ScalarNode && it.Tag == "!!str" && code >= 100 && code <= 599 {
				// YAML reads status: "200" as a string.
				errs = append(errs, c.Errorf(it, "expect status: %q in quotes is a string, not a status code: write %d without quotes", it.Value, code))
				continue
			}
			errs = append(errs, c.Errorf(it, "expect status: %s is not an HTTP status (100 to 599) nor a class such as 2xx", kindName(it)))
			continue
		}
		l.ranges = append(l.ranges, r)
		texts = append(texts, it.Value)
	}
	switch len(texts) {
	case 0:
	case 1:
		l.text = texts[0]
	default:
		l.text = strings.Join(texts[:len(texts)-1], ", ") + " or " + texts[len(texts)-1]
	}
	return errors.Join(errs...)
}

// parseExpect decodes `expect: {status: 204}` or `{status: [200, 204]}`;
// a status may also be a class such as "2xx".
func (st *step) parseExpect(n *yaml.Node, errs *[]error) {
	var o expectOptions
	if _, err := decode.Decode(n, &o, decode.Options{Prefix: "webhook: ", Message: messages("expect")}); err != nil {
		*errs = append(*errs, err)
	}
	st.expect = append(st.expect, o.Status.ranges...)
	if o.Status.text != "" {
		st.expText = o.Status.text
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
	pu, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("webhook: step %q: the URL %s does not parse", st.name, st.addr)
	}
	switch pu.Query().Get("wait") {
	case "true", "True", "1":
		st.wait = true
	}
	if s, ok := st.body.(staticJSON); ok {
		st.static = s
	}
	st.target = pu.RequestURI()
	if strings.HasSuffix(u, "?") && !strings.HasSuffix(st.target, "?") {
		st.target += "?"
	}
	st.op = st.method[:1] + strings.ToLower(st.method[1:])
	host := st.host
	if host == "" {
		host = pu.Host
	}
	head := []byte(" HTTP/1.1\r\nHost: " + host + "\r\n")
	for k, vs := range h {
		for _, v := range vs {
			head = append(head, k+": "+v+"\r\n"...)
		}
	}
	st.fastHead = head
	switch st.method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		st.needsLength = true
	}
	return nil
}

// bufPool holds the scratch buffers bodies are rendered into, reused
// across iterations and virtual users.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxPooled keeps an occasional huge body from pinning its buffer.
const maxPooled = 64 << 10

// hdr is one header of a request, its name canonical.
type hdr struct{ k, v string }

// request is one delivery, rendered: the same for every attempt. Its body
// is immutable, so that a transport still writing an earlier attempt never
// sees it change.
type request struct {
	url    string // absolute, for net/http and messages
	target string // path and query, for the fast client
	extra  []hdr  // the delivery's own headers: templated, trace
	body   []byte // nil: none
	pooled *[]byte
}

// release gives the body's buffer back, once the delivery is over.
func (req *request) release() {
	if req.pooled != nil {
		if cap(req.body) <= maxPooled {
			*req.pooled = req.body[:0]
			bufPool.Put(req.pooled)
		}
		req.pooled = nil
	}
}

// render prepares one delivery into req: its body, URL and templated
// headers. The fast client writes the body before it returns, so it sends
// from a pooled buffer (released at the end of the delivery); net/http may
// still read a body after the response, so it gets a copy of its own.
func (st *step) render(ts *tmpl.State, req *request) error {
	req.url, req.target = st.url, st.target
	switch {
	case st.static != nil:
		req.body = st.static
	case st.body != nil:
		pb := bufPool.Get().(*[]byte)
		b, err := st.body.appendJSON((*pb)[:0], ts)
		if err != nil {
			*pb = b[:0]
			bufPool.Put(pb)
			return fmt.Errorf("%s: %w", st.bodyKind(), err)
		}
		if st.t.fast != nil {
			req.body, req.pooled = b, pb
		} else {
			req.body = append(make([]byte, 0, len(b)), b...)
			*pb = b[:0]
			bufPool.Put(pb)
		}
	}
	if len(st.dynQuery) > 0 {
		var sb strings.Builder
		sep := st.querySep
		for _, p := range st.dynQuery {
			v, err := p.t.Render(ts)
			if err != nil {
				return fmt.Errorf("query %s: %w", p.name, err)
			}
			if sep != 0 {
				sb.WriteByte(sep)
			}
			sep = '&'
			sb.WriteString(url.QueryEscape(p.name))
			sb.WriteByte('=')
			sb.WriteString(url.QueryEscape(v))
		}
		q := sb.String()
		req.url += q
		req.target += q
	}
	for _, p := range st.dynHeader {
		v, err := p.t.Render(ts)
		if err == nil && !validHeaderValue(v) {
			err = errors.New("the value holds a line break or NUL")
		}
		if err != nil {
			return fmt.Errorf("header %s: %w", p.name, err)
		}
		req.extra = append(req.extra, hdr{http.CanonicalHeaderKey(p.name), v})
	}
	return nil
}

func (st *step) bodyKind() string {
	if _, ok := st.body.(rawJSON); ok {
		return "body"
	}
	return "json"
}

// Do delivers one message: it waits for the rate limiter (respect mode),
// sends, and retries with backoff on 5xx and connection failures and after
// 429s, within ctx. It is safe for concurrent use. The outcome's
// rate_limit_wait (stepMetrics) is the time spent waiting on rate limits;
// its Class names the last failure.
func (st *step) Do(ctx context.Context, it *driver.Iteration) driver.Outcome {
	t := st.t
	if t == nil {
		return driver.Outcome{Err: fmt.Errorf("webhook: step %q: Do before Bind", st.name)}
	}
	if t.retired.Load() {
		t.n.retiredCalls.Add(1)
		return st.refusal(ClassRetired, "not sent: the webhook answered 404 or 410 earlier in the run and is retired", nil)
	}
	if t.budget.spent.Load() {
		t.n.budgetRefused.Add(1)
		return st.refusal(ClassInvalidBudget, fmt.Sprintf("not sent: the invalid-request budget (%d per %s) is spent; the scenario stops before the service bans this address", t.cfg.budget, t.cfg.budgetPer), driver.ErrAbortScenario)
	}
	var ts *tmpl.State
	if it != nil {
		ts = it.Templates
	}
	if st.needState && ts == nil {
		return st.templateFailure(errors.New("no template state for this iteration"))
	}
	var inline [4]hdr // room for the extra headers, without an allocation
	req := request{extra: inline[:0]}
	if err := st.render(ts, &req); err != nil {
		req.release()
		return st.templateFailure(err)
	}
	defer req.release()

	seq := t.seq.Add(1)
	if t.cfg.trace {
		req.extra = append(req.extra,
			hdr{sink.HeaderMessage, t.stream + "/" + strconv.FormatUint(seq, 10)},
			hdr{sink.HeaderSent, strconv.FormatInt(time.Now().UnixNano(), 10)})
	}
	var (
		waited                     time.Duration
		attempts, retries, limited int
	)
	for {
		release, w, err := t.lim.acquire(ctx, t)
		waited += w
		if err != nil {
			var tl errWaitTooLong
			if errors.As(err, &tl) {
				return st.outcome(result{class: ClassRateLimited, detail: tl.Error(), err: tl}, attempts, waited, false)
			}
			return st.outcome(result{class: ClassCanceled, detail: "canceled: " + err.Error(), err: err}, attempts, waited, false)
		}
		res := st.attempt(ctx, &req, st.sign(&req, seq))
		t.lim.observe(res.header, res.status)
		if res.status == http.StatusTooManyRequests && t.lim.respect {
			// The pause goes in place before the bucket's queue passes to
			// the next request, or that one would be sent into the same
			// refusal.
			t.lim.on429(res.rate, time.Now())
		}
		release()
		attempts++
		t.n.requests.Add(1)
		if res.class == "" && res.err == nil {
			return driver.Outcome{Counters: waitedCounters(waited), Reply: res.reply}
		}
		now := time.Now()
		switch res.status {
		case http.StatusTooManyRequests:
			t.n.responses429.Add(1)
			if !res.rate.shared && t.invalid(now) {
				return st.outcome(res, attempts, waited, true)
			}
			if t.lim.respect && limited < max429Retries && ctx.Err() == nil {
				limited++
				continue
			}
		case http.StatusUnauthorized, http.StatusForbidden:
			if t.invalid(now) {
				return st.outcome(res, attempts, waited, true)
			}
		case http.StatusNotFound, http.StatusGone:
			t.retired.Store(true)
		}
		if retryable(res.class) && retries < t.cfg.retries && ctx.Err() == nil {
			retries++
			t.n.retries.Add(1)
			d := st.backoff(retries, it)
			if res.retryAfter > d {
				d = min(res.retryAfter, t.cfg.maxWait)
			}
			if sleep(ctx, d) == nil {
				continue
			}
		}
		return st.outcome(res, attempts, waited, false)
	}
}

// invalid counts an invalid request (401, 403, 429) at now and reports
// whether the budget is spent.
func (t *Target) invalid(now time.Time) bool {
	t.n.invalid.Add(1)
	return t.budget.add(now)
}

// backoff is the pause before retry n (1-based): exponential from the
// target's backoff, capped, with "equal jitter" (half fixed, half random)
// so that virtual users that failed together do not retry together.
func (st *step) backoff(n int, it *driver.Iteration) time.Duration {
	cfg := st.t.cfg
	d := cfg.backoff
	for i := 1; i < n && d < cfg.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, cfg.maxBackoff)
	half := d / 2
	var j int64
	if it != nil && it.Rand != nil {
		j = it.Rand.Int64N(int64(half) + 1)
	} else {
		j = rand.Int64N(int64(half) + 1)
	}
	return half + time.Duration(j)
}

// sign returns the headers of one attempt: the delivery's, and the
// signature of a generic target's signing scheme.
func (st *step) sign(req *request, seq uint64) []hdr {
	cfg := st.t.cfg
	switch cfg.signing {
	case SigningGitHub:
		return append(req.extra[:len(req.extra):len(req.extra)], hdr{"X-Hub-Signature-256", sink.SignGitHub(cfg.secret, req.body)})
	case SigningStandard:
		// The id stays the same on retries (receivers deduplicate on it);
		// the timestamp and signature are fresh.
		id := st.t.msgPrefix + strconv.FormatUint(seq, 10)
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		return append(req.extra[:len(req.extra):len(req.extra)],
			hdr{"Webhook-Id", id}, hdr{"Webhook-Timestamp", ts}, hdr{"Webhook-Signature", sink.SignStandard(cfg.key, id, ts, req.body)})
	}
	return req.extra
}

// result is the outcome of one attempt.
type result struct {
	status     int
	header     http.Header
	class      string
	detail     string
	code       int
	err        error
	rate       rateAnswer    // for 429s
	retryAfter time.Duration // Retry-After of a 5xx
	reply      any           // of a success, for a step with captures (replyOf)
}

// send makes one exchange, through the fast client when the target has one,
// else net/http. The answer's body must be closed.
func (st *step) send(ctx context.Context, req *request, extra []hdr) (*http.Response, func(), error) {
	if st.t.fast != nil {
		resp, err := st.t.fast.roundTrip(ctx, st, req, extra)
		return resp, noRelease, err
	}
	tctx, cancel := context.WithTimeout(ctx, st.timeoutE)
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(tctx, st.method, req.url, body)
	if err != nil {
		cancel()
		return nil, noRelease, err
	}
	hr.Header = make(http.Header, len(st.header)+len(extra))
	for k, v := range st.header {
		hr.Header[k] = v
	}
	for _, h := range extra {
		hr.Header[h.k] = []string{h.v}
	}
	if st.host != "" {
		hr.Host = st.host
	}
	resp, err := st.t.client.Do(hr)
	if err != nil {
		cancel()
		return nil, noRelease, err
	}
	return resp, cancel, nil
}

// attempt sends one request and reads its answer.
func (st *step) attempt(ctx context.Context, req *request, extra []hdr) result {
	t := st.t
	resp, cancel, err := st.send(ctx, req, extra)
	defer cancel()
	timedOut := func(err error) bool {
		return ctx.Err() == nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded))
	}
	if err != nil {
		class, detail := classify(err, ctx, timedOut(err), st.timeoutE)
		return result{class: class, detail: detail, err: redactErr(err, t.red)}
	}
	defer resp.Body.Close()
	res := result{status: resp.StatusCode, header: resp.Header}
	fail := func(err error) result {
		class, detail := classify(err, ctx, timedOut(err), st.timeoutE)
		res.class, res.detail, res.err = class, "reading the response: "+detail, redactErr(err, t.red)
		return res
	}

	if !st.ok(resp.StatusCode) {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		st.statusFailure(&res, resp, snippet)
		return res
	}
	var b []byte
	if st.reply {
		var err error
		if b, err = io.ReadAll(io.LimitReader(resp.Body, maxDrain)); err != nil {
			return fail(err)
		}
	}
	switch {
	case t.cfg.flavor == FlavorDiscord && resp.StatusCode == http.StatusOK && st.wait:
		if !st.reply {
			var err error
			if b, err = io.ReadAll(io.LimitReader(resp.Body, maxDrain)); err != nil {
				return fail(err)
			}
		}
		var m struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(b, &m) != nil || m.ID == "" {
			res.class, res.detail = ClassMalformed, "malformed answer: status 200 for wait=true without a Discord message object"
			res.err = ErrUnexpectedStatus
		}
	case t.cfg.flavor == FlavorSlack && resp.StatusCode == http.StatusOK:
		if !st.reply {
			var err error
			if b, err = io.ReadAll(io.LimitReader(resp.Body, maxErrorBody)); err != nil {
				return fail(err)
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		}
		if text := strings.TrimSpace(string(b)); text != "ok" {
			res.class, res.detail = ClassMalformed, "malformed answer: status 200 without Slack's \"ok\": "+t.red.scrub(truncate(text, maxDetail))
			res.err = ErrUnexpectedStatus
		}
	case !st.reply && resp.ContentLength != 0:
		if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain)); err != nil {
			return fail(err)
		}
	}
	if st.reply && res.class == "" && res.err == nil {
		res.reply = replyOf(resp, b)
	}
	return res
}

// replyOf is the reply of a delivery, for captures: {status, headers,
// body, json}. headers maps each header's canonical name to its first
// value; body is the answer's body, up to its first MiB (maxDrain); json
// is the body parsed as JSON (numbers as int64 when integral, else
// float64), nil when it is not JSON or was cut.
func replyOf(resp *http.Response, body []byte) map[string]any {
	h := make(map[string]any, len(resp.Header))
	for k, vs := range resp.Header {
		if len(vs) > 0 {
			h[k] = vs[0]
		}
	}
	return map[string]any{"status": resp.StatusCode, "headers": h, "body": string(body), "json": parseJSON(body)}
}

// parseJSON parses b as one JSON value, nil when it is not one.
func parseJSON(b []byte) any {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil || d.More() {
		return nil
	}
	if _, err := d.Token(); err != io.EOF {
		return nil
	}
	return numbers(v)
}

// numbers turns the json.Numbers of a decoded value into int64 when
// integral (message ids keep every digit), else float64.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	}
	return v
}

// statusFailure fills res for a status the step does not expect.
func (st *step) statusFailure(res *result, resp *http.Response, snippet []byte) {
	var (
		d, word string
		code    int
		extra   []string
	)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// The body of a success (a message object) explains nothing.
		d, code, word = statusDetail(st.t.cfg.flavor, resp.StatusCode, resp.Header.Get("Content-Type"), snippet)
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
	res.class = StatusClass(st.t.cfg.flavor, resp.StatusCode, code, word)
	res.detail, res.code, res.err = detail, code, ErrUnexpectedStatus
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		res.rate = readRateAnswer(resp.Header, snippet)
	case resp.StatusCode >= 500:
		res.retryAfter, _ = retryAfter(resp.Header)
	}
}

// outcome turns the last attempt's result into the delivery's outcome; with
// abort, the outcome stops the scenario.
func (st *step) outcome(res result, attempts int, waited time.Duration, abort bool) driver.Outcome {
	detail := res.detail
	if attempts > 1 {
		detail += fmt.Sprintf(" (after %d attempts)", attempts)
	}
	err := res.err
	if abort {
		detail += fmt.Sprintf("; the invalid-request budget (%d per %s) is spent: the scenario stops before the service bans this address", st.t.cfg.budget, st.t.cfg.budgetPer)
		err = fmt.Errorf("%w; %w", err, driver.ErrAbortScenario)
	}
	return driver.Outcome{
		Class:    res.class,
		Counters: waitedCounters(waited),
		Err: &Error{
			Class:    res.class,
			Method:   st.method,
			URL:      st.addr,
			Status:   res.status,
			Code:     res.code,
			Attempts: attempts,
			Detail:   st.t.red.scrub(detail),
			Err:      err,
		},
	}
}

// refusal is the outcome of a delivery the target refuses to send.
func (st *step) refusal(class, detail string, err error) driver.Outcome {
	if err == nil {
		err = errors.New(detail)
	}
	return driver.Outcome{Class: class, Err: &Error{Class: class, Method: st.method, URL: st.addr, Detail: detail, Err: err}}
}

func (st *step) templateFailure(err error) driver.Outcome {
	return driver.Outcome{Class: ClassTemplate, Err: &Error{
		Class: ClassTemplate, Method: st.method, URL: st.addr,
		Detail: st.scrub("template: " + err.Error()), Err: err,
	}}
}

func (st *step) scrub(s string) string {
	if st.t == nil {
		return s
	}
	return st.t.red.scrub(s)
}
