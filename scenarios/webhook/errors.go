package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// Error classes reported in driver.Outcome.Class, visible to checks as
// <scenario>.steps.<step>.errors_by.<class>. Status failures have classes
// built from what the service said: see StatusClass.
const (
	// ClassTimeout: the step's timeout expired (dial, TLS, headers or body).
	ClassTimeout = "timeout"
	// ClassRefused: the connection was refused (nothing listening).
	ClassRefused = "refused"
	// ClassReset: the connection was reset, or closed before the response
	// was complete.
	ClassReset = "reset"
	// ClassDNS: the host name did not resolve.
	ClassDNS = "dns"
	// ClassTLS: the TLS handshake or certificate verification failed.
	ClassTLS = "tls"
	// ClassMalformed: the answer is not HTTP, or a success whose body is
	// not what the flavor's service sends (Discord's message object for
	// wait=true, Slack's "ok").
	ClassMalformed = "malformed"
	// ClassRateLimited: a 429 the client did not wait out (rate_limit:
	// ignore, too many in a row) or a wait beyond max_wait.
	ClassRateLimited = "rate_limited"
	// ClassServerError: a 5xx, after the retries.
	ClassServerError = "server_error"
	// ClassUnexpectedStatus: a status outside `expect` that is no error
	// (a 200 when 204 was expected, a redirect).
	ClassUnexpectedStatus = "unexpected_status"
	// ClassRetired: not sent, the webhook having answered 404 or 410 earlier
	// in the run.
	ClassRetired = "retired"
	// ClassInvalidBudget: not sent, the target's invalid-request budget
	// being spent; the outcome stops the scenario.
	ClassInvalidBudget = "invalid_budget"
	// ClassTemplate: a template of the step failed to render.
	ClassTemplate = "template"
	// ClassCanceled: the run's context ended while the call was in flight.
	ClassCanceled = "canceled"
)

// StatusClass names the class of an unexpected status: rate_limited for
// 429, server_error for 5xx, discord_<code> for a 4xx with a Discord JSON
// error code (discord_50035, discord_10015, ...), slack_<error> for a Slack
// 4xx with its error word (slack_invalid_token, ...), http_<status> for other
// 4xx, unexpected_status otherwise. It is a pure function.
func StatusClass(flavor string, status, code int, word string) string {
	switch {
	case status == 429:
		return ClassRateLimited
	case status >= 500:
		return ClassServerError
	case status >= 400 && code != 0:
		return "discord_" + strconv.Itoa(code)
	case status >= 400 && word != "" && flavor == FlavorSlack:
		return "slack_" + word
	case status >= 400:
		return "http_" + strconv.Itoa(status)
	}
	return ClassUnexpectedStatus
}

// retryable tells the classes worth another attempt: the service or the
// network failed, not the request.
func retryable(class string) bool {
	switch class {
	case ClassServerError, ClassReset, ClassRefused, ClassTimeout:
		return true
	}
	return false
}

// ErrUnexpectedStatus is wrapped by the Error of every outcome failed by its
// HTTP status.
var ErrUnexpectedStatus = errors.New("unexpected status")

// maxErrorBody bounds the part of an error response kept for its message.
const maxErrorBody = 4 << 10

// maxDetail bounds the response text quoted in an error message: messages are
// grouped in reports, and a whole HTML error page would drown them.
const maxDetail = 200

// Error is the error of a failed webhook call, as found in driver.Outcome.Err.
// Its text never holds the webhook's token. An Error is immutable and safe for
// concurrent use.
type Error struct {
	// Class is one of the Class constants.
	Class string
	// Method and URL (redacted) of the call.
	Method, URL string
	// Status is the HTTP status of a failure by status, else 0.
	Status int
	// Code is the JSON error code of a Discord error response, else 0.
	Code int
	// Attempts is how many requests the delivery made (retries included).
	Attempts int
	// Detail is the human-readable cause, scrubbed of secrets.
	Detail string
	// Err is the underlying error, its URL redacted: ErrUnexpectedStatus
	// for status failures; it wraps driver.ErrAbortScenario too when the
	// outcome stops the scenario.
	Err error
}

// Error returns "webhook: METHOD URL: detail".
func (e *Error) Error() string {
	return "webhook: " + e.Method + " " + e.URL + ": " + e.Detail
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// redactErr replaces the URL of every *url.Error in err's chain by its
// redacted form. The chain is rebuilt only through *url.Error, the one
// net/http error that quotes the request URL.
func redactErr(err error, r redactor) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	return &url.Error{Op: ue.Op, URL: r.scrub(Redact(ue.URL)), Err: ue.Err}
}

// classify names the kind of transport failure err is and describes it.
// parent is the run's context, timedOut tells whether the step's own deadline
// expired.
func classify(err error, parent context.Context, timedOut bool, timeout time.Duration) (class, detail string) {
	var (
		dnsErr *net.DNSError
		netErr net.Error
	)
	switch {
	case parent.Err() != nil:
		return ClassCanceled, "canceled: " + parent.Err().Error()
	case timedOut || errors.Is(err, context.DeadlineExceeded):
		return ClassTimeout, "timeout after " + timeout.String()
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return ClassDNS, "dns: no such host " + dnsErr.Name
		}
		return ClassDNS, "dns: " + dnsErr.Error()
	case errors.As(err, &netErr) && netErr.Timeout():
		return ClassTimeout, "timeout: " + innermost(err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return ClassRefused, "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED):
		return ClassReset, "connection reset by peer"
	case errors.Is(err, syscall.EPIPE):
		return ClassReset, "broken pipe"
	case errors.Is(err, net.ErrClosed):
		return ClassReset, "connection closed by the service mid-request"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return ClassReset, "connection closed mid-response (unexpected EOF)"
	case errors.Is(err, io.EOF):
		return ClassReset, "connection closed before the response (EOF)"
	case isTLS(err):
		return ClassTLS, "tls: " + strings.TrimPrefix(innermost(err), "tls: ")
	case strings.Contains(innermost(err), "malformed"):
		// net/http's "malformed HTTP status code", "malformed MIME header
		// line", "malformed chunked encoding": the service's answer.
		return ClassMalformed, "malformed answer: " + innermost(err)
	case strings.Contains(err.Error(), "server closed idle connection"),
		strings.Contains(err.Error(), "transport connection broken"):
		return ClassReset, "connection closed by the service: " + innermost(err)
	}
	return "", innermost(err)
}

// isTLS recognises handshake and certificate failures.
func isTLS(err error) bool {
	var (
		rh     tls.RecordHeaderError
		cv     *tls.CertificateVerificationError
		alert  tls.AlertError
		ua     x509.UnknownAuthorityError
		he     x509.HostnameError
		ci     x509.CertificateInvalidError
		echRej *tls.ECHRejectionError
	)
	if errors.As(err, &rh) || errors.As(err, &cv) || errors.As(err, &alert) || errors.As(err, &ua) ||
		errors.As(err, &he) || errors.As(err, &ci) || errors.As(err, &echRej) {
		return true
	}
	msg := innermost(err)
	return strings.HasPrefix(msg, "tls: ") || strings.Contains(msg, "HTTP response to HTTPS client")
}

// innermost is the text of err below its *url.Error, which would repeat the
// method and URL.
func innermost(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err.Error()
	}
	return err.Error()
}

// discordError is the JSON body of a Discord error response.
type discordError struct {
	Message    string          `json:"message"`
	Code       *int            `json:"code"`
	Errors     json.RawMessage `json:"errors"`
	RetryAfter *float64        `json:"retry_after"`
	Global     bool            `json:"global"`
}

// slackWord matches Slack's error words (invalid_token, no_service).
var slackWord = regexp.MustCompile(`^[a-z][a-z0-9_]{1,39}$`)

// statusDetail describes an unexpected response from its (truncated) body,
// the way the flavor's service words its errors. It returns the Discord code
// or the Slack error word when there is one.
func statusDetail(flavor string, status int, contentType string, body []byte) (detail string, code int, word string) {
	body = bytes.TrimSpace(body)
	if flavor == FlavorDiscord {
		var de discordError
		if json.Unmarshal(body, &de) == nil && (de.Code != nil || de.Message != "") {
			var b strings.Builder
			if de.Code != nil && *de.Code != 0 {
				code = *de.Code
				fmt.Fprintf(&b, "Discord code %d: %s", code, de.Message)
			} else {
				b.WriteString("Discord: " + de.Message)
			}
			if de.Global {
				b.WriteString(" (global)")
			}
			if leaves := formErrorLeaves(de.Errors, 3); leaves != "" {
				b.WriteString(": " + leaves)
			}
			return truncate(b.String(), 2*maxDetail), code, ""
		}
	}
	if strings.Contains(strings.ToLower(contentType), "html") || len(body) == 0 {
		return "", 0, ""
	}
	text := string(body)
	if i := strings.IndexAny(text, "\r\n"); i >= 0 {
		text = text[:i]
	}
	if flavor == FlavorSlack {
		if slackWord.MatchString(text) {
			word = text
		}
		return "Slack: " + truncate(text, maxDetail), 0, word
	}
	return truncate(text, maxDetail), 0, ""
}

// formErrorLeaves flattens Discord's nested `errors` tree into
// "path: message" items, sorted, at most max of them.
func formErrorLeaves(raw json.RawMessage, max int) string {
	if len(raw) == 0 {
		return ""
	}
	var tree map[string]any
	if json.Unmarshal(raw, &tree) != nil {
		return ""
	}
	var leaves []string
	var walk func(path string, m map[string]any)
	walk = func(path string, m map[string]any) {
		for k, v := range m {
			if k == "_errors" {
				list, _ := v.([]any)
				for _, e := range list {
					em, _ := e.(map[string]any)
					msg, _ := em["message"].(string)
					p := path
					if p == "" {
						p = "body"
					}
					leaves = append(leaves, p+": "+msg)
				}
				continue
			}
			sub, ok := v.(map[string]any)
			if !ok {
				continue
			}
			p := k
			if path != "" {
				p = path + "." + k
			}
			walk(p, sub)
		}
	}
	walk("", tree)
	sort.Strings(leaves)
	more := len(leaves) - max
	if more > 0 {
		leaves = append(leaves[:max], "and "+strconv.Itoa(more)+" more")
	}
	return strings.Join(leaves, "; ")
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
