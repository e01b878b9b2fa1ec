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
	"sync"
	"time"

	"github.com/wsgate/wsgate/internal/apigw"
	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/controlapi"
	"github.com/wsgate/wsgate/internal/sigv4"
	"github.com/wsgate/wsgate/internal/snapshot"
	"github.com/wsgate/wsgate/internal/store"
	"github.com/wsgate/wsgate/internal/store/boltstore"
)

// shutdownGrace bounds how long Run waits for connections to drain.
const shutdownGrace = 10 * time.Second

// Gateway is one wsgate node.
type Gateway struct {
	cfg *config.Config
	log *slog.Logger

	mu       sync.Mutex
	listener net.Listener
	baseURL  string
	ready    chan struct{}
	registry *snapshot.Registry
}

// Registry returns the live stage registry (after Ready).
func (g *Gateway) Registry() *snapshot.Registry {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.registry
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

// Run serves until ctx is cancelled, then shuts down in order. ready, if
// not nil, is called once the listener accepts requests.
func (g *Gateway) Run(ctx context.Context, ready func(net.Addr)) (err error) {
	cfg := g.cfg

	st, err := g.openStore()
	if err != nil {
		return err
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close store: %w", cerr)
		}
	}()

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
	g.mu.Lock()
	g.listener = ln
	g.baseURL = scheme + "://" + ln.Addr().String()
	g.mu.Unlock()
	publicURL := cfg.PublicURL
	if publicURL == "" {
		publicURL = wsScheme + "://" + ln.Addr().String()
	}

	if len(cfg.Auth.Credentials) == 0 {
		g.log.Warn("no credentials configured: accepting any well-formed SigV4 signature (loopback listener only)", "listen", ln.Addr().String())
	}

	control := controlapi.New(controlapi.Options{
		Store:     st,
		Region:    cfg.Region,
		AccountID: cfg.AccountID,
		Limits:    apigw.Limits{Routes: cfg.Limits.Routes, Integrations: cfg.Limits.Integrations, Stages: cfg.Limits.Stages, Authorizers: cfg.Limits.Authorizers, Models: apigw.DefaultLimits().Models, Deployments: apigw.DefaultLimits().Deployments},
		Endpoint: func(apiID string) string {
			if cfg.EndpointStyle == "host" {
				return "wss://" + apiID + "." + cfg.HostDomain
			}
			return publicURL + "/" + apiID
		},
		Authenticate: g.authenticator("apigateway"),
		Validate:     snapshot.Validate,
		Log:          g.log.With("component", "controlapi"),
	})

	registry := snapshot.NewRegistry(snapshot.Options{
		Store: st,
		Log:   g.log.With("component", "snapshot"),
	})
	g.mu.Lock()
	g.registry = registry
	g.mu.Unlock()
	var wg sync.WaitGroup
	rctx, stopRegistry := context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		stopRegistry()
		wg.Wait()
	}()
	wg.Go(func() {
		if err := registry.Run(rctx); err != nil {
			g.log.Error("snapshot registry stopped", "err", err)
		}
	})
	select {
	case <-registry.Ready():
	case <-ctx.Done():
		ln.Close()
		return nil
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("/v2/", control)
	mux.HandleFunc("GET /_wsgate/stages", g.serveStages)

	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: cfg.Connections.HandshakeTimout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	close(g.ready)
	if ready != nil {
		ready(ln.Addr())
	}

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	}
	g.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		g.log.Warn("http shutdown", "err", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
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

// authenticator returns the SigV4 check for one signing name.
func (g *Gateway) authenticator(service string) func(r *http.Request, body []byte) *apigw.Error {
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
	return func(r *http.Request, body []byte) *apigw.Error {
		if _, err := v.Verify(r, body); err != nil {
			status, typ, msg := sigv4.AWSError(err)
			return &apigw.Error{Status: status, Type: typ, Msg: msg, Err: err}
		}
		return nil
	}
}
