package dataplane

import (
	"encoding/json"
	"errors"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/metrics"
	"github.com/wsgate/wsgate/internal/snapshot"
	"github.com/wsgate/wsgate/internal/wsconn"
)

// conn is one client connection's state in the data plane. Keep it small:
// idle connections are the common case.
type conn struct {
	p    *Plane
	ws   *wsconn.Conn
	base eventBase // with the id and the stage at connect time (for $disconnect after a stage is gone)

	m          *metrics.Stage // nil without metrics
	inflight   atomic.Int32
	busy       sync.WaitGroup // message handlers running; $disconnect waits for them
	closed     atomic.Bool
	registered atomic.Bool
}

var _ hub.Conn = (*conn)(nil)

func (c *conn) ID() string { return c.base.connID }

// Send queues a message for the client.
func (c *conn) Send(data []byte, binary bool) error {
	op := wsconn.Text
	if binary {
		op = wsconn.Binary
	}
	switch err := c.ws.Send(op, data); {
	case err == nil:
		if c.m != nil {
			c.m.MessagesOut.Inc()
		}
		return nil
	case errors.Is(err, wsconn.ErrQueueFull):
		c.p.o.Metrics.QueueFull("connection")
		return hub.ErrQueueFull
	default:
		return hub.ErrGone
	}
}

func (c *conn) Close(code int, reason string) {
	if c.ws != nil {
		c.ws.Close(code, reason)
	}
}

// Alive reports whether the connection is open (not closing).
func (c *conn) Alive() bool { return c.ws != nil && c.ws.Open() && !c.closed.Load() }

func (c *conn) Base() hub.Info {
	in := hub.Info{
		ConnectedAt: time.UnixMilli(c.base.connectedAt),
		SourceIP:    c.base.sourceIP,
		UserAgent:   c.base.userAgent,
	}
	if c.ws != nil {
		in.LastActiveAt = c.ws.LastActive()
	} else {
		in.LastActiveAt = in.ConnectedAt
	}
	return in
}

// sendFrame sends a gateway-generated text frame (errors, route responses);
// a full queue drops it, as it would drop any message.
func (c *conn) sendFrame(b []byte) {
	_ = c.ws.Send(wsconn.Text, b)
}

// errorFrame builds AWS's error frames, byte for byte:
// {"message": "Internal server error", "connectionId":"…", "requestId":"…"}.
func errorFrame(message, connID, requestID string) []byte {
	b := make([]byte, 0, 96)
	b = append(b, `{"message": `...)
	b = appendString(b, message)
	b = append(b, `, "connectionId":`...)
	b = appendString(b, connID)
	b = append(b, `, "requestId":`...)
	b = appendString(b, requestID)
	return append(b, '}')
}

// badRequestFrame is what a message failing request validation gets, as
// AWS documents it (note messageId, and the spacing).
func badRequestFrame(connID, messageID string) []byte {
	b := make([]byte, 0, 96)
	b = append(b, `{"message" : "Bad request body", "connectionId": `...)
	b = appendString(b, connID)
	b = append(b, `, "messageId": `...)
	b = appendString(b, messageID)
	return append(b, '}')
}

// OnMessage implements wsconn.Handler: route selection on the poller
// goroutine, then the integration.
func (p *Plane) OnMessage(ws *wsconn.Conn, op wsconn.Opcode, data []byte) {
	c, _ := ws.Session().(*conn)
	if c == nil || c.closed.Load() {
		return
	}
	// A bug must not take down the poller (and every connection on it).
	defer p.recoverMessage(c, "route selection")
	st := p.o.Registry.Stage(c.base.st.APIID, c.base.st.Name)
	if st == nil {
		return // the stage is going away; CloseStage closes this connection
	}
	binary := op == wsconn.Binary
	var route *snapshot.Route
	var ok bool
	if binary {
		route, ok = st.Default, st.Default != nil // binary data is never JSON
	} else {
		route, ok = st.Select(data)
	}
	if c.m != nil {
		c.m.MessagesIn.Inc()
	}
	if !ok {
		c.m.ClientError("forbidden")
		c.sendFrame(errorFrame("Forbidden", c.base.connID, newRequestID()))
		return
	}
	if !p.limits.allow(st, route.Key) {
		c.m.ClientError("throttled")
		c.sendFrame(errorFrame("Too Many Requests", c.base.connID, newRequestID()))
		return
	}
	if int(c.inflight.Add(1)) > p.o.MaxInflight {
		c.inflight.Add(-1)
		c.m.ClientError("too_many_in_flight")
		c.sendFrame(errorFrame("Too Many Requests", c.base.connID, newRequestID()))
		return
	}
	c.busy.Add(1)
	m := message{c: c, st: st, route: route, binary: binary, received: time.Now()}
	if route.Integration == nil || route.Integration.IntegrationType == "MOCK" {
		// Nothing to wait for: answer on the poller goroutine. m stays on
		// the stack: nothing keeps it after the call.
		m.body = data
		p.handleMessage(&m)
		return
	}
	p.handleAsync(m, append([]byte(nil), data...))
}

// handleAsync runs a message's integration on a goroutine of its own, with
// a copy of the body (the poller's buffer is reused).
func (p *Plane) handleAsync(m message, body []byte) {
	m.body = body
	p.wg.Go(func() { p.handleMessage(&m) })
}

// recoverMessage turns a panic while handling a message into a logged
// execution error and the Internal server error frame.
func (p *Plane) recoverMessage(c *conn, where string) {
	r := recover()
	if r == nil {
		return
	}
	p.log.Error("panic while handling a message", "conn_id", c.base.connID, "where", where, "panic", r, "stack", string(debug.Stack()))
	if c.m != nil {
		c.m.ExecutionError.Inc()
	}
	c.sendFrame(errorFrame("Internal server error", c.base.connID, newRequestID()))
}

// message is one client message being handled. It is handled by one
// goroutine at a time.
type message struct {
	c         *conn
	st        *snapshot.Stage
	route     *snapshot.Route
	requestID string // drawn when first needed (reqID)
	messageID string // drawn when first needed (msgID)
	body      []byte
	binary    bool
	received  time.Time
}

// reqID returns the message's request id (requestContext.requestId,
// $context.requestId, error frames), drawing it on first use: a MOCK route
// without templates answers without ever needing one.
func (m *message) reqID() string {
	if m.requestID == "" {
		m.requestID = newRequestID()
	}
	return m.requestID
}

// msgID returns the message's id (requestContext.messageId), drawn on
// first use.
func (m *message) msgID() string {
	if m.messageID == "" {
		m.messageID = newRequestID()
	}
	return m.messageID
}

// OnClose implements wsconn.Handler: the connection is gone. It leaves the
// hub at once (so no fan-out counts it) and $disconnect runs.
func (p *Plane) OnClose(ws *wsconn.Conn, code int, reason string) {
	c, _ := ws.Session().(*conn)
	if c == nil {
		return
	}
	p.afterClose(c, closeInfo{code: code, reason: disconnectReason(code, reason)})
}

func (p *Plane) afterClose(c *conn, ci closeInfo) {
	if c.closed.Swap(true) {
		return
	}
	if c.registered.Load() && c.m != nil {
		c.m.Connections.Dec()
	}
	var md map[string]string
	if c.registered.Load() {
		md = p.o.Hub.Metadata(c.base.connID) // $disconnect still sees it
		p.o.Hub.Remove(c.base.connID)
	}
	p.wg.Go(func() {
		c.busy.Wait()
		p.disconnect(c, ci, md)
	})
}

// eventBaseWith returns the connection's event base with the metadata
// merged into requestContext.authorizer, the way an authorizer's context
// appears there: a handler reads both the same way.
func (c *conn) eventBaseWith(md map[string]string) *eventBase {
	if len(md) == 0 {
		return &c.base
	}
	authz := c.base.authz()
	m := make(map[string]any, len(authz)+len(md))
	for k, v := range authz {
		m[k] = v
	}
	for k, v := range md {
		if k != "principalId" && k != "integrationLatency" {
			m[k] = v
		}
	}
	b := c.base
	var a authInfo
	if c.base.auth != nil {
		a = *c.base.auth
	}
	authorizer, _ := json.Marshal(m)
	a.authorizer = string(authorizer)
	b.auth = &a
	return &b
}

// disconnectReason fills in AWS's reason texts where the close frame gave
// none.
func disconnectReason(code int, reason string) string {
	if reason != "" {
		return reason
	}
	switch code {
	case 1005:
		return "Client-side close frame status not set"
	case 1006:
		return "Connection was closed abnormally"
	}
	return reason
}
