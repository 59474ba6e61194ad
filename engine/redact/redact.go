// Package redact keeps secrets out of everything runplan prints: logs, the
// console, reports in every format, notifications and diagnostics.
//
// A Redactor masks two things with Mask:
//
//   - registered secrets: values that came from ${VAR} interpolation (see
//     AddVar for the rule), the credentials of URLs found in a plan or on the
//     command line (AddURL), and any value a caller names a secret (Add).
//     Each is registered in the forms an output may give it (URL-, JSON-,
//     HTML-, XML- and Go-quoted escapes), so that rendered bytes are masked
//     as well as the strings they came from. A secret that is a URL is
//     replaced by a readable form of itself (scheme, host and port kept,
//     credentials masked), its credentials alone by Mask;
//   - credential-shaped text from anywhere, registered or not: the user
//     information of a URL (scheme://user:****@host, scheme://****@host),
//     the token of a Discord or Slack webhook path, and the values of query
//     keys that carry secrets (?code=, ?sig=, ?token=, ?api_key=, ...).
//
// The rest of the text stays as it was: runplan masks the secret part and
// keeps the address readable, as in redis://app:****@cache:6379.
//
// A nil *Redactor masks credential-shaped text only. A Redactor is safe for
// concurrent use: secrets may be registered while outputs are written.
package redact

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"html"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Mask replaces a secret, the same mask that addresses carry elsewhere in
// runplan (redis://app:****@host).
const Mask = "****"

// Lengths below which a value is too short to be masked wherever it occurs
// without wrecking the output (every "on" or "100" in a report).
const (
	// MinSecret is the shortest value registered as a secret when its
	// variable's name says it is one, and the shortest URL credential.
	MinSecret = 4
	// MinValue is the shortest value registered when the variable's name
	// does not say it is a secret.
	MinValue = 8
)

// Redactor masks secrets in text. The zero value is not usable; use New.
type Redactor struct {
	mu sync.RWMutex
	// subst maps each registered form of a secret to its replacement.
	subst map[string]string
	// repl is built from subst on first use after a change.
	repl *strings.Replacer
}

// New returns a Redactor with no secrets registered.
func New() *Redactor { return &Redactor{subst: map[string]string{}} }

// Add registers s as a secret, masked wherever it occurs. Values shorter
// than MinSecret are ignored: masking them would wreck the output.
func (r *Redactor) Add(s string) {
	if r == nil || len(s) < MinSecret || strings.Contains(s, Mask) {
		return
	}
	r.add(s, Mask)
	// A multi-line secret (a key in PEM form) is printed line by line by
	// line-buffered writers: each long line is a secret of its own.
	if strings.ContainsAny(s, "\r\n") {
		for _, line := range strings.FieldsFunc(s, func(c rune) bool { return c == '\n' || c == '\r' }) {
			if len(line) >= MinValue {
				r.add(line, Mask)
			}
		}
	}
}

// AddVar registers the value of environment variable name, as ${name}
// interpolation produced it. The rule, documented in docs/SECURITY.md:
//
//   - a URL-shaped value (scheme://...) is registered with AddURL, whatever
//     its name and length;
//   - other values are registered whole when they are at least MinSecret
//     characters long and the name looks secret (see SecretName), or at
//     least MinValue characters long whatever the name;
//   - numbers, durations and booleans are never registered: they are
//     settings, and masking every "100" or "true" would wreck the output.
func (r *Redactor) AddVar(name, value string) {
	if r == nil || value == "" {
		return
	}
	if IsURL(value) {
		r.AddURL(value)
		return
	}
	if plainSetting(value) {
		return
	}
	if len(value) >= MinValue || (SecretName(name) && len(value) >= MinSecret) {
		r.Add(value)
	}
}

// AddURL registers the credentials of a URL: the password of its user
// information and the pieces of it (split where a URL parser splits a
// sloppy one, so that an error quoting a fragment is masked too), a lone
// user name long enough to be a forgotten-colon password, webhook token
// path segments and secret query values. The whole URL is registered too,
// replaced by its readable masked form (MaskURL). It accepts text that does
// not parse as a URL: that is when an error message quotes it.
func (r *Redactor) AddURL(raw string) {
	if r == nil || !IsURL(raw) {
		return
	}
	u := split(raw)
	if u.hasAt {
		if user, pw, ok := strings.Cut(u.userinfo, ":"); ok {
			r.addCredential(pw, MinSecret)
			_ = user // a user name is an account, not a secret
		} else {
			// redis://PASSWORD@host: the colon was forgotten, and the
			// "user name" is the password.
			r.addCredential(u.userinfo, MinValue)
		}
	}
	for _, seg := range strings.Split(u.path, "/") {
		if !wordSegment(seg) {
			r.addCredential(seg, MinSecret)
		}
	}
	for _, kv := range strings.Split(u.query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if secretQueryValue(k, v) {
			r.addCredential(v, MinSecret)
		}
	}
	r.addCredential(u.fragment, MinSecret)
	if m := MaskURL(raw); m != raw {
		r.add(raw, m)
	}
}

// addCredential registers one credential of a URL, its decoded form and its
// pieces at URL delimiters, each when at least min characters long.
func (r *Redactor) addCredential(c string, min int) {
	if len(c) < min || strings.Contains(c, Mask) {
		return
	}
	r.add(c, Mask)
	if dec, err := url.PathUnescape(c); err == nil && dec != c && len(dec) >= min {
		r.add(dec, Mask)
	}
	for _, piece := range strings.FieldsFunc(c, func(c rune) bool { return strings.ContainsRune(":/#?@&=", c) }) {
		if len(piece) >= MinSecret && piece != c {
			r.add(piece, Mask)
		}
	}
}

// add registers s and every escaped form of it, each replaced by the same
// escape of repl.
func (r *Redactor) add(s, repl string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, enc := range encoders {
		e := enc(s)
		if e == "" || len(e) < MinSecret {
			continue
		}
		if _, ok := r.subst[e]; ok {
			continue
		}
		r.subst[e] = enc(repl)
		r.repl = nil
	}
}

// encoders give the forms in which an output may print a string.
var encoders = []func(string) string{
	func(s string) string { return s },
	url.QueryEscape,
	url.PathEscape,
	func(s string) string { return jsonEscape(s, true) },
	func(s string) string { return jsonEscape(s, false) },
	html.EscapeString,
	func(s string) string {
		var b strings.Builder
		_ = xml.EscapeText(&b, []byte(s))
		return b.String()
	},
	func(s string) string { q := strconv.Quote(s); return q[1 : len(q)-1] },
	func(s string) string { q := strconv.QuoteToASCII(s); return q[1 : len(q)-1] },
}

func jsonEscape(s string, htmlSafe bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(htmlSafe)
	_ = enc.Encode(s)
	out := strings.TrimSuffix(b.String(), "\n")
	return out[1 : len(out)-1]
}

// replacer returns the replacer for the registered secrets, longest first so
// that a secret is masked whole rather than by a piece of it.
func (r *Redactor) replacer() *strings.Replacer {
	r.mu.RLock()
	rep := r.repl
	r.mu.RUnlock()
	if rep != nil {
		return rep
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.repl != nil {
		return r.repl
	}
	olds := make([]string, 0, len(r.subst))
	for s := range r.subst {
		olds = append(olds, s)
	}
	slices.SortFunc(olds, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	pairs := make([]string, 0, 2*len(olds))
	for _, s := range olds {
		pairs = append(pairs, s, r.subst[s])
	}
	r.repl = strings.NewReplacer(pairs...)
	return r.repl
}

// String returns s with every registered secret and every credential-shaped
// part masked.
func (r *Redactor) String(s string) string {
	if r != nil {
		r.mu.RLock()
		n := len(r.subst)
		r.mu.RUnlock()
		if n > 0 {
			s = r.replacer().Replace(s)
		}
	}
	return Text(s)
}

// Bytes is String for a byte slice; it returns b itself when nothing is
// masked.
func (r *Redactor) Bytes(b []byte) []byte {
	s := string(b)
	out := r.String(s)
	if out == s {
		return b
	}
	return []byte(out)
}

// Error returns err with its message masked, or err itself when nothing in
// it is secret. The masked error still unwraps to err, for errors.Is.
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if m := r.String(msg); m != msg {
		return &maskedError{msg: m, err: err}
	}
	return err
}

type maskedError struct {
	msg string
	err error
}

func (e *maskedError) Error() string { return e.msg }
func (e *maskedError) Unwrap() error { return e.err }

// Walk masks, in place, every string reachable from v (a pointer to a
// struct, a map, a slice): struct fields, slice and array elements, map keys
// and values, strings held in interfaces. Unexported fields and fields
// tagged `redact:"-"` (encoded data such as histograms, where a chance match
// would corrupt it) are left alone. v must not hold cycles.
func (r *Redactor) Walk(v any) {
	r.walk(reflect.ValueOf(v))
}

func (r *Redactor) walk(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			r.walk(v.Elem())
		}
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		e := v.Elem()
		switch e.Kind() {
		case reflect.String, reflect.Struct, reflect.Array:
			// Not addressable inside an interface: mask a copy, put it back.
			c := reflect.New(e.Type()).Elem()
			c.Set(e)
			r.walk(c)
			if v.CanSet() {
				v.Set(c)
			}
		default:
			r.walk(e)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range v.NumField() {
			if f := t.Field(i); f.IsExported() && f.Tag.Get("redact") != "-" {
				r.walk(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			r.walk(v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		for _, k := range v.MapKeys() {
			val := reflect.New(v.Type().Elem()).Elem()
			val.Set(v.MapIndex(k))
			r.walk(val)
			nk := k
			if k.Kind() == reflect.String {
				if s := r.String(k.String()); s != k.String() {
					nk = reflect.ValueOf(s).Convert(k.Type())
					v.SetMapIndex(k, reflect.Value{})
				}
			}
			v.SetMapIndex(nk, val)
		}
	case reflect.String:
		if v.CanSet() {
			if s := r.String(v.String()); s != v.String() {
				v.SetString(s)
			}
		}
	}
}

// SecretName reports whether an environment variable's name says that its
// value is a secret: a part of it (split at _ - .) is TOKEN, SECRET,
// PASSWORD (PASS, PASSWD, PWD, PW), AUTH, AUTHORIZATION, CRED(S, ENTIAL, ENTIALS),
// WEBHOOK, COOKIE, SESSION or PRIVATE, or its last part is KEY, APIKEY, URL,
// URI, DSN, SIG or SIGNATURE (so that API_KEY is a secret and KEY_PREFIX is
// not).
func SecretName(name string) bool {
	parts := strings.FieldsFunc(strings.ToUpper(name), func(c rune) bool { return c == '_' || c == '-' || c == '.' })
	if len(parts) == 0 {
		return false
	}
	for _, p := range parts {
		switch p {
		case "TOKEN", "TOKENS", "SECRET", "SECRETS", "PASS", "PASSWORD", "PASSWD", "PWD", "PW", "AUTH", "AUTHORIZATION", "CRED", "CREDS",
			"CREDENTIAL", "CREDENTIALS", "WEBHOOK", "COOKIE", "SESSION", "PRIVATE":
			return true
		}
	}
	switch parts[len(parts)-1] {
	case "KEY", "APIKEY", "URL", "URI", "DSN", "SIG", "SIGNATURE":
		return true
	}
	return false
}

// plainSetting reports whether s is a number, a duration, a boolean or null:
// values that configure a run and are never masked.
func plainSetting(s string) bool {
	t := strings.TrimSpace(s)
	if _, err := strconv.ParseFloat(t, 64); err == nil {
		return true
	}
	if _, err := time.ParseDuration(t); err == nil {
		return true
	}
	switch strings.ToLower(t) {
	case "true", "false", "yes", "no", "on", "off", "null", "~":
		return true
	}
	return false
}
