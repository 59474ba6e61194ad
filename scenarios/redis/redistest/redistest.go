// Package redistest starts real Redis deployments for tests — standalone
// servers, sentinel-watched primaries, clusters, with TLS or passwords — on
// free loopback ports, through package managed, and stops them when the test
// (or, for shared deployments, the test binary) ends.
//
// Tests use real servers rather than mocks; a missing redis-server binary is a
// test failure, not a skip, so that a green run always means the Redis paths
// were exercised.
package redistest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/runplan/runplan/scenarios/redis/managed"
)

// Binary is the server executable looked up on PATH. Constants are safe for
// concurrent use.
const Binary = managed.DefaultBinary

// MissingBinary is the failure message when Binary is not on PATH.
const MissingBinary = "redistest: redis-server not found on PATH: run ./test.sh, which installs it from Debian's redis-server package"

// startTimeout bounds the start of one deployment.
const startTimeout = 60 * time.Second

// Server is one running standalone redis-server. Its methods are safe for
// concurrent use.
type Server struct {
	d *managed.Deployment
	s *managed.Server
}

// Start starts a standalone redis-server on a free 127.0.0.1 port, with
// persistence off and its working directory under t.TempDir(), waits until
// it answers PING, and registers its shutdown with t.Cleanup. args are
// appended to the command line, e.g. "--requirepass", "pw". Start calls
// t.Fatal if the server cannot be started. It is safe to call from parallel
// tests.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	d := Deploy(t, managed.Config{Args: args})
	return &Server{d: d, s: d.Servers()[0]}
}

// Deploy starts the deployment cfg describes (its Dir defaults to
// t.TempDir()) and registers its shutdown with t.Cleanup. It calls t.Fatal
// if the deployment cannot be started. It is safe to call from parallel
// tests.
func Deploy(t testing.TB, cfg managed.Config) *managed.Deployment {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	d, err := start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func start(cfg managed.Config) (*managed.Deployment, error) {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	d, err := managed.Start(ctx, cfg)
	if errors.Is(err, managed.ErrNotInstalled) {
		return nil, errors.New(MissingBinary)
	}
	if err != nil {
		return nil, fmt.Errorf("redistest: %w", err)
	}
	return d, nil
}

var (
	sharedMu sync.Mutex
	shared   = map[string]*sharedDeployment{}
)

type sharedDeployment struct {
	once sync.Once
	d    *managed.Deployment
	err  error
}

// Shared returns the deployment registered under name, starting it on first
// use, so that the tests of one binary share one slow-starting topology
// (a cluster, sentinels). Tests sharing a deployment must not disturb each
// other: they use their own keys and must not stop its servers. cfg.Dir
// should be empty (the system's temporary directory is used). The package's
// TestMain must call CloseShared after m.Run. Shared calls t.Fatal when the
// deployment cannot be started; it is safe for concurrent use.
func Shared(t testing.TB, name string, cfg managed.Config) *managed.Deployment {
	t.Helper()
	sharedMu.Lock()
	sd := shared[name]
	if sd == nil {
		sd = &sharedDeployment{}
		shared[name] = sd
	}
	sharedMu.Unlock()
	sd.once.Do(func() { sd.d, sd.err = start(cfg) })
	if sd.err != nil {
		t.Fatal(sd.err)
	}
	return sd.d
}

// CloseShared stops every deployment Shared started. Call it from TestMain
// after m.Run. The servers die with the test binary anyway should it crash
// (see managed), but their directories would stay behind.
func CloseShared() {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	for name, sd := range shared {
		if sd.d != nil {
			_ = sd.d.Close()
		}
		delete(shared, name)
	}
}

// Addr returns the server's host:port. It is safe for concurrent use.
func (s *Server) Addr() string { return s.s.Addr() }

// Port returns the server's TCP port. It is safe for concurrent use.
func (s *Server) Port() int { return s.s.Port() }

// URL returns redis://host:port, without credentials. It is safe for
// concurrent use.
func (s *Server) URL() string { return "redis://" + s.Addr() }

// Log returns what the server printed so far. It is safe for concurrent use.
func (s *Server) Log() string { return s.s.Log() }

// Stop kills the server and waits for it to exit. It is idempotent and is
// called by t.Cleanup; tests call it early to make the server unreachable.
// It is safe for concurrent use.
func (s *Server) Stop() { s.s.Stop() }

// SentinelClient returns a client for the sentinel at addr (plain text, no
// password); the caller closes it.
func SentinelClient(addr string) *goredis.SentinelClient {
	return goredis.NewSentinelClient(&goredis.Options{Addr: addr, MaxRetries: -1, DisableIdentity: true})
}
