package cli

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runplan/runplan/engine/driver"
	_ "github.com/runplan/runplan/scenarios/all" // the webhook driver registers `runplan sink`
)

// sinkClient has a transport of its own. httptest.Server.Close calls
// CloseIdleConnections on http.DefaultTransport, which breaks a keep-alive
// connection another parallel test is about to reuse.
var sinkClient = &http.Client{Transport: &http.Transport{}}

// sinkCanary is a token that must appear only where the user needs it: the
// URL line on stdout.
const sinkCanary = "CANARYsinkTOKEN0123456789abcdefXYZ"

// lockedBuffer is a bytes.Buffer safe for the sink's concurrent logging.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startSink runs the sink command, as registered by the webhook driver,
// in-process on a free loopback port and returns the URL it printed, a stop
// function returning the exit code, and its stdout and stderr so far.
func startSink(t *testing.T, args ...string) (url string, stop func() int, stdout *lockedBuffer, stderr *lockedBuffer) {
	t.Helper()
	sink, ok := driver.LookupCommand("sink")
	if !ok {
		t.Fatal("no sink command registered")
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stdout, stderr = &lockedBuffer{}, &lockedBuffer{}
	code := make(chan int, 1)
	go func() {
		code <- sink.Run(ctx, append([]string{"--listen", "127.0.0.1:0", "--token", sinkCanary}, args...), io.MultiWriter(pw, stdout), stderr)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("no URL printed (%v); stderr: %s", err, stderr)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	var once sync.Once
	var c int
	stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case c = <-code:
			case <-time.After(time.Minute): // a hang guard
				t.Fatal("the sink did not stop")
			}
		})
		return c
	}
	t.Cleanup(func() { stop() })
	return strings.TrimSpace(line), stop, stdout, stderr
}

func TestSinkCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		flavor, path, body, okBody string
		ok                         int
		bad                        string // a URL suffix the sink refuses
		badStatus                  int
	}{
		{flavor: "discord", path: "/api/webhooks/", body: `{"content":"hello"}`, ok: 204, bad: "/api/webhooks/1/x", badStatus: 404},
		{flavor: "slack", path: "/services/", body: `{"text":"hello"}`, ok: 200, okBody: "ok", bad: "/services/T/B/x", badStatus: 404},
		{flavor: "generic", path: "/hooks/", body: `{"event":"x"}`, ok: 204, bad: "/hooks/" + sinkCanary + "x", badStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.flavor, func(t *testing.T) {
			t.Parallel()
			url, stop, stdout, stderr := startSink(t, "--flavor", tt.flavor, "--rate-limit", "off")
			if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.Contains(url, tt.path) || !strings.HasSuffix(url, "/"+sinkCanary) {
				t.Fatalf("URL %q", url)
			}
			for i := range 2 {
				req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(tt.body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Runplan-Message", "cli/test/1") // the same twice: a duplicate
				req.Header.Set("X-Runplan-Sent", "1")
				resp, err := sinkClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.ok || string(b) != tt.okBody {
					t.Fatalf("post %d: %d %q", i, resp.StatusCode, b)
				}
			}
			base := url[:strings.Index(url, tt.path)]
			resp, err := sinkClient.Post(base+tt.bad, "application/json", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.badStatus {
				t.Errorf("bad URL: %d, want %d", resp.StatusCode, tt.badStatus)
			}
			if code := stop(); code != ExitOK {
				t.Fatalf("exit %d; stderr: %s", code, stderr)
			}
			log := stderr.String()
			for _, want := range []string{tt.flavor + "-compatible webhook listening on 127.0.0.1:", "POST " + tt.path,
				"/**** " + strconv.Itoa(tt.ok) + " message=cli/test/1", "duplicate", "received 3, accepted 2, rejected 1", "delivered 1, duplicates 1"} {
				if !strings.Contains(log, want) {
					t.Errorf("stderr lacks %q:\n%s", want, log)
				}
			}
			if strings.Contains(log, sinkCanary) {
				t.Errorf("stderr holds the token:\n%s", log)
			}
			if out := stdout.String(); strings.Count(out, sinkCanary) != 1 || strings.Count(out, "\n") != 1 {
				t.Errorf("stdout is not the URL line alone: %q", out)
			}
		})
	}
}

func TestSinkCommandLimitsAndSigning(t *testing.T) {
	t.Parallel()
	url, stop, _, stderr := startSink(t, "--flavor", "generic", "--signing", "github", "--secret", "s3cret", "--rate-limit", "1/1h", "--quiet")
	resp, err := sinkClient.Post(url, "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned delivery: %d", resp.StatusCode)
	}
	resp, err = sinkClient.Post(url, "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("second delivery within the limit: %d %v", resp.StatusCode, resp.Header)
	}
	if stop() != ExitOK {
		t.Fatal(stderr)
	}
	if log := stderr.String(); strings.Contains(log, "POST ") || strings.Contains(log, "s3cret") {
		t.Errorf("--quiet still logs requests, or the secret leaked:\n%s", log)
	}
}

func TestSinkCommandUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"bad flavor", []string{"sink", "--flavor", "teams"}, ExitUsage, `unknown flavor "teams"`},
		{"bad limit", []string{"sink", "--rate-limit", "fast"}, ExitUsage, `--rate-limit "fast": use a count per period`},
		{"signing without generic", []string{"sink", "--signing", "github", "--secret", "x"}, ExitUsage, "needs the generic flavor"},
		{"signing without secret", []string{"sink", "--flavor", "generic", "--signing", "standard"}, ExitUsage, "needs a secret"},
		{"bad secret", []string{"sink", "--flavor", "generic", "--signing", "standard", "--secret", "whsec_!" + sinkCanary}, ExitUsage, "followed by base64"},
		{"extra argument", []string{"sink", "plan.yaml"}, ExitUsage, `unexpected argument "plan.yaml"`},
		{"bad flag", []string{"sink", "--port", "1"}, ExitUsage, "flag provided but not defined"},
		{"busy address", []string{"sink", "--listen", "256.0.0.1:1"}, ExitRuntime, "runplan sink: sink: listen tcp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runMain(t, tt.args...) // --help: TestEveryCommandHelp
			if code != tt.code || !strings.Contains(stderr, tt.err) {
				t.Fatalf("exit %d (want %d), stderr:\n%s", code, tt.code, stderr)
			}
			if strings.Contains(stderr, sinkCanary) {
				t.Errorf("stderr leaks the secret: %s", stderr)
			}
		})
	}
	if code, stdout, _ := runMain(t, "--help"); code != ExitOK || !strings.Contains(stdout, "runplan sink --listen ADDR") {
		t.Errorf("usage does not list sink: %s", stdout)
	}
}
