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
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// Error classes reported in driver.Outcome.Class.
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
	// ClassStatus: the service answered with a status the step does not expect.
	ClassStatus = "status"
	// ClassTemplate: a template of the step failed to render.
	ClassTemplate = "template"
	// ClassCanceled: the run's context ended while the call was in flight.
	ClassCanceled = "canceled"
)

// ErrUnexpectedStatus is wrapped by the Error of every ClassStatus outcome.
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
	// Status is the HTTP status for ClassStatus, else 0.
	Status int
	// Code is the JSON error code of a Discord error response, else 0.
	Code int
	// Detail is the human-readable cause, scrubbed of secrets.
	Detail string
	// Err is the underlying error, its URL redacted; ErrUnexpectedStatus for
	// ClassStatus.
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
	case errors.Is(err, io.ErrUnexpectedEOF):
		return ClassReset, "connection closed mid-response (unexpected EOF)"
	case errors.Is(err, io.EOF):
		return ClassReset, "connection closed before the response (EOF)"
	case isTLS(err):
		return ClassTLS, "tls: " + strings.TrimPrefix(innermost(err), "tls: ")
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

// statusDetail describes an unexpected response from its (truncated) body,
// the way the flavor's service words its errors. It returns the Discord code
// when there is one.
func statusDetail(flavor string, status int, contentType string, body []byte) (detail string, code int) {
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
			return truncate(b.String(), 2*maxDetail), code
		}
	}
	if strings.Contains(strings.ToLower(contentType), "html") || len(body) == 0 {
		return "", 0
	}
	text := string(body)
	if i := strings.IndexAny(text, "\r\n"); i >= 0 {
		text = text[:i]
	}
	if flavor == FlavorSlack {
		return "Slack: " + truncate(text, maxDetail), 0
	}
	return truncate(text, maxDetail), 0
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
