package sink_test

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runplan/runplan/scenarios/webhook/sink"
)

// tinyPNG is a 3×2 PNG.
func tinyPNG(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 3, 2))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Every Discord answer carries Google's Via, as Discord's edge does: 2xx,
// errors, 429s of each scope and injected faults. Clients tell Discord's
// own 429 from a Cloudflare ban by it.
func TestDiscordVia(t *testing.T) {
	t.Parallel()
	c := newClock()
	s, srv := newServer(t, sink.Options{Now: c.Now, RateLimit: sink.Limit{Count: 1, Per: time.Minute}})
	u := s.WebhookURL(srv.URL)
	check := func(name string, resp *http.Response, b []byte, status int) {
		t.Helper()
		if resp.StatusCode != status || resp.Header.Get("Via") != sink.ViaDiscord {
			t.Errorf("%s: %d (want %d), Via %q: %s", name, resp.StatusCode, status, resp.Header.Get("Via"), b)
		}
	}
	resp, b := do(t, "POST", u+"?wait=false", jsonCT, `{"content":"1"}`)
	check("wait=false", resp, b, 204)
	if len(b) != 0 {
		t.Errorf("wait=false answered a body: %q", b)
	}
	resp, b = do(t, "POST", u, jsonCT, `{"content":"2"}`)
	check("rate limited", resp, b, 429)
	var limited struct {
		Message    string   `json:"message"`
		RetryAfter *float64 `json:"retry_after"`
		Global     *bool    `json:"global"`
	}
	if err := json.Unmarshal(b, &limited); err != nil || limited.Message == "" || limited.RetryAfter == nil ||
		*limited.RetryAfter <= 0 || limited.Global == nil || *limited.Global {
		t.Errorf("429 body %s (%v)", b, err)
	}
	if h := resp.Header; h.Get("Content-Type") != "application/json" || h.Get("Retry-After") != "60" ||
		h.Get("X-RateLimit-Scope") != "user" || h.Get("X-RateLimit-Remaining") != "0" || h.Get("X-RateLimit-Reset-After") == "" {
		t.Errorf("429 headers %v", h)
	}
	resp, b = do(t, "POST", srv.URL+"/api/webhooks/1/x", jsonCT, `{"content":"3"}`)
	check("unknown webhook", resp, b, 404)
	resp, b = do(t, "GET", srv.URL+"/nowhere", nil, "")
	check("unknown route", resp, b, 404)
	s.SetFault(sink.Fault{Status: 503})
	resp, b = do(t, "POST", u, jsonCT, `{"content":"4"}`)
	check("fault", resp, b, 503)
}

// The message object of ?wait=true, as Discord's: uploads described in
// attachments, embeds typed "rich", a thread's message in the thread.
func TestDiscordMessageObject(t *testing.T) {
	t.Parallel()
	s, srv := newServer(t, sink.Options{RateLimit: sink.NoLimit})
	u := s.WebhookURL(srv.URL)
	pic := tinyPNG(t)

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	payload := `{"content":"files","embeds":[{"title":"t"},{"title":"u","type":"rich"}],` +
		`"attachments":[{"id":0},{"id":1,"filename":"run log.txt","description":"the log"}]}`
	if err := mw.WriteField("payload_json", payload); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ field, name, ctype, data string }{
		{"files[0]", "chart.png", "application/octet-stream", string(pic)},
		{"files[1]", "whatever.bin", "application/octet-stream", "ok 12\n"},
	} {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+f.field+`"; filename="`+f.name+`"`)
		h.Set("Content-Type", f.ctype)
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(f.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	resp, b := do(t, "POST", u+"?wait=true", map[string]string{"Content-Type": mw.FormDataContentType()}, body.String())
	if resp.StatusCode != 200 {
		t.Fatalf("upload: %d %s", resp.StatusCode, b)
	}
	type attachment struct {
		ID          string `json:"id"`
		Filename    string `json:"filename"`
		Description string `json:"description"`
		ContentType string `json:"content_type"`
		Size        *int   `json:"size"`
		URL         string `json:"url"`
		ProxyURL    string `json:"proxy_url"`
		Width       *int   `json:"width"`
		Height      *int   `json:"height"`
	}
	var msg struct {
		ID          string           `json:"id"`
		ChannelID   string           `json:"channel_id"`
		Position    *int             `json:"position"`
		Attachments []attachment     `json:"attachments"`
		Embeds      []map[string]any `json:"embeds"`
	}
	if err := json.Unmarshal(b, &msg); err != nil {
		t.Fatal(err)
	}
	if len(msg.Attachments) != 2 {
		t.Fatalf("attachments %s", b)
	}
	a, l := msg.Attachments[0], msg.Attachments[1]
	if a.Filename != "chart.png" || a.Size == nil || *a.Size != len(pic) || a.ContentType != "image/png" ||
		a.Width == nil || *a.Width != 3 || a.Height == nil || *a.Height != 2 || a.Description != "" {
		t.Errorf("image attachment %+v", a)
	}
	// The payload's filename wins, spaces made underscores; no image size.
	if l.Filename != "run_log.txt" || l.Size == nil || *l.Size != 6 || !strings.HasPrefix(l.ContentType, "text/plain") ||
		l.Width != nil || l.Description != "the log" {
		t.Errorf("text attachment %+v", l)
	}
	for _, x := range msg.Attachments {
		if _, err := strconv.ParseUint(x.ID, 10, 64); err != nil || x.ID == msg.ID ||
			x.URL != srv.URL+"/attachments/"+sink.DefaultChannelID+"/"+x.ID+"/"+x.Filename || x.ProxyURL == "" {
			t.Errorf("attachment id/url %+v (message %s)", x, msg.ID)
		}
	}
	if a.ID == l.ID {
		t.Errorf("attachments share id %s", a.ID)
	}
	if msg.ChannelID != sink.DefaultChannelID || msg.Position != nil {
		t.Errorf("outside a thread: channel %s, position %v", msg.ChannelID, msg.Position)
	}
	if len(msg.Embeds) != 2 || msg.Embeds[0]["type"] != "rich" || msg.Embeds[0]["title"] != "t" || msg.Embeds[1]["type"] != "rich" {
		t.Errorf("embeds %v", msg.Embeds)
	}
	if m := s.Messages(); len(m) != 1 || m[0].Files != 2 || len(m[0].Attachments) != 2 || m[0].Attachments[1].Description != "the log" {
		t.Errorf("recorded %+v", m)
	}

	// thread_id: the message is in the thread, with its position there.
	const thread = "1208418000000000001"
	for want := range 2 {
		resp, b := do(t, "POST", u+"?wait=true&thread_id="+thread, jsonCT, `{"content":"in thread"}`)
		var m struct {
			ChannelID string `json:"channel_id"`
			Position  *int   `json:"position"`
		}
		if err := json.Unmarshal(b, &m); err != nil || resp.StatusCode != 200 || m.ChannelID != thread || m.Position == nil || *m.Position != want {
			t.Errorf("thread message %d: %d %s", want, resp.StatusCode, b)
		}
	}
	resp, b = do(t, "POST", u+"?wait=true&thread_id=abc", jsonCT, `{"content":"x"}`)
	var e struct {
		Code   int `json:"code"`
		Errors struct {
			ThreadID struct {
				Errors []struct{ Code string } `json:"_errors"`
			} `json:"thread_id"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(b, &e); err != nil || resp.StatusCode != 400 || e.Code != sink.CodeInvalidFormBody ||
		len(e.Errors.ThreadID.Errors) != 1 || e.Errors.ThreadID.Errors[0].Code != "NUMBER_TYPE_COERCE" {
		t.Errorf("bad thread_id: %d %s", resp.StatusCode, b)
	}
}

// The webhook's own routes beside execute: GET the webhook, and GET, PATCH
// and DELETE a message it sent, as discord.py's and discord.js's webhook
// clients call them.
func TestDiscordWebhookMessages(t *testing.T) {
	t.Parallel()
	s, srv := newServer(t, sink.Options{RateLimit: sink.NoLimit})
	u := s.WebhookURL(srv.URL)
	resp, b := do(t, "GET", u, nil, "")
	var hook struct {
		ID        string `json:"id"`
		ChannelID string `json:"channel_id"`
		Name      string `json:"name"`
		Token     string `json:"token"`
		Type      int    `json:"type"`
	}
	if err := json.Unmarshal(b, &hook); err != nil || resp.StatusCode != 200 || hook.ID != s.WebhookID() || hook.Type != 1 ||
		hook.Token != s.Token() || hook.ChannelID != sink.DefaultChannelID || hook.Name != sink.DefaultUsername {
		t.Errorf("GET webhook: %d %s", resp.StatusCode, b)
	}
	type message struct {
		ID              string           `json:"id"`
		Content         string           `json:"content"`
		ChannelID       string           `json:"channel_id"`
		EditedTimestamp *string          `json:"edited_timestamp"`
		Embeds          []map[string]any `json:"embeds"`
	}
	send := func(query, body string) message {
		t.Helper()
		resp, b := do(t, "POST", u+"?wait=true"+query, jsonCT, body)
		var m message
		if err := json.Unmarshal(b, &m); err != nil || resp.StatusCode != 200 {
			t.Fatalf("send: %d %s", resp.StatusCode, b)
		}
		return m
	}
	code := func(b []byte) int {
		var e struct{ Code int }
		_ = json.Unmarshal(b, &e)
		return e.Code
	}
	m := send("", `{"content":"running"}`)
	mu := u + "/messages/" + m.ID
	if resp, b := do(t, "GET", mu, nil, ""); resp.StatusCode != 200 || !strings.Contains(string(b), `"content":"running"`) ||
		!strings.Contains(string(b), `"edited_timestamp":null`) {
		t.Errorf("GET message: %d %s", resp.StatusCode, b)
	}
	resp, b = do(t, "PATCH", mu, jsonCT, `{"content":"done","embeds":[{"title":"p99"}]}`)
	var edited message
	if err := json.Unmarshal(b, &edited); err != nil || resp.StatusCode != 200 || edited.ID != m.ID || edited.Content != "done" ||
		edited.EditedTimestamp == nil || len(edited.Embeds) != 1 || edited.Embeds[0]["type"] != "rich" {
		t.Errorf("PATCH: %d %s", resp.StatusCode, b)
	}
	// Content only: the embeds stay; an edit may not empty the message.
	if resp, b := do(t, "PATCH", mu, jsonCT, `{"content":"final"}`); resp.StatusCode != 200 || !strings.Contains(string(b), `"title":"p99"`) {
		t.Errorf("PATCH content: %d %s", resp.StatusCode, b)
	}
	if resp, b := do(t, "PATCH", mu, jsonCT, `{"content":"","embeds":[]}`); resp.StatusCode != 400 || code(b) != sink.CodeEmptyMessage {
		t.Errorf("PATCH to empty: %d %s", resp.StatusCode, b)
	}
	if resp, b := do(t, "PATCH", mu, jsonCT, `{"content":"`+strings.Repeat("x", 2001)+`"}`); resp.StatusCode != 400 || code(b) != sink.CodeInvalidFormBody {
		t.Errorf("PATCH too long: %d %s", resp.StatusCode, b)
	}
	// A message in a thread is found with its thread_id only.
	const thread = "1208418000000000004"
	tm := send("&thread_id="+thread, `{"content":"in thread"}`)
	if resp, b := do(t, "GET", u+"/messages/"+tm.ID, nil, ""); resp.StatusCode != 404 || code(b) != sink.CodeUnknownMessage {
		t.Errorf("thread message without thread_id: %d %s", resp.StatusCode, b)
	}
	if resp, b := do(t, "PATCH", u+"/messages/"+tm.ID+"?thread_id="+thread, jsonCT, `{"content":"edited"}`); resp.StatusCode != 200 ||
		!strings.Contains(string(b), `"channel_id":"`+thread+`"`) {
		t.Errorf("thread message with thread_id: %d %s", resp.StatusCode, b)
	}
	if resp, b := do(t, "DELETE", mu, nil, ""); resp.StatusCode != 204 || len(b) != 0 {
		t.Errorf("DELETE: %d %s", resp.StatusCode, b)
	}
	if resp, b := do(t, "GET", mu, nil, ""); resp.StatusCode != 404 || code(b) != sink.CodeUnknownMessage {
		t.Errorf("GET deleted: %d %s", resp.StatusCode, b)
	}
	var deleted, editedThread bool
	for _, r := range s.Messages() {
		deleted = deleted || r.ID == m.ID && r.Deleted && r.Content == "final"
		editedThread = editedThread || r.ID == tm.ID && r.Content == "edited" && !r.Edited.IsZero()
	}
	if !deleted || !editedThread || s.Stats().Delivered != 2 {
		t.Errorf("recorded %+v, stats %+v", s.Messages(), s.Stats())
	}
}
