// Package promtest starts a real Prometheus server for tests — Debian's
// prometheus package, with its remote-write receiver on — on a free
// loopback port, with its storage under t.TempDir(), and stops it when the
// test ends. A missing prometheus binary is a test failure, not a skip.
package promtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Binary is the server executable looked up on PATH.
const Binary = "prometheus"

// MissingBinary is the failure message when Binary is not on PATH.
const MissingBinary = "promtest: prometheus not found on PATH: run ./test.sh, which installs it from Debian's prometheus package"

// readyTimeout is a hang guard: Prometheus is ready in a second or two on
// a quiet machine.
const readyTimeout = 2 * time.Minute

// Server is one running Prometheus. Its methods are safe for concurrent
// use.
type Server struct {
	addr   string
	client *http.Client
	mu     sync.Mutex
	log    strings.Builder
}

// Write implements io.Writer for the server's output.
func (s *Server) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.Write(p)
}

// Log returns what the server printed so far.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// Start starts Prometheus with --web.enable-remote-write-receiver on a
// free 127.0.0.1 port and waits until it is ready (/-/ready) — its own
// process, not another test's that took the port first. It stops it with
// t.Cleanup, and calls t.Fatal when it cannot be started.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath(Binary)
	if err != nil {
		t.Fatal(MissingBinary)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	// No scrape jobs: the samples come only through remote write.
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var last error
	for attempt := range 3 {
		s, err := start(t, bin, cfg, filepath.Join(dir, fmt.Sprintf("data%d", attempt)))
		if err == nil {
			return s
		}
		last = err // most likely the port was taken meanwhile: again
	}
	t.Fatal(last)
	return nil
}

func start(t testing.TB, bin, cfg, data string) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	_ = l.Close()
	s := &Server{addr: addr, client: &http.Client{Timeout: 30 * time.Second}}
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+data, "--web.listen-address="+addr,
		"--web.enable-remote-write-receiver", "--log.level=warn")
	cmd.Stdout, cmd.Stderr = s, s
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("promtest: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	for {
		select {
		case <-exited:
			return nil, fmt.Errorf("promtest: prometheus on %s exited before it was ready:\n%s", addr, s.Log())
		case <-ctx.Done():
			stop()
			return nil, fmt.Errorf("promtest: prometheus on %s not ready within %v:\n%s", addr, readyTimeout, s.Log())
		case <-time.After(50 * time.Millisecond):
		}
		if s.ready(ctx) {
			select {
			case <-exited: // another server answered: ours lost the port
				continue
			default:
			}
			t.Cleanup(stop)
			return s, nil
		}
	}
}

func (s *Server) ready(ctx context.Context) bool {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.addr+"/-/ready", nil)
	resp, err := s.client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// WriteURL is the remote-write receiver's URL.
func (s *Server) WriteURL() string { return "http://" + s.addr + "/api/v1/write" }

// Sample is one series of an instant query's answer.
type Sample struct {
	Metric map[string]string
	Value  float64
}

// Query runs an instant PromQL query through the HTTP API
// (/api/v1/query) and returns its vector; it calls t.Fatal on an error.
func (s *Server) Query(t testing.TB, promql string) []Sample {
	t.Helper()
	resp, err := s.client.PostForm("http://"+s.addr+"/api/v1/query", url.Values{"query": {promql}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("query %s: %v", promql, err)
	}
	if body.Status != "success" || body.Data.ResultType != "vector" {
		t.Fatalf("query %s: %s %s (result %s)", promql, body.Status, body.Error, body.Data.ResultType)
	}
	var out []Sample
	for _, r := range body.Data.Result {
		str, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(str, 64)
		if err != nil {
			t.Fatalf("query %s: value %v: %v", promql, r.Value[1], err)
		}
		out = append(out, Sample{Metric: r.Metric, Value: v})
	}
	return out
}
