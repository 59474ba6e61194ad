package sink

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Discord's limits, as documented.
const (
	maxContent = 2000
	maxEmbeds  = 10
)

// Discord JSON error codes the sink answers with (constants, safe anywhere).
const (
	CodeUnknownWebhook      = 10015
	CodeRequestTooLarge     = 40005
	CodeEmptyMessage        = 50006
	CodeInvalidWebhookToken = 50027
	CodeInvalidFormBody     = 50035
	CodeInvalidJSON         = 50109
)

// apiError is Discord's error body.
type apiError struct {
	Message string     `json:"message"`
	Code    int        `json:"code"`
	Errors  formErrors `json:"errors,omitempty"`
}

// fieldError is one leaf of a form error tree.
type fieldError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// formErrors is Discord's nested error tree: each path element is a key
// (array indices as strings), and the leaves are under "_errors".
type formErrors map[string]any

// add puts e at path (the root when path is empty).
func (f formErrors) add(e fieldError, path ...string) {
	m := map[string]any(f)
	for _, p := range path {
		sub, ok := m[p].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[p] = sub
		}
		m = sub
	}
	list, _ := m["_errors"].([]fieldError)
	m["_errors"] = append(list, e)
}

func writeError(w http.ResponseWriter, status int, e apiError) {
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// serveAPI routes /api/webhooks/{id}/{token} and /api/v{N}/webhooks/{id}/{token}.
func (s *Sink) serveAPI(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	// segs[0] is "api".
	if len(segs) >= 2 && isVersion(segs[1]) {
		segs = segs[1:]
	}
	if len(segs) != 4 || segs[1] != "webhooks" {
		writeError(w, http.StatusNotFound, apiError{Message: "404: Not Found", Code: 0})
		return
	}
	id, token := segs[2], segs[3]
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, apiError{Message: "405: Method Not Allowed", Code: 0})
		return
	}
	s.executeWebhook(w, r, id, token)
}

func isVersion(s string) bool {
	if len(s) < 2 || s[0] != 'v' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// executePayload is the part of Discord's execute-webhook body the sink reads;
// fields are raw so that type errors can be reported per field.
type executePayload struct {
	Content     json.RawMessage `json:"content"`
	Username    json.RawMessage `json:"username"`
	AvatarURL   json.RawMessage `json:"avatar_url"`
	TTS         json.RawMessage `json:"tts"`
	Embeds      json.RawMessage `json:"embeds"`
	Components  json.RawMessage `json:"components"`
	Attachments json.RawMessage `json:"attachments"`
	Poll        json.RawMessage `json:"poll"`
	StickerIDs  json.RawMessage `json:"sticker_ids"`
}

// executeWebhook answers POST .../webhooks/{id}/{token}.
func (s *Sink) executeWebhook(w http.ResponseWriter, r *http.Request, id, token string) {
	if id != s.opts.WebhookID {
		writeError(w, http.StatusNotFound, apiError{Message: "Unknown Webhook", Code: CodeUnknownWebhook})
		return
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.Token)) != 1 {
		writeError(w, http.StatusUnauthorized, apiError{Message: "Invalid Webhook Token", Code: CodeInvalidWebhookToken})
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		fe := formErrors{}
		fe.add(fieldError{Code: "CONTENT_TYPE_INVALID", Message: `Expected "Content-Type" header to be one of {'application/json'}.`})
		writeError(w, http.StatusBadRequest, apiError{Message: "Invalid Form Body", Code: CodeInvalidFormBody, Errors: fe})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, apiError{Message: "Request entity too large", Code: CodeRequestTooLarge})
			return
		}
		// The client went away mid-body: nobody reads this answer.
		writeError(w, http.StatusBadRequest, apiError{Message: "The request body contains invalid JSON.", Code: CodeInvalidJSON})
		return
	}
	if !json.Valid(body) {
		writeError(w, http.StatusBadRequest, apiError{Message: "The request body contains invalid JSON.", Code: CodeInvalidJSON})
		return
	}
	var p executePayload
	if err := json.Unmarshal(body, &p); err != nil {
		fe := formErrors{}
		fe.add(fieldError{Code: "MODEL_TYPE_CONVERT", Message: "Only dictionaries may be used in a ModelType"})
		writeError(w, http.StatusBadRequest, apiError{Message: "Invalid Form Body", Code: CodeInvalidFormBody, Errors: fe})
		return
	}

	fe := formErrors{}
	content, _ := stringField(p.Content, fe, "content")
	username, _ := stringField(p.Username, fe, "username")
	avatar, _ := stringField(p.AvatarURL, fe, "avatar_url")
	tts := boolField(p.TTS, fe, "tts")
	embeds := embedsField(p.Embeds, fe)
	if n := utf8.RuneCountInString(content); n > maxContent {
		fe.add(fieldError{Code: "BASE_TYPE_MAX_LENGTH", Message: "Must be 2000 or fewer in length."}, "content")
	}
	if len(fe) > 0 {
		writeError(w, http.StatusBadRequest, apiError{Message: "Invalid Form Body", Code: CodeInvalidFormBody, Errors: fe})
		return
	}
	if strings.TrimSpace(content) == "" && len(embeds) == 0 &&
		isEmpty(p.Components) && isEmpty(p.Attachments) && isEmpty(p.Poll) && isEmpty(p.StickerIDs) {
		writeError(w, http.StatusBadRequest, apiError{Message: "Cannot send an empty message", Code: CodeEmptyMessage})
		return
	}

	now := s.opts.Now()
	q := r.URL.Query()
	m := Message{
		ID:        s.nextID(now),
		WebhookID: s.opts.WebhookID,
		ChannelID: s.opts.ChannelID,
		ThreadID:  q.Get("thread_id"),
		Content:   content,
		Username:  username,
		AvatarURL: avatar,
		TTS:       tts,
		Embeds:    embeds,
		Received:  now,
	}
	s.record(m)
	switch q.Get("wait") {
	case "true", "True", "1":
		writeJSON(w, http.StatusOK, s.messageObject(m))
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// stringField decodes an optional string field, reporting a wrong type.
func stringField(raw json.RawMessage, fe formErrors, name string) (string, bool) {
	if isNull(raw) {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		fe.add(fieldError{Code: "BASE_TYPE_STRING", Message: "This field must be a string."}, name)
		return "", false
	}
	return s, true
}

func boolField(raw json.RawMessage, fe formErrors, name string) bool {
	if isNull(raw) {
		return false
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		fe.add(fieldError{Code: "BASE_TYPE_BOOLEAN", Message: "Must be either true or false."}, name)
	}
	return b
}

// embedsField decodes the embeds: a list of at most 10 objects.
func embedsField(raw json.RawMessage, fe formErrors) []json.RawMessage {
	if isNull(raw) {
		return nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		fe.add(fieldError{Code: "BASE_TYPE_ARRAY", Message: "This field must be an array."}, "embeds")
		return nil
	}
	if len(list) > maxEmbeds {
		fe.add(fieldError{Code: "BASE_TYPE_MAX_LENGTH", Message: "Must be 10 or fewer in length."}, "embeds")
		return nil
	}
	for i, e := range list {
		if t := bytes.TrimSpace(e); len(t) == 0 || t[0] != '{' {
			fe.add(fieldError{Code: "MODEL_TYPE_CONVERT", Message: "Only dictionaries may be used in a ModelType"}, "embeds", strconv.Itoa(i))
		}
	}
	return list
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// isEmpty reports whether an optional field is absent, null or an empty
// list or object.
func isEmpty(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return isNull(t) || bytes.Equal(t, []byte("[]")) || bytes.Equal(t, []byte("{}"))
}

// messageObject is the message Discord returns for ?wait=true, with the
// fields clients read.
type messageObject struct {
	Type            int               `json:"type"`
	Content         string            `json:"content"`
	Mentions        []any             `json:"mentions"`
	MentionRoles    []any             `json:"mention_roles"`
	Attachments     []any             `json:"attachments"`
	Embeds          []json.RawMessage `json:"embeds"`
	Timestamp       string            `json:"timestamp"`
	EditedTimestamp *string           `json:"edited_timestamp"`
	Flags           int               `json:"flags"`
	Components      []any             `json:"components"`
	ID              string            `json:"id"`
	ChannelID       string            `json:"channel_id"`
	Author          author            `json:"author"`
	Pinned          bool              `json:"pinned"`
	MentionEveryone bool              `json:"mention_everyone"`
	TTS             bool              `json:"tts"`
	WebhookID       string            `json:"webhook_id"`
}

type author struct {
	Bot           bool    `json:"bot"`
	ID            string  `json:"id"`
	Username      string  `json:"username"`
	Avatar        *string `json:"avatar"`
	Discriminator string  `json:"discriminator"`
}

// timestampLayout is Discord's ISO 8601 form, microseconds and +00:00.
const timestampLayout = "2006-01-02T15:04:05.000000+00:00"

func (s *Sink) messageObject(m Message) messageObject {
	name := m.Username
	if name == "" {
		name = s.opts.Username
	}
	embeds := m.Embeds
	if embeds == nil {
		embeds = []json.RawMessage{}
	}
	return messageObject{
		Content:      m.Content,
		Mentions:     []any{},
		MentionRoles: []any{},
		Attachments:  []any{},
		Embeds:       embeds,
		Timestamp:    m.Received.UTC().Format(timestampLayout),
		Components:   []any{},
		ID:           m.ID,
		ChannelID:    m.ChannelID,
		Author: author{
			Bot:           true,
			ID:            m.WebhookID,
			Username:      name,
			Discriminator: "0000",
		},
		TTS:       m.TTS,
		WebhookID: m.WebhookID,
	}
}
