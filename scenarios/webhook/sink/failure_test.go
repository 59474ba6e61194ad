package sink

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// faultClient has a transport of its own. httptest.Server.Close calls
// CloseIdleConnections on http.DefaultTransport, which breaks a keep-alive
// connection another parallel test is about to reuse.
var faultClient = &http.Client{Transport: &http.Transport{}}

// Injected statuses answer the way the service does: a deleted Discord
// webhook is 404 code 10015, a bad token 401 code 50027, a rate limit 429
// with retry_after in the body and Retry-After in the headers.
func TestInjectedStatusesAnswerLikeTheService(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		flavor     string
		fault      Fault
		status     int
		body       string
		retryAfter string
	}{
		{"discord deleted webhook", FlavorDiscord, Fault{Status: 404}, 404, `"code":10015`, ""},
		{"discord bad token", FlavorDiscord, Fault{Status: 401}, 401, `"code":50027`, ""},
		{"discord rate limit", FlavorDiscord, Fault{Status: 429, RetryAfter: 2500 * time.Millisecond}, 429, `"retry_after":2.5`, "3"},
		{"discord outage", FlavorDiscord, Fault{Status: 503}, 503, `"message":"503: Service Unavailable"`, ""},
		{"slack rate limit", FlavorSlack, Fault{Status: 429}, 429, "rate_limited", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := New(Options{Flavor: tt.flavor})
			if err := s.Start("127.0.0.1:0"); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			s.SetFault(tt.fault)
			body := `{"content":"hello"}`
			if tt.flavor == FlavorSlack {
				body = `{"text":"hello"}`
			}
			resp, err := faultClient.Post(s.URL(), "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b strings.Builder
			buf := make([]byte, 4096)
			n, _ := resp.Body.Read(buf)
			b.Write(buf[:n])
			if resp.StatusCode != tt.status || !strings.Contains(b.String(), tt.body) {
				t.Fatalf("got %d %s; want %d with %s", resp.StatusCode, b.String(), tt.status, tt.body)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Fatalf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			if tt.flavor == FlavorDiscord && tt.status == 429 {
				var rl map[string]any
				if err := json.Unmarshal([]byte(b.String()), &rl); err != nil || rl["retry_after"] == nil {
					t.Fatalf("429 body %s", b.String())
				}
			}
		})
	}
}
