package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/runplan/runplan/engine/redact"
)

// How a message is delivered: each attempt within attemptTimeout, all of
// them within sendBudget; up to maxRetries retries after a 5xx or a failed
// connection, backing off from backoff to maxBackoff, and up to max429
// more after 429s, waiting what the service asks (at most maxWait).
const (
	attemptTimeout = 10 * time.Second
	sendBudget     = 30 * time.Second
	maxRetries     = 3
	backoff        = 250 * time.Millisecond
	maxBackoff     = 5 * time.Second
	max429         = 10
	maxWait        = time.Minute
	// maxErrorBody bounds the part of an error answer read for its
	// message, maxDetail the text of it quoted.
	maxErrorBody = 4 << 10
	maxDetail    = 200
)

// attempt is the outcome of one request.
type attempt struct {
	status int
	detail string        // what failed, for the error; empty on success
	wait   time.Duration // before the next attempt, when the service says
	retry  bool          // a 5xx, or a connection refused, reset or timed out
	err    error         // the cause of a failed exchange
}

// post delivers body, JSON, to rawURL: one POST, retried as the package
// comment says. Its error names the URL masked.
func post(ctx context.Context, rawURL, flavor string, body any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(body); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	payload := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	ctx, cancel := context.WithTimeout(ctx, sendBudget)
	defer cancel()
	tr := &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true, TLSHandshakeTimeout: attemptTimeout}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport: tr,
		// A webhook that redirects is misconfigured; following would turn
		// the POST into a GET and hide it.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	var (
		a                       attempt
		attempts, retries, n429 int
	)
	for {
		a = send(ctx, client, rawURL, flavor, payload)
		attempts++
		if a.detail == "" {
			return nil
		}
		var wait time.Duration
		switch {
		case a.status == http.StatusTooManyRequests && n429 < max429:
			n429++
			wait = min(a.wait, maxWait)
		case a.retry && retries < maxRetries:
			retries++
			wait = max(jittered(retries), min(a.wait, maxWait))
		default:
			return failure(rawURL, a, attempts)
		}
		if d, ok := ctx.Deadline(); ok && time.Until(d) < wait {
			return failure(rawURL, a, attempts) // no time left to wait
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return failure(rawURL, a, attempts)
		}
	}
}

// jittered is the pause before retry n (1-based): exponential, capped,
// half of it fixed and half random, so that retries do not line up.
func jittered(n int) time.Duration {
	d := backoff
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func failure(rawURL string, a attempt, attempts int) error {
	detail := a.detail
	if attempts > 1 {
		detail += fmt.Sprintf(" (after %d attempts)", attempts)
	}
	return &detailed{msg: "notify: POST " + redact.MaskURL(rawURL) + ": " + detail, err: a.err}
}

// detailed is a failed delivery: its message is its own, and it wraps the
// cause its message describes, if any (net/http's errors quote the whole
// URL: the message never prints them).
type detailed struct {
	msg string
	err error
}

func (e *detailed) Error() string { return e.msg }
func (e *detailed) Unwrap() error { return e.err }

// send makes one attempt.
func send(ctx context.Context, client *http.Client, rawURL, flavor string, payload []byte) attempt {
	actx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, rawURL, bytes.NewReader(payload))
	if err != nil {
		return attempt{detail: "the request cannot be built", err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "runplan")
	resp, err := client.Do(req)
	if err != nil {
		detail, retry := transportDetail(ctx, err)
		// The cause kept is below net/http's *url.Error, which quotes the
		// whole URL, token included.
		var ue *url.Error
		if errors.As(err, &ue) && ue.Err != nil {
			err = ue.Err
		}
		return attempt{detail: detail, retry: retry, err: err}
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		detail, retry := transportDetail(ctx, err)
		return attempt{status: resp.StatusCode, detail: "reading the answer: " + detail, retry: retry, err: err}
	}
	a := attempt{status: resp.StatusCode}
	switch {
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		a.detail = "status " + strconv.Itoa(resp.StatusCode)
		if d := statusDetail(flavor, resp.Header.Get("Content-Type"), text); d != "" {
			a.detail += " (" + d + ")"
		}
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			a.wait = rateWait(resp.Header, text)
		case resp.StatusCode >= 500:
			a.retry = true
			a.wait, _ = retryAfter(resp.Header)
		}
	case flavor == Slack && resp.StatusCode == http.StatusOK:
		if s := strings.TrimSpace(string(text)); s != "ok" {
			a.detail = "malformed answer: status 200 without Slack's \"ok\": " + clip(s, maxDetail)
		}
	case flavor == Discord && resp.StatusCode == http.StatusOK && waits(rawURL):
		var m struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(text, &m) != nil || m.ID == "" {
			a.detail = "malformed answer: status 200 for wait=true without a Discord message object"
		}
	}
	return a
}

// waits reports whether a Discord URL asks for the message object back.
func waits(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	switch u.Query().Get("wait") {
	case "true", "True", "1":
		return true
	}
	return false
}

// transportDetail describes a failed exchange without the URL net/http
// quotes, and tells whether another attempt may succeed.
func transportDetail(parent context.Context, err error) (string, bool) {
	var (
		dnsErr *net.DNSError
		netErr net.Error
		ue     *url.Error
	)
	switch {
	case parent.Err() != nil:
		return "canceled: " + parent.Err().Error(), false
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout after " + attemptTimeout.String(), true
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "dns: no such host " + dnsErr.Name, false
		}
		return "dns: " + dnsErr.Err, false
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timeout", true
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused", true
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection reset or closed by the service", true
	case errors.As(err, &ue) && ue.Err != nil:
		return ue.Err.Error(), false
	}
	return err.Error(), false
}

// statusDetail is what an error answer says, the way the flavor's service
// words it: Discord's code and message, Slack's error word, the first line
// of anything else but an HTML page.
func statusDetail(flavor, contentType string, body []byte) string {
	body = bytes.TrimSpace(body)
	if flavor == Discord {
		var de struct {
			Message string `json:"message"`
			Code    int    `json:"code"`
			Global  bool   `json:"global"`
		}
		if json.Unmarshal(body, &de) == nil && (de.Code != 0 || de.Message != "") {
			s := "Discord: " + de.Message
			if de.Code != 0 {
				s = fmt.Sprintf("Discord code %d: %s", de.Code, de.Message)
			}
			if de.Global {
				s += " (global)"
			}
			return clip(s, maxDetail)
		}
	}
	if strings.Contains(strings.ToLower(contentType), "html") || len(body) == 0 {
		return ""
	}
	text, _, _ := strings.Cut(strings.ReplaceAll(string(body), "\r", "\n"), "\n")
	if flavor == Slack {
		return "Slack: " + clip(text, maxDetail)
	}
	return clip(text, maxDetail)
}

// rateWait is how long a 429 asks to wait: Discord's retry_after (seconds,
// fractional), Retry-After, X-RateLimit-Reset-After, else a second.
func rateWait(h http.Header, body []byte) time.Duration {
	var b struct {
		RetryAfter *float64 `json:"retry_after"`
	}
	if json.Unmarshal(body, &b) == nil && b.RetryAfter != nil {
		if d, ok := seconds(strconv.FormatFloat(*b.RetryAfter, 'f', -1, 64)); ok {
			return d
		}
	}
	if d, ok := retryAfter(h); ok {
		return d
	}
	if d, ok := seconds(h.Get("X-RateLimit-Reset-After")); ok {
		return d
	}
	return time.Second
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(h http.Header) (time.Duration, bool) {
	v := h.Get("Retry-After")
	if d, ok := seconds(v); ok {
		return d, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// seconds reads a non-negative, possibly fractional, number of seconds.
func seconds(s string) (time.Duration, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if s == "" || err != nil || f < 0 || math.IsNaN(f) || f > 1e6 {
		return 0, false
	}
	return time.Duration(math.Ceil(f * float64(time.Second))), true
}
