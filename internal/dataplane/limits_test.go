package dataplane_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	mtypes "github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/gwtest"
)

func lastDisconnect(t *testing.T, be *backend, n int) events.APIGatewayWebsocketProxyRequestContext {
	t.Helper()
	evs := be.waitFor(t, "DISCONNECT", func(evs []events.APIGatewayWebsocketProxyRequest) bool { return countType(evs, "DISCONNECT") >= n })
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].RequestContext.EventType == "DISCONNECT" {
			return evs[i].RequestContext
		}
	}
	t.Fatal("no DISCONNECT")
	return events.APIGatewayWebsocketProxyRequestContext{}
}

func TestSizeLimits(t *testing.T) {
	be := newBackend(t)
	spec := seedSpec(be)
	spec.cfg = config.Default()
	spec.cfg.Connections.Profile = "aws" // binary frames close with 1003
	e := deploy(t, spec, be)

	// One 33 KB frame: 1009, and $disconnect runs. (gorilla splits a
	// message into frames of its write buffer's size: make it large.)
	big := websocket.Dialer{WriteBufferSize: 256 << 10}
	ws, _, err := big.Dial(e.url(""), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_ = ws.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("a", 33<<10)))
	if code, _ := readClose(t, ws); code != websocket.CloseMessageTooBig {
		t.Errorf("33 KB frame: close %d, want 1009", code)
	}
	if d := lastDisconnect(t, be, 1); d.DisconnectStatusCode != 1009 {
		t.Errorf("disconnect code %d", d.DisconnectStatusCode)
	}

	// A 129 KB message in 4 KB frames (gorilla's default buffer): 1009.
	ws2, _ := e.dial(t, "", nil)
	w, err := ws2.NextWriter(websocket.TextMessage)
	if err != nil {
		t.Fatal(err)
	}
	chunk := []byte(strings.Repeat("b", 30<<10))
	for range 4 {
		_, _ = w.Write(chunk)
	}
	_, _ = w.Write(chunk[:9<<10+1])
	_ = w.Close()
	if code, _ := readClose(t, ws2); code != websocket.CloseMessageTooBig {
		t.Errorf("129 KB message: close %d, want 1009", code)
	}
	lastDisconnect(t, be, 2)

	// A 100 KB message in 4 KB frames is fine.
	be.setAnswer(func(path string, ev events.APIGatewayWebsocketProxyRequest) (int, string) {
		return 200, `{"statusCode":200,"body":"len=` + strconv.Itoa(len(ev.Body)) + `"}`
	})
	ws3, _ := e.dial(t, "", nil)
	w, _ = ws3.NextWriter(websocket.TextMessage)
	_, _ = w.Write([]byte(`{"action":"echo","p":"`))
	for range 4 {
		_, _ = w.Write([]byte(strings.Repeat("c", 25<<10)))
	}
	_, _ = w.Write([]byte(`"}`))
	_ = w.Close()
	if got := read(t, ws3); got != "len="+strconv.Itoa(22+100<<10+2) {
		t.Errorf("100 KB message: %q", got)
	}

	// Binary frames: the aws profile closes with 1003, as AWS does.
	_ = ws3.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3})
	if code, _ := readClose(t, ws3); code != websocket.CloseUnsupportedData {
		t.Errorf("binary frame: close %d, want 1003", code)
	}
}

func TestBinaryDefaultProfile(t *testing.T) {
	be := newBackend(t)
	spec := seedSpec(be)
	spec.cfg = config.Default() // profile wsgate: binary messages are delivered
	e := deploy(t, spec, be)
	ws, _ := e.dial(t, "", nil)
	_ = ws.WriteMessage(websocket.BinaryMessage, []byte{0, 1, 2, 0xff})
	evs := be.waitFor(t, "binary MESSAGE", func(evs []events.APIGatewayWebsocketProxyRequest) bool { return countType(evs, "MESSAGE") == 1 })
	m := evs[len(evs)-1]
	if !m.IsBase64Encoded || m.Body != "AAEC/w==" || m.RequestContext.RouteKey != "$default" {
		t.Errorf("binary message event: base64 %v body %q route %q", m.IsBase64Encoded, m.Body, m.RequestContext.RouteKey)
	}
}

func TestIdleAndMaxAge(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(c *config.Config)
	}{
		{name: "idle", set: func(c *config.Config) { c.Connections.IdleTimeout = 300 * time.Millisecond }},
		{name: "max age", set: func(c *config.Config) { c.Connections.MaxAge = 400 * time.Millisecond }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := newBackend(t)
			spec := seedSpec(be)
			spec.cfg = config.Default()
			tc.set(spec.cfg)
			e := deploy(t, spec, be)
			ws, _ := e.dial(t, "", nil)
			start := time.Now()
			if code, _ := readClose(t, ws); code != websocket.CloseGoingAway {
				t.Errorf("close %d, want 1001", code)
			}
			if time.Since(start) < 250*time.Millisecond {
				t.Errorf("closed after %v, before the timeout", time.Since(start))
			}
			if d := lastDisconnect(t, be, 1); d.DisconnectStatusCode != 1001 {
				t.Errorf("disconnect code %d", d.DisconnectStatusCode)
			}
		})
	}
}

// TestSlowClient: a client that stops reading fills its queue; posts get
// 429 while memory stays bounded and other clients are served.
func TestSlowClient(t *testing.T) {
	be := newBackend(t)
	spec := seedSpec(be)
	spec.cfg = config.Default()
	spec.cfg.Connections.SendQueueBytes = 256 << 10
	e := deploy(t, spec, be)
	slow, _ := e.dial(t, "", nil)
	_ = slow // never read from
	slowID := be.waitFor(t, "CONNECT", func(evs []events.APIGatewayWebsocketProxyRequest) bool { return countType(evs, "CONNECT") == 1 })[0].RequestContext.ConnectionID
	fast, _ := e.dial(t, "", nil)
	fastID := be.waitFor(t, "CONNECT", func(evs []events.APIGatewayWebsocketProxyRequest) bool { return countType(evs, "CONNECT") == 2 })[1].RequestContext.ConnectionID

	m := gwtest.Management(e.gw.URL, e.api, "prod")
	x := ctx(t)
	data := []byte(strings.Repeat("x", 64<<10))
	var limited bool
	for i := 0; i < 2000 && !limited; i++ {
		_, err := m.PostToConnection(x, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(slowID), Data: data})
		var le *mtypes.LimitExceededException
		switch {
		case errors.As(err, &le):
			limited = true
		case err != nil:
			t.Fatalf("post %d: %v", i, err)
		}
	}
	if !limited {
		t.Fatal("the slow client's queue never filled (no 429 after 2000 posts of 64 KB)")
	}
	// The other client still gets its messages.
	if _, err := m.PostToConnection(x, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(fastID), Data: []byte("hi")}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, fast); got != "hi" {
		t.Fatalf("fast client got %q", got)
	}
	resp, err := http.Get(e.gw.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", err, resp)
	}
	resp.Body.Close()
}

// TestShutdownRunsDisconnect: stopping the gateway closes connections with
// 1001 and runs $disconnect for each.
func TestShutdownRunsDisconnect(t *testing.T) {
	be := newBackend(t)
	e := deploy(t, seedSpec(be), be)
	// $disconnect handlers can still call @connections while the gateway
	// drains (to tell others who left).
	var callbacks atomic.Int32
	m := gwtest.Management(e.gw.URL, e.api, "prod")
	be.setAnswer(func(path string, ev events.APIGatewayWebsocketProxyRequest) (int, string) {
		if path == "/disconnect" {
			_, err := m.GetConnection(context.Background(), &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(ev.RequestContext.ConnectionID)})
			var gone *mtypes.GoneException
			if errors.As(err, &gone) {
				callbacks.Add(1) // the gateway answered: the connection is gone
			}
		}
		return 200, `{"statusCode":200}`
	})
	var conns []*websocket.Conn
	for range 3 {
		ws, _ := e.dial(t, "", nil)
		conns = append(conns, ws)
	}
	be.waitFor(t, "3 CONNECT", func(evs []events.APIGatewayWebsocketProxyRequest) bool { return countType(evs, "CONNECT") == 3 })
	done := make(chan struct{})
	go func() {
		e.gw.Stop(t)
		close(done)
	}()
	for _, ws := range conns {
		if code, _ := readClose(t, ws); code != websocket.CloseGoingAway {
			t.Errorf("close %d, want 1001", code)
		}
	}
	<-done
	if n := countType(be.events(), "DISCONNECT"); n != 3 {
		t.Errorf("%d DISCONNECT events after shutdown, want 3", n)
	}
	if n := callbacks.Load(); n != 3 {
		t.Errorf("%d of 3 $disconnect handlers reached @connections during shutdown", n)
	}
}
