package managed

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) {
	goredis.SetLogger(silent{})
	os.Exit(m.Run())
}

// silent discards go-redis's log lines about refused dials to nodes that are
// still starting.
type silent struct{}

func (silent) Printf(context.Context, string, ...any) {}

func startT(t *testing.T, cfg Config) *Deployment {
	t.Helper()
	cfg.Dir = t.TempDir()
	cfg.Log = func(msg string) { t.Log(msg) }
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if _, err := os.Stat(d.Dir()); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("directory %s left behind: %v", d.Dir(), err)
		}
		for _, s := range d.Servers() {
			if !s.Exited() {
				t.Errorf("%s %s still running", s.Role(), s.Addr())
			}
		}
	})
	return d
}

func TestTopologies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		// counts of primaries, replicas, sentinels
		p, r, s int
	}{
		{"standalone", Config{}, 1, 0, 0},
		{"standalone with replicas", Config{Replicas: 2, Password: "pw with \"quotes\" and spaces"}, 1, 2, 0},
		{"sentinel", Config{Topology: Sentinel}, 1, 1, 3},
		{"cluster", Config{Topology: Cluster, Replicas: 1}, 3, 3, 0},
		{"cluster tls", Config{Topology: Cluster, TLS: true}, 3, 0, 0},
		{"sentinel tls", Config{Topology: Sentinel, TLS: true, Sentinels: 1, Password: "pw"}, 1, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			d := startT(t, tc.cfg)
			t.Logf("started in %v", time.Since(start))
			if len(d.Primaries()) != tc.p || len(d.Replicas()) != tc.r || len(d.Sentinels()) != tc.s {
				t.Fatalf("got %d primaries, %d replicas, %d sentinels", len(d.Primaries()), len(d.Replicas()), len(d.Sentinels()))
			}
			ctx := context.Background()
			var c goredis.UniversalClient
			switch d.Topology() {
			case Cluster:
				c = goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: d.Nodes(), Password: d.Password(), TLSConfig: d.ClientTLS()})
			case Sentinel:
				c = goredis.NewFailoverClient(&goredis.FailoverOptions{MasterName: d.MasterName(), SentinelAddrs: d.Sentinels(),
					Password: d.Password(), TLSConfig: d.ClientTLS()})
			default:
				c = goredis.NewClient(&goredis.Options{Addr: d.Addr(), Password: d.Password(), TLSConfig: d.ClientTLS()})
			}
			defer c.Close()
			for _, k := range []string{"a", "b", "c", "d", "e"} {
				if err := c.Set(ctx, k, "v", 0).Err(); err != nil {
					t.Fatalf("SET %s: %v", k, err)
				}
			}
		})
	}
}

func TestMissingBinary(t *testing.T) {
	t.Parallel()
	_, err := Start(context.Background(), Config{Binary: "/nonexistent/redis-server", Dir: t.TempDir()})
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "not installed") {
		t.Fatalf("Start = %v, want ErrNotInstalled", err)
	}
}

// The sentinels' failover-timeout leaves a promotion time to be seen by
// their once-a-second INFO, however short the node timeout.
func TestSentinelFailoverTimeout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		node time.Duration
		want string
	}{
		{500 * time.Millisecond, "10000"},
		{time.Second, "10000"},
		{5 * time.Second, "10000"},
		{8 * time.Second, "16000"},
	}
	for _, tt := range tests {
		d := &Deployment{cfg: Config{Topology: Sentinel, NodeTimeout: tt.node}.withDefaults()}
		conf := d.sentinelConf(26379, 6379, t.TempDir())
		want := `sentinel "failover-timeout" "runplan" "` + tt.want + `"`
		if !strings.Contains(conf, want) {
			t.Errorf("node timeout %v: configuration lacks %s:\n%s", tt.node, want, conf)
		}
	}
}
