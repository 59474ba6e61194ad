package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/notify"
	"github.com/runplan/runplan/engine/redact"
	"github.com/runplan/runplan/engine/report"
)

// secretReport is a report of a run that did not start, whose texts carry
// secrets: a credential in a URL, a signed callback, a registered value.
func secretReport() *report.Report {
	score := 0.0
	return &report.Report{
		Plan: report.PlanInfo{Name: "notify-secrets"}, RunID: "r1", Verdict: "not_ready", Score: &score,
		Partial: true, NotStarted: true,
		Error: "target cache (redis://app:CANARYpw@127.0.0.1:1): NOAUTH Authentication required.",
		Checks: []report.Check{{Name: "delivered", Expr: "w.success_rate > 0.9", Display: "n/a",
			Error: "no data from https://h/cb?code=CANARYcode"}},
		Recommendations: []string{"rotate CANARYvalue-registered"},
	}
}

// The bodies posted to a notification target carry no secret: every
// flavor's message is masked before it is sent.
func TestNotifyMasksBodies(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	red := redact.New()
	red.Add("CANARYvalue-registered")
	var to []notify.Notification
	for _, flavor := range []string{"discord", "slack", "generic"} {
		to = append(to, notify.Notification{URL: srv.URL + "/" + flavor, Flavor: flavor})
	}
	if errs := notify.Send(context.Background(), secretReport(), to, red); len(errs) > 0 {
		t.Fatal(errs)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != len(to) {
		t.Fatalf("%d bodies received, want %d", len(bodies), len(to))
	}
	for _, b := range bodies {
		if strings.Contains(b, "CANARY") {
			t.Errorf("a body carries a secret: %s", b)
		}
		if !strings.Contains(b, "****") {
			t.Errorf("a body has nothing masked; the test does not test what it says: %s", b)
		}
	}
}

// A notification that cannot be delivered fails with an error that does
// not print the notification URL's token, with or without a Redactor.
func TestNotifyErrorsHideTheURL(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	for _, red := range []*redact.Redactor{nil, redact.New()} {
		to := []notify.Notification{{URL: "http://" + closed + "/hooks/CANARYtok3n", Always: true}}
		errs := notify.Send(context.Background(), secretReport(), to, red)
		if len(errs) != 1 {
			t.Fatalf("%d errors, want 1", len(errs))
		}
		if msg := errs[0].Error(); strings.Contains(msg, "CANARY") || !strings.Contains(msg, closed) {
			t.Errorf("error %q: want the address without the token", msg)
		}
		for e := errors.Unwrap(errs[0]); e != nil; e = errors.Unwrap(e) {
			if strings.Contains(e.Error(), "CANARY") {
				t.Errorf("an error it wraps prints the token: %v", e)
			}
		}
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    notify.Notification
		want string // empty: valid
	}{
		{notify.Notification{URL: "https://discord.com/api/webhooks/1/CANARYtok"}, ""},
		{notify.Notification{URL: "https://hooks.slack.com/services/T0/B0/CANARY"}, ""},
		{notify.Notification{URL: "http://127.0.0.1:9/hook/CANARY", Flavor: "generic"}, ""},
		{notify.Notification{URL: "ftp://127.0.0.1:9/hook/CANARY"}, "http or https"},
		{notify.Notification{URL: "https:///api/webhooks/1/CANARYtok"}, "no host"},
		{notify.Notification{URL: "http://127.0.0.1:port/CANARY"}, "does not parse"},
		{notify.Notification{URL: "http://127.0.0.1:9/CANARY", Flavor: "teams"}, `flavor "teams"`},
	}
	for _, tc := range tests {
		err := notify.Check(tc.n)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.n, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: error %v, want one saying %q", tc.n, err, tc.want)
		case err != nil && strings.Contains(err.Error(), "CANARY"):
			t.Errorf("%+v: the error prints the token: %v", tc.n, err)
		}
	}
}

func TestFlavor(t *testing.T) {
	t.Parallel()
	tests := []struct{ url, want string }{
		{"https://discord.com/api/webhooks/1/CANARYtok", notify.Discord},
		{"https://discord.com/api/v10/webhooks/1/CANARYtok", notify.Discord},
		{"https://discordapp.com/api/webhooks/1/CANARYtok", notify.Discord},
		{"http://127.0.0.1:9/api/webhooks/1/CANARYtok", notify.Discord}, // the webhook driver's sink
		{"https://hooks.slack.com/services/T0/B0/CANARY", notify.Slack},
		{"https://Hooks.Slack.com/services/T0/B0/CANARY", notify.Slack},
		{"https://example.com/relay/hooks.slack.com/x", notify.Generic},
		{"https://example.com/relay/api/webhooks/1/x", notify.Generic},
		{"https://example.com/hook", notify.Generic},
		{"http://127.0.0.1:port/api/webhooks/1/x", notify.Generic}, // does not parse
	}
	for _, tc := range tests {
		if got := notify.Flavor(tc.url); got != tc.want {
			t.Errorf("Flavor(%q) = %s, want %s", tc.url, got, tc.want)
		}
	}
}

// hook is a webhook service: it answers each request with the next of its
// answers (the last one repeats) and keeps what it received.
type hook struct {
	mu      sync.Mutex
	answers []func(w http.ResponseWriter)
	reqs    []*http.Request
	bodies  [][]byte
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	n := len(h.reqs)
	h.reqs, h.bodies = append(h.reqs, r), append(h.bodies, b)
	answer := h.answers[min(n, len(h.answers)-1)]
	h.mu.Unlock()
	answer(w)
}

func (h *hook) received() ([]*http.Request, [][]byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reqs, h.bodies
}

func status(code int, body string, header ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

// A notification posts to a real server with no driver registered: the
// package has an HTTP client of its own.
func TestSendNeedsNoDriver(t *testing.T) {
	t.Parallel()
	if d := driver.Drivers(); len(d) > 0 {
		t.Fatalf("drivers %v are registered: the test does not test what it says", d)
	}
	h := &hook{answers: []func(http.ResponseWriter){status(http.StatusNoContent, "")}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	score := 42.0
	// Report text reaches the service as written, `{{` included: nothing
	// reads it as a template.
	r := &report.Report{Plan: report.PlanInfo{Name: "p {{ vu }}"}, RunID: "r9", Verdict: "not_ready", Score: &score, Valid: true,
		Checks: []report.Check{{Name: "fast", Expr: "w.latency.p99 < ms(5)", Display: "9ms"}}}
	to := []notify.Notification{{URL: srv.URL + "/hook"}}
	if errs := notify.Send(context.Background(), r, to, nil); len(errs) > 0 {
		t.Fatal(errs)
	}
	reqs, bodies := h.received()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	q := reqs[0]
	if q.Method != http.MethodPost || q.URL.Path != "/hook" || q.Header.Get("Content-Type") != "application/json" || q.Header.Get("User-Agent") != "runplan" {
		t.Errorf("request %s %s, headers %v", q.Method, q.URL, q.Header)
	}
	var m map[string]any
	if err := json.Unmarshal(bodies[0], &m); err != nil {
		t.Fatalf("body %s: %v", bodies[0], err)
	}
	if m["run_id"] != "r9" || m["verdict"] != "not_ready" || m["score"] != 42.0 || m["plan"] != "p {{ vu }}" {
		t.Errorf("generic body %s", bodies[0])
	}
	// A run that did not fail is posted only to notifications that want
	// every outcome.
	ready := &report.Report{Plan: report.PlanInfo{Name: "p"}, RunID: "r10", Verdict: "ready", Valid: true}
	if errs := notify.Send(context.Background(), ready, to, nil); len(errs) > 0 {
		t.Fatal(errs)
	}
	if reqs, _ := h.received(); len(reqs) != 1 {
		t.Errorf("a ready run was posted without when: always")
	}
}

// The client retries what a webhook service asks to be retried (a 5xx, a
// 429 after its retry_after) and reports the rest in the service's words.
func TestSendAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		path    string // discord, slack or generic by the URL
		answers []func(http.ResponseWriter)
		reqs    int
		err     string // empty: delivered
	}{
		{"delivered", "/api/webhooks/1/CANARYtok", []func(http.ResponseWriter){status(204, "")}, 1, ""},
		{"5xx retried", "/hook/CANARYtok", []func(http.ResponseWriter){status(503, "busy"), status(200, "")}, 2, ""},
		{"429 waited out", "/api/webhooks/1/CANARYtok", []func(http.ResponseWriter){
			status(429, `{"message":"You are being rate limited.","retry_after":0.05,"global":false}`, "Content-Type", "application/json"),
			status(204, "")}, 2, ""},
		{"deleted webhook", "/api/webhooks/1/CANARYtok", []func(http.ResponseWriter){
			status(404, `{"message":"Unknown Webhook","code":10015}`, "Content-Type", "application/json")}, 1,
			"status 404 (Discord code 10015: Unknown Webhook)"},
		{"error text", "/hook/CANARYtok", []func(http.ResponseWriter){status(403, "invalid_token")}, 1,
			"status 403 (invalid_token)"},
		{"5xx to the end", "/hook/CANARYtok", []func(http.ResponseWriter){status(500, "<html>oops</html>", "Content-Type", "text/html")}, 4,
			"status 500 (after 4 attempts)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := &hook{answers: tc.answers}
			srv := httptest.NewServer(h)
			defer srv.Close()
			errs := notify.Send(context.Background(), secretReport(), []notify.Notification{{URL: srv.URL + tc.path}}, nil)
			reqs, _ := h.received()
			if len(reqs) != tc.reqs {
				t.Errorf("%d requests, want %d", len(reqs), tc.reqs)
			}
			switch {
			case tc.err == "" && len(errs) > 0:
				t.Errorf("not delivered: %v", errs)
			case tc.err != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.err)):
				t.Errorf("errors %v, want one saying %q", errs, tc.err)
			case len(errs) > 0 && strings.Contains(errs[0].Error(), "CANARY"):
				t.Errorf("the error prints the token: %v", errs[0])
			}
		})
	}
}

// Slack answers a delivered message with "ok": anything else is not a
// delivery.
func TestSendSlackWantsOK(t *testing.T) {
	t.Parallel()
	h := &hook{answers: []func(http.ResponseWriter){status(200, "no_text")}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	errs := notify.Send(context.Background(), secretReport(), []notify.Notification{{URL: srv.URL + "/services/T0/B0/CANARYtok", Flavor: notify.Slack}}, nil)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `without Slack's "ok": no_text`) {
		t.Errorf("errors %v", errs)
	}
}
