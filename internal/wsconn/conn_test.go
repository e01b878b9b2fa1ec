package wsconn

import (
	"bytes"
	"compress/flate"
	"errors"
	"github.com/lesismal/nbio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"
)

func TestConnSize(t *testing.T) {
	t.Logf("unsafe.Sizeof(Conn{}) = %d bytes, decoder %d", unsafe.Sizeof(Conn{}), unsafe.Sizeof(decoder{}))
	if s := unsafe.Sizeof(Conn{}); s > 192 {
		t.Errorf("Conn is %d bytes; keep it within a 192-byte size class", s)
	}
}

func TestEcho(t *testing.T) {
	for _, tc := range []struct {
		name string
		tls  bool
	}{
		{name: "epoll", tls: false},
		{name: "tls fallback", tls: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, serverConfig{tls: tc.tls})
			cl, _ := ts.dial(t, nil)
			for _, m := range []struct {
				typ  int
				data string
			}{
				{websocket.TextMessage, "hello"},
				{websocket.BinaryMessage, "\x00\x01\x02"},
				{websocket.TextMessage, ""},
				{websocket.TextMessage, strings.Repeat("é", 10000)},
			} {
				if err := cl.WriteMessage(m.typ, []byte(m.data)); err != nil {
					t.Fatal(err)
				}
				typ, data, err := cl.ReadMessage()
				if err != nil {
					t.Fatal(err)
				}
				if typ != m.typ || string(data) != m.data {
					t.Fatalf("echo = (%d, %d bytes), want (%d, %d bytes)", typ, len(data), m.typ, len(m.data))
				}
			}
			if n := ts.e.Len(); n != 1 {
				t.Fatalf("Len = %d, want 1", n)
			}
			// Everything written, nothing pending.
			c := ts.conn(t)
			eventually(t, "queue drained", func() bool { return c.Pending() == 0 })
		})
	}
}

func TestUpgradeOptions(t *testing.T) {
	type session struct{ id string }
	ts := startServer(t, serverConfig{upgrade: func(r *http.Request) UpgradeOptions {
		return UpgradeOptions{
			Subprotocol: "chat",
			Session:     &session{id: "abc"},
			ExtraHeader: http.Header{"X-Conn-Id": {"abc"}, "Upgrade": {"evil"}, "X-Bad": {"a\r\nb"}},
		}
	}})
	before := time.Now()
	cl, resp := ts.dial(t, &websocket.Dialer{Subprotocols: []string{"chat", "other"}})
	after := time.Now()
	if cl.Subprotocol() != "chat" || resp.Header.Get("Sec-Websocket-Protocol") != "chat" {
		t.Fatalf("subprotocol %q", cl.Subprotocol())
	}
	if resp.Header.Get("X-Conn-Id") != "abc" || resp.Header.Get("Upgrade") != "websocket" || resp.Header.Get("X-Bad") != "" {
		t.Fatalf("response headers %v", resp.Header)
	}
	if resp.Header.Get("Sec-Websocket-Extensions") != "" {
		t.Fatal("extension negotiated with Compression off")
	}
	c := ts.conn(t)
	if s, ok := c.Session().(*session); !ok || s.id != "abc" {
		t.Fatalf("Session() = %v", c.Session())
	}
	if c.RemoteAddr().String() != cl.LocalAddr().String() {
		t.Fatalf("RemoteAddr %v, client %v", c.RemoteAddr(), cl.LocalAddr())
	}
	if at := c.ConnectedAt(); at.Before(before.Add(-time.Millisecond)) || at.After(after) {
		t.Fatalf("ConnectedAt %v not within [%v, %v]", at, before, after)
	}
	first := c.LastActive()
	if err := cl.WriteMessage(websocket.TextMessage, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cl.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	if !c.LastActive().After(first) {
		t.Fatalf("LastActive did not move: %v then %v", first, c.LastActive())
	}
}

// TestSessionBeforeFirstMessage checks that a message sent right after the
// handshake reaches a handler that sees the session and the Conn Upgrade
// returned.
func TestSessionBeforeFirstMessage(t *testing.T) {
	ts := startServer(t, serverConfig{upgrade: func(r *http.Request) UpgradeOptions {
		return UpgradeOptions{Session: r.URL.Query().Get("id")}
	}})
	got := make(chan string, 1)
	ts.h.onMsg = func(c *Conn, op Opcode, data []byte) { got <- c.Session().(string) + ":" + string(data) }
	cl, _, err := websocket.DefaultDialer.Dial(ts.url()+"?id=s1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.WriteMessage(websocket.TextMessage, []byte("first")); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "s1:first" {
			t.Fatalf("handler saw %q", s)
		}
	case <-time.After(waitFor):
		t.Fatal("no message")
	}
}

func TestCheckUpgrade(t *testing.T) {
	valid := func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Connection", "keep-alive, Upgrade")
		r.Header.Set("Upgrade", "WebSocket")
		r.Header.Set("Sec-WebSocket-Version", "13")
		r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		return r
	}
	for _, tc := range []struct {
		name   string
		mutate func(r *http.Request)
		status int // 0: valid
	}{
		{name: "valid", mutate: func(*http.Request) {}, status: 0},
		{name: "post", mutate: func(r *http.Request) { r.Method = http.MethodPost }, status: 400},
		{name: "http/1.0", mutate: func(r *http.Request) { r.ProtoMinor = 0 }, status: 400},
		{name: "no connection upgrade", mutate: func(r *http.Request) { r.Header.Set("Connection", "keep-alive") }, status: 400},
		{name: "no upgrade header", mutate: func(r *http.Request) { r.Header.Del("Upgrade") }, status: 400},
		{name: "upgrade to h2c", mutate: func(r *http.Request) { r.Header.Set("Upgrade", "h2c") }, status: 400},
		{name: "version 8", mutate: func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "8") }, status: 426},
		{name: "no version", mutate: func(r *http.Request) { r.Header.Del("Sec-WebSocket-Version") }, status: 426},
		{name: "no key", mutate: func(r *http.Request) { r.Header.Del("Sec-WebSocket-Key") }, status: 400},
		{name: "short key", mutate: func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "c2hvcnQ=") }, status: 400},
		{name: "key not base64", mutate: func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "!!!!!!!!!!!!!!!!!!!!!!!!") }, status: 400},
		{name: "two keys", mutate: func(r *http.Request) { r.Header.Add("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==") }, status: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := valid()
			tc.mutate(r)
			err := CheckUpgrade(r)
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("CheckUpgrade: %v", err)
				}
				return
			}
			var he *HandshakeError
			if !errors.As(err, &he) || he.Status != tc.status {
				t.Fatalf("err = %v, want status %d", err, tc.status)
			}
			if tc.status == 426 && he.Header.Get("Sec-WebSocket-Version") != "13" {
				t.Fatalf("426 without Sec-WebSocket-Version: %v", he.Header)
			}
			w := httptest.NewRecorder()
			he.WriteResponse(w)
			if w.Code != tc.status {
				t.Fatalf("WriteResponse wrote %d", w.Code)
			}
		})
	}
}

// TestUpgradeRejectsBadRequest checks that Upgrade answers an invalid
// handshake itself and registers nothing.
func TestUpgradeRejectsBadRequest(t *testing.T) {
	ts := startServer(t, serverConfig{})
	resp, err := http.Get("http://" + ts.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if ts.e.Len() != 0 {
		t.Fatal("conn registered")
	}
}

// TestDataBeforeHandshake: a client may not send frames before the 101.
func TestDataBeforeHandshake(t *testing.T) {
	ts := startServer(t, serverConfig{})
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(waitFor))
	req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := nc.Write(append([]byte(req), text("early")...)); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(io.LimitReader(nc, 4096))
	if !strings.HasPrefix(string(b), "HTTP/1.1 400") {
		t.Fatalf("response %q", b)
	}
}

func TestFragmentedMessages(t *testing.T) {
	ts := startServer(t, serverConfig{})
	// gorilla cuts a message into frames of its write buffer's size.
	cl, _ := ts.dial(t, &websocket.Dialer{WriteBufferSize: 1024})
	msg := bytes.Repeat([]byte("0123456789"), 10000) // 100 kB, ~100 frames
	if err := cl.WriteMessage(websocket.TextMessage, msg); err != nil {
		t.Fatal(err)
	}
	_, got, err := cl.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo of %d bytes differs (%d bytes)", len(msg), len(got))
	}

	// By hand, with a ping between fragments.
	rc, _ := ts.dialRaw(t)
	in := cat(
		cframe(frameOpts{op: ws.OpText}, []byte("hel")),
		cframe(frameOpts{fin: true, op: ws.OpPing}, []byte("p1")),
		cframe(frameOpts{fin: true, op: ws.OpContinuation}, []byte("lo")),
	)
	if _, err := rc.Write(in); err != nil {
		t.Fatal(err)
	}
	h, p := rc.readFrame(t)
	if h.OpCode != ws.OpPong || string(p) != "p1" {
		t.Fatalf("got %v %q, want pong p1", h.OpCode, p)
	}
	h, p = rc.readFrame(t)
	if h.OpCode != ws.OpText || !h.Fin || string(p) != "hello" {
		t.Fatalf("got %v %q, want text hello", h.OpCode, p)
	}
}

// TestOutFrameSize checks that outgoing messages are fragmented as told.
func TestOutFrameSize(t *testing.T) {
	ts := startServer(t, serverConfig{opts: Options{OutFrameSize: 100}})
	rc, _ := ts.dialRaw(t)
	c := ts.conn(t)
	msg := strings.Repeat("x", 250)
	if err := c.Send(Text, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	var got []byte
	for i, want := range []struct {
		op  ws.OpCode
		fin bool
		n   int
	}{{ws.OpText, false, 100}, {ws.OpContinuation, false, 100}, {ws.OpContinuation, true, 50}} {
		h, p := rc.readFrame(t)
		if h.OpCode != want.op || h.Fin != want.fin || len(p) != want.n {
			t.Fatalf("frame %d: op %v fin %v len %d, want %v %v %d", i, h.OpCode, h.Fin, len(p), want.op, want.fin, want.n)
		}
		got = append(got, p...)
	}
	if string(got) != msg {
		t.Fatal("reassembled message differs")
	}
}

// TestLimitsAndProtocolErrors covers the closes the server initiates for
// what a client sends.
func TestLimitsAndProtocolErrors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       Options
		dialer     *websocket.Dialer
		send       func(t *testing.T, cl *websocket.Conn)
		wantCode   int
		wantReason string
	}{
		{
			name:   "33 KiB frame",
			dialer: &websocket.Dialer{WriteBufferSize: 64 << 10},
			send: func(t *testing.T, cl *websocket.Conn) {
				_ = cl.WriteMessage(websocket.TextMessage, bytes.Repeat([]byte("a"), 33<<10))
			},
			wantCode: 1009, wantReason: "frame too big",
		},
		{
			name:   "129 KiB fragmented message",
			dialer: &websocket.Dialer{WriteBufferSize: 16 << 10},
			send: func(t *testing.T, cl *websocket.Conn) {
				_ = cl.WriteMessage(websocket.TextMessage, bytes.Repeat([]byte("a"), 129<<10))
			},
			wantCode: 1009, wantReason: "message too big",
		},
		{
			name: "binary rejected",
			opts: Options{RejectBinary: true},
			send: func(t *testing.T, cl *websocket.Conn) {
				_ = cl.WriteMessage(websocket.BinaryMessage, []byte{1, 2})
			},
			wantCode: 1003, wantReason: "binary messages are not supported",
		},
		{
			name: "invalid UTF-8",
			send: func(t *testing.T, cl *websocket.Conn) {
				_ = cl.WriteMessage(websocket.TextMessage, []byte{'a', 0xff, 'b'})
			},
			wantCode: 1007, wantReason: "invalid UTF-8 in text message",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, serverConfig{opts: tc.opts})
			cl, _ := ts.dial(t, tc.dialer)
			tc.send(t, cl)
			code, reason := readUntilClose(t, cl)
			if code != tc.wantCode || reason != tc.wantReason {
				t.Fatalf("client saw close (%d, %q), want (%d, %q)", code, reason, tc.wantCode, tc.wantReason)
			}
			ts.h.expectClose(t, tc.wantCode, tc.wantReason)
		})
	}
}

func TestUnmaskedFrame(t *testing.T) {
	ts := startServer(t, serverConfig{})
	rc, _ := ts.dialRaw(t)
	if _, err := rc.Write(cframe(frameOpts{fin: true, op: ws.OpText, unmasked: true}, []byte("hi"))); err != nil {
		t.Fatal(err)
	}
	if code, _ := rc.readClose(t); code != 1002 {
		t.Fatalf("close code %d, want 1002", code)
	}
	rc.Close() // the server waits for the client to go away
	if ev := ts.h.waitClose(t); ev.code != 1002 {
		t.Fatalf("OnClose(%d)", ev.code)
	}
}

func TestPingPong(t *testing.T) {
	ts := startServer(t, serverConfig{})
	cl, _ := ts.dial(t, nil)
	pongs := make(chan string, 1)
	cl.SetPongHandler(func(s string) error { pongs <- s; return nil })
	go func() {
		for {
			if _, _, err := cl.ReadMessage(); err != nil {
				return
			}
		}
	}()
	if err := cl.WriteControl(websocket.PingMessage, []byte("abc"), time.Now().Add(waitFor)); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-pongs:
		if s != "abc" {
			t.Fatalf("pong %q", s)
		}
	case <-time.After(waitFor):
		t.Fatal("no pong")
	}
}

func TestClientCloses(t *testing.T) {
	t.Run("code and reason", func(t *testing.T) {
		ts := startServer(t, serverConfig{})
		cl, _ := ts.dial(t, nil)
		if err := cl.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4000, "bye")); err != nil {
			t.Fatal(err)
		}
		code, _ := readUntilClose(t, cl)
		if code != 4000 {
			t.Fatalf("echoed close code %d", code)
		}
		ts.h.expectClose(t, 4000, "bye")
	})
	t.Run("no payload", func(t *testing.T) {
		ts := startServer(t, serverConfig{})
		rc, _ := ts.dialRaw(t)
		if _, err := rc.Write(cframe(frameOpts{fin: true, op: ws.OpClose}, nil)); err != nil {
			t.Fatal(err)
		}
		if code, _ := rc.readClose(t); code != CloseNoStatus {
			t.Fatalf("echo carried code %d, want none", code)
		}
		rc.expectEOF(t)
		ts.h.expectClose(t, CloseNoStatus, "")
	})
	t.Run("tcp drop", func(t *testing.T) {
		ts := startServer(t, serverConfig{})
		cl, _ := ts.dial(t, nil)
		cl.NetConn().Close()
		ts.h.expectClose(t, CloseAbnormal, "")
		eventually(t, "conn unregistered", func() bool { return ts.e.Len() == 0 })
	})
	t.Run("tcp drop on tls", func(t *testing.T) {
		ts := startServer(t, serverConfig{tls: true})
		cl, _ := ts.dial(t, nil)
		cl.NetConn().Close()
		ts.h.expectClose(t, CloseAbnormal, "")
	})
}

func TestServerClose(t *testing.T) {
	for _, tc := range []struct {
		name string
		tls  bool
	}{{name: "epoll"}, {name: "tls fallback", tls: true}} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, serverConfig{tls: tc.tls})
			cl, _ := ts.dial(t, nil)
			c := ts.conn(t)
			c.Close(1000, "x")
			c.Close(4001, "second call ignored")
			code, reason := readUntilClose(t, cl)
			if code != 1000 || reason != "x" {
				t.Fatalf("client saw (%d, %q)", code, reason)
			}
			ts.h.expectClose(t, 1000, "x")
			if err := c.Send(Text, []byte("late")); !errors.Is(err, ErrClosed) {
				t.Fatalf("Send after close: %v", err)
			}
		})
	}
}

// TestCloseTimeout: a peer that never answers our close frame is cut off.
func TestCloseTimeout(t *testing.T) {
	ts := startServer(t, serverConfig{opts: Options{CloseTimeout: 150 * time.Millisecond}})
	rc, _ := ts.dialRaw(t)
	c := ts.conn(t)
	start := time.Now()
	c.Close(4002, "go")
	if code, reason := rc.readClose(t); code != 4002 || reason != "go" {
		t.Fatalf("close frame (%d, %q)", code, reason)
	}
	rc.expectEOF(t)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("TCP closed after %v, before CloseTimeout", d)
	}
	ts.h.expectClose(t, 4002, "go")
}

func TestSlowReader(t *testing.T) {
	const queue = 256 << 10
	ts := startServer(t, serverConfig{opts: Options{SendQueueBytes: queue}})
	// Never reads. (Shrinking its SO_RCVBUF after connecting would stall
	// loopback TCP for seconds once it reads again, so the kernel buffers
	// absorb a few MB first.)
	rc, _ := ts.dialRaw(t)
	slow := ts.conn(t)
	msg := bytes.Repeat([]byte("z"), 16<<10)
	var err error
	sent := 0
	for range 100000 {
		if err = slow.Send(Text, msg); err != nil {
			break
		}
		sent++
	}
	if !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Send returned %v after %d messages, want ErrQueueFull", err, sent)
	}
	if p := slow.Pending(); p > queue || p == 0 {
		t.Fatalf("Pending = %d, want in (0, %d]", p, queue)
	}
	t.Logf("queue full after %d messages of 16 KiB (the rest sits in socket buffers); Pending = %d", sent, slow.Pending())

	// Other connections are unaffected.
	cl, _ := ts.dial(t, nil)
	if err := cl.WriteMessage(websocket.TextMessage, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	if _, got, err := cl.ReadMessage(); err != nil || string(got) != "still here" {
		t.Fatalf("echo %q, %v", got, err)
	}
	// The slow one is still open and drains once its client reads.
	go func() { _, _ = io.Copy(io.Discard, rc) }()
	eventually(t, "queue drained", func() bool { return slow.Pending() == 0 })
	if err := slow.Send(Text, []byte("ok")); err != nil {
		t.Fatalf("Send after drain: %v", err)
	}
}

func TestCompression(t *testing.T) {
	ts := startServer(t, serverConfig{opts: Options{Compression: true, CompressMinSize: 64}})
	cl, resp := ts.dial(t, &websocket.Dialer{EnableCompression: true})
	if ext := resp.Header.Get("Sec-Websocket-Extensions"); !strings.Contains(ext, "permessage-deflate") ||
		!strings.Contains(ext, "server_no_context_takeover") || !strings.Contains(ext, "client_no_context_takeover") {
		t.Fatalf("extensions %q", ext)
	}
	if !ts.conn(t).Compressed() {
		t.Fatal("server conn not compressed")
	}
	for _, msg := range []string{"short", strings.Repeat("compress me ", 5000)} {
		if err := cl.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, got, err := cl.ReadMessage()
		if err != nil || string(got) != msg {
			t.Fatalf("echo of %d bytes: %d bytes, %v", len(msg), len(got), err)
		}
	}

	// A message that inflates past MaxMessageSize is refused.
	if err := cl.WriteMessage(websocket.TextMessage, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if code, reason := readUntilClose(t, cl); code != 1009 || reason != "message too big" {
		t.Fatalf("client saw (%d, %q)", code, reason)
	}
	ts.h.expectClose(t, 1009, "message too big")
}

// TestCompressionOnTheWire checks with a raw client that the server sets
// RSV1 and compresses, and leaves short messages alone.
func TestCompressionOnTheWire(t *testing.T) {
	ts := startServer(t, serverConfig{opts: Options{Compression: true, CompressMinSize: 64}})
	rc, resp := ts.dialRaw(t, "Sec-WebSocket-Extensions: x-unknown, permessage-deflate; client_max_window_bits")
	if ext := resp.Header.Get("Sec-Websocket-Extensions"); ext != "permessage-deflate; server_no_context_takeover; client_no_context_takeover" {
		t.Fatalf("extensions %q", ext)
	}
	c := ts.conn(t)
	big := strings.Repeat("a", 4096)
	if err := c.Send(Text, []byte(big)); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(Text, []byte("tiny")); err != nil {
		t.Fatal(err)
	}
	h, p := rc.readFrame(t)
	if h.Rsv != rsv1 || len(p) >= len(big) {
		t.Fatalf("big message: rsv %d, %d bytes on the wire", h.Rsv, len(p))
	}
	got, err := io.ReadAll(flate.NewReader(io.MultiReader(bytes.NewReader(p), bytes.NewReader([]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff}))))
	if err != nil || string(got) != big {
		t.Fatalf("inflated %d bytes, %v", len(got), err)
	}
	h, p = rc.readFrame(t)
	if h.Rsv != 0 || string(p) != "tiny" {
		t.Fatalf("tiny message: rsv %d, %q", h.Rsv, p)
	}
	// And the client may compress too.
	if _, err := rc.Write(cframe(frameOpts{fin: true, op: ws.OpText, rsv: rsv1}, deflateRaw(t, []byte(big)))); err != nil {
		t.Fatal(err)
	}
	h, p = rc.readFrame(t)
	if h.Rsv != rsv1 || len(p) >= len(big) {
		t.Fatalf("echo not compressed: rsv %d, %d bytes", h.Rsv, len(p))
	}
}

// TestCloseOnExec: the descriptor the poller owns must not leak into child
// processes (the function host starts some), or closed client sockets
// would stay open in them.
func TestCloseOnExec(t *testing.T) {
	ts := startServer(t, serverConfig{})
	ts.dial(t, nil)
	c := ts.conn(t)
	nbc, ok := c.t.(*nbio.Conn)
	if !ok {
		t.Fatalf("transport is %T, not the epoll path", c.t)
	}
	flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(nbc.Hash()), syscall.F_GETFD, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	if flags&syscall.FD_CLOEXEC == 0 {
		t.Fatal("the connection's descriptor is inherited by child processes (FD_CLOEXEC not set)")
	}
}
