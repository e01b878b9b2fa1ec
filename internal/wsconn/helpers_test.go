package wsconn

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"
)

// waitFor bounds every wait in these tests.
const waitFor = 5 * time.Second

type closeEvent struct {
	c      *Conn
	code   int
	reason string
	at     time.Time
}

// testHandler echoes (unless onMsg is set) and records closes.
type testHandler struct {
	onMsg  func(c *Conn, op Opcode, data []byte)
	closed chan closeEvent

	mu     sync.Mutex
	counts map[*Conn]int
}

func newTestHandler() *testHandler {
	return &testHandler{closed: make(chan closeEvent, 1<<15), counts: map[*Conn]int{}}
}

func (h *testHandler) OnMessage(c *Conn, op Opcode, data []byte) {
	if h.onMsg != nil {
		h.onMsg(c, op, data)
		return
	}
	if err := c.Send(op, data); err != nil {
		panic(fmt.Sprintf("echo: %v", err))
	}
}

func (h *testHandler) OnClose(c *Conn, code int, reason string) {
	h.mu.Lock()
	h.counts[c]++
	h.mu.Unlock()
	h.closed <- closeEvent{c: c, code: code, reason: reason, at: time.Now()}
}

// waitClose returns the next OnClose.
func (h *testHandler) waitClose(t *testing.T) closeEvent {
	t.Helper()
	select {
	case ev := <-h.closed:
		return ev
	case <-time.After(waitFor):
		t.Fatal("no OnClose")
		return closeEvent{}
	}
}

// expectClose waits for OnClose and checks its code and reason.
func (h *testHandler) expectClose(t *testing.T, code int, reason string) closeEvent {
	t.Helper()
	ev := h.waitClose(t)
	if ev.code != code || ev.reason != reason {
		t.Fatalf("OnClose(%d, %q), want (%d, %q)", ev.code, ev.reason, code, reason)
	}
	return ev
}

// testServer is an engine behind an httptest server.
type testServer struct {
	e     *Engine
	srv   *httptest.Server
	h     *testHandler
	conns chan *Conn
	addr  string
}

type serverConfig struct {
	opts    Options
	tls     bool
	upgrade func(r *http.Request) UpgradeOptions // optional
}

func startServer(t testing.TB, cfg serverConfig) *testServer {
	t.Helper()
	e, err := NewEngine(cfg.opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	ts := &testServer{e: e, h: newTestHandler(), conns: make(chan *Conn, 1024)}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o := UpgradeOptions{Handler: ts.h}
		if cfg.upgrade != nil {
			o = cfg.upgrade(r)
			o.Handler = ts.h
		}
		c, err := e.Upgrade(w, r, o)
		if err == nil {
			select {
			case ts.conns <- c:
			default: // tests that open many conns do not collect them
			}
		}
	})
	if cfg.tls {
		ts.srv = httptest.NewTLSServer(handler)
	} else {
		ts.srv = httptest.NewServer(handler)
	}
	ts.addr = ts.srv.Listener.Addr().String()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := e.Shutdown(ctx, CloseGoingAway, "test over"); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		ts.srv.Close()
	})
	return ts
}

// conn returns the server side of the next upgraded connection.
func (ts *testServer) conn(t testing.TB) *Conn {
	t.Helper()
	select {
	case c := <-ts.conns:
		return c
	case <-time.After(waitFor):
		t.Fatal("no upgraded connection")
		return nil
	}
}

func (ts *testServer) url() string {
	if ts.srv.TLS != nil {
		return "wss://" + ts.addr + "/"
	}
	return "ws://" + ts.addr + "/"
}

// dial connects a gorilla client.
func (ts *testServer) dial(t testing.TB, d *websocket.Dialer) (*websocket.Conn, *http.Response) {
	t.Helper()
	if d == nil {
		d = &websocket.Dialer{}
	}
	if ts.srv.TLS != nil {
		d.TLSClientConfig = ts.srv.Client().Transport.(*http.Transport).TLSClientConfig
	}
	c, resp, err := d.Dial(ts.url(), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(waitFor))
	return c, resp
}

// rawConn is a hand-driven client for malformed traffic.
type rawConn struct {
	net.Conn
	br *bufio.Reader
}

// dialRaw does the opening handshake by hand; extra lines go in the request.
func (ts *testServer) dialRaw(t testing.TB, extra ...string) (*rawConn, *http.Response) {
	t.Helper()
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(waitFor))
	req := "GET / HTTP/1.1\r\nHost: " + ts.addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	for _, l := range extra {
		req += l + "\r\n"
	}
	if _, err := nc.Write([]byte(req + "\r\n")); err != nil {
		t.Fatal(err)
	}
	rc := &rawConn{Conn: nc, br: bufio.NewReader(nc)}
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake status %d", resp.StatusCode)
	}
	if got := resp.Header.Get("Sec-Websocket-Accept"); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("Sec-WebSocket-Accept = %q", got)
	}
	return rc, resp
}

// readFrame reads one server frame.
func (rc *rawConn) readFrame(t testing.TB) (ws.Header, []byte) {
	t.Helper()
	h, err := ws.ReadHeader(rc.br)
	if err != nil {
		t.Fatalf("read frame header: %v", err)
	}
	if h.Masked {
		t.Fatal("server frame is masked")
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(rc.br, p); err != nil {
		t.Fatalf("read frame payload: %v", err)
	}
	return h, p
}

// readClose reads frames until a close frame and returns its code (1005
// when empty) and reason.
func (rc *rawConn) readClose(t testing.TB) (int, string) {
	t.Helper()
	for range 1000 {
		h, p := rc.readFrame(t)
		if h.OpCode != ws.OpClose {
			continue
		}
		if len(p) == 0 {
			return CloseNoStatus, ""
		}
		return int(binary.BigEndian.Uint16(p)), string(p[2:])
	}
	t.Fatal("no close frame")
	return 0, ""
}

// expectEOF checks that the server closes the TCP connection.
func (rc *rawConn) expectEOF(t testing.TB) {
	t.Helper()
	for range 1000 {
		_, err := rc.br.ReadByte()
		if err == nil {
			continue
		}
		if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "reset") {
			t.Fatalf("read: %v, want EOF", err)
		}
		return
	}
	t.Fatal("server kept sending")
}

// closeCode extracts the close code gorilla saw.
func closeCode(t testing.TB, err error) (int, string) {
	t.Helper()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a close", err)
	}
	return ce.Code, ce.Text
}

// readUntilClose reads with gorilla until the connection closes.
func readUntilClose(t testing.TB, c *websocket.Conn) (int, string) {
	t.Helper()
	for range 10000 {
		if _, _, err := c.ReadMessage(); err != nil {
			return closeCode(t, err)
		}
	}
	t.Fatal("no close")
	return 0, ""
}

// eventually polls cond until it holds or waitFor passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
