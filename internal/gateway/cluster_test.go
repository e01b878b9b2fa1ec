package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	mtypes "github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/gorilla/websocket"
	"github.com/nats-io/nats-server/v2/server"
	natstest "github.com/nats-io/nats-server/v2/test"

	"github.com/wsgate/wsgate/client"
	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/connid"
	"github.com/wsgate/wsgate/internal/gateway"
	"github.com/wsgate/wsgate/internal/gwtest"
)

// recorder is a real HTTP server standing in for the Lambda functions of
// the test API (AWS_PROXY integrations whose URI is its URL): it records
// every event, and places connecting clients in the groups named by their
// ?groups= query.
type recorder struct {
	srv *httptest.Server
	mu  sync.Mutex
	evs []event
}

type event struct {
	Type   string // CONNECT, MESSAGE, DISCONNECT
	ConnID string
	Name   string // ?name= of the connecting client
	Domain string // the node that ran the integration
	Code   int64  // disconnect status code
}

func newRecorder(t *testing.T) *recorder {
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev events.APIGatewayWebsocketProxyRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&ev); err != nil {
			t.Errorf("recorder: %v", err)
		}
		rc := ev.RequestContext
		rec.mu.Lock()
		rec.evs = append(rec.evs, event{Type: rc.EventType, ConnID: rc.ConnectionID, Name: ev.QueryStringParameters["name"], Domain: rc.DomainName, Code: rc.DisconnectStatusCode})
		rec.mu.Unlock()
		res := events.APIGatewayProxyResponse{StatusCode: 200}
		if g := ev.QueryStringParameters["groups"]; g != "" && rc.EventType == "CONNECT" {
			res.Headers = map[string]string{"Wsgate-Groups": g}
		}
		_ = json.NewEncoder(w).Encode(res)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

// find returns the recorded events that match.
func (rec *recorder) find(match func(event) bool) []event {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []event
	for _, e := range rec.evs {
		if match(e) {
			out = append(out, e)
		}
	}
	return out
}

func (rec *recorder) disconnects(id string) []event {
	return rec.find(func(e event) bool { return e.Type == "DISCONNECT" && e.ConnID == id })
}

// poll calls cond until it holds or d passes.
func poll(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// natsServer is an in-process NATS server with JetStream that can be
// restarted on its port with its data.
type natsServer struct {
	opts server.Options
	srv  *server.Server
}

func startNATS(t *testing.T) *natsServer {
	ns := &natsServer{opts: natstest.DefaultTestOptions}
	ns.opts.Port = -1
	ns.opts.JetStream = true
	ns.opts.StoreDir = t.TempDir()
	ns.srv = natstest.RunServer(&ns.opts)
	ns.opts.Port = ns.srv.Addr().(*net.TCPAddr).Port
	t.Cleanup(func() { ns.srv.Shutdown() })
	return ns
}

func (ns *natsServer) url() string { return ns.srv.ClientURL() }

func (ns *natsServer) stop() {
	ns.srv.Shutdown()
	ns.srv.WaitForShutdown()
}

func (ns *natsServer) start() {
	opts := ns.opts
	ns.srv = natstest.RunServer(&opts)
}

// node is one wsgate node of the test cluster: in-process (gw) or a child
// process (proc).
type node struct {
	name string
	url  string // http://host:port
	gw   *gwtest.Gateway
	proc *gwtest.Process
}

func (n *node) host() string { return strings.TrimPrefix(n.url, "http://") }

func clusterConfig(natsURL, id string) *config.Config {
	cfg := config.Default()
	cfg.Cluster.NATS = []string{natsURL}
	cfg.Cluster.NodeID = id
	return cfg
}

func startNode(t *testing.T, natsURL, id string) *node {
	gw := gwtest.Start(t, clusterConfig(natsURL, id))
	return &node{name: id, url: gw.URL, gw: gw}
}

func startProcessNode(t *testing.T, bin, natsURL, id string) *node {
	p := gwtest.StartProcess(t, bin, "--listen", gwtest.FreeAddr(t), "--cluster", natsURL, "--node-id", id, "--data", t.TempDir())
	return &node{name: id, url: p.URL, proc: p}
}

// deployment returns the deployment a node serves for the stage ("" if
// none), as GET /_wsgate/stages reports it.
func (n *node) deployment(t *testing.T, apiID, stage string) string {
	if n.gw != nil {
		if s := n.gw.Registry().Stage(apiID, stage); s != nil {
			return s.DeploymentID
		}
		return ""
	}
	resp, err := http.Get(n.url + "/_wsgate/stages")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var out struct {
		Stages []struct{ APIID, Stage, DeploymentID string }
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		t.Errorf("decode /_wsgate/stages: %v", err)
	}
	for _, s := range out.Stages {
		if s.APIID == apiID && s.Stage == stage {
			return s.DeploymentID
		}
	}
	return ""
}

// waitLive waits until every node serves the deployment and returns how
// long each took from start.
func waitLive(t *testing.T, nodes []*node, apiID, stage, dep string, start time.Time) []time.Duration {
	t.Helper()
	var took []time.Duration
	for _, n := range nodes {
		poll(t, 10*time.Second, n.name+" serves deployment "+dep, func() bool { return n.deployment(t, apiID, stage) == dep })
		took = append(took, time.Since(start))
	}
	return took
}

// wsClient is a WebSocket client of the test stage.
type wsClient struct {
	name string
	id   string
	node *node
	ws   *websocket.Conn
}

func (c *wsClient) read(t *testing.T) string {
	t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, b, err := c.ws.ReadMessage()
	if err != nil {
		t.Fatalf("%s: read: %v", c.name, err)
	}
	return string(b)
}

func (c *wsClient) readClose(t *testing.T) int {
	t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		_, _, err := c.ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		t.Fatalf("%s: connection ended without a close frame: %v", c.name, err)
	}
}

// tc is the test cluster: the API, its recorder and the nodes.
type tc struct {
	rec   *recorder
	api   string
	stage string
}

func (x *tc) dial(t *testing.T, n *node, name, groups string) *wsClient {
	t.Helper()
	u := "ws://" + n.host() + "/" + x.api + "/" + x.stage + "?name=" + name
	if groups != "" {
		u += "&groups=" + groups
	}
	ws, resp, err := websocket.DefaultDialer.Dial(u, http.Header{"User-Agent": {"cluster-test/" + name}})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s on %s: %v (status %d)", name, n.name, err, status)
	}
	t.Cleanup(func() { ws.Close() })
	var id string
	poll(t, 10*time.Second, "CONNECT of "+name, func() bool {
		evs := x.rec.find(func(e event) bool { return e.Type == "CONNECT" && e.Name == name })
		if len(evs) > 0 {
			id = evs[len(evs)-1].ConnID
		}
		return id != ""
	})
	// The data plane registers a connection just after the 101 is written
	// (see the report): wait until its node knows it.
	m := x.mgmt(n)
	poll(t, 10*time.Second, name+" registered", func() bool {
		_, err := m.GetConnection(context.Background(), &apigatewaymanagementapi.GetConnectionInput{ConnectionId: &id})
		return err == nil
	})
	return &wsClient{name: name, id: id, node: n, ws: ws}
}

func (x *tc) mgmt(n *node) *apigatewaymanagementapi.Client {
	return gwtest.Management(n.url, x.api, x.stage)
}

func (x *tc) fanout(t *testing.T, n *node) *client.Client {
	c, err := client.New(n.url+"/"+x.api+"/"+x.stage, client.Options{Region: gwtest.Region, Credentials: gwtest.AWSConfig().Credentials})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func post(ctx context.Context, m *apigatewaymanagementapi.Client, id, data string) error {
	_, err := m.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte(data)})
	return err
}

func isGone(err error) bool {
	var g *mtypes.GoneException
	return errors.As(err, &g)
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// createAPI creates the test API through a node's control plane with the
// real SDK and deploys it to stage prod; it returns the deployment id.
func createAPI(t *testing.T, ctx context.Context, cp *apigatewayv2.Client, backend string) (apiID, dep string) {
	t.Helper()
	api, err := cp.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("cluster"), ProtocolType: types.ProtocolTypeWebsocket, RouteSelectionExpression: aws.String("$request.body.action")})
	if err != nil {
		t.Fatal(err)
	}
	in, err := cp.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: api.ApiId, IntegrationType: types.IntegrationTypeAwsProxy, IntegrationUri: aws.String(backend)})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"$connect", "$disconnect", "$default"} {
		if _, err := cp.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String(k), Target: aws.String("integrations/" + *in.IntegrationId)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cp.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: api.ApiId, StageName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	d, err := cp.CreateDeployment(ctx, &apigatewayv2.CreateDeploymentInput{ApiId: api.ApiId, StageName: aws.String("prod")})
	if err != nil {
		t.Fatal(err)
	}
	return *api.ApiId, *d.DeploymentId
}

// TestCluster runs three nodes on one NATS server — nodes 1 and 2 in this
// process, node 3 a real wsgate child process so that it can be killed —
// and walks through issue 6's acceptance criteria in order.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server and three gateways")
	}
	t.Setenv("WSGATE_TEST_QUIET", "1")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	bin := gwtest.Build(t, t.TempDir())
	ns := startNATS(t)
	rec := newRecorder(t)
	n1 := startNode(t, ns.url(), "n1")
	n2 := startNode(t, ns.url(), "n2")
	n3 := startProcessNode(t, bin, ns.url(), "n3")
	nodes := []*node{n1, n2, n3}
	x := &tc{rec: rec, stage: "prod"}
	outer := t
	cp := gwtest.APIGatewayV2(n1.url)

	var dep string
	t.Run("deployment through node 1 goes live everywhere", func(t *testing.T) {
		x.api, dep = createAPI(t, ctx, cp, rec.srv.URL)
		took := waitLive(t, nodes, x.api, x.stage, dep, time.Now())
		t.Logf("MEASURED first deployment live on n1 %v, n2 %v, n3 %v after CreateDeployment returned", took[0], took[1], took[2])

		// A redeployment (a route added) propagates the same way.
		if _, err := cp.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: &x.api, RouteKey: aws.String("ping"),
			Target: aws.String("integrations/" + firstIntegration(t, ctx, cp, x.api))}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		d, err := cp.CreateDeployment(ctx, &apigatewayv2.CreateDeploymentInput{ApiId: &x.api, StageName: aws.String("prod")})
		if err != nil {
			t.Fatal(err)
		}
		dep = *d.DeploymentId
		took = waitLive(t, nodes, x.api, x.stage, dep, start)
		t.Logf("MEASURED redeployment live on n1 %v, n2 %v, n3 %v (from the call to CreateDeployment)", took[0], took[1], took[2])
		for i, d := range took {
			if d > 5*time.Second {
				t.Errorf("redeployment took %v on %s", d, nodes[i].name)
			}
		}
	})
	if x.api == "" {
		t.FailNow()
	}

	// Clients: a, b on each node; a-clients are in group "room".
	cl := map[string]*wsClient{}
	for _, n := range nodes {
		cl["a"+n.name] = x.dial(t, n, "a"+n.name, "room")
		cl["b"+n.name] = x.dial(t, n, "b"+n.name, "")
	}
	numbers := map[string]uint16{}
	for _, n := range nodes {
		num, ok := connid.Node(cl["a"+n.name].id)
		if !ok {
			t.Fatalf("connection id %q has no node", cl["a"+n.name].id)
		}
		if other, _ := connid.Node(cl["b"+n.name].id); other != num {
			t.Fatalf("ids of one node carry numbers %d and %d", num, other)
		}
		numbers[n.name] = num
	}
	if numbers["n1"] == numbers["n2"] || numbers["n2"] == numbers["n3"] || numbers["n1"] == numbers["n3"] {
		t.Fatalf("node numbers are not unique: %v", numbers)
	}

	t.Run("posts through nodes 1 and 2 reach a client on node 3", func(t *testing.T) {
		c := cl["bn3"]
		if err := post(ctx, x.mgmt(n1), c.id, "via n1"); err != nil {
			t.Fatal(err)
		}
		if err := post(ctx, x.mgmt(n2), c.id, "via n2"); err != nil {
			t.Fatal(err)
		}
		big := strings.Repeat("0123456789abcdef", 128<<10/16) // 128 KB, AWS's limit
		if err := post(ctx, x.mgmt(n1), c.id, big); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"via n1", "via n2", big} {
			if got := c.read(t); got != want {
				t.Fatalf("got %.40q, want %.40q", got, want)
			}
		}
	})

	t.Run("GetConnection through any node answers the same", func(t *testing.T) {
		c := cl["an3"]
		var outs []*apigatewaymanagementapi.GetConnectionOutput
		for _, n := range nodes {
			out, err := x.mgmt(n).GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: &c.id})
			if err != nil {
				t.Fatalf("through %s: %v", n.name, err)
			}
			outs = append(outs, out)
		}
		for i, o := range outs {
			if *o.Identity.UserAgent != "cluster-test/an3" || *o.Identity.SourceIp != "127.0.0.1" ||
				!o.ConnectedAt.Equal(*outs[0].ConnectedAt) || !o.LastActiveAt.Equal(*outs[0].LastActiveAt) {
				t.Errorf("through %s: connectedAt %v lastActiveAt %v identity %+v; through n1: %v %v",
					nodes[i].name, o.ConnectedAt, o.LastActiveAt, *o.Identity, outs[0].ConnectedAt, outs[0].LastActiveAt)
			}
		}
		// The wsgate client sees the extension members too.
		got, err := x.fanout(t, n2).Get(ctx, c.id)
		if err != nil || !slices.Equal(got.Groups, []string{"room"}) {
			t.Errorf("extension view through n2: %+v, %v", got, err)
		}
	})

	t.Run("broadcast through node 1 reaches every connection once", func(t *testing.T) {
		start := time.Now()
		res, err := x.fanout(t, n1).Broadcast(ctx, []byte("to all"), "")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("MEASURED broadcast over 3 nodes answered in %v: %+v", time.Since(start), res)
		if res.Queued != len(cl) || res.Dropped != 0 {
			t.Errorf("broadcast result %+v, want %d queued", res, len(cl))
		}
		res, err = x.fanout(t, n2).SendToGroup(ctx, "room", []byte("to room"), cl["an1"].id)
		if err != nil || res.Queued != 2 {
			t.Errorf("group send excluding an1: %+v, %v", res, err)
		}
		// Then a marker to each: a duplicate would arrive before it.
		for name, c := range cl {
			if err := post(ctx, x.mgmt(n3), c.id, "marker "+name); err != nil {
				t.Fatal(err)
			}
		}
		for name, c := range cl {
			want := []string{"to all"}
			if strings.HasPrefix(name, "a") && name != "an1" {
				want = append(want, "to room")
			}
			want = append(want, "marker "+name)
			for _, w := range want {
				if got := c.read(t); got != w {
					t.Errorf("%s: got %q, want %q", name, got, w)
				}
			}
		}
	})

	t.Run("listing through node 2 spans every node in id order", func(t *testing.T) {
		var want []string
		for _, c := range cl {
			want = append(want, c.id)
		}
		slices.Sort(want)
		fc := x.fanout(t, n2)
		var got []string
		tok := ""
		for range 20 {
			page, err := fc.List(ctx, client.ListInput{MaxResults: 2, NextToken: tok})
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range page.Items {
				got = append(got, it.ConnectionID)
			}
			if tok = page.NextToken; tok == "" {
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("listed %v\nwant %v", got, want)
		}
		room, err := fc.ListAll(ctx, client.ListInput{Group: "room"})
		if err != nil || len(room) != 3 {
			t.Errorf("group listing: %d items, %v", len(room), err)
		}
	})

	t.Run("DELETE through node 2 closes a node 3 connection and $disconnect fires once", func(t *testing.T) {
		c := x.dial(t, n3, "doomed", "")
		if _, err := x.mgmt(n2).DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: &c.id}); err != nil {
			t.Fatal(err)
		}
		if code := c.readClose(t); code != 1000 {
			t.Errorf("close code %d, want 1000", code)
		}
		poll(t, 10*time.Second, "$disconnect", func() bool { return len(rec.disconnects(c.id)) > 0 })
		if err := post(ctx, x.mgmt(n1), c.id, "late"); !isGone(err) {
			t.Errorf("post after delete: %v, want GoneException", err)
		}
		if _, err := x.mgmt(n2).DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: &c.id}); !isGone(err) {
			t.Errorf("second delete: %v, want GoneException", err)
		}
		t.Cleanup(func() {
			// Checked at the end, after everything else had time to
			// produce a second event.
			if evs := rec.disconnects(c.id); len(evs) != 1 || evs[0].Domain != n3.host() {
				t.Errorf("$disconnect events for the deleted connection: %+v, want one from %s", evs, n3.host())
			}
		})
	})

	t.Run("duplicate node id is refused", func(t *testing.T) {
		cfg := clusterConfig(ns.url(), "n2")
		cfg.Listen = "127.0.0.1:0"
		cfg.Data = t.TempDir()
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		g, err := gateway.New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		defer rcancel()
		err = g.Run(rctx, nil)
		if err == nil || !strings.Contains(err.Error(), `node id "n2"`) || !strings.Contains(err.Error(), "already in use") {
			t.Errorf("second n2: %v", err)
		}
		// The first n2 is undisturbed.
		if err := post(ctx, x.mgmt(n1), cl["bn2"].id, "still here"); err != nil {
			t.Fatal(err)
		}
		if got := cl["bn2"].read(t); got != "still here" {
			t.Errorf("got %q", got)
		}
	})

	t.Run("NATS restart: writes fail with 503 during the outage, nodes resume after", func(t *testing.T) {
		before := n2.deployment(t, x.api, x.stage)
		ns.stop()
		// Once a read fails fast, node 1 knows NATS is gone.
		poll(t, 10*time.Second, "node 1 to notice the outage", func() bool {
			_, err := cp.GetApis(ctx, &apigatewayv2.GetApisInput{})
			return httpStatus(err) == http.StatusServiceUnavailable
		})
		_, err := cp.CreateDeployment(ctx, &apigatewayv2.CreateDeploymentInput{ApiId: &x.api, StageName: aws.String("prod")})
		if st := httpStatus(err); st != http.StatusServiceUnavailable {
			t.Errorf("CreateDeployment during the outage: status %d (%v), want 503", st, err)
		}
		// Callbacks to another node fail with a 5xx, not a 410: the
		// connection is alive.
		if err := post(ctx, x.mgmt(n1), cl["bn2"].id, "lost?"); err == nil || isGone(err) || httpStatus(err) < 500 {
			t.Errorf("cross-node post during the outage: %v", err)
		}
		// Connections on this node are served meanwhile.
		if err := post(ctx, x.mgmt(n1), cl["bn1"].id, "local"); err != nil {
			t.Errorf("local post during the outage: %v", err)
		} else if got := cl["bn1"].read(t); got != "local" {
			t.Errorf("got %q", got)
		}

		start := time.Now()
		ns.start()
		poll(t, 20*time.Second, "n1 posts to n2 again", func() bool { return post(ctx, x.mgmt(n1), cl["bn2"].id, "after") == nil })
		t.Logf("MEASURED relay working again %v after the NATS server restarted", time.Since(start))
		if got := cl["bn2"].read(t); got != "after" {
			t.Errorf("got %q", got)
		}
		if d := n2.deployment(t, x.api, x.stage); d != before {
			t.Errorf("deployment changed from %s to %s: the failed write was applied", before, d)
		}
		var d *apigatewayv2.CreateDeploymentOutput
		poll(t, 20*time.Second, "control plane writable", func() bool {
			var err error
			d, err = cp.CreateDeployment(ctx, &apigatewayv2.CreateDeploymentInput{ApiId: &x.api, StageName: aws.String("prod")})
			return err == nil
		})
		dep = *d.DeploymentId
		took := waitLive(t, nodes, x.api, x.stage, dep, time.Now())
		t.Logf("MEASURED after the restart, registries re-watched: deployment live on n1 %v, n2 %v, n3 %v; %v after the restart", took[0], took[1], took[2], time.Since(start))
		res, err := x.fanout(t, n2).Broadcast(ctx, []byte("back"), "")
		if err != nil || res.Queued != len(cl) {
			t.Errorf("broadcast after the restart: %+v, %v", res, err)
		}
		for _, c := range cl {
			if got := c.read(t); got != "back" {
				t.Errorf("%s got %q", c.name, got)
			}
		}
	})

	var n3b *node
	t.Run("kill -9 node 3: 410 within 1s, nodes 1 and 2 lose nothing", func(t *testing.T) {
		a1, a2 := cl["an1"], cl["an2"]
		const total = 200
		var want1, want2 []string
		type result struct {
			name string
			got  []string
			err  error
		}
		done := make(chan result, 2)
		reader := func(c *wsClient, n int) {
			var got []string
			_ = c.ws.SetReadDeadline(time.Now().Add(60 * time.Second))
			for range n {
				_, b, err := c.ws.ReadMessage()
				if err != nil {
					done <- result{c.name, got, err}
					return
				}
				got = append(got, string(b))
			}
			done <- result{c.name, got, nil}
		}
		for i := 1; i <= total; i++ {
			want1 = append(want1, fmt.Sprint("p", i))
			want2 = append(want2, fmt.Sprint("p", i))
			if i%20 == 0 {
				want1 = append(want1, fmt.Sprint("g", i))
				want2 = append(want2, fmt.Sprint("g", i))
			}
		}
		go reader(a1, len(want1))
		go reader(a2, len(want2))

		m1, m2, f1 := x.mgmt(n1), x.mgmt(n2), x.fanout(t, n1)
		var gone410 []time.Duration
		for i := 1; i <= total; i++ {
			// Each stream crosses nodes: a1 (on n1) through n2, a2 (on n2)
			// through n1.
			if err := post(ctx, m2, a1.id, fmt.Sprint("p", i)); err != nil {
				t.Fatalf("post %d to a1 through n2: %v", i, err)
			}
			if err := post(ctx, m1, a2.id, fmt.Sprint("p", i)); err != nil {
				t.Fatalf("post %d to a2 through n1: %v", i, err)
			}
			if i%20 == 0 {
				res, err := f1.SendToGroup(ctx, "room", []byte(fmt.Sprint("g", i)), "")
				if err != nil || res.Queued < 2 {
					t.Fatalf("group send %d: %+v, %v", i, res, err)
				}
			}
			if i == 50 {
				n3.proc.Kill() // SIGKILL
				for _, c := range []*wsClient{cl["an3"], cl["bn3"], cl["an3"]} {
					start := time.Now()
					err := post(ctx, m1, c.id, "to the dead")
					el := time.Since(start)
					gone410 = append(gone410, el)
					if !isGone(err) || el > time.Second {
						t.Errorf("post to %s on the killed node: %v after %v, want 410 within 1s", c.name, err, el)
					}
				}
				t.Logf("MEASURED 410 for connections of the killed node: %v", gone410)
			}
		}
		for range 2 {
			r := <-done
			want := want1
			if r.name == a2.name {
				want = want2
			}
			if r.err != nil || !slices.Equal(r.got, want) {
				t.Errorf("%s received %d messages (err %v), want %d in order; first difference at %d",
					r.name, len(r.got), r.err, len(want), firstDiff(r.got, want))
			}
		}
		start := time.Now()
		res, err := f1.Broadcast(ctx, []byte("after the kill"), "")
		t.Logf("MEASURED broadcast after the kill answered in %v: %+v", time.Since(start), res)
		if err != nil || res.Queued != 4 {
			t.Errorf("broadcast after the kill: %+v, %v; want the 4 connections of n1 and n2", res, err)
		}
		for _, name := range []string{"an1", "bn1", "an2", "bn2"} {
			if got := cl[name].read(t); got != "after the kill" {
				t.Errorf("%s got %q", name, got)
			}
		}

		// The killed node restarts with its id at once, and keeps its number.
		start = time.Now()
		n3b = startProcessNode(outer, bin, ns.url(), "n3") // lives on for the next step
		t.Logf("MEASURED killed node restarted with its id and ready in %v", time.Since(start))
		c := x.dial(outer, n3b, "reborn", "")
		if num, _ := connid.Node(c.id); num != numbers["n3"] {
			t.Errorf("restarted n3 has number %d, had %d", num, numbers["n3"])
		}
		if err := post(ctx, m1, c.id, "welcome back"); err != nil {
			t.Fatal(err)
		}
		if got := c.read(t); got != "welcome back" {
			t.Errorf("got %q", got)
		}
		if err := post(ctx, m1, cl["an3"].id, "old id"); !isGone(err) {
			t.Errorf("old n3 connection after the restart: %v, want 410", err)
		}
	})

	t.Run("graceful stop of node 2: 1001 and $disconnect on node 2, others keep serving", func(t *testing.T) {
		// The clients read (and so answer the close handshake) meanwhile.
		codes := map[string]chan int{}
		for _, name := range []string{"an2", "bn2"} {
			ch := make(chan int, 1)
			codes[name] = ch
			go func() {
				_ = cl[name].ws.SetReadDeadline(time.Now().Add(15 * time.Second))
				for {
					_, _, err := cl[name].ws.ReadMessage()
					var ce *websocket.CloseError
					if errors.As(err, &ce) {
						ch <- ce.Code
						return
					}
					if err != nil {
						ch <- 0
						return
					}
				}
			}()
		}
		start := time.Now()
		n2.gw.Stop(t)
		t.Logf("MEASURED graceful stop of n2 (drain, $disconnect, leave) took %v", time.Since(start))
		for _, name := range []string{"an2", "bn2"} {
			c := cl[name]
			if code := <-codes[name]; code != 1001 {
				t.Errorf("%s: close code %d, want 1001", name, code)
			}
			evs := rec.disconnects(c.id)
			if len(evs) != 1 || evs[0].Domain != n2.host() {
				t.Errorf("%s: $disconnect events %+v, want one run by n2 (%s)", name, evs, n2.host())
			}
			start := time.Now()
			if err := post(ctx, x.mgmt(n1), c.id, "gone?"); !isGone(err) || time.Since(start) > time.Second {
				t.Errorf("%s: post after n2 left: %v after %v, want 410 within 1s", name, err, time.Since(start))
			}
		}
		start = time.Now()
		res, err := x.fanout(t, n1).Broadcast(ctx, []byte("n1 only"), "")
		// an1, bn1 and the restarted n3's client.
		if el := time.Since(start); err != nil || res.Queued != 3 || el > 500*time.Millisecond {
			t.Errorf("broadcast after n2 left: %+v, %v in %v (a left node must not be waited for)", res, err, el)
			t.Logf("n3b output:\n%s", n3b.proc.Output())
		}
	})
}

func firstIntegration(t *testing.T, ctx context.Context, cp *apigatewayv2.Client, apiID string) string {
	out, err := cp.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: &apiID})
	if err != nil || len(out.Items) == 0 {
		t.Fatalf("integrations: %v", err)
	}
	return *out.Items[0].IntegrationId
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
