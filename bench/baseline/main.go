// Command baseline is the raw ceiling wsgate's own overhead is measured
// against: WebSocket connections on wsgate's engine (internal/wsconn behind
// net/http, configured with the gateway's default limits, exactly as the
// gateway uses it), every message echoed back as it is, and the three
// management calls the load generator needs — list, post to one
// connection, broadcast — in wsgate's wire shapes, but with no routing, no
// integrations, no stores and no signature checks.
//
//	baseline [--listen 127.0.0.1:0]
//
// It logs `baseline is ready addr=HOST:PORT` on stderr and serves until
// SIGINT or SIGTERM. It listens on loopback addresses only.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lesismal/nbio/logging"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/gateway"
	"github.com/wsgate/wsgate/internal/wsconn"
)

func main() {
	// nbio logs lifecycle chatter to stdout through a process-wide logger;
	// keep only its errors, as cmd/wsgate does.
	logging.SetLevel(logging.LevelError)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "listen `address` (loopback only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	host, _, err := net.SplitHostPort(*listen)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--listen %q: a loopback address is required", *listen)
	}

	// The gateway's defaults, mapped onto the engine exactly as gateway.Run
	// maps them.
	cn := config.Default().Connections
	engine, err := wsconn.NewEngine(gateway.EngineOptions(cn, nil))
	if err != nil {
		return err
	}
	if err := engine.Start(); err != nil {
		return err
	}
	s := &server{e: engine, conns: map[string]*wsconn.Conn{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{api}/{stage}/@connections/{id}", s.post)
	mux.HandleFunc("GET /{api}/{stage}/@connections", s.list)
	mux.HandleFunc("POST /{api}/{stage}/@broadcast", s.broadcast)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
				s.upgrade(w, r)
				return
			}
			mux.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: cn.HandshakeTimout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("baseline is ready", "addr", ln.Addr().String())
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		return err
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := engine.Shutdown(sctx, wsconn.CloseGoingAway, "Going away"); err != nil {
		log.Warn("engine shutdown", "err", err)
	}
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// server echoes every message and keeps its connections by id.
type server struct {
	e    *wsconn.Engine
	next atomic.Uint64
	mu   sync.RWMutex
	// conns holds the live connections by id (ids are zero-padded
	// counters, so their order is their age).
	conns map[string]*wsconn.Conn
}

func (s *server) upgrade(w http.ResponseWriter, r *http.Request) {
	id := fmt.Sprintf("%016d", s.next.Add(1))
	_, _ = s.e.Upgrade(w, r, wsconn.UpgradeOptions{
		Handler: s,
		Session: id,
		OnOpen: func(c *wsconn.Conn) {
			s.mu.Lock()
			s.conns[id] = c
			s.mu.Unlock()
		},
	})
}

// OnMessage implements wsconn.Handler: echo.
func (s *server) OnMessage(c *wsconn.Conn, op wsconn.Opcode, data []byte) {
	_ = c.Send(op, data)
}

// OnClose implements wsconn.Handler.
func (s *server) OnClose(c *wsconn.Conn, _ int, _ string) {
	id, _ := c.Session().(string)
	s.mu.Lock()
	delete(s.conns, id)
	s.mu.Unlock()
}

const maxPayload = 128 << 10

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxPayload+1))
	if err != nil || len(b) > maxPayload {
		http.Error(w, "bad body", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	return b, true
}

func (s *server) post(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	s.mu.RLock()
	c := s.conns[r.PathValue("id")]
	s.mu.RUnlock()
	if c == nil {
		w.WriteHeader(http.StatusGone)
		return
	}
	switch err := c.Send(wsconn.Text, body); {
	case err == nil:
		w.WriteHeader(http.StatusOK)
	case errors.Is(err, wsconn.ErrQueueFull):
		w.WriteHeader(http.StatusTooManyRequests)
	default:
		w.WriteHeader(http.StatusGone)
	}
}

func (s *server) list(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if n, err := strconv.Atoi(r.URL.Query().Get("maxResults")); err == nil && n > 0 {
		limit = min(n, 500)
	}
	after := r.URL.Query().Get("nextToken")
	s.mu.RLock()
	ids := make([]string, 0, len(s.conns))
	for id := range s.conns {
		if id > after {
			ids = append(ids, id)
		}
	}
	s.mu.RUnlock()
	slices.Sort(ids)
	type item struct {
		ID string `json:"connectionId"`
	}
	out := struct {
		Items     []item `json:"items"`
		NextToken string `json:"nextToken,omitempty"`
	}{Items: []item{}}
	for _, id := range ids[:min(limit, len(ids))] {
		out.Items = append(out.Items, item{id})
	}
	if len(ids) > limit {
		out.NextToken = ids[limit-1]
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (s *server) broadcast(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	s.mu.RLock()
	cs := make([]*wsconn.Conn, 0, len(s.conns))
	for _, c := range s.conns {
		cs = append(cs, c)
	}
	s.mu.RUnlock()
	var queued, dropped int
	for _, c := range cs {
		switch err := c.Send(wsconn.Text, body); {
		case err == nil:
			queued++
		case errors.Is(err, wsconn.ErrQueueFull):
			dropped++
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]int{"queued": queued, "dropped": dropped})
}
