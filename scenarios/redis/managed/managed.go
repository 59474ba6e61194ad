// Package managed starts real Redis deployments for the length of a run or a
// test: a standalone server with optional replicas, a primary with replicas
// watched by sentinels, or a cluster of primaries with replicas. Every
// process listens on a free 127.0.0.1 port, keeps nothing on disk (no RDB,
// no AOF) and works in a temporary directory that Close removes.
//
// Start waits until the deployment can serve: every server answers PING,
// replicas are linked to their primary, sentinels know the primary and its
// replicas, and the cluster reports cluster_state:ok on every node with
// every slot assigned. A failed or cancelled Start stops whatever it had
// started.
//
// Both the redis driver's `managed:` targets and the tests (through
// redistest) use this package. A Deployment is safe for concurrent use.
package managed

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Topologies.
const (
	Standalone = "standalone"
	Sentinel   = "sentinel"
	Cluster    = "cluster"
)

// Topologies lists the topology names, for messages.
var Topologies = []string{Standalone, Sentinel, Cluster}

// Defaults and limits.
const (
	DefaultBinary     = "redis-server"
	DefaultMasterName = "runplan"
	DefaultPrimaries  = 3 // cluster
	DefaultSentinels  = 3
	MaxReplicas       = 5
	MaxPrimaries      = 16
	MaxSentinels      = 7
	// DefaultStartTimeout bounds Start when ctx has no deadline.
	DefaultStartTimeout = 60 * time.Second
)

// ErrNotInstalled is returned (wrapped) by Start when the redis-server
// binary cannot be found.
var ErrNotInstalled = errors.New("managed: redis-server is not installed")

// Config describes a deployment. The zero value is a standalone server.
type Config struct {
	// Topology is Standalone (default), Sentinel or Cluster.
	Topology string
	// Replicas is the number of replicas of each primary (default 0; for
	// Sentinel, 1).
	Replicas int
	// Primaries is the number of cluster primaries (default 3).
	Primaries int
	// Sentinels is the number of sentinels (default 3).
	Sentinels int
	// MasterName is the name sentinels know the primary by (default
	// "runplan").
	MasterName string
	// Password, when set, is required of clients (requirepass) and used
	// between the servers (masterauth, sentinel auth-pass). It is written to
	// configuration files readable by their owner only, never to command
	// lines or logs.
	Password string
	// TLS makes every server listen with TLS only, with certificates from a
	// throwaway CA (see Certs); clients may present the generated client
	// certificate or none.
	TLS bool
	// Settings are extra redis.conf directives for every data node (not for
	// sentinels), e.g. {"maxmemory": "64mb"}. Keys are directive names.
	Settings map[string]string
	// Args are appended to every data node's command line, after the
	// configuration file (e.g. "--maxmemory", "64mb").
	Args []string
	// Binary is the redis-server executable, a path or a name looked up on
	// PATH (default "redis-server"). Sentinels run it with --sentinel.
	Binary string
	// Dir is where the deployment's temporary directory is created
	// (default os.TempDir()).
	Dir string
	// NodeTimeout is the cluster's cluster-node-timeout and the sentinels'
	// down-after-milliseconds (default 5s).
	NodeTimeout time.Duration
	// Log, when set, receives progress notes.
	Log func(msg string)
}

// withDefaults fills the defaults in.
func (c Config) withDefaults() Config {
	if c.Topology == "" {
		c.Topology = Standalone
	}
	if c.Topology == Sentinel && c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Primaries == 0 {
		c.Primaries = DefaultPrimaries
	}
	if c.Sentinels == 0 {
		c.Sentinels = DefaultSentinels
	}
	if c.MasterName == "" {
		c.MasterName = DefaultMasterName
	}
	if c.Binary == "" {
		c.Binary = DefaultBinary
	}
	if c.NodeTimeout == 0 {
		c.NodeTimeout = 5 * time.Second
	}
	return c
}

// Validate reports every problem of c, with defaults applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if !slices.Contains(Topologies, c.Topology) {
		errs = append(errs, fmt.Errorf("managed: unknown topology %q (expected one of: %s)", c.Topology, strings.Join(Topologies, ", ")))
	}
	if c.Replicas < 0 || c.Replicas > MaxReplicas {
		errs = append(errs, fmt.Errorf("managed: replicas must be between 0 and %d, got %d", MaxReplicas, c.Replicas))
	}
	if c.Primaries < 1 || c.Primaries > MaxPrimaries {
		errs = append(errs, fmt.Errorf("managed: primaries must be between 1 and %d, got %d", MaxPrimaries, c.Primaries))
	}
	if c.Sentinels < 1 || c.Sentinels > MaxSentinels {
		errs = append(errs, fmt.Errorf("managed: sentinels must be between 1 and %d, got %d", MaxSentinels, c.Sentinels))
	}
	if c.NodeTimeout < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("managed: node timeout must be at least 100ms, got %v", c.NodeTimeout))
	}
	for k := range c.Settings {
		if k == "" || strings.ContainsAny(k, " \t\r\n\"'") {
			errs = append(errs, fmt.Errorf("managed: invalid setting name %q", k))
		}
	}
	return errors.Join(errs...)
}

// Deployment is a running set of Redis processes. Its methods are safe for
// concurrent use; Close stops everything and may be called at any time, any
// number of times.
type Deployment struct {
	cfg     Config
	dir     string
	certs   *Certs
	version int    // the server's major version
	release string // the server's full version, e.g. 7.0.15

	mu        sync.Mutex
	primaries []*Server
	replicas  []*Server // in primary order: replicas of primary 0 first
	sentinels []*Server
	closed    bool // Close has begun: Restart must not start anything

	closeOnce sync.Once
	closeErr  error
}

// Start starts the deployment cfg describes and waits until it is ready.
// When ctx has no deadline, DefaultStartTimeout applies. On failure
// everything started is stopped and removed.
func Start(ctx context.Context, cfg Config) (_ *Deployment, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	bin, err := exec.LookPath(cfg.Binary)
	if err != nil {
		return nil, fmt.Errorf("%w: %s not found (install Redis, e.g. Debian's redis-server package, or set the binary's path): %w",
			ErrNotInstalled, cfg.Binary, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultStartTimeout)
		defer cancel()
	}
	dir, err := os.MkdirTemp(cfg.Dir, "runplan-redis-*")
	if err != nil {
		return nil, fmt.Errorf("managed: %w", err)
	}
	d := &Deployment{cfg: cfg, dir: dir}
	defer func() {
		if err != nil {
			_ = d.Close()
		}
	}()
	if cfg.TLS {
		if d.certs, err = GenerateCerts(filepath.Join(dir, "tls")); err != nil {
			return nil, err
		}
	}
	if d.version, d.release, err = serverVersion(ctx, bin); err != nil {
		return nil, err
	}
	started := time.Now()
	switch cfg.Topology {
	case Cluster:
		err = d.startCluster(ctx, bin)
	default:
		err = d.startReplicated(ctx, bin)
		if err == nil && cfg.Topology == Sentinel {
			err = d.startSentinels(ctx, bin)
		}
	}
	if err != nil {
		return nil, err
	}
	d.logf("managed: %s ready in %v: %s", cfg.Topology, time.Since(started).Round(time.Millisecond), d.describe())
	return d, nil
}

func (d *Deployment) logf(format string, args ...any) {
	if d.cfg.Log != nil {
		d.cfg.Log(fmt.Sprintf(format, args...))
	}
}

func (d *Deployment) describe() string {
	var parts []string
	add := func(what string, ss []*Server) {
		if len(ss) == 0 {
			return
		}
		addrs := make([]string, len(ss))
		for i, s := range ss {
			addrs[i] = s.Addr()
		}
		parts = append(parts, what+" "+strings.Join(addrs, ","))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	add("primaries", d.primaries)
	add("replicas", d.replicas)
	add("sentinels", d.sentinels)
	return strings.Join(parts, "; ")
}

// dataConf renders a data node's configuration file.
func (d *Deployment) dataConf(port int, dir string, replicaOf int, cluster bool) string {
	var b strings.Builder
	line := func(k string, vs ...string) {
		b.WriteString(k)
		for _, v := range vs {
			b.WriteByte(' ')
			b.WriteString(quote(v))
		}
		b.WriteByte('\n')
	}
	line("bind", "127.0.0.1")
	if d.certs != nil {
		line("port", "0")
		line("tls-port", strconv.Itoa(port))
		d.tlsConf(line)
		line("tls-replication", "yes")
		if cluster {
			line("tls-cluster", "yes")
		}
	} else {
		line("port", strconv.Itoa(port))
	}
	line("save", "")
	line("appendonly", "no")
	line("daemonize", "no")
	line("dir", dir)
	line("loglevel", "notice")
	// Replicas sync at once, without the default 5s wait for more replicas.
	line("repl-diskless-sync", "yes")
	line("repl-diskless-sync-delay", "0")
	if d.version >= 7 {
		// DEBUG SLEEP and friends simulate a slow server in a plan.
		line("enable-debug-command", "local")
	}
	if d.cfg.Password != "" {
		line("requirepass", d.cfg.Password)
		line("masterauth", d.cfg.Password)
	}
	if cluster {
		line("cluster-enabled", "yes")
		line("cluster-config-file", "nodes.conf")
		line("cluster-node-timeout", strconv.FormatInt(d.cfg.NodeTimeout.Milliseconds(), 10))
	}
	if replicaOf > 0 {
		line("replicaof", "127.0.0.1", strconv.Itoa(replicaOf))
	}
	keys := make([]string, 0, len(d.cfg.Settings))
	for k := range d.cfg.Settings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteString(k)
		for _, f := range strings.Fields(d.cfg.Settings[k]) {
			b.WriteByte(' ')
			b.WriteString(quote(f))
		}
		if strings.TrimSpace(d.cfg.Settings[k]) == "" {
			b.WriteString(` ""`)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func (d *Deployment) tlsConf(line func(string, ...string)) {
	line("tls-cert-file", d.certs.CertFile)
	line("tls-key-file", d.certs.KeyFile)
	line("tls-ca-cert-file", d.certs.CAFile)
	line("tls-auth-clients", "optional")
}

func (d *Deployment) spec(bin, role, name string, conf func(int) string, bus bool) procSpec {
	var tc *tls.Config
	if d.certs != nil {
		tc = d.certs.ClientTLS()
	}
	return procSpec{bin: bin, role: role, dir: filepath.Join(d.dir, name), conf: conf, args: d.cfg.Args,
		bus: bus, tls: tc, password: d.cfg.Password}
}

// startReplicated starts a primary and its replicas and waits until every
// replica is linked.
func (d *Deployment) startReplicated(ctx context.Context, bin string) error {
	dir := filepath.Join(d.dir, "primary")
	p, err := startProcess(ctx, d.spec(bin, RolePrimary, "primary", func(port int) string {
		return d.dataConf(port, dir, 0, false)
	}, false))
	if err != nil {
		return err
	}
	d.add(&d.primaries, p)
	err = parallel(d.cfg.Replicas, func(i int) error {
		name := fmt.Sprintf("replica-%d", i)
		dir := filepath.Join(d.dir, name)
		r, err := startProcess(ctx, d.spec(bin, RoleReplica, name, func(port int) string {
			return d.dataConf(port, dir, p.Port(), false)
		}, false))
		if err != nil {
			return err
		}
		d.add(&d.replicas, r)
		return nil
	})
	if err != nil {
		return err
	}
	return d.waitReplicasLinked(ctx)
}

// add appends s to list under the lock, so that Close sees every process.
func (d *Deployment) add(list *[]*Server, s *Server) {
	d.mu.Lock()
	defer d.mu.Unlock()
	*list = append(*list, s)
}

// waitReplicasLinked waits until every replica reports master_link_status:up.
func (d *Deployment) waitReplicasLinked(ctx context.Context) error {
	return parallel(len(d.Replicas()), func(i int) error {
		r := d.server(&d.replicas, i)
		return poll(ctx, r, "replica linked to its primary", func(ctx context.Context) (bool, error) {
			c := r.client()
			defer c.Close()
			info, err := c.Info(ctx, "replication").Result()
			if err != nil {
				return false, err
			}
			return strings.Contains(info, "master_link_status:up"), nil
		})
	})
}

func (d *Deployment) server(list *[]*Server, i int) *Server {
	d.mu.Lock()
	defer d.mu.Unlock()
	return (*list)[i]
}

// poll calls cond every 20ms until it is true, the server exits or ctx
// ends; the error names what was awaited and the last failure.
func poll(ctx context.Context, s *Server, what string, cond func(ctx context.Context) (bool, error)) error {
	var last error
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		ok, err := cond(cctx)
		cancel()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			err := fmt.Errorf("managed: %s %s: waiting for %s: %w", s.role, s.Addr(), what, ctx.Err())
			if last != nil {
				err = fmt.Errorf("%w (last error: %v)", err, last)
			}
			if out := s.Log(); out != "" {
				err = fmt.Errorf("%w: %s", err, lastLines(out, 5))
			}
			return err
		case <-s.done:
			return fmt.Errorf("managed: %s %s %w while waiting for %s: %s", s.role, s.Addr(), errExited, what, lastLines(s.Log(), 8))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// parallel runs f(0..n-1) concurrently and joins their errors.
func parallel(n int, f func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = f(i) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// serverVersion returns the major and full versions of the redis-server at
// bin.
func serverVersion(ctx context.Context, bin string) (int, string, error) {
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return 0, "", fmt.Errorf("managed: %s --version: %w", bin, err)
	}
	// Redis server v=7.0.15 sha=...
	_, v, ok := strings.Cut(string(out), "v=")
	if !ok {
		return 0, "", fmt.Errorf("managed: %s --version: unexpected output %q", bin, strings.TrimSpace(string(out)))
	}
	release, _, _ := strings.Cut(strings.TrimSpace(v), " ")
	major, _, _ := strings.Cut(release, ".")
	n, err := strconv.Atoi(major)
	if err != nil {
		return 0, "", fmt.Errorf("managed: %s --version: unexpected output %q", bin, strings.TrimSpace(string(out)))
	}
	return n, release, nil
}

// Version returns the servers' major version.
func (d *Deployment) Version() int { return d.version }

// Release returns the servers' full version, as redis-server --version
// gives it (e.g. 7.0.15).
func (d *Deployment) Release() string { return d.release }

// Topology returns the deployment's topology.
func (d *Deployment) Topology() string { return d.cfg.Topology }

// Dir returns the deployment's temporary directory.
func (d *Deployment) Dir() string { return d.dir }

// MasterName returns the name sentinels know the primary by.
func (d *Deployment) MasterName() string { return d.cfg.MasterName }

// Password returns the password clients must give ("" for none).
func (d *Deployment) Password() string { return d.cfg.Password }

// Certs returns the TLS certificates, nil without TLS.
func (d *Deployment) Certs() *Certs { return d.certs }

// ClientTLS returns a client TLS configuration trusting the deployment's
// CA, or nil without TLS. Each call returns a new configuration.
func (d *Deployment) ClientTLS() *tls.Config {
	if d.certs == nil {
		return nil
	}
	return d.certs.ClientTLS()
}

// Addr returns the first primary's address: the standalone server, the
// sentinels' primary as started, or a cluster seed.
func (d *Deployment) Addr() string { return d.server(&d.primaries, 0).Addr() }

// Primaries returns the primaries' addresses, as started.
func (d *Deployment) Primaries() []string { return d.addrs(&d.primaries) }

// Replicas returns the replicas' addresses, as started.
func (d *Deployment) Replicas() []string { return d.addrs(&d.replicas) }

// Sentinels returns the sentinels' addresses.
func (d *Deployment) Sentinels() []string { return d.addrs(&d.sentinels) }

// Nodes returns every data node's address, primaries first.
func (d *Deployment) Nodes() []string { return append(d.Primaries(), d.Replicas()...) }

func (d *Deployment) addrs(list *[]*Server) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, len(*list))
	for i, s := range *list {
		out[i] = s.Addr()
	}
	return out
}

// Servers returns every process: primaries, replicas, then sentinels.
func (d *Deployment) Servers() []*Server {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*Server
	out = append(out, d.primaries...)
	out = append(out, d.replicas...)
	return append(out, d.sentinels...)
}

// Close kills every process and removes the deployment's directory. It is
// idempotent and safe for concurrent use.
func (d *Deployment) Close() error {
	d.closeOnce.Do(func() {
		d.mu.Lock()
		d.closed = true
		d.mu.Unlock()
		servers := d.Servers()
		var wg sync.WaitGroup
		for _, s := range servers {
			wg.Go(s.Stop)
		}
		wg.Wait()
		if err := os.RemoveAll(d.dir); err != nil {
			d.closeErr = fmt.Errorf("managed: removing %s: %w", d.dir, err)
		}
	})
	return d.closeErr
}
