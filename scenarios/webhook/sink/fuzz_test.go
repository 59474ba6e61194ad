package sink

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzToken is the webhook token of the fuzzed sinks: short and known, so
// that the corpus reaches the handlers past the token check.
const fuzzToken = "fuzzT0ken"

// fuzzSecret signs the generic flavor's requests in the corpus.
const fuzzSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// fuzzNow is the sinks' clock: Standard Webhooks timestamps are checked
// against it.
var fuzzNow = time.Unix(1_700_000_000, 0)

// fuzzSinks are the sinks a request is fuzzed against, chosen by the input's
// first byte.
var fuzzSinks = []Options{
	{Flavor: FlavorDiscord},
	{Flavor: FlavorSlack},
	{Flavor: FlavorGeneric},
	{Flavor: FlavorGeneric, Signing: SigningGitHub, Secret: fuzzSecret},
	{Flavor: FlavorGeneric, Signing: SigningStandard, Secret: fuzzSecret},
}

// FuzzSinkRequest serves arbitrary requests — parsed from raw bytes by
// net/http's own server-side reader, as the sink's server does — and checks
// what the sink promises: no panic; one request counted, accepted or
// rejected; a message recorded exactly when the answer is a 2xx, within the
// flavor's limits; answers in the flavor's form (Discord's JSON, Slack's
// words); and a token never in the logged path.
func FuzzSinkRequest(f *testing.F) {
	discord := "/api/webhooks/" + DefaultWebhookID + "/" + fuzzToken
	slack := "/services/" + DefaultSlackID + "/" + fuzzToken
	req := func(method, path, ctype, body string, extra ...string) string {
		var b strings.Builder
		b.WriteString(method + " " + path + " HTTP/1.1\r\nHost: sink\r\n")
		if ctype != "" {
			b.WriteString("Content-Type: " + ctype + "\r\n")
		}
		for _, h := range extra {
			b.WriteString(h + "\r\n")
		}
		b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
		return b.String()
	}
	body := `{"event":"push"}`
	key, _ := StandardKey(fuzzSecret)
	ts := strconv.FormatInt(fuzzNow.Unix(), 10)
	for _, seed := range []struct {
		sink byte
		raw  string
	}{
		{0, req("POST", discord, "application/json", `{"content":"hi","embeds":[{"title":"t","fields":[{"name":"n","value":"v"}],"footer":{"text":"f"}}]}`, HeaderMessage+": s/1", HeaderSent+": 1699999999000000000")},
		{0, req("POST", discord+"?wait=true&thread_id=7", "application/json", `{"content":"hi","username":"u","tts":true}`)},
		{0, req("POST", discord, "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n\r\n{\"content\":\"mp\"}\r\n--b\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"a.txt\"\r\n\r\nabc\r\n--b--\r\n")},
		{0, req("POST", "/api/v10/webhooks/"+DefaultWebhookID+"/"+fuzzToken, "application/json", `{"embeds":[{"description":null},{}]}`)},
		{0, req("POST", discord, "text/plain", "x")},
		{0, req("GET", discord, "", "")},
		{0, req("POST", "/api/webhooks/1/"+fuzzToken, "application/json", `{"content":"x"}`)},
		{1, req("POST", slack, "application/json", `{"text":"alert","username":"u"}`)},
		{1, req("POST", slack, "application/x-www-form-urlencoded", "payload=%7B%22text%22%3A%22hi%22%7D")},
		{1, req("POST", slack, "application/json", `{"blocks":[{"type":"section"}]}`)},
		{2, req("POST", "/hooks/"+fuzzToken, "text/plain", "anything")},
		{2, req("PUT", "/hooks/"+fuzzToken, "application/json", body)},
		{3, req("POST", "/hooks/"+fuzzToken, "application/json", body, "X-Hub-Signature-256: "+SignGitHub(fuzzSecret, []byte(body)))},
		{4, req("POST", "/hooks/"+fuzzToken, "application/json", body, "Webhook-Id: msg_1", "Webhook-Timestamp: "+ts,
			"Webhook-Signature: v1,bad v1"+strings.TrimPrefix(SignStandard(key, "msg_1", ts, []byte(body)), "v1"))},
		{4, req("POST", "/hooks/"+fuzzToken, "application/json", body, "Webhook-Id: msg_1", "Webhook-Timestamp: 99999999999999999999", "Webhook-Signature: v1,x")},
	} {
		f.Add(append([]byte{seed.sink}, seed.raw...))
	}

	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		opts := fuzzSinks[int(in[0])%len(fuzzSinks)]
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(in[1:])))
		if err != nil {
			return // net/http's server answers 400 itself: the sink never sees it
		}
		var infos []RequestInfo
		opts.Token, opts.History, opts.MaxBodyBytes = fuzzToken, 4, 64<<10
		opts.RateLimit, opts.GlobalLimit = NoLimit, NoLimit
		opts.Now = func() time.Time { return fuzzNow }
		opts.OnRequest = func(i RequestInfo) { infos = append(infos, i) }
		s := New(opts)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)

		status := w.Code
		ok := status >= 200 && status <= 299
		st := s.Stats()
		if st.Received != 1 || st.Accepted+st.Rejected != 1 || ok != (st.Accepted == 1) {
			t.Fatalf("status %d counted as %+v", status, st)
		}
		if status < 100 || status > 599 {
			t.Fatalf("status %d", status)
		}
		msgs := s.Messages()
		// A fresh Discord sink answers GET (the webhook object) without a
		// message; its other routes on messages find none to answer 2xx.
		delivers := ok && !(opts.Flavor == FlavorDiscord && r.Method == http.MethodGet)
		if delivers != (len(msgs) == 1) || len(msgs) > 1 {
			t.Fatalf("status %d with %d messages recorded", status, len(msgs))
		}
		if len(infos) != 1 || infos[0].Status != status {
			t.Fatalf("OnRequest saw %+v for status %d", infos, status)
		}
		for seg := range strings.SplitSeq(infos[0].Path, "/") {
			if seg == fuzzToken {
				t.Fatalf("the token is in the logged path %q", infos[0].Path)
			}
		}
		if delivers || !ok {
			checkAnswer(t, opts, w, msgs)
		} else if !bytes.Contains(w.Body.Bytes(), []byte(`"type":1`)) {
			t.Fatalf("GET answered %q, not the webhook object", w.Body.Bytes())
		}
	})
}

// checkAnswer checks that an answer has its flavor's form, and a recorded
// message its flavor's limits.
func checkAnswer(t *testing.T, opts Options, w *httptest.ResponseRecorder, msgs []Message) {
	t.Helper()
	status, body := w.Code, w.Body.Bytes()
	switch opts.Flavor {
	case FlavorDiscord:
		switch {
		case status == http.StatusNoContent:
			if len(body) != 0 {
				t.Fatalf("204 with a body %q", body)
			}
		case status == http.StatusOK:
			var m struct {
				ID      string `json:"id"`
				Content string `json:"content"`
			}
			if err := json.Unmarshal(body, &m); err != nil || m.ID != msgs[0].ID || m.Content != msgs[0].Content {
				t.Fatalf("200 with %q (%v), message %+v", body, err, msgs[0])
			}
		default:
			var e struct {
				Message string `json:"message"`
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Message == "" {
				t.Fatalf("status %d with %q, not Discord's JSON error (%v)", status, body, err)
			}
		}
		if len(msgs) == 1 && utf8.RuneCountInString(msgs[0].Content) > maxContent {
			t.Fatalf("accepted %d characters of content", utf8.RuneCountInString(msgs[0].Content))
		}
	case FlavorSlack:
		if status == http.StatusOK && string(body) != "ok" || status != http.StatusOK && !slackWord(string(body)) {
			t.Fatalf("status %d with %q, not Slack's answer", status, body)
		}
		if len(msgs) == 1 && utf8.RuneCountInString(msgs[0].Content) > maxSlackText {
			t.Fatalf("accepted %d characters of text", utf8.RuneCountInString(msgs[0].Content))
		}
	case FlavorGeneric:
		if status == http.StatusNoContent && len(body) != 0 || status != http.StatusNoContent && !slackWord(string(body)) {
			t.Fatalf("status %d with %q", status, body)
		}
		if len(msgs) == 1 && len(msgs[0].Content) > maxGenericContent {
			t.Fatalf("kept %d bytes of content", len(msgs[0].Content))
		}
	}
}

// slackWord reports whether s is an error word: invalid_token, no_text.
func slackWord(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c == '_') {
			return false
		}
	}
	return true
}
