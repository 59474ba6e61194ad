package redis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"syscall"
	"unicode/utf8"

	goredis "github.com/redis/go-redis/v9"
	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/decode"
	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/tmpl"
)

// valueNode skips document and alias wrappers; it returns nil for a nil node.
func valueNode(n *yaml.Node) *yaml.Node { return decode.Value(n) }

// isNull reports whether n is an explicit or implicit YAML null.
func isNull(n *yaml.Node) bool { return decode.IsNull(n) }

// describe names the shape of a node for error messages.
func describe(n *yaml.Node) string { return decode.Describe(n) }

// joinErrors returns nil, the only error, or all of them joined.
func joinErrors(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}

// inOrder joins errs, and the errors joined in them, in the order of their
// positions in the plan (unplaced ones last), as a walk of the document
// reports them; nil errors are dropped.
func inOrder(errs ...error) error {
	var flat []error
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		if err != nil {
			flat = append(flat, err)
		}
	}
	for _, err := range errs {
		walk(err)
	}
	pos := func(err error) (int, int) {
		if pe, ok := errors.AsType[*diag.Error](err); ok && pe.Line > 0 {
			return pe.Line, pe.Col
		}
		return math.MaxInt, 0
	}
	slices.SortStableFunc(flat, func(a, b error) int {
		al, ac := pos(a)
		bl, bc := pos(b)
		return cmp.Or(cmp.Compare(al, bl), cmp.Compare(ac, bc))
	})
	return joinErrors(flat)
}

// compileAt compiles the template in scalar n, locating a compile error at
// the offending character when the scalar is on one line and has no escapes.
func compileAt(c *tmpl.Compiler, n *yaml.Node, what string) (*tmpl.Template, error) {
	t, err := c.Compile(n.Value)
	if err == nil {
		return t, nil
	}
	line, col := n.Line, n.Column
	var te *tmpl.Error
	if errors.As(err, &te) && te.Offset >= 0 && te.Offset <= len(n.Value) && !strings.ContainsAny(n.Value, "\n\\'") {
		switch n.Style {
		case 0, yaml.FlowStyle:
			col += utf8.RuneCountInString(n.Value[:te.Offset])
		case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
			col += 1 + utf8.RuneCountInString(n.Value[:te.Offset])
		}
	}
	return nil, diag.ErrorAt(diag.Pos{File: diag.FileOf(n), Line: line, Col: col}, fmt.Errorf("redis: %s: template %q: %w", what, n.Value, err))
}

// classify names the kind of failure of a call.
func classify(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.Is(err, goredis.ErrPoolTimeout) {
		return ClassTimeout
	}
	if errors.Is(err, context.Canceled) {
		return ClassCanceled
	}
	var re goredis.Error
	if errors.As(err, &re) {
		return ClassRedis
	}
	if errors.Is(err, errProtocol) {
		return ClassProtocol
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return ClassRefused
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ClassTimeout
	}
	if ne != nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, goredis.ErrClosed) || errors.Is(err, goredis.ErrPoolExhausted) {
		return ClassConnection
	}
	return ""
}

// redactURL replaces the password of a redis URL with ****. It works on
// strings that do not parse as URLs too, since it is used in error messages
// about such strings.
func redactURL(raw string) string {
	rest, scheme := raw, ""
	if i := strings.Index(raw, "://"); i >= 0 {
		scheme, rest = raw[:i+3], raw[i+3:]
	}
	query := ""
	if q := strings.IndexAny(rest, "?#"); q >= 0 {
		rest, query = rest[:q], rest[q:]
	}
	// The last '@' ends the user information: a sloppy URL may carry an
	// unescaped '@' or '/' in its password, and must still be masked.
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		userinfo, host := rest[:at], rest[at:]
		if c := strings.IndexByte(userinfo, ':'); c >= 0 {
			userinfo = userinfo[:c] + ":****"
		}
		rest = userinfo + host
	}
	return scheme + rest + redactQuery(query)
}

// redactQuery masks the values of query parameters that may hold secrets in
// q, a URL's "?query#fragment" tail (possibly empty).
func redactQuery(q string) string {
	if !strings.HasPrefix(q, "?") {
		return q
	}
	params := strings.Split(q[1:], "&")
	for i, p := range params {
		k, _, ok := strings.Cut(p, "=")
		lk := strings.ToLower(k)
		if ok && (strings.Contains(lk, "pass") || strings.Contains(lk, "secret") || strings.Contains(lk, "token")) {
			params[i] = k + "=****"
		}
	}
	return "?" + strings.Join(params, "&")
}

// secrets returns the password of raw, in its raw and decoded forms, for
// scrubbing messages that might quote it.
func secrets(raw string) []string {
	var out []string
	rest := raw
	if i := strings.Index(raw, "://"); i >= 0 {
		rest = raw[i+3:]
	}
	if q := strings.IndexAny(rest, "?#"); q >= 0 {
		rest = rest[:q]
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return nil
	}
	if _, pw, ok := strings.Cut(rest[:at], ":"); ok && pw != "" {
		out = append(out, pw)
		if dec, err := url.PathUnescape(pw); err == nil && dec != pw {
			out = append(out, dec)
		}
	}
	return out
}

// scrubbedError carries an error whose message has had secrets removed,
// keeping the original for errors.Is and errors.As.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// scrub returns err with every secret masked in its message, keeping err
// for errors.Is and errors.As.
func scrub(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			msg = strings.ReplaceAll(msg, s, "****")
			changed = true
		}
	}
	if !changed {
		return err
	}
	return &scrubbedError{msg: msg, err: err}
}
