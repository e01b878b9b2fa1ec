package dataplane

import (
	"context"
	"io"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/internal/controlapi"
	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/snapshot"
	"github.com/wsgate/wsgate/internal/store/boltstore"
	"github.com/wsgate/wsgate/internal/wsconn"
)

// Micro-benchmarks of the per-message hot path. The whole-message ones
// drive Plane.OnMessage directly (as the poller does) on a real connection
// of a plane built from the gateway's own parts: a bbolt store written by
// the control plane through the real apigatewayv2 client, the snapshot
// registry, the engine and the hub.
//
//	go test -run '^$' -bench . -benchmem ./internal/dataplane

// benchPlane is a Plane serving one deployed API with two-way routes:
// $default (MOCK, no templates: the message comes back as it is) and "tpl"
// (MOCK with a request template wrapping the message and a response
// template unwrapping it).
type benchPlane struct {
	p     *Plane
	hub   *hub.Hub
	wsURL string
	seen  map[string]bool
}

func newBenchPlane(b *testing.B) *benchPlane {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	st, err := boltstore.Open(filepath.Join(b.TempDir(), "wsgate.db"), boltstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	reg := snapshot.NewRegistry(snapshot.Options{Store: st})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = reg.Run(ctx)
	}()
	b.Cleanup(func() { cancel(); <-done })
	ctl := httptest.NewServer(controlapi.New(controlapi.Options{Store: st, Validate: snapshot.Validate}))
	b.Cleanup(ctl.Close)

	c := apigatewayv2.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")},
		func(o *apigatewayv2.Options) { o.BaseEndpoint = aws.String(ctl.URL) })
	api, err := c.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("bench"), ProtocolType: types.ProtocolTypeWebsocket,
		RouteSelectionExpression: aws.String("$request.body.action")})
	if err != nil {
		b.Fatal(err)
	}
	route := func(key string, in *apigatewayv2.CreateIntegrationInput, response map[string]string) {
		in.ApiId = api.ApiId
		it, err := c.CreateIntegration(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		if response != nil {
			if _, err := c.CreateIntegrationResponse(ctx, &apigatewayv2.CreateIntegrationResponseInput{ApiId: api.ApiId, IntegrationId: it.IntegrationId,
				IntegrationResponseKey: aws.String("$default"), ResponseTemplates: response}); err != nil {
				b.Fatal(err)
			}
		}
		r, err := c.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String(key),
			Target: aws.String("integrations/" + *it.IntegrationId), RouteResponseSelectionExpression: aws.String("$default")})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.CreateRouteResponse(ctx, &apigatewayv2.CreateRouteResponseInput{ApiId: api.ApiId, RouteId: r.RouteId, RouteResponseKey: aws.String("$default")}); err != nil {
			b.Fatal(err)
		}
	}
	route("$default", &apigatewayv2.CreateIntegrationInput{IntegrationType: types.IntegrationTypeMock}, nil)
	route("tpl", &apigatewayv2.CreateIntegrationInput{IntegrationType: types.IntegrationTypeMock,
		RequestTemplates: map[string]string{"$default": `{"statusCode": 200, "echo": $input.json('$')}`}},
		map[string]string{"$default": `$input.json('$.echo')`})
	if _, err := c.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: api.ApiId, StageName: aws.String("prod")}); err != nil {
		b.Fatal(err)
	}
	if _, err := c.CreateDeployment(ctx, &apigatewayv2.CreateDeploymentInput{ApiId: api.ApiId, StageName: aws.String("prod")}); err != nil {
		b.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); reg.Stage(*api.ApiId, "prod") == nil; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("deployment not live")
		}
	}

	eng, err := wsconn.NewEngine(wsconn.Options{Pollers: 1})
	if err != nil {
		b.Fatal(err)
	}
	if err := eng.Start(); err != nil {
		b.Fatal(err)
	}
	h := hub.New()
	p := New(Options{Registry: reg, Engine: eng, Hub: h, Node: 1})
	srv := httptest.NewServer(p)
	b.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = p.Drain(sctx)
		srv.Close()
	})
	return &benchPlane{p: p, hub: h, wsURL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/" + *api.ApiId + "/prod", seen: map[string]bool{}}
}

// dial opens a client connection that reads and discards everything, and
// returns the plane's side of it.
func (bp *benchPlane) dial(b *testing.B) *conn {
	b.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(bp.wsURL, nil)
	if err != nil {
		b.Fatal(err)
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		for {
			_, r, err := ws.NextReader()
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, r)
		}
	}()
	b.Cleanup(func() {
		ws.Close()
		<-read
	})
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		for _, hc := range bp.hub.Select(hub.Selector{Key: hub.Key{API: strings.Split(bp.wsURL, "/")[3], Stage: "prod"}}) {
			if !bp.seen[hc.ID()] {
				bp.seen[hc.ID()] = true
				return hc.(*conn)
			}
		}
		if time.Now().After(deadline) {
			b.Fatal("the connection did not reach the hub")
		}
	}
}

// BenchmarkOnMessage is the whole per-message path of a two-way MOCK route
// on the poller goroutine: stage lookup, route selection, request ids,
// throttling, the integration (templates or none) and the answer's Send
// (framing and the write to the socket).
func BenchmarkOnMessage(b *testing.B) {
	bp := newBenchPlane(b)
	for _, tc := range []struct {
		name string
		msg  string
	}{
		{name: "mock", msg: `{"action":"echo","p":"` + strings.Repeat("x", 70) + `"}`},
		{name: "mock_template", msg: `{"action":"tpl","p":"` + strings.Repeat("x", 71) + `"}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := bp.dial(b)
			msg := []byte(tc.msg)
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				bp.p.OnMessage(c.ws, wsconn.Text, msg)
			}
		})
	}
}

// BenchmarkMessageEvent is the AWS proxy event of a MESSAGE, built for
// every message routed to a Lambda or an HTTP endpoint.
func BenchmarkMessageEvent(b *testing.B) {
	p := &Plane{}
	base := &eventBase{connID: "L0SM9cOFvHcCIhw=", st: &snapshot.Stage{APIID: "abcdef1234", Name: "prod"}, domainName: "abcdef1234.execute-api.us-east-1.amazonaws.com",
		connectedAt: 1700000000000, sourceIP: "203.0.113.7", userAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"}
	vars := []byte(`{"table":"chat"}`)
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{name: "100B", body: []byte(`{"action":"sendmessage","data":"` + strings.Repeat("x", 66) + `"}`)},
		{name: "32KiB", body: []byte(`{"action":"sendmessage","data":"` + strings.Repeat("lorem ipsum ", 32<<10/12) + `"}`)},
		{name: "32KiB_escapes", body: []byte(`{"action":"sendmessage","data":"` + strings.Repeat(`line\n \"q\" `, 32<<10/12) + `"}`)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			now := time.Now()
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.body)))
			for b.Loop() {
				_ = p.messageEvent(base, vars, "sendmessage", "Ab3dEf6hIj9lMn0=", "Zy1xWv2uTs3rQp4=", now, tc.body, false)
			}
		})
	}
}
