package webhook

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/scenarios/webhook/sink"
)

var _ driver.Renderer = (*step)(nil)

// maxRenderBody bounds the body render shows; a longer one is cut and its
// size given.
const maxRenderBody = 4 << 10

// Render shows the request Do would send for iteration it: the request
// line with the URL redacted (webhook tokens, secret query values), the
// headers (values of Authorization and other secret-named headers masked;
// signatures and trace headers, computed at send time, named), a blank
// line and the body as sent. It renders the templates in Do's order (body,
// query, headers), drawing the same values. A target without a URL shows
// its embedded sink, whose address is known only once it starts. No I/O;
// it works before Bind. Safe for concurrent use.
func (st *step) Render(it *driver.Iteration) ([]string, error) {
	cfg := st.cfg
	if cfg == nil {
		return nil, fmt.Errorf("webhook: step %q: not prepared by a webhook target", st.name)
	}
	var red redactor
	base := "http://<embedded " + cfg.flavor + " sink>"
	if cfg.url != "" {
		red = newRedactor(cfg.url)
		base = cfg.url
	}
	red.addSecret(cfg.secret)
	red.finish()
	u, sep, dyn := st.staticURL(base)
	h, dynH := st.staticHeaders(cfg)

	if it == nil || (st.needState && it.Templates == nil) {
		return nil, errors.New("webhook: template: no template state for this iteration")
	}
	ts := it.Templates
	fail := func(err error) error { return fmt.Errorf("webhook: template: %s", red.scrub(err.Error())) }
	var body []byte
	if st.body != nil {
		b, err := st.body.appendJSON(nil, ts)
		if err != nil {
			return nil, fail(fmt.Errorf("%s: %w", st.bodyKind(), err))
		}
		body = b
	}
	for _, p := range dyn {
		v, err := p.t.Render(ts)
		if err != nil {
			return nil, fail(fmt.Errorf("query %s: %w", p.name, err))
		}
		if sep != 0 {
			u += string(sep)
		}
		sep = '&'
		u += url.QueryEscape(p.name) + "=" + url.QueryEscape(v)
	}
	for _, p := range dynH {
		v, err := p.t.Render(ts)
		if err == nil && !validHeaderValue(v) {
			err = errors.New("the value holds a line break or NUL")
		}
		if err != nil {
			return nil, fail(fmt.Errorf("header %s: %w", p.name, err))
		}
		h.Set(p.name, v)
	}

	shown := u
	if cfg.url != "" {
		shown = red.scrub(Redact(u))
	}
	lines := []string{st.method + " " + shown}
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range h[k] {
			if secretHeader(k) {
				v = mask
			}
			lines = append(lines, k+": "+red.scrub(v))
		}
	}
	switch cfg.signing {
	case SigningGitHub:
		lines = append(lines, "X-Hub-Signature-256: <HMAC-SHA256 of the body, computed at send>")
	case SigningStandard:
		lines = append(lines, "Webhook-Id, Webhook-Timestamp, Webhook-Signature: <computed at send>")
	}
	if cfg.trace {
		lines = append(lines, sink.HeaderMessage+", "+sink.HeaderSent+": <trace headers, set at send>")
	}
	if body != nil {
		text := string(body)
		if len(text) > maxRenderBody {
			text = text[:maxRenderBody] + fmt.Sprintf("… (%d bytes in all)", len(body))
		}
		lines = append(lines, "", red.scrub(text))
	}
	return lines, nil
}

// secretHeader reports whether a header's value is a credential, masked
// in what render shows.
func secretHeader(name string) bool {
	n := strings.ToLower(name)
	if n == "authorization" || n == "proxy-authorization" || n == "cookie" {
		return true
	}
	for _, w := range []string{"token", "secret", "key", "signature", "auth", "pass", "cred"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}
