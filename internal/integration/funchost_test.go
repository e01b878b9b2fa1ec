package integration

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/wsgate/wsgate/internal/funchost"
)

// newHost runs the echo handler as local function "echo" on a real function
// host, closed when the test ends.
func newHost(t *testing.T) *funchost.Host {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	h, err := funchost.New(funchost.Options{
		Functions: []funchost.Function{{
			Name:    "echo",
			Command: []string{"./" + filepath.Base(echoBinary)},
			Dir:     filepath.Dir(echoBinary),
			Timeout: 5 * time.Second,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Errorf("host Close: %v", err)
		}
	})
	return h
}

type echoOutput struct {
	Event     json.RawMessage `json:"event"`
	Env       string          `json:"env"`
	RequestID string          `json:"requestId"`
}

func TestLambdaLocalFunctionHost(t *testing.T) {
	host := newHost(t)
	// The remote endpoint must never be used for a local function: point
	// it at nothing.
	l := NewLambda(LambdaOptions{Local: host, RemoteEndpoint: "http://127.0.0.1:1", Credentials: testCreds})
	defer l.CloseIdleConnections()

	for _, tc := range []struct {
		name string
		uri  string
	}{
		{name: "bare name", uri: "echo"},
		{name: "ARN of another account and a qualifier", uri: "arn:aws:lambda:eu-west-1:210987654321:function:echo:live"},
		{name: "invocation URI", uri: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:echo/invocations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := l.Invoke(context.Background(), Call{
				URI:     tc.uri,
				Body:    []byte(`{"env":"AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI"}`),
				Env:     map[string]string{"AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI": "http://127.0.0.1:8080/dev"},
				Timeout: 10 * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			var out echoOutput
			if err := json.Unmarshal(res.Body, &out); err != nil {
				t.Fatalf("body %q: %v", res.Body, err)
			}
			if res.Status != 200 || res.FunctionError != "" || out.Env != "http://127.0.0.1:8080/dev" ||
				string(out.Event) != `{"env":"AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI"}` {
				t.Errorf("Invoke = %d %q %s", res.Status, res.FunctionError, res.Body)
			}
			if res.RequestID == "" || res.RequestID != out.RequestID {
				t.Errorf("RequestID = %q; the handler saw %q", res.RequestID, out.RequestID)
			}
		})
	}

	res, err := l.Invoke(context.Background(), Call{URI: "echo", Body: []byte(`{"fail":"no luck"}`), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ ErrorMessage, ErrorType string }
	if err := json.Unmarshal(res.Body, &doc); err != nil || res.FunctionError != "Unhandled" || doc.ErrorMessage != "no luck" {
		t.Errorf("function error = %d %q %s (%v)", res.Status, res.FunctionError, res.Body, err)
	}
	if res.Header.Get("X-Amz-Function-Error") != "Unhandled" {
		t.Errorf("Header = %v", res.Header)
	}

	const timeout = 200 * time.Millisecond
	start := time.Now()
	_, err = l.Invoke(context.Background(), Call{URI: "echo", Body: []byte(`{"sleepMs":3000}`), Timeout: timeout})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Invoke of a slow handler = %v; want ErrTimeout", err)
	}
	if d := time.Since(start); d > timeout+2*time.Second {
		t.Errorf("timeout took %v", d)
	}

	// A name the host does not have goes remote; with remote disabled it
	// is ErrUnknownFunction.
	_, err = NewLambda(LambdaOptions{Local: host, RemoteDisabled: true}).Invoke(context.Background(), Call{URI: "other"})
	if !errors.Is(err, ErrUnknownFunction) {
		t.Fatalf("Invoke of an unknown function = %v; want ErrUnknownFunction", err)
	}
}

// TestInvokeAPIFunctionHost fronts the real host with the Invoke API and
// calls it with the AWS SDK, as another tool or wsgate node would.
func TestInvokeAPIFunctionHost(t *testing.T) {
	s := startInvokeAPI(t, InvokeAPIOptions{Local: newHost(t)})
	client := sdkClient(s.srv.URL)
	out, err := client.Invoke(context.Background(), &lambda.InvokeInput{
		FunctionName: aws.String("arn:aws:lambda:us-east-1:000000000000:function:echo"),
		Payload:      []byte(`{"hello":"world"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out.Payload), `"event":{"hello":"world"}`) || out.FunctionError != nil {
		t.Errorf("Invoke = %s %v", out.Payload, aws.ToString(out.FunctionError))
	}
	out, err = client.Invoke(context.Background(), &lambda.InvokeInput{
		FunctionName: aws.String("echo"),
		Payload:      []byte(`{"fail":"bad input"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), `"errorMessage":"bad input"`) {
		t.Errorf("function error = %s %v", out.Payload, aws.ToString(out.FunctionError))
	}
}
