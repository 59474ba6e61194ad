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

	"github.com/runplan/runplan/engine/decode"
	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/scenarios/redis/managed"
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

// Shared says whether the target is a server runplan does not start (a
// url, sentinel or cluster target): the segments of a run share it
// (driver.Sharer). Safe for concurrent use.
func (c *Config) Shared() bool { return !c.cfg.owned() }

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

// targetOptions are a target's options as written; parseTarget checks them
// together and turns them into a config.
type targetOptions struct {
	Driver           *yaml.Node       `yaml:"driver" decode:"unlisted"` // the engine's
	URL              *yaml.Node       `yaml:"url"`                      // a null url is no url
	Sentinel         *sentinelOptions `yaml:"sentinel" want:"a mapping with master and addrs"`
	Cluster          *clusterOptions  `yaml:"cluster" want:"a mapping with addrs"`
	Managed          *managedOptions  `yaml:"managed" want:"a mapping such as {topology: cluster, replicas: 1}"`
	Username         string           `yaml:"username"`
	Password         string           `yaml:"password"`
	DB               int              `yaml:"db" min:"0" max:"1048576"` // maxDB
	TLS              *tlsOptions      `yaml:"tls" want:"a mapping (ca_file, cert_file, key_file, insecure_skip_verify, server_name; {} for the system's CAs)"`
	PoolSize         int              `yaml:"pool_size" min:"1" max:"100000"` // maxPoolSize
	Timeout          time.Duration    `yaml:"timeout" decode:"positive"`
	DialTimeout      time.Duration    `yaml:"dial_timeout" decode:"positive"`
	ReadTimeout      time.Duration    `yaml:"read_timeout" decode:"positive"`
	WriteTimeout     time.Duration    `yaml:"write_timeout" decode:"positive"`
	PoolTimeout      time.Duration    `yaml:"pool_timeout" decode:"positive"`
	Retries          *retryOptions    `yaml:"retries" want:"a mapping with max, min_backoff and max_backoff"`
	KeyPrefix        string           `yaml:"key_prefix"`
	ReadOnly         bool             `yaml:"read_only"`
	SafetyTTL        durationOption   `yaml:"safety_ttl"`
	Keep             bool             `yaml:"keep"`
	AllowDestructive bool             `yaml:"allow_destructive"` // the engine's
	FastPath         bool             `yaml:"fast_path" default:"true"`
	Prefill          prefillOption    `yaml:"prefill" want:"a mapping such as {key: \"user:{{ iteration }}\", count: 10000, value_size: 512}"`
	LocalServer      string           `yaml:"local_server" oneof:"auto redis-server miniredis" default:"auto"` // localServers
}

type sentinelOptions struct {
	Master   string   `yaml:"master"`
	Addrs    addrList `yaml:"addrs"`
	Username string   `yaml:"username"`
	Password string   `yaml:"password"`
}

// UnmarshalNode decodes the mapping, which needs master and addrs.
func (s *sentinelOptions) UnmarshalNode(c *decode.Context, n *yaml.Node) error {
	type plain sentinelOptions
	err := c.Decode(n, (*plain)(s))
	if n.Kind != yaml.MappingNode {
		return err
	}
	if c.Field("master").Key == nil || (s.Master == "" && err == nil) {
		err = errors.Join(err, c.Errorf(n, "sentinel: missing master (the name the sentinels know the primary by)"))
	}
	if c.Field("addrs").Key == nil {
		err = errors.Join(err, c.Errorf(n, "sentinel: missing addrs (the sentinels' host:port addresses)"))
	}
	return err
}

type clusterOptions struct {
	Addrs addrList `yaml:"addrs"`
}

// UnmarshalNode decodes the mapping, which needs addrs.
func (o *clusterOptions) UnmarshalNode(c *decode.Context, n *yaml.Node) error {
	type plain clusterOptions
	err := c.Decode(n, (*plain)(o))
	if n.Kind == yaml.MappingNode && c.Field("addrs").Key == nil {
		err = errors.Join(err, c.Errorf(n, "cluster: missing addrs (host:port addresses of some cluster nodes)"))
	}
	return err
}

// addrList is a non-empty list of host:port addresses.
type addrList []string

// UnmarshalNode checks every address.
func (a *addrList) UnmarshalNode(c *decode.Context, n *yaml.Node) error {
	what := c.Name()
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return c.Errorf(n, "%s: expected a list of host:port addresses, got %s", what, describe(n))
	}
	var errs []error
	for _, it := range n.Content {
		it = valueNode(it)
		if it.Kind != yaml.ScalarNode || isNull(it) {
			errs = append(errs, c.Errorf(it, "%s: expected a host:port address, got %s", what, describe(it)))
			continue
		}
		host, port, err := net.SplitHostPort(it.Value)
		if p, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || p < 1 || p > 65535 {
			errs = append(errs, c.Errorf(it, "%s: expected a host:port address, got %q", what, it.Value))
			continue
		}
		*a = append(*a, it.Value)
	}
	return joinErrors(errs)
}

type tlsOptions struct {
	CAFile     string `yaml:"ca_file"`
	CertFile   string `yaml:"cert_file"`
	KeyFile    string `yaml:"key_file"`
	Insecure   bool   `yaml:"insecure_skip_verify"`
	ServerName string `yaml:"server_name"`
	valid      bool   // decoded without problems: the files may be read
}

// UnmarshalNode decodes the mapping; a client certificate needs its key.
func (o *tlsOptions) UnmarshalNode(c *decode.Context, n *yaml.Node) error {
	type plain tlsOptions
	err := c.Decode(n, (*plain)(o))
	if err == nil && (o.CertFile == "") != (o.KeyFile == "") {
		err = c.Errorf(n, "tls: cert_file and key_file go together (a client certificate and its key)")
	}
	o.valid = err == nil
	return err
}

type retryOptions struct {
	Max        int           `yaml:"max" min:"0" max:"100"` // maxRetries
	MinBackoff time.Duration `yaml:"min_backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
}

// UnmarshalNode decodes the mapping; the backoffs must be in order.
func (r *retryOptions) UnmarshalNode(c *decode.Context, n *yaml.Node) error {
	type plain retryOptions
	err := c.Decode(n, (*plain)(r))
	if err == nil && r.MaxBackoff > 0 && r.MinBackoff > r.MaxBackoff {
		err = c.Errorf(n, "retries: min_backoff %v is more than max_backoff %v", r.MinBackoff, r.MaxBackoff)
	}
	return err
}

type managedOptions struct {
	Topology    string          `yaml:"topology" oneof:"standalone sentinel cluster"` // managed.Topologies
	Replicas    int             `yaml:"replicas" min:"0" max:"5"`                     // managed.MaxReplicas
	Primaries   int             `yaml:"primaries" min:"1" max:"16"`                   // managed.MaxPrimaries
	Sentinels   int             `yaml:"sentinels" min:"1" max:"7"`                    // managed.MaxSentinels
	Password    string          `yaml:"password"`
	TLS         bool            `yaml:"tls"`
	Config      settingsOption  `yaml:"config"`
	RedisServer string          `yaml:"redis_server"`
	NodeTimeout time.Duration   `yaml:"node_timeout" min:"100ms"`
	config      *managed.Config // what the options say
}

// UnmarshalNode decodes the mapping; primaries and sentinels belong to
// their topologies.
func (m *managedOptions) UnmarshalNode(c *decode.Context, n *yaml.Node) error {
	type plain managedOptions
	err := c.Decode(n, (*plain)(m))
	if n.Kind != yaml.MappingNode {
		return err
	}
	if k := c.Field("primaries").Key; k != nil && m.Topology != managed.Cluster {
		err = errors.Join(err, c.Errorf(k, "managed.primaries applies to the cluster topology only"))
	}
	if k := c.Field("sentinels").Key; k != nil && m.Topology != managed.Sentinel {
		err = errors.Join(err, c.Errorf(k, "managed.sentinels applies to the sentinel topology only"))
	}
	m.config = &managed.Config{Topology: m.Topology, Replicas: m.Replicas, Primaries: m.Primaries, Sentinels: m.Sentinels,
		Password: m.Password, TLS: m.TLS, Settings: m.Config, Binary: m.RedisServer, NodeTimeout: m.NodeTimeout}
	return err
}

// settingsOption is managed.config: redis.conf directives.
type settingsOption map[string]string

// UnmarshalNode checks the directives (decodeSettings).
func (s *settingsOption) UnmarshalNode(_ *decode.Context, n *yaml.Node) error {
	m, err := decodeSettings(n)
	*s = m
	return err
}

// prefillOption is prefill: one keyspace or a list (parsePrefill).
type prefillOption []*prefillSpec

// UnmarshalNode parses the keyspaces.
func (p *prefillOption) UnmarshalNode(c *decode.Context, n *yaml.Node) error {
	specs, err := parsePrefill(c, n)
	*p = specs
	return err
}

// durationOption is a duration that says whether it was decoded.
type durationOption struct {
	d  time.Duration
	ok bool
}

// UnmarshalNode decodes the duration.
func (o *durationOption) UnmarshalNode(c *decode.Context, n *yaml.Node) error {
	err := c.Decode(n, &o.d)
	o.ok = err == nil
	return err
}

// redisMessage words the decoder's problems as the driver always has; name
// is the target's.
func redisMessage(name string) func(p decode.Problem) string {
	return func(p decode.Problem) string {
		if p.Kind != decode.NotOneOf {
			return p.String()
		}
		at := ""
		if decode.JoinPath(p.Path) == "local_server" {
			at = fmt.Sprintf("target %q: ", name)
		}
		return fmt.Sprintf("redis: %s%s: expected one of %s, got %q", at, p.Name(), strings.Join(p.Known, ", "), p.Value())
	}
}

// isMapping reports whether n, a value as written, is a mapping.
func isMapping(n *yaml.Node) bool { return n != nil && n.Kind == yaml.MappingNode }

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
	if isNull(n) {
		n = nil
	}
	o := &targetOptions{}
	f, err := decode.Decode(n, o, decode.Options{Prefix: "redis: ", Root: fmt.Sprintf("target %q", t.Name), Message: redisMessage(t.Name)})
	fail(err)
	if u := f.Value("url"); cfg.url == "" && u != nil && u.Kind == yaml.ScalarNode && !isNull(u) {
		cfg.url = u.Value
	}
	// A part that is not a mapping is reported, and absent from cfg.
	if o.Sentinel != nil && isMapping(f.Value("sentinel")) {
		cfg.sentinel = &sentinelConfig{master: o.Sentinel.Master, addrs: o.Sentinel.Addrs, username: o.Sentinel.Username, password: o.Sentinel.Password}
	}
	if o.Cluster != nil && isMapping(f.Value("cluster")) {
		cfg.cluster = &clusterConfig{addrs: o.Cluster.Addrs}
	}
	if o.Managed != nil && isMapping(f.Value("managed")) {
		cfg.managed = o.Managed.config
	}
	if o.TLS != nil && isMapping(f.Value("tls")) {
		cfg.tls = &tlsConfig{caFile: o.TLS.CAFile, certFile: o.TLS.CertFile, keyFile: o.TLS.KeyFile, insecure: o.TLS.Insecure,
			serverName: o.TLS.ServerName, valid: o.TLS.valid}
	}
	if o.Retries != nil && isMapping(f.Value("retries")) {
		cfg.retries = &retryConfig{max: o.Retries.Max, minBackoff: o.Retries.MinBackoff, maxBackoff: o.Retries.MaxBackoff}
	}
	cfg.username, cfg.hasUser = o.Username, f.Has("username")
	cfg.password, cfg.hasPass = o.Password, f.Has("password")
	cfg.db, cfg.hasDB = o.DB, f.Has("db")
	cfg.poolSize = o.PoolSize
	// The specific timeouts win over `timeout`, whatever their order.
	cfg.dialTimeout = firstSet(o.DialTimeout, o.Timeout)
	cfg.readTimeout = firstSet(o.ReadTimeout, o.Timeout)
	cfg.writeTimeout = firstSet(o.WriteTimeout, o.Timeout)
	cfg.poolTimeout = o.PoolTimeout
	// Any prefix is safe, the empty one included: the run's keys go under
	// key_prefix + runplan:<run id>: (see runNamespace), and a read_only
	// target's are never deleted.
	cfg.keyPrefix = o.KeyPrefix
	cfg.readOnly, cfg.keep, cfg.noFastPath = o.ReadOnly, o.Keep, !o.FastPath
	cfg.prefill = o.Prefill
	cfg.localServer = o.LocalServer
	if o.SafetyTTL.ok {
		cfg.safetyTTL, err = checkSafetyTTL(f.Value("safety_ttl"), o.SafetyTTL.d, t.RunLength)
		fail(err)
	}
	// Exactly one way to reach the servers.
	var ways []string
	for _, w := range []string{"url", "sentinel", "cluster", "managed"} {
		if w == "url" && cfg.url == "" {
			continue
		}
		if w != "url" && !f.Has(w) {
			continue
		}
		ways = append(ways, w)
	}
	node := func(k string) *yaml.Node {
		if k == "url" {
			return f.Value(k)
		}
		return f.Key(k)
	}
	switch {
	case len(ways) > 1:
		fail(diag.Errorf(node(ways[1]), "redis: target %q: %s and %s exclude each other: a target is one url, one sentinel set, one cluster or one managed deployment",
			t.Name, ways[0], ways[1]))
	case len(ways) == 0:
		cfg.mode = modeEmbedded
	default:
		cfg.mode = map[string]string{"url": modeURL, "sentinel": modeSentinel, "cluster": modeCluster, "managed": modeManaged}[ways[0]]
	}

	if cfg.url != "" {
		opts, err := goredis.ParseURL(cfg.url)
		if err != nil {
			if ue, ok := errors.AsType[*url.Error](err); ok {
				err = ue.Err // url.Error quotes the whole URL, password included
			}
			fail(diag.Errorf(f.Value("url"), "redis: target %q: invalid url %s: %w", t.Name, redactURL(cfg.url), scrub(err, cfg.secrets())))
		} else {
			cfg.opts = opts
			if cfg.hasUser && opts.Username != "" {
				fail(diag.Errorf(f.Key("username"), "redis: target %q: username is given twice, in the url and as username", t.Name))
			}
			if cfg.hasPass && opts.Password != "" {
				fail(diag.Errorf(f.Key("password"), "redis: target %q: the password is given twice, in the url and as password", t.Name))
			}
			if cfg.hasDB && opts.DB != 0 {
				fail(diag.Errorf(f.Key("db"), "redis: target %q: db is given twice, in the url and as db", t.Name))
			}
			if cfg.retries != nil && (urlHasParam(cfg.url, "max_retries") || urlHasParam(cfg.url, "min_retry_backoff") || urlHasParam(cfg.url, "max_retry_backoff")) {
				fail(diag.Errorf(f.Key("retries"), "redis: target %q: retries are given twice, in the url and as retries", t.Name))
			}
			if cfg.tls != nil && opts.TLSConfig == nil {
				fail(diag.Errorf(f.Key("tls"), "redis: target %q: tls needs a rediss:// url (the url's scheme says plain text)", t.Name))
			}
		}
	}
	if cfg.mode != modeEmbedded && f.Has("local_server") {
		fail(diag.Errorf(f.Key("local_server"), "redis: target %q: local_server chooses the server runplan starts for a target without url, sentinel, cluster or managed; this target is a %s target", t.Name, cfg.mode))
	}
	switch cfg.mode {
	case modeEmbedded:
		for _, k := range []string{"username", "password", "db", "tls", "retries"} {
			if f.Has(k) {
				fail(diag.Errorf(f.Key(k), "redis: target %q: %s needs a server to connect to: give a url, sentinel or cluster (without them the target is an embedded server)", t.Name, k))
			}
		}
	case modeManaged:
		for _, k := range []string{"username", "password", "tls"} {
			if f.Has(k) {
				fail(diag.Errorf(f.Key(k), "redis: target %q: %s does not apply to a managed target: set managed.%s instead", t.Name, k, map[string]string{"username": "password", "password": "password", "tls": "tls"}[k]))
			}
		}
		if f.Has("db") && cfg.managed != nil && cfg.managed.Topology == managed.Cluster {
			fail(diag.Errorf(f.Key("db"), "redis: target %q: a cluster has only db 0", t.Name))
		}
	case modeCluster:
		if f.Has("db") && cfg.db != 0 {
			fail(diag.Errorf(f.Key("db"), "redis: target %q: a cluster has only db 0", t.Name))
		}
	}
	if cfg.readOnly {
		// A read_only target writes nothing: what would write is refused
		// rather than silently ignored.
		for _, k := range []string{"prefill", "keep", "safety_ttl"} {
			if f.Has(k) {
				fail(diag.Errorf(f.Key(k), "redis: target %q: %s does not apply to a read_only target, which reads the keys it is given and writes none%s",
					t.Name, k, map[string]string{"prefill": " (prefill writes keys)"}[k]))
			}
		}
	}
	if cfg.mode != modeURL && cfg.mode != modeEmbedded && cfg.mode != modeManaged && f.Has("fast_path") && !cfg.noFastPath {
		fail(diag.Errorf(f.Key("fast_path"), "redis: target %q: the fast path serves single servers (url and managed standalone targets); %s targets use go-redis", t.Name, cfg.mode))
	}
	if cfg.tls != nil && cfg.tls.valid {
		if _, err := cfg.tls.load(); err != nil {
			// Files are read at validation too: a missing certificate is a
			// plan problem, found before any load is sent.
			fail(diag.Errorf(f.Key("tls"), "redis: target %q: tls: %w", t.Name, err))
		}
	}
	return cfg, joinErrors(errs)
}

// checkSafetyTTL checks safety_ttl d, decoded from n: whole seconds, at
// least 1s, and no shorter than the run (runLength, when known), whose keys
// would otherwise expire while it still uses them.
func checkSafetyTTL(n *yaml.Node, d, runLength time.Duration) (time.Duration, error) {
	switch {
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

// decodeAddrs decodes a non-empty list of host:port addresses.
func urlHasParam(raw, name string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Query().Has(name)
}
