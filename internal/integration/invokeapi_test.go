package integration

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/wsgate/wsgate/internal/funchost"
	"github.com/wsgate/wsgate/internal/sigv4"
)

// testLocal is a small Local with functions written in Go, standing in for
// the function host behind the Invoke API (the host itself is exercised in
// funchost_test.go).
type testLocal struct {
	fns map[string]func(ctx context.Context, inv funchost.Invocation) (funchost.Result, error)

	mu    sync.Mutex
	calls []funchost.Invocation
}

func (l *testLocal) Has(name string) bool { _, ok := l.fns[name]; return ok }

func (l *testLocal) Names() []string {
	var names []string
	for n := range l.fns {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (l *testLocal) Invoke(ctx context.Context, inv funchost.Invocation) (funchost.Result, error) {
	fn, ok := l.fns[inv.Function]
	if !ok {
		return funchost.Result{}, fmt.Errorf("invoke %q: %w", inv.Function, funchost.ErrUnknownFunction)
	}
	l.mu.Lock()
	l.calls = append(l.calls, inv)
	l.mu.Unlock()
	return fn(ctx, inv)
}

func (l *testLocal) invocations() []funchost.Invocation {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// newTestLocal returns the functions the Invoke API tests call.
func newTestLocal() *testLocal {
	return &testLocal{fns: map[string]func(context.Context, funchost.Invocation) (funchost.Result, error){
		"echo": func(_ context.Context, inv funchost.Invocation) (funchost.Result, error) {
			return funchost.Result{Payload: inv.Payload, RequestID: "11111111-2222-4333-8444-555555555555"}, nil
		},
		"fail": func(context.Context, funchost.Invocation) (funchost.Result, error) {
			return funchost.Result{
				Payload:       []byte(`{"errorMessage":"boom","errorType":"errorString"}`),
				FunctionError: "Unhandled",
				ErrorType:     "errorString",
				RequestID:     "66666666-2222-4333-8444-555555555555",
			}, nil
		},
		"busy": func(context.Context, funchost.Invocation) (funchost.Result, error) {
			return funchost.Result{}, fmt.Errorf("invoke busy: %w", funchost.ErrThrottled)
		},
		"broken": func(context.Context, funchost.Invocation) (funchost.Result, error) {
			return funchost.Result{}, fmt.Errorf("invoke broken: %w", funchost.ErrClosed)
		},
		"big": func(context.Context, funchost.Invocation) (funchost.Result, error) {
			return funchost.Result{Payload: []byte(`"` + strings.Repeat("x", 4<<10) + `"`)}, nil
		},
		"hang": func(ctx context.Context, _ funchost.Invocation) (funchost.Result, error) {
			<-ctx.Done()
			return funchost.Result{}, ctx.Err()
		},
	}}
}

// recorded is what the recording wrapper saw of one request.
type recorded struct {
	path, qualifier, invocationType string
}

// invokeServer serves an InvokeAPI on 127.0.0.1 and records the requests.
type invokeServer struct {
	api *InvokeAPI
	srv *httptest.Server

	mu   sync.Mutex
	reqs []recorded
}

func startInvokeAPI(t *testing.T, opts InvokeAPIOptions) *invokeServer {
	t.Helper()
	api, err := NewInvokeAPI(opts)
	if err != nil {
		t.Fatal(err)
	}
	s := &invokeServer{api: api}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, recorded{r.URL.EscapedPath(), r.URL.Query().Get("Qualifier"), r.Header.Get("X-Amz-Invocation-Type")})
		s.mu.Unlock()
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		s.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := api.Close(ctx); err != nil {
			t.Errorf("InvokeAPI.Close: %v", err)
		}
	})
	return s
}

func (s *invokeServer) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

var testCreds = credentials.NewStaticCredentialsProvider("AKIDWSGATE", "secret-key", "")

// sdkClient is the real aws-sdk-go-v2 Lambda client pointed at url.
func sdkClient(url string) *lambda.Client {
	return lambda.New(lambda.Options{
		Region:           "us-east-1",
		Credentials:      testCreds,
		BaseEndpoint:     aws.String(url),
		RetryMaxAttempts: 1,
	})
}

func TestInvokeAPIEvent(t *testing.T) {
	ran := make(chan funchost.Invocation, 1)
	local := &testLocal{fns: map[string]func(context.Context, funchost.Invocation) (funchost.Result, error){
		"async": func(_ context.Context, inv funchost.Invocation) (funchost.Result, error) {
			ran <- inv
			return funchost.Result{Payload: []byte(`null`)}, nil
		},
	}}
	s := startInvokeAPI(t, InvokeAPIOptions{Local: local})
	out, err := sdkClient(s.srv.URL).Invoke(context.Background(), &lambda.InvokeInput{
		FunctionName:   aws.String("async"),
		InvocationType: lambdatypes.InvocationTypeEvent,
		Payload:        []byte(`{"n":1}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.StatusCode != http.StatusAccepted {
		t.Errorf("StatusCode = %d; want 202", out.StatusCode)
	}
	select {
	case inv := <-ran:
		if string(inv.Payload) != `{"n":1}` {
			t.Errorf("payload = %q", inv.Payload)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the Event invocation did not run")
	}
}

func TestInvokeAPIEventBoundAndClose(t *testing.T) {
	started := make(chan struct{}, 2)
	stopped := make(chan error, 2)
	local := &testLocal{fns: map[string]func(context.Context, funchost.Invocation) (funchost.Result, error){
		"hang": func(ctx context.Context, _ funchost.Invocation) (funchost.Result, error) {
			started <- struct{}{}
			<-ctx.Done()
			stopped <- ctx.Err()
			return funchost.Result{}, ctx.Err()
		},
	}}
	api, err := NewInvokeAPI(InvokeAPIOptions{Local: local, MaxEvents: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	client := sdkClient(srv.URL)
	invoke := func() error {
		_, err := client.Invoke(context.Background(), &lambda.InvokeInput{
			FunctionName: aws.String("hang"), InvocationType: lambdatypes.InvocationTypeEvent,
		})
		return err
	}
	if err := invoke(); err != nil {
		t.Fatal(err)
	}
	<-started
	// One Event invocation is running: the next one is refused.
	err = invoke()
	var throttle *lambdatypes.TooManyRequestsException
	if !errors.As(err, &throttle) {
		t.Fatalf("second Event invocation = %v; want TooManyRequestsException", err)
	}

	// Close waits for the running invocation until its context ends, then
	// cancels it and waits for it to return.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := api.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v; want DeadlineExceeded", err)
	}
	select {
	case err := <-stopped:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("invocation ended with %v; want Canceled", err)
		}
	default:
		t.Fatal("Close returned before the invocation it canceled")
	}
	// After Close every invocation is refused.
	_, err = client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("hang")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ServiceException" {
		t.Fatalf("Invoke after Close = %v; want ServiceException", err)
	}
}

func TestInvokeAPIRequests(t *testing.T) {
	local := newTestLocal()
	s := startInvokeAPI(t, InvokeAPIOptions{Local: local, Region: "eu-west-1", AccountID: "123456789012"})
	client := sdkClient(s.srv.URL)

	for _, tc := range []struct {
		name       string
		in         lambda.InvokeInput
		status     int32
		payload    string
		funcErr    string
		errCode    string
		errMessage string
	}{
		{name: "name", in: lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"a":1}`)},
			status: 200, payload: `{"a":1}`},
		{name: "full ARN with qualifier", in: lambda.InvokeInput{
			FunctionName: aws.String("arn:aws:lambda:eu-west-1:123456789012:function:echo:live"), Payload: []byte(`[1]`)},
			status: 200, payload: `[1]`},
		{name: "partial ARN", in: lambda.InvokeInput{FunctionName: aws.String("123456789012:function:echo"), Payload: []byte(`2`)},
			status: 200, payload: `2`},
		{name: "Qualifier parameter", in: lambda.InvokeInput{FunctionName: aws.String("echo"), Qualifier: aws.String("$LATEST")},
			status: 200, payload: ``},
		{name: "function error", in: lambda.InvokeInput{FunctionName: aws.String("fail"), Payload: []byte(`{}`)},
			status: 200, payload: `{"errorMessage":"boom","errorType":"errorString"}`, funcErr: "Unhandled"},
		{name: "dry run", in: lambda.InvokeInput{FunctionName: aws.String("echo"), InvocationType: lambdatypes.InvocationTypeDryRun},
			status: 204},
		{name: "not found", in: lambda.InvokeInput{FunctionName: aws.String("nope")},
			errCode: "ResourceNotFoundException", errMessage: "Function not found: arn:aws:lambda:eu-west-1:123456789012:function:nope"},
		{name: "not found with qualified ARN", in: lambda.InvokeInput{FunctionName: aws.String("arn:aws:lambda:us-west-2:210987654321:function:nope:prod")},
			errCode: "ResourceNotFoundException", errMessage: "Function not found: arn:aws:lambda:us-west-2:210987654321:function:nope:prod"},
		{name: "dry run of missing function", in: lambda.InvokeInput{FunctionName: aws.String("nope"), InvocationType: lambdatypes.InvocationTypeDryRun},
			errCode: "ResourceNotFoundException"},
		{name: "throttled", in: lambda.InvokeInput{FunctionName: aws.String("busy")},
			errCode: "TooManyRequestsException", errMessage: "Rate Exceeded."},
		{name: "host failure", in: lambda.InvokeInput{FunctionName: aws.String("broken")},
			errCode: "ServiceException"},
		{name: "invalid name", in: lambda.InvokeInput{FunctionName: aws.String("no such")},
			errCode: "ValidationException", errMessage: "functionName"},
		{name: "qualifier mismatch", in: lambda.InvokeInput{FunctionName: aws.String("echo:a"), Qualifier: aws.String("b")},
			errCode: "InvalidParameterValueException", errMessage: "derived qualifier"},
		{name: "payload not JSON", in: lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`not json`)},
			errCode: "InvalidRequestContentException", errMessage: "Could not parse request body into json"},
		{name: "unknown invocation type", in: lambda.InvokeInput{FunctionName: aws.String("echo"), InvocationType: "Later"},
			errCode: "ValidationException", errMessage: "invocationType"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := client.Invoke(context.Background(), &tc.in)
			if tc.errCode != "" {
				var apiErr smithy.APIError
				if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tc.errCode {
					t.Fatalf("Invoke = %v; want %s", err, tc.errCode)
				}
				if !strings.Contains(apiErr.ErrorMessage(), tc.errMessage) {
					t.Errorf("message %q does not contain %q", apiErr.ErrorMessage(), tc.errMessage)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.StatusCode != tc.status || string(out.Payload) != tc.payload || aws.ToString(out.FunctionError) != tc.funcErr {
				t.Errorf("Invoke = %d %q %q; want %d %q %q", out.StatusCode, out.Payload, aws.ToString(out.FunctionError),
					tc.status, tc.payload, tc.funcErr)
			}
			if tc.status == 200 && aws.ToString(out.ExecutedVersion) != "$LATEST" {
				t.Errorf("ExecutedVersion = %q", aws.ToString(out.ExecutedVersion))
			}
		})
	}

	// The typed errors carry their members.
	_, err := client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("busy")})
	var throttle *lambdatypes.TooManyRequestsException
	if !errors.As(err, &throttle) || throttle.Reason != lambdatypes.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded ||
		aws.ToString(throttle.Type) != "User" {
		t.Errorf("TooManyRequestsException = %+v", throttle)
	}
	_, err = client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("nope")})
	var notFound *lambdatypes.ResourceNotFoundException
	if !errors.As(err, &notFound) || aws.ToString(notFound.Type) != "User" {
		t.Errorf("ResourceNotFoundException = %+v", notFound)
	}
}

func TestInvokeAPIRawRequests(t *testing.T) {
	s := startInvokeAPI(t, InvokeAPIOptions{Local: newTestLocal()})
	for _, tc := range []struct {
		name, method, path string
		status             int
		errType            string
	}{
		{name: "unknown path", method: "POST", path: "/2015-03-31/functions/echo", status: 404, errType: "UnknownOperationException"},
		{name: "GET", method: "GET", path: "/2015-03-31/functions/echo/invocations", status: 404, errType: "UnknownOperationException"},
		{name: "slash in name", method: "POST", path: "/2015-03-31/functions/a/b/invocations", status: 404, errType: "UnknownOperationException"},
		{name: "encoded ARN", method: "POST",
			path:   "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aecho%3Alive/invocations",
			status: 200},
		{name: "literal ARN", method: "POST", path: "/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:echo/invocations",
			status: 200},
		{name: "encoded slash", method: "POST", path: "/2015-03-31/functions/a%2Fb/invocations", status: 400, errType: "ValidationException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, s.srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status || resp.Header.Get("X-Amzn-Errortype") != tc.errType {
				t.Errorf("%s %s = %d %q; want %d %q", tc.method, tc.path, resp.StatusCode,
					resp.Header.Get("X-Amzn-Errortype"), tc.status, tc.errType)
			}
			if resp.Header.Get("X-Amzn-Requestid") == "" {
				t.Error("no x-amzn-RequestId")
			}
		})
	}
}

func TestInvokeAPIAuthenticate(t *testing.T) {
	verifier := &sigv4.Verifier{Service: "lambda", Lookup: sigv4.StaticKeys(sigv4.Credentials{
		AccessKeyID: "AKIDWSGATE", SecretAccessKey: "secret-key",
	})}
	s := startInvokeAPI(t, InvokeAPIOptions{
		Local: newTestLocal(),
		Authenticate: func(r *http.Request, body []byte) error {
			_, err := verifier.Verify(r, body)
			return err
		},
	})
	out, err := sdkClient(s.srv.URL).Invoke(context.Background(), &lambda.InvokeInput{
		FunctionName: aws.String("echo"), Payload: []byte(`{"signed":true}`),
	})
	if err != nil || string(out.Payload) != `{"signed":true}` {
		t.Fatalf("signed Invoke = %v, %v", out, err)
	}

	wrong := lambda.New(lambda.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDWSGATE", "wrong-secret", ""),
		BaseEndpoint:     aws.String(s.srv.URL),
		RetryMaxAttempts: 1,
	})
	_, err = wrong.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("echo")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidSignatureException" {
		t.Fatalf("Invoke with a wrong secret = %v; want InvalidSignatureException", err)
	}
	if n := len(s.api.opts.Local.(*testLocal).invocations()); n != 1 {
		t.Errorf("%d invocations ran; want 1 (the signed one)", n)
	}
}
