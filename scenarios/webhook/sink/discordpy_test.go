package sink_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runplan/runplan/scenarios/webhook/sink"
)

// Debian's python3-discord (discord.py) drives the sink the way users' bots
// do: testdata/discordpy_client.py.

// debianPython is the interpreter Debian's python3-discord installs for.
const debianPython = "/usr/bin/python3"

// discordPy returns the interpreter, failing the test when discord.py is
// missing: the test must not be skipped.
func discordPy(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(debianPython, "-c", "import discord, discord.http; print(discord.__version__)").CombinedOutput()
	if err != nil {
		t.Fatalf("discord.py is not installed for %s (%v: %s): test.sh installs Debian's python3-discord "+
			"(apt-get install -y python3-discord)", debianPython, err, bytes.TrimSpace(out))
	}
	return debianPython
}

// runDiscordPy runs the client script against base and decodes its JSON.
func runDiscordPy(t *testing.T, s *sink.Sink, base string, out any, args ...string) {
	t.Helper()
	py := discordPy(t)
	// A hang guard only: the burst takes a few seconds of rate-limit waits.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	argv := append([]string{filepath.Join("testdata", "discordpy_client.py"), args[0], base + "/api/v10", s.WebhookID()}, args[1:]...)
	cmd := exec.CommandContext(ctx, py, argv...)
	cmd.Env = append(os.Environ(), "SINK_TOKEN="+s.Token(), "NO_PROXY=*", "no_proxy=*", "HTTP_PROXY=", "http_proxy=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("discord.py client: %v\n%s\n%s", err, stdout, stderr.String())
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Fatalf("discord.py client output %q: %v\n%s", stdout, err, stderr.String())
	}
}

// noVia drops the Via header from every answer, as the sink did before
// issue 15: the burst's 429s then look like a Cloudflare ban.
type noVia struct{ h http.Handler }

func (n noVia) ServeHTTP(w http.ResponseWriter, r *http.Request) { n.h.ServeHTTP(viaDropper{w}, r) }

type viaDropper struct{ http.ResponseWriter }

func (v viaDropper) WriteHeader(code int) {
	v.Header().Del("Via")
	v.ResponseWriter.WriteHeader(code)
}

func (v viaDropper) Write(b []byte) (int, error) {
	v.Header().Del("Via")
	return v.ResponseWriter.Write(b)
}

// A burst of 12 from discord.py's SyncWebhook, one thread each, meets the
// webhook's bucket (5 per 2 s): with Discord's Via every message is
// delivered through the 429s; without it discord.py gives up on them.
func TestDiscordPyBurst(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		strip bool
	}{
		{"with Via", false},
		{"without Via", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := sink.New(sink.Options{})
			var h http.Handler = s
			if tt.strip {
				h = noVia{s}
			}
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			var got struct {
				OK     int      `json:"ok"`
				IDs    []string `json:"ids"`
				Errors []string `json:"errors"`
			}
			runDiscordPy(t, s, srv.URL, &got, "burst")
			st := s.Stats()
			if st.RateLimited == 0 {
				t.Fatalf("the burst met no 429 (stats %+v; client: %+v): the test proves nothing", st, got)
			}
			if !tt.strip {
				if got.OK != 12 || len(got.IDs) != 12 || len(got.Errors) != 0 || st.Delivered != 12 {
					t.Errorf("discord.py: %d ok (%d ids), errors %q; sink delivered %d, rate limited %d",
						got.OK, len(got.IDs), got.Errors, st.Delivered, st.RateLimited)
				}
				return
			}
			if got.OK == 12 || len(got.Errors) == 0 || !strings.Contains(strings.Join(got.Errors, "\n"), "429") {
				t.Errorf("without Via discord.py should give up on the 429s: %d ok, errors %q", got.OK, got.Errors)
			}
		})
	}
}

// discord.py reads the sink's message object as Discord's: the uploaded
// file as an Attachment, the embed's type, the thread as the channel; it
// fetches the webhook, edits the message and deletes it.
func TestDiscordPyMessage(t *testing.T) {
	t.Parallel()
	s, srv := newServer(t, sink.Options{})
	pic := filepath.Join(t.TempDir(), "chart.png")
	data := tinyPNG(t)
	if err := os.WriteFile(pic, data, 0o644); err != nil {
		t.Fatal(err)
	}
	const thread = "1208418000000000002"
	var got struct {
		WebhookName       string  `json:"webhook_name"`
		WebhookChannelID  string  `json:"webhook_channel_id"`
		EditedContent     string  `json:"edited_content"`
		EditedAt          *string `json:"edited_at"`
		EditedAttachments int     `json:"edited_attachments"`
		AfterDelete       string  `json:"after_delete"`
		ChannelID         string  `json:"channel_id"`
		Position          *int    `json:"position"`
		EmbedType         string  `json:"embed_type"`
		EmbedTitle        string  `json:"embed_title"`
		Attachment        struct {
			ID          string `json:"id"`
			Filename    string `json:"filename"`
			Size        int    `json:"size"`
			ContentType string `json:"content_type"`
			Width       *int   `json:"width"`
			Height      *int   `json:"height"`
			URL         string `json:"url"`
			ProxyURL    string `json:"proxy_url"`
			Description string `json:"description"`
		} `json:"attachment"`
	}
	runDiscordPy(t, s, srv.URL, &got, "features", pic, thread)
	a := got.Attachment
	if got.ChannelID != thread || got.Position == nil || *got.Position != 0 || got.EmbedType != "rich" || got.EmbedTitle != "delivery p99" {
		t.Errorf("message: %+v", got)
	}
	if a.Filename != "chart.png" || a.Size != len(data) || a.ContentType != "image/png" || a.Width == nil || *a.Width != 3 ||
		a.Height == nil || *a.Height != 2 || a.Description != "p99 chart" || !strings.HasPrefix(a.URL, srv.URL+"/attachments/"+thread+"/") ||
		a.ProxyURL == "" {
		t.Errorf("attachment: %+v", a)
	}
	// Then it fetches the webhook, edits the message, deletes it.
	if got.WebhookName != sink.DefaultUsername || got.WebhookChannelID != sink.DefaultChannelID || got.EditedContent != "report (final)" ||
		got.EditedAt == nil || got.EditedAttachments != 1 || got.AfterDelete != "NotFound 10008" {
		t.Errorf("fetch, edit, delete: %+v", got)
	}
	if m := s.Messages(); len(m) != 1 || m[0].ThreadID != thread || len(m[0].Attachments) != 1 || m[0].Attachments[0].Size != len(data) ||
		!m[0].Deleted || m[0].Content != "report (final)" {
		t.Errorf("recorded %+v", m)
	}
}
