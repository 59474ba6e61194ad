package sink_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runplan/runplan/scenarios/webhook/sink"
)

// sinkClient has a transport of its own. httptest.Server.Close calls
// CloseIdleConnections on http.DefaultTransport, which breaks a keep-alive
// connection another parallel test is about to reuse.
var sinkClient = &http.Client{Transport: &http.Transport{}}

func newServer(t *testing.T, opts sink.Options) (*sink.Sink, *httptest.Server) {
	t.Helper()
	s := sink.New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func post(t *testing.T, url, contentType, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := sinkClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

type apiError struct {
	Message string         `json:"message"`
	Code    *int           `json:"code"`
	Errors  map[string]any `json:"errors"`
}

func TestExecuteWebhook(t *testing.T) {
	t.Parallel()
	const appJSON = "application/json"
	tests := []struct {
		name        string
		path        string // relative to the server; {id} and {token} are replaced
		method      string
		contentType string
		body        string
		status      int
		code        int      // expected Discord code for errors, -1 for none
		errPath     []string // path in errors whose _errors must exist
		message     string
	}{
		{name: "no wait", path: "/api/webhooks/{id}/{token}", contentType: appJSON, body: `{"content":"hi"}`, status: 204, code: -1},
		{name: "v10", path: "/api/v10/webhooks/{id}/{token}", contentType: appJSON, body: `{"content":"hi"}`, status: 204, code: -1},
		{name: "charset", path: "/api/webhooks/{id}/{token}", contentType: "application/json; charset=utf-8", body: `{"content":"hi"}`, status: 204, code: -1},
		{name: "wait true", path: "/api/webhooks/{id}/{token}?wait=true", contentType: appJSON, body: `{"content":"hi"}`, status: 200, code: -1},
		{name: "wait True", path: "/api/webhooks/{id}/{token}?wait=True", contentType: appJSON, body: `{"content":"hi"}`, status: 200, code: -1},
		{name: "wait 1", path: "/api/webhooks/{id}/{token}?wait=1", contentType: appJSON, body: `{"content":"hi"}`, status: 200, code: -1},
		{name: "wait false", path: "/api/webhooks/{id}/{token}?wait=false", contentType: appJSON, body: `{"content":"hi"}`, status: 204, code: -1},
		{name: "embeds only", path: "/api/webhooks/{id}/{token}", contentType: appJSON, body: `{"embeds":[{"title":"t"}]}`, status: 204, code: -1},
		{name: "content 2000", path: "/api/webhooks/{id}/{token}", contentType: appJSON, body: `{"content":"` + strings.Repeat("a", 2000) + `"}`, status: 204, code: -1},
		{name: "content 2000 runes", path: "/api/webhooks/{id}/{token}", contentType: appJSON, body: `{"content":"` + strings.Repeat("é", 2000) + `"}`, status: 204, code: -1},
		{name: "unknown id", path: "/api/webhooks/42/{token}", contentType: appJSON, body: `{"content":"hi"}`, status: 404, code: 10015, message: "Unknown Webhook"},
		{name: "wrong token", path: "/api/webhooks/{id}/nope", contentType: appJSON, body: `{"content":"hi"}`, status: 401, code: 50027, message: "Invalid Webhook Token"},
		{name: "text content type", path: "/api/webhooks/{id}/{token}", contentType: "text/plain", body: `{"content":"hi"}`, status: 400, code: 50035, errPath: []string{}},
		{name: "no content type", path: "/api/webhooks/{id}/{token}", body: `{"content":"hi"}`, status: 400, code: 50035},
		{name: "invalid json", path: "/api/webhooks/{id}/{token}", contentType: appJSON, body: `{"content":`, status: 400, code: 50109},
		{name: "not an object", path: "/api/webhooks/{id}/{token}", contentType: appJSON, body: `[1]`, status: 400, code: 50035},
		{name: "empty object", path: "/api/webhooks/{id}/{token}", contentType: appJSON, body: `{}`, status: 400, code: 50006, message: "Cannot send an empty message"},
		{name: "empty content", path: "/api/webhooks/{id}/{token}", contentType: appJSON, body: `{"content":"  ","embeds":[]}`, status: 400, code: 50006},
		{name: "content too long", path: "/api/webhooks/{id}/{token}", contentType: appJSON, body: `{"content":"` + strings.Repeat("a", 2001) + `"}`, status: 400, code: 50035, errPath: []string{"content"}, message: "Invalid Form Body"},
		{name: "content not a string", path: "/api/webhooks/{id}/{token}", contentType: appJSON, body: `{"content":5}`, status: 400, code: 50035, errPath: []string{"content"}},
		{name: "too many embeds", path: "/api/webhooks/{id}/{token}", contentType: appJSON, body: `{"embeds":[{},{},{},{},{},{},{},{},{},{},{}]}`, status: 400, code: 50035, errPath: []string{"embeds"}},
		{name: "embed not an object", path: "/api/webhooks/{id}/{token}", contentType: appJSON, body: `{"embeds":[{"title":"a"},3]}`, status: 400, code: 50035, errPath: []string{"embeds", "1"}},
		{name: "put", path: "/api/webhooks/{id}/{token}", method: http.MethodPut, status: 405, code: 0},
		{name: "post to a message", path: "/api/webhooks/{id}/{token}/messages/1", contentType: appJSON, body: `{"content":"hi"}`, status: 405, code: 0},
		{name: "unknown message", path: "/api/webhooks/{id}/{token}/messages/1", method: http.MethodGet, status: 404, code: 10008, message: "Unknown Message"},
		{name: "unknown route", path: "/api/channels/1/messages", contentType: appJSON, body: `{"content":"hi"}`, status: 404, code: 0},
		{name: "root", path: "/", status: 404, code: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, srv := newServer(t, sink.Options{})
			path := strings.NewReplacer("{id}", s.WebhookID(), "{token}", s.Token()).Replace(tt.path)
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tt.status, body)
			}
			st := s.Stats()
			if st.Received != 1 {
				t.Errorf("Stats().Received = %d, want 1", st.Received)
			}
			switch {
			case tt.status == 204:
				if len(body) != 0 {
					t.Errorf("204 with a body: %q", body)
				}
				if st.Accepted != 1 || len(s.Messages()) != 1 {
					t.Errorf("accepted %d, %d messages; want 1, 1", st.Accepted, len(s.Messages()))
				}
			case tt.status == 200:
				checkMessageObject(t, s, body)
			default:
				if st.Rejected != 1 || len(s.Messages()) != 0 {
					t.Errorf("rejected %d, %d messages; want 1, 0", st.Rejected, len(s.Messages()))
				}
				if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				var e apiError
				if err := json.Unmarshal(body, &e); err != nil {
					t.Fatalf("error body %q: %v", body, err)
				}
				if e.Code == nil || *e.Code != tt.code {
					t.Errorf("code %v, want %d (body %s)", e.Code, tt.code, body)
				}
				if tt.message != "" && e.Message != tt.message {
					t.Errorf("message %q, want %q", e.Message, tt.message)
				}
				if tt.errPath != nil {
					node := e.Errors
					for _, p := range tt.errPath {
						next, ok := node[p].(map[string]any)
						if !ok {
							t.Fatalf("errors has no %v: %s", tt.errPath, body)
						}
						node = next
					}
					if list, ok := node["_errors"].([]any); !ok || len(list) == 0 {
						t.Errorf("no _errors at %v: %s", tt.errPath, body)
					}
				}
			}
		})
	}
}

func checkMessageObject(t *testing.T, s *sink.Sink, body []byte) {
	t.Helper()
	var m struct {
		ID        string            `json:"id"`
		ChannelID string            `json:"channel_id"`
		Content   string            `json:"content"`
		Timestamp string            `json:"timestamp"`
		Embeds    []json.RawMessage `json:"embeds"`
		WebhookID string            `json:"webhook_id"`
		Author    struct {
			ID       string `json:"id"`
			Username string `json:"username"`
			Bot      bool   `json:"bot"`
		} `json:"author"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("message object %q: %v", body, err)
	}
	if !regexp.MustCompile(`^[0-9]{17,20}$`).MatchString(m.ID) {
		t.Errorf("id %q is not snowflake-like", m.ID)
	}
	if m.ChannelID != sink.DefaultChannelID || m.WebhookID != s.WebhookID() || m.Author.ID != s.WebhookID() {
		t.Errorf("ids: channel %q webhook %q author %q", m.ChannelID, m.WebhookID, m.Author.ID)
	}
	if m.Content != "hi" || m.Embeds == nil || m.Author.Username != sink.DefaultUsername || !m.Author.Bot {
		t.Errorf("message %s", body)
	}
	if _, err := time.Parse(time.RFC3339Nano, m.Timestamp); err != nil {
		t.Errorf("timestamp %q: %v", m.Timestamp, err)
	}
	msgs := s.Messages()
	if len(msgs) != 1 || msgs[0].ID != m.ID {
		t.Errorf("recorded %+v, want the message %s", msgs, m.ID)
	}
}

func TestMessagesRecorded(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	s, srv := newServer(t, sink.Options{History: 3, Now: func() time.Time { return now }, RateLimit: sink.NoLimit})
	u := s.WebhookURL(srv.URL)
	for i, c := range []string{"a", "b", "c", "d", "e"} {
		body := `{"content":"` + c + `","username":"u` + c + `"}`
		if i == 4 {
			u += "?thread_id=77"
		}
		if status, b := post(t, u, "application/json", body); status != 204 {
			t.Fatalf("status %d: %s", status, b)
		}
	}
	post(t, u, "application/json", `{}`)
	msgs := s.Messages()
	var got []string
	for _, m := range msgs {
		got = append(got, m.Content+"/"+m.Username)
	}
	if strings.Join(got, ",") != "c/uc,d/ud,e/ue" {
		t.Errorf("messages %v, want the last three in order", got)
	}
	if msgs[2].ThreadID != "77" || !msgs[2].Received.Equal(now) {
		t.Errorf("last message %+v", msgs[2])
	}
	// The clock does not move: ids must still be unique and increasing.
	if !(msgs[0].ID < msgs[1].ID && msgs[1].ID < msgs[2].ID) {
		t.Errorf("ids not increasing: %s %s %s", msgs[0].ID, msgs[1].ID, msgs[2].ID)
	}
	if st := s.Stats(); st != (sink.Stats{Received: 6, Accepted: 5, Rejected: 1, Delivered: 5}) {
		t.Errorf("stats %+v", st)
	}
}

func TestUsernameInMessageObject(t *testing.T) {
	t.Parallel()
	s, srv := newServer(t, sink.Options{})
	status, b := post(t, s.WebhookURL(srv.URL)+"?wait=true", "application/json", `{"content":"x","username":"bot-7","embeds":[{"title":"t"}]}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, b)
	}
	var m struct {
		Author struct{ Username string } `json:"author"`
		Embeds []map[string]any          `json:"embeds"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Author.Username != "bot-7" || len(m.Embeds) != 1 || m.Embeds[0]["title"] != "t" {
		t.Errorf("message object %s", b)
	}
}

func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	s, srv := newServer(t, sink.Options{MaxBodyBytes: 64})
	status, b := post(t, s.WebhookURL(srv.URL), "application/json", `{"content":"`+strings.Repeat("a", 100)+`"}`)
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "40005") {
		t.Errorf("status %d, body %s", status, b)
	}
}

func TestStartAndClose(t *testing.T) {
	t.Parallel()
	s := sink.New(sink.Options{Token: "fixed-token"})
	if s.URL() != "" {
		t.Errorf("URL before Start = %q", s.URL())
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err == nil {
		t.Error("second Start succeeded")
	}
	u := s.URL()
	if !regexp.MustCompile(`^http://127\.0\.0\.1:[0-9]+/api/webhooks/` + sink.DefaultWebhookID + `/fixed-token$`).MatchString(u) {
		t.Errorf("URL %q", u)
	}
	if status, b := post(t, u, "application/json", `{"content":"hi"}`); status != 204 {
		t.Errorf("status %d: %s", status, b)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Start("127.0.0.1:0"); err == nil {
		t.Error("Start after Close succeeded")
	}
	if _, err := sinkClient.Post(u, "application/json", strings.NewReader(`{"content":"hi"}`)); err == nil {
		t.Error("the sink still answers after Close")
	}
}

func TestRandomTokens(t *testing.T) {
	t.Parallel()
	a, b := sink.New(sink.Options{}), sink.New(sink.Options{})
	if a.Token() == b.Token() || len(a.Token()) != 68 {
		t.Errorf("tokens %q, %q", a.Token(), b.Token())
	}
}

func TestConcurrent(t *testing.T) {
	t.Parallel()
	s, srv := newServer(t, sink.Options{History: 100, RateLimit: sink.NoLimit, GlobalLimit: sink.NoLimit})
	u := s.WebhookURL(srv.URL) + "?wait=true"
	const n = 200
	var wg sync.WaitGroup
	ids := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := srv.Client().Post(u, "application/json", strings.NewReader(`{"content":"c"}`))
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var m struct{ ID string }
			if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
				t.Error(err)
			}
			ids[i] = m.ID
		}()
		go func() { _ = s.Stats(); _ = s.Messages() }()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
	}
	if st := s.Stats(); st.Accepted != n || st.Received != n {
		t.Errorf("stats %+v", st)
	}
	if len(s.Messages()) != 100 {
		t.Errorf("%d messages kept, want 100", len(s.Messages()))
	}
}

func TestParseLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want sink.Limit
		bad  bool
	}{
		{in: "5/2s", want: sink.Limit{Count: 5, Per: 2 * time.Second}},
		{in: "30/1m", want: sink.Limit{Count: 30, Per: time.Minute}},
		{in: "50/s", want: sink.Limit{Count: 50, Per: time.Second}},
		{in: " 2 / h ", want: sink.Limit{Count: 2, Per: time.Hour}},
		{in: "off", want: sink.NoLimit},
		{in: "5", bad: true},
		{in: "0/s", bad: true},
		{in: "x/s", bad: true},
		{in: "5/0s", bad: true},
		{in: "5/soon", bad: true},
	}
	for _, tt := range tests {
		got, err := sink.ParseLimit(tt.in)
		if (err != nil) != tt.bad || (!tt.bad && got != tt.want) {
			t.Errorf("ParseLimit(%q) = %v, %v", tt.in, got, err)
		}
		if !tt.bad {
			if back, err := sink.ParseLimit(got.String()); err != nil || back != got {
				t.Errorf("%v does not round-trip: %v %v", got, back, err)
			}
		}
	}
}

func TestOptionsCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		opts sink.Options
		want string
	}{
		{sink.Options{Flavor: "teams"}, `unknown flavor "teams"`},
		{sink.Options{Token: "a/b"}, "the token must not hold"},
		{sink.Options{RateLimit: sink.Limit{Count: 3}}, "the period must be positive"},
		{sink.Options{Signing: sink.SigningGitHub, Secret: "x"}, "needs the generic flavor"},
		{sink.Options{Flavor: sink.FlavorGeneric, Signing: sink.SigningGitHub}, "needs a secret"},
		{sink.Options{Flavor: sink.FlavorGeneric, Signing: sink.SigningStandard, Secret: "whsec_%%%"}, "followed by base64"},
		{sink.Options{Flavor: sink.FlavorGeneric, Signing: "hmac", Secret: "x"}, `unknown signing scheme "hmac"`},
	}
	for _, tt := range tests {
		err := tt.opts.Check()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Check(%+v) = %v, want %q", tt.opts, err, tt.want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("New accepted invalid options")
		}
	}()
	sink.New(sink.Options{Flavor: "teams"})
}

// clock is a settable clock for sinks.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func do(t *testing.T, method, url string, h map[string]string, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := sinkClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

var jsonCT = map[string]string{"Content-Type": "application/json"}

// Discord's bucket: the headers of every answer, then 429 with its body and
// headers, then a fresh window.
func TestDiscordBucket(t *testing.T) {
	t.Parallel()
	c := newClock()
	s, srv := newServer(t, sink.Options{Now: c.Now})
	u := s.WebhookURL(srv.URL)
	for i := range 5 {
		resp, b := do(t, "POST", u, jsonCT, `{"content":"hi"}`)
		h := resp.Header
		if resp.StatusCode != 204 || h.Get("X-RateLimit-Limit") != "5" || h.Get("X-RateLimit-Remaining") != fmt.Sprint(4-i) ||
			h.Get("X-RateLimit-Reset-After") != fmt.Sprintf("%.3f", 2-0.1*float64(i)) || h.Get("X-RateLimit-Bucket") == "" || h.Get("X-RateLimit-Reset") != "1740830402.000" {
			t.Fatalf("request %d: %d %s %v", i, resp.StatusCode, b, h)
		}
		c.Add(100 * time.Millisecond)
	}
	// Invalid payloads count against the bucket too.
	resp, b := do(t, "POST", u, jsonCT, `{}`)
	if resp.StatusCode != 429 {
		t.Fatalf("6th request: %d %s", resp.StatusCode, b)
	}
	var body struct {
		Message    string  `json:"message"`
		RetryAfter float64 `json:"retry_after"`
		Global     bool    `json:"global"`
	}
	if err := json.Unmarshal(b, &body); err != nil || body.Message != "You are being rate limited." || body.RetryAfter != 1.5 || body.Global {
		t.Errorf("429 body %s", b)
	}
	if h := resp.Header; h.Get("Retry-After") != "2" || h.Get("X-RateLimit-Scope") != "user" || h.Get("X-RateLimit-Remaining") != "0" || h.Get("X-RateLimit-Global") != "" {
		t.Errorf("429 headers %v", h)
	}
	c.Add(1500 * time.Millisecond)
	if resp, b := do(t, "POST", u, jsonCT, `{"content":"again"}`); resp.StatusCode != 204 || resp.Header.Get("X-RateLimit-Remaining") != "4" {
		t.Errorf("new window: %d %s %v", resp.StatusCode, b, resp.Header)
	}
	if st := s.Stats(); st.RateLimited != 1 || st.Accepted != 6 || st.Rejected != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestDiscordGlobalAndChannelLimits(t *testing.T) {
	t.Parallel()
	c := newClock()
	s, srv := newServer(t, sink.Options{Now: c.Now, RateLimit: sink.NoLimit,
		GlobalLimit:  sink.Limit{Count: 3, Per: time.Second},
		ChannelLimit: sink.Limit{Count: 1, Per: time.Minute}})
	u := s.WebhookURL(srv.URL)
	if resp, b := do(t, "POST", u, jsonCT, `{"content":"1"}`); resp.StatusCode != 204 || resp.Header.Get("X-RateLimit-Limit") != "" {
		t.Fatalf("%d %s %v", resp.StatusCode, b, resp.Header)
	}
	// An invalid message does not reach the channel limit.
	if resp, _ := do(t, "POST", u, jsonCT, `{}`); resp.StatusCode != 400 {
		t.Fatalf("empty message: %d", resp.StatusCode)
	}
	resp, b := do(t, "POST", u, jsonCT, `{"content":"2"}`)
	if resp.StatusCode != 429 || resp.Header.Get("X-RateLimit-Scope") != "shared" || !strings.Contains(string(b), `"code":20028`) || !strings.Contains(string(b), `"global":false`) {
		t.Fatalf("channel limit: %d %s %v", resp.StatusCode, b, resp.Header)
	}
	resp, b = do(t, "POST", u, jsonCT, `{"content":"3"}`)
	if resp.StatusCode != 429 || resp.Header.Get("X-RateLimit-Global") != "true" || resp.Header.Get("X-RateLimit-Scope") != "global" || !strings.Contains(string(b), `"global":true`) {
		t.Fatalf("global limit: %d %s %v", resp.StatusCode, b, resp.Header)
	}
	// Even a bad token meets the global limit first.
	if resp, _ := do(t, "POST", srv.URL+"/api/webhooks/"+s.WebhookID()+"/bad", jsonCT, `{"content":"x"}`); resp.StatusCode != 429 {
		t.Errorf("bad token under the global limit: %d", resp.StatusCode)
	}
	c.Add(time.Second)
	if resp, _ := do(t, "POST", srv.URL+"/api/webhooks/"+s.WebhookID()+"/bad", jsonCT, `{"content":"x"}`); resp.StatusCode != 401 {
		t.Errorf("bad token: %d", resp.StatusCode)
	}
}

func TestDiscordPayloads(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name, ct, body string
		status         int
		errPath        []string
		code           string
	}{
		{name: "embed title", body: `{"embeds":[{"title":"` + long(257) + `"}]}`, status: 400, errPath: []string{"embeds", "0", "title"}, code: "BASE_TYPE_MAX_LENGTH"},
		{name: "embed description", body: `{"embeds":[{"description":"` + long(4097) + `"}]}`, status: 400, errPath: []string{"embeds", "0", "description"}},
		{name: "embed fields", body: `{"embeds":[{"fields":[` + strings.Repeat(`{"name":"n","value":"v"},`, 25) + `{"name":"n","value":"v"}]}]}`, status: 400, errPath: []string{"embeds", "0", "fields"}},
		{name: "field name missing", body: `{"embeds":[{"fields":[{"value":"v"}]}]}`, status: 400, errPath: []string{"embeds", "0", "fields", "0", "name"}, code: "BASE_TYPE_REQUIRED"},
		{name: "field value", body: `{"embeds":[{"fields":[{"name":"n","value":"` + long(1025) + `"}]}]}`, status: 400, errPath: []string{"embeds", "0", "fields", "0", "value"}},
		{name: "footer", body: `{"embeds":[{"footer":{"text":"` + long(2049) + `"}}]}`, status: 400, errPath: []string{"embeds", "0", "footer", "text"}},
		{name: "author", body: `{"embeds":[{"author":{"name":"` + long(257) + `"}}]}`, status: 400, errPath: []string{"embeds", "0", "author", "name"}},
		{name: "title type", body: `{"embeds":[{"title":5}]}`, status: 400, errPath: []string{"embeds", "0", "title"}, code: "BASE_TYPE_STRING"},
		{name: "total", body: `{"embeds":[{"description":"` + long(4000) + `"},{"description":"` + long(2001) + `"}]}`, status: 400, errPath: []string{"embeds"}, code: "MAX_EMBED_SIZE_EXCEEDED"},
		{name: "total at limit", body: `{"embeds":[{"description":"` + long(4000) + `"},{"description":"` + long(2000) + `"}]}`, status: 204},
		{name: "username", body: `{"content":"x","username":"` + long(81) + `"}`, status: 400, errPath: []string{"username"}, code: "BASE_TYPE_BAD_LENGTH"},
		{name: "multipart", ct: "multipart/form-data; boundary=XX", body: "--XX\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n\r\n{\"content\":\"mp\"}\r\n--XX--\r\n", status: 204},
		{name: "multipart file only", ct: "multipart/form-data; boundary=XX", body: "--XX\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"a.txt\"\r\n\r\nhello\r\n--XX--\r\n", status: 204},
		{name: "multipart empty", ct: "multipart/form-data; boundary=XX", body: "--XX--\r\n", status: 400},
		{name: "multipart broken", ct: "multipart/form-data; boundary=XX", body: "garbage", status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, srv := newServer(t, sink.Options{})
			ct := tt.ct
			if ct == "" {
				ct = "application/json"
			}
			resp, b := do(t, "POST", s.WebhookURL(srv.URL), map[string]string{"Content-Type": ct}, tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if tt.errPath == nil {
				return
			}
			var e apiError
			if err := json.Unmarshal(b, &e); err != nil || e.Code == nil || *e.Code != 50035 {
				t.Fatalf("body %s", b)
			}
			node := e.Errors
			for _, p := range tt.errPath {
				next, ok := node[p].(map[string]any)
				if !ok {
					t.Fatalf("errors has no %v: %s", tt.errPath, b)
				}
				node = next
			}
			list, _ := node["_errors"].([]any)
			if len(list) == 0 {
				t.Fatalf("no _errors at %v: %s", tt.errPath, b)
			}
			if tt.code != "" && list[0].(map[string]any)["code"] != tt.code {
				t.Errorf("code %v, want %s", list[0], tt.code)
			}
		})
	}
}

func TestSlack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, path, method, ct, body string
		status                       int
		text                         string
	}{
		{name: "ok", body: `{"text":"hello"}`, status: 200, text: "ok"},
		{name: "blocks", body: `{"blocks":[{"type":"section"}]}`, status: 200, text: "ok"},
		{name: "form", ct: "application/x-www-form-urlencoded", body: `payload=%7B%22text%22%3A%22hi%22%7D`, status: 200, text: "ok"},
		{name: "no text", body: `{"username":"x"}`, status: 400, text: "no_text"},
		{name: "invalid json", body: `{"text":`, status: 400, text: "invalid_payload"},
		{name: "form without payload", ct: "application/x-www-form-urlencoded", body: `a=b`, status: 400, text: "invalid_payload"},
		{name: "too long", body: `{"text":"` + strings.Repeat("a", 40001) + `"}`, status: 400, text: "msg_too_long"},
		{name: "wrong token", path: "/services/" + sink.DefaultSlackID + "/nope", body: `{"text":"x"}`, status: 403, text: "invalid_token"},
		{name: "unknown", path: "/services/T1/B1/x", body: `{"text":"x"}`, status: 404, text: "no_service"},
		{name: "other path", path: "/api/webhooks/1/x", body: `{"text":"x"}`, status: 404, text: "no_service"},
		{name: "get", method: "GET", status: 405, text: "invalid_method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, srv := newServer(t, sink.Options{Flavor: sink.FlavorSlack})
			u := s.WebhookURL(srv.URL)
			if tt.path != "" {
				u = srv.URL + tt.path
			}
			method, ct := tt.method, tt.ct
			if method == "" {
				method = "POST"
			}
			if ct == "" {
				ct = "application/json"
			}
			resp, b := do(t, method, u, map[string]string{"Content-Type": ct}, tt.body)
			if resp.StatusCode != tt.status || string(b) != tt.text {
				t.Fatalf("%d %q, want %d %q", resp.StatusCode, b, tt.status, tt.text)
			}
			if tt.status == 200 {
				if m := s.Messages(); len(m) != 1 || (m[0].Content == "" && tt.name != "blocks") {
					t.Errorf("messages %+v", m)
				}
			}
		})
	}
	// The default bucket: 5 per 5 s, then 429 with Retry-After.
	s, srv := newServer(t, sink.Options{Flavor: sink.FlavorSlack, Now: newClock().Now})
	for range 5 {
		if resp, _ := do(t, "POST", s.WebhookURL(srv.URL), jsonCT, `{"text":"x"}`); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	resp, b := do(t, "POST", s.WebhookURL(srv.URL), jsonCT, `{"text":"x"}`)
	if resp.StatusCode != 429 || string(b) != "rate_limited" || resp.Header.Get("Retry-After") != "5" {
		t.Errorf("%d %q %v", resp.StatusCode, b, resp.Header)
	}
}

func TestGenericSignatures(t *testing.T) {
	t.Parallel()
	const std = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	key, err := sink.StandardKey(std)
	if err != nil {
		t.Fatal(err)
	}
	c := newClock()
	ts := fmt.Sprint(c.Now().Unix())
	body := `{"event":"x"}`
	stdHeaders := func(id, ts, sig string) map[string]string {
		return map[string]string{"webhook-id": id, "webhook-timestamp": ts, "webhook-signature": sig}
	}
	tests := []struct {
		name, scheme, secret string
		headers              map[string]string
		status               int
		word                 string
	}{
		{name: "unsigned sink", headers: nil, status: 204},
		{name: "github", scheme: sink.SigningGitHub, secret: "s", headers: map[string]string{"X-Hub-Signature-256": sink.SignGitHub("s", []byte(body))}, status: 204},
		{name: "github wrong", scheme: sink.SigningGitHub, secret: "s", headers: map[string]string{"X-Hub-Signature-256": sink.SignGitHub("t", []byte(body))}, status: 401, word: "invalid_signature"},
		{name: "github missing", scheme: sink.SigningGitHub, secret: "s", status: 401, word: "missing_signature"},
		{name: "standard", scheme: sink.SigningStandard, secret: std, headers: stdHeaders("msg_1", ts, sink.SignStandard(key, "msg_1", ts, []byte(body))), status: 204},
		{name: "standard several", scheme: sink.SigningStandard, secret: std, headers: stdHeaders("msg_1", ts, "v1,bad "+sink.SignStandard(key, "msg_1", ts, []byte(body))), status: 204},
		{name: "standard wrong id", scheme: sink.SigningStandard, secret: std, headers: stdHeaders("msg_2", ts, sink.SignStandard(key, "msg_1", ts, []byte(body))), status: 401, word: "invalid_signature"},
		{name: "standard old", scheme: sink.SigningStandard, secret: std, headers: stdHeaders("msg_1", fmt.Sprint(c.Now().Unix()-301), "v1,x"), status: 401, word: "timestamp_out_of_tolerance"},
		{name: "standard future", scheme: sink.SigningStandard, secret: std, headers: stdHeaders("msg_1", fmt.Sprint(c.Now().Unix()+301), "v1,x"), status: 401, word: "timestamp_out_of_tolerance"},
		{name: "standard missing", scheme: sink.SigningStandard, secret: std, headers: stdHeaders("msg_1", "", ""), status: 400, word: "missing_headers"},
		{name: "standard bad timestamp", scheme: sink.SigningStandard, secret: std, headers: stdHeaders("msg_1", "soon", "v1,x"), status: 400, word: "invalid_timestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, srv := newServer(t, sink.Options{Flavor: sink.FlavorGeneric, Signing: tt.scheme, Secret: tt.secret, Now: c.Now})
			resp, b := do(t, "POST", s.WebhookURL(srv.URL), tt.headers, body)
			if resp.StatusCode != tt.status || (tt.word != "" && string(b) != tt.word) {
				t.Fatalf("%d %q, want %d %q", resp.StatusCode, b, tt.status, tt.word)
			}
			if tt.status == 204 && (len(s.Messages()) != 1 || s.Messages()[0].Content != body) {
				t.Errorf("messages %+v", s.Messages())
			}
		})
	}
	s, srv := newServer(t, sink.Options{Flavor: sink.FlavorGeneric})
	if resp, b := do(t, "POST", srv.URL+"/hooks/wrong", nil, body); resp.StatusCode != 404 || string(b) != "not_found" {
		t.Errorf("wrong token: %d %q", resp.StatusCode, b)
	}
	if resp, _ := do(t, "DELETE", s.WebhookURL(srv.URL), nil, ""); resp.StatusCode != 405 {
		t.Errorf("DELETE: %d", resp.StatusCode)
	}
}

// Duplicates, order and receiver-side latency, from the headers the driver
// stamps.
func TestTracking(t *testing.T) {
	t.Parallel()
	c := newClock()
	s, srv := newServer(t, sink.Options{Now: c.Now, RateLimit: sink.NoLimit})
	u := s.WebhookURL(srv.URL)
	send := func(key string, sentAgo time.Duration) {
		h := map[string]string{"Content-Type": "application/json", sink.HeaderMessage: key,
			sink.HeaderSent: fmt.Sprint(c.Now().Add(-sentAgo).UnixNano())}
		if resp, b := do(t, "POST", u, h, `{"content":"x"}`); resp.StatusCode != 204 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
	}
	send("run/a/1", 10*time.Millisecond)
	send("run/a/3", 20*time.Millisecond)
	send("run/a/2", 30*time.Millisecond) // late
	send("run/a/3", 40*time.Millisecond) // again
	send("run/b/1", 50*time.Millisecond) // another stream
	st := s.Stats()
	if st.Delivered != 4 || st.Duplicates != 1 || st.OutOfOrder != 1 || st.Latency.Count != 4 {
		t.Fatalf("stats %+v", st)
	}
	near := func(d, want time.Duration) bool { return d >= want && d <= want+want/1000 } // 3 significant digits
	if !near(st.Latency.Max, 50*time.Millisecond) || !near(st.Latency.P50, 20*time.Millisecond) {
		t.Errorf("latency %+v", st.Latency)
	}
	msgs := s.Messages()
	if !msgs[3].Duplicate || msgs[2].Duplicate || msgs[2].Latency != 30*time.Millisecond {
		t.Errorf("messages %+v", msgs)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	client := &http.Client{Timeout: 500 * time.Millisecond}
	post := func(u string) (*http.Response, []byte, error) {
		resp, err := client.Post(u, "application/json", strings.NewReader(`{"content":"x","text":"x"}`))
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b, nil
	}
	tests := []struct {
		name    string
		flavor  string
		fault   sink.Fault
		status  int
		body    string
		errHas  string
		records int
	}{
		{name: "discord 503", fault: sink.Fault{Status: 503}, status: 503, body: `{"message":"503: Service Unavailable","code":0}`},
		{name: "slack 500", flavor: sink.FlavorSlack, fault: sink.Fault{Status: 500}, status: 500, body: "rollup_error"},
		{name: "generic 502", flavor: sink.FlavorGeneric, fault: sink.Fault{Status: 502}, status: 502, body: "Bad Gateway"},
		{name: "delivered then 500", fault: sink.Fault{Status: 500, Delivered: true}, status: 500, records: 1},
		{name: "delay", fault: sink.Fault{Delay: 30 * time.Millisecond}, status: 204, records: 1},
		{name: "reset", fault: sink.Fault{Reset: true}, errHas: "reset"},
		{name: "garbage", fault: sink.Fault{Garbage: true}, errHas: "malformed HTTP"},
		{name: "hang", fault: sink.Fault{Hang: true}, errHas: "Timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := tt.fault
			s, srv := newServer(t, sink.Options{Flavor: tt.flavor, Fault: &f})
			start := time.Now()
			resp, b, err := post(s.WebhookURL(srv.URL))
			switch {
			case tt.errHas != "":
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err %v, want %q", err, tt.errHas)
				}
			case err != nil:
				t.Fatal(err)
			case resp.StatusCode != tt.status || (tt.body != "" && string(b) != tt.body):
				t.Fatalf("%d %q, want %d %q", resp.StatusCode, b, tt.status, tt.body)
			}
			if time.Since(start) < tt.fault.Delay {
				t.Errorf("answered before the delay")
			}
			if n := len(s.Messages()); n != tt.records {
				t.Errorf("%d messages recorded, want %d", n, tt.records)
			}
			// The handler of a hung request returns once the client gave up.
			for deadline := time.Now().Add(30 * time.Second); s.Stats().Received != s.Stats().Accepted+s.Stats().Rejected; {
				if time.Now().After(deadline) {
					t.Fatalf("stats never settled: %+v", s.Stats())
				}
				time.Sleep(5 * time.Millisecond)
			}
			st := s.Stats()
			wantFaulted := uint64(1)
			if tt.fault.Delay > 0 && tt.fault.Status == 0 {
				wantFaulted = 0 // slow, but answered normally
			}
			if st.Faulted != wantFaulted {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestFaultRatioAndClear(t *testing.T) {
	t.Parallel()
	s, srv := newServer(t, sink.Options{RateLimit: sink.NoLimit, Fault: &sink.Fault{Status: 503, Ratio: 0.25}})
	var got []int
	for range 8 {
		status, _ := post(t, s.WebhookURL(srv.URL), "application/json", `{"content":"x"}`)
		got = append(got, status)
	}
	if fmt.Sprint(got) != "[204 204 204 503 204 204 204 503]" {
		t.Errorf("statuses %v: want every fourth faulted", got)
	}
	s.ClearFault()
	if status, _ := post(t, s.WebhookURL(srv.URL), "application/json", `{"content":"x"}`); status != 204 {
		t.Errorf("after ClearFault: %d", status)
	}
	s.SetFault(sink.Fault{Status: 500})
	if status, _ := post(t, s.WebhookURL(srv.URL), "application/json", `{"content":"x"}`); status != 500 {
		t.Errorf("after SetFault: %d", status)
	}
	defer func() {
		if recover() == nil {
			t.Error("SetFault accepted a ratio of 2")
		}
	}()
	s.SetFault(sink.Fault{Ratio: 2})
}

// OnRequest sees every answer, with the token masked.
func TestOnRequest(t *testing.T) {
	t.Parallel()
	var (
		mu    sync.Mutex
		infos []sink.RequestInfo
	)
	s, srv := newServer(t, sink.Options{Token: "tok3nSECRETvalue42", RateLimit: sink.NoLimit, OnRequest: func(ri sink.RequestInfo) {
		mu.Lock()
		infos = append(infos, ri)
		mu.Unlock()
	}})
	post(t, s.WebhookURL(srv.URL), "application/json", `{"content":"x"}`)
	post(t, s.WebhookURL(srv.URL), "application/json", `{}`)
	post(t, srv.URL+"/api/webhooks/"+s.WebhookID()+"/wrongTOKENvalue123456", "application/json", `{}`)
	mu.Lock()
	defer mu.Unlock()
	want := []struct {
		status, code int
	}{{204, 0}, {400, 50006}, {401, 50027}}
	if len(infos) != len(want) {
		t.Fatalf("infos %+v", infos)
	}
	for i, w := range want {
		ri := infos[i]
		if ri.Status != w.status || ri.Code != w.code || ri.Path != "/api/webhooks/"+s.WebhookID()+"/****" || ri.Method != "POST" {
			t.Errorf("info %d: %+v", i, ri)
		}
	}
}
