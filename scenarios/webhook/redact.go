package webhook

import (
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// mask replaces every secret in a redacted URL or message.
const mask = "****"

// Redact returns rawURL with its secrets replaced by "****", for reports, logs
// and error messages:
//
//   - Discord shapes, .../api/webhooks/{id}/{token} and .../api/v10/webhooks/{id}/{token}:
//     the token segment;
//   - Slack shapes, hooks.slack.com/services/T/B/XXXX (and other hooks.slack.com
//     paths): the last segment;
//   - any URL: the userinfo is dropped, the fragment too, query values whose
//     name contains token, key, secret, sig, pass, auth or cred are masked, and
//     so is any path segment that looks like a generated secret (24 or more
//     URL-safe characters mixing letters and digits).
//
// A URL that does not parse is reduced to its scheme and host when those can
// be found, and to "****" otherwise. Redact is a pure function, safe for
// concurrent use.
func Redact(rawURL string) string { return newRedactor(rawURL).url }

// redactor knows the redacted form of one URL and the secret strings taken
// out of it, so that any text (an error, a response body that echoes the URL)
// can be scrubbed of them. It is immutable once built.
type redactor struct {
	raw     string
	url     string
	secrets []string // longest first
}

var (
	versionSeg = regexp.MustCompile(`^v[0-9]+$`)
	secretSeg  = regexp.MustCompile(`^[A-Za-z0-9_.~%-]{24,}$`)
	hasLetter  = regexp.MustCompile(`[A-Za-z]`)
	hasDigit   = regexp.MustCompile(`[0-9]`)
)

// secretParams are substrings of query parameter names whose values are masked.
var secretParams = []string{"token", "key", "secret", "sig", "pass", "auth", "cred"}

// minSecret is the shortest secret scrubbed from free text: shorter ones would
// mangle ordinary words while guarding little.
const minSecret = 5

func newRedactor(raw string) redactor {
	r := redactor{raw: raw}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || (u.Scheme != "" && u.Host == "") {
		r.url = redactUnparsed(raw)
		r.addSecret(raw)
		if i := strings.Index(raw, "://"); i >= 0 {
			segs := strings.Split(raw[i+3:], "/")
			if !strings.Contains(r.url, segs[0]) {
				r.addSecret(segs[0]) // the host was masked: it may be the secret
			}
			for _, seg := range segs[1:] {
				r.addSecret(seg)
			}
		}
		r.finish()
		return r
	}
	var b strings.Builder
	if u.Scheme != "" {
		b.WriteString(u.Scheme)
		b.WriteString("://")
	}
	if u.User != nil {
		r.addSecret(u.User.Username())
		if p, ok := u.User.Password(); ok {
			r.addSecret(p)
		}
	}
	b.WriteString(u.Host)

	segs := strings.Split(u.EscapedPath(), "/")
	masked := make([]bool, len(segs))
	for i, s := range segs {
		if s != "webhooks" || i+2 >= len(segs) {
			continue
		}
		if (i >= 1 && segs[i-1] == "api") || (i >= 2 && segs[i-2] == "api" && versionSeg.MatchString(segs[i-1])) {
			masked[i+2] = segs[i+2] != ""
		}
	}
	host := strings.ToLower(u.Hostname())
	slackHost := host == "hooks.slack.com" || strings.HasSuffix(host, ".slack.com")
	if slackHost || (len(segs) == 5 && segs[0] == "" && segs[1] == "services") {
		for i := len(segs) - 1; i >= 2; i-- {
			if segs[i] != "" {
				masked[i] = true
				break
			}
		}
	}
	for i, s := range segs {
		if !masked[i] && secretSeg.MatchString(s) && hasLetter.MatchString(s) && hasDigit.MatchString(s) {
			masked[i] = true
		}
		if masked[i] {
			r.addSecret(s)
			if un, err := url.PathUnescape(s); err == nil {
				r.addSecret(un)
			}
			segs[i] = mask
		}
	}
	b.WriteString(strings.Join(segs, "/"))

	if u.RawQuery != "" || u.ForceQuery {
		b.WriteByte('?')
		parts := strings.Split(u.RawQuery, "&")
		for i, p := range parts {
			name, val, ok := strings.Cut(p, "=")
			if !ok || val == "" || !secretParam(name) {
				continue
			}
			r.addSecret(val)
			if un, err := url.QueryUnescape(val); err == nil {
				r.addSecret(un)
			}
			parts[i] = name + "=" + mask
		}
		b.WriteString(strings.Join(parts, "&"))
	}
	r.url = b.String()
	r.finish()
	return r
}

func secretParam(name string) bool {
	if un, err := url.QueryUnescape(name); err == nil {
		name = un
	}
	name = strings.ToLower(name)
	for _, s := range secretParams {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// redactUnparsed keeps what is surely not a secret of a URL that does not
// parse: its scheme and host, when the host carries no userinfo.
func redactUnparsed(raw string) string {
	i := strings.Index(raw, "://")
	if i <= 0 || strings.ContainsAny(raw[:i], "/?#@") {
		return mask
	}
	rest := raw[i+3:]
	host, _, _ := strings.Cut(rest, "/")
	if host == "" || strings.ContainsAny(host, "@?#") {
		return raw[:i+3] + mask
	}
	if _, err := url.Parse(raw[:i+3] + host); err != nil {
		// The host itself is broken: it may hold the secret.
		return raw[:i+3] + mask
	}
	return raw[:i+3] + host + "/" + mask
}

func (r *redactor) addSecret(s string) {
	if len(s) >= minSecret && s != mask {
		r.secrets = append(r.secrets, s)
	}
}

func (r *redactor) finish() {
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
}

// scrub replaces the URL and every secret found in s.
func (r redactor) scrub(s string) string {
	if r.raw != "" && r.raw != r.url {
		s = strings.ReplaceAll(s, r.raw, r.url)
	}
	for _, sec := range r.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, mask)
		}
	}
	return s
}
