package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/gateway"
)

const serveHelp = `Runs the gateway: the apigatewayv2 control plane under /v2/, the
@connections management API, WebSocket clients at /{apiId}/{stage} (or
Host {apiId}.execute-api.* with path /{stage}), GET /healthz and /metrics —
all on one listener. State is kept in an embedded store under --data, or
in NATS JetStream with --cluster.

Flags override the config file. Without credentials (auth.credentials in the
config file, or WSGATE_ACCESS_KEY_ID and WSGATE_SECRET_ACCESS_KEY), wsgate
accepts any well-formed SigV4 signature, and then only on a loopback address.

SIGINT or SIGTERM shut it down cleanly: open connections are closed with
1001 and their $disconnect routes run.`

func runServe(ctx context.Context, args []string, s stdio) error {
	fs := newFlagSet(s, "serve", "serve [--config FILE] [--listen ADDR] [--data DIR] [flags]", serveHelp)
	cfgPath := fs.String("config", "", "YAML config `file` (APIs, functions, limits, credentials)")
	listen := fs.String("listen", "", "listen `address` (default 127.0.0.1:8080)")
	data := fs.String("data", "", "data `directory` of the embedded store (default ./wsgate-data)")
	cluster := fs.String("cluster", "", "NATS `urls` (comma-separated) to join a cluster, e.g. nats://127.0.0.1:4222")
	nodeID := fs.String("node-id", "", "this node's unique `id` in a cluster")
	logLevel := fs.String("log-level", "", "log `level`: debug, info, warn or error (default info)")
	logFormat := fs.String("log-format", "", "log `format`: text or json (default text)")
	if err := parse(fs, args, s); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("serve takes no arguments, got %q", fs.Args())
	}
	cfg := config.Default()
	if *cfgPath != "" {
		var err error
		if cfg, err = config.Load(*cfgPath); err != nil {
			return err
		}
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&cfg.Listen, *listen)
	set(&cfg.Data, *data)
	set(&cfg.Cluster.NodeID, *nodeID)
	set(&cfg.Log.Level, *logLevel)
	set(&cfg.Log.Format, *logFormat)
	if *cluster != "" {
		cfg.Cluster.NATS = strings.Split(*cluster, ",")
	}
	if id, secret := os.Getenv("WSGATE_ACCESS_KEY_ID"), os.Getenv("WSGATE_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		cfg.Auth.Credentials = append(cfg.Auth.Credentials, config.Credential{AccessKeyID: id, SecretAccessKey: secret})
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	log, err := newLogger(s, cfg.Log)
	if err != nil {
		return usageErr("%v", err)
	}
	g, err := gateway.New(cfg, log)
	if err != nil {
		return err
	}
	return g.Run(ctx, func(addr net.Addr) {
		data := cfg.Resolve(cfg.Data)
		if len(cfg.Cluster.NATS) > 0 {
			data = "nats (cluster)"
		}
		log.Info("wsgate is ready", "addr", addr.String(), "control_plane", g.BaseURL()+"/v2/", "data", data)
	})
}

func newLogger(s stdio, c config.Log) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.Level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", c.Level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch c.Format {
	case "text":
		return slog.New(slog.NewTextHandler(s.err, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(s.err, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", c.Format)
}
