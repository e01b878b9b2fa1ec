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
	p     *Plane
	ws    *wsconn.Conn
	id    string
	base  eventBase
	stage *snapshot.Stage // the stage at connect time, for $disconnect after a stage is gone
	// principal is the authorizer's principalId; authz its whole context.
	principal string
	authz     map[string]any

	m          *metrics.Stage // nil without metrics
	inflight   atomic.Int32
	busy       sync.WaitGroup // message handlers running; $disconnect waits for them
	closed     atomic.Bool
	registered atomic.Bool
}

var _ hub.Conn = (*conn)(nil)

func (c *conn) ID() string { return c.id }

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
	st := p.o.Registry.Stage(c.base.apiID, c.base.stage)
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
	requestID := newRequestID()
	if c.m != nil {
		c.m.MessagesIn.Inc()
	}
	if !ok {
		c.m.ClientError("forbidden")
		c.sendFrame(errorFrame("Forbidden", c.id, requestID))
		return
	}
	if !p.limits.allow(st, route.Key) {
		c.m.ClientError("throttled")
		c.sendFrame(errorFrame("Too Many Requests", c.id, requestID))
		return
	}
	if int(c.inflight.Add(1)) > p.o.MaxInflight {
		c.inflight.Add(-1)
		c.m.ClientError("too_many_in_flight")
		c.sendFrame(errorFrame("Too Many Requests", c.id, requestID))
		return
	}
	c.busy.Add(1)
	m := message{c: c, st: st, route: route, requestID: requestID, binary: binary, received: time.Now()}
	if route.Integration == nil || route.Integration.IntegrationType == "MOCK" {
		// Nothing to wait for: answer on the poller goroutine.
		m.body = data
		p.handleMessage(&m)
		return
	}
	m.body = append([]byte(nil), data...)
	p.wg.Go(func() { p.handleMessage(&m) })
}

// recoverMessage turns a panic while handling a message into a logged
// execution error and the Internal server error frame.
func (p *Plane) recoverMessage(c *conn, where string) {
	r := recover()
	if r == nil {
		return
	}
	p.log.Error("panic while handling a message", "conn_id", c.id, "where", where, "panic", r, "stack", string(debug.Stack()))
	if c.m != nil {
		c.m.ExecutionError.Inc()
	}
	c.sendFrame(errorFrame("Internal server error", c.id, newRequestID()))
}

// message is one client message being handled.
type message struct {
	c         *conn
	st        *snapshot.Stage
	route     *snapshot.Route
	requestID string
	body      []byte
	binary    bool
	received  time.Time
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
		md = p.o.Hub.Metadata(c.id) // $disconnect still sees it
		p.o.Hub.Remove(c.id)
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
	m := make(map[string]any, len(c.authz)+len(md))
	for k, v := range c.authz {
		m[k] = v
	}
	for k, v := range md {
		if k != "principalId" && k != "integrationLatency" {
			m[k] = v
		}
	}
	b := c.base
	b.authorizer, _ = json.Marshal(m)
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
