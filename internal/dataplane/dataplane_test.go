package dataplane_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	mtypes "github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/internal/gwtest"
)

var (
	awsID   = regexp.MustCompile(`^[A-Za-z0-9_-]{15}=$`)
	clfTime = regexp.MustCompile(`^\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000$`)
)

// TestSeedEvents drives the seed's API with a real WebSocket client and
// checks every event field AWS fills, in the order the client produces them.
func TestSeedEvents(t *testing.T) {
	be := newBackend(t)
	spec := seedSpec(be)
	spec.stageVars = map[string]string{"table": "chat"}
	e := deploy(t, spec, be)

	before := time.Now().Add(-time.Second).UnixMilli()
	ws, _ := e.dial(t, "name=ann&room=a&room=b", http.Header{"User-Agent": {"wsgate-test/1"}, "X-Custom": {"v1"}, "Sec-WebSocket-Protocol": {"chat"}})
	evs := be.waitFor(t, "CONNECT", func(evs []events.APIGatewayWebsocketProxyRequest) bool { return countType(evs, "CONNECT") == 1 })
	conn := evs[0]
	rc := conn.RequestContext
	connID := rc.ConnectionID
	if !awsID.MatchString(connID) || !awsID.MatchString(rc.RequestID) || rc.RequestID != rc.ExtendedRequestID {
		t.Errorf("ids: connectionId %q requestId %q extendedRequestId %q", connID, rc.RequestID, rc.ExtendedRequestID)
	}
	if rc.RouteKey != "$connect" || rc.EventType != "CONNECT" || rc.MessageDirection != "IN" || rc.Stage != "prod" || rc.APIID != e.api {
		t.Errorf("CONNECT requestContext = %+v", rc)
	}
	if rc.DomainName != e.gw.Host() || rc.Identity.SourceIP != "127.0.0.1" || rc.Identity.UserAgent != "wsgate-test/1" {
		t.Errorf("domainName %q identity %+v", rc.DomainName, rc.Identity)
	}
	if rc.ConnectedAt < before || rc.RequestTimeEpoch < rc.ConnectedAt || !clfTime.MatchString(rc.RequestTime) {
		t.Errorf("times: connectedAt %d requestTimeEpoch %d requestTime %q", rc.ConnectedAt, rc.RequestTimeEpoch, rc.RequestTime)
	}
	if rc.MessageID != nil || rc.DisconnectStatusCode != 0 || rc.DisconnectReason != nil {
		t.Errorf("CONNECT carries MESSAGE/DISCONNECT members: %+v", rc)
	}
	h := conn.Headers
	for k, want := range map[string]string{"Host": e.gw.Host(), "X-Custom": "v1", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Protocol": "chat", "X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "http"} {
		if h[k] != want {
			t.Errorf("headers[%q] = %q, want %q", k, h[k], want)
		}
	}
	for _, k := range []string{"Sec-WebSocket-Key", "X-Amzn-Trace-Id", "X-Forwarded-Port"} {
		if h[k] == "" {
			t.Errorf("headers[%q] missing", k)
		}
	}
	if _, ok := h["Connection"]; ok {
		t.Error("the $connect event carries the Connection header")
	}
	if len(conn.MultiValueHeaders["X-Custom"]) != 1 || conn.QueryStringParameters["name"] != "ann" || conn.QueryStringParameters["room"] != "b" ||
		strings.Join(conn.MultiValueQueryStringParameters["room"], ",") != "a,b" {
		t.Errorf("multiValueHeaders %v query %v multi %v", conn.MultiValueHeaders, conn.QueryStringParameters, conn.MultiValueQueryStringParameters)
	}
	if conn.StageVariables["table"] != "chat" || conn.IsBase64Encoded || conn.Body != "" {
		t.Errorf("stageVariables %v isBase64Encoded %v body %q", conn.StageVariables, conn.IsBase64Encoded, conn.Body)
	}

	// MESSAGE: a JSON message with an unknown action goes to $default.
	msg := "{\r\n\t\"action\": \"nope\", \"a\": 1\r\n}"
	if err := ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	evs = be.waitFor(t, "MESSAGE", func(evs []events.APIGatewayWebsocketProxyRequest) bool { return countType(evs, "MESSAGE") == 1 })
	m := evs[1]
	mc := m.RequestContext
	if mc.RouteKey != "$default" || mc.EventType != "MESSAGE" || mc.ConnectionID != connID || mc.ConnectedAt != rc.ConnectedAt || m.Body != msg || m.IsBase64Encoded {
		t.Errorf("MESSAGE = %+v body %q", mc, m.Body)
	}
	if id, _ := mc.MessageID.(string); !awsID.MatchString(id) || mc.RequestID != mc.ExtendedRequestID || mc.RequestID == rc.RequestID {
		t.Errorf("MESSAGE ids: messageId %v requestId %q", mc.MessageID, mc.RequestID)
	}
	if m.Headers != nil || m.MultiValueHeaders != nil || m.QueryStringParameters != nil {
		t.Errorf("MESSAGE carries headers or query: %+v", m)
	}
	if mc.Identity.SourceIP != "127.0.0.1" || mc.Identity.UserAgent != "wsgate-test/1" {
		t.Errorf("MESSAGE identity %+v", mc.Identity)
	}

	// DISCONNECT after the client closes with a code and reason.
	_ = ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4001, "bye"))
	evs = be.waitFor(t, "DISCONNECT", func(evs []events.APIGatewayWebsocketProxyRequest) bool { return countType(evs, "DISCONNECT") == 1 })
	d := evs[2]
	dc := d.RequestContext
	if dc.RouteKey != "$disconnect" || dc.EventType != "DISCONNECT" || dc.ConnectionID != connID || dc.DisconnectStatusCode != 4001 || dc.DisconnectReason == nil || *dc.DisconnectReason != "bye" {
		t.Errorf("DISCONNECT = %+v", dc)
	}
	wantHeaders := map[string]string{"Host": e.gw.Host(), "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
	if len(d.Headers) != len(wantHeaders) {
		t.Errorf("DISCONNECT headers = %v", d.Headers)
	}
	for k, v := range wantHeaders {
		if got, ok := d.Headers[k]; !ok || got != v || len(d.MultiValueHeaders[k]) != 1 {
			t.Errorf("DISCONNECT headers[%q] = %q (%v)", k, got, ok)
		}
	}
	if got := []string{evs[0].RequestContext.EventType, evs[1].RequestContext.EventType, evs[2].RequestContext.EventType}; strings.Join(got, ",") != "CONNECT,MESSAGE,DISCONNECT" {
		t.Errorf("event order %v", got)
	}
}

func TestDisconnectCodes(t *testing.T) {
	be := newBackend(t)
	e := deploy(t, seedSpec(be), be)

	// Close frame without a status code.
	ws, _ := e.dial(t, "", nil)
	_ = ws.WriteMessage(websocket.CloseMessage, []byte{})
	evs := be.waitFor(t, "DISCONNECT 1005", func(evs []events.APIGatewayWebsocketProxyRequest) bool { return countType(evs, "DISCONNECT") == 1 })
	d := evs[len(evs)-1].RequestContext
	if d.DisconnectStatusCode != 1005 || *d.DisconnectReason != "Client-side close frame status not set" {
		t.Errorf("1005 disconnect = %d %q", d.DisconnectStatusCode, *d.DisconnectReason)
	}
	// TCP drop without a close frame.
	ws2, _ := e.dial(t, "", nil)
	ws2.UnderlyingConn().Close()
	evs = be.waitFor(t, "DISCONNECT 1006", func(evs []events.APIGatewayWebsocketProxyRequest) bool { return countType(evs, "DISCONNECT") == 2 })
	if d := evs[len(evs)-1].RequestContext; d.DisconnectStatusCode != 1006 {
		t.Errorf("dropped connection disconnect = %d %q", d.DisconnectStatusCode, *d.DisconnectReason)
	}
}

func TestConnectRejection(t *testing.T) {
	be := newBackend(t)
	spec := seedSpec(be)
	slow := be.proxy("/slow")
	slow.TimeoutInMillis = aws.Int32(200)
	spec.integrations["connect"] = slow
	e := deploy(t, spec, be)

	for _, tc := range []struct {
		name   string
		query  string
		status int
	}{
		{name: "401", query: "status=401", status: 401},
		{name: "403", query: "status=403", status: 403},
		{name: "500", query: "status=500", status: 500},
		{name: "malformed result", query: "status=bad", status: 502},
		{name: "function error", query: "status=httperr", status: 502},
		{name: "backend timeout", query: "status=slow", status: 502},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			be.setAnswer(func(path string, ev events.APIGatewayWebsocketProxyRequest) (int, string) {
				switch s := ev.QueryStringParameters["status"]; s {
				case "bad":
					return 200, `"not a proxy result"`
				case "httperr":
					return 500, `{"errorMessage":"boom"}`
				case "slow":
					select {
					case <-release:
					case <-time.After(5 * time.Second):
					}
					return 200, `{"statusCode":200}`
				default:
					return 200, `{"statusCode":` + s + `}`
				}
			})
			_, resp, err := websocket.DefaultDialer.Dial(e.url(tc.query), nil)
			if err == nil {
				t.Fatal("handshake succeeded")
			}
			if resp == nil || resp.StatusCode != tc.status {
				t.Fatalf("status = %v, want %d (%v)", resp, tc.status, err)
			}
		})
	}
	// No $disconnect for rejected connections.
	if n := countType(be.events(), "DISCONNECT"); n != 0 {
		t.Errorf("%d DISCONNECT events for rejected connections", n)
	}

	// Subprotocol: only Sec-WebSocket-Protocol from the integration's
	// headers reaches the client.
	be.setAnswer(func(string, events.APIGatewayWebsocketProxyRequest) (int, string) {
		return 200, `{"statusCode":200,"headers":{"Sec-WebSocket-Protocol":"v2.chat","X-Other":"no"},"body":"dropped"}`
	})
	d := websocket.Dialer{Subprotocols: []string{"v1.chat", "v2.chat"}}
	ws, resp, err := d.Dial(e.url(""), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if ws.Subprotocol() != "v2.chat" || resp.Header.Get("X-Other") != "" {
		t.Errorf("subprotocol %q, X-Other %q", ws.Subprotocol(), resp.Header.Get("X-Other"))
	}
}

func TestRoutingAndFrames(t *testing.T) {
	be := newBackend(t)
	e := deploy(t, seedSpec(be), be)
	be.setAnswer(func(path string, ev events.APIGatewayWebsocketProxyRequest) (int, string) {
		switch path {
		case "/echo":
			b, _ := json.Marshal(map[string]any{"statusCode": 500, "body": "echo:" + ev.Body})
			return 200, string(b)
		case "/default":
			if strings.Contains(ev.Body, "fail") {
				return 200, `{"errorMessage":"x"}` // not a proxy result: statusCode missing is fine, but…
			}
		}
		return 200, `{"statusCode":200,"body":"ignored on one-way routes"}`
	})
	ws, _ := e.dial(t, "", nil)
	connID := be.waitFor(t, "CONNECT", func(evs []events.APIGatewayWebsocketProxyRequest) bool { return countType(evs, "CONNECT") == 1 })[0].RequestContext.ConnectionID

	// Two-way route: the body comes back whatever the statusCode.
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"action":"echo","x":1}`))
	if got := read(t, ws); got != `echo:{"action":"echo","x":1}` {
		t.Fatalf("two-way answer %q", got)
	}
	// Non-JSON goes to $default (one-way: nothing comes back). A route
	// answer proves ordering: the next two-way reply is the first frame.
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`hi`))
	be.waitFor(t, "non-JSON to $default", func(evs []events.APIGatewayWebsocketProxyRequest) bool {
		return len(evs) > 0 && evs[len(evs)-1].Body == "hi" && evs[len(evs)-1].RequestContext.RouteKey == "$default"
	})

	// Integration failure: the Internal server error frame, connection open.
	be.setAnswer(func(path string, ev events.APIGatewayWebsocketProxyRequest) (int, string) { return 502, `oops` })
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"action":"nope"}`))
	frame := read(t, ws)
	re := regexp.MustCompile(`^\{"message": "Internal server error", "connectionId":"` + regexp.QuoteMeta(connID) + `", "requestId":"[A-Za-z0-9_-]{15}="\}$`)
	if !re.MatchString(frame) {
		t.Fatalf("error frame %q", frame)
	}
	// A two-way answer larger than the message limit is not sent.
	be.setAnswer(func(path string, ev events.APIGatewayWebsocketProxyRequest) (int, string) {
		return 200, `{"statusCode":200,"body":"` + strings.Repeat("x", 129<<10) + `"}`
	})
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"action":"echo"}`))
	if got := read(t, ws); !strings.HasPrefix(got, `{"message": "Internal server error"`) {
		t.Fatalf("oversized answer: %.80q", got)
	}
	be.setAnswer(func(path string, ev events.APIGatewayWebsocketProxyRequest) (int, string) {
		return 200, `{"statusCode":200,"body":"still here"}`
	})
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"action":"echo"}`))
	if got := read(t, ws); got != "still here" {
		t.Fatalf("after an error frame: %q", got)
	}
}

func TestForbiddenWithoutDefault(t *testing.T) {
	be := newBackend(t)
	spec := seedSpec(be)
	spec.routes = spec.routes[:2] // $connect and $disconnect only
	spec.routes = append(spec.routes, routeSpec{key: "join", integration: "echo", twoWay: true})
	e := deploy(t, spec, be)
	ws, _ := e.dial(t, "", nil)
	for _, msg := range []string{`{"action":"leave"}`, `hi`, `{"action":`} {
		_ = ws.WriteMessage(websocket.TextMessage, []byte(msg))
		if got := read(t, ws); !strings.HasPrefix(got, `{"message": "Forbidden", "connectionId":"`) {
			t.Fatalf("%q: got %q", msg, got)
		}
	}
	be.setAnswer(func(string, events.APIGatewayWebsocketProxyRequest) (int, string) {
		return 200, `{"statusCode":200,"body":"joined"}`
	})
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"action":"join"}`))
	if got := read(t, ws); got != "joined" {
		t.Fatalf("join: %q", got)
	}

	// The CloudWatch-named metrics counted all of it.
	resp, err := http.Get(e.gw.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	api := `api_id="` + e.api + `"`
	for _, want := range []string{
		`wsgate_connect_count_total{` + api + `,stage="prod"} 1`,
		`wsgate_connections{` + api + `,stage="prod"} 1`,
		`wsgate_message_count_total{` + api + `,direction="in",stage="prod"} 4`,
		`wsgate_message_count_total{` + api + `,direction="out",stage="prod"} 1`,
		`wsgate_client_error_total{` + api + `,reason="forbidden",stage="prod"} 3`,
		`wsgate_integration_latency_seconds_count{` + api + `,stage="prod"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestHostForm(t *testing.T) {
	be := newBackend(t)
	e := deploy(t, seedSpec(be), be)
	u := "ws://" + e.gw.Host() + "/prod?x=1"
	ws, _, err := websocket.DefaultDialer.Dial(u, http.Header{"Host": {e.api + ".execute-api.localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ev := be.waitFor(t, "CONNECT", func(evs []events.APIGatewayWebsocketProxyRequest) bool { return countType(evs, "CONNECT") == 1 })[0]
	if ev.RequestContext.DomainName != e.api+".execute-api.localhost" || ev.RequestContext.APIID != e.api {
		t.Errorf("host form: %+v", ev.RequestContext)
	}
	// Unknown stage and unknown API are rejected before any upgrade.
	for _, bad := range []string{"ws://" + e.gw.Host() + "/" + e.api + "/nope", "ws://" + e.gw.Host() + "/zzzzzzzzzz/prod"} {
		_, resp, err := websocket.DefaultDialer.Dial(bad, nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: err %v resp %v", bad, err, resp)
		}
	}
}

// TestManagementAPI uses the real apigatewaymanagementapi client.
func TestManagementAPI(t *testing.T) {
	be := newBackend(t)
	e := deploy(t, seedSpec(be), be)
	ws, _ := e.dial(t, "", http.Header{"User-Agent": {"mgmt-test"}})
	// The CONNECT event was recorded before the 101: post at once, the way
	// a backend reacting to $connect would. The connection must already be
	// reachable.
	connID := be.events()[0].RequestContext.ConnectionID
	m := gwtest.Management(e.gw.URL, e.api, "prod")
	x := ctx(t)
	if _, err := m.PostToConnection(x, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(connID), Data: []byte("first")}); err != nil {
		t.Fatalf("post right after the handshake: %v", err)
	}
	if got := read(t, ws); got != "first" {
		t.Fatalf("first post %q", got)
	}

	if _, err := m.PostToConnection(x, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(connID), Data: []byte(`{"hello":1}`)}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, ws); got != `{"hello":1}` {
		t.Fatalf("posted %q", got)
	}
	// Non-UTF-8 data goes out as a binary frame.
	if _, err := m.PostToConnection(x, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(connID), Data: []byte{0xff, 0x00}}); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if mt, b, err := ws.ReadMessage(); err != nil || mt != websocket.BinaryMessage || string(b) != "\xff\x00" {
		t.Fatalf("binary post: %v %v %q", err, mt, b)
	}
	info, err := m.GetConnection(x, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(connID)})
	if err != nil {
		t.Fatal(err)
	}
	if info.ConnectedAt == nil || info.LastActiveAt == nil || aws.ToString(info.Identity.SourceIp) != "127.0.0.1" || aws.ToString(info.Identity.UserAgent) != "mgmt-test" {
		t.Errorf("GetConnection = %+v %+v", info, info.Identity)
	}
	// Too large: 413.
	_, err = m.PostToConnection(x, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(connID), Data: make([]byte, 128<<10+1)})
	var tooLarge *mtypes.PayloadTooLargeException
	if !errors.As(err, &tooLarge) {
		t.Errorf("oversized post: %v", err)
	}
	// Delete: close 1000 and $disconnect.
	if _, err := m.DeleteConnection(x, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(connID)}); err != nil {
		t.Fatal(err)
	}
	if code, _ := readClose(t, ws); code != 1000 {
		t.Errorf("close code %d, want 1000", code)
	}
	evs := be.waitFor(t, "DISCONNECT", func(evs []events.APIGatewayWebsocketProxyRequest) bool { return countType(evs, "DISCONNECT") == 1 })
	if d := evs[len(evs)-1].RequestContext; d.DisconnectStatusCode != 1000 {
		t.Errorf("disconnect after DELETE: %d %q", d.DisconnectStatusCode, *d.DisconnectReason)
	}
	// Gone afterwards, and for ids that never existed.
	var gone *mtypes.GoneException
	_, err = m.PostToConnection(x, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(connID), Data: []byte("x")})
	if !errors.As(err, &gone) {
		t.Errorf("post after delete: %v", err)
	}
	_, err = m.GetConnection(x, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String("R1kmxc2VNjMCFIA=")})
	if !errors.As(err, &gone) {
		t.Errorf("get of an unknown id: %v", err)
	}
	_, err = m.DeleteConnection(x, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(connID)})
	if !errors.As(err, &gone) {
		t.Errorf("delete after delete: %v", err)
	}
	// A malformed id is a 400.
	resp, err := http.Post(e.gw.URL+"/"+e.api+"/prod/@connections/nope", "text/plain", strings.NewReader("x"))
	if err == nil {
		resp.Body.Close()
	}
	if err != nil || resp.StatusCode != 403 { // unsigned: rejected before the id is looked at
		t.Errorf("unsigned post: %v %v", err, resp)
	}
}
