// Package gateway is wsgate's composition root: it builds every part from
// the configuration, serves them on one listener, and owns every long-running
// goroutine. Run shuts the parts down in order: stop accepting, drain
// WebSocket connections (close 1001, run $disconnect), stop local functions,
// then close the store. It holds wiring only, no business rules.
package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wsgate/wsgate/internal/apigw"
	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/controlapi"
	"github.com/wsgate/wsgate/internal/dataplane"
	"github.com/wsgate/wsgate/internal/funchost"
	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/integration"
	"github.com/wsgate/wsgate/internal/metrics"
	"github.com/wsgate/wsgate/internal/mgmtapi"
	"github.com/wsgate/wsgate/internal/relay"
	"github.com/wsgate/wsgate/internal/sigv4"
	"github.com/wsgate/wsgate/internal/snapshot"
	"github.com/wsgate/wsgate/internal/store"
	"github.com/wsgate/wsgate/internal/store/boltstore"
	"github.com/wsgate/wsgate/internal/wsconn"
)

// shutdownGrace bounds how long Run waits for connections to drain and
// $disconnect to run.
const shutdownGrace = 15 * time.Second

// httpShutdownGrace bounds how long in-flight HTTP requests may take once
// connections have drained.
const httpShutdownGrace = 2 * time.Second

// Gateway is one wsgate node.
type Gateway struct {
	cfg *config.Config
	log *slog.Logger

	mu       sync.Mutex
	listener net.Listener
	baseURL  string
	ready    chan struct{}
	registry *snapshot.Registry
	hub      *hub.Hub
	funcs    *funchost.Host
}

// New checks the configuration's runtime requirements; it starts nothing.
func New(cfg *config.Config, log *slog.Logger) (*Gateway, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Auth.Credentials) == 0 && !cfg.IsLoopback() {
		return nil, fmt.Errorf("no credentials are configured and %s is not a loopback address: anyone who can reach it could manage your APIs and connections. "+
			"Configure auth.credentials in the config file (or set WSGATE_ACCESS_KEY_ID and WSGATE_SECRET_ACCESS_KEY), or listen on 127.0.0.1", cfg.Listen)
	}
	return &Gateway{cfg: cfg, log: log, ready: make(chan struct{})}, nil
}

// Ready is closed once the gateway serves requests.
func (g *Gateway) Ready() <-chan struct{} { return g.ready }

// Addr returns the bound listener address (after Ready).
func (g *Gateway) Addr() net.Addr {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.listener == nil {
		return nil
	}
	return g.listener.Addr()
}

// BaseURL returns http(s)://host:port of the listener (after Ready).
func (g *Gateway) BaseURL() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.baseURL
}

// Registry returns the live stage registry (after Ready).
func (g *Gateway) Registry() *snapshot.Registry {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.registry
}

// Hub returns this node's connection registry (after Ready).
func (g *Gateway) Hub() *hub.Hub {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.hub
}

// Functions returns the local function host (after Ready), or nil when no
// functions are configured.
func (g *Gateway) Functions() *funchost.Host {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.funcs
}

// Run serves until ctx is cancelled, then shuts down in order. ready, if
// not nil, is called once the listener accepts requests.
func (g *Gateway) Run(ctx context.Context, ready func(net.Addr)) (err error) {
	cfg := g.cfg
	// Parts are stopped in reverse order of creation; each stop runs even
	// if a later part failed to start.
	var stops []func(context.Context)
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
		defer cancel()
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i](sctx)
		}
	}()

	// The store, this node's number and the relay: embedded and in-process
	// on one node, NATS in a cluster.
	connHub := hub.New()
	var (
		st    store.Store
		node  uint16      = 1
		relay relay.Relay = &relay.Local{Hub: connHub}
	)
	if len(cfg.Cluster.NATS) > 0 {
		cl, err := g.joinCluster(ctx, connHub)
		if err != nil {
			return err
		}
		stops = append(stops, cl.Leave)
		st, node, relay = cl.Store, cl.Node, cl.Relay
	} else {
		if st, err = g.openStore(); err != nil {
			return err
		}
		stops = append(stops, func(context.Context) {
			if cerr := st.Close(); cerr != nil {
				g.log.Error("close store", "err", cerr)
			}
		})
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	scheme, wsScheme := "http", "ws"
	if cfg.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.Resolve(cfg.TLS.CertFile), cfg.Resolve(cfg.TLS.KeyFile))
		if err != nil {
			ln.Close()
			return fmt.Errorf("load TLS certificate: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		scheme, wsScheme = "https", "wss"
	}
	addr := ln.Addr().(*net.TCPAddr)
	// Local processes (functions) reach the gateway on loopback even when it
	// listens on every interface.
	localHost := addr.String()
	if addr.IP.IsUnspecified() {
		localHost = net.JoinHostPort("127.0.0.1", fmt.Sprint(addr.Port))
	}
	publicURL := strings.TrimSuffix(cfg.PublicURL, "/")
	if publicURL == "" {
		publicURL = wsScheme + "://" + localHost
	}
	g.mu.Lock()
	g.listener = ln
	g.baseURL = scheme + "://" + localHost
	g.mu.Unlock()
	if len(cfg.Auth.Credentials) == 0 {
		g.log.Warn("no credentials configured: accepting any well-formed SigV4 signature (loopback listener only)", "listen", ln.Addr().String())
	}

	// Goroutines owned by Run.
	var wg sync.WaitGroup
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	stops = append(stops, func(context.Context) {
		stopBG()
		wg.Wait()
	})

	// Local functions.
	var funcs *funchost.Host
	if len(cfg.Functions) > 0 {
		if err := g.buildFunctions(ctx); err != nil {
			ln.Close()
			return err
		}
		funcs, err = funchost.New(g.functionOptions())
		if err != nil {
			ln.Close()
			return fmt.Errorf("functions: %w", err)
		}
		if err := funcs.Start(ctx); err != nil {
			ln.Close()
			return fmt.Errorf("start functions: %w", err)
		}
		stops = append(stops, func(sctx context.Context) {
			if err := funcs.Close(sctx); err != nil {
				g.log.Warn("stop functions", "err", err)
			}
		})
	}
	var local integration.Local
	if funcs != nil {
		local = funcs
	}
	lambdaInv := integration.NewLambda(integration.LambdaOptions{
		Local:          local,
		RemoteEndpoint: cfg.Lambda.Endpoint,
		Region:         firstNonEmpty(cfg.Lambda.Region, cfg.Region),
		RemoteDisabled: cfg.Lambda.Disabled,
		Log:            g.log.With("component", "lambda"),
	})
	httpInv := integration.NewHTTP(integration.HTTPOptions{Log: g.log.With("component", "http")})
	stops = append(stops, func(context.Context) { httpInv.CloseIdleConnections() })

	// WebSocket engine, connections, data plane.
	cn := cfg.Connections
	engine, err := wsconn.NewEngine(EngineOptions(cn, g.log.With("component", "wsconn")))
	if err != nil {
		ln.Close()
		return fmt.Errorf("websocket engine: %w", err)
	}
	if err := engine.Start(); err != nil {
		ln.Close()
		return fmt.Errorf("start websocket engine: %w", err)
	}
	mx := metrics.New()
	registry := snapshot.NewRegistry(snapshot.Options{Store: st, Log: g.log.With("component", "snapshot")})
	plane := dataplane.New(dataplane.Options{
		Registry:  registry,
		Engine:    engine,
		Hub:       connHub,
		HTTP:      httpInv,
		Lambda:    lambdaInv,
		Node:      node,
		Region:    cfg.Region,
		AccountID: cfg.AccountID,
		Port:      fmt.Sprint(addr.Port),
		Proto:     scheme,
		ManagementEndpoint: func(apiID, stage string) string {
			return scheme + "://" + localHost + "/" + apiID + "/" + stage
		},
		MaxInflight:     cn.MaxInflight,
		MaxMessageBytes: cn.MaxMessageBytes,
		VerifyIAM:       g.iamVerifier(),
		APIKeys:         cfg.Auth.APIKeys,
		Metrics:         mx,
		Log:             g.log.With("component", "dataplane"),
	})
	registry.OnRemove(plane.CloseStage)
	// Stopped in reverse: the HTTP server stops last of these (handlers
	// run by $disconnect may still call @connections while connections
	// drain); connections drain before functions stop ($disconnect needs
	// them). The data plane refuses new upgrades as soon as it drains.
	var (
		srv      *http.Server
		serveErr = make(chan error, 1)
	)
	stops = append(stops, func(sctx context.Context) {
		if srv == nil {
			return
		}
		// In-flight requests get a few seconds. (Shutdown alone would also
		// wait 5 s for any connection a client opened but never used.)
		hctx, cancel := context.WithTimeout(sctx, httpShutdownGrace)
		defer cancel()
		if err := srv.Shutdown(hctx); err != nil {
			g.log.Debug("http shutdown: closing the remaining connections", "err", err)
			_ = srv.Close()
		}
		if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.log.Error("serve", "err", err)
		}
	})
	stops = append(stops, func(sctx context.Context) {
		if err := plane.Drain(sctx); err != nil {
			g.log.Warn("drain connections", "err", err)
		}
	})
	g.mu.Lock()
	g.registry, g.hub, g.funcs = registry, connHub, funcs
	g.mu.Unlock()

	wg.Go(func() {
		if err := registry.Run(bg); err != nil {
			g.log.Error("snapshot registry stopped", "err", err)
		}
	})
	select {
	case <-registry.Ready():
	case <-ctx.Done():
		ln.Close()
		return nil
	}

	limits := apigw.Limits{Routes: cfg.Limits.Routes, Integrations: cfg.Limits.Integrations, Stages: cfg.Limits.Stages,
		Authorizers: cfg.Limits.Authorizers, Models: apigw.DefaultLimits().Models, Deployments: apigw.DefaultLimits().Deployments}
	endpoint := func(apiID string) string {
		if cfg.EndpointStyle == "host" {
			return "wss://" + apiID + "." + cfg.HostDomain
		}
		return publicURL + "/" + apiID
	}
	control := controlapi.New(controlapi.Options{
		Store:        st,
		Region:       cfg.Region,
		AccountID:    cfg.AccountID,
		Limits:       limits,
		Endpoint:     endpoint,
		Authenticate: g.authenticator("apigateway"),
		Validate:     snapshot.Validate,
		Log:          g.log.With("component", "controlapi"),
	})
	mgmt := mgmtapi.New(mgmtapi.Options{
		Relay:        relay,
		Authenticate: g.authenticator("execute-api"),
		StageExists:  func(apiID, stage string) bool { return registry.Stage(apiID, stage) != nil },
		Metrics:      mx,
		Log:          g.log.With("component", "mgmtapi"),
	})
	if err := g.applyConfigAPIs(ctx, st, limits, endpoint); err != nil {
		ln.Close()
		return err
	}

	var invokeAPI http.Handler
	if funcs != nil {
		lambdaAuth := g.authenticator("lambda")
		ia, err := integration.NewInvokeAPI(integration.InvokeAPIOptions{
			Local: funcs, Region: cfg.Region, AccountID: cfg.AccountID, Log: g.log.With("component", "invokeapi"),
			Authenticate: func(r *http.Request, body []byte) error {
				if e := lambdaAuth(r, body); e != nil {
					return e.Err
				}
				return nil
			},
		})
		if err != nil {
			ln.Close()
			return fmt.Errorf("invoke api: %w", err)
		}
		stops = append(stops, func(sctx context.Context) { _ = ia.Close(sctx) })
		invokeAPI = ia
	}
	srv = &http.Server{
		Handler:           g.router(control, mgmt, plane, invokeAPI, promhttp.HandlerFor(mx.Registry, promhttp.HandlerOpts{})),
		ReadHeaderTimeout: cn.HandshakeTimout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
	}
	go func() { serveErr <- srv.Serve(ln) }()

	close(g.ready)
	if ready != nil {
		ready(ln.Addr())
	}
	select {
	case <-ctx.Done():
		g.log.Info("shutting down: closing connections with 1001 and running $disconnect")
		return nil
	case err := <-serveErr:
		serveErr <- err // for the stop above
		return fmt.Errorf("serve: %w", err)
	}
}

// EngineOptions maps the connections configuration onto the WebSocket
// engine (the benchmark baseline uses it too, to run the same engine).
func EngineOptions(cn config.Connections, log *slog.Logger) wsconn.Options {
	return wsconn.Options{
		MaxFrameSize:   cn.MaxFrameBytes,
		MaxMessageSize: cn.MaxMessageBytes,
		RejectBinary:   cn.Profile == "aws",
		SendQueueBytes: cn.SendQueueBytes,
		IdleTimeout:    cn.IdleTimeout,
		MaxAge:         cn.MaxAge,
		PingInterval:   cn.PingInterval,
		Compression:    *cn.Compression,
		OutFrameSize:   cn.MaxFrameBytes,
		Log:            log,
	}
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

func (g *Gateway) openStore() (store.Store, error) {
	dir := g.cfg.Resolve(g.cfg.Data)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	st, err := boltstore.Open(filepath.Join(dir, "wsgate.db"), boltstore.Options{})
	if err != nil {
		return nil, fmt.Errorf("open store in %s: %w", dir, err)
	}
	return st, nil
}

func (g *Gateway) functionOptions() funchost.Options {
	cfg := g.cfg
	o := funchost.Options{Region: cfg.Region, AccountID: cfg.AccountID, Log: g.log.With("component", "funchost")}
	for name, f := range cfg.Functions {
		dir := cfg.Dir()
		if f.Dir != "" {
			dir = cfg.Resolve(f.Dir)
		}
		o.Functions = append(o.Functions, funchost.Function{
			Name: name, Command: f.Command, Dir: dir, Env: f.Env, Timeout: f.Timeout,
			Concurrency: f.Concurrency, Prewarm: f.Prewarm, MemoryMB: f.MemoryMB, Handler: f.Handler,
		})
	}
	return o
}

// verifier returns the SigV4 verifier for one signing name, open (any
// well-formed signature) when no credentials are configured.
func (g *Gateway) verifier(service string) *sigv4.Verifier {
	v := &sigv4.Verifier{Service: service}
	if creds := g.cfg.Auth.Credentials; len(creds) > 0 {
		m := make(map[string]string, len(creds))
		for _, c := range creds {
			m[c.AccessKeyID] = c.SecretAccessKey
		}
		v.Lookup = func(id string) (string, bool) { s, ok := m[id]; return s, ok }
	} else {
		v.Open = true
	}
	return v
}

// authenticator returns the SigV4 check for one signing name.
func (g *Gateway) authenticator(service string) func(r *http.Request, body []byte) *apigw.Error {
	v := g.verifier(service)
	return func(r *http.Request, body []byte) *apigw.Error {
		if _, err := v.Verify(r, body); err != nil {
			status, typ, msg := sigv4.AWSError(err)
			return &apigw.Error{Status: status, Type: typ, Msg: msg, Err: err}
		}
		return nil
	}
}

// iamVerifier checks AWS_IAM $connect requests (signed headers or a
// presigned URL, signing name execute-api).
func (g *Gateway) iamVerifier() func(r *http.Request) (string, error) {
	v := g.verifier("execute-api")
	return func(r *http.Request) (string, error) {
		id, err := v.Verify(r, nil)
		if err != nil {
			return "", err
		}
		return id.AccessKeyID, nil
	}
}

// router sends each request to its part: WebSocket upgrades to the data
// plane, /v2/ to the control plane, @-paths to the management API.
func (g *Gateway) router(control, mgmt, plane, invokeAPI, metricsHandler http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /_wsgate/stages", g.serveStages)
	mux.Handle("GET /metrics", metricsHandler)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case isUpgrade(r):
			plane.ServeHTTP(w, r)
		case strings.HasPrefix(p, "/v2/"):
			control.ServeHTTP(w, r)
		case mgmtapi.IsManagementPath(p):
			mgmt.ServeHTTP(w, r)
		case p == "/healthz" || p == "/metrics" || strings.HasPrefix(p, "/_wsgate/"):
			mux.ServeHTTP(w, r)
		case invokeAPI != nil && strings.HasPrefix(p, "/2015-03-31/functions/"):
			// Local functions behind the Lambda Invoke API, for other tools
			// and other wsgate nodes (lambda.endpoint).
			invokeAPI.ServeHTTP(w, r)
		default:
			// A plain GET to a stage URL: let the data plane say what is
			// missing (426 Upgrade Required).
			if _, _, ok := dataplane.Resolve(r); ok {
				plane.ServeHTTP(w, r)
				return
			}
			http.NotFound(w, r)
		}
	})
}

func isUpgrade(r *http.Request) bool {
	for _, v := range r.Header.Values("Upgrade") {
		if strings.EqualFold(strings.TrimSpace(v), "websocket") {
			return true
		}
	}
	return false
}
