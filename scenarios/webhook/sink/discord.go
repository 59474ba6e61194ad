package sink

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
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

func writeText(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text)
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

// Discord's error messages for rate limits.
const (
	msgRateLimited  = "You are being rate limited."
	msgChannelLimit = "The write action you are performing on the channel has hit the write rate limit."
	// CodeChannelLimit is the code of a 429 from the per-channel limit.
	CodeChannelLimit = 20028
)

// serveDiscord routes /api/webhooks/{id}/{token} and
// /api/v{N}/webhooks/{id}/{token}. Paths are matched here rather than by a
// ServeMux so that every miss gets Discord's JSON 404, not ServeMux's text.
func (s *Sink) serveDiscord(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) >= 2 && segs[0] == "api" && isVersion(segs[1]) {
		segs = segs[1:]
		segs[0] = "api"
	}
	messages := len(segs) == 6 && segs[4] == "messages"
	if len(segs) != 4 && !messages || segs[0] != "api" || segs[1] != "webhooks" {
		writeError(w, http.StatusNotFound, apiError{Message: "404: Not Found", Code: 0})
		return
	}
	now := s.opts.Now()
	if ok, _, reset := s.global.take(now); !ok {
		s.rateLimited(w, r, reset, "global")
		return
	}
	id, token := segs[2], segs[3]
	allowed := []string{http.MethodGet, http.MethodPost}
	if messages {
		allowed = []string{http.MethodGet, http.MethodPatch, http.MethodDelete}
	}
	if !slices.Contains(allowed, r.Method) {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeError(w, http.StatusMethodNotAllowed, apiError{Message: "405: Method Not Allowed", Code: 0})
		return
	}
	if id != s.opts.WebhookID {
		s.discordError(w, r, http.StatusNotFound, apiError{Message: "Unknown Webhook", Code: CodeUnknownWebhook})
		return
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.Token)) != 1 {
		s.discordError(w, r, http.StatusUnauthorized, apiError{Message: "Invalid Webhook Token", Code: CodeInvalidWebhookToken})
		return
	}
	ok, remaining, reset := s.bucket.take(now)
	if !s.bucket.lim.Off() {
		h := w.Header()
		h.Set("X-RateLimit-Limit", strconv.Itoa(s.bucket.lim.Count))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		h.Set("X-RateLimit-Reset", seconds(time.Duration(now.Add(reset).UnixNano())))
		h.Set("X-RateLimit-Reset-After", seconds(reset))
		h.Set("X-RateLimit-Bucket", s.bucketHash())
	}
	if !ok {
		s.rateLimited(w, r, reset, "user")
		return
	}
	switch {
	case messages:
		s.webhookMessage(w, r, segs[5], now)
	case r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.webhookObject())
	default:
		s.executeWebhook(w, r, now)
	}
}

// bucketHash is the opaque X-RateLimit-Bucket of the webhook.
func (s *Sink) bucketHash() string {
	sum := sha256.Sum256([]byte("webhook:" + s.opts.WebhookID))
	return hex.EncodeToString(sum[:8])
}

// discordError answers e and notes its code.
func (s *Sink) discordError(w http.ResponseWriter, r *http.Request, status int, e apiError) {
	noteOf(r).code = e.Code
	writeError(w, status, e)
}

// rateLimited answers 429 the way Discord does for scope user (the
// webhook's bucket), shared (the channel) or global.
func (s *Sink) rateLimited(w http.ResponseWriter, r *http.Request, retry time.Duration, scope string) {
	h := w.Header()
	h.Set("Retry-After", wholeSeconds(retry))
	h.Set("X-RateLimit-Scope", scope)
	body := rateLimitBody{Message: msgRateLimited, RetryAfter: json.Number(seconds(retry)), Global: scope == "global"}
	if body.Global {
		h.Set("X-RateLimit-Global", "true")
	}
	if scope == "shared" {
		body.Message, body.Code = msgChannelLimit, CodeChannelLimit
		noteOf(r).code = CodeChannelLimit
	}
	writeJSON(w, http.StatusTooManyRequests, body)
}

// rateLimitBody is Discord's 429 body.
type rateLimitBody struct {
	Message    string      `json:"message"`
	RetryAfter json.Number `json:"retry_after"`
	Global     bool        `json:"global"`
	Code       int         `json:"code,omitempty"`
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
	Flags       json.RawMessage `json:"flags"`
}

// invalidJSON is Discord's answer to a body that does not parse.
var invalidJSON = apiError{Message: "The request body contains invalid JSON.", Code: CodeInvalidJSON}

// readDiscordBody returns the JSON payload of a JSON or multipart request
// and the files uploaded, or answers the error itself and returns ok false.
func (s *Sink) readDiscordBody(w http.ResponseWriter, r *http.Request) (body []byte, files []upload, ok bool) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && mt != "multipart/form-data") {
		fe := formErrors{}
		fe.add(fieldError{Code: "CONTENT_TYPE_INVALID", Message: `Expected "Content-Type" header to be one of {'application/json', 'multipart/form-data'}.`})
		s.discordError(w, r, http.StatusBadRequest, apiError{Message: "Invalid Form Body", Code: CodeInvalidFormBody, Errors: fe})
		return nil, nil, false
	}
	rd := http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
	tooBig := func(err error) bool {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.discordError(w, r, http.StatusRequestEntityTooLarge, apiError{Message: "Request entity too large", Code: CodeRequestTooLarge})
			return true
		}
		return false
	}
	if mt == "application/json" {
		body, err = io.ReadAll(rd)
		if err != nil {
			if !tooBig(err) {
				// The client went away mid-body: nobody reads this answer.
				s.discordError(w, r, http.StatusBadRequest, invalidJSON)
			}
			return nil, nil, false
		}
		return body, nil, true
	}
	mr := multipart.NewReader(rd, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if !tooBig(err) {
				s.discordError(w, r, http.StatusBadRequest, apiError{Message: "Invalid Form Body", Code: CodeInvalidFormBody})
			}
			return nil, nil, false
		}
		b, err := io.ReadAll(p)
		if err != nil {
			if !tooBig(err) {
				s.discordError(w, r, http.StatusBadRequest, apiError{Message: "Invalid Form Body", Code: CodeInvalidFormBody})
			}
			return nil, nil, false
		}
		switch {
		case p.FileName() != "":
			files = append(files, upload{field: p.FormName(), filename: p.FileName(), data: b})
		case p.FormName() == "payload_json":
			body = b
		}
	}
	if body == nil {
		body = []byte("{}")
	}
	return body, files, true
}

// executeWebhook answers a POST to the sink's webhook, its token checked.
func (s *Sink) executeWebhook(w http.ResponseWriter, r *http.Request, now time.Time) {
	f, ok := s.readMessageForm(w, r)
	if !ok {
		return
	}
	p := &f.p
	if strings.TrimSpace(f.content) == "" && len(f.embeds) == 0 && len(f.files) == 0 &&
		isEmpty(p.Components) && isEmpty(p.Attachments) && isEmpty(p.Poll) && isEmpty(p.StickerIDs) {
		s.discordError(w, r, http.StatusBadRequest, apiError{Message: "Cannot send an empty message", Code: CodeEmptyMessage})
		return
	}
	if ok, _, reset := s.channel.take(now); !ok {
		s.rateLimited(w, r, reset, "shared")
		return
	}

	m := &Message{
		ID:        s.nextID(now),
		WebhookID: s.opts.WebhookID,
		ChannelID: s.opts.ChannelID,
		ThreadID:  f.thread,
		Content:   f.content,
		Username:  f.username,
		AvatarURL: f.avatar,
		TTS:       f.tts,
		Embeds:    f.embeds,
		Files:     len(f.files),
		Received:  now,
	}
	if f.thread != "" {
		m.Position = s.threads.next(f.thread)
	}
	m.Attachments = s.attachments(f.files, p.Attachments, m.channel(), baseURL(r), func() string { return s.nextID(now) })
	m.Flags = intField(p.Flags)
	s.accept(r, m)
	switch r.URL.Query().Get("wait") {
	case "true", "True", "1":
		writeJSON(w, http.StatusOK, s.messageObject(*m))
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// channel is the channel the message is in: its thread, if any.
func (m *Message) channel() string {
	if m.ThreadID != "" {
		return m.ThreadID
	}
	return m.ChannelID
}

// messageForm is an execute or edit body, read and checked.
type messageForm struct {
	p        executePayload
	content  string
	username string
	avatar   string
	tts      bool
	embeds   []json.RawMessage
	files    []upload
	thread   string // the thread_id query parameter
}

// readMessageForm reads and checks a message body (JSON or multipart) and
// the thread_id parameter, or answers the error itself and returns false.
func (s *Sink) readMessageForm(w http.ResponseWriter, r *http.Request) (*messageForm, bool) {
	body, files, ok := s.readDiscordBody(w, r)
	if !ok {
		return nil, false
	}
	if !json.Valid(body) {
		s.discordError(w, r, http.StatusBadRequest, invalidJSON)
		return nil, false
	}
	f := &messageForm{files: files}
	if err := json.Unmarshal(body, &f.p); err != nil {
		fe := formErrors{}
		fe.add(fieldError{Code: "MODEL_TYPE_CONVERT", Message: "Only dictionaries may be used in a ModelType"})
		s.discordError(w, r, http.StatusBadRequest, apiError{Message: "Invalid Form Body", Code: CodeInvalidFormBody, Errors: fe})
		return nil, false
	}
	p := &f.p
	fe := formErrors{}
	var hasName bool
	f.content, _ = stringField(p.Content, fe, "content")
	f.username, hasName = stringField(p.Username, fe, "username")
	f.avatar, _ = stringField(p.AvatarURL, fe, "avatar_url")
	f.tts = boolField(p.TTS, fe, "tts")
	f.embeds = embedsField(p.Embeds, fe)
	if n := utf8.RuneCountInString(f.content); n > maxContent {
		fe.add(fieldError{Code: "BASE_TYPE_MAX_LENGTH", Message: "Must be 2000 or fewer in length."}, "content")
	}
	if n := utf8.RuneCountInString(f.username); hasName && (n < 1 || n > maxUsername) {
		fe.add(fieldError{Code: "BASE_TYPE_BAD_LENGTH", Message: "Must be between 1 and 80 in length."}, "username")
	}
	q := r.URL.Query()
	f.thread = q.Get("thread_id")
	if q.Has("thread_id") && !isDigits(f.thread) {
		fe.add(fieldError{Code: "NUMBER_TYPE_COERCE", Message: fmt.Sprintf("Value %q is not snowflake.", f.thread)}, "thread_id")
	}
	if len(fe) > 0 {
		s.discordError(w, r, http.StatusBadRequest, apiError{Message: "Invalid Form Body", Code: CodeInvalidFormBody, Errors: fe})
		return nil, false
	}
	return f, true
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

// embedsField decodes the embeds: a list of at most 10 objects, each within
// Discord's limits, 6000 characters of text in all.
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
	total := 0
	for i, e := range list {
		total += checkEmbed(e, fe, strconv.Itoa(i))
	}
	if total > maxEmbedTotal {
		fe.add(fieldError{Code: "MAX_EMBED_SIZE_EXCEEDED", Message: "Embed size exceeds maximum size of 6000"}, "embeds")
	}
	return list
}

// Discord's embed limits.
const (
	maxUsername     = 80
	maxTitle        = 256
	maxDescription  = 4096
	maxFields       = 25
	maxFieldName    = 256
	maxFieldValue   = 1024
	maxFooterText   = 2048
	maxAuthorName   = 256
	maxEmbedTotal   = 6000
	msgFieldMissing = "This field is required"
)

// checkEmbed validates embed number idx and returns its text size.
func checkEmbed(raw json.RawMessage, fe formErrors, idx string) int {
	var e map[string]json.RawMessage
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' || json.Unmarshal(t, &e) != nil {
		fe.add(fieldError{Code: "MODEL_TYPE_CONVERT", Message: "Only dictionaries may be used in a ModelType"}, "embeds", idx)
		return 0
	}
	size := 0
	text := func(raw json.RawMessage, limit int, required bool, path ...string) {
		full := append([]string{"embeds", idx}, path...)
		if isNull(raw) {
			if required {
				fe.add(fieldError{Code: "BASE_TYPE_REQUIRED", Message: msgFieldMissing}, full...)
			}
			return
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			fe.add(fieldError{Code: "BASE_TYPE_STRING", Message: "This field must be a string."}, full...)
			return
		}
		n := utf8.RuneCountInString(s)
		size += n
		if n > limit {
			fe.add(fieldError{Code: "BASE_TYPE_MAX_LENGTH", Message: "Must be " + strconv.Itoa(limit) + " or fewer in length."}, full...)
		}
	}
	text(e["title"], maxTitle, false, "title")
	text(e["description"], maxDescription, false, "description")
	sub := func(key, field string, limit int) {
		if isNull(e[key]) {
			return
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(e[key], &m) != nil {
			fe.add(fieldError{Code: "MODEL_TYPE_CONVERT", Message: "Only dictionaries may be used in a ModelType"}, "embeds", idx, key)
			return
		}
		text(m[field], limit, false, key, field)
	}
	sub("footer", "text", maxFooterText)
	sub("author", "name", maxAuthorName)
	if !isNull(e["fields"]) {
		var fields []json.RawMessage
		switch {
		case json.Unmarshal(e["fields"], &fields) != nil:
			fe.add(fieldError{Code: "BASE_TYPE_ARRAY", Message: "This field must be an array."}, "embeds", idx, "fields")
		case len(fields) > maxFields:
			fe.add(fieldError{Code: "BASE_TYPE_MAX_LENGTH", Message: "Must be 25 or fewer in length."}, "embeds", idx, "fields")
		default:
			for j, f := range fields {
				var m map[string]json.RawMessage
				if json.Unmarshal(f, &m) != nil {
					fe.add(fieldError{Code: "MODEL_TYPE_CONVERT", Message: "Only dictionaries may be used in a ModelType"}, "embeds", idx, "fields", strconv.Itoa(j))
					continue
				}
				text(m["name"], maxFieldName, true, "fields", strconv.Itoa(j), "name")
				text(m["value"], maxFieldValue, true, "fields", strconv.Itoa(j), "value")
			}
		}
	}
	return size
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
	Type            int                `json:"type"`
	Content         string             `json:"content"`
	Mentions        []any              `json:"mentions"`
	MentionRoles    []any              `json:"mention_roles"`
	Attachments     []attachmentObject `json:"attachments"`
	Embeds          []json.RawMessage  `json:"embeds"`
	Timestamp       string             `json:"timestamp"`
	EditedTimestamp *string            `json:"edited_timestamp"`
	Flags           int                `json:"flags"`
	Components      []any              `json:"components"`
	ID              string             `json:"id"`
	ChannelID       string             `json:"channel_id"`
	Author          author             `json:"author"`
	Pinned          bool               `json:"pinned"`
	MentionEveryone bool               `json:"mention_everyone"`
	TTS             bool               `json:"tts"`
	WebhookID       string             `json:"webhook_id"`
	// Position is set for a message in a thread.
	Position *int `json:"position,omitempty"`
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
	o := messageObject{
		Content:      m.Content,
		Mentions:     []any{},
		MentionRoles: []any{},
		Attachments:  attachmentObjects(m.Attachments),
		Embeds:       richEmbeds(m.Embeds),
		Timestamp:    m.Received.UTC().Format(timestampLayout),
		Flags:        m.Flags,
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
	if !m.Edited.IsZero() {
		t := m.Edited.UTC().Format(timestampLayout)
		o.EditedTimestamp = &t
	}
	if m.ThreadID != "" {
		// In a thread, the message's channel is the thread.
		o.ChannelID = m.ThreadID
		o.Position = &m.Position
	}
	return o
}

// intField reads an optional integer field (flags), 0 when absent or not
// an integer.
func intField(raw json.RawMessage) int {
	var n int
	if isNull(raw) || json.Unmarshal(raw, &n) != nil {
		return 0
	}
	return n
}
