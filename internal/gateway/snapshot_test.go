package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"

	"github.com/wsgate/wsgate/internal/gwtest"
	"github.com/wsgate/wsgate/internal/snapshot"
)

// waitStage polls the registry until cond holds for the stage or the
// deadline passes.
func waitStage(t *testing.T, gw *gwtest.Gateway, apiID, stage string, cond func(*snapshot.Stage) bool) *snapshot.Stage {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := gw.Registry().Stage(apiID, stage)
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("stage %s/%s did not reach the expected state; last: %+v", apiID, stage, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDeploymentsAreSnapshots(t *testing.T) {
	gw := gwtest.Start(t, nil)
	c := gwtest.APIGatewayV2(gw.URL)
	x, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	api, err := c.CreateApi(x, &apigatewayv2.CreateApiInput{Name: aws.String("snap"), ProtocolType: types.ProtocolTypeWebsocket, RouteSelectionExpression: aws.String("$request.body.action")})
	if err != nil {
		t.Fatal(err)
	}
	mock, err := c.CreateIntegration(x, &apigatewayv2.CreateIntegrationInput{ApiId: api.ApiId, IntegrationType: types.IntegrationTypeMock})
	if err != nil {
		t.Fatal(err)
	}
	target := aws.String("integrations/" + *mock.IntegrationId)
	if _, err := c.CreateRoute(x, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("$default"), Target: target}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateStage(x, &apigatewayv2.CreateStageInput{ApiId: api.ApiId, StageName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	if s := gw.Registry().Stage(*api.ApiId, "prod"); s != nil {
		t.Fatalf("a stage without a deployment is served: %+v", s)
	}
	dep1, err := c.CreateDeployment(x, &apigatewayv2.CreateDeploymentInput{ApiId: api.ApiId, StageName: aws.String("prod")})
	if err != nil {
		t.Fatal(err)
	}
	waitStage(t, gw, *api.ApiId, "prod", func(s *snapshot.Stage) bool { return s != nil && s.DeploymentID == *dep1.DeploymentId })

	// A route added after the deployment is not live...
	if _, err := c.CreateRoute(x, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("join"), Target: target}); err != nil {
		t.Fatal(err)
	}
	// ...while a stage setting changes at once, on the same deployment.
	if _, err := c.UpdateStage(x, &apigatewayv2.UpdateStageInput{ApiId: api.ApiId, StageName: aws.String("prod"), StageVariables: map[string]string{"v": "1"}}); err != nil {
		t.Fatal(err)
	}
	s := waitStage(t, gw, *api.ApiId, "prod", func(s *snapshot.Stage) bool { return s != nil && s.Variables["v"] == "1" })
	if s.DeploymentID != *dep1.DeploymentId {
		t.Fatalf("stage moved to deployment %s without a deployment call", s.DeploymentID)
	}
	if _, ok := s.Routes["join"]; ok {
		t.Fatal("route join is live before a new deployment")
	}
	if r, _ := s.Select([]byte(`{"action":"join"}`)); r == nil || r.Key != "$default" {
		t.Fatalf("join message selected %+v, want $default", r)
	}

	dep2, err := c.CreateDeployment(x, &apigatewayv2.CreateDeploymentInput{ApiId: api.ApiId, StageName: aws.String("prod")})
	if err != nil {
		t.Fatal(err)
	}
	s = waitStage(t, gw, *api.ApiId, "prod", func(s *snapshot.Stage) bool { return s != nil && s.DeploymentID == *dep2.DeploymentId })
	if r, _ := s.Select([]byte(`{"action":"join"}`)); r == nil || r.Key != "join" {
		t.Fatalf("after redeploy, join message selected %+v", r)
	}

	// autoDeploy: a change goes live without a deployment call.
	if _, err := c.UpdateStage(x, &apigatewayv2.UpdateStageInput{ApiId: api.ApiId, StageName: aws.String("prod"), AutoDeploy: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRoute(x, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("leave"), Target: target}); err != nil {
		t.Fatal(err)
	}
	waitStage(t, gw, *api.ApiId, "prod", func(s *snapshot.Stage) bool { return s != nil && s.Routes["leave"] != nil })

	// /_wsgate/stages shows which deployment the stage is live on.
	live := gw.Registry().Stage(*api.ApiId, "prod")
	resp, err := http.Get(gw.URL + "/_wsgate/stages")
	if err != nil {
		t.Fatal(err)
	}
	var listed struct {
		Stages []struct {
			APIID, Stage, DeploymentID string
			Routes                     []string
		} `json:"stages"`
	}
	err = json.NewDecoder(resp.Body).Decode(&listed)
	resp.Body.Close()
	if err != nil || len(listed.Stages) != 1 || listed.Stages[0].DeploymentID != live.DeploymentID || len(listed.Stages[0].Routes) != 3 {
		t.Errorf("/_wsgate/stages = %+v (%v), want deployment %s with 3 routes", listed, err, live.DeploymentID)
	}

	// Deleting the stage stops serving it.
	if _, err := c.DeleteStage(x, &apigatewayv2.DeleteStageInput{ApiId: api.ApiId, StageName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	waitStage(t, gw, *api.ApiId, "prod", func(s *snapshot.Stage) bool { return s == nil })
}
