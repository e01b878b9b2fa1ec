package dataplane_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/gorilla/websocket"
)

// apiBuilder creates resources through the real apigatewayv2 client.
type apiBuilder struct {
	t  *testing.T
	e  *env
	id *string
}

func (b *apiBuilder) integration(in *apigatewayv2.CreateIntegrationInput) string {
	b.t.Helper()
	in.ApiId = b.id
	out, err := b.e.c.CreateIntegration(ctx(b.t), in)
	if err != nil {
		b.t.Fatal(err)
	}
	return *out.IntegrationId
}

func (b *apiBuilder) response(integrationID, key string, templates map[string]string, tse string) {
	b.t.Helper()
	in := &apigatewayv2.CreateIntegrationResponseInput{ApiId: b.id, IntegrationId: aws.String(integrationID), IntegrationResponseKey: aws.String(key), ResponseTemplates: templates}
	if tse != "" {
		in.TemplateSelectionExpression = aws.String(tse)
	}
	if _, err := b.e.c.CreateIntegrationResponse(ctx(b.t), in); err != nil {
		b.t.Fatal(err)
	}
}

func (b *apiBuilder) route(key, integrationID string, twoWay bool, models map[string]string) {
	b.t.Helper()
	in := &apigatewayv2.CreateRouteInput{ApiId: b.id, RouteKey: aws.String(key), Target: aws.String("integrations/" + integrationID), RequestModels: models}
	if len(models) > 0 {
		in.ModelSelectionExpression = aws.String("$default")
	}
	if twoWay {
		in.RouteResponseSelectionExpression = aws.String("$default")
	}
	out, err := b.e.c.CreateRoute(ctx(b.t), in)
	if err != nil {
		b.t.Fatal(err)
	}
	if twoWay {
		if _, err := b.e.c.CreateRouteResponse(ctx(b.t), &apigatewayv2.CreateRouteResponseInput{ApiId: b.id, RouteId: out.RouteId, RouteResponseKey: aws.String("$default")}); err != nil {
			b.t.Fatal(err)
		}
	}
}

func (b *apiBuilder) deploy() {
	b.t.Helper()
	dep, err := b.e.c.CreateDeployment(ctx(b.t), &apigatewayv2.CreateDeploymentInput{ApiId: b.id, StageName: aws.String("prod")})
	if err != nil {
		b.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s := b.e.gw.Registry().Stage(b.e.e(), "prod"); s == nil || s.DeploymentID != *dep.DeploymentId; s = b.e.gw.Registry().Stage(b.e.e(), "prod") {
		if time.Now().After(deadline) {
			b.t.Fatal("deployment not live")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *env) e() string { return e.api }

// TestNonProxyIntegrations covers issue 8's end-to-end cases, configured
// through the real aws-sdk-go-v2 client.
func TestNonProxyIntegrations(t *testing.T) {
	var mu sync.Mutex
	var got []string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("X-Conn")+" msg="+r.Header.Get("X-Msg")+" "+string(b))
		mu.Unlock()
		var in struct {
			Text string `json:"text"`
		}
		_ = json.Unmarshal(b, &in)
		if in.Text == "bad" {
			w.WriteHeader(422)
			_, _ = io.WriteString(w, `{"error":"rejected"}`)
			return
		}
		_, _ = io.WriteString(w, `{"upper":"`+strings.ToUpper(in.Text)+`"}`)
	}))
	defer backend.Close()

	// $default is a MOCK echo; the other routes are added below.
	e := deploy(t, apiSpec{
		integrations: map[string]*apigatewayv2.CreateIntegrationInput{"mock": {IntegrationType: types.IntegrationTypeMock,
			RequestTemplates: map[string]string{"$default": `{"statusCode": 200, "echo": $input.json('$')}`}}},
		routes: []routeSpec{{key: "$default", integration: "mock", twoWay: true}},
	}, nil)
	b := &apiBuilder{t: t, e: e, id: aws.String(e.api)}
	routes, _ := e.c.GetIntegrations(ctx(t), &apigatewayv2.GetIntegrationsInput{ApiId: b.id})
	mockID := *routes.Items[0].IntegrationId
	b.response(mockID, "$default", map[string]string{"$default": `{"you": $input.json('$.echo.msg'), "conn": "$context.connectionId", "route": "$context.routeKey"}`}, "")

	// HTTP: the request template reshapes the message; 2xx and 4xx map to
	// different frames.
	httpID := b.integration(&apigatewayv2.CreateIntegrationInput{
		IntegrationType: types.IntegrationTypeHttp, IntegrationUri: aws.String(backend.URL + "/shout"), IntegrationMethod: aws.String("POST"),
		RequestTemplates: map[string]string{"$default": `{"text": $input.json('$.msg'), "who": "$context.connectionId"}`},
		RequestParameters: map[string]string{"integration.request.header.X-Conn": "context.connectionId", "integration.request.querystring.stage": "'fixed'",
			"integration.request.header.X-Msg": "route.request.body.msg"},
	})
	b.response(httpID, "/2\\d\\d/", map[string]string{"$default": `ok:$input.path('$.upper')`}, "")
	b.response(httpID, "/4\\d\\d/", map[string]string{"$default": `failed:$input.path('$.error')`}, "")
	b.route("shout", httpID, true, nil)

	// Template selection by ${request.body.type}; passthrough NEVER.
	selID := b.integration(&apigatewayv2.CreateIntegrationInput{
		IntegrationType:             types.IntegrationTypeMock,
		TemplateSelectionExpression: aws.String("${request.body.type}"),
		PassthroughBehavior:         types.PassthroughBehaviorNever,
		RequestTemplates: map[string]string{
			"a": `{"statusCode": 200, "picked": "A"}`,
			"b": `{"statusCode": 200, "picked": "B"}`,
		},
	})
	b.response(selID, "$default", map[string]string{"$default": `picked $input.path('$.picked')`}, "")
	b.route("pick", selID, true, nil)

	// A model-validated route.
	if _, err := e.c.CreateModel(ctx(t), &apigatewayv2.CreateModelInput{ApiId: b.id, Name: aws.String("Msg"), ContentType: aws.String("application/json"),
		Schema: aws.String(`{"$schema":"http://json-schema.org/draft-04/schema#","type":"object","required":["msg"],"properties":{"msg":{"type":"string","maxLength":5}}}`)}); err != nil {
		t.Fatal(err)
	}
	b.route("strict", mockID, true, map[string]string{"$default": "Msg"})
	b.deploy()

	ws, _ := e.dial(t, "", nil)
	send := func(msg string) string {
		t.Helper()
		_ = ws.WriteMessage(websocket.TextMessage, []byte(msg))
		return read(t, ws)
	}
	// MOCK + response template from $context and the message.
	var mockOut map[string]string
	if err := json.Unmarshal([]byte(send(`{"msg":"hi"}`)), &mockOut); err != nil || mockOut["you"] != "hi" || mockOut["route"] != "$default" || len(mockOut["conn"]) != 16 {
		t.Errorf("MOCK answer %v %v", mockOut, err)
	}
	// HTTP 2xx and 4xx.
	if got := send(`{"action":"shout","msg":"hello"}`); got != "ok:HELLO" {
		t.Errorf("HTTP 2xx frame %q", got)
	}
	if got := send(`{"action":"shout","msg":"bad"}`); got != "failed:rejected" {
		t.Errorf("HTTP 4xx frame %q", got)
	}
	mu.Lock()
	if len(got) != 2 || !strings.HasPrefix(got[0], `POST /shout?stage=fixed `) || !strings.Contains(got[0], ` msg=hello {"text": "hello", "who": "`) {
		t.Errorf("backend saw %q", got)
	}
	mu.Unlock()
	// Template selection.
	if got := send(`{"action":"pick","type":"b"}`); got != "picked B" {
		t.Errorf("selection b: %q", got)
	}
	if got := send(`{"action":"pick","type":"a"}`); got != "picked A" {
		t.Errorf("selection a: %q", got)
	}
	if got := send(`{"action":"pick","type":"zzz"}`); !strings.HasPrefix(got, `{"message": "Unsupported Media Type"`) {
		t.Errorf("passthrough NEVER: %q", got)
	}
	// Request validation.
	if got := send(`{"action":"strict","msg":"toolong"}`); !strings.HasPrefix(got, `{"message" : "Bad request body", "connectionId": "`) || !strings.Contains(got, `"messageId": "`) {
		t.Errorf("invalid body: %q", got)
	}
	if got := send(`{"action":"strict","msg":"ok"}`); !strings.Contains(got, `"you": "ok"`) {
		t.Errorf("valid body: %q", got)
	}
}

// TestThrottling: a route throttled at 5 rps rejects the excess with an
// error frame while other routes flow; the change needs no deployment.
func TestThrottling(t *testing.T) {
	e := deploy(t, apiSpec{
		integrations: map[string]*apigatewayv2.CreateIntegrationInput{"mock": {IntegrationType: types.IntegrationTypeMock,
			RequestTemplates: map[string]string{"$default": `{"statusCode": 200}`}}},
		routes: []routeSpec{{key: "$default", integration: "mock", twoWay: true}, {key: "slow", integration: "mock", twoWay: true}},
	}, nil)
	integ, _ := e.c.GetIntegrations(ctx(t), &apigatewayv2.GetIntegrationsInput{ApiId: aws.String(e.api)})
	b := &apiBuilder{t: t, e: e, id: aws.String(e.api)}
	b.response(*integ.Items[0].IntegrationId, "$default", map[string]string{"$default": `ok`}, "")
	b.deploy()
	ws, _ := e.dial(t, "", nil)
	send := func(msg string) string {
		_ = ws.WriteMessage(websocket.TextMessage, []byte(msg))
		return read(t, ws)
	}
	// Stage settings are live: no redeploy after this.
	if _, err := e.c.UpdateStage(ctx(t), &apigatewayv2.UpdateStageInput{ApiId: aws.String(e.api), StageName: aws.String("prod"),
		RouteSettings: map[string]types.RouteSettings{"slow": {ThrottlingRateLimit: aws.Float64(5), ThrottlingBurstLimit: aws.Int32(5)}}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if s := e.gw.Registry().Stage(e.api, "prod"); s != nil && s.RouteSettings["slow"].ThrottlingRateLimit != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("route settings not live")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var ok, throttled int
	start := time.Now()
	for range 20 {
		switch got := send(`{"action":"slow"}`); {
		case got == "ok":
			ok++
		case strings.HasPrefix(got, `{"message": "Too Many Requests"`):
			throttled++
		default:
			t.Fatalf("unexpected %q", got)
		}
	}
	elapsed := time.Since(start)
	// 5 burst + 5/s refill over the elapsed time.
	if maxOK := 5 + int(elapsed.Seconds()*5) + 1; ok > maxOK || throttled == 0 {
		t.Errorf("%d passed, %d throttled in %v (at most %d may pass)", ok, throttled, elapsed, maxOK)
	}
	for range 20 {
		if got := send(`{"action":"other"}`); got != "ok" {
			t.Fatalf("an unthrottled route got %q", got)
		}
	}
	// Throttled $connect answers 429.
	if _, err := e.c.UpdateStage(ctx(t), &apigatewayv2.UpdateStageInput{ApiId: aws.String(e.api), StageName: aws.String("prod"),
		RouteSettings: map[string]types.RouteSettings{"$connect": {ThrottlingRateLimit: aws.Float64(0), ThrottlingBurstLimit: aws.Int32(0)}}}); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		_, resp, err := websocket.DefaultDialer.Dial(e.url(""), nil)
		if err != nil && resp != nil && resp.StatusCode == http.StatusTooManyRequests {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("throttled $connect: %v %v", err, resp)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
