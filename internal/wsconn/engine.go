package wsconn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lesismal/nbio"
)

// Errors returned by Engine and Conn methods; match them with errors.Is.
var (
	ErrClosed     = errors.New("wsconn: connection closed")
	ErrQueueFull  = errors.New("wsconn: send queue full")
	ErrNotRunning = errors.New("wsconn: engine not running")
	ErrBadOpcode  = errors.New("wsconn: opcode must be Text or Binary")
)

// Handler receives a connection's messages and its end.
type Handler interface {
	// OnMessage is called on the poller goroutine for every complete text or
	// binary message; data is only valid during the call (copy to keep); it
	// must not block.
	OnMessage(c *Conn, op Opcode, data []byte)
	// OnClose is called exactly once per upgraded conn when it has ended,
	// with the code and reason to report: the peer's close code/reason when
	// it closed (1005 and "" when its close frame had no code), our
	// code/reason when we closed it (Close, idle, max age, limits, shutdown),
	// 1006 when the TCP connection dropped without a close frame. It runs on
	// a goroutine shared by the engine's epoll connections (or on the
	// connection's reader goroutine) and must not block.
	OnClose(c *Conn, code int, reason string)
}

// UpgradeOptions are per-connection settings for Upgrade.
type UpgradeOptions struct {
	// Subprotocol is sent as Sec-WebSocket-Protocol when non-empty.
	Subprotocol string
	// Handler receives the connection's messages and close; required.
	Handler Handler
	// Session is returned by Conn.Session; set before any callback runs.
	Session any
	// ExtraHeader is added to the 101 response, except for the headers the
	// handshake sets itself.
	ExtraHeader http.Header
	// OnOpen, when set, is called with the new connection before the 101 is
	// written, so the caller can publish it (e.g. to a registry) before the
	// client learns it is connected. Send may be called from then on: data
	// sent before the 101 is on the wire is delivered after it. OnOpen must
	// not block. If the upgrade then fails, Upgrade returns an error and no
	// OnClose follows.
	OnOpen func(*Conn)
}

// Engine lifecycle states.
const (
	engNew int32 = iota
	engRunning
	engClosing
	engStopped
)

// numShards spreads the connection registry over independently locked parts.
const numShards = 64

// handshakeWriteTimeout bounds writing the 101 response, which fits in an
// empty socket buffer unless the client is gone.
const handshakeWriteTimeout = 10 * time.Second

// readBufferSize is each poller's read buffer, shared by all its conns.
const readBufferSize = 64 << 10

// Engine holds upgraded connections: epoll pollers for TCP, a reader
// goroutine for other net.Conns, and one sweeper for timeouts and pings.
type Engine struct {
	opts  Options
	log   *slog.Logger
	cd    codec
	nb    *nbio.Engine
	epoch time.Time // the engine clock's zero; conns store offsets from it

	state atomic.Int32
	live  atomic.Int64 // upgrades in progress plus conns not yet reported closed
	conns atomic.Int64 // registered conns
	next  atomic.Uint32

	shards [numShards]shard

	shutCode   int // set before state becomes engClosing
	shutReason string

	zero      chan struct{} // closed once live is 0 after shutdown began
	zeroOnce  sync.Once
	stopSweep chan struct{}
	wg        sync.WaitGroup // the sweeper and fallback conns' goroutines
	lifeMu    sync.Mutex     // serialises Start and Shutdown
}

// shard is one part of the registry the sweeper walks.
type shard struct {
	mu    sync.Mutex
	conns []*Conn
}

// NewEngine validates opts and builds an engine; call Start before Upgrade.
func NewEngine(opts Options) (*Engine, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &Engine{
		opts:      o,
		log:       o.Log,
		epoch:     time.Now(),
		zero:      make(chan struct{}),
		stopSweep: make(chan struct{}),
	}
	e.cd.maxFrame = int64(o.MaxFrameSize)
	e.cd.maxMessage = o.MaxMessageSize
	e.cd.rejectBinary = o.RejectBinary
	e.cd.compressMin = o.CompressMinSize
	e.cd.outFrame = o.OutFrameSize

	// MaxWriteBufferSize stays 0: with a limit nbio would close a slow conn
	// silently; SendQueueBytes is enforced here instead, before nbio.
	e.nb = nbio.NewEngine(nbio.Config{
		Name:           "wsconn",
		NPoller:        o.Pollers,
		ReadBufferSize: readBufferSize,
	})
	e.nb.OnData(e.onData)
	e.nb.OnClose(e.onClose)
	e.nb.OnWrittenSize(e.onWritten)
	return e, nil
}

// Start starts the pollers and the sweeper.
func (e *Engine) Start() error {
	e.lifeMu.Lock()
	defer e.lifeMu.Unlock()
	if e.state.Load() != engNew {
		return fmt.Errorf("start: %w", ErrNotRunning)
	}
	if err := e.nb.Start(); err != nil {
		return fmt.Errorf("start pollers: %w", err)
	}
	if err := e.awaitPollers(); err != nil {
		// Stopping now could hang on the very race awaitPollers avoids;
		// carry on, the pollers almost surely run by the time of Shutdown.
		e.log.Warn("wsconn: could not confirm that pollers started", "err", err)
	}
	e.state.Store(engRunning)
	e.wg.Go(e.sweep)
	return nil
}

// Shutdown sends a close frame with code and reason to every connection and
// waits until ctx ends for all their OnClose calls; then it closes the TCP
// connections left, waits for their OnClose, and stops the pollers and the
// sweeper. It returns ctx's error if it had to force connections closed.
// New upgrades fail with ErrNotRunning once it has begun. It must not be
// called from a Handler callback.
func (e *Engine) Shutdown(ctx context.Context, code int, reason string) error {
	e.lifeMu.Lock()
	defer e.lifeMu.Unlock()
	switch e.state.Load() {
	case engNew:
		e.state.Store(engStopped)
		return nil
	case engStopped:
		return nil
	}
	e.shutCode, e.shutReason = code, reason
	e.state.Store(engClosing)
	if e.live.Load() == 0 {
		e.zeroOnce.Do(func() { close(e.zero) })
	}
	e.each(func(c *Conn) { c.Close(code, reason) })

	var err error
	select {
	case <-e.zero:
	case <-ctx.Done():
		err = ctx.Err()
		e.log.Warn("wsconn: shutdown deadline passed, closing connections", "conns", e.conns.Load())
		e.each(func(c *Conn) { c.abort() })
		// Closing TCP makes every OnClose follow promptly; an upgrade still
		// writing its 101 closes within handshakeWriteTimeout+CloseTimeout.
		<-e.zero
	}
	close(e.stopSweep)
	e.nb.Stop()
	e.wg.Wait()
	e.state.Store(engStopped)
	return err
}

// Len returns the number of upgraded connections not yet reported closed.
func (e *Engine) Len() int {
	return int(e.conns.Load())
}

// now reads the engine clock: monotonic nanoseconds since epoch.
func (e *Engine) now() int64 {
	return int64(time.Since(e.epoch))
}

// clock converts an engine clock reading to wall-clock time.
func (e *Engine) clock(t int64) time.Time {
	return e.epoch.Add(time.Duration(t))
}

// acquire counts an upgrade in progress, unless the engine is not running.
func (e *Engine) acquire() bool {
	e.live.Add(1)
	if e.state.Load() != engRunning {
		e.release()
		return false
	}
	return true
}

// release ends what acquire counted, waking Shutdown at zero.
func (e *Engine) release() {
	if e.live.Add(-1) == 0 && e.state.Load() >= engClosing {
		e.zeroOnce.Do(func() { close(e.zero) })
	}
}

func (e *Engine) register(c *Conn) {
	c.shard = uint8(e.next.Add(1) % numShards)
	s := &e.shards[c.shard]
	s.mu.Lock()
	c.slot = int32(len(s.conns))
	s.conns = append(s.conns, c)
	s.mu.Unlock()
	e.conns.Add(1)
}

func (e *Engine) unregister(c *Conn) {
	s := &e.shards[c.shard]
	s.mu.Lock()
	i := int(c.slot)
	if i >= 0 && i < len(s.conns) && s.conns[i] == c {
		last := len(s.conns) - 1
		s.conns[i] = s.conns[last]
		s.conns[i].slot = int32(i)
		s.conns[last] = nil
		s.conns = s.conns[:last]
		c.slot = -1
		e.conns.Add(-1)
	}
	s.mu.Unlock()
}

// each calls f for every registered conn, without holding registry locks
// during the calls.
func (e *Engine) each(f func(c *Conn)) {
	var batch []*Conn
	for i := range e.shards {
		s := &e.shards[i]
		s.mu.Lock()
		batch = append(batch[:0], s.conns...)
		s.mu.Unlock()
		for _, c := range batch {
			f(c)
		}
		clear(batch)
	}
}

// sweep is the engine's one timer: every tick it walks the registry for
// conns that are idle, too old, due a ping, or past a close deadline.
func (e *Engine) sweep() {
	t := time.NewTicker(e.opts.sweepInterval())
	defer t.Stop()
	var due []*Conn
	for {
		select {
		case <-e.stopSweep:
			return
		case <-t.C:
		}
		now := e.now()
		for i := range e.shards {
			s := &e.shards[i]
			s.mu.Lock()
			for _, c := range s.conns {
				if c.due(now) != actNone {
					due = append(due, c)
				}
			}
			s.mu.Unlock()
		}
		for _, c := range due {
			c.expire(now)
		}
		clear(due)
		due = due[:0]
	}
}

// nbio callbacks. The session of every nbio.Conn registered here is its
// *Conn (or a pollerProbe), set before nbio can see it. nbio's hand-off to
// its poller goroutines is invisible to the race detector, so each callback
// first loads the Conn's state: that atomic pairs with the store that ends
// newConn, which makes the Conn's initialisation visible.

// connOf returns the *Conn of nc, or nil for a probe.
func connOf(nc *nbio.Conn) *Conn {
	c, ok := nc.Session().(*Conn)
	if !ok {
		return nil
	}
	c.state.Load()
	return c
}

func (e *Engine) onData(nc *nbio.Conn, data []byte) {
	c := connOf(nc)
	if c == nil {
		if p, ok := nc.Session().(pollerProbe); ok {
			select {
			case p <- struct{}{}:
			default:
			}
		}
		return
	}
	c.rmu.Lock()
	c.onData(data)
	c.rmu.Unlock()
}

func (e *Engine) onClose(nc *nbio.Conn, _ error) {
	if c := connOf(nc); c != nil {
		c.finish()
	}
}

// onWritten is called by nbio for bytes that reached the socket: inside
// Write for what was written at once (so Conn.write counts bytes before
// calling Write), later on the poller for what nbio had to buffer.
func (e *Engine) onWritten(nc *nbio.Conn, _ []byte, n int) {
	if c := connOf(nc); c != nil {
		if c.pending.Add(-int64(n)) <= 0 && c.state.Load() == stFlushing {
			// nbio holds the conn's lock here, so closing must happen elsewhere.
			e.nb.Async(c.closeIfFlushed)
		}
	}
}

// Upgrade completes the handshake for r: it writes the 101 response (with
// Sec-WebSocket-Protocol when o.Subprotocol is set, and the negotiated
// extension), takes over the connection and registers it. Neither
// o.Handler's callbacks run before Upgrade returns. On failure before the
// connection is taken over Upgrade answers the request itself (a
// *HandshakeError's status, or 500/503) and no OnClose follows.
func (e *Engine) Upgrade(w http.ResponseWriter, r *http.Request, o UpgradeOptions) (*Conn, error) {
	if err := CheckUpgrade(r); err != nil {
		var he *HandshakeError
		if errors.As(err, &he) {
			he.WriteResponse(w)
		}
		return nil, err
	}
	if o.Handler == nil || !validHeaderValue(o.Subprotocol) {
		http.Error(w, "websocket upgrade misconfigured", http.StatusInternalServerError)
		return nil, errors.New("wsconn: upgrade: nil Handler or invalid Subprotocol")
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "websocket upgrade not supported", http.StatusInternalServerError)
		return nil, errors.New("wsconn: upgrade: response writer cannot be hijacked")
	}
	if !e.acquire() {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return nil, fmt.Errorf("upgrade: %w", ErrNotRunning)
	}
	var ext string
	if e.opts.Compression {
		ext = negotiateDeflate(r.Header)
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		e.release()
		return nil, fmt.Errorf("upgrade: hijack: %w", err)
	}
	// A client must wait for the 101 before sending frames (RFC 6455 §4.1);
	// bytes already buffered cannot be handed to the poller.
	if brw.Reader.Buffered() > 0 {
		_ = nc.SetWriteDeadline(time.Now().Add(handshakeWriteTimeout))
		_, _ = nc.Write([]byte("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"))
		_ = nc.Close()
		e.release()
		return nil, errors.New("wsconn: upgrade: client sent data before the handshake completed")
	}
	resp := appendSwitching(make([]byte, 0, 256), r.Header.Get("Sec-Websocket-Key"), o.Subprotocol, ext, o.ExtraHeader)
	c := newConn(e, o, ext != "")
	// Held until Upgrade returns: the poller (or reader) and the close path
	// take rmu before calling the handler; Send takes mu, so nothing is
	// written before the 101.
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.mu.Lock()
	if o.OnOpen != nil {
		o.OnOpen(c)
	}
	_ = nc.SetWriteDeadline(time.Now().Add(handshakeWriteTimeout))
	if _, err := nc.Write(resp); err != nil {
		c.state.Store(stDone)
		c.mu.Unlock()
		_ = nc.Close()
		e.release()
		return nil, fmt.Errorf("upgrade: write 101: %w", err)
	}
	_ = nc.SetWriteDeadline(time.Time{})
	err = c.attach(nc)
	c.mu.Unlock()
	if err != nil {
		c.state.Store(stDone)
		e.release()
		return nil, fmt.Errorf("upgrade: %w", err)
	}
	e.register(c)
	if e.state.Load() != engRunning {
		// Shutdown began after acquire and may have walked the registry
		// before this conn was in it.
		c.Close(e.shutCode, e.shutReason)
	}
	return c, nil
}

// attach hands nc to a poller, or to a reader goroutine when it is not a
// TCP connection.
func (c *Conn) attach(nc net.Conn) error {
	e := c.e
	if tcp, ok := nc.(*net.TCPConn); ok {
		// NBConn dups the descriptor and closes tcp; the session must be set
		// before AddConn makes the conn visible to a poller.
		nbc, err := nbio.NBConn(tcp)
		if err != nil {
			_ = tcp.Close()
			return fmt.Errorf("take over connection: %w", err)
		}
		// NBConn's dup does not set close-on-exec: without this, every
		// child process started later (local Lambda functions) would
		// inherit every client socket and keep closed ones open.
		syscall.CloseOnExec(nbc.Hash())
		nbc.SetSession(c)
		c.t = nbc
		if _, err := e.nb.AddConn(nbc); err != nil {
			return fmt.Errorf("add connection to poller: %w", err)
		}
		return nil
	}
	s := &streamConn{c: c, nc: nc}
	c.t = s
	e.wg.Go(s.readLoop)
	return nil
}
