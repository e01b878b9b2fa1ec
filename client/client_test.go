package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/client"
	"github.com/wsgate/wsgate/internal/gwtest"
)

// fixture is a gateway with one API deployed to stages prod and dev. Its
// $connect handler (a real HTTP backend) places the connection in the
// groups named by ?groups= and attaches ?name= as metadata.
type fixture struct {
	gw    *gwtest.Gateway
	api   string
	mu    sync.Mutex
	ids   map[string]string // name → connection id
	conns map[string]*websocket.Conn
}

func setup(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{ids: map[string]string{}, conns: map[string]*websocket.Conn{}}
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var ev events.APIGatewayWebsocketProxyRequest
		_ = json.Unmarshal(raw, &ev)
		res := events.APIGatewayProxyResponse{StatusCode: 200, Headers: map[string]string{}}
		if ev.RequestContext.EventType == "CONNECT" {
			name := ev.QueryStringParameters["name"]
			f.mu.Lock()
			f.ids[name] = ev.RequestContext.ConnectionID
			f.mu.Unlock()
			res.Headers["Wsgate-Groups"] = ev.QueryStringParameters["groups"]
			md, _ := json.Marshal(map[string]string{"name": name, "team": ev.QueryStringParameters["team"]})
			res.Headers["Wsgate-Metadata"] = string(md)
		}
		_ = json.NewEncoder(w).Encode(res)
	}))
	t.Cleanup(be.Close)
	f.gw = gwtest.Start(t, nil)
	c := gwtest.APIGatewayV2(f.gw.URL)
	x := context.Background()
	api, err := c.CreateApi(x, &apigatewayv2.CreateApiInput{Name: aws.String("fan"), ProtocolType: types.ProtocolTypeWebsocket, RouteSelectionExpression: aws.String("$request.body.action")})
	if err != nil {
		t.Fatal(err)
	}
	f.api = *api.ApiId
	in, err := c.CreateIntegration(x, &apigatewayv2.CreateIntegrationInput{ApiId: api.ApiId, IntegrationType: types.IntegrationTypeAwsProxy, IntegrationUri: aws.String(be.URL)})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"$connect", "$default"} {
		if _, err := c.CreateRoute(x, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String(k), Target: aws.String("integrations/" + *in.IntegrationId)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range []string{"prod", "dev"} {
		if _, err := c.CreateStage(x, &apigatewayv2.CreateStageInput{ApiId: api.ApiId, StageName: aws.String(st), AutoDeploy: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for f.gw.Registry().Stage(f.api, st) == nil {
			if time.Now().After(deadline) {
				t.Fatal("stage not live")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return f
}

func (f *fixture) connect(t *testing.T, stage, name, query string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(fmt.Sprintf("ws://%s/%s/%s?name=%s&%s", f.gw.Host(), f.api, stage, name, query), nil)
	if err != nil {
		t.Fatalf("dial %s: %v", name, err)
	}
	t.Cleanup(func() { ws.Close() })
	f.mu.Lock()
	f.conns[name] = ws
	f.mu.Unlock()
	return ws
}

func (f *fixture) id(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ids[name]
}

func (f *fixture) client(t *testing.T, stage string) *client.Client {
	t.Helper()
	c, err := client.New(f.gw.URL+"/"+f.api+"/"+stage, client.Options{
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// expect checks that exactly the named connections receive msg next (the
// others receive nothing before a sentinel broadcast).
func (f *fixture) expect(t *testing.T, msg string, want ...string) {
	t.Helper()
	// A sentinel sent to everyone (both stages) after msg proves who did
	// not get msg.
	for _, st := range []string{"prod", "dev"} {
		if _, err := f.client(t, st).Broadcast(context.Background(), []byte("sentinel"), ""); err != nil {
			t.Fatal(err)
		}
	}
	for name, ws := range f.conns {
		_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := string(b)
		if slices.Contains(want, name) {
			if got != msg {
				t.Errorf("%s got %q, want %q", name, got, msg)
				continue
			}
			if _, b, err = ws.ReadMessage(); err != nil || string(b) != "sentinel" {
				t.Errorf("%s: after %q got %q %v", name, msg, b, err)
			}
		} else if got != "sentinel" {
			t.Errorf("%s got %q, which was not meant for it", name, got)
		}
	}
}

func TestGroupsAndFanout(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.connect(t, "prod", "ann", "groups=red,blue&team=a")
	f.connect(t, "prod", "bob", "groups=red&team=b")
	f.connect(t, "prod", "cy", "team=a")
	f.connect(t, "dev", "dan", "groups=red")
	prod, dev := f.client(t, "prod"), f.client(t, "dev")

	// Groups from the $connect answer; the sender excluded.
	r, err := prod.SendToGroup(ctx, "red", []byte("to red"), f.id("ann"))
	if err != nil || r.Queued != 1 {
		t.Fatalf("group send: %+v %v", r, err)
	}
	f.expect(t, "to red", "bob")
	// Join and leave by call.
	if err := prod.Join(ctx, f.id("cy"), "red"); err != nil {
		t.Fatal(err)
	}
	if err := prod.Leave(ctx, f.id("bob"), "red"); err != nil {
		t.Fatal(err)
	}
	if r, _ = prod.SendToGroup(ctx, "red", []byte("red again"), ""); r.Queued != 2 {
		t.Errorf("queued %d, want 2", r.Queued)
	}
	f.expect(t, "red again", "ann", "cy")
	// Broadcast reaches every connection of the stage and none of another.
	if r, _ = prod.Broadcast(ctx, []byte("all prod"), ""); r.Queued != 3 {
		t.Errorf("broadcast queued %d", r.Queued)
	}
	f.expect(t, "all prod", "ann", "bob", "cy")
	if r, _ = dev.Broadcast(ctx, []byte("all dev"), ""); r.Queued != 1 {
		t.Errorf("dev broadcast queued %d", r.Queued)
	}
	f.expect(t, "all dev", "dan")

	// Metadata: set, read back, filter.
	c, err := prod.SetMetadata(ctx, f.id("bob"), map[string]string{"team": "a", "mood": "ok"})
	if err != nil || c.Metadata["team"] != "a" || c.Metadata["name"] != "bob" {
		t.Fatalf("SetMetadata: %+v %v", c, err)
	}
	got, err := prod.Get(ctx, f.id("ann"))
	if err != nil || !slices.Equal(got.Groups, []string{"blue", "red"}) && !slices.Equal(got.Groups, []string{"red", "blue"}) || got.Metadata["name"] != "ann" {
		t.Errorf("Get ann: %+v %v", got, err)
	}
	team, err := prod.ListAll(ctx, client.ListInput{MetadataKey: "team", MetadataValue: "a"})
	if err != nil || len(team) != 3 {
		t.Errorf("team a: %d %v", len(team), err)
	}
	red, err := prod.ListAll(ctx, client.ListInput{Group: "red"})
	if err != nil || len(red) != 2 {
		t.Errorf("group red: %d %v", len(red), err)
	}
	// Pagination returns each connection exactly once.
	seen := map[string]int{}
	var pages int
	in := client.ListInput{MaxResults: 1}
	for {
		page, err := prod.List(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, c := range page.Items {
			seen[c.ConnectionID]++
		}
		if page.NextToken == "" || pages > 10 {
			break
		}
		in.NextToken = page.NextToken
	}
	if len(seen) != 3 || pages != 3 {
		t.Errorf("pagination: %d pages, %v", pages, seen)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s listed %d times", id, n)
		}
	}

	// A closed connection leaves all its groups at once.
	ann := f.conns["ann"]
	_ = ann.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""))
	_ = ann.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := ann.ReadMessage(); err != nil {
			break
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err = prod.SendToGroup(ctx, "blue", []byte("x"), "")
		if err != nil {
			t.Fatal(err)
		}
		if r.Queued == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed connection is still counted in its group")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := prod.Get(ctx, f.id("ann")); !client.IsGone(err) {
		t.Errorf("Get of a closed connection: %v", err)
	}
	// Bad input gets clear 4xx errors.
	var e *client.Error
	if _, err := prod.SendToGroup(ctx, "bad group!", []byte("x"), ""); err == nil || !asErr(err, &e) || e.Status != 400 {
		t.Errorf("bad group: %v", err)
	}
	if _, err := prod.SendToGroup(ctx, "red", make([]byte, 128<<10+1), ""); err == nil || !asErr(err, &e) || e.Status != 413 {
		t.Errorf("oversized fan-out: %v", err)
	}
	if _, err := prod.SetMetadata(ctx, f.id("bob"), map[string]string{"big": strings.Repeat("x", 5000)}); err == nil || !asErr(err, &e) || e.Status != 400 {
		t.Errorf("oversized metadata: %v", err)
	}
	// A stage that is not deployed is a clear 404, not an empty success.
	if _, err := f.client(t, "nope").Broadcast(ctx, []byte("x"), ""); err == nil || !asErr(err, &e) || e.Status != 404 || e.Type != "NotFoundException" {
		t.Errorf("broadcast to an unknown stage: %v", err)
	}
}

func asErr(err error, target **client.Error) bool {
	e, ok := err.(*client.Error)
	if ok {
		*target = e
	}
	return ok
}
