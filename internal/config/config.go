// Package config reads wsgate's configuration file (YAML or JSON): the
// listener, storage, credentials, connection limits, local Lambda functions,
// declarative APIs and cluster settings. Decoding is strict (unknown keys are
// errors), defaults are applied by Default and Load, and Validate reports
// problems with key paths (functions.connect.timeout: ...).
//
// A Config is a plain value; nothing here does I/O beyond reading the file.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the whole configuration.
type Config struct {
	// Listen is the address of the one listener (control plane, @connections,
	// WebSocket clients, /healthz, /metrics).
	Listen string `yaml:"listen"`
	// Data is the directory of the embedded store.
	Data string `yaml:"data"`
	// Region and AccountID appear in ARNs, events and error texts.
	Region    string `yaml:"region"`
	AccountID string `yaml:"accountId"`
	// PublicURL is the base URL clients use to reach this gateway, e.g.
	// wss://ws.example.com. Default: ws://{listen address}.
	PublicURL string `yaml:"publicUrl"`
	// EndpointStyle is "path" (apiEndpoint = {publicUrl}/{apiId}, works on
	// localhost) or "host" (apiEndpoint = wss://{apiId}.{hostDomain}).
	EndpointStyle string `yaml:"endpointStyle"`
	// HostDomain is the DNS suffix for the host style, e.g.
	// execute-api.example.com.
	HostDomain  string      `yaml:"hostDomain"`
	TLS         TLS         `yaml:"tls"`
	Auth        Auth        `yaml:"auth"`
	Connections Connections `yaml:"connections"`
	Limits      Limits      `yaml:"limits"`
	// Functions are Lambda handlers run locally as child processes.
	Functions map[string]Function `yaml:"functions"`
	// Lambda says where functions not declared locally are invoked.
	Lambda Lambda `yaml:"lambda"`
	// APIs are applied idempotently at start (matched by name).
	APIs    []API   `yaml:"apis"`
	Cluster Cluster `yaml:"cluster"`
	Log     Log     `yaml:"log"`

	// dir is the folder of the file the config was read from; relative
	// paths in it are resolved against it.
	dir string
}

// TLS enables HTTPS/WSS on the listener.
type TLS struct {
	CertFile string `yaml:"certFile"`
	KeyFile  string `yaml:"keyFile"`
}

// Auth lists the credentials SigV4 signatures are checked against.
type Auth struct {
	Credentials []Credential `yaml:"credentials"`
	// APIKeys are the keys accepted on $connect routes with apiKeyRequired.
	APIKeys []string `yaml:"apiKeys"`
}

// Credential is one access key pair.
type Credential struct {
	AccessKeyID     string `yaml:"accessKeyId"`
	SecretAccessKey string `yaml:"secretAccessKey"`
}

// Connections configure WebSocket connections. Defaults are AWS's values.
type Connections struct {
	// Profile "wsgate" (default) or "aws". wsgate passes binary messages to
	// integrations base64-encoded with isBase64Encoded true; aws closes the
	// connection with 1003, as API Gateway does.
	Profile         string        `yaml:"profile"`
	MaxFrameBytes   int           `yaml:"maxFrameBytes"`
	MaxMessageBytes int           `yaml:"maxMessageBytes"`
	IdleTimeout     time.Duration `yaml:"idleTimeout"`
	MaxAge          time.Duration `yaml:"maxAge"`
	HandshakeTimout time.Duration `yaml:"handshakeTimeout"`
	PingInterval    time.Duration `yaml:"pingInterval"`
	SendQueueBytes  int           `yaml:"sendQueueBytes"`
	Compression     *bool         `yaml:"compression"`
	// MaxInflight bounds how many messages of one connection are being
	// handled by integrations at once; more are answered with an error frame.
	MaxInflight int `yaml:"maxInflight"`
}

// Limits are per-API quotas (AWS's defaults).
type Limits struct {
	Routes       int `yaml:"routes"`
	Integrations int `yaml:"integrations"`
	Stages       int `yaml:"stages"`
	Authorizers  int `yaml:"authorizers"`
}

// Function is a local Lambda function.
type Function struct {
	// Build, when set, is run once at start (in Dir) before the function is
	// used, e.g. ["go", "build", "-o", "bin/connect", "./handlers/connect"];
	// a failing build stops wsgate from starting.
	Build       []string          `yaml:"build"`
	Command     []string          `yaml:"command"`
	Env         map[string]string `yaml:"env"`
	Timeout     time.Duration     `yaml:"timeout"`
	Concurrency int               `yaml:"concurrency"`
	Prewarm     int               `yaml:"prewarm"`
	MemoryMB    int               `yaml:"memory"`
	Handler     string            `yaml:"handler"`
	// Dir is the working directory; default the config file's folder.
	Dir string `yaml:"dir"`
}

// Lambda configures the remote Lambda Invoke API for functions not declared
// locally.
type Lambda struct {
	// Endpoint of a Lambda-compatible Invoke API; empty means AWS's regional
	// endpoint (credentials from the usual AWS chain).
	Endpoint string `yaml:"endpoint"`
	Region   string `yaml:"region"`
	// Disabled turns remote invocation off: unknown functions are errors.
	Disabled bool `yaml:"disabled"`
}

// Cluster joins a NATS cluster.
type Cluster struct {
	NATS     []string `yaml:"nats"`
	NodeID   string   `yaml:"nodeId"`
	Creds    string   `yaml:"creds"`
	CAFile   string   `yaml:"caFile"`
	CertFile string   `yaml:"certFile"`
	KeyFile  string   `yaml:"keyFile"`
	Bucket   string   `yaml:"bucket"`
	// Replicas of the bucket when the first node creates it (default 1;
	// 3 on a NATS cluster of 3).
	Replicas int `yaml:"replicas"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// Default returns the configuration with every default applied.
func Default() *Config {
	c := &Config{}
	c.applyDefaults()
	return c
}

func (c *Config) applyDefaults() {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	defInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	defDur := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.Listen, "127.0.0.1:8080")
	def(&c.Data, "./wsgate-data")
	def(&c.Region, "us-east-1")
	def(&c.AccountID, "000000000000")
	def(&c.EndpointStyle, "path")
	def(&c.Log.Level, "info")
	def(&c.Log.Format, "text")
	def(&c.Connections.Profile, "wsgate")
	defInt(&c.Connections.MaxFrameBytes, 32*1024)
	defInt(&c.Connections.MaxMessageBytes, 128*1024)
	defDur(&c.Connections.IdleTimeout, 10*time.Minute)
	defDur(&c.Connections.MaxAge, 2*time.Hour)
	defDur(&c.Connections.HandshakeTimout, 10*time.Second)
	defInt(&c.Connections.SendQueueBytes, 1<<20)
	defInt(&c.Connections.MaxInflight, 16)
	if c.Connections.Compression == nil {
		t := true
		c.Connections.Compression = &t
	}
	defInt(&c.Limits.Routes, 300)
	defInt(&c.Limits.Integrations, 300)
	defInt(&c.Limits.Stages, 10)
	defInt(&c.Limits.Authorizers, 10)
	def(&c.Cluster.Bucket, "wsgate")
	for name, f := range c.Functions {
		defDur(&f.Timeout, 3*time.Second)
		defInt(&f.Concurrency, 10)
		defInt(&f.MemoryMB, 128)
		c.Functions[name] = f
	}
	for i := range c.APIs {
		c.APIs[i].applyDefaults()
	}
}

// Load reads and decodes a config file strictly and applies defaults. It
// does not validate; call Validate.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	c, err := Decode(io.LimitReader(f, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	abs, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	c.dir = abs
	return c, nil
}

// Decode reads YAML (or JSON, which is YAML) strictly: unknown keys and
// type mismatches are errors naming the line.
func Decode(r io.Reader) (*Config, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	c := &Config{}
	if len(bytes.TrimSpace(data)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("decode: %w", err)
		}
		var extra any
		if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
			return nil, errors.New("decode: the file holds more than one YAML document")
		}
	}
	c.applyDefaults()
	return c, nil
}

// Dir returns the folder relative paths are resolved against (the config
// file's folder, or the working directory).
func (c *Config) Dir() string {
	if c.dir != "" {
		return c.dir
	}
	wd, _ := os.Getwd()
	return wd
}

// Resolve returns p relative to the config file's folder when p is relative.
func (c *Config) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir(), p)
}

// Validate reports every problem it finds, each with its key path.
func (c *Config) Validate() error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		add("listen", "%v", err)
	}
	switch c.EndpointStyle {
	case "path":
	case "host":
		if c.HostDomain == "" {
			add("hostDomain", "required when endpointStyle is host")
		}
	default:
		add("endpointStyle", "must be path or host, not %q", c.EndpointStyle)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		add("tls", "certFile and keyFile must be given together")
	}
	for i, cr := range c.Auth.Credentials {
		if cr.AccessKeyID == "" || cr.SecretAccessKey == "" {
			add(fmt.Sprintf("auth.credentials[%d]", i), "accessKeyId and secretAccessKey are required")
		}
	}
	cn := c.Connections
	switch cn.Profile {
	case "wsgate", "aws":
	default:
		add("connections.profile", "must be wsgate or aws, not %q", cn.Profile)
	}
	if cn.MaxFrameBytes < 1024 || cn.MaxFrameBytes > 16<<20 {
		add("connections.maxFrameBytes", "must be between 1024 and 16777216")
	}
	if cn.MaxMessageBytes < cn.MaxFrameBytes || cn.MaxMessageBytes > 64<<20 {
		add("connections.maxMessageBytes", "must be at least maxFrameBytes and at most 67108864")
	}
	if cn.IdleTimeout < 0 || cn.MaxAge < 0 || cn.PingInterval < 0 || cn.HandshakeTimout < 0 {
		add("connections", "durations must not be negative")
	}
	if cn.SendQueueBytes < cn.MaxMessageBytes {
		add("connections.sendQueueBytes", "must be at least maxMessageBytes (%d)", cn.MaxMessageBytes)
	}
	if cn.MaxInflight < 1 || cn.MaxInflight > 1024 {
		add("connections.maxInflight", "must be between 1 and 1024")
	}
	for name, f := range c.Functions {
		p := "functions." + name
		if !functionNameOK(name) {
			add(p, "function names are 1 to 64 letters, digits, '-' or '_'")
		}
		if len(f.Command) == 0 || f.Command[0] == "" {
			add(p+".command", "required: the handler's argv, e.g. [\"./bin/connect\"]")
		}
		if f.Timeout < time.Millisecond || f.Timeout > 15*time.Minute {
			add(p+".timeout", "must be between 1ms and 15m")
		}
		if f.Concurrency < 1 || f.Concurrency > 1000 {
			add(p+".concurrency", "must be between 1 and 1000")
		}
		if f.Prewarm < 0 || f.Prewarm > f.Concurrency {
			add(p+".prewarm", "must be between 0 and concurrency (%d)", f.Concurrency)
		}
		for k := range f.Env {
			if k == "_LAMBDA_SERVER_PORT" {
				add(p+".env."+k, "must not be set: it switches aws-lambda-go handlers to the legacy RPC mode")
			}
		}
	}
	if len(c.Cluster.NATS) > 0 && c.Cluster.NodeID == "" {
		add("cluster.nodeId", "required when cluster.nats is set")
	}
	if c.Cluster.NodeID != "" && !functionNameOK(c.Cluster.NodeID) {
		add("cluster.nodeId", "node ids are 1 to 64 letters, digits, '-' or '_'")
	}
	errs = append(errs, c.validateAPIs()...)
	return errors.Join(errs...)
}

func functionNameOK(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// IsLoopback reports whether the listen address only accepts local
// connections.
func (c *Config) IsLoopback() bool {
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
