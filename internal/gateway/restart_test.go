package gateway_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"

	"github.com/wsgate/wsgate/internal/gwtest"
)

// everything reads back every resource of every API through the SDK.
type snapshotOfAPIs struct {
	APIs         []types.Api
	Routes       map[string][]types.Route
	Integrations map[string][]types.Integration
	Deployments  map[string][]types.Deployment
	Stages       map[string][]types.Stage
}

func readAll(t *testing.T, c *apigatewayv2.Client) snapshotOfAPIs {
	t.Helper()
	x, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := snapshotOfAPIs{Routes: map[string][]types.Route{}, Integrations: map[string][]types.Integration{}, Deployments: map[string][]types.Deployment{}, Stages: map[string][]types.Stage{}}
	apis, err := c.GetApis(x, &apigatewayv2.GetApisInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range apis.Items {
		a.ApiEndpoint = nil // the port changes across restarts
		out.APIs = append(out.APIs, a)
		id := a.ApiId
		r, err := c.GetRoutes(x, &apigatewayv2.GetRoutesInput{ApiId: id})
		if err != nil {
			t.Fatal(err)
		}
		out.Routes[*id] = r.Items
		i, err := c.GetIntegrations(x, &apigatewayv2.GetIntegrationsInput{ApiId: id})
		if err != nil {
			t.Fatal(err)
		}
		out.Integrations[*id] = i.Items
		d, err := c.GetDeployments(x, &apigatewayv2.GetDeploymentsInput{ApiId: id})
		if err != nil {
			t.Fatal(err)
		}
		out.Deployments[*id] = d.Items
		s, err := c.GetStages(x, &apigatewayv2.GetStagesInput{ApiId: id})
		if err != nil {
			t.Fatal(err)
		}
		out.Stages[*id] = s.Items
	}
	return out
}

// TestKillAndRestart creates resources through a real wsgate process,
// SIGKILLs it, restarts it on the same data directory, and expects every
// resource back with the same ids and timestamps.
func TestKillAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the wsgate binary")
	}
	dir := t.TempDir()
	bin := gwtest.Build(t, dir)
	data := t.TempDir()
	p := gwtest.StartProcess(t, bin, "--listen", "127.0.0.1:0", "--data", data)
	c := gwtest.APIGatewayV2(p.URL)
	x, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for n := range 3 {
		api, err := c.CreateApi(x, &apigatewayv2.CreateApiInput{Name: aws.String("api"), ProtocolType: types.ProtocolTypeWebsocket, RouteSelectionExpression: aws.String("$request.body.action"), Tags: map[string]string{"n": string(rune('0' + n))}})
		if err != nil {
			t.Fatal(err)
		}
		in, err := c.CreateIntegration(x, &apigatewayv2.CreateIntegrationInput{ApiId: api.ApiId, IntegrationType: types.IntegrationTypeAwsProxy, IntegrationUri: aws.String("arn:aws:lambda:us-east-1:1:function:f")})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"$connect", "$default", "send"} {
			if _, err := c.CreateRoute(x, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String(k), Target: aws.String("integrations/" + *in.IntegrationId)}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.CreateStage(x, &apigatewayv2.CreateStageInput{ApiId: api.ApiId, StageName: aws.String("prod"), StageVariables: map[string]string{"a": "b"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateDeployment(x, &apigatewayv2.CreateDeploymentInput{ApiId: api.ApiId, StageName: aws.String("prod"), Description: aws.String("d")}); err != nil {
			t.Fatal(err)
		}
	}
	before := readAll(t, c)
	if len(before.APIs) != 3 {
		t.Fatalf("%d APIs before the kill", len(before.APIs))
	}
	p.Kill()

	p2 := gwtest.StartProcess(t, bin, "--listen", "127.0.0.1:0", "--data", data)
	after := readAll(t, gwtest.APIGatewayV2(p2.URL))
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("state changed across kill -9 and restart:\nbefore %+v\nafter  %+v", before, after)
	}

	// SIGINT shuts it down cleanly (exit status 0).
	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer scancel()
	if err := p2.Interrupt(sctx); err != nil {
		t.Fatalf("SIGINT: %v\n%s", err, p2.Output())
	}
}
