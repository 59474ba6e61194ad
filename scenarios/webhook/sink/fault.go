package sink

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Fault is misbehaviour injected into a sink's answers (the fault timeline's
// hooks): slow, failing, hanging, resetting or garbage answers. Faults
// combine: Delay applies first, then at most one of Hang, Reset, Garbage or
// Status answers (in that order of precedence). A Fault is a plain value.
type Fault struct {
	// Delay holds every affected answer back (a slow service).
	Delay time.Duration
	// Status answers with this status and the flavor's error body (a
	// failing service), instead of the normal answer. On Discord, 404 is
	// the deleted webhook (10015), 401 the bad token (50027) and 429 a rate
	// limit with RetryAfter (default 1s) in its body and headers.
	Status     int
	RetryAfter time.Duration
	// Hang never answers, until the client hangs up or the sink closes.
	Hang bool
	// Reset aborts the connection (TCP RST) without an answer.
	Reset bool
	// Garbage answers bytes that are not HTTP.
	Garbage bool
	// Delivered processes the request normally first (the message is
	// recorded) and misbehaves afterwards, as a service that stored the
	// message and then failed to say so: a retrying client delivers it twice.
	Delivered bool
	// Ratio is the share of requests affected, in (0, 1]; 0 means all.
	// Affected requests are spread evenly (every 1/Ratio-th), not at random,
	// so that runs are reproducible.
	Ratio float64
}

// Check reports what is wrong with f. It is a pure function.
func (f Fault) Check() error {
	var errs []error
	if f.Ratio < 0 || f.Ratio > 1 {
		errs = append(errs, fmt.Errorf("sink: fault ratio %g is not between 0 and 1", f.Ratio))
	}
	if f.Status != 0 && (f.Status < 100 || f.Status > 599) {
		errs = append(errs, fmt.Errorf("sink: fault status %d is not an HTTP status", f.Status))
	}
	if f.Delay < 0 {
		errs = append(errs, errors.New("sink: fault delay is negative"))
	}
	return errors.Join(errs...)
}

// answers reports whether the fault replaces the normal answer.
func (f Fault) answers() bool { return f.Hang || f.Reset || f.Garbage || f.Status != 0 }

type faultState struct {
	f   Fault
	mu  sync.Mutex
	acc float64
}

// SetFault puts f in force for the requests that follow; the zero Fault
// clears it. It panics when f.Check fails. Safe for concurrent use.
func (s *Sink) SetFault(f Fault) {
	if err := f.Check(); err != nil {
		panic(err)
	}
	if f == (Fault{}) {
		s.fault.Store(nil)
		return
	}
	s.fault.Store(&faultState{f: f})
}

// CurrentFault returns the fault in force, if any. Safe for concurrent use.
func (s *Sink) CurrentFault() (Fault, bool) {
	fs := s.fault.Load()
	if fs == nil {
		return Fault{}, false
	}
	return fs.f, true
}

// ClearFault ends any fault in force. Safe for concurrent use.
func (s *Sink) ClearFault() { s.fault.Store(nil) }

// pickFault returns the fault that applies to this request, or nil.
func (s *Sink) pickFault() *Fault {
	fs := s.fault.Load()
	if fs == nil {
		return nil
	}
	if fs.f.Ratio > 0 && fs.f.Ratio < 1 {
		fs.mu.Lock()
		fs.acc += fs.f.Ratio
		hit := fs.acc >= 1
		if hit {
			fs.acc--
		}
		fs.mu.Unlock()
		if !hit {
			return nil
		}
	}
	f := fs.f
	return &f
}

// serveFault answers r under fault f. It returns the name of the fault that
// answered, or "" when the normal answer went out (a delay only).
func (s *Sink) serveFault(w *statusWriter, r *http.Request, f *Fault) string {
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		case <-s.closing:
			t.Stop()
		}
	}
	if !f.answers() {
		s.handler.ServeHTTP(w, r)
		return ""
	}
	if f.Delivered {
		s.handler.ServeHTTP(&discardWriter{h: http.Header{}}, r)
	}
	switch {
	case f.Hang:
		noteOf(r).fault = "hang"
		// Read the request, so that the server notices the client hanging
		// up (it watches the connection once the body is consumed).
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, s.opts.MaxBodyBytes))
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		// Answering now would tell a client still there that all went
		// well: drop the connection instead.
		abort(w, false)
		return "hang"
	case f.Reset:
		noteOf(r).fault = "reset"
		abort(w, true)
		return "reset"
	case f.Garbage:
		noteOf(r).fault = "garbage"
		// Read the request first, as a broken proxy would, so that the
		// client sees the answer rather than a failed write.
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, s.opts.MaxBodyBytes))
		if conn := hijack(w); conn != nil {
			_, _ = conn.Write([]byte("HTTP/1.1 2OO G4RB4GE\r\n\x00\x7f\xfe{not http\r\n\r\n"))
			_ = conn.Close()
			return "garbage"
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("\x00\x7f{not json"))
		return "garbage"
	}
	s.writeFailure(w, r, f)
	return fmt.Sprintf("status_%d", f.Status)
}

// abort drops the connection without an answer; with rst, abortively.
func abort(w http.ResponseWriter, rst bool) {
	conn := hijack(w)
	if conn == nil {
		// HTTP/2 or a recorder: the server resets the stream.
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok && rst {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// writeFailure answers status with the flavor's error body.
func (s *Sink) writeFailure(w http.ResponseWriter, r *http.Request, f *Fault) {
	status := f.Status
	text := http.StatusText(status)
	switch s.opts.Flavor {
	case FlavorDiscord:
		switch status {
		case http.StatusNotFound:
			writeError(w, status, apiError{Message: "Unknown Webhook", Code: CodeUnknownWebhook})
		case http.StatusUnauthorized:
			writeError(w, status, apiError{Message: "Invalid Webhook Token", Code: CodeInvalidWebhookToken})
		case http.StatusTooManyRequests:
			retry := f.RetryAfter
			if retry <= 0 {
				retry = time.Second
			}
			s.rateLimited(w, r, retry, "user")
		default:
			writeError(w, status, apiError{Message: fmt.Sprintf("%d: %s", status, text)})
		}
	case FlavorSlack:
		word := strings.ToLower(strings.ReplaceAll(text, " ", "_"))
		switch status {
		case http.StatusInternalServerError:
			word = "rollup_error"
		case http.StatusTooManyRequests:
			retry := f.RetryAfter
			if retry <= 0 {
				retry = time.Second
			}
			w.Header().Set("Retry-After", wholeSeconds(retry))
			word = "rate_limited"
		}
		writeText(w, status, word)
	default:
		writeText(w, status, text)
	}
}

// hijack takes the connection over, or returns nil when the server cannot
// give it (HTTP/2, recorders).
func hijack(w http.ResponseWriter) net.Conn {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil
	}
	return conn
}

// discardWriter runs a handler for its side effects only.
type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(code int)        { d.status = code }
