package controlapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/smithy-go"

	"github.com/wsgate/wsgate/internal/gwtest"
)

// awsErr returns the AWS error code and HTTP status of err.
func awsErr(t *testing.T, err error) (string, int) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected an error, got none")
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("not an AWS API error: %v", err)
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return ae.ErrorCode(), status
}

func wantErr(t *testing.T, err error, code string, status int) {
	t.Helper()
	gotCode, gotStatus := awsErr(t, err)
	if gotCode != code || gotStatus != status {
		t.Fatalf("got %s (%d), want %s (%d): %v", gotCode, gotStatus, code, status, err)
	}
}

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

const lambdaARN = "arn:aws:lambda:us-east-1:123456789012:function:"

// seed creates the seed document's API: three AWS_PROXY integrations, the
// $connect/$disconnect/$default routes, a deployment.
type seed struct {
	apiID                          string
	connectInt, disconnInt, defInt string
	routes                         map[string]string // key → id
}

func createSeed(t *testing.T, c *apigatewayv2.Client) seed {
	t.Helper()
	x := ctx(t)
	api := must[*apigatewayv2.CreateApiOutput](t)(c.CreateApi(x, &apigatewayv2.CreateApiInput{
		Name:                     aws.String("ExampleWebSocketAPI"),
		ProtocolType:             types.ProtocolTypeWebsocket,
		RouteSelectionExpression: aws.String("$request.body.action"),
	}))
	s := seed{apiID: *api.ApiId, routes: map[string]string{}}
	mk := func(fn string) string {
		out := must[*apigatewayv2.CreateIntegrationOutput](t)(c.CreateIntegration(x, &apigatewayv2.CreateIntegrationInput{
			ApiId:                aws.String(s.apiID),
			IntegrationType:      types.IntegrationTypeAwsProxy,
			IntegrationUri:       aws.String(lambdaARN + fn),
			IntegrationMethod:    aws.String("POST"),
			PayloadFormatVersion: aws.String("2.0"),
		}))
		return *out.IntegrationId
	}
	s.connectInt, s.disconnInt, s.defInt = mk("connect_lambda"), mk("disconnect_lambda"), mk("default_lambda")
	for key, integ := range map[string]string{"$connect": s.connectInt, "$disconnect": s.disconnInt, "$default": s.defInt} {
		r := must[*apigatewayv2.CreateRouteOutput](t)(c.CreateRoute(x, &apigatewayv2.CreateRouteInput{
			ApiId: aws.String(s.apiID), RouteKey: aws.String(key), Target: aws.String("integrations/" + integ),
		}))
		s.routes[key] = *r.RouteId
	}
	return s
}

func TestSeedFlow(t *testing.T) {
	gw := gwtest.Start(t, nil)
	c := gwtest.APIGatewayV2(gw.URL)
	x := ctx(t)
	start := time.Now().Add(-time.Second)

	s := createSeed(t, c)

	api := must[*apigatewayv2.GetApiOutput](t)(c.GetApi(x, &apigatewayv2.GetApiInput{ApiId: aws.String(s.apiID)}))
	if len(*api.ApiId) != 10 {
		t.Errorf("apiId %q: want 10 characters", *api.ApiId)
	}
	if *api.Name != "ExampleWebSocketAPI" || api.ProtocolType != types.ProtocolTypeWebsocket ||
		*api.RouteSelectionExpression != "$request.body.action" ||
		*api.ApiKeySelectionExpression != "$request.header.x-api-key" {
		t.Errorf("GetApi = %+v", api)
	}
	if want := "ws://" + gw.Host() + "/" + s.apiID; aws.ToString(api.ApiEndpoint) != want {
		t.Errorf("apiEndpoint = %q, want %q", aws.ToString(api.ApiEndpoint), want)
	}
	if api.CreatedDate == nil || api.CreatedDate.Before(start) || api.CreatedDate.After(time.Now().Add(time.Second)) {
		t.Errorf("createdDate = %v", api.CreatedDate)
	}

	integ := must[*apigatewayv2.GetIntegrationOutput](t)(c.GetIntegration(x, &apigatewayv2.GetIntegrationInput{ApiId: aws.String(s.apiID), IntegrationId: aws.String(s.connectInt)}))
	if integ.IntegrationType != types.IntegrationTypeAwsProxy || *integ.IntegrationUri != lambdaARN+"connect_lambda" ||
		*integ.IntegrationMethod != "POST" || *integ.PayloadFormatVersion != "2.0" || *integ.TimeoutInMillis != 29000 ||
		integ.ConnectionType != types.ConnectionTypeInternet || integ.PassthroughBehavior != types.PassthroughBehaviorWhenNoMatch {
		t.Errorf("GetIntegration = %+v", integ)
	}
	if integ.IntegrationResponseSelectionExpression != nil {
		t.Errorf("proxy integration has integrationResponseSelectionExpression %q", *integ.IntegrationResponseSelectionExpression)
	}

	routes := must[*apigatewayv2.GetRoutesOutput](t)(c.GetRoutes(x, &apigatewayv2.GetRoutesInput{ApiId: aws.String(s.apiID)}))
	if len(routes.Items) != 3 || routes.NextToken != nil {
		t.Fatalf("GetRoutes: %d items, next %v", len(routes.Items), routes.NextToken)
	}
	for _, r := range routes.Items {
		if r.AuthorizationType != types.AuthorizationTypeNone || r.ApiKeyRequired == nil || *r.ApiKeyRequired {
			t.Errorf("route %s: authorizationType %q apiKeyRequired %v", *r.RouteKey, r.AuthorizationType, r.ApiKeyRequired)
		}
		if s.routes[*r.RouteKey] != *r.RouteId {
			t.Errorf("route %s id %s, want %s", *r.RouteKey, *r.RouteId, s.routes[*r.RouteKey])
		}
	}

	dep := must[*apigatewayv2.CreateDeploymentOutput](t)(c.CreateDeployment(x, &apigatewayv2.CreateDeploymentInput{
		ApiId: aws.String(s.apiID), Description: aws.String("Initial deployment"),
	}))
	if dep.DeploymentStatus != types.DeploymentStatusDeployed || *dep.Description != "Initial deployment" || dep.CreatedDate == nil {
		t.Errorf("CreateDeployment = %+v", dep)
	}
	st := must[*apigatewayv2.CreateStageOutput](t)(c.CreateStage(x, &apigatewayv2.CreateStageInput{
		ApiId: aws.String(s.apiID), StageName: aws.String("prod"), DeploymentId: dep.DeploymentId,
		StageVariables: map[string]string{"table": "chat", "fn": "default_lambda"},
	}))
	if *st.StageName != "prod" || *st.DeploymentId != *dep.DeploymentId || st.StageVariables["table"] != "chat" ||
		st.CreatedDate == nil || st.LastUpdatedDate == nil || st.DefaultRouteSettings == nil ||
		st.DefaultRouteSettings.LoggingLevel != types.LoggingLevelOff {
		t.Errorf("CreateStage = %+v", st)
	}

	// Stage PATCH: "" deletes a variable, others merge.
	up := must[*apigatewayv2.UpdateStageOutput](t)(c.UpdateStage(x, &apigatewayv2.UpdateStageInput{
		ApiId: aws.String(s.apiID), StageName: aws.String("prod"),
		StageVariables: map[string]string{"table": "", "extra": "1"},
		RouteSettings:  map[string]types.RouteSettings{"$default": {ThrottlingRateLimit: aws.Float64(5), ThrottlingBurstLimit: aws.Int32(10)}},
	}))
	if _, ok := up.StageVariables["table"]; ok || up.StageVariables["fn"] != "default_lambda" || up.StageVariables["extra"] != "1" {
		t.Errorf("stage variables after PATCH = %v", up.StageVariables)
	}
	if rs := up.RouteSettings["$default"]; aws.ToFloat64(rs.ThrottlingRateLimit) != 5 || aws.ToInt32(rs.ThrottlingBurstLimit) != 10 {
		t.Errorf("routeSettings after PATCH = %+v", up.RouteSettings)
	}
	// DeleteRouteSettings with a percent-encoded route key.
	must[*apigatewayv2.DeleteRouteSettingsOutput](t)(c.DeleteRouteSettings(x, &apigatewayv2.DeleteRouteSettingsInput{
		ApiId: aws.String(s.apiID), StageName: aws.String("prod"), RouteKey: aws.String("$default"),
	}))
	_, err := c.DeleteRouteSettings(x, &apigatewayv2.DeleteRouteSettingsInput{
		ApiId: aws.String(s.apiID), StageName: aws.String("prod"), RouteKey: aws.String("$default"),
	})
	wantErr(t, err, "NotFoundException", 404)

	// Integration PATCH: requestParameters merge with "" deleting.
	must[*apigatewayv2.UpdateIntegrationOutput](t)(c.UpdateIntegration(x, &apigatewayv2.UpdateIntegrationInput{
		ApiId: aws.String(s.apiID), IntegrationId: aws.String(s.defInt), IntegrationType: types.IntegrationTypeAwsProxy,
		RequestParameters: map[string]string{"integration.request.header.connectionId": "context.connectionId", "integration.request.header.x": "'static'"},
	}))
	ui := must[*apigatewayv2.UpdateIntegrationOutput](t)(c.UpdateIntegration(x, &apigatewayv2.UpdateIntegrationInput{
		ApiId: aws.String(s.apiID), IntegrationId: aws.String(s.defInt), IntegrationType: types.IntegrationTypeAwsProxy,
		RequestParameters: map[string]string{"integration.request.header.x": ""},
		TimeoutInMillis:   aws.Int32(5000),
	}))
	if len(ui.RequestParameters) != 1 || ui.RequestParameters["integration.request.header.connectionId"] != "context.connectionId" || *ui.TimeoutInMillis != 5000 {
		t.Errorf("integration after PATCH: params %v timeout %v", ui.RequestParameters, ui.TimeoutInMillis)
	}
	if *ui.IntegrationUri != lambdaARN+"default_lambda" {
		t.Errorf("PATCH changed integrationUri to %q", *ui.IntegrationUri)
	}

	// Listing deployments and stages.
	deps := must[*apigatewayv2.GetDeploymentsOutput](t)(c.GetDeployments(x, &apigatewayv2.GetDeploymentsInput{ApiId: aws.String(s.apiID)}))
	if len(deps.Items) != 1 || *deps.Items[0].DeploymentId != *dep.DeploymentId {
		t.Errorf("GetDeployments = %+v", deps.Items)
	}
	stages := must[*apigatewayv2.GetStagesOutput](t)(c.GetStages(x, &apigatewayv2.GetStagesInput{ApiId: aws.String(s.apiID)}))
	if len(stages.Items) != 1 || *stages.Items[0].StageName != "prod" {
		t.Errorf("GetStages = %+v", stages.Items)
	}

	// A deployment a stage uses cannot be deleted; after the stage is gone it can.
	_, err = c.DeleteDeployment(x, &apigatewayv2.DeleteDeploymentInput{ApiId: aws.String(s.apiID), DeploymentId: dep.DeploymentId})
	wantErr(t, err, "BadRequestException", 400)
	must[*apigatewayv2.DeleteStageOutput](t)(c.DeleteStage(x, &apigatewayv2.DeleteStageInput{ApiId: aws.String(s.apiID), StageName: aws.String("prod")}))
	must[*apigatewayv2.DeleteDeploymentOutput](t)(c.DeleteDeployment(x, &apigatewayv2.DeleteDeploymentInput{ApiId: aws.String(s.apiID), DeploymentId: dep.DeploymentId}))

	// Delete everything; reads of deleted resources are 404 NotFoundException.
	must[*apigatewayv2.DeleteRouteOutput](t)(c.DeleteRoute(x, &apigatewayv2.DeleteRouteInput{ApiId: aws.String(s.apiID), RouteId: aws.String(s.routes["$default"])}))
	_, err = c.GetRoute(x, &apigatewayv2.GetRouteInput{ApiId: aws.String(s.apiID), RouteId: aws.String(s.routes["$default"])})
	wantErr(t, err, "NotFoundException", 404)
	var nf *types.NotFoundException
	if errors.As(err, &nf) && aws.ToString(nf.ResourceType) != "Route" {
		t.Errorf("resourceType = %q, want Route", aws.ToString(nf.ResourceType))
	}
	must[*apigatewayv2.DeleteIntegrationOutput](t)(c.DeleteIntegration(x, &apigatewayv2.DeleteIntegrationInput{ApiId: aws.String(s.apiID), IntegrationId: aws.String(s.defInt)}))
	must[*apigatewayv2.DeleteApiOutput](t)(c.DeleteApi(x, &apigatewayv2.DeleteApiInput{ApiId: aws.String(s.apiID)}))
	_, err = c.GetApi(x, &apigatewayv2.GetApiInput{ApiId: aws.String(s.apiID)})
	wantErr(t, err, "NotFoundException", 404)
	_, err = c.DeleteApi(x, &apigatewayv2.DeleteApiInput{ApiId: aws.String(s.apiID)})
	wantErr(t, err, "NotFoundException", 404)
}

func TestErrors(t *testing.T) {
	gw := gwtest.Start(t, nil)
	c := gwtest.APIGatewayV2(gw.URL)
	x := ctx(t)

	_, err := c.CreateApi(x, &apigatewayv2.CreateApiInput{Name: aws.String("h"), ProtocolType: types.ProtocolTypeHttp})
	wantErr(t, err, "BadRequestException", 400)
	_, err = c.CreateApi(x, &apigatewayv2.CreateApiInput{Name: aws.String("bad"), ProtocolType: "GRPC", RouteSelectionExpression: aws.String("$request.body.action")})
	wantErr(t, err, "BadRequestException", 400)
	_, err = c.CreateApi(x, &apigatewayv2.CreateApiInput{Name: aws.String("nors"), ProtocolType: types.ProtocolTypeWebsocket})
	wantErr(t, err, "BadRequestException", 400)
	_, err = c.CreateApi(x, &apigatewayv2.CreateApiInput{Name: aws.String("badrse"), ProtocolType: types.ProtocolTypeWebsocket, RouteSelectionExpression: aws.String("${request.body.action")})
	wantErr(t, err, "BadRequestException", 400)

	_, err = c.GetApi(x, &apigatewayv2.GetApiInput{ApiId: aws.String("abcdefghij")})
	wantErr(t, err, "NotFoundException", 404)
	var nf *types.NotFoundException
	if !errors.As(err, &nf) || aws.ToString(nf.ResourceType) != "Api" {
		t.Errorf("NotFoundException resourceType: %v", err)
	}
	_, err = c.GetRoutes(x, &apigatewayv2.GetRoutesInput{ApiId: aws.String("abcdefghij")})
	wantErr(t, err, "NotFoundException", 404)

	s := createSeed(t, c)
	id := aws.String(s.apiID)

	// Duplicate route key.
	_, err = c.CreateRoute(x, &apigatewayv2.CreateRouteInput{ApiId: id, RouteKey: aws.String("$connect")})
	wantErr(t, err, "ConflictException", 409)
	// Authorization on a route other than $connect.
	_, err = c.CreateRoute(x, &apigatewayv2.CreateRouteInput{ApiId: id, RouteKey: aws.String("send"), AuthorizationType: types.AuthorizationTypeAwsIam})
	wantErr(t, err, "BadRequestException", 400)
	_, err = c.UpdateRoute(x, &apigatewayv2.UpdateRouteInput{ApiId: id, RouteId: aws.String(s.routes["$default"]), AuthorizationType: types.AuthorizationTypeAwsIam})
	wantErr(t, err, "BadRequestException", 400)
	must[*apigatewayv2.UpdateRouteOutput](t)(c.UpdateRoute(x, &apigatewayv2.UpdateRouteInput{ApiId: id, RouteId: aws.String(s.routes["$connect"]), AuthorizationType: types.AuthorizationTypeAwsIam}))
	// Invalid enums and missing members.
	_, err = c.CreateIntegration(x, &apigatewayv2.CreateIntegrationInput{ApiId: id, IntegrationType: "LAMBDA"})
	wantErr(t, err, "BadRequestException", 400)
	_, err = c.CreateIntegration(x, &apigatewayv2.CreateIntegrationInput{ApiId: id, IntegrationType: types.IntegrationTypeAwsProxy})
	wantErr(t, err, "BadRequestException", 400)
	_, err = c.CreateIntegration(x, &apigatewayv2.CreateIntegrationInput{ApiId: id, IntegrationType: types.IntegrationTypeMock, TimeoutInMillis: aws.Int32(30000)})
	wantErr(t, err, "BadRequestException", 400)
	_, err = c.CreateStage(x, &apigatewayv2.CreateStageInput{ApiId: id, StageName: aws.String("prod"), DefaultRouteSettings: &types.RouteSettings{LoggingLevel: "LOUD"}})
	wantErr(t, err, "BadRequestException", 400)
	_, err = c.CreateRoute(x, &apigatewayv2.CreateRouteInput{ApiId: id, RouteKey: aws.String("x"), Target: aws.String("integrations/nope123")})
	wantErr(t, err, "BadRequestException", 400)
	// Missing children.
	_, err = c.GetIntegration(x, &apigatewayv2.GetIntegrationInput{ApiId: id, IntegrationId: aws.String("nope123")})
	wantErr(t, err, "NotFoundException", 404)
	_, err = c.GetRouteResponses(x, &apigatewayv2.GetRouteResponsesInput{ApiId: id, RouteId: aws.String("nope123")})
	wantErr(t, err, "NotFoundException", 404)
	_, err = c.GetStage(x, &apigatewayv2.GetStageInput{ApiId: id, StageName: aws.String("nope")})
	wantErr(t, err, "NotFoundException", 404)
	_, err = c.CreateDeployment(x, &apigatewayv2.CreateDeploymentInput{ApiId: id, StageName: aws.String("nope")})
	wantErr(t, err, "NotFoundException", 404)
	// An integration in use cannot be deleted.
	_, err = c.DeleteIntegration(x, &apigatewayv2.DeleteIntegrationInput{ApiId: id, IntegrationId: aws.String(s.connectInt)})
	wantErr(t, err, "ConflictException", 409)

	// Deploying an API with no routes.
	empty := must[*apigatewayv2.CreateApiOutput](t)(c.CreateApi(x, &apigatewayv2.CreateApiInput{
		Name: aws.String("empty"), ProtocolType: types.ProtocolTypeWebsocket, RouteSelectionExpression: aws.String("$request.body.action"),
	}))
	_, err = c.CreateDeployment(x, &apigatewayv2.CreateDeploymentInput{ApiId: empty.ApiId})
	wantErr(t, err, "BadRequestException", 400)
	var br *types.BadRequestException
	if !errors.As(err, &br) || aws.ToString(br.Message) != "At least one route is required before deploying the Api" {
		t.Errorf("no-routes deployment message: %v", err)
	}
}

func TestRouteResponsesAndIntegrationResponses(t *testing.T) {
	gw := gwtest.Start(t, nil)
	c := gwtest.APIGatewayV2(gw.URL)
	x := ctx(t)
	s := createSeed(t, c)
	id := aws.String(s.apiID)

	rr := must[*apigatewayv2.CreateRouteResponseOutput](t)(c.CreateRouteResponse(x, &apigatewayv2.CreateRouteResponseInput{
		ApiId: id, RouteId: aws.String(s.routes["$default"]), RouteResponseKey: aws.String("$default"),
	}))
	_, err := c.CreateRouteResponse(x, &apigatewayv2.CreateRouteResponseInput{ApiId: id, RouteId: aws.String(s.routes["$default"]), RouteResponseKey: aws.String("$default")})
	wantErr(t, err, "ConflictException", 409)
	_, err = c.CreateRouteResponse(x, &apigatewayv2.CreateRouteResponseInput{ApiId: id, RouteId: aws.String(s.routes["$default"]), RouteResponseKey: aws.String("ok")})
	wantErr(t, err, "BadRequestException", 400)
	got := must[*apigatewayv2.GetRouteResponseOutput](t)(c.GetRouteResponse(x, &apigatewayv2.GetRouteResponseInput{ApiId: id, RouteId: aws.String(s.routes["$default"]), RouteResponseId: rr.RouteResponseId}))
	if *got.RouteResponseKey != "$default" {
		t.Errorf("GetRouteResponse = %+v", got)
	}
	must[*apigatewayv2.UpdateRouteOutput](t)(c.UpdateRoute(x, &apigatewayv2.UpdateRouteInput{ApiId: id, RouteId: aws.String(s.routes["$default"]), RouteResponseSelectionExpression: aws.String("$default")}))

	mock := must[*apigatewayv2.CreateIntegrationOutput](t)(c.CreateIntegration(x, &apigatewayv2.CreateIntegrationInput{
		ApiId: id, IntegrationType: types.IntegrationTypeMock,
		RequestTemplates:            map[string]string{"$default": `{"statusCode": 200}`},
		TemplateSelectionExpression: aws.String("\\$default"),
	}))
	if aws.ToString(mock.IntegrationResponseSelectionExpression) != "${integration.response.statuscode}" {
		t.Errorf("MOCK integrationResponseSelectionExpression = %q", aws.ToString(mock.IntegrationResponseSelectionExpression))
	}
	ir := must[*apigatewayv2.CreateIntegrationResponseOutput](t)(c.CreateIntegrationResponse(x, &apigatewayv2.CreateIntegrationResponseInput{
		ApiId: id, IntegrationId: mock.IntegrationId, IntegrationResponseKey: aws.String("/2\\d\\d/"),
		ResponseTemplates: map[string]string{"$default": `{"ok": true}`},
	}))
	_, err = c.CreateIntegrationResponse(x, &apigatewayv2.CreateIntegrationResponseInput{ApiId: id, IntegrationId: mock.IntegrationId, IntegrationResponseKey: aws.String("2xx")})
	wantErr(t, err, "BadRequestException", 400)
	irs := must[*apigatewayv2.GetIntegrationResponsesOutput](t)(c.GetIntegrationResponses(x, &apigatewayv2.GetIntegrationResponsesInput{ApiId: id, IntegrationId: mock.IntegrationId}))
	if len(irs.Items) != 1 || *irs.Items[0].IntegrationResponseId != *ir.IntegrationResponseId {
		t.Errorf("GetIntegrationResponses = %+v", irs.Items)
	}
	must[*apigatewayv2.DeleteIntegrationResponseOutput](t)(c.DeleteIntegrationResponse(x, &apigatewayv2.DeleteIntegrationResponseInput{ApiId: id, IntegrationId: mock.IntegrationId, IntegrationResponseId: ir.IntegrationResponseId}))
	must[*apigatewayv2.DeleteRouteResponseOutput](t)(c.DeleteRouteResponse(x, &apigatewayv2.DeleteRouteResponseInput{ApiId: id, RouteId: aws.String(s.routes["$default"]), RouteResponseId: rr.RouteResponseId}))
}

func TestAuthorizersModelsTags(t *testing.T) {
	gw := gwtest.Start(t, nil)
	c := gwtest.APIGatewayV2(gw.URL)
	x := ctx(t)
	s := createSeed(t, c)
	id := aws.String(s.apiID)

	auth := must[*apigatewayv2.CreateAuthorizerOutput](t)(c.CreateAuthorizer(x, &apigatewayv2.CreateAuthorizerInput{
		ApiId: id, AuthorizerType: types.AuthorizerTypeRequest, Name: aws.String("auth"),
		IdentitySource: []string{"route.request.querystring.token"},
		AuthorizerUri:  aws.String("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + lambdaARN + "auth/invocations"),
	}))
	_, err := c.CreateAuthorizer(x, &apigatewayv2.CreateAuthorizerInput{ApiId: id, AuthorizerType: types.AuthorizerTypeJwt, Name: aws.String("jwt"), IdentitySource: []string{"$request.header.Authorization"}})
	wantErr(t, err, "BadRequestException", 400)
	must[*apigatewayv2.UpdateRouteOutput](t)(c.UpdateRoute(x, &apigatewayv2.UpdateRouteInput{ApiId: id, RouteId: aws.String(s.routes["$connect"]), AuthorizationType: types.AuthorizationTypeCustom, AuthorizerId: auth.AuthorizerId}))
	_, err = c.DeleteAuthorizer(x, &apigatewayv2.DeleteAuthorizerInput{ApiId: id, AuthorizerId: auth.AuthorizerId})
	wantErr(t, err, "ConflictException", 409)
	_, err = c.ResetAuthorizersCache(x, &apigatewayv2.ResetAuthorizersCacheInput{ApiId: id, StageName: aws.String("nope")})
	wantErr(t, err, "NotFoundException", 404)

	schema := `{"$schema":"http://json-schema.org/draft-04/schema#","type":"object","properties":{"action":{"type":"string"},"n":{"type":"integer"}},"required":["action"]}`
	m := must[*apigatewayv2.CreateModelOutput](t)(c.CreateModel(x, &apigatewayv2.CreateModelInput{ApiId: id, Name: aws.String("Message"), Schema: aws.String(schema), ContentType: aws.String("application/json")}))
	_, err = c.CreateModel(x, &apigatewayv2.CreateModelInput{ApiId: id, Name: aws.String("Message"), Schema: aws.String(schema)})
	wantErr(t, err, "ConflictException", 409)
	_, err = c.CreateModel(x, &apigatewayv2.CreateModelInput{ApiId: id, Name: aws.String("Bad"), Schema: aws.String("{not json")})
	wantErr(t, err, "BadRequestException", 400)
	tpl := must[*apigatewayv2.GetModelTemplateOutput](t)(c.GetModelTemplate(x, &apigatewayv2.GetModelTemplateInput{ApiId: id, ModelId: m.ModelId}))
	if tpl.Value == nil || !strings.Contains(*tpl.Value, `"action" : "$inputRoot.action"`) {
		t.Errorf("GetModelTemplate = %q", aws.ToString(tpl.Value))
	}
	must[*apigatewayv2.UpdateRouteOutput](t)(c.UpdateRoute(x, &apigatewayv2.UpdateRouteInput{ApiId: id, RouteId: aws.String(s.routes["$default"]), RequestModels: map[string]string{"$default": "Message"}, ModelSelectionExpression: aws.String("$default")}))
	_, err = c.DeleteModel(x, &apigatewayv2.DeleteModelInput{ApiId: id, ModelId: m.ModelId})
	wantErr(t, err, "ConflictException", 409)

	// Tags on the API and on a stage, addressed by ARN (with %2F in the path).
	must[*apigatewayv2.CreateStageOutput](t)(c.CreateStage(x, &apigatewayv2.CreateStageInput{ApiId: id, StageName: aws.String("dev"), Tags: map[string]string{"env": "dev"}}))
	apiARN := "arn:aws:apigateway:us-east-1::/apis/" + s.apiID
	must[*apigatewayv2.TagResourceOutput](t)(c.TagResource(x, &apigatewayv2.TagResourceInput{ResourceArn: aws.String(apiARN), Tags: map[string]string{"team": "rt", "cost": "1"}}))
	must[*apigatewayv2.UntagResourceOutput](t)(c.UntagResource(x, &apigatewayv2.UntagResourceInput{ResourceArn: aws.String(apiARN), TagKeys: []string{"cost", "absent"}}))
	tags := must[*apigatewayv2.GetTagsOutput](t)(c.GetTags(x, &apigatewayv2.GetTagsInput{ResourceArn: aws.String(apiARN)}))
	if len(tags.Tags) != 1 || tags.Tags["team"] != "rt" {
		t.Errorf("GetTags(api) = %v", tags.Tags)
	}
	api := must[*apigatewayv2.GetApiOutput](t)(c.GetApi(x, &apigatewayv2.GetApiInput{ApiId: id}))
	if api.Tags["team"] != "rt" {
		t.Errorf("GetApi tags = %v", api.Tags)
	}
	stTags := must[*apigatewayv2.GetTagsOutput](t)(c.GetTags(x, &apigatewayv2.GetTagsInput{ResourceArn: aws.String(apiARN + "/stages/dev")}))
	if stTags.Tags["env"] != "dev" {
		t.Errorf("GetTags(stage) = %v", stTags.Tags)
	}
	_, err = c.GetTags(x, &apigatewayv2.GetTagsInput{ResourceArn: aws.String("arn:aws:apigateway:us-east-1::/apis/zzzzzzzzzz")})
	wantErr(t, err, "NotFoundException", 404)
	_, err = c.GetTags(x, &apigatewayv2.GetTagsInput{ResourceArn: aws.String("arn:aws:s3:::bucket")})
	wantErr(t, err, "BadRequestException", 400)
}

func TestPagination(t *testing.T) {
	gw := gwtest.Start(t, nil)
	c := gwtest.APIGatewayV2(gw.URL)
	x := ctx(t)
	api := must[*apigatewayv2.CreateApiOutput](t)(c.CreateApi(x, &apigatewayv2.CreateApiInput{
		Name: aws.String("many"), ProtocolType: types.ProtocolTypeWebsocket, RouteSelectionExpression: aws.String("$request.body.action"),
	}))
	want := map[string]bool{}
	for i := range 7 {
		r := must[*apigatewayv2.CreateRouteOutput](t)(c.CreateRoute(x, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String(fmt.Sprintf("r%d", i))}))
		want[*r.RouteId] = true
	}
	seen := map[string]bool{}
	pages := 0
	var next *string
	for {
		out := must[*apigatewayv2.GetRoutesOutput](t)(c.GetRoutes(x, &apigatewayv2.GetRoutesInput{ApiId: api.ApiId, MaxResults: aws.String("3"), NextToken: next}))
		pages++
		if len(out.Items) > 3 {
			t.Fatalf("page of %d items with maxResults 3", len(out.Items))
		}
		for _, r := range out.Items {
			if seen[*r.RouteId] {
				t.Fatalf("route %s returned twice", *r.RouteId)
			}
			seen[*r.RouteId] = true
		}
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		if next = out.NextToken; next == nil {
			break
		}
	}
	if pages != 3 || len(seen) != len(want) {
		t.Errorf("%d pages, %d routes; want 3 pages, %d routes", pages, len(seen), len(want))
	}
	_, err := c.GetRoutes(x, &apigatewayv2.GetRoutesInput{ApiId: api.ApiId, MaxResults: aws.String("x")})
	wantErr(t, err, "BadRequestException", 400)
	_, err = c.GetRoutes(x, &apigatewayv2.GetRoutesInput{ApiId: api.ApiId, NextToken: aws.String("!!!")})
	wantErr(t, err, "BadRequestException", 400)
}

func TestAutoDeploy(t *testing.T) {
	gw := gwtest.Start(t, nil)
	c := gwtest.APIGatewayV2(gw.URL)
	x := ctx(t)
	s := createSeed(t, c)
	id := aws.String(s.apiID)
	st := must[*apigatewayv2.CreateStageOutput](t)(c.CreateStage(x, &apigatewayv2.CreateStageInput{ApiId: id, StageName: aws.String("live"), AutoDeploy: aws.Bool(true)}))
	if st.DeploymentId == nil || !strings.Contains(aws.ToString(st.LastDeploymentStatusMessage), *st.DeploymentId) {
		t.Fatalf("autoDeploy stage: deploymentId %v message %q", st.DeploymentId, aws.ToString(st.LastDeploymentStatusMessage))
	}
	first := *st.DeploymentId
	must[*apigatewayv2.CreateRouteOutput](t)(c.CreateRoute(x, &apigatewayv2.CreateRouteInput{ApiId: id, RouteKey: aws.String("send"), Target: aws.String("integrations/" + s.defInt)}))
	got := must[*apigatewayv2.GetStageOutput](t)(c.GetStage(x, &apigatewayv2.GetStageInput{ApiId: id, StageName: aws.String("live")}))
	if aws.ToString(got.DeploymentId) == first {
		t.Fatalf("autoDeploy stage still on %s after a route change", first)
	}
	dep := must[*apigatewayv2.GetDeploymentOutput](t)(c.GetDeployment(x, &apigatewayv2.GetDeploymentInput{ApiId: id, DeploymentId: got.DeploymentId}))
	if !aws.ToBool(dep.AutoDeployed) {
		t.Errorf("deployment %s: autoDeployed false", *got.DeploymentId)
	}
	// Earlier automatic deployments are pruned.
	_, err := c.GetDeployment(x, &apigatewayv2.GetDeploymentInput{ApiId: id, DeploymentId: aws.String(first)})
	wantErr(t, err, "NotFoundException", 404)
	_, err = c.CreateDeployment(x, &apigatewayv2.CreateDeploymentInput{ApiId: id, StageName: aws.String("live")})
	wantErr(t, err, "BadRequestException", 400)
}

func TestUnsignedAndUnknown(t *testing.T) {
	gw := gwtest.Start(t, nil)
	resp, err := http.Get(gw.URL + "/v2/apis")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 || resp.Header.Get("x-amzn-ErrorType") != "MissingAuthenticationTokenException" || resp.Header.Get("x-amzn-RequestId") == "" {
		t.Errorf("unsigned request: %d %q", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"))
	}
}
