package dataplane_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/internal/config"
)

var (
	lambdaOnce sync.Once
	lambdaBin  string
	lambdaErr  error
)

// handlerBinary builds testdata/lambda once per test binary.
func handlerBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a Lambda handler")
	}
	lambdaOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wsgate-lambda-")
		if err != nil {
			lambdaErr = err
			return
		}
		lambdaBin = filepath.Join(dir, "lambda")
		out, err := exec.Command("go", "build", "-o", lambdaBin, "./testdata/lambda").CombinedOutput()
		if err != nil {
			lambdaErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if lambdaErr != nil {
		t.Fatal(lambdaErr)
	}
	return lambdaBin
}

const fnARN = "arn:aws:lambda:us-east-1:000000000000:function:"

// lambdaEnv deploys an API whose routes all run the test handler as the
// local function "fn" (and "auth" as its authorizer when withAuth).
func lambdaEnv(t *testing.T, withAuth bool, concurrency int) *env {
	bin := handlerBinary(t)
	cfg := config.Default()
	cfg.Functions = map[string]config.Function{
		"fn":   {Command: []string{bin}, Timeout: time.Second, Concurrency: concurrency, MemoryMB: 128},
		"auth": {Command: []string{bin}, Timeout: 5 * time.Second, Concurrency: 2, MemoryMB: 128},
	}
	fn := &apigatewayv2.CreateIntegrationInput{IntegrationType: types.IntegrationTypeAwsProxy, IntegrationUri: aws.String(fnARN + "fn")}
	spec := apiSpec{
		cfg:          cfg,
		integrations: map[string]*apigatewayv2.CreateIntegrationInput{"fn": fn},
		routes:       []routeSpec{{key: "$connect", integration: "fn"}, {key: "$disconnect", integration: "fn"}, {key: "$default", integration: "fn", twoWay: true}},
	}
	e := deploy(t, spec, nil)
	if withAuth {
		x := ctx(t)
		au, err := e.c.CreateAuthorizer(x, &apigatewayv2.CreateAuthorizerInput{
			ApiId: aws.String(e.api), Name: aws.String("auth"), AuthorizerType: types.AuthorizerTypeRequest,
			IdentitySource: []string{"route.request.querystring.token"},
			AuthorizerUri:  aws.String("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + fnARN + "auth/invocations"),
		})
		if err != nil {
			t.Fatal(err)
		}
		routes, err := e.c.GetRoutes(x, &apigatewayv2.GetRoutesInput{ApiId: aws.String(e.api)})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range routes.Items {
			if *r.RouteKey == "$connect" {
				if _, err := e.c.UpdateRoute(x, &apigatewayv2.UpdateRouteInput{ApiId: aws.String(e.api), RouteId: r.RouteId, AuthorizationType: types.AuthorizationTypeCustom, AuthorizerId: au.AuthorizerId}); err != nil {
					t.Fatal(err)
				}
			}
		}
		dep, err := e.c.CreateDeployment(x, &apigatewayv2.CreateDeploymentInput{ApiId: aws.String(e.api), StageName: aws.String("prod")})
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for s := e.gw.Registry().Stage(e.api, "prod"); s.DeploymentID != *dep.DeploymentId; s = e.gw.Registry().Stage(e.api, "prod") {
			if time.Now().After(deadline) {
				t.Fatal("deployment not live")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return e
}

func TestLambdaFailures(t *testing.T) {
	e := lambdaEnv(t, false, 2)
	ws, _ := e.dial(t, "", nil)
	send := func(do string) string {
		t.Helper()
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"do":"`+do+`"}`))
		return read(t, ws)
	}
	first := send("hello")
	if !strings.HasPrefix(first, "pid=") {
		t.Fatalf("echo: %q", first)
	}
	// A panic: the error frame; the next message works (on a new instance).
	if got := send("panic"); !strings.HasPrefix(got, `{"message": "Internal server error"`) {
		t.Fatalf("panic: %q", got)
	}
	if got := send("hello"); !strings.HasPrefix(got, "pid=") {
		t.Fatalf("after panic: %q", got)
	}
	// A returned error: the error frame, the connection stays open.
	if got := send("error"); !strings.HasPrefix(got, `{"message": "Internal server error"`) {
		t.Fatalf("error: %q", got)
	}
	// A handler past its timeout is killed; the next invocation works.
	start := time.Now()
	if got := send("sleep"); !strings.HasPrefix(got, `{"message": "Internal server error"`) {
		t.Fatalf("timeout: %q", got)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("timeout took %v", d)
	}
	if got := send("hello"); !strings.HasPrefix(got, "pid=") {
		t.Fatalf("after timeout: %q", got)
	}
	st := e.gw.Functions().Stats("fn")
	if st.Timeouts < 1 || st.Crashes < 1 {
		t.Errorf("stats after a panic and a timeout: %+v", st)
	}

	// A function error on $connect: 502.
	_, resp, err := websocket.DefaultDialer.Dial(e.url("fail=1"), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("failing $connect: %v %v", err, resp)
	}
}

// TestLambdaConcurrency: a burst never runs more instances than the limit.
func TestLambdaConcurrency(t *testing.T) {
	e := lambdaEnv(t, false, 2)
	var conns []*websocket.Conn
	for range 6 {
		ws, _ := e.dial(t, "", nil)
		conns = append(conns, ws)
	}
	pids := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, ws := range conns {
		wg.Go(func() {
			_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"do":"pid"}`))
			_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
			_, b, err := ws.ReadMessage()
			if err != nil {
				t.Errorf("read: %v", err)
				return
			}
			mu.Lock()
			pids[string(b)] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	st := e.gw.Functions().Stats("fn")
	if len(pids) > 2 || st.MaxBusy > 2 {
		t.Errorf("%d distinct pids, max busy %d; the limit is 2", len(pids), st.MaxBusy)
	}
}

func TestAuthorizer(t *testing.T) {
	e := lambdaEnv(t, true, 4)
	for _, tc := range []struct {
		name   string
		query  string
		status int
	}{
		{name: "missing identity source", query: "", status: 401},
		{name: "deny", query: "token=deny", status: 403},
		{name: "unauthorized", query: "token=unauthorized", status: 401},
		{name: "invalid result", query: "token=bad", status: 500},
		{name: "authorizer error", query: "token=crash", status: 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, resp, err := websocket.DefaultDialer.Dial(e.url(tc.query), nil)
			if err == nil || resp == nil || resp.StatusCode != tc.status {
				t.Fatalf("got %v %v, want %d", err, resp, tc.status)
			}
		})
	}
	ws, resp := e.dial(t, "token=ann", nil)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("allow: %d", resp.StatusCode)
	}
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"do":"authorizer"}`))
	var got map[string]any
	if err := json.Unmarshal([]byte(read(t, ws)), &got); err != nil {
		t.Fatal(err)
	}
	if got["principalId"] != "user-ann" || got["tier"] != "gold" || got["n"] != float64(7) || got["ok"] != true {
		t.Errorf("requestContext.authorizer on a later event: %v", got)
	}
	// The principal is what send-to-user addresses.
	info, _ := e.gw.Hub().List(hubSelector(e), "", 10)
	if len(info) != 1 || info[0].PrincipalID != "user-ann" {
		t.Errorf("hub info %+v", info)
	}
}

// TestLambdaNonProxy: an AWS (non-proxy) Lambda integration receives the
// request template's output; integration responses map success and
// errorMessage patterns to different frames; CONVERT_TO_BINARY turns a
// base64 answer into a binary frame.
func TestLambdaNonProxy(t *testing.T) {
	e := lambdaEnv(t, false, 2)
	b := &apiBuilder{t: t, e: e, id: aws.String(e.api)}
	np := b.integration(&apigatewayv2.CreateIntegrationInput{
		IntegrationType: types.IntegrationTypeAws, IntegrationUri: aws.String(fnARN + "fn"),
		RequestTemplates: map[string]string{"$default": `{"np": $input.json('$.np'), "v": $input.json('$.v'), "conn": "$context.connectionId"}`},
	})
	b.response(np, "/Validation.*/", map[string]string{"$default": `invalid: $input.path('$.errorMessage')`}, "")
	b.response(np, "$default", map[string]string{"$default": `ok: $input.json('$.got')`}, "")
	b.route("np", np, true, nil)
	bin := b.integration(&apigatewayv2.CreateIntegrationInput{IntegrationType: types.IntegrationTypeMock,
		RequestTemplates: map[string]string{"$default": `{"statusCode": 200}`}})
	if _, err := e.c.CreateIntegrationResponse(ctx(t), &apigatewayv2.CreateIntegrationResponseInput{ApiId: b.id, IntegrationId: aws.String(bin),
		IntegrationResponseKey: aws.String("$default"), ContentHandlingStrategy: types.ContentHandlingStrategyConvertToBinary,
		ResponseTemplates: map[string]string{"$default": "AAEC/w=="}}); err != nil {
		t.Fatal(err)
	}
	b.route("bin", bin, true, nil)
	b.deploy()

	ws, _ := e.dial(t, "", nil)
	send := func(msg string) (int, string) {
		t.Helper()
		_ = ws.WriteMessage(websocket.TextMessage, []byte(msg))
		_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second))
		typ, got, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		return typ, string(got)
	}
	if _, got := send(`{"action":"np","np":"echo","v":[5,6]}`); got != "ok: [5,6]" {
		t.Errorf("non-proxy success: %q", got)
	}
	if _, got := send(`{"action":"np","np":"fail","v":0}`); got != "invalid: Validation failed: bad input" {
		t.Errorf("non-proxy errorMessage mapping: %q", got)
	}
	if typ, got := send(`{"action":"bin"}`); typ != websocket.BinaryMessage || got != "\x00\x01\x02\xff" {
		t.Errorf("CONVERT_TO_BINARY: type %d %q", typ, got)
	}
}
