package sink_test

import (
	"encoding/json"
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
	resp, err := http.DefaultClient.Do(req)
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
		{name: "get", path: "/api/webhooks/{id}/{token}", method: http.MethodGet, status: 405, code: 0},
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
	s, srv := newServer(t, sink.Options{History: 3, Now: func() time.Time { return now }})
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
	if st := s.Stats(); st != (sink.Stats{Received: 6, Accepted: 5, Rejected: 1}) {
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
	if _, err := http.Post(u, "application/json", strings.NewReader(`{"content":"hi"}`)); err == nil {
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
	s, srv := newServer(t, sink.Options{History: 100})
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
