package engine_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/redact"
	"github.com/runplan/runplan/engine/report"
	_ "github.com/runplan/runplan/scenarios/all" // notifications post through the webhook driver
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
	var to []engine.Notification
	for _, flavor := range []string{"discord", "slack", "generic"} {
		to = append(to, engine.Notification{URL: srv.URL + "/" + flavor, Flavor: flavor})
	}
	if errs := engine.Notify(context.Background(), secretReport(), to, red); len(errs) > 0 {
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
		to := []engine.Notification{{URL: "http://" + closed + "/hooks/CANARYtok3n", Always: true}}
		errs := engine.Notify(context.Background(), secretReport(), to, red)
		if len(errs) != 1 {
			t.Fatalf("%d errors, want 1", len(errs))
		}
		if msg := errs[0].Error(); strings.Contains(msg, "CANARY") || !strings.Contains(msg, closed) {
			t.Errorf("error %q: want the address without the token", msg)
		}
	}
}

func TestCheckNotification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    engine.Notification
		want string // empty: valid
	}{
		{engine.Notification{URL: "https://discord.com/api/webhooks/1/CANARYtok"}, ""},
		{engine.Notification{URL: "https://hooks.slack.com/services/T0/B0/CANARY"}, ""},
		{engine.Notification{URL: "http://127.0.0.1:9/hook/CANARY", Flavor: "generic"}, ""},
		{engine.Notification{URL: "ftp://127.0.0.1:9/hook/CANARY"}, "http or https"},
		{engine.Notification{URL: "https:///api/webhooks/1/CANARYtok"}, "no host"},
		{engine.Notification{URL: "http://127.0.0.1:port/CANARY"}, "does not parse"},
		{engine.Notification{URL: "http://127.0.0.1:9/CANARY", Flavor: "teams"}, `flavor "teams"`},
	}
	for _, tc := range tests {
		err := engine.CheckNotification(tc.n)
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
