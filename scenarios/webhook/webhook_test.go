package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/tmpl"
	"github.com/runplan/runplan/scenarios/webhook/sink"
)

// plainClient has a transport of its own. httptest.Server.Close calls
// CloseIdleConnections on http.DefaultTransport, which breaks a keep-alive
// connection another parallel test is about to reuse.
var plainClient = &http.Client{Transport: &http.Transport{}}

// canary is a token that must never show in anything the driver reports.
const canary = "CANARYc4n4ryTOKENxyz0123456789abcdefABCDEF"

func node(t testing.TB, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatalf("yaml %q: %v", src, err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

// targetSpec builds a TargetSpec from YAML, taking URL from its url key.
func targetSpec(t testing.TB, src string) driver.TargetSpec {
	t.Helper()
	n := node(t, src)
	spec := driver.TargetSpec{Name: "hook", Driver: "webhook", Node: n, RunID: "r1"}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "url" {
			spec.URL = n.Content[i+1].Value
		}
	}
	return spec
}

func urlTarget(t testing.TB, url, extra string) driver.TargetSpec {
	t.Helper()
	src := "driver: webhook\nurl: '" + url + "'\n" + extra
	return targetSpec(t, src)
}

func open(t *testing.T, spec driver.TargetSpec) driver.Target {
	t.Helper()
	return openEnv(t, spec, driver.Env{})
}

// openEnv opens target spec with env, and closes it when the test ends.
func openEnv(t *testing.T, spec driver.TargetSpec, env driver.Env) driver.Target {
	t.Helper()
	tg, err := openTargetSpec(context.Background(), spec, env)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := tg.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return tg
}

func prepare(t testing.TB, step, expect string) (driver.Step, error) {
	t.Helper()
	spec := driver.StepSpec{Name: "deliver", Node: node(t, step), Templates: tmpl.NewCompiler()}
	if expect != "" {
		spec.Expect = node(t, expect)
	}
	return prepareOn(targetSpec(t, "driver: webhook"), spec)
}

func bound(t testing.TB, tg driver.Target, step, expect string) driver.Step {
	t.Helper()
	st, err := prepare(t, step, expect)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	if err := st.Bind(tg); err != nil {
		t.Fatalf("Bind: %v", err)
	}
	return st
}

func iteration() *driver.Iteration {
	return &driver.Iteration{Templates: tmpl.NewState("s", 1, rand.New(rand.NewPCG(1, 2)))}
}

func TestRegistered(t *testing.T) {
	t.Parallel()
	d, err := driver.Lookup("webhook")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.(Driver); !ok {
		t.Errorf("registered %T", d)
	}
}

func TestConfigure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []string // substrings of the error, each with its position; none: valid
	}{
		{name: "embedded", src: "driver: webhook"},
		{name: "empty url", src: "driver: webhook\nurl: ''"},
		{name: "full", src: "driver: webhook\nurl: https://discord.com/api/webhooks/1/tok\nflavor: discord\ntimeout: 2s\nheaders: {X-A: b}\nmax_conns: 10"},
		{name: "slack", src: "driver: webhook\nurl: https://hooks.slack.com/services/T/B/X\nflavor: slack"},
		{name: "generic", src: "driver: webhook\nurl: http://127.0.0.1:9/hook\nflavor: generic"},
		{name: "unknown key", src: "driver: webhook\nflavour: slack", want: []string{`2:1: webhook: unknown key "flavour" in target; did you mean "flavor"?`}},
		{name: "unknown key far", src: "driver: webhook\nmanaged: {}", want: []string{`2:1: webhook: unknown key "managed" in target (known:`}},
		{name: "bad flavor", src: "driver: webhook\nurl: http://127.0.0.1/x\nflavor: discrod", want: []string{`3:9: webhook: unknown flavor "discrod"`, `did you mean "discord"?`}},
		{name: "bad timeout", src: "driver: webhook\ntimeout: soon", want: []string{`2:10: webhook: timeout "soon" is not a positive duration`}},
		{name: "negative timeout", src: "driver: webhook\ntimeout: -1s", want: []string{`2:10: webhook: timeout "-1s"`}},
		{name: "numeric timeout", src: "driver: webhook\ntimeout: 10", want: []string{`2:10: webhook: timeout must be a duration`}},
		{name: "max_conns zero", src: "driver: webhook\nmax_conns: 0", want: []string{`2:12: webhook: max_conns must be an integer`}},
		{name: "max_conns string", src: "driver: webhook\nmax_conns: many", want: []string{`2:12: webhook: max_conns`}},
		{name: "headers list", src: "driver: webhook\nheaders: [a]", want: []string{`2:10: webhook: headers must be a mapping`}},
		{name: "header name", src: "driver: webhook\nheaders: {'bad name': x}", want: []string{`2:11: webhook: "bad name" is not a valid header name`}},
		{name: "header value", src: "driver: webhook\nheaders: {X-A: \"a\\nb\"}", want: []string{`2:16: webhook: header X-A: the value holds a line break`}},
		{name: "ftp", src: "driver: webhook\nurl: ftp://" + canary + "@example.com/x", want: []string{`2:6: webhook: url ftp://example.com/x: the scheme must be http or https`}},
		{name: "unparsable", src: "driver: webhook\nurl: 'http://h:port" + canary + "/x'", want: []string{`2:6: webhook: url http://`, "does not parse"}},
		{name: "not a mapping", src: "[a]", want: []string{`1:1: webhook: target must be a mapping`}},
		{name: "several", src: "driver: webhook\ntimeout: x\nmax_conns: -1\nbogus: 1", want: []string{"2:10:", "3:12:", "4:1:"}},
		{name: "rate ignore", src: "driver: webhook\nrate_limit: ignore"},
		{name: "rate mapping", src: "driver: webhook\nrate_limit: {mode: respect, margin: 0s, max_wait: 2m}"},
		{name: "retries", src: "driver: webhook\nretries: 0"},
		{name: "retries mapping", src: "driver: webhook\nretries: {max: 5, backoff: 100ms, max_backoff: 1s}"},
		{name: "budget", src: "driver: webhook\ninvalid_budget: {max: 50, per: 1m}"},
		{name: "signing", src: "driver: webhook\nurl: http://127.0.0.1:9/hook\nsigning: {scheme: github, secret: x}"},
		{name: "signing standard", src: "driver: webhook\nflavor: generic\nsigning: {scheme: standard, secret: whsec_dGVzdA==}"},
		{name: "sink", src: "driver: webhook\ntrace_headers: false\nsink: {rate_limit: 30/1m, channel_limit: 30/m, global_limit: off, send_to: wrong_token, fault: {delay: 1s, status: 503, hang: false, reset: false, garbage: false, delivered: true, ratio: 0.25}}"},
		{name: "slack embedded", src: "driver: webhook\nflavor: slack"},
		{name: "bad rate mode", src: "driver: webhook\nrate_limit: sometimes", want: []string{`2:13: webhook: unknown rate_limit mode "sometimes" (respect, ignore)`}},
		{name: "bad rate key", src: "driver: webhook\nrate_limit: {mdoe: ignore}", want: []string{`2:14: webhook: unknown key "mdoe" in rate_limit; did you mean "mode"?`}},
		{name: "bad retries", src: "driver: webhook\nretries: -1", want: []string{`2:10: webhook: retries must be an integer from 0 to 100`}},
		{name: "backoff order", src: "driver: webhook\nretries: {backoff: 2s, max_backoff: 1s}", want: []string{`2:10: webhook: retries: max_backoff 1s is below backoff 2s`}},
		{name: "bad budget", src: "driver: webhook\ninvalid_budget: 0", want: []string{`2:17: webhook: invalid_budget must be an integer from 1`}},
		{name: "signing discord", src: "driver: webhook\nsigning: {scheme: github, secret: x}", want: []string{`2:10: webhook: signing applies to the generic flavor`}},
		{name: "signing incomplete", src: "driver: webhook\nflavor: generic\nsigning: {scheme: github}", want: []string{`3:10: webhook: signing needs a scheme (github or standard) and a secret`}},
		{name: "signing bad scheme", src: "driver: webhook\nflavor: generic\nsigning: {scheme: hmac, secret: x}", want: []string{`3:19: webhook: unknown signing scheme "hmac"`}},
		{name: "signing bad secret", src: "driver: webhook\nflavor: generic\nsigning: {scheme: standard, secret: 'whsec_!!" + canary + "'}", want: []string{`3:37: webhook: signing secret: a Standard Webhooks secret is "whsec_" followed by base64`}},
		{name: "sink with url", src: "driver: webhook\nurl: http://127.0.0.1:9/x\nsink: {rate_limit: off}", want: []string{`3:7: webhook: sink options apply to the embedded sink`}},
		{name: "sink bad limit", src: "driver: webhook\nsink: {rate_limit: 5 per 2s}", want: []string{`2:20: webhook: sink rate_limit "5 per 2s": use a count per period`}},
		{name: "sink bad send_to", src: "driver: webhook\nsink: {send_to: nowhere}", want: []string{`2:17: webhook: unknown sink send_to "nowhere"`}},
		{name: "sink bad fault", src: "driver: webhook\nsink: {fault: {ratio: 2, stauts: 500, hang: yes}}", want: []string{`2:23: webhook: fault ratio must be a number above 0`, `2:26: webhook: unknown key "stauts" in sink fault; did you mean "status"?`, `2:45: webhook: fault hang must be true or false`}},
		{name: "bad trace", src: "driver: webhook\ntrace_headers: 1", want: []string{`2:16: webhook: trace_headers must be true or false`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := checkTarget(targetSpec(t, tt.src))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Configure: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Configure accepted the target")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("error %q leaks the token", err)
			}
			var pe *diag.Error
			if !errors.As(err, &pe) {
				t.Errorf("error %q is not located", err)
			}
		})
	}
}

func TestPrepareErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, step, expect string
		want               []string
		cols               []int // the error's column is one of these (the expression or its opening space)
	}{
		{name: "unknown key", step: "{jsno: {content: hi}}", want: []string{`1:2: webhook: unknown key "jsno" in webhook step; did you mean "json"?`}},
		{name: "unknown key far", step: "{payload: {}}", want: []string{`unknown key "payload" in webhook step (known: json, body, method, query, headers, timeout)`}},
		{name: "bad template", step: `{json: {content: "a {{ ( }}"}}`, want: []string{`webhook: template "a {{ ( }}"`}, cols: []int{23, 24}},
		{name: "unclosed template", step: `{json: {content: "a {{ vu"}}`, want: []string{`1:21: webhook: template`, "unclosed"}},
		{name: "unknown function", step: "json: {content: '{{ nope(1) }}'}", want: []string{"webhook: template"}, cols: []int{20, 21}},
		{name: "template key", step: `{json: {"{{ vu }}": 1}}`, want: []string{"1:9: webhook: templates are not allowed in JSON keys"}},
		{name: "bad method", step: "{method: 'PO ST'}", want: []string{`1:10: webhook: "PO ST" is not an HTTP method`}},
		{name: "bad timeout", step: "{timeout: 0s}", want: []string{`1:11: webhook: timeout "0s"`}},
		{name: "query list", step: "{query: [a]}", want: []string{"1:9: webhook: query must be a mapping"}},
		{name: "query value", step: "{query: {a: [1]}}", want: []string{"1:13: webhook: query a must be a string"}},
		{name: "header name", step: "{headers: {'a b': x}}", want: []string{`1:12: webhook: "a b" is not a valid header name`}},
		{name: "infinite", step: "{json: {x: .inf}}", want: []string{"1:12: webhook: json: +Inf has no JSON form"}},
		{name: "duplicate key", step: "{json: {a: 1, a: 2}}", want: []string{`1:15: webhook: json object: duplicate key "a"`}},
		{name: "null", step: "", want: []string{"webhook: the step needs a mapping"}},
		{name: "scalar", step: "hello", want: []string{"1:1: webhook: webhook step must be a mapping"}},
		{name: "expect unknown key", step: "{}", expect: "{stauts: 200}", want: []string{`1:2: webhook: unknown key "stauts" in expect; did you mean "status"?`}},
		{name: "expect bad status", step: "{}", expect: "{status: 99}", want: []string{`1:10: webhook: expect status: "99" is not an HTTP status`}},
		{name: "expect bad status in list", step: "{}", expect: "{status: [200, abc]}", want: []string{`1:16: webhook: expect status: "abc"`}},
		{name: "expect empty list", step: "{}", expect: "{status: []}", want: []string{"1:10: webhook: expect status: the list is empty"}},
		{name: "several", step: "{jsno: 1, method: 'a b', timeout: x}", expect: "{status: 1}", want: []string{"1:2:", "1:19:", "1:35:", "1:10:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := prepare(t, tt.step, tt.expect)
			if err == nil {
				t.Fatal("Prepare accepted the step")
			}
			if len(tt.cols) > 0 {
				var pe *diag.Error
				if !errors.As(err, &pe) || pe.Line != 1 || !slices.Contains(tt.cols, pe.Col) {
					t.Errorf("error %q is not at line 1, column %v", err, tt.cols)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestPrepareValid(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ step, expect string }{
		{step: "{}"},
		{step: "{json: {content: hi}}", expect: "{status: 204}"},
		{step: "{json: [1, '{{ vu }}'], method: put, query: {wait: true, n: '{{ iteration }}'}, headers: {X-N: '{{ vu }}'}, timeout: 1s}", expect: "{status: [200, '2xx', 404]}"},
		{step: "json: &a {content: hi}\nquery: {wait: 'true'}"},
	} {
		if _, err := prepare(t, tt.step, tt.expect); err != nil {
			t.Errorf("Prepare(%s, %s): %v", tt.step, tt.expect, err)
		}
	}
}

// sinkTarget opens an embedded target and returns it with its sink.
func sinkTarget(t *testing.T, extra string) (*Target, *sink.Sink) {
	t.Helper()
	tg := open(t, targetSpec(t, "driver: webhook\n"+extra)).(*Target)
	if tg.Kind() != driver.KindEmbedded || tg.Sink() == nil {
		t.Fatalf("kind %s, sink %v", tg.Kind(), tg.Sink())
	}
	return tg, tg.Sink()
}

func TestDoAgainstSink(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, step, expect string
		class              string // "" for success
		errHas             string
	}{
		{name: "204", step: "{json: {content: hi}}"},
		{name: "wait 200", step: "{json: {content: hi}, query: {wait: 'true'}}"},
		{name: "expect 204", step: "{json: {content: hi}}", expect: "{status: 204}"},
		{name: "expect list", step: "{json: {content: hi}, query: {wait: true}}", expect: "{status: [200, 204]}"},
		{name: "expect class", step: "{json: {content: hi}, query: {wait: true}}", expect: "{status: 2xx}"},
		{name: "expect mismatch", step: "{json: {content: hi}, query: {wait: 'true'}}", expect: "{status: 204}", class: ClassUnexpectedStatus, errHas: ": status 200 (expected 204)"},
		{name: "empty message", step: "{json: {content: ''}}", class: "discord_50006", errHas: "status 400 (Discord code 50006: Cannot send an empty message)"},
		{name: "expected error", step: "{json: {content: ''}}", expect: "{status: 400}"},
		{name: "too long", step: "{json: {content: '{{ randstr(2001) }}'}}", class: "discord_50035", errHas: "status 400 (Discord code 50035: Invalid Form Body: content: Must be 2000 or fewer in length.)"},
		{name: "not json", step: "{json: {content: hi}, headers: {Content-Type: text/plain}}", class: "discord_50035", errHas: "Discord code 50035"},
		{name: "invalid json", step: "{body: '{\"content\": ', headers: {Content-Type: application/json}}", class: "discord_50109", errHas: "Discord code 50109"},
		{name: "raw body", step: "{body: '{\"content\": \"vu {{ vu }}\"}'}", expect: "{status: 204}"},
		{name: "too many embeds", step: "{json: {embeds: [{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}]}}", class: "discord_50035", errHas: "embeds: Must be 10 or fewer in length."},
		{name: "embed title", step: "{json: {embeds: [{title: '{{ randstr(257) }}'}]}}", class: "discord_50035", errHas: "embeds.0.title: Must be 256 or fewer in length."},
		{name: "put", step: "{method: put, json: {content: hi}}", class: "http_405", errHas: "status 405 (Discord: 405: Method Not Allowed)"},
		{name: "template failure", step: "{json: {content: '{{ uniform(vu - 1) }}'}}", class: ClassTemplate, errHas: "uniform(0): n must be positive"},
		{name: "template failure in query", step: "{query: {n: '{{ seq(vu - 2) }}'}}", class: ClassTemplate, errHas: "query n"},
	}
	for _, tt := range tests {
		for _, client := range clients {
			t.Run(tt.name+"/"+client, func(t *testing.T) {
				t.Parallel()
				tg, sk := sinkTarget(t, "")
				useClient(tg, client)
				st := bound(t, tg, tt.step, tt.expect)
				out := st.Do(context.Background(), iteration())
				if out.Class != tt.class || (out.Err == nil) != (tt.class == "") {
					t.Fatalf("outcome class %q err %v, want class %q", out.Class, out.Err, tt.class)
				}
				if tt.errHas != "" && !strings.Contains(out.Err.Error(), tt.errHas) {
					t.Errorf("error %q does not contain %q", out.Err, tt.errHas)
				}
				if out.Err != nil {
					checkNoToken(t, out.Err, sk.Token())
					var we *Error
					if !errors.As(out.Err, &we) || we.Class != tt.class {
						t.Errorf("error %#v is not a *Error of class %s", out.Err, tt.class)
					}
					if !strings.HasPrefix(out.Err.Error(), "webhook: ") {
						t.Errorf("error %q lacks the package prefix", out.Err)
					}
				}
				if tt.class == ClassTemplate {
					if sk.Stats().Received != 0 {
						t.Errorf("a template failure sent a request")
					}
				}
			})
		}
	}
}

func checkNoToken(t *testing.T, err error, token string) {
	t.Helper()
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), token) {
			t.Errorf("error text %q holds the token", e.Error())
		}
	}
}

func TestDiscordStatusErrors(t *testing.T) {
	t.Parallel()
	_, sk := sinkTarget(t, "")
	base := strings.TrimSuffix(sk.URL(), "/"+sk.WebhookID()+"/"+sk.Token())
	tests := []struct {
		name, url, errHas string
		status, code      int
	}{
		{name: "unknown webhook", url: base + "/1/" + canary, status: 404, code: 10015, errHas: "status 404 (Discord code 10015: Unknown Webhook)"},
		{name: "wrong token", url: base + "/" + sk.WebhookID() + "/" + canary, status: 401, code: 50027, errHas: "status 401 (Discord code 50027: Invalid Webhook Token)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tg := open(t, urlTarget(t, tt.url, ""))
			if tg.Kind() != driver.KindExternal {
				t.Errorf("kind %s", tg.Kind())
			}
			st := bound(t, tg, "{json: {content: hi}}", "")
			out := st.Do(context.Background(), iteration())
			if want := fmt.Sprintf("discord_%d", tt.code); out.Class != want {
				t.Fatalf("class %q, want %s; err %v", out.Class, want, out.Err)
			}
			if !strings.Contains(out.Err.Error(), tt.errHas) {
				t.Errorf("error %q does not contain %q", out.Err, tt.errHas)
			}
			var we *Error
			if !errors.As(out.Err, &we) || we.Status != tt.status || we.Code != tt.code || !errors.Is(out.Err, ErrUnexpectedStatus) {
				t.Errorf("error %#v", out.Err)
			}
			checkNoToken(t, out.Err, canary)
			if strings.Contains(tg.Addr(), canary) || !strings.HasSuffix(tg.Addr(), "/****") {
				t.Errorf("Addr %q", tg.Addr())
			}
		})
	}
}

// hookServer serves h on 127.0.0.1 and returns its root URL.
func hookServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// hijack answers by writing raw bytes on the connection, then closing it;
// with rst the close is abortive (RST).
func hijack(raw string, rst bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		_, _ = buf.WriteString(raw)
		_ = buf.Flush()
		if tc, ok := conn.(*net.TCPConn); ok && rst {
			_ = tc.SetLinger(0)
		}
		_ = conn.Close()
	}
}

func TestTransportFailures(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	slow := hookServer(t, func(w http.ResponseWriter, r *http.Request) {
		// Reading the body lets the server notice the client hanging up.
		_, _ = io.Copy(io.Discard, r.Body)
		// Longer than the step's timeout; the client's hang-up ends it.
		select {
		case <-r.Context().Done():
		case <-release:
		case <-time.After(10 * time.Second):
		}
	})
	slowBody := hookServer(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(200)
		_, _ = w.Write([]byte("partial"))
		http.NewResponseController(w).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		case <-time.After(10 * time.Second):
		}
	})
	// Registered after the servers, so run before their Close.
	t.Cleanup(func() { close(release) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()

	tests := []struct {
		name, url, step string
		class, errHas   string
	}{
		{name: "timeout", url: slow + "/api/webhooks/1/" + canary, step: "{json: {content: hi}, timeout: 50ms}", class: ClassTimeout, errHas: "timeout after 50ms"},
		{name: "timeout reading the body", url: slowBody + "/hook?token=" + canary, step: "{json: {content: hi}, timeout: 50ms}", class: ClassTimeout, errHas: "reading the response: timeout after 50ms"},
		{name: "refused", url: "http://" + closedAddr + "/api/webhooks/1/" + canary, step: "{json: {content: hi}}", class: ClassRefused, errHas: "connection refused"},
		{name: "closed before the response", url: hookServer(t, hijack("", false)) + "/api/webhooks/1/" + canary, step: "{json: {content: hi}}", class: ClassReset, errHas: "EOF"},
		{name: "closed mid-body", url: hookServer(t, hijack("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial", false)) + "/api/webhooks/1/" + canary, step: "{json: {content: hi}}", class: ClassReset, errHas: "reading the response: connection closed mid-response"},
		{name: "reset", url: hookServer(t, hijack("", true)) + "/api/webhooks/1/" + canary, step: "{json: {content: hi}}", class: ClassReset},
		{name: "bad TLS", url: tlsServer(t) + "/api/webhooks/1/" + canary, step: "{json: {content: hi}}", class: ClassTLS, errHas: "tls: "},
	}
	for _, tt := range tests {
		for _, client := range clients {
			t.Run(tt.name+"/"+client, func(t *testing.T) {
				t.Parallel()
				tg := useClient(open(t, urlTarget(t, tt.url, "flavor: generic\nretries: 0\n")), client)
				st := bound(t, tg, tt.step, "")
				out := st.Do(context.Background(), iteration())
				if out.Class != tt.class || out.Err == nil {
					t.Fatalf("class %q err %v, want %q", out.Class, out.Err, tt.class)
				}
				if !strings.Contains(out.Err.Error(), tt.errHas) {
					t.Errorf("error %q does not contain %q", out.Err, tt.errHas)
				}
				checkNoToken(t, out.Err, canary)
			})
		}
	}
}

func tlsServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	// The handshake error the client causes is expected.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestCanceled(t *testing.T) {
	t.Parallel()
	_, sk := sinkTarget(t, "")
	tg := open(t, urlTarget(t, sk.URL(), ""))
	st := bound(t, tg, "{json: {content: hi}}", "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := st.Do(ctx, iteration())
	if out.Class != ClassCanceled || !errors.Is(out.Err, context.Canceled) {
		t.Errorf("class %q err %v", out.Class, out.Err)
	}
}

// capture serves 204 and hands over every request with its body.
type captured struct {
	r    *http.Request
	body []byte
}

func captureServer(t *testing.T) (string, chan captured) {
	t.Helper()
	ch := make(chan captured, 16)
	u := hookServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- captured{r, b}
		w.WriteHeader(http.StatusNoContent)
	})
	return u, ch
}

func TestRendering(t *testing.T) {
	t.Parallel()
	u, ch := captureServer(t)
	tg := open(t, urlTarget(t, u+"/hook?existing=1", "headers: {X-Static: s, Authorization: Bearer x}\n"))
	st := bound(t, tg, `
json:
  content: "signal {{ iteration }} BUY \"BTC\"\n"
  n: "{{ 1 + 2 }}"
  f: "{{ 1.5 * 3 }}"
  b: "{{ vu == 1 }}"
  s: "{{ 'x' + 'y' }}"
  quoted: "42"
  literal: 7
  nested: [1, "{{ vu }}", {k: "{{ vu * 10 }}", z: null}]
  static: {a: [1, 2.5, true, "<&>"]}
  nil: "{{ nil }}"
  list: "{{ [1, 'a'] }}"
query: {wait: "true", n: "{{ iteration + 1 }}", q: "a b&c"}
headers: {X-Iter: "it-{{ iteration }}", Content-Type: application/json; charset=utf-8}
method: put
`, "")
	it := iteration()
	for i := range 2 {
		it.Templates.SetIteration(int64(i))
		if out := st.Do(context.Background(), it); out.Err != nil {
			t.Fatalf("Do: %v", out.Err)
		}
		c := <-ch
		want := `{"content":"signal ` + string(rune('0'+i)) + ` BUY \"BTC\"\n","n":3,"f":4.5,"b":true,"s":"xy","quoted":"42","literal":7,` +
			`"nested":[1,1,{"k":10,"z":null}],"static":{"a":[1,2.5,true,"<&>"]},"nil":null,"list":[1,"a"]}`
		if string(c.body) != want {
			t.Errorf("body\n%s\nwant\n%s", c.body, want)
		}
		if !json.Valid(c.body) {
			t.Errorf("invalid JSON %s", c.body)
		}
		if c.r.Method != http.MethodPut {
			t.Errorf("method %s", c.r.Method)
		}
		q := c.r.URL.Query()
		if q.Get("existing") != "1" || q.Get("wait") != "true" || q.Get("n") != string(rune('1'+i)) || q.Get("q") != "a b&c" {
			t.Errorf("query %s", c.r.URL.RawQuery)
		}
		h := c.r.Header
		if h.Get("X-Static") != "s" || h.Get("Authorization") != "Bearer x" || h.Get("X-Iter") != "it-"+string(rune('0'+i)) ||
			h.Get("Content-Type") != "application/json; charset=utf-8" || h.Get("User-Agent") != "runplan" {
			t.Errorf("headers %v", h)
		}
		if c.r.ContentLength != int64(len(c.body)) {
			t.Errorf("Content-Length %d for %d bytes", c.r.ContentLength, len(c.body))
		}
	}
}

func TestStaticBodyAndNoBody(t *testing.T) {
	t.Parallel()
	u, ch := captureServer(t)
	tg := open(t, urlTarget(t, u+"/hook", "flavor: generic\n"))
	st := bound(t, tg, "{json: {content: hi, n: [1, {a: b}]}}", "")
	for range 2 {
		if out := st.Do(context.Background(), iteration()); out.Err != nil {
			t.Fatal(out.Err)
		}
		if c := <-ch; string(c.body) != `{"content":"hi","n":[1,{"a":"b"}]}` || c.r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("body %s, headers %v", c.body, c.r.Header)
		}
	}
	st = bound(t, tg, "{method: delete}", "")
	if out := st.Do(context.Background(), nil); out.Err != nil {
		t.Fatal(out.Err)
	}
	if c := <-ch; len(c.body) != 0 || c.r.Method != http.MethodDelete || c.r.Header.Get("Content-Type") != "" {
		t.Errorf("request %s %q %v", c.r.Method, c.body, c.r.Header)
	}
}

func TestConcurrentDo(t *testing.T) {
	t.Parallel()
	tg, sk := sinkTarget(t, "max_conns: 4\nsink: {rate_limit: off, global_limit: off}\n")
	st := bound(t, tg, `{json: {content: "vu {{ vu }} it {{ iteration }} {{ randstr(uniform(300)) }}"}}`, "{status: 204}")
	const vus, iters = 8, 25
	var wg sync.WaitGroup
	for vu := 1; vu <= vus; vu++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			it := &driver.Iteration{VU: vu, Templates: tmpl.NewState("s", vu, rand.New(rand.NewPCG(uint64(vu), 2)))}
			for i := range iters {
				it.Templates.SetIteration(int64(i))
				if out := st.Do(context.Background(), it); out.Err != nil {
					t.Error(out.Err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if s := sk.Stats(); s.Accepted != vus*iters {
		t.Errorf("stats %+v", s)
	}
	for _, m := range sk.Messages() {
		if !strings.HasPrefix(m.Content, "vu ") {
			t.Fatalf("content %q", m.Content)
		}
	}
}

func TestBindWrongTarget(t *testing.T) {
	t.Parallel()
	st, err := prepare(t, "{}", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Bind(otherTarget{}); err == nil || !strings.HasPrefix(err.Error(), "webhook: ") {
		t.Errorf("Bind: %v", err)
	}
}

type otherTarget struct{}

func (otherTarget) Kind() string { return driver.KindExternal }
func (otherTarget) Addr() string { return "x" }
func (otherTarget) Close() error { return nil }

func TestOpen(t *testing.T) {
	t.Parallel()
	var logs []string
	tg, err := openTargetSpec(context.Background(), targetSpec(t, "driver: webhook"), driver.Env{Log: func(m string) { logs = append(logs, m) }})
	if err != nil {
		t.Fatal(err)
	}
	wt := tg.(*Target)
	tok := wt.Sink().Token()
	if strings.Contains(tg.Addr(), tok) || !strings.HasPrefix(tg.Addr(), "http://127.0.0.1:") || !strings.HasSuffix(tg.Addr(), "/api/webhooks/"+sink.DefaultWebhookID+"/****") {
		t.Errorf("Addr %q", tg.Addr())
	}
	if len(logs) != 1 || strings.Contains(logs[0], tok) || !strings.Contains(logs[0], tg.Addr()) {
		t.Errorf("logs %q", logs)
	}
	if err := wt.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if err := tg.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := plainClient.Post(wt.Sink().URL(), "application/json", strings.NewReader(`{"content":"x"}`)); err == nil {
		t.Error("the sink still answers after Close")
	}

	// External: Open sends nothing.
	hits := 0
	var mu sync.Mutex
	u := hookServer(t, func(w http.ResponseWriter, r *http.Request) { mu.Lock(); hits++; mu.Unlock() })
	ext := open(t, urlTarget(t, u+"/api/webhooks/1/"+canary, ""))
	if err := ext.(driver.Pinger).Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if hits != 0 {
		t.Errorf("Open and Ping sent %d requests", hits)
	}
	if _, err := openTargetSpec(context.Background(), targetSpec(t, "driver: webhook\nbogus: 1"), driver.Env{}); err == nil {
		t.Error("Open accepted an invalid target")
	}
}

// TestCanaryNeverLeaks sends to servers that echo the request URL in their
// error bodies, in every flavor and URL shape.
func TestCanaryNeverLeaks(t *testing.T) {
	t.Parallel()
	echo := hookServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		msg, _ := json.Marshal("no route for " + r.URL.String() + " " + r.URL.Path)
		_, _ = w.Write([]byte(`{"message":` + string(msg) + `,"code":0}`))
	})
	text := hookServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("no_service for " + r.URL.String()))
	})
	shapes := []struct{ flavor, url string }{
		{"discord", echo + "/api/webhooks/123/" + canary},
		{"discord", echo + "/api/v10/webhooks/123/" + canary + "?wait=true"},
		{"slack", text + "/services/T000/B000/" + canary},
		{"generic", text + "/hook?token=" + canary},
		{"generic", text + "/hook?X-Signature=" + canary + "&a=b"},
		{"generic", strings.Replace(text, "http://", "http://user:"+canary+"@", 1) + "/hook"},
		{"generic", text + "/hooks/" + canary},
	}
	for _, sh := range shapes {
		tg := open(t, urlTarget(t, sh.url, "flavor: "+sh.flavor+"\nretries: 0\n"))
		if strings.Contains(tg.Addr(), canary) {
			t.Errorf("Addr %q", tg.Addr())
		}
		st := bound(t, tg, "{json: {content: hi}, query: {n: '{{ vu }}'}}", "")
		out := st.Do(context.Background(), iteration())
		var we *Error
		if !errors.As(out.Err, &we) || we.Status == 0 {
			t.Fatalf("%s: class %q err %v", sh.url, out.Class, out.Err)
		}
		checkNoToken(t, out.Err, canary)
		if strings.Contains(tg.Addr(), "****") && !strings.Contains(out.Err.Error(), "****") {
			t.Errorf("error %q shows no redaction", out.Err)
		}
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://discord.com/api/webhooks/123456/abcDEF-_tok", "https://discord.com/api/webhooks/123456/****"},
		{"https://discord.com/api/v10/webhooks/123456/tok?wait=true", "https://discord.com/api/v10/webhooks/123456/****?wait=true"},
		{"https://discord.com/api/webhooks/123456/tok/slack", "https://discord.com/api/webhooks/123456/****/slack"},
		{"https://ptb.discord.com/api/webhooks/1", "https://ptb.discord.com/api/webhooks/1"},
		{"https://hooks.slack.com/services/T00/B00/XXXX", "https://hooks.slack.com/services/T00/B00/****"},
		{"https://hooks.slack.com/triggers/T00/123/abc", "https://hooks.slack.com/triggers/T00/123/****"},
		{"http://127.0.0.1:8080/services/T/B/XXXX", "http://127.0.0.1:8080/services/T/B/****"},
		{"https://user:pw@example.com/hook?token=abc&key=k&x=1&signature=s", "https://example.com/hook?token=****&key=****&x=1&signature=****"},
		{"https://example.com/hook?api_key=abc#frag", "https://example.com/hook?api_key=****"},
		{"https://example.com/hook/2f0c8c1e-9f6b-4f7c-8a3e-1d2c3b4a5f60", "https://example.com/hook/****"},
		{"https://example.com/v1/events/2024-01-01", "https://example.com/v1/events/2024-01-01"},
		{"http://h:port/x/secret", "http://****"},
		{"http://example.com:80/%zz/" + canary, "http://example.com:80/****"},
		{"not a url at all %zz", "****"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	bg := context.Background()
	canceled, cancel := context.WithCancel(bg)
	cancel()
	tests := []struct {
		name    string
		err     error
		ctx     context.Context
		timeout bool
		class   string
	}{
		{"dns", &net.DNSError{Err: "no such host", Name: "nope.invalid", IsNotFound: true}, bg, false, ClassDNS},
		{"dns timeout with our deadline", &net.DNSError{Err: "timeout", Name: "x", IsTimeout: true}, bg, true, ClassTimeout},
		{"net timeout", &net.OpError{Op: "dial", Err: timeoutErr{}}, bg, false, ClassTimeout},
		{"deadline", context.DeadlineExceeded, bg, false, ClassTimeout},
		{"canceled", context.Canceled, canceled, false, ClassCanceled},
		{"eof", io.EOF, bg, false, ClassReset},
		{"unexpected eof", io.ErrUnexpectedEOF, bg, false, ClassReset},
		{"tls", errors.New("tls: handshake failure"), bg, false, ClassTLS},
		{"malformed", errors.New(`malformed HTTP status code "2OO"`), bg, false, ClassMalformed},
		{"malformed header", errors.New("net/http: malformed MIME header line: x"), bg, false, ClassMalformed},
		{"malformed chunks", fmt.Errorf("read: %w", errors.New("malformed chunked encoding")), bg, false, ClassMalformed},
		{"idle closed", errors.New("http: server closed idle connection"), bg, false, ClassReset},
		{"other", errors.New("something else"), bg, false, ""},
	}
	for _, tt := range tests {
		if c, _ := classify(tt.err, tt.ctx, tt.timeout, time.Second); c != tt.class {
			t.Errorf("%s: class %q, want %q", tt.name, c, tt.class)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestStatusDetail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		flavor, ct, body, want string
		code                   int
	}{
		{"discord", "application/json", `{"message":"Unknown Webhook","code":10015}`, "Discord code 10015: Unknown Webhook", 10015},
		{"discord", "application/json", `{"message":"You are being rate limited.","retry_after":1.5,"global":true}`, "Discord: You are being rate limited. (global)", 0},
		{"discord", "text/html", "<html>bad gateway</html>", "", 0},
		{"slack", "text/plain", "channel_not_found\n", "Slack: channel_not_found", 0},
		{"generic", "text/plain", strings.Repeat("x", 500), strings.Repeat("x", maxDetail) + "…", 0},
		{"generic", "", "", "", 0},
	}
	for _, tt := range tests {
		got, code, _ := statusDetail(tt.flavor, 400, tt.ct, []byte(tt.body))
		if got != tt.want || code != tt.code {
			t.Errorf("statusDetail(%s, %q) = %q, %d; want %q, %d", tt.flavor, tt.body, got, code, tt.want, tt.code)
		}
	}
}
