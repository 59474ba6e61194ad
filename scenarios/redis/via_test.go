package redis

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runplan/runplan/engine/driver"
)

// testVia stands in for the engine's fault proxy: one forwarding listener
// per upstream, counting the connections it carried.
type testVia struct {
	t     *testing.T
	mu    sync.Mutex
	addrs map[string]string // upstream → proxy
	conns map[string]int    // upstream → connections
	down  bool              // refuse new connections
}

func newTestVia(t *testing.T) *testVia {
	return &testVia{t: t, addrs: map[string]string{}, conns: map[string]int{}}
}

func (v *testVia) via(upstream string) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if a, ok := v.addrs[upstream]; ok {
		return a, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	v.t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			v.mu.Lock()
			v.conns[upstream]++
			down := v.down
			v.mu.Unlock()
			if down {
				c.Close()
				continue
			}
			go func() {
				defer c.Close()
				u, err := net.Dial("tcp", upstream)
				if err != nil {
					return
				}
				defer u.Close()
				go func() { _, _ = io.Copy(u, c); u.Close() }()
				_, _ = io.Copy(c, u)
			}()
		}
	}()
	v.addrs[upstream] = l.Addr().String()
	return l.Addr().String(), nil
}

func (v *testVia) upstreams() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.conns)
}

func (v *testVia) setDown(down bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.down = down
}

// TestDialsThroughVia checks that every connection — to the server, the
// sentinels, the primary, every cluster node — goes through the engine's
// fault proxy when the engine gives one, TLS included.
func TestDialsThroughVia(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		yaml      func(t *testing.T) string
		upstreams int // at least
	}{
		{"fast path", func(t *testing.T) string { return targetYAML(tlsDeployment(t)) }, 1},
		{"go-redis", func(t *testing.T) string { return targetYAML(tlsDeployment(t)) + "fast_path: false\n" }, 1},
		{"sentinel", func(t *testing.T) string { return targetYAML(sentinelDeployment(t)) }, 2},
		{"cluster", func(t *testing.T) string { return targetYAML(clusterDeployment(t)) }, 3},
		{"managed", func(*testing.T) string { return "managed: {}\n" }, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := newTestVia(t)
			spec := driver.TargetSpec{Name: "cache", Node: node(t, tc.yaml(t)), RunID: runID(t)}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			tgi, err := openTargetSpec(ctx, spec, driver.Env{Via: v.via})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			tg := tgi.(*Target)
			defer tg.Close()
			it := newIter(1)
			for _, src := range []string{`[SET, "k{{ iteration }}", v]`, `{command: [GET, "k{{ iteration }}"], pipeline: 4}`} {
				step := bind(t, tg, src)
				for n := range int64(20) {
					mustDo(t, step, it, n)
				}
			}
			if got := v.upstreams(); got < tc.upstreams {
				t.Errorf("%d upstreams dialled through the proxy, want at least %d", got, tc.upstreams)
			}
			// With the proxy refusing, new connections fail: nothing
			// bypasses it.
			v.setDown(true)
			tg.Close()
			tg2, err := openTargetSpec(ctx, spec, driver.Env{Via: v.via})
			if err == nil {
				tg2.Close()
				t.Fatal("Open succeeded with the proxy down")
			}
			if strings.Contains(err.Error(), "password") {
				t.Errorf("unexpected error: %v", err)
			}
		})
	}
}
