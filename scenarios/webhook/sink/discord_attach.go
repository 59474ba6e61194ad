package sink

import (
	"bytes"
	"encoding/json"
	"image"
	_ "image/gif" // image.DecodeConfig: the sizes of uploaded images
	_ "image/jpeg"
	_ "image/png"
	"mime"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// ViaDiscord is the Via header of every answer of the Discord sink, the one
// Google's load balancer in front of Discord's API adds.
const ViaDiscord = "1.1 google"

// Attachment is a file uploaded with a message, as the message object
// describes it.
type Attachment struct {
	// ID is the attachment's snowflake.
	ID string
	// Filename is the name Discord keeps: the payload_json attachment's
	// filename or the part's, spaces made underscores.
	Filename string
	// Description is the payload_json attachment's description (alt text).
	Description string
	// ContentType is the media type, from the file name's extension or,
	// failing that, from the content.
	ContentType string
	// Size is the file's length in bytes.
	Size int
	// Width and Height are an image's size (PNG, JPEG, GIF), else 0.
	Width, Height int
	// URL is where the sink says the file is: under /attachments/ of the
	// sink's own address (the sink does not serve files: a GET answers 404).
	URL string
}

// upload is one file part of a multipart body.
type upload struct {
	field, filename string
	data            []byte
}

// filesField matches Discord's file field names, files[n]; other names
// (file, file1, ...) are accepted too, numbered by their order.
var filesField = regexp.MustCompile(`^files\[(\d+)\]$`)

// payloadAttachment is one entry of payload_json's attachments.
type payloadAttachment struct {
	ID          json.RawMessage `json:"id"`
	Filename    string          `json:"filename"`
	Description string          `json:"description"`
}

// attachments describes the uploads as Discord does, taking file names and
// descriptions from payload_json's attachments (matched by id to files[id],
// or by position); base is the sink's URL, for the attachment URLs.
func (s *Sink) attachments(uploads []upload, meta json.RawMessage, channel, base string, now func() string) []Attachment {
	if len(uploads) == 0 {
		return nil
	}
	var list []payloadAttachment
	_ = json.Unmarshal(meta, &list) // a wrong shape only loses the names
	byID := map[string]payloadAttachment{}
	for _, a := range list {
		byID[strings.Trim(string(a.ID), `"`)] = a
	}
	out := make([]Attachment, 0, len(uploads))
	for i, u := range uploads {
		key := strconv.Itoa(i)
		if m := filesField.FindStringSubmatch(u.field); m != nil {
			key = m[1]
		}
		a := Attachment{ID: now(), Filename: u.filename, Size: len(u.data)}
		if meta, ok := byID[key]; ok {
			if meta.Filename != "" {
				a.Filename = meta.Filename
			}
			a.Description = meta.Description
		}
		a.Filename = strings.ReplaceAll(path.Base(strings.ReplaceAll(a.Filename, `\`, "/")), " ", "_")
		a.ContentType = contentType(a.Filename, u.data)
		if cfg, _, err := image.DecodeConfig(bytes.NewReader(u.data)); err == nil {
			a.Width, a.Height = cfg.Width, cfg.Height
		}
		a.URL = base + "/attachments/" + channel + "/" + a.ID + "/" + url.PathEscape(a.Filename)
		out = append(out, a)
	}
	return out
}

// contentType is the media type Discord reports: by extension, else by the
// content (Discord ignores the type the client declares; discord.py sends
// application/octet-stream for everything).
func contentType(name string, data []byte) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return http.DetectContentType(data)
}

// attachmentObject is Discord's attachment object.
type attachmentObject struct {
	ID          string `json:"id"`
	Filename    string `json:"filename"`
	Description string `json:"description,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Size        int    `json:"size"`
	URL         string `json:"url"`
	ProxyURL    string `json:"proxy_url"`
	Width       *int   `json:"width,omitempty"`
	Height      *int   `json:"height,omitempty"`
}

func attachmentObjects(list []Attachment) []attachmentObject {
	out := make([]attachmentObject, 0, len(list))
	for _, a := range list {
		o := attachmentObject{ID: a.ID, Filename: a.Filename, Description: a.Description, ContentType: a.ContentType,
			Size: a.Size, URL: a.URL, ProxyURL: a.URL}
		if a.Width > 0 {
			o.Width, o.Height = &a.Width, &a.Height
		}
		out = append(out, o)
	}
	return out
}

// richEmbeds returns the embeds as Discord echoes them: each with its type,
// "rich" unless the sender set one.
func richEmbeds(embeds []json.RawMessage) []json.RawMessage {
	out := make([]json.RawMessage, 0, len(embeds))
	for _, e := range embeds {
		var m map[string]json.RawMessage
		if json.Unmarshal(e, &m) != nil {
			out = append(out, e)
			continue
		}
		if _, ok := m["type"]; !ok {
			m["type"] = json.RawMessage(`"rich"`)
		}
		b, err := json.Marshal(m)
		if err != nil {
			out = append(out, e)
			continue
		}
		out = append(out, b)
	}
	return out
}

// maxThreads bounds the threads whose positions are counted; past it the
// counts start again (Discord's positions may have gaps or duplicates).
const maxThreads = 4096

// threadPositions counts the messages accepted per thread. Safe for
// concurrent use; the zero value is ready.
type threadPositions struct {
	mu    sync.Mutex
	count map[string]int
}

// next returns the position of a new message in thread.
func (t *threadPositions) next(thread string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.count == nil || len(t.count) >= maxThreads {
		if _, ok := t.count[thread]; !ok {
			t.count = map[string]int{}
		}
	}
	p := t.count[thread]
	t.count[thread] = p + 1
	return p
}

// baseURL is the sink's address as the request reached it.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
