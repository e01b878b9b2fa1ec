package dataplane_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/gwtest"
)

// presign returns a SigV4-presigned ws:// URL (signing name execute-api).
func presign(t *testing.T, wsURL, secret string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http"+wsURL[2:], nil)
	empty := sha256.Sum256(nil)
	signed, _, err := v4.NewSigner().PresignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: gwtest.AccessKeyID, SecretAccessKey: secret}, req, hex.EncodeToString(empty[:]),
		"execute-api", gwtest.Region, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return "ws" + signed[4:]
}

func TestIAMAndAPIKeys(t *testing.T) {
	be := newBackend(t)
	cfg := config.Default()
	cfg.Auth.Credentials = []config.Credential{{AccessKeyID: gwtest.AccessKeyID, SecretAccessKey: gwtest.SecretAccessKey}}
	cfg.Auth.APIKeys = []string{"key-1"}
	spec := seedSpec(be)
	spec.cfg = cfg
	e := deploy(t, spec, be)
	x := ctx(t)
	routes, err := e.c.GetRoutes(x, &apigatewayv2.GetRoutesInput{ApiId: aws.String(e.api)})
	if err != nil {
		t.Fatal(err)
	}
	var connectID *string
	for _, r := range routes.Items {
		if *r.RouteKey == "$connect" {
			connectID = r.RouteId
		}
	}
	redeploy := func(in *apigatewayv2.UpdateRouteInput) {
		t.Helper()
		in.ApiId, in.RouteId = aws.String(e.api), connectID
		if _, err := e.c.UpdateRoute(x, in); err != nil {
			t.Fatal(err)
		}
		dep, err := e.c.CreateDeployment(x, &apigatewayv2.CreateDeploymentInput{ApiId: aws.String(e.api), StageName: aws.String("prod")})
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for e.gw.Registry().Stage(e.api, "prod").DeploymentID != *dep.DeploymentId {
			if time.Now().After(deadline) {
				t.Fatal("not live")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	status := func(u string, h http.Header) int {
		ws, resp, err := websocket.DefaultDialer.Dial(u, h)
		if err == nil {
			ws.Close()
			return 101
		}
		if resp == nil {
			t.Fatalf("dial: %v", err)
		}
		return resp.StatusCode
	}

	redeploy(&apigatewayv2.UpdateRouteInput{AuthorizationType: types.AuthorizationTypeAwsIam})
	if got := status(e.url(""), nil); got != 403 {
		t.Errorf("unsigned AWS_IAM $connect: %d", got)
	}
	if got := status(presign(t, e.url(""), "wrong"), nil); got != 403 {
		t.Errorf("badly signed: %d", got)
	}
	if got := status(presign(t, e.url("name=x"), gwtest.SecretAccessKey), nil); got != 101 {
		t.Fatalf("presigned: %d", got)
	}
	ev := be.waitFor(t, "CONNECT", func(evs []events.APIGatewayWebsocketProxyRequest) bool { return countType(evs, "CONNECT") == 1 })[0]
	if ev.RequestContext.Identity.AccessKey != gwtest.AccessKeyID || ev.RequestContext.Identity.Caller == "" {
		t.Errorf("IAM identity in the event: %+v", ev.RequestContext.Identity)
	}

	redeploy(&apigatewayv2.UpdateRouteInput{AuthorizationType: types.AuthorizationTypeNone, ApiKeyRequired: aws.Bool(true)})
	for _, tc := range []struct {
		name string
		key  string
		want int
	}{
		{name: "no key", want: 403},
		{name: "wrong key", key: "nope", want: 403},
		{name: "right key", key: "key-1", want: 101},
	} {
		h := http.Header{}
		if tc.key != "" {
			h.Set("x-api-key", tc.key)
		}
		if got := status(e.url(""), h); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	evs := be.waitFor(t, "second CONNECT", func(evs []events.APIGatewayWebsocketProxyRequest) bool { return countType(evs, "CONNECT") == 2 })
	var last events.APIGatewayWebsocketProxyRequest
	for _, ev := range evs {
		if ev.RequestContext.EventType == "CONNECT" {
			last = ev
		}
	}
	if last.RequestContext.Identity.APIKey != "key-1" {
		t.Errorf("identity.apiKey = %q", last.RequestContext.Identity.APIKey)
	}
}
