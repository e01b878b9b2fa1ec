package apigw

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func s(v string) *string { return &v }

func env() *Env { return &Env{Now: time.Unix(1700000000, 5e8), Limits: DefaultLimits()} }

func newDoc(t *testing.T) *Document {
	t.Helper()
	d, err := CreateAPI(env(), "abc", &APIInput{Name: s("x"), ProtocolType: s("WEBSOCKET"), RouteSelectionExpression: s("$request.body.action")})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestParseResourceARN(t *testing.T) {
	for _, tc := range []struct {
		name, arn  string
		api, stage string
		wantErr    bool
	}{
		{name: "api", arn: "arn:aws:apigateway:us-east-1::/apis/a1", api: "a1"},
		{name: "stage", arn: "arn:aws:apigateway:eu-west-1::/apis/a1/stages/prod", api: "a1", stage: "prod"},
		{name: "other partition", arn: "arn:aws-cn:apigateway:cn-north-1::/apis/a1", api: "a1"},
		{name: "other service", arn: "arn:aws:s3:::bucket", wantErr: true},
		{name: "route", arn: "arn:aws:apigateway:us-east-1::/apis/a1/routes/r1", wantErr: true},
		{name: "empty api", arn: "arn:aws:apigateway:us-east-1::/apis/", wantErr: true},
		{name: "garbage", arn: "nope", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseResourceARN(tc.arn)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err == nil && (r.APIID != tc.api || r.Stage != tc.stage) {
				t.Errorf("got %+v", r)
			}
		})
	}
}

func TestTimestampsAreSecondsISO(t *testing.T) {
	d := newDoc(t)
	b, _ := json.Marshal(d.API)
	if !strings.Contains(string(b), `"createdDate":"2023-11-14T22:13:20Z"`) {
		t.Fatalf("createdDate not an ISO-8601 string without fraction: %s", b)
	}
}

func TestStageVariableRules(t *testing.T) {
	d := newDoc(t)
	for _, tc := range []struct {
		name string
		vars map[string]*string
		ok   bool
	}{
		{name: "valid", vars: map[string]*string{"fn_name": s("default_lambda:live")}, ok: true},
		{name: "bad name", vars: map[string]*string{"a-b": s("x")}},
		{name: "bad value", vars: map[string]*string{"a": s("has space")}},
		{name: "empty on create", vars: map[string]*string{"a": s("")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.CreateStage(env(), &StageInput{StageName: s("s" + strings.ReplaceAll(tc.name, " ", "")), StageVariables: tc.vars})
			if (err == nil) != tc.ok {
				t.Errorf("err = %v", err)
			}
		})
	}
}

func TestIntegrationDefaultsAndMerge(t *testing.T) {
	d := newDoc(t)
	it, err := d.CreateIntegration(env(), &IntegrationInput{IntegrationType: s("AWS"), IntegrationURI: s("arn:aws:lambda:us-east-1:1:function:f"),
		RequestParameters: map[string]*string{"integration.request.header.a": s("'x'"), "integration.request.header.b": s("context.connectionId")}})
	if err != nil {
		t.Fatal(err)
	}
	if it.IntegrationMethod != "POST" || it.TimeoutInMillis != 29000 || it.ConnectionType != "INTERNET" || it.PassthroughBehavior != "WHEN_NO_MATCH" ||
		it.PayloadFormatVersion != "1.0" || it.IntegrationResponseSelectionExpression != "${integration.response.body.errorMessage}" {
		t.Errorf("defaults: %+v", it)
	}
	up, err := d.UpdateIntegration(it.IntegrationID, &IntegrationInput{RequestParameters: map[string]*string{"integration.request.header.a": s(""), "integration.request.querystring.q": s("stageVariables.v")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(up.RequestParameters) != 2 || up.RequestParameters["integration.request.header.b"] == "" || up.RequestParameters["integration.request.header.a"] != "" {
		t.Errorf("merge: %v", up.RequestParameters)
	}
	if _, err := d.UpdateIntegration(it.IntegrationID, &IntegrationInput{RequestParameters: map[string]*string{"bogus": s("x")}}); err == nil {
		t.Error("a bad request parameter key was accepted")
	}
	// A failed update leaves the integration as it was.
	if got := d.Integrations[it.IntegrationID].RequestParameters; len(got) != 2 {
		t.Errorf("failed update changed the integration: %v", got)
	}
}

func TestRouteAuthorizationRules(t *testing.T) {
	d := newDoc(t)
	a, err := d.CreateAuthorizer(env(), &AuthorizerInput{Name: s("a"), AuthorizerType: s("REQUEST"), IdentitySource: []string{"route.request.header.Auth"}, AuthorizerURI: s("arn:aws:lambda:us-east-1:1:function:auth")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateRoute(env(), &RouteInput{RouteKey: s("$connect"), AuthorizationType: s("CUSTOM")}); err == nil {
		t.Error("CUSTOM without an authorizerId was accepted")
	}
	r, err := d.CreateRoute(env(), &RouteInput{RouteKey: s("$connect"), AuthorizationType: s("CUSTOM"), AuthorizerID: s(a.AuthorizerID)})
	if err != nil {
		t.Fatal(err)
	}
	// Switching back to NONE clears the authorizer.
	r, err = d.UpdateRoute(r.RouteID, &RouteInput{AuthorizationType: s("NONE")})
	if err != nil || r.AuthorizerID != "" {
		t.Errorf("NONE kept authorizer %q: %v", r.AuthorizerID, err)
	}
	if _, err := d.CreateRoute(env(), &RouteInput{RouteKey: s("x"), RequestParameters: map[string]ParameterConstraints{"route.request.header.a": {Required: true}}}); err == nil {
		t.Error("request parameters on a non-$connect route were accepted")
	}
}

func TestLimits(t *testing.T) {
	d := newDoc(t)
	e := env()
	e.Limits.Stages = 2
	for i := range 2 {
		if _, err := d.CreateStage(e, &StageInput{StageName: s(string(rune('a' + i)))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.CreateStage(e, &StageInput{StageName: s("c")}); err == nil || err.Status != 400 {
		t.Errorf("stage limit: %v", err)
	}
}

func TestAPIFromHost(t *testing.T) {
	for _, tc := range []struct{ host, want string }{
		{host: "abc123.execute-api.us-east-1.amazonaws.com", want: "abc123"},
		{host: "ABC123.Execute-Api.localhost:8080", want: "abc123"},
		{host: "abc123.execute-api.", want: "abc123"},
		{host: "127.0.0.1:8080", want: ""},
		{host: "abc123.example.com", want: ""},
		{host: "a_b.execute-api.x", want: ""},
		{host: "", want: ""},
	} {
		if got := APIFromHost(tc.host); got != tc.want {
			t.Errorf("APIFromHost(%q) = %q, want %q", tc.host, got, tc.want)
		}
	}
}
