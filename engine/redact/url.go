package redact

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.\-]*://`)

// IsURL reports whether s is shaped like a URL: scheme://...
func IsURL(s string) bool { return schemeRE.MatchString(s) }

// urlParts is a URL split the way a person reads it, without url.Parse:
// the text may be one that url.Parse rejects (a password holding '#', '/'
// or '@'), which is exactly when an error message quotes it.
type urlParts struct {
	scheme   string // with "://"
	userinfo string
	hasAt    bool
	host     string
	path     string // without the leading '/'
	hasPath  bool
	query    string
	hasQuery bool
	fragment string
	hasFrag  bool
}

func split(raw string) urlParts {
	var p urlParts
	i := strings.Index(raw, "://")
	p.scheme, raw = raw[:i+3], raw[i+3:]
	// The LAST '@' ends the user information: a sloppy password may carry
	// an unescaped '/', '#', '?' or '@'.
	if at := strings.LastIndex(raw, "@"); at >= 0 {
		p.userinfo, p.hasAt, raw = raw[:at], true, raw[at+1:]
	}
	if j := strings.IndexByte(raw, '#'); j >= 0 {
		p.fragment, p.hasFrag, raw = raw[j+1:], true, raw[:j]
	}
	if j := strings.IndexByte(raw, '?'); j >= 0 {
		p.query, p.hasQuery, raw = raw[j+1:], true, raw[:j]
	}
	if j := strings.IndexByte(raw, '/'); j >= 0 {
		p.path, p.hasPath, raw = raw[j+1:], true, raw[:j]
	}
	p.host = raw
	return p
}

// MaskURL returns raw, a URL that is itself a secret (it came from ${VAR},
// or it is a notification's address), in a readable form with everything
// that may be a credential masked: the password (or a lone user name, which
// may be a password whose colon was forgotten), path segments other than
// plain words and numbers (webhook tokens), query values other than plain
// settings and every value of a secret-named key, and the fragment. The
// scheme, user name, host, port and the plain path stay. Text that is not
// URL-shaped is returned as it is.
func MaskURL(raw string) string {
	if !IsURL(raw) {
		return raw
	}
	p := split(raw)
	var b strings.Builder
	b.WriteString(p.scheme)
	if p.hasAt {
		if user, _, ok := strings.Cut(p.userinfo, ":"); ok {
			b.WriteString(user + ":" + Mask)
		} else if p.userinfo != "" {
			b.WriteString(Mask)
		}
		b.WriteByte('@')
	}
	b.WriteString(p.host)
	if p.hasPath {
		segs := strings.Split(p.path, "/")
		for i, s := range segs {
			if !wordSegment(s) {
				segs[i] = Mask
			}
		}
		b.WriteString("/" + strings.Join(segs, "/"))
	}
	if p.hasQuery {
		kvs := strings.Split(p.query, "&")
		for i, kv := range kvs {
			if k, v, _ := strings.Cut(kv, "="); secretQueryValue(k, v) {
				kvs[i] = k + "=" + Mask
			}
		}
		b.WriteString("?" + strings.Join(kvs, "&"))
	}
	if p.hasFrag {
		b.WriteByte('#')
		if p.fragment != "" {
			b.WriteString(Mask)
		}
	}
	return b.String()
}

var wordRE = regexp.MustCompile(`^(?:[a-z][a-z_\-]{0,15}(?:\.[a-z]{1,5})?|[0-9]{1,20}|v[0-9]{1,3})$`)

// wordSegment reports whether a path segment is plain (api, webhooks,
// hook.json, a numeric id, v2) rather than possibly a token.
func wordSegment(s string) bool { return s == "" || s == Mask || wordRE.MatchString(s) }

var secretKeyRE = regexp.MustCompile(`(?i)token|secret|pass|pwd|sig|auth|key|code|cred|session`)

// secretQueryValue reports whether the value v of query key k is masked in
// a secret URL: every value of a secret-named key, and any value that is not
// a plain setting (a number, a duration, a boolean, a short word).
func secretQueryValue(k, v string) bool {
	if v == "" || v == Mask {
		return false
	}
	if secretKeyRE.MatchString(k) {
		return true
	}
	return !plainSetting(v) && !wordRE.MatchString(v)
}

var (
	// A Discord webhook: /api/webhooks/<id>/<token> (also /api/v10/...).
	discordRE = regexp.MustCompile(`(/api/(?:v[0-9]+/)?webhooks/[0-9]+/)([A-Za-z0-9_\-%~]+)`)
	// A Slack webhook: everything after hooks.slack.com/services/ is the
	// secret; so is the last segment of /services/T../B../<secret> on any
	// host (runplan's own sink serves that path).
	slackHostRE = regexp.MustCompile(`(hooks\.slack\.com/(?:services|workflows|triggers)/)([A-Za-z0-9_\-%~/]+)`)
	slackPathRE = regexp.MustCompile(`(/services/[A-Za-z0-9]+/[A-Za-z0-9]+/)([A-Za-z0-9_\-%~]+)`)
	// Query keys that carry secrets, after ?, & or an escaped & (JSON's
	// \u0026, HTML's &amp;).
	queryRE = regexp.MustCompile(`((?:[?&]|\\u0026|&amp;|&#38;)(?i:[A-Za-z0-9_.\-]*(?:token|secret|pass|pwd|sig|auth|key|code|cred|session)[A-Za-z0-9_.\-]*)=)([^&\s#"'<>\\]+)`)
)

// Text masks credential-shaped parts of s, from wherever s came: the user
// information of every scheme://user:pass@ (the password) and
// scheme://token@ (the whole of it), webhook tokens of Discord and Slack
// paths, and the values of secret query keys (code, sig, signature, token,
// key, secret, password, auth, access_token, api_key, ...).
func Text(s string) string {
	if strings.Contains(s, "://") {
		s = maskUserinfo(s)
	}
	if strings.Contains(s, "/webhooks/") {
		s = discordRE.ReplaceAllString(s, "${1}"+Mask)
	}
	if strings.Contains(s, "/services/") {
		s = slackHostRE.ReplaceAllString(s, "${1}"+Mask)
		s = slackPathRE.ReplaceAllString(s, "${1}"+Mask)
	}
	if strings.Contains(s, "=") {
		s = queryRE.ReplaceAllStringFunc(s, func(m string) string {
			// The value runs to the next & or space; punctuation that ends
			// it is the sentence's ("...?sig=X: bad"), not the value's.
			i := strings.IndexByte(m, '=')
			v := strings.TrimRight(m[i+1:], ":,;.)]}")
			if v == "" || v == Mask {
				return m
			}
			return m[:i+1] + Mask + m[i+1+len(v):]
		})
	}
	return s
}

// tokenEnd reports whether c ends a URL in running text.
func tokenEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '<', '>', '`':
		return true
	}
	return false
}

// maskUserinfo masks the user information of every URL in s.
func maskUserinfo(s string) string {
	var b strings.Builder
	last := 0 // s[last:] is not yet copied
	for from := 0; ; {
		i := strings.Index(s[from:], "://")
		if i < 0 {
			break
		}
		i += from
		from = i + 3
		// A scheme must precede: letters, digits, + - . starting with a letter.
		j := i
		for j > 0 && isSchemeChar(s[j-1]) {
			j--
		}
		if j == i || !isAlpha(s[j]) {
			continue
		}
		end := from
		for end < len(s) && !tokenEnd(s[end]) {
			end++
		}
		at := strings.LastIndexByte(s[from:end], '@')
		if at < 0 {
			continue
		}
		info := s[from : from+at]
		masked := Mask
		if user, _, ok := strings.Cut(info, ":"); ok {
			masked = user + ":" + Mask
		}
		if info == masked || info == "" {
			from += at + 1
			continue
		}
		b.WriteString(s[last:from])
		b.WriteString(masked)
		last = from + at
		from = last + 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isSchemeChar(c byte) bool {
	return isAlpha(c) || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'
}

// ParseReason is what a url.Parse error says is wrong, without the piece of
// the URL it quotes (a bad port, an escape — which may be the token): the
// words before the quote, "invalid port" for `invalid port ":x" after host`.
func ParseReason(err error) string {
	reason := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		reason = ue.Err.Error()
	}
	reason, _, _ = strings.Cut(reason, `"`)
	return strings.TrimSpace(strings.TrimPrefix(reason, "net/url: "))
}
