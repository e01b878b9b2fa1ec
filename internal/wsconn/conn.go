package wsconn

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// Conn states. The state only changes under Conn.mu, and only forward.
const (
	stOpen     uint32 = iota
	stClosing         // we sent a close frame; decoding on, waiting for the peer's
	stFailing         // we sent a close frame after a protocol error; the decoder drains
	stFlushing        // handshake over; TCP closes once the queue drains
	stClosed          // TCP close requested; waiting for the transport to report it
	stDone            // OnClose reported (or the upgrade failed)
)

// transport is where a Conn's bytes go: an *nbio.Conn, or a streamConn for
// connections that cannot be polled. Write never blocks: what cannot be
// written now is copied and queued.
type transport interface {
	Write(b []byte) (int, error)
	Close() error
	RemoteAddr() net.Addr
}

// Conn is one upgraded WebSocket connection. Its methods are safe to call
// from any goroutine.
type Conn struct {
	e       *Engine
	t       transport
	handler Handler
	session any
	dec     decoder // only touched under rmu

	pending    atomic.Int64 // bytes handed to the transport and not yet written
	lastActive atomic.Int64 // engine clock of the last data frame either way
	lastRead   atomic.Int64 // engine clock of the last bytes received
	// timer is, while open, when the sweeper last pinged; in the closing
	// states, the deadline for the next step.
	timer     atomic.Int64
	connected int64 // engine clock at upgrade

	// rmu is held while decoding and delivering messages, and by finish:
	// so OnClose never overlaps or precedes an OnMessage.
	rmu sync.Mutex
	// mu orders state changes with frame writes, so that nothing follows
	// our close frame on the wire.
	mu    sync.Mutex
	state atomic.Uint32 // written under mu, read anywhere

	code     uint16 // close code to report, once reported is set; under mu
	reported bool
	deflate  bool
	shard    uint8
	slot     int32 // index in the registry shard; under the shard's lock
	reason   string
}

func newConn(e *Engine, o UpgradeOptions, deflate bool) *Conn {
	now := e.now()
	c := &Conn{
		e:         e,
		handler:   o.Handler,
		session:   o.Session,
		dec:       newDecoder(&e.cd, deflate),
		connected: now,
		deflate:   deflate,
		slot:      -1,
	}
	c.lastActive.Store(now)
	c.lastRead.Store(now)
	c.timer.Store(now)
	c.state.Store(stOpen) // publishes the above to the pollers (see connOf)
	return c
}

// Session returns UpgradeOptions.Session.
func (c *Conn) Session() any { return c.session }

// RemoteAddr returns the client's address.
func (c *Conn) RemoteAddr() net.Addr { return c.t.RemoteAddr() }

// ConnectedAt returns when the connection was upgraded.
func (c *Conn) ConnectedAt() time.Time { return c.e.clock(c.connected) }

// LastActive returns when the last data frame went either way (the start of
// the read that completed it, for received frames; the Send call for sent
// ones).
func (c *Conn) LastActive() time.Time { return c.e.clock(c.lastActive.Load()) }

// Open reports whether the connection is open: false once a closing
// handshake has started (either side) or the connection has ended.
func (c *Conn) Open() bool { return c.state.Load() == stOpen }

// Pending returns the bytes queued for the connection and not yet written to
// its socket.
func (c *Conn) Pending() int { return int(max(c.pending.Load(), 0)) }

// Compressed reports whether permessage-deflate was negotiated.
func (c *Conn) Compressed() bool { return c.deflate }

// Send queues a text or binary message without blocking; data is copied. It
// returns ErrQueueFull (the connection stays open) when the message would take
// the queued bytes past SendQueueBytes (always, for a message larger than
// that), and ErrClosed once the connection is closing. Outgoing frames are
// compressed when permessage-deflate was negotiated and the message has
// CompressMinSize bytes or more, and fragmented per OutFrameSize.
func (c *Conn) Send(op Opcode, data []byte) error {
	if op != Text && op != Binary {
		return ErrBadOpcode
	}
	if c.state.Load() != stOpen {
		return ErrClosed
	}
	buf := c.e.cd.encode(op, data, c.deflate)
	defer c.e.cd.bufs.put(buf)

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state.Load() != stOpen {
		return ErrClosed
	}
	if c.pending.Load()+int64(len(*buf)) > int64(c.e.opts.SendQueueBytes) {
		return ErrQueueFull
	}
	c.lastActive.Store(c.e.now())
	if err := c.write(*buf); err != nil {
		return errors.Join(ErrClosed, err)
	}
	return nil
}

// Close starts the closing handshake: it sends a close frame with code and
// reason, waits up to CloseTimeout for the peer's, then closes TCP. OnClose
// reports code and reason as given (the frame carries at most 123 bytes of
// reason, cut on a rune boundary). Calls after the first (or once the peer
// has closed) do nothing. A code that may not be sent on the wire (such as
// 1005 or 1006) yields a close frame without a code, and is still reported.
func (c *Conn) Close(code int, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeLocked(code, reason, stClosing)
}

// closeLocked sends our close frame and moves to next (stClosing or
// stFailing), if the connection is still open.
func (c *Conn) closeLocked(code int, reason string, next uint32) {
	if c.state.Load() != stOpen {
		return
	}
	c.report(code, reason)
	var fb [ws.MaxHeaderSize + ws.MaxControlFramePayloadSize]byte
	_ = c.write(appendClose(fb[:0], code, reason))
	c.timer.Store(c.e.now() + int64(c.e.opts.CloseTimeout))
	c.state.Store(next)
}

// report records the code and reason OnClose will report, if none is yet.
func (c *Conn) report(code int, reason string) {
	if !c.reported {
		c.reported = true
		c.code = uint16(code)
		c.reason = reason
	}
}

// write hands b to the transport, counting it as pending first: nbio reports
// bytes written at once from inside Write. c.mu is held.
func (c *Conn) write(b []byte) error {
	c.pending.Add(int64(len(b)))
	_, err := c.t.Write(b)
	return err
}

// flushThenCloseLocked closes TCP now if nothing is queued, or lets the
// sweeper do it once the queue drains or CloseTimeout passes.
func (c *Conn) flushThenCloseLocked() {
	if c.pending.Load() <= 0 {
		c.closeTCPLocked()
		return
	}
	c.timer.Store(c.e.now() + int64(c.e.opts.CloseTimeout))
	c.state.Store(stFlushing)
}

// closeIfFlushed closes TCP if the connection was only waiting for its
// queue to drain, without waiting for the sweeper.
func (c *Conn) closeIfFlushed() {
	if c.state.Load() != stFlushing || c.pending.Load() > 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state.Load() == stFlushing && c.pending.Load() <= 0 {
		c.closeTCPLocked()
	}
}

// closeTCPLocked closes the transport; its end calls finish.
func (c *Conn) closeTCPLocked() {
	if c.state.Load() >= stClosed {
		return
	}
	c.state.Store(stClosed)
	_ = c.t.Close()
}

// abort closes TCP at once (Shutdown past its deadline).
func (c *Conn) abort() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.report(c.e.shutCode, c.e.shutReason)
	c.closeTCPLocked()
}

// onData decodes bytes read from the connection; rmu is held.
func (c *Conn) onData(p []byte) {
	now := c.e.now()
	c.lastRead.Store(now)
	switch c.state.Load() {
	case stOpen, stClosing, stFailing:
	default:
		return // the closing handshake is over
	}
	// After an error the decoder drains (or ignores) the rest, which is fed
	// once our close frame is out; so this runs at most three times.
	for len(p) > 0 {
		act, n, err := c.dec.feed(p, c)
		if act&sawData != 0 || act&sawControl != 0 && c.e.opts.PingCountsAsActivity {
			c.lastActive.Store(now)
		}
		if err == nil {
			return
		}
		c.fail(err)
		p = p[n:]
	}
}

// fail closes the connection after the peer broke the protocol or a limit.
func (c *Conn) fail(err error) {
	var pe *protoError
	if !errors.As(err, &pe) {
		pe = &protoError{code: CloseInternalError, reason: "internal error"}
	}
	c.e.log.Debug("wsconn: failing connection", "remote_addr", c.t.RemoteAddr().String(), "code", pe.code, "reason", pe.reason)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.state.Load() {
	case stOpen:
		c.closeLocked(pe.code, pe.reason, stFailing)
	case stClosing:
		c.closeTCPLocked() // no point waiting for a close frame we cannot parse
	}
}

// frameSink, called by the decoder under rmu.

func (c *Conn) onMessage(op Opcode, data []byte) {
	if c.state.Load() != stOpen {
		return // after our close frame, data is discarded (RFC 6455 §1.4)
	}
	c.lastActive.Store(c.lastRead.Load())
	c.handler.OnMessage(c, op, data)
}

func (c *Conn) onPing(payload []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// A peer that does not read its pongs gets no more of them.
	if c.state.Load() != stOpen ||
		c.pending.Load()+int64(2+len(payload)) > int64(c.e.opts.SendQueueBytes) {
		return
	}
	var fb [ws.MaxHeaderSize + ws.MaxControlFramePayloadSize]byte
	_ = c.write(appendControl(fb[:0], ws.OpPong, payload))
}

func (c *Conn) onPong([]byte) {}

func (c *Conn) onClose(code int, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.state.Load() {
	case stOpen:
		c.report(code, reason)
		// Echo the code (none if the peer sent none), then close TCP: the
		// server closes first (RFC 6455 §7.1.1).
		var fb [ws.MaxHeaderSize + 2]byte
		_ = c.write(appendClose(fb[:0], code, ""))
		c.flushThenCloseLocked()
	case stClosing, stFailing:
		c.flushThenCloseLocked() // our close frame was answered
	}
}

// Sweeper actions.
const (
	actNone = iota
	actGoAway
	actPing
	actDrop
	actCloseTCP
)

// due says what the sweeper should do with c at now. It reads only atomics,
// so the sweeper can call it under a registry lock; expire repeats it under
// c.mu before acting.
func (c *Conn) due(now int64) int {
	o := &c.e.opts
	switch c.state.Load() {
	case stOpen:
		if o.MaxAge > 0 && now-c.connected >= int64(o.MaxAge) ||
			o.IdleTimeout > 0 && now-c.lastActive.Load() >= int64(o.IdleTimeout) {
			return actGoAway
		}
		if o.PingInterval > 0 {
			silent := now - c.lastRead.Load()
			if silent >= 2*int64(o.PingInterval) {
				return actDrop
			}
			if silent >= int64(o.PingInterval) && now-c.timer.Load() >= int64(o.PingInterval) {
				return actPing
			}
		}
	case stClosing, stFailing:
		if now >= c.timer.Load() {
			return actCloseTCP
		}
	case stFlushing:
		if c.pending.Load() <= 0 || now >= c.timer.Load() {
			return actCloseTCP
		}
	}
	return actNone
}

// expire applies the sweeper's action to c.
func (c *Conn) expire(now int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.due(now) {
	case actGoAway:
		c.closeLocked(CloseGoingAway, "Going away", stClosing)
	case actDrop:
		c.report(CloseAbnormal, "")
		c.closeTCPLocked()
	case actPing:
		c.timer.Store(now)
		if c.pending.Load()+2 <= int64(c.e.opts.SendQueueBytes) {
			var fb [2]byte
			_ = c.write(appendControl(fb[:0], ws.OpPing, nil))
		}
	case actCloseTCP:
		c.closeTCPLocked()
	}
}

// finish reports the end of the connection once its transport is closed.
// It waits for any delivery in progress, so OnClose follows the last
// OnMessage.
func (c *Conn) finish() {
	c.rmu.Lock()
	c.mu.Lock()
	if c.state.Load() == stDone {
		c.mu.Unlock()
		c.rmu.Unlock()
		return
	}
	c.state.Store(stDone)
	code, reason := CloseAbnormal, ""
	if c.reported {
		code, reason = int(c.code), c.reason
	}
	c.mu.Unlock()
	c.dec.release()
	c.rmu.Unlock()

	c.e.unregister(c)
	c.handler.OnClose(c, code, reason)
	c.e.release()
}
