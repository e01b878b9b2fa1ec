package integration

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/wsgate/wsgate/internal/funchost"
)

// Local runs locally declared functions; *funchost.Host implements it.
// Invoke's errors are expected to wrap funchost's (ErrUnknownFunction,
// ErrThrottled, ErrPayloadTooLarge, ...) or this package's Err* values.
type Local interface {
	Has(name string) bool
	Invoke(ctx context.Context, inv funchost.Invocation) (funchost.Result, error)
}

var _ Local = (*funchost.Host)(nil)

// lister is what a Local may also implement so that "function not found"
// messages can list the functions that do exist.
type lister interface {
	Names() []string
}

// Defaults of LambdaOptions.
const (
	// DefaultMaxLambdaResponseBytes is Lambda's limit on a synchronous
	// response (6 MB).
	DefaultMaxLambdaResponseBytes = 6 << 20
	// DefaultRegion is used when neither LambdaOptions.Region nor the AWS
	// configuration names one.
	DefaultRegion = "us-east-1"
	// executedVersion is what a local function reports as
	// X-Amz-Executed-Version: local functions have no versions.
	executedVersion = "$LATEST"
)

// LambdaOptions configure a Lambda integration client.
type LambdaOptions struct {
	// Local runs the functions declared in wsgate's configuration; nil
	// means none (pass a nil interface, not a nil *funchost.Host).
	Local Local
	// RemoteEndpoint is the Lambda endpoint for functions that are not
	// local (LocalStack, another wsgate node); "" means AWS's endpoint
	// for the region (or AWS_ENDPOINT_URL_LAMBDA, as the SDK reads it).
	RemoteEndpoint string
	// Region signs remote calls whose URI is not an ARN (an ARN's own
	// region is used otherwise); "" means the AWS configuration's region,
	// else us-east-1.
	Region string
	// RemoteDisabled makes every function that is not local
	// ErrUnknownFunction instead of a remote call.
	RemoteDisabled bool
	// Credentials sign remote calls; nil means the standard AWS chain
	// (environment, shared files, container and instance roles).
	Credentials aws.CredentialsProvider
	// MaxResponseBytes bounds a function's response; default 6 MiB.
	MaxResponseBytes int64
	// MaxConnsPerHost caps connections to the remote endpoint; default
	// 256.
	MaxConnsPerHost int
	// Log receives the client's events; nil discards.
	Log *slog.Logger
}

// Lambda invokes Lambda functions: locally declared ones on the local
// function host, all others through the Lambda Invoke API. It is safe for
// concurrent use.
type Lambda struct {
	opts LambdaOptions
	log  *slog.Logger

	// transport carries remote calls. It exists from the start (it holds
	// no connection until used) so CloseIdleConnections needs no lock.
	transport  *http.Transport
	remoteOnce sync.Once
	remote     *lambda.Client
	remoteErr  error
}

// NewLambda returns a Lambda client with opts' defaults applied. The remote
// client is created on the first remote call.
func NewLambda(opts LambdaOptions) *Lambda {
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = DefaultMaxLambdaResponseBytes
	}
	if opts.MaxConnsPerHost <= 0 {
		opts.MaxConnsPerHost = DefaultMaxConnsPerHost
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	t := newTransport(transportOptions{
		maxIdleConnsPerHost: min(DefaultMaxIdleConnsPerHost, opts.MaxConnsPerHost),
		maxConnsPerHost:     opts.MaxConnsPerHost,
	})
	return &Lambda{opts: opts, log: opts.Log, transport: t}
}

// Invoke calls the function c.URI names (see ParseFunctionURI) with c.Body
// as payload, synchronously (RequestResponse). A function declared locally
// is looked up by name and runs on the local host, whatever account, region
// or qualifier the URI carries; any other goes to the Invoke API with the
// full ARN and the qualifier. Nothing is retried.
//
// A function that ran returns a Result with Status 200, also when it failed:
// FunctionError is then set and Body is the error document. Errors wrap
// ErrBadURI, ErrUnknownFunction, ErrThrottled, ErrRequestTooLarge,
// ErrTooLarge, ErrTimeout, ErrUnreachable or ErrService, or ctx's error when
// ctx ended before the call's own timeout.
func (l *Lambda) Invoke(ctx context.Context, c Call) (Result, error) {
	ref, err := parseFunctionURI(c.URI)
	if err != nil {
		return Result{}, err
	}
	if l.opts.Local != nil && l.opts.Local.Has(ref.name) {
		return l.invokeLocal(ctx, ref, c)
	}
	if l.opts.RemoteDisabled {
		return Result{}, fmt.Errorf("invoke %s: %w: no local function %q (%s) and remote Lambda is disabled",
			ref.functionName(), ErrUnknownFunction, ref.name, l.localNames())
	}
	return l.invokeRemote(ctx, ref, c)
}

// localNames describes the local functions for an error message.
func (l *Lambda) localNames() string {
	if l.opts.Local == nil {
		return "no local functions are configured"
	}
	ls, ok := l.opts.Local.(lister)
	if !ok {
		return "see the configuration for local functions"
	}
	names := ls.Names()
	if len(names) == 0 {
		return "no local functions are configured"
	}
	return "local functions: " + strings.Join(names, ", ")
}

func (l *Lambda) invokeLocal(ctx context.Context, ref functionRef, c Call) (Result, error) {
	ctx, cancel, timeout := withTimeout(ctx, c.Timeout)
	defer cancel()
	res, err := l.opts.Local.Invoke(ctx, funchost.Invocation{
		Function: ref.name,
		Payload:  c.Body,
		Env:      c.Env,
		TraceID:  c.TraceID,
	})
	op := "invoke local function " + ref.name
	if err != nil {
		return Result{RequestID: res.RequestID}, localError(ctx, op, timeout, err)
	}
	if int64(len(res.Payload)) > l.opts.MaxResponseBytes {
		return Result{RequestID: res.RequestID}, fmt.Errorf("%s: %w: %d bytes, limit %d",
			op, ErrTooLarge, len(res.Payload), l.opts.MaxResponseBytes)
	}
	h := http.Header{"X-Amz-Executed-Version": {executedVersion}}
	if res.FunctionError != "" {
		h.Set("X-Amz-Function-Error", res.FunctionError)
	}
	return Result{
		Status:        http.StatusOK,
		Header:        h,
		Body:          res.Payload,
		FunctionError: res.FunctionError,
		RequestID:     res.RequestID,
	}, nil
}

// localError maps an error of a Local.Invoke made under ctx.
func localError(ctx context.Context, op string, timeout fmt.Stringer, err error) error {
	switch cerr := ctxError(ctx); {
	case errors.Is(cerr, ErrTimeout):
		return fmt.Errorf("%s: %w after %s", op, ErrTimeout, timeout)
	case cerr != nil:
		return wrapBoth(op, cerr, err)
	}
	var kind error
	switch {
	case errors.Is(err, funchost.ErrUnknownFunction), errors.Is(err, ErrUnknownFunction):
		kind = ErrUnknownFunction
	case errors.Is(err, funchost.ErrThrottled), errors.Is(err, ErrThrottled):
		kind = ErrThrottled
	case errors.Is(err, funchost.ErrPayloadTooLarge), errors.Is(err, ErrRequestTooLarge):
		kind = ErrRequestTooLarge
	case errors.Is(err, ErrTooLarge):
		kind = ErrTooLarge
	default:
		kind = ErrService
	}
	return wrapBoth(op, kind, err)
}

// wrapBoth wraps err so that it also matches kind, without repeating kind's
// text when err already wraps it.
func wrapBoth(op string, kind, err error) error {
	if errors.Is(err, kind) {
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s: %w: %w", op, kind, err)
}

// client returns the remote Lambda client, creating it on first use.
func (l *Lambda) client(ctx context.Context) (*lambda.Client, error) {
	l.remoteOnce.Do(func() {
		l.remote, l.remoteErr = l.newRemote(context.WithoutCancel(ctx))
	})
	return l.remote, l.remoteErr
}

func (l *Lambda) newRemote(ctx context.Context) (*lambda.Client, error) {
	load := []func(*config.LoadOptions) error{
		// A retried Invoke could run the handler twice.
		config.WithRetryMaxAttempts(1),
	}
	if l.opts.Region != "" {
		load = append(load, config.WithRegion(l.opts.Region))
	}
	if l.opts.Credentials != nil {
		load = append(load, config.WithCredentialsProvider(l.opts.Credentials))
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	// Keep the CA bundle the AWS configuration names (AWS_CA_BUNDLE,
	// ca_bundle), which the SDK installed on its default client, but send
	// through our transport: capped pool, bounded response bodies.
	if bc, ok := cfg.HTTPClient.(*awshttp.BuildableClient); ok {
		if tc := bc.GetTransport().TLSClientConfig; tc != nil && tc.RootCAs != nil {
			l.transport.TLSClientConfig = &tls.Config{RootCAs: tc.RootCAs, MinVersion: tls.VersionTLS12}
		}
	}
	cfg.HTTPClient = boundedClient{
		c:     &http.Client{Transport: l.transport, CheckRedirect: noRedirects},
		limit: l.opts.MaxResponseBytes,
	}
	client := lambda.NewFromConfig(cfg, func(o *lambda.Options) {
		o.RetryMaxAttempts = 1
		if l.opts.RemoteEndpoint != "" {
			o.BaseEndpoint = aws.String(l.opts.RemoteEndpoint)
		}
	})
	l.log.Info("remote Lambda client ready", "endpoint", l.opts.RemoteEndpoint, "region", cfg.Region)
	return client, nil
}

func (l *Lambda) invokeRemote(ctx context.Context, ref functionRef, c Call) (Result, error) {
	op := "invoke " + ref.functionName()
	if ref.qualifier != "" {
		op += " qualifier " + ref.qualifier
	}
	client, err := l.client(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w: %w", op, ErrService, err)
	}
	ctx, cancel, timeout := withTimeout(ctx, c.Timeout)
	defer cancel()
	in := &lambda.InvokeInput{
		FunctionName:   aws.String(ref.functionName()),
		InvocationType: lambdatypes.InvocationTypeRequestResponse,
		Payload:        c.Body,
	}
	if ref.qualifier != "" {
		in.Qualifier = aws.String(ref.qualifier)
	}
	var optFns []func(*lambda.Options)
	if ref.region != "" {
		// A function ARN is only found in its own region.
		optFns = append(optFns, func(o *lambda.Options) { o.Region = ref.region })
	}
	out, err := client.Invoke(ctx, in, optFns...)
	if err != nil {
		return Result{}, remoteError(ctx, op, timeout, err)
	}
	h := http.Header{}
	if out.ExecutedVersion != nil {
		h.Set("X-Amz-Executed-Version", *out.ExecutedVersion)
	}
	res := Result{Status: int(out.StatusCode), Header: h, Body: out.Payload}
	if out.FunctionError != nil && *out.FunctionError != "" {
		res.FunctionError = *out.FunctionError
		h.Set("X-Amz-Function-Error", res.FunctionError)
	}
	res.RequestID, _ = awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	return res, nil
}

// remoteError maps an error of the SDK's Invoke made under ctx, keeping the
// SDK's error (and so AWS's message) in the chain.
func remoteError(ctx context.Context, op string, timeout fmt.Stringer, err error) error {
	switch cerr := ctxError(ctx); {
	case errors.Is(cerr, ErrTimeout):
		return fmt.Errorf("%s: %w after %s", op, ErrTimeout, timeout)
	case cerr != nil:
		return wrapBoth(op, cerr, err)
	}
	var (
		notFound *lambdatypes.ResourceNotFoundException
		throttle *lambdatypes.TooManyRequestsException
		tooLarge *lambdatypes.RequestTooLargeException
		apiErr   smithy.APIError
		sendErr  *smithyhttp.RequestSendError
		kind     error
	)
	switch {
	case errors.Is(err, ErrTooLarge):
		return fmt.Errorf("%s: %w", op, err)
	case errors.As(err, &notFound):
		kind = ErrUnknownFunction
	case errors.As(err, &throttle):
		kind = ErrThrottled
	case errors.As(err, &tooLarge):
		kind = ErrRequestTooLarge
	case errors.As(err, &apiErr):
		kind = ErrService
	case errors.As(err, &sendErr):
		kind = ErrUnreachable
	default:
		// Credentials that cannot be retrieved, a response that cannot
		// be deserialized, ...
		kind = ErrService
	}
	return wrapBoth(op, kind, err)
}

// CloseIdleConnections closes the remote client's pooled connections not
// in use; for shutdown. The client stays usable.
func (l *Lambda) CloseIdleConnections() { l.transport.CloseIdleConnections() }
