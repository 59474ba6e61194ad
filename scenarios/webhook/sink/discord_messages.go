package sink

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

// CodeUnknownMessage is Discord's code for a message that does not exist
// (or not in the channel or thread asked for).
const CodeUnknownMessage = 10008

// webhookObjectBody is the webhook Discord returns for GET
// /webhooks/{id}/{token} (a token-authenticated fetch: no user field).
type webhookObjectBody struct {
	ApplicationID *string `json:"application_id"`
	Avatar        *string `json:"avatar"`
	ChannelID     string  `json:"channel_id"`
	GuildID       string  `json:"guild_id"`
	ID            string  `json:"id"`
	Name          string  `json:"name"`
	Type          int     `json:"type"`
	Token         string  `json:"token"`
	URL           string  `json:"url,omitempty"`
}

// DefaultGuildID is the guild the Discord sink's channel belongs to.
const DefaultGuildID = "1208417790447198208"

func (s *Sink) webhookObject() webhookObjectBody {
	return webhookObjectBody{ChannelID: s.opts.ChannelID, GuildID: DefaultGuildID, ID: s.opts.WebhookID,
		Name: s.opts.Username, Type: 1, Token: s.opts.Token}
}

// webhookMessage answers GET, PATCH and DELETE on
// /webhooks/{id}/{token}/messages/{message_id}: a message the webhook sent,
// found among the kept ones (Options.History). A message in a thread is
// found only with its thread_id, as on Discord.
func (s *Sink) webhookMessage(w http.ResponseWriter, r *http.Request, id string, now time.Time) {
	unknown := func() {
		s.discordError(w, r, http.StatusNotFound, apiError{Message: "Unknown Message", Code: CodeUnknownMessage})
	}
	var form *messageForm
	if r.Method == http.MethodPatch {
		var ok bool
		if form, ok = s.readMessageForm(w, r); !ok {
			return
		}
	}
	thread := r.URL.Query().Get("thread_id")
	var problem *apiError
	m, found := s.updateMessage(id, func(m *Message) bool {
		if m.Deleted || m.ThreadID != thread {
			return false
		}
		switch r.Method {
		case http.MethodDelete:
			m.Deleted = true
		case http.MethodPatch:
			problem = s.edit(m, form, r, now)
			return problem == nil
		}
		return true
	})
	switch {
	case problem != nil:
		s.discordError(w, r, http.StatusBadRequest, *problem)
	case !found:
		unknown()
	case r.Method == http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	default:
		writeJSON(w, http.StatusOK, s.messageObject(m))
	}
}

// edit applies a PATCH body to m, as Discord does: the fields sent replace
// the message's, new files are added, and an attachments list keeps only
// the existing attachments it names. It refuses to leave the message
// empty. Called with the history locked.
func (s *Sink) edit(m *Message, f *messageForm, r *http.Request, now time.Time) *apiError {
	next := *m
	// A field sent, null included, replaces the message's.
	if len(f.p.Content) > 0 {
		next.Content = f.content
	}
	if len(f.p.Embeds) > 0 {
		next.Embeds = f.embeds
	}
	if !isNull(f.p.Attachments) {
		var keep []struct {
			ID json.RawMessage `json:"id"`
		}
		_ = json.Unmarshal(f.p.Attachments, &keep) // a wrong shape keeps none
		var ids []string
		for _, k := range keep {
			ids = append(ids, strings.Trim(string(k.ID), `"`))
		}
		next.Attachments = slices.DeleteFunc(slices.Clone(m.Attachments), func(a Attachment) bool {
			return !slices.Contains(ids, a.ID)
		})
	}
	next.Attachments = append(next.Attachments,
		s.attachments(f.files, f.p.Attachments, m.channel(), baseURL(r), func() string { return s.nextID(now) })...)
	next.Files = len(next.Attachments)
	if !isNull(f.p.Flags) {
		next.Flags = intField(f.p.Flags)
	}
	if strings.TrimSpace(next.Content) == "" && len(next.Embeds) == 0 && len(next.Attachments) == 0 {
		return &apiError{Message: "Cannot send an empty message", Code: CodeEmptyMessage}
	}
	next.Edited = now
	*m = next
	return nil
}

// updateMessage finds the kept message id and lets change alter it under
// the history's lock; change returns false to leave it untouched and
// report it not found. It returns a copy of the message as it is after.
func (s *Sink) updateMessage(id string, change func(*Message) bool) (Message, bool) {
	s.histMu.Lock()
	defer s.histMu.Unlock()
	for i := range s.hist {
		if s.hist[i].ID != id {
			continue
		}
		if !change(&s.hist[i]) {
			return Message{}, false
		}
		return s.hist[i], true
	}
	return Message{}, false
}
