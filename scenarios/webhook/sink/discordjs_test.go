package sink_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/runplan/runplan/scenarios/webhook/sink"
)

// discord.js's REST client (@discordjs/rest, what WebhookClient sends
// with) drives the sink: testdata/discordjs/client.js. The package comes
// from the npm registry at the versions pinned by testdata/discordjs's
// package-lock.json (npm ci), installed once into the user's cache
// directory.

var (
	discordJSOnce sync.Once
	discordJSDir  string
	discordJSErr  error
)

// discordJS returns the directory holding node_modules/@discordjs/rest,
// failing the test (never skipping it) when it cannot be had.
func discordJS(t *testing.T) string {
	t.Helper()
	discordJSOnce.Do(func() { discordJSDir, discordJSErr = installDiscordJS() })
	if discordJSErr != nil {
		t.Fatalf("@discordjs/rest is needed to drive the sink with discord.js: %v\n"+
			"It comes from the npm registry (npm ci in testdata/discordjs); Node.js and npm are installed by test.sh.", discordJSErr)
	}
	return discordJSDir
}

func installDiscordJS() (string, error) {
	src := filepath.Join("testdata", "discordjs")
	var files [][]byte
	h := sha256.New()
	for _, name := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			return "", err
		}
		files = append(files, b)
		h.Write(b)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	root := filepath.Join(cache, "runplan-test")
	dir := filepath.Join(root, "discordjs-"+hex.EncodeToString(h.Sum(nil))[:12])
	marker := filepath.Join(dir, "node_modules", "@discordjs", "rest", "package.json")
	if _, err := os.Stat(marker); err == nil {
		return dir, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("npm is not installed: %w", err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(root, "discordjs-install-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	for i, name := range []string{"package.json", "package-lock.json"} {
		if err := os.WriteFile(filepath.Join(tmp, name), files[i], 0o644); err != nil {
			return "", err
		}
	}
	// A hang guard only: npm ci takes seconds when the registry answers.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--silent")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm ci: %w\n%s", err, out)
	}
	// Renamed whole, so that a parallel run never sees half an install;
	// when another run got there first, its copy serves.
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, fs.ErrExist) {
		if _, serr := os.Stat(marker); serr != nil {
			return "", err
		}
	}
	return dir, nil
}

// runDiscordJS runs the client script against base and decodes its JSON.
func runDiscordJS(t *testing.T, s *sink.Sink, base string, out any, args ...string) {
	t.Helper()
	modules := discordJS(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed (test.sh installs npm, which brings it): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // hang guard
	defer cancel()
	argv := append([]string{filepath.Join("testdata", "discordjs", "client.js"), modules, args[0], base, s.WebhookID()}, args[1:]...)
	cmd := exec.CommandContext(ctx, node, argv...)
	cmd.Env = append(os.Environ(), "SINK_TOKEN="+s.Token(), "NO_PROXY=*", "no_proxy=*", "HTTP_PROXY=", "http_proxy=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("discord.js client: %v\n%s\n%s", err, stdout, stderr.String())
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Fatalf("discord.js client output %q: %v\n%s", stdout, err, stderr.String())
	}
}

// A burst of 12 from discord.js: it keeps to the webhook's bucket by its
// headers, meets the channel limit's 429s (scope shared), waits them out and
// delivers all 12.
func TestDiscordJSBurst(t *testing.T) {
	t.Parallel()
	s, srv := newServer(t, sink.Options{ChannelLimit: sink.Limit{Count: 4, Per: 2 * time.Second}})
	var got struct {
		OK          int      `json:"ok"`
		IDs         []string `json:"ids"`
		Errors      []string `json:"errors"`
		RateLimited int      `json:"rateLimited"`
	}
	runDiscordJS(t, s, srv.URL, &got, "burst")
	st := s.Stats()
	if st.RateLimited == 0 || got.RateLimited == 0 {
		t.Fatalf("the burst met no 429 (sink %+v, client saw %d): the test proves nothing", st, got.RateLimited)
	}
	if got.OK != 12 || len(got.IDs) != 12 || len(got.Errors) != 0 || st.Delivered != 12 {
		t.Errorf("discord.js: %d ok (%d ids), errors %q; sink delivered %d, rate limited %d",
			got.OK, len(got.IDs), got.Errors, st.Delivered, st.RateLimited)
	}
}

// discord.js's upload (files[0] and payload_json) comes back with Discord's
// attachment object, the embed typed rich, the thread as the channel.
func TestDiscordJSUpload(t *testing.T) {
	t.Parallel()
	s, srv := newServer(t, sink.Options{})
	pic := filepath.Join(t.TempDir(), "chart.png")
	data := tinyPNG(t)
	if err := os.WriteFile(pic, data, 0o644); err != nil {
		t.Fatal(err)
	}
	const thread = "1208418000000000003"
	var got struct {
		ChannelID   string           `json:"channel_id"`
		Position    *int             `json:"position"`
		Embeds      []map[string]any `json:"embeds"`
		Attachments []struct {
			ID          string `json:"id"`
			Filename    string `json:"filename"`
			Size        int    `json:"size"`
			ContentType string `json:"content_type"`
			Width       int    `json:"width"`
			Height      int    `json:"height"`
			URL         string `json:"url"`
			ProxyURL    string `json:"proxy_url"`
			Description string `json:"description"`
		} `json:"attachments"`
	}
	runDiscordJS(t, s, srv.URL, &got, "upload", pic, thread)
	if got.ChannelID != thread || got.Position == nil || *got.Position != 0 || len(got.Embeds) != 1 || got.Embeds[0]["type"] != "rich" {
		t.Errorf("message: %+v", got)
	}
	if len(got.Attachments) != 1 {
		t.Fatalf("attachments: %+v", got.Attachments)
	}
	a := got.Attachments[0]
	if a.ID == "" || a.Filename != "chart.png" || a.Size != len(data) || a.ContentType != "image/png" || a.Width != 3 || a.Height != 2 ||
		a.Description != "p99 chart" || a.URL != srv.URL+"/attachments/"+thread+"/"+a.ID+"/chart.png" || a.ProxyURL == "" {
		t.Errorf("attachment: %+v", a)
	}
}
