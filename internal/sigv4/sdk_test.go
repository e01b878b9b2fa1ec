package sigv4

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/gorilla/websocket"
)

// TestRealSDKClients drives the real apigatewayv2 and
// apigatewaymanagementapi clients (their serializers, middleware and
// signer, on the real clock) against a verifying server.
func TestRealSDKClients(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	creds := credentials.NewStaticCredentialsProvider(testAKID, testSecret, "session-token/+=")

	v2 := newVerifyServer(t, &Verifier{Service: "apigateway", Lookup: testLookup()})
	cp := apigatewayv2.New(apigatewayv2.Options{
		BaseEndpoint: aws.String(v2.URL), Region: "us-east-1", Credentials: creds,
		RetryMaxAttempts: 1, HTTPClient: v2.Client(),
	})
	mg := newVerifyServer(t, &Verifier{Service: "execute-api", Lookup: testLookup()})
	mc := apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint: aws.String(mg.URL + "/prod"), Region: "eu-central-1", Credentials: creds,
		RetryMaxAttempts: 1, HTTPClient: mg.Client(),
	})

	tests := []struct {
		name string
		srv  *verifyServer
		call func() error
	}{
		{name: "CreateApi", srv: v2, call: func() error {
			_, err := cp.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("x"), ProtocolType: "WEBSOCKET",
				RouteSelectionExpression: aws.String("$request.body.action")})
			return err
		}},
		{name: "GetApis", srv: v2, call: func() error {
			_, err := cp.GetApis(ctx, &apigatewayv2.GetApisInput{MaxResults: aws.String("5"), NextToken: aws.String("a/b c+d=")})
			return err
		}},
		{name: "UntagResource", srv: v2, call: func() error {
			_, err := cp.UntagResource(ctx, &apigatewayv2.UntagResourceInput{
				ResourceArn: aws.String("arn:aws:apigateway:us-east-1::/apis/a1"), TagKeys: []string{"b", "a"}})
			return err
		}},
		{name: "DeleteRouteSettings", srv: v2, call: func() error {
			_, err := cp.DeleteRouteSettings(ctx, &apigatewayv2.DeleteRouteSettingsInput{
				ApiId: aws.String("a1"), StageName: aws.String("prod"), RouteKey: aws.String("$default")})
			return err
		}},
		{name: "UpdateStage", srv: v2, call: func() error {
			_, err := cp.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{
				ApiId: aws.String("a1"), StageName: aws.String("prod"), StageVariables: map[string]string{"k": ""}})
			return err
		}},
		{name: "PostToConnection", srv: mg, call: func() error {
			_, err := mc.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
				ConnectionId: aws.String("R1kmxc2VNjMCFIA="), Data: allBytes()})
			return err
		}},
		{name: "GetConnection", srv: mg, call: func() error {
			_, err := mc.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String("R1kmxc2VNjMCFIA=")})
			return err
		}},
		{name: "DeleteConnection", srv: mg, call: func() error {
			_, err := mc.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String("a/b+c=")})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The server answers "{}", which every one of these outputs
			// accepts; what matters is the server's verdict.
			if err := tt.call(); err != nil {
				t.Logf("client error (ignored): %v", err)
			}
			o := tt.srv.next(t)
			if o.kind != "ok" {
				t.Fatalf("verify: %v", o.err)
			}
			if o.id.AccessKeyID != testAKID || o.id.SessionToken != "session-token/+=" || o.id.Presigned {
				t.Errorf("identity = %+v", o.id)
			}
		})
	}

	t.Run("wrong service answers like AWS", func(t *testing.T) {
		// The management client pointed at the control plane's verifier.
		wrong := apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
			BaseEndpoint: aws.String(v2.URL + "/prod"), Region: "us-east-1", Credentials: creds,
			RetryMaxAttempts: 1, HTTPClient: v2.Client(),
		})
		_, err := wrong.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String("x")})
		if o := v2.next(t); o.kind != "wrong-service" {
			t.Fatalf("got %s (%v), want wrong-service", o.kind, o.err)
		}
		var apiErr interface {
			ErrorCode() string
			ErrorMessage() string
		}
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidSignatureException" ||
			apiErr.ErrorMessage() != "Credential should be scoped to correct service: 'apigateway'. " {
			t.Errorf("client saw %v", err)
		}
	})
}

// TestWebSocketUpgrade sends signed upgrade requests from a real WebSocket
// client (gorilla), which adds its own unsigned headers.
func TestWebSocketUpgrade(t *testing.T) {
	srv := newVerifyServer(t, &Verifier{Service: "execute-api", Lookup: testLookup()})
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/prod?room=a%20b"
	dial := func(t *testing.T, u string, hdr http.Header) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, resp, err := websocket.DefaultDialer.DialContext(ctx, u, hdr)
		if conn != nil {
			conn.Close()
		}
		if resp != nil {
			resp.Body.Close()
		}
		if !errors.Is(err, websocket.ErrBadHandshake) { // the server never upgrades
			t.Fatalf("dial: %v", err)
		}
	}

	t.Run("presigned", func(t *testing.T) {
		req := newRequest(t, http.MethodGet, strings.Replace(wsURL, "?", "?X-Amz-Expires=60&", 1), nil, nil)
		signed, _, err := v4.NewSigner().PresignHTTP(context.Background(), testCreds(), req, emptyHash,
			"execute-api", "us-east-1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		dial(t, signed, nil)
		if o := srv.next(t); o.kind != "ok" || !o.id.Presigned {
			t.Fatalf("got %s %+v (%v)", o.kind, o.id, o.err)
		}
	})
	t.Run("header signed", func(t *testing.T) {
		req := newRequest(t, http.MethodGet, wsURL, nil, nil)
		signHeaders(t, req, nil, testCreds(), "execute-api", "us-east-1", time.Now())
		dial(t, wsURL, http.Header{"Authorization": req.Header["Authorization"], "X-Amz-Date": req.Header["X-Amz-Date"]})
		if o := srv.next(t); o.kind != "ok" || o.id.Presigned {
			t.Fatalf("got %s %+v (%v)", o.kind, o.id, o.err)
		}
	})
	t.Run("unsigned", func(t *testing.T) {
		dial(t, wsURL, nil)
		if o := srv.next(t); o.kind != "missing" {
			t.Fatalf("got %s (%v), want missing", o.kind, o.err)
		}
	})
}
