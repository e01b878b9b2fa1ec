package integration

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

// remoteLambda is a Lambda client whose remote endpoint is an InvokeAPI
// served on 127.0.0.1 in front of local.
func remoteLambda(t *testing.T, local Local, opts LambdaOptions) (*Lambda, *invokeServer) {
	t.Helper()
	s := startInvokeAPI(t, InvokeAPIOptions{Local: local, Region: "eu-west-1", AccountID: "123456789012"})
	opts.RemoteEndpoint = s.srv.URL
	opts.Credentials = testCreds
	if opts.Region == "" {
		opts.Region = "eu-west-1"
	}
	l := NewLambda(opts)
	t.Cleanup(l.CloseIdleConnections)
	return l, s
}

const testARN = "arn:aws:lambda:eu-west-1:123456789012:function:"

func TestLambdaRemote(t *testing.T) {
	l, s := remoteLambda(t, newTestLocal(), LambdaOptions{})
	for _, tc := range []struct {
		name      string
		uri       string
		body      string
		want      string
		funcErr   string
		requestID string
		path      string // FunctionName as the server saw it
		qualifier string
	}{
		{name: "bare name", uri: "echo", body: `{"x":1}`, want: `{"x":1}`,
			requestID: "11111111-2222-4333-8444-555555555555", path: "/2015-03-31/functions/echo/invocations"},
		{name: "function ARN", uri: testARN + "echo", body: `"hi"`, want: `"hi"`,
			path: "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Aecho/invocations"},
		{name: "qualified ARN", uri: testARN + "echo:live", body: `1`, want: `1`,
			path:      "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Aecho/invocations",
			qualifier: "live"},
		{name: "invocation URI with version",
			uri:  "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/" + testARN + "echo:7/invocations",
			body: `{}`, want: `{}`,
			path:      "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Aecho/invocations",
			qualifier: "7"},
		{name: "bare name with alias", uri: "echo:prod", body: `[]`, want: `[]`,
			path: "/2015-03-31/functions/echo/invocations", qualifier: "prod"},
		{name: "function error", uri: "fail", body: `{}`, want: `{"errorMessage":"boom","errorType":"errorString"}`,
			funcErr: "Unhandled", requestID: "66666666-2222-4333-8444-555555555555", path: "/2015-03-31/functions/fail/invocations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(s.requests())
			res, err := l.Invoke(context.Background(), Call{URI: tc.uri, Body: []byte(tc.body), Timeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != 200 || string(res.Body) != tc.want || res.FunctionError != tc.funcErr {
				t.Errorf("Invoke = %d %q %q; want 200 %q %q", res.Status, res.Body, res.FunctionError, tc.want, tc.funcErr)
			}
			if tc.requestID != "" && res.RequestID != tc.requestID {
				t.Errorf("RequestID = %q; want %q", res.RequestID, tc.requestID)
			}
			if res.Header.Get("X-Amz-Executed-Version") != "$LATEST" || res.Header.Get("X-Amz-Function-Error") != tc.funcErr {
				t.Errorf("Header = %v", res.Header)
			}
			reqs := s.requests()[before:]
			if len(reqs) != 1 {
				t.Fatalf("%d requests reached the server; want 1", len(reqs))
			}
			want := recorded{path: tc.path, qualifier: tc.qualifier, invocationType: "RequestResponse"}
			if reqs[0] != want {
				t.Errorf("server saw %+v; want %+v", reqs[0], want)
			}
		})
	}
}

func TestLambdaRemoteErrors(t *testing.T) {
	l, s := remoteLambda(t, newTestLocal(), LambdaOptions{MaxResponseBytes: 1 << 10})
	for _, tc := range []struct {
		name     string
		uri      string
		body     []byte
		want     error
		text     string
		sdkError string // the AWS error code still in the chain
	}{
		{name: "not found", uri: testARN + "nope", want: ErrUnknownFunction,
			text: "Function not found: " + testARN + "nope", sdkError: "ResourceNotFoundException"},
		{name: "throttled", uri: "busy", want: ErrThrottled, text: "Rate Exceeded.", sdkError: "TooManyRequestsException"},
		{name: "payload over 6 MiB", uri: "echo", body: bytes.Repeat([]byte("1"), DefaultMaxPayload+1),
			want: ErrRequestTooLarge, text: "6291456", sdkError: "RequestTooLargeException"},
		{name: "service failure", uri: "broken", want: ErrService, sdkError: "ServiceException"},
		{name: "response over the limit", uri: "big", want: ErrTooLarge},
		{name: "bad URI", uri: "arn:aws:s3:::bucket", want: ErrBadURI},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(s.requests())
			_, err := l.Invoke(context.Background(), Call{URI: tc.uri, Body: tc.body, Timeout: 20 * time.Second})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Invoke = %v; want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q does not contain %q", err, tc.text)
			}
			if tc.sdkError != "" {
				var apiErr smithy.APIError
				if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tc.sdkError {
					t.Errorf("error chain has no %s: %v", tc.sdkError, err)
				}
			}
			if tc.want != ErrBadURI {
				// Never retried, even for errors the SDK would retry.
				if n := len(s.requests()) - before; n != 1 {
					t.Errorf("%d requests reached the server; want 1", n)
				}
			}
		})
	}
	var throttle *lambdatypes.TooManyRequestsException
	_, err := l.Invoke(context.Background(), Call{URI: "busy"})
	if !errors.As(err, &throttle) {
		t.Errorf("Invoke = %v; want the SDK's TooManyRequestsException in the chain", err)
	}
}

func TestLambdaRemoteTimeout(t *testing.T) {
	l, _ := remoteLambda(t, newTestLocal(), LambdaOptions{})
	const timeout = 200 * time.Millisecond
	start := time.Now()
	_, err := l.Invoke(context.Background(), Call{URI: "hang", Timeout: timeout})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Invoke = %v; want ErrTimeout", err)
	}
	if d := time.Since(start); d < timeout || d > timeout+3*time.Second {
		t.Errorf("took %v with a timeout of %v", d, timeout)
	}
}

func TestLambdaRemoteUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	l := NewLambda(LambdaOptions{RemoteEndpoint: "http://" + addr, Credentials: testCreds, Region: "us-east-1"})
	defer l.CloseIdleConnections()
	_, err = l.Invoke(context.Background(), Call{URI: "anything", Timeout: 5 * time.Second})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Invoke = %v; want ErrUnreachable", err)
	}
}

func TestLambdaRemoteDisabled(t *testing.T) {
	local := newTestLocal()
	l := NewLambda(LambdaOptions{Local: local, RemoteDisabled: true})
	_, err := l.Invoke(context.Background(), Call{URI: testARN + "elsewhere"})
	if !errors.Is(err, ErrUnknownFunction) {
		t.Fatalf("Invoke = %v; want ErrUnknownFunction", err)
	}
	for _, want := range []string{"elsewhere", "remote Lambda is disabled", "local functions: big, broken, busy, echo, fail, hang"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	_, err = NewLambda(LambdaOptions{RemoteDisabled: true}).Invoke(context.Background(), Call{URI: "f"})
	if !errors.Is(err, ErrUnknownFunction) || !strings.Contains(err.Error(), "no local functions") {
		t.Fatalf("Invoke without local functions = %v", err)
	}
}

func TestLambdaLocalErrors(t *testing.T) {
	// The local path maps the host's errors; the host itself runs in
	// funchost_test.go.
	l := NewLambda(LambdaOptions{Local: newTestLocal(), RemoteDisabled: true, MaxResponseBytes: 1 << 10})
	for _, tc := range []struct {
		name string
		uri  string
		want error
	}{
		{name: "throttled", uri: "busy", want: ErrThrottled},
		{name: "host closed", uri: "broken", want: ErrService},
		{name: "response over the limit", uri: "big", want: ErrTooLarge},
		{name: "timeout", uri: "hang", want: ErrTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := l.Invoke(context.Background(), Call{URI: tc.uri, Timeout: 100 * time.Millisecond})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Invoke = %v; want %v", err, tc.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := l.Invoke(ctx, Call{URI: "hang"})
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Fatalf("Invoke with a canceled context = %v; want context.Canceled", err)
	}
}
