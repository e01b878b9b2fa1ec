package dataplane_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/gwtest"
	"github.com/wsgate/wsgate/internal/hub"
)

// backend is a real HTTP server standing in for Lambda functions: AWS_PROXY
// integrations whose integrationUri is its URL receive the proxy event as a
// POST body and answer with a proxy result.
type backend struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []events.APIGatewayWebsocketProxyRequest
	raw [][]byte
	// answer decides the proxy result per route path (/connect, /message…).
	answer func(path string, ev events.APIGatewayWebsocketProxyRequest) (status int, body string)
	ch     chan struct{}
}

func newBackend(t *testing.T) *backend {
	b := &backend{ch: make(chan struct{}, 1024)}
	b.answer = func(string, events.APIGatewayWebsocketProxyRequest) (int, string) {
		return 200, `{"statusCode":200}`
	}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var ev events.APIGatewayWebsocketProxyRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Errorf("backend: event does not decode into aws-lambda-go's type: %v\n%s", err, raw)
		}
		b.mu.Lock()
		b.got = append(b.got, ev)
		b.raw = append(b.raw, raw)
		answer := b.answer
		b.mu.Unlock()
		status, body := answer(r.URL.Path, ev)
		select {
		case b.ch <- struct{}{}:
		default:
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) setAnswer(f func(path string, ev events.APIGatewayWebsocketProxyRequest) (int, string)) {
	b.mu.Lock()
	b.answer = f
	b.mu.Unlock()
}

// events returns the events received so far.
func (b *backend) events() []events.APIGatewayWebsocketProxyRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]events.APIGatewayWebsocketProxyRequest(nil), b.got...)
}

// waitFor polls until cond holds on the received events.
func (b *backend) waitFor(t *testing.T, what string, cond func([]events.APIGatewayWebsocketProxyRequest) bool) []events.APIGatewayWebsocketProxyRequest {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		evs := b.events()
		if cond(evs) {
			return evs
		}
		select {
		case <-b.ch:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s; got %d events", what, len(evs))
		}
	}
}

func countType(evs []events.APIGatewayWebsocketProxyRequest, typ string) int {
	n := 0
	for _, e := range evs {
		if e.RequestContext.EventType == typ {
			n++
		}
	}
	return n
}

// env is a gateway plus an API deployed to stage "prod".
type env struct {
	gw    *gwtest.Gateway
	c     *apigatewayv2.Client
	api   string
	stage string
	ints  map[string]string // name → integration id
	be    *backend
}

type routeSpec struct {
	key         string
	integration string // name of an integration in apiSpec.integrations
	twoWay      bool
}

type apiSpec struct {
	integrations map[string]*apigatewayv2.CreateIntegrationInput
	routes       []routeSpec
	stageVars    map[string]string
	cfg          *config.Config
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// proxy returns an AWS_PROXY integration that posts to the backend.
func (b *backend) proxy(path string) *apigatewayv2.CreateIntegrationInput {
	return &apigatewayv2.CreateIntegrationInput{IntegrationType: types.IntegrationTypeAwsProxy, IntegrationUri: aws.String(b.srv.URL + path)}
}

// seedSpec is the seed document's API with its three integrations on the
// backend, plus a custom two-way route "echo".
func seedSpec(b *backend) apiSpec {
	return apiSpec{
		integrations: map[string]*apigatewayv2.CreateIntegrationInput{
			"connect": b.proxy("/connect"), "disconnect": b.proxy("/disconnect"), "default": b.proxy("/default"), "echo": b.proxy("/echo"),
		},
		routes: []routeSpec{{key: "$connect", integration: "connect"}, {key: "$disconnect", integration: "disconnect"}, {key: "$default", integration: "default"}, {key: "echo", integration: "echo", twoWay: true}},
	}
}

func deploy(t *testing.T, spec apiSpec, be *backend) *env {
	t.Helper()
	gw := gwtest.Start(t, spec.cfg)
	c := gwtest.APIGatewayV2(gw.URL)
	x := ctx(t)
	api, err := c.CreateApi(x, &apigatewayv2.CreateApiInput{Name: aws.String("test"), ProtocolType: types.ProtocolTypeWebsocket, RouteSelectionExpression: aws.String("$request.body.action")})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{gw: gw, c: c, api: *api.ApiId, stage: "prod", ints: map[string]string{}, be: be}
	for name, in := range spec.integrations {
		in.ApiId = api.ApiId
		out, err := c.CreateIntegration(x, in)
		if err != nil {
			t.Fatalf("integration %s: %v", name, err)
		}
		e.ints[name] = *out.IntegrationId
	}
	for _, r := range spec.routes {
		in := &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String(r.key)}
		if r.integration != "" {
			in.Target = aws.String("integrations/" + e.ints[r.integration])
		}
		if r.twoWay {
			in.RouteResponseSelectionExpression = aws.String("$default")
		}
		out, err := c.CreateRoute(x, in)
		if err != nil {
			t.Fatalf("route %s: %v", r.key, err)
		}
		if r.twoWay {
			if _, err := c.CreateRouteResponse(x, &apigatewayv2.CreateRouteResponseInput{ApiId: api.ApiId, RouteId: out.RouteId, RouteResponseKey: aws.String("$default")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := c.CreateStage(x, &apigatewayv2.CreateStageInput{ApiId: api.ApiId, StageName: aws.String("prod"), StageVariables: spec.stageVars}); err != nil {
		t.Fatal(err)
	}
	dep, err := c.CreateDeployment(x, &apigatewayv2.CreateDeploymentInput{ApiId: api.ApiId, StageName: aws.String("prod")})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s := gw.Registry().Stage(e.api, "prod"); s == nil || s.DeploymentID != *dep.DeploymentId; s = gw.Registry().Stage(e.api, "prod") {
		if time.Now().After(deadline) {
			t.Fatal("deployment not live")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return e
}

// url returns the stage's WebSocket URL (path form).
func (e *env) url(query string) string {
	u := "ws://" + e.gw.Host() + "/" + e.api + "/" + e.stage
	if query != "" {
		u += "?" + query
	}
	return u
}

func (e *env) dial(t *testing.T, query string, h http.Header) (*websocket.Conn, *http.Response) {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(e.url(query), h)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial: %v (status %d)", err, status)
	}
	t.Cleanup(func() { ws.Close() })
	return ws, resp
}

// read reads one text message with a deadline.
func read(t *testing.T, ws *websocket.Conn) string {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, b, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

// readClose reads until the connection closes and returns the close code
// and text.
func readClose(t *testing.T, ws *websocket.Conn) (int, string) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		_, _, err := ws.ReadMessage()
		if err == nil {
			continue
		}
		if ce, ok := err.(*websocket.CloseError); ok {
			return ce.Code, ce.Text
		}
		t.Fatalf("connection ended without a close frame: %v", err)
	}
}

func hubSelector(e *env) hub.Selector {
	return hub.Selector{Key: hub.Key{API: e.api, Stage: e.stage}}
}
