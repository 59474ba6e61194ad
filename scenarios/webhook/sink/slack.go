package sink

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// maxSlackText is Slack's documented limit on a message's text.
const maxSlackText = 40_000

// slackError answers Slack's plain-text error word.
func slackError(w http.ResponseWriter, r *http.Request, status int, word string) {
	noteOf(r).word = word
	writeText(w, status, word)
}

// limitedText answers a plain-text 429 with Retry-After, as Slack and most
// generic services do.
func limitedText(w http.ResponseWriter, r *http.Request, retry time.Duration) {
	w.Header().Set("Retry-After", wholeSeconds(retry))
	slackError(w, r, http.StatusTooManyRequests, "rate_limited")
}

// serveSlack answers POST /services/{T}/{B}/{token} as Slack's incoming
// webhooks do: 200 "ok", or a plain-text error word.
func (s *Sink) serveSlack(w http.ResponseWriter, r *http.Request) {
	now := s.opts.Now()
	if ok, _, reset := s.global.take(now); !ok {
		limitedText(w, r, reset)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/services/")
	i := strings.LastIndexByte(rest, '/')
	if !ok || i < 0 || rest[:i] != s.opts.WebhookID {
		slackError(w, r, http.StatusNotFound, "no_service")
		return
	}
	if subtle.ConstantTimeCompare([]byte(rest[i+1:]), []byte(s.opts.Token)) != 1 {
		slackError(w, r, http.StatusForbidden, "invalid_token")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		slackError(w, r, http.StatusMethodNotAllowed, "invalid_method")
		return
	}
	if ok, _, reset := s.bucket.take(now); !ok {
		limitedText(w, r, reset)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			slackError(w, r, http.StatusRequestEntityTooLarge, "request_too_large")
			return
		}
		slackError(w, r, http.StatusBadRequest, "invalid_payload")
		return
	}
	// Slack takes JSON, or a form whose payload field holds the JSON.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(body))
		if err != nil || !form.Has("payload") {
			slackError(w, r, http.StatusBadRequest, "invalid_payload")
			return
		}
		body = []byte(form.Get("payload"))
	}
	var p struct {
		Text        *string         `json:"text"`
		Blocks      json.RawMessage `json:"blocks"`
		Attachments json.RawMessage `json:"attachments"`
		Username    string          `json:"username"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		slackError(w, r, http.StatusBadRequest, "invalid_payload")
		return
	}
	text := ""
	if p.Text != nil {
		text = *p.Text
	}
	if strings.TrimSpace(text) == "" && isEmpty(p.Blocks) && isEmpty(p.Attachments) {
		slackError(w, r, http.StatusBadRequest, "no_text")
		return
	}
	if utf8.RuneCountInString(text) > maxSlackText {
		slackError(w, r, http.StatusBadRequest, "msg_too_long")
		return
	}
	s.accept(r, &Message{
		ID:        s.nextID(now),
		WebhookID: s.opts.WebhookID,
		ChannelID: s.opts.ChannelID,
		Content:   text,
		Username:  p.Username,
		Received:  now,
	})
	writeText(w, http.StatusOK, "ok")
}
