// Package dataplane serves WebSocket clients of deployed stages the way AWS
// API Gateway does: it resolves the stage from the URL, holds the upgrade
// until the authorizer and the $connect integration have answered, routes
// every text message through the API's route selection expression to its
// integration (AWS proxy events byte for byte), sends two-way routes'
// answers back, reports integration failures with AWS's error frames, and
// invokes $disconnect exactly once for every accepted connection, whatever
// closed it.
//
// Messages run on the connection's poller goroutine up to route selection;
// integrations that do I/O run on their own goroutines, at most
// Options.MaxInflight per connection. Plane is safe for concurrent use; Drain
// closes every connection and waits for their $disconnect calls.
package dataplane

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wsgate/wsgate/internal/apigw"
	"github.com/wsgate/wsgate/internal/connid"
	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/integration"
	"github.com/wsgate/wsgate/internal/metrics"
	"github.com/wsgate/wsgate/internal/snapshot"
	"github.com/wsgate/wsgate/internal/wsconn"
)

// Options configure a Plane.
type Options struct {
	Registry *snapshot.Registry
	Engine   *wsconn.Engine
	Hub      *hub.Hub
	HTTP     *integration.HTTP
	Lambda   *integration.Lambda
	// Node is this node's number, encoded in every connection id.
	Node      uint16
	Region    string
	AccountID string
	// Port and Proto are reported in X-Forwarded-Port/-Proto.
	Port  string
	Proto string
	// ManagementEndpoint returns the @connections endpoint of a stage, given
	// to local functions as AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI.
	ManagementEndpoint func(apiID, stage string) string
	// MaxInflight bounds the messages of one connection being handled at
	// once; default 16.
	MaxInflight int
	// MaxMessageBytes bounds a two-way route's answer (like a client's
	// message); a larger answer is an integration failure. Default 128 KiB.
	MaxMessageBytes int
	// VerifyIAM checks a SigV4-signed (or presigned) upgrade request for
	// AWS_IAM routes and returns the caller's access key id.
	VerifyIAM func(r *http.Request) (accessKeyID string, err error)
	// APIKeys are the keys accepted where apiKeyRequired is set.
	APIKeys []string
	// Metrics records CloudWatch-style counters; nil records nothing.
	Metrics *metrics.Metrics
	Log     *slog.Logger
}

// Plane is the data plane of one node.
type Plane struct {
	o       Options
	log     *slog.Logger
	port    string
	proto   string
	clf     clfCache
	intern  interner
	limits  throttles
	apiKeys map[string]bool

	// wg owns every goroutine the plane starts: message handlers and
	// $disconnect calls.
	wg       sync.WaitGroup
	mu       sync.Mutex
	draining bool
}

// New returns a Plane.
func New(o Options) *Plane {
	if o.MaxInflight <= 0 {
		o.MaxInflight = 16
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 128 << 10
	}
	if o.ManagementEndpoint == nil {
		o.ManagementEndpoint = func(string, string) string { return "" }
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Plane{o: o, log: log, port: o.Port, proto: o.Proto, apiKeys: map[string]bool{}}
	if p.proto == "" {
		p.proto = "http"
	}
	for _, k := range o.APIKeys {
		p.apiKeys[k] = true
	}
	return p
}

// Resolve returns the API and stage a request addresses: path form
// /{apiId}/{stage}, or Host {apiId}.execute-api.* with path /{stage}.
func Resolve(r *http.Request) (apiID, stage string, ok bool) {
	path := strings.Trim(r.URL.Path, "/")
	seg := strings.Split(path, "/")
	if api := apigw.APIFromHost(r.Host); api != "" && len(seg) == 1 && seg[0] != "" {
		return api, seg[0], true
	}
	if len(seg) == 2 && seg[0] != "" && seg[1] != "" {
		return seg[0], seg[1], true
	}
	return "", "", false
}

// httpError answers a rejected handshake with a status and a short JSON
// body (the body is for humans; clients see the status).
func httpError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(appendString([]byte(`{"message":`), msg))
	_, _ = w.Write([]byte("}"))
}

// ServeHTTP handles a WebSocket upgrade request to a stage.
func (p *Plane) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	apiID, stageName, ok := Resolve(r)
	if !ok {
		httpError(w, http.StatusNotFound, "Not Found")
		return
	}
	if err := wsconn.CheckUpgrade(r); err != nil {
		status := http.StatusBadRequest
		var he *wsconn.HandshakeError
		if errors.As(err, &he) {
			status = he.Status
			for k, vs := range he.Header {
				w.Header()[k] = vs
			}
		}
		httpError(w, status, err.Error())
		return
	}
	st := p.o.Registry.Stage(apiID, stageName)
	if st == nil {
		httpError(w, http.StatusForbidden, "Forbidden")
		p.log.Debug("upgrade for a stage that is not deployed", "api_id", apiID, "stage", stageName)
		return
	}
	p.mu.Lock()
	draining := p.draining
	p.mu.Unlock()
	if draining {
		httpError(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	}

	now := time.Now()
	ms := p.o.Metrics.Stage(st.APIID, st.Name)
	if ms != nil {
		ms.Connect.Inc()
	}
	c := &conn{p: p, m: ms}
	c.base = eventBase{
		connID:      connid.New(p.o.Node),
		st:          st,
		domainName:  p.intern.get(r.Host),
		connectedAt: now.UnixMilli(),
		sourceIP:    p.intern.get(remoteIP(r)),
		userAgent:   p.intern.get(r.UserAgent()),
	}
	res, status, msg := p.connect(r, st, c, now)
	if status != 0 {
		if status >= 500 && ms != nil {
			ms.IntegrationError.Inc()
		} else if status < 500 {
			ms.ClientError("connect_" + strconv.Itoa(status))
		}
		httpError(w, status, msg)
		return
	}
	_, err := p.o.Engine.Upgrade(w, r, wsconn.UpgradeOptions{
		Subprotocol: res.subprotocol,
		Handler:     p,
		Session:     c,
		// The connection joins the hub before the client sees the 101, so
		// a backend may post to it as soon as the client is connected.
		OnOpen: func(ws *wsconn.Conn) {
			c.ws = ws
			if ms != nil {
				ms.Connections.Inc()
			}
			p.o.Hub.Add(c, hub.Key{API: st.APIID, Stage: st.Name}, c.base.principal(), res.groups, res.metadata)
			c.registered.Store(true)
		},
	})
	if err != nil {
		// The handshake failed after $connect accepted the connection: the
		// connection never existed for the client, but $connect ran, so
		// $disconnect must too.
		p.log.Debug("upgrade failed after $connect", "conn_id", c.base.connID, "err", err)
		p.afterClose(c, closeInfo{code: 1006, reason: "Connection was closed abnormally"})
		return
	}
	if p.log.Enabled(r.Context(), slog.LevelDebug) { // the arguments alone would allocate
		p.log.Debug("connected", "conn_id", c.base.connID, "api_id", st.APIID, "stage", st.Name)
	}
}

// remoteIP returns the client's IP address without the port.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Drain closes every connection with 1001 and waits until every
// $disconnect has run (or ctx ends).
func (p *Plane) Drain(ctx context.Context) error {
	p.mu.Lock()
	p.draining = true
	p.mu.Unlock()
	err := p.o.Engine.Shutdown(ctx, 1001, "Going away")
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("drain: %w", ctx.Err())
	}
	return err
}

// CloseStage closes every connection of a stage that is no longer served
// (deleted, or its API deleted).
func (p *Plane) CloseStage(apiID, stage string) {
	p.limits.forget(apiID, stage)
	for _, c := range p.o.Hub.Select(hub.Selector{Key: hub.Key{API: apiID, Stage: stage}}) {
		c.Close(1001, "Going away")
	}
}

// interner deduplicates strings many connections share (Host, User-Agent),
// so that holding them costs one copy, not one per connection.
type interner struct {
	mu sync.Mutex
	m  map[string]string
}

const maxInterned = 4096

func (in *interner) get(s string) string {
	if s == "" || len(s) > 512 {
		return s
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if v, ok := in.m[s]; ok {
		return v
	}
	if in.m == nil {
		in.m = map[string]string{}
	}
	if len(in.m) < maxInterned {
		in.m[s] = s
	}
	return s
}
