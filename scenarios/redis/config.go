package redis

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/scenarios/redis/managed"
)

// Target option names; "driver", "url" and "allow_destructive" are read by
// the engine too.
var targetKeys = []string{
	"url", "sentinel", "cluster", "managed",
	"username", "password", "db", "tls",
	"pool_size", "timeout", "dial_timeout", "read_timeout", "write_timeout", "pool_timeout", "retries",
	"key_prefix", "read_only", "safety_ttl", "keep", "allow_destructive", "fast_path", "prefill", "local_server",
}

var (
	sentinelKeys = []string{"master", "addrs", "username", "password"}
	clusterKeys  = []string{"addrs"}
	tlsKeys      = []string{"ca_file", "cert_file", "key_file", "insecure_skip_verify", "server_name"}
	retriesKeys  = []string{"max", "min_backoff", "max_backoff"}
	managedKeys  = []string{"topology", "replicas", "primaries", "sentinels", "password", "tls", "config", "redis_server", "node_timeout"}
)

// Limits of the target options.
const (
	maxPoolSize = 100_000
	maxRetries  = 100
	maxDB       = 1 << 20
)

// Connection modes of a target.
const (
	modeEmbedded = "embedded" // no url: miniredis in-process
	modeURL      = "url"      // one server: redis://, rediss://, unix://
	modeSentinel = "sentinel" // a primary found through sentinels
	modeCluster  = "cluster"  // a Redis Cluster
	modeManaged  = "managed"  // processes runplan starts
)

// What a target without url, sentinel, cluster or managed starts
// (local_server).
const (
	// localAuto: a redis-server when one is on PATH, else miniredis.
	localAuto = "auto"
	// localRedisServer: a standalone redis-server, which must be installed.
	localRedisServer = "redis-server"
	// localMiniredis: the in-process miniredis, whose figures are not Redis
	// measurements.
	localMiniredis = "miniredis"
)

var localServers = []string{localAuto, localRedisServer, localMiniredis}

// config is a target's decoded configuration.
type config struct {
	name string
	mode string

	url  string
	opts *goredis.Options // the parsed url (modeURL)

	sentinel *sentinelConfig
	cluster  *clusterConfig
	managed  *managed.Config

	username, password string
	hasUser, hasPass   bool
	db                 int
	hasDB              bool
	tls                *tlsConfig

	poolSize                               int
	dialTimeout, readTimeout, writeTimeout time.Duration
	poolTimeout                            time.Duration
	retries                                *retryConfig
	keyPrefix                              string
	readOnly                               bool
	safetyTTL                              time.Duration // safety_ttl; 0: the default for the run's length
	keep, noFastPath                       bool
	prefill                                []*prefillSpec
	// localServer is what an embedded-mode target starts: localAuto
	// (default), localRedisServer or localMiniredis.
	localServer string
}

type sentinelConfig struct {
	master             string
	addrs              []string
	username, password string
}

type clusterConfig struct {
	addrs []string
}

type tlsConfig struct {
	caFile, certFile, keyFile string
	insecure                  bool
	serverName                string
	valid                     bool // decoded without problems: the files may be read
}

type retryConfig struct {
	max                    int
	minBackoff, maxBackoff time.Duration
}

// owned reports whether runplan starts the target's servers itself, so
// that destructive commands cannot hurt anyone else's data.
func (c *config) owned() bool { return c.mode == modeEmbedded || c.mode == modeManaged }

// secrets lists every password of the configuration, for scrubbing error
// messages.
func (c *config) secrets() []string {
	out := secrets(c.url)
	add := func(s string) {
		if s != "" {
			out = append(out, s)
		}
	}
	add(c.password)
	if c.opts != nil {
		add(c.opts.Password)
	}
	if c.sentinel != nil {
		add(c.sentinel.password)
	}
	if c.managed != nil {
		add(c.managed.Password)
	}
	return out
}

// parseTarget decodes and validates t.
func parseTarget(t driver.TargetSpec) (*config, error) {
	cfg := &config{name: t.Name, url: t.URL}
	var errs []error
	fail := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	n := valueNode(t.Node)
	nodes := map[string]*yaml.Node{} // option name → its key node
	switch {
	case n == nil || isNull(n):
	case n.Kind != yaml.MappingNode:
		fail(diag.Errorf(n, "redis: target %q: expected a mapping, got %s", t.Name, describe(n)))
	default:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], valueNode(n.Content[i+1])
			if nodes[k.Value] != nil {
				fail(diag.Errorf(k, "redis: duplicate key %q", k.Value))
				continue
			}
			nodes[k.Value] = k
			var err error
			switch k.Value {
			case "driver":
			case "url":
				if cfg.url == "" && v.Kind == yaml.ScalarNode && !isNull(v) {
					cfg.url = v.Value
				}
				nodes["url"] = v
			case "sentinel":
				cfg.sentinel, err = parseSentinel(v)
			case "cluster":
				cfg.cluster, err = parseCluster(v)
			case "managed":
				cfg.managed, err = parseManaged(v)
			case "username":
				cfg.username, err = decodeString(v, "username")
				cfg.hasUser = true
			case "password":
				cfg.password, err = decodeSecret(v, "password")
				cfg.hasPass = true
			case "db":
				cfg.db, err = decodeInt(v, "db", 0, maxDB)
				cfg.hasDB = true
			case "tls":
				cfg.tls, err = parseTLS(v)
			case "pool_size":
				cfg.poolSize, err = decodeInt(v, "pool_size", 1, maxPoolSize)
			case "timeout":
				// The specific timeouts win over `timeout`, whatever their order.
				var d time.Duration
				d, err = decodePositive(v, "timeout")
				cfg.dialTimeout = firstSet(cfg.dialTimeout, d)
				cfg.readTimeout = firstSet(cfg.readTimeout, d)
				cfg.writeTimeout = firstSet(cfg.writeTimeout, d)
			case "dial_timeout":
				cfg.dialTimeout, err = decodePositive(v, "dial_timeout")
			case "read_timeout":
				cfg.readTimeout, err = decodePositive(v, "read_timeout")
			case "write_timeout":
				cfg.writeTimeout, err = decodePositive(v, "write_timeout")
			case "pool_timeout":
				cfg.poolTimeout, err = decodePositive(v, "pool_timeout")
			case "retries":
				cfg.retries, err = parseRetries(v)
			case "key_prefix":
				// Any prefix is safe, the empty one included: the run's keys
				// go under key_prefix + runplan:<run id>: (see runNamespace),
				// and a read_only target's are never deleted.
				cfg.keyPrefix, err = decodeString(v, "key_prefix")
			case "read_only":
				cfg.readOnly, err = decodeBool(v, "read_only")
			case "safety_ttl":
				cfg.safetyTTL, err = decodeSafetyTTL(v, t.RunLength)
			case "keep":
				cfg.keep, err = decodeBool(v, "keep")
			case "allow_destructive":
				_, err = decodeBool(v, "allow_destructive")
			case "fast_path":
				var on bool
				on, err = decodeBool(v, "fast_path")
				cfg.noFastPath = !on
			case "prefill":
				cfg.prefill, err = parsePrefill(v)
			case "local_server":
				cfg.localServer, err = decodeString(v, "local_server")
				if err == nil && !containsString(localServers, cfg.localServer) {
					err = diag.Errorf(v, "redis: target %q: local_server: expected one of %s, got %q", t.Name, strings.Join(localServers, ", "), cfg.localServer)
				}
			default:
				err = unknownKey(k, targetKeys)
			}
			fail(err)
		}
	}
	// Exactly one way to reach the servers.
	var ways []string
	for _, w := range []string{"url", "sentinel", "cluster", "managed"} {
		if w == "url" && cfg.url == "" {
			continue
		}
		if w != "url" && nodes[w] == nil {
			continue
		}
		ways = append(ways, w)
	}
	switch {
	case len(ways) > 1:
		fail(diag.Errorf(nodes[ways[1]], "redis: target %q: %s and %s exclude each other: a target is one url, one sentinel set, one cluster or one managed deployment",
			t.Name, ways[0], ways[1]))
	case len(ways) == 0:
		cfg.mode = modeEmbedded
	default:
		cfg.mode = map[string]string{"url": modeURL, "sentinel": modeSentinel, "cluster": modeCluster, "managed": modeManaged}[ways[0]]
	}

	if cfg.url != "" {
		opts, err := goredis.ParseURL(cfg.url)
		urlNode := nodes["url"]
		if err != nil {
			if ue, ok := errors.AsType[*url.Error](err); ok {
				err = ue.Err // url.Error quotes the whole URL, password included
			}
			fail(diag.Errorf(urlNode, "redis: target %q: invalid url %s: %w", t.Name, redactURL(cfg.url), scrub(err, cfg.secrets())))
		} else {
			cfg.opts = opts
			if cfg.hasUser && opts.Username != "" {
				fail(diag.Errorf(nodes["username"], "redis: target %q: username is given twice, in the url and as username", t.Name))
			}
			if cfg.hasPass && opts.Password != "" {
				fail(diag.Errorf(nodes["password"], "redis: target %q: the password is given twice, in the url and as password", t.Name))
			}
			if cfg.hasDB && opts.DB != 0 {
				fail(diag.Errorf(nodes["db"], "redis: target %q: db is given twice, in the url and as db", t.Name))
			}
			if cfg.retries != nil && (urlHasParam(cfg.url, "max_retries") || urlHasParam(cfg.url, "min_retry_backoff") || urlHasParam(cfg.url, "max_retry_backoff")) {
				fail(diag.Errorf(nodes["retries"], "redis: target %q: retries are given twice, in the url and as retries", t.Name))
			}
			if cfg.tls != nil && opts.TLSConfig == nil {
				fail(diag.Errorf(nodes["tls"], "redis: target %q: tls needs a rediss:// url (the url's scheme says plain text)", t.Name))
			}
		}
	}
	if cfg.localServer == "" {
		cfg.localServer = localAuto
	}
	if cfg.mode != modeEmbedded && nodes["local_server"] != nil {
		fail(diag.Errorf(nodes["local_server"], "redis: target %q: local_server chooses the server runplan starts for a target without url, sentinel, cluster or managed; this target is a %s target", t.Name, cfg.mode))
	}
	switch cfg.mode {
	case modeEmbedded:
		for _, k := range []string{"username", "password", "db", "tls", "retries"} {
			if nodes[k] != nil {
				fail(diag.Errorf(nodes[k], "redis: target %q: %s needs a server to connect to: give a url, sentinel or cluster (without them the target is an embedded server)", t.Name, k))
			}
		}
	case modeManaged:
		for _, k := range []string{"username", "password", "tls"} {
			if nodes[k] != nil {
				fail(diag.Errorf(nodes[k], "redis: target %q: %s does not apply to a managed target: set managed.%s instead", t.Name, k, map[string]string{"username": "password", "password": "password", "tls": "tls"}[k]))
			}
		}
		if nodes["db"] != nil && cfg.managed != nil && cfg.managed.Topology == managed.Cluster {
			fail(diag.Errorf(nodes["db"], "redis: target %q: a cluster has only db 0", t.Name))
		}
	case modeCluster:
		if nodes["db"] != nil && cfg.db != 0 {
			fail(diag.Errorf(nodes["db"], "redis: target %q: a cluster has only db 0", t.Name))
		}
	}
	if cfg.readOnly {
		// A read_only target writes nothing: what would write is refused
		// rather than silently ignored.
		for _, k := range []string{"prefill", "keep", "safety_ttl"} {
			if nodes[k] != nil {
				fail(diag.Errorf(nodes[k], "redis: target %q: %s does not apply to a read_only target, which reads the keys it is given and writes none%s",
					t.Name, k, map[string]string{"prefill": " (prefill writes keys)"}[k]))
			}
		}
	}
	if cfg.mode != modeURL && cfg.mode != modeEmbedded && cfg.mode != modeManaged && nodes["fast_path"] != nil && !cfg.noFastPath {
		fail(diag.Errorf(nodes["fast_path"], "redis: target %q: the fast path serves single servers (url and managed standalone targets); %s targets use go-redis", t.Name, cfg.mode))
	}
	if cfg.tls != nil && cfg.tls.valid {
		if _, err := cfg.tls.load(); err != nil {
			// Files are read at validation too: a missing certificate is a
			// plan problem, found before any load is sent.
			fail(diag.Errorf(nodes["tls"], "redis: target %q: tls: %w", t.Name, err))
		}
	}
	return cfg, joinErrors(errs)
}

// decodeSafetyTTL decodes safety_ttl: whole seconds, at least 1s, and no
// shorter than the run (runLength, when known), whose keys would otherwise
// expire while it still uses them.
func decodeSafetyTTL(n *yaml.Node, runLength time.Duration) (time.Duration, error) {
	d, err := decodeDuration(n, "safety_ttl")
	switch {
	case err != nil:
		return 0, err
	case d < minSafetyTTL:
		return 0, diag.Errorf(n, "redis: safety_ttl must be at least %v, got %s: every key written on a server runplan did not start carries it", minSafetyTTL, n.Value)
	case d%time.Second != 0:
		return 0, diag.Errorf(n, "redis: safety_ttl must be whole seconds, got %s", n.Value)
	case runLength > 0 && d < runLength:
		return 0, diag.Errorf(n, "redis: safety_ttl %s is shorter than the run, planned to last %v (the latest scenario end plus its graceful stop): "+
			"keys would expire while the run still uses them; give at least %v (the default is %v)", n.Value, runLength, roundUpSecond(runLength), defaultSafetyTTL(runLength))
	}
	return d, nil
}

// firstSet returns a when set, else b.
func firstSet(a, b time.Duration) time.Duration {
	if a != 0 {
		return a
	}
	return b
}

func parseSentinel(n *yaml.Node) (*sentinelConfig, error) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, diag.Errorf(n, "redis: sentinel: expected a mapping with master and addrs, got %s", describe(n))
	}
	s := &sentinelConfig{}
	var errs []error
	var master, addrs *yaml.Node
	forEach(n, sentinelKeys, &errs, func(k, v *yaml.Node) (err error) {
		switch k.Value {
		case "master":
			master = v
			s.master, err = decodeString(v, "sentinel.master")
		case "addrs":
			addrs = v
			s.addrs, err = decodeAddrs(v, "sentinel.addrs")
		case "username":
			s.username, err = decodeString(v, "sentinel.username")
		case "password":
			s.password, err = decodeSecret(v, "sentinel.password")
		}
		return err
	})
	if master == nil || (s.master == "" && len(errs) == 0) {
		errs = append(errs, diag.Errorf(n, "redis: sentinel: missing master (the name the sentinels know the primary by)"))
	}
	if addrs == nil {
		errs = append(errs, diag.Errorf(n, "redis: sentinel: missing addrs (the sentinels' host:port addresses)"))
	}
	return s, joinErrors(errs)
}

func parseCluster(n *yaml.Node) (*clusterConfig, error) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, diag.Errorf(n, "redis: cluster: expected a mapping with addrs, got %s", describe(n))
	}
	c := &clusterConfig{}
	var errs []error
	var addrs *yaml.Node
	forEach(n, clusterKeys, &errs, func(k, v *yaml.Node) (err error) {
		addrs = v
		c.addrs, err = decodeAddrs(v, "cluster.addrs")
		return err
	})
	if addrs == nil {
		errs = append(errs, diag.Errorf(n, "redis: cluster: missing addrs (host:port addresses of some cluster nodes)"))
	}
	return c, joinErrors(errs)
}

func parseTLS(n *yaml.Node) (*tlsConfig, error) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, diag.Errorf(n, "redis: tls: expected a mapping (ca_file, cert_file, key_file, insecure_skip_verify, server_name; {} for the system's CAs), got %s", describe(n))
	}
	c := &tlsConfig{}
	var errs []error
	forEach(n, tlsKeys, &errs, func(k, v *yaml.Node) (err error) {
		switch k.Value {
		case "ca_file":
			c.caFile, err = decodeString(v, "tls.ca_file")
		case "cert_file":
			c.certFile, err = decodeString(v, "tls.cert_file")
		case "key_file":
			c.keyFile, err = decodeString(v, "tls.key_file")
		case "insecure_skip_verify":
			c.insecure, err = decodeBool(v, "tls.insecure_skip_verify")
		case "server_name":
			c.serverName, err = decodeString(v, "tls.server_name")
		}
		return err
	})
	if (c.certFile == "") != (c.keyFile == "") && len(errs) == 0 {
		errs = append(errs, diag.Errorf(n, "redis: tls: cert_file and key_file go together (a client certificate and its key)"))
	}
	c.valid = len(errs) == 0
	return c, joinErrors(errs)
}

// load reads the certificate files into a client configuration.
func (c *tlsConfig) load() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.insecure, ServerName: c.serverName} //nolint:gosec // insecure_skip_verify is the user's explicit choice
	if c.caFile != "" {
		pem, err := os.ReadFile(c.caFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate found", c.caFile)
		}
		tc.RootCAs = pool
	}
	if c.certFile != "" {
		cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
		if err != nil {
			return nil, fmt.Errorf("cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func parseRetries(n *yaml.Node) (*retryConfig, error) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, diag.Errorf(n, "redis: retries: expected a mapping with max, min_backoff and max_backoff, got %s", describe(n))
	}
	r := &retryConfig{}
	var errs []error
	forEach(n, retriesKeys, &errs, func(k, v *yaml.Node) (err error) {
		switch k.Value {
		case "max":
			r.max, err = decodeInt(v, "retries.max", 0, maxRetries)
		case "min_backoff":
			r.minBackoff, err = decodeDuration(v, "retries.min_backoff")
		case "max_backoff":
			r.maxBackoff, err = decodeDuration(v, "retries.max_backoff")
		}
		return err
	})
	if len(errs) == 0 && r.maxBackoff > 0 && r.minBackoff > r.maxBackoff {
		errs = append(errs, diag.Errorf(n, "redis: retries: min_backoff %v is more than max_backoff %v", r.minBackoff, r.maxBackoff))
	}
	return r, joinErrors(errs)
}

func parseManaged(n *yaml.Node) (*managed.Config, error) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, diag.Errorf(n, "redis: managed: expected a mapping such as {topology: cluster, replicas: 1}, got %s", describe(n))
	}
	m := &managed.Config{}
	var errs []error
	var primaries, sentinels *yaml.Node
	forEach(n, managedKeys, &errs, func(k, v *yaml.Node) (err error) {
		switch k.Value {
		case "topology":
			m.Topology, err = decodeString(v, "managed.topology")
			if err == nil && !containsString(managed.Topologies, m.Topology) {
				err = diag.Errorf(v, "redis: managed.topology: expected one of %s, got %q", strings.Join(managed.Topologies, ", "), m.Topology)
			}
		case "replicas":
			m.Replicas, err = decodeInt(v, "managed.replicas", 0, managed.MaxReplicas)
		case "primaries":
			primaries = k
			m.Primaries, err = decodeInt(v, "managed.primaries", 1, managed.MaxPrimaries)
		case "sentinels":
			sentinels = k
			m.Sentinels, err = decodeInt(v, "managed.sentinels", 1, managed.MaxSentinels)
		case "password":
			m.Password, err = decodeSecret(v, "managed.password")
		case "tls":
			m.TLS, err = decodeBool(v, "managed.tls")
		case "config":
			m.Settings, err = decodeSettings(v)
		case "redis_server":
			m.Binary, err = decodeString(v, "managed.redis_server")
		case "node_timeout":
			m.NodeTimeout, err = decodeDuration(v, "managed.node_timeout")
			if err == nil && m.NodeTimeout < 100*time.Millisecond {
				err = diag.Errorf(v, "redis: managed.node_timeout must be at least 100ms, got %s", v.Value)
			}
		}
		return err
	})
	if primaries != nil && m.Topology != managed.Cluster {
		errs = append(errs, diag.Errorf(primaries, "redis: managed.primaries applies to the cluster topology only"))
	}
	if sentinels != nil && m.Topology != managed.Sentinel {
		errs = append(errs, diag.Errorf(sentinels, "redis: managed.sentinels applies to the sentinel topology only"))
	}
	return m, joinErrors(errs)
}

func decodeSettings(n *yaml.Node) (map[string]string, error) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, diag.Errorf(n, "redis: managed.config: expected a mapping of redis.conf directives, such as {maxmemory: 64mb}, got %s", describe(n))
	}
	out := map[string]string{}
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], valueNode(n.Content[i+1])
		name := strings.ToLower(k.Value)
		switch {
		case name == "" || strings.ContainsAny(name, " \t\"'"):
			errs = append(errs, diag.Errorf(k, "redis: managed.config: invalid directive name %q", k.Value))
		case reservedSettings[name]:
			errs = append(errs, diag.Errorf(k, "redis: managed.config: %s is set by runplan and cannot be changed", name))
		case v.Kind != yaml.ScalarNode || isNull(v):
			errs = append(errs, diag.Errorf(v, "redis: managed.config.%s: expected a string or a number, got %s", name, describe(v)))
		default:
			if _, dup := out[name]; dup {
				errs = append(errs, diag.Errorf(k, "redis: managed.config: duplicate directive %q", name))
			}
			out[name] = v.Value
		}
	}
	return out, joinErrors(errs)
}

// reservedSettings are the redis.conf directives managed deployments need
// to keep as they set them.
var reservedSettings = map[string]bool{
	"port": true, "tls-port": true, "bind": true, "dir": true, "daemonize": true, "replicaof": true, "slaveof": true,
	"cluster-enabled": true, "cluster-config-file": true, "requirepass": true, "masterauth": true,
	"tls-cert-file": true, "tls-key-file": true, "tls-ca-cert-file": true, "include": true, "logfile": true,
}

// forEach walks mapping n, reporting duplicate and unknown keys, and calls f
// for each known key; f's errors are gathered.
func forEach(n *yaml.Node, known []string, errs *[]error, f func(k, v *yaml.Node) error) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], valueNode(n.Content[i+1])
		switch {
		case seen[k.Value]:
			*errs = append(*errs, diag.Errorf(k, "redis: duplicate key %q", k.Value))
			continue
		case !containsString(known, k.Value):
			*errs = append(*errs, unknownKey(k, known))
			continue
		}
		seen[k.Value] = true
		if err := f(k, v); err != nil {
			*errs = append(*errs, err)
		}
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func decodeInt(n *yaml.Node, what string, lo, hi int) (int, error) {
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		return 0, diag.Errorf(n, "redis: %s: expected an integer, got %s", what, describe(n))
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
	if err != nil || v < int64(lo) || v > int64(hi) {
		return 0, diag.Errorf(n, "redis: %s must be between %d and %d, got %s", what, lo, hi, n.Value)
	}
	return int(v), nil
}

func decodeDuration(n *yaml.Node, what string) (time.Duration, error) {
	if n == nil || n.Kind != yaml.ScalarNode || isNull(n) {
		return 0, diag.Errorf(n, "redis: %s: expected a duration such as 500ms or 5m, got %s", what, describe(n))
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		return 0, diag.Errorf(n, "redis: %s: expected a duration such as 500ms or 5m, got %q", what, n.Value)
	}
	if d < 0 {
		return 0, diag.Errorf(n, "redis: %s must not be negative, got %s", what, n.Value)
	}
	return d, nil
}

func decodePositive(n *yaml.Node, what string) (time.Duration, error) {
	d, err := decodeDuration(n, what)
	if err == nil && d <= 0 {
		err = diag.Errorf(n, "redis: %s must be positive, got %s", what, n.Value)
	}
	return d, err
}

func decodeString(n *yaml.Node, what string) (string, error) {
	if n == nil || n.Kind != yaml.ScalarNode || isNull(n) {
		return "", diag.Errorf(n, "redis: %s: expected a string, got %s", what, describe(n))
	}
	return n.Value, nil
}

// decodeSecret decodes a password; its messages never quote the value.
func decodeSecret(n *yaml.Node, what string) (string, error) {
	if n == nil || n.Kind != yaml.ScalarNode || isNull(n) {
		kind := "nothing (null)"
		if n != nil && n.Kind != yaml.ScalarNode {
			kind = describe(n)
		}
		return "", diag.Errorf(n, "redis: %s: expected a string, got %s", what, kind)
	}
	return n.Value, nil
}

func decodeBool(n *yaml.Node, what string) (bool, error) {
	var b bool
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		return false, diag.Errorf(n, "redis: %s: expected true or false, got %s", what, describe(n))
	}
	return b, nil
}

// decodeAddrs decodes a non-empty list of host:port addresses.
func decodeAddrs(n *yaml.Node, what string) ([]string, error) {
	if n == nil || n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return nil, diag.Errorf(n, "redis: %s: expected a list of host:port addresses, got %s", what, describe(n))
	}
	var out []string
	var errs []error
	for _, a := range n.Content {
		a = valueNode(a)
		if a.Kind != yaml.ScalarNode || isNull(a) {
			errs = append(errs, diag.Errorf(a, "redis: %s: expected a host:port address, got %s", what, describe(a)))
			continue
		}
		host, port, err := net.SplitHostPort(a.Value)
		if p, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || p < 1 || p > 65535 {
			errs = append(errs, diag.Errorf(a, "redis: %s: expected a host:port address, got %q", what, a.Value))
			continue
		}
		out = append(out, a.Value)
	}
	return out, joinErrors(errs)
}

func urlHasParam(raw, name string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Query().Has(name)
}
