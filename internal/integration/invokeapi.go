package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wsgate/wsgate/internal/funchost"
	"github.com/wsgate/wsgate/internal/sigv4"
)

// Defaults of InvokeAPIOptions.
const (
	// DefaultMaxPayload is Lambda's limit on a synchronous invocation
	// payload; AWS words it "Request must be smaller than 6291456 bytes".
	DefaultMaxPayload = 6 << 20
	// DefaultMaxEvents bounds the Event invocations running at once.
	DefaultMaxEvents = 64
	// DefaultEventTimeout bounds one Event invocation (Lambda's maximum
	// function timeout; the function's own timeout is normally shorter).
	DefaultEventTimeout = 15 * time.Minute
	// DefaultAccountID appears in ARNs of messages when the caller named a
	// function without one (funchost's default account).
	DefaultAccountID = funchost.DefaultAccountID
)

// invokePathPrefix and invokePathSuffix frame FunctionName in the Invoke
// API's path.
const (
	invokePathPrefix = "/2015-03-31/functions/"
	invokePathSuffix = "/invocations"
)

// drainLimit is how much of an oversized request body is read and thrown
// away before answering 413, so that a client still writing it reads the
// answer instead of a connection reset. Larger bodies get the reset.
const drainLimit = 8 << 20

// InvokeAPIOptions configure an InvokeAPI.
type InvokeAPIOptions struct {
	// Local runs the functions; required.
	Local Local
	// Authenticate, if set, checks each request before it is looked at
	// further (typically a sigv4.Verifier's Verify with signing name
	// "lambda"). body is the request body, already read. Its error is
	// answered as sigv4.AWSError renders it.
	Authenticate func(r *http.Request, body []byte) error
	// Region and AccountID complete function ARNs in error messages when
	// the caller gave a bare name; default us-east-1 and 000000000000.
	Region, AccountID string
	// MaxPayload bounds a request body; default 6 MiB. Beyond it the
	// answer is 413 RequestTooLargeException.
	MaxPayload int64
	// MaxEvents bounds the Event (asynchronous) invocations running at
	// once; beyond it the answer is 429 TooManyRequestsException (Lambda
	// would queue them). Default 64.
	MaxEvents int
	// EventTimeout bounds one Event invocation; default 15 minutes.
	EventTimeout time.Duration
	// Log receives failures of Event invocations and server errors; nil
	// discards.
	Log *slog.Logger
}

// InvokeAPI serves the Lambda Invoke API (POST
// /2015-03-31/functions/{FunctionName}/invocations) for the functions of a
// Local, so AWS SDKs and CLIs, and other wsgate nodes, can invoke them. It is
// an http.Handler, safe for concurrent use; Close stops Event invocations.
//
// Supported: FunctionName as name, name:qualifier, full or partial ARN
// (percent-encoded or not); the Qualifier query parameter (accepted and
// checked, but a local function has only $LATEST); X-Amz-Invocation-Type
// RequestResponse (default), Event (202, run in the background) and DryRun
// (204). Not supported: X-Amz-Log-Type Tail (no X-Amz-Log-Result is
// returned) and X-Amz-Client-Context (not passed to the function).
type InvokeAPI struct {
	opts InvokeAPIOptions
	log  *slog.Logger

	events chan struct{} // one token per running Event invocation
	base   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // Event invocations

	mu     sync.Mutex
	closed bool
}

// NewInvokeAPI returns an InvokeAPI with opts' defaults applied.
func NewInvokeAPI(opts InvokeAPIOptions) (*InvokeAPI, error) {
	if opts.Local == nil {
		return nil, errors.New("invoke API: Local is required")
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.AccountID == "" {
		opts.AccountID = DefaultAccountID
	}
	if !isAccount(opts.AccountID) {
		return nil, fmt.Errorf("invoke API: account id %q must be 12 digits", opts.AccountID)
	}
	if opts.MaxPayload <= 0 {
		opts.MaxPayload = DefaultMaxPayload
	}
	if opts.MaxEvents <= 0 {
		opts.MaxEvents = DefaultMaxEvents
	}
	if opts.EventTimeout <= 0 {
		opts.EventTimeout = DefaultEventTimeout
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	base, cancel := context.WithCancel(context.Background())
	return &InvokeAPI{
		opts:   opts,
		log:    opts.Log,
		events: make(chan struct{}, opts.MaxEvents),
		base:   base,
		cancel: cancel,
	}, nil
}

// Close refuses further invocations, waits for running Event invocations
// until ctx ends, then cancels those still running and waits for them. It
// returns ctx's error if it had to cancel. Close may be called more than
// once.
func (a *InvokeAPI) Close(ctx context.Context) error {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	done := make(chan struct{})
	go func() { // owned here: Close does not return before it ends
		a.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("invoke API: close: %w", ctx.Err())
		a.cancel()
		<-done
	}
	a.cancel()
	return err
}

// lambdaError is an Invoke API error answer: status, AWS error type and
// public message kept apart from the internal cause.
type lambdaError struct {
	status int
	typ    string
	msg    string
	// msgKey is the JSON name of the message member: Lambda's model has
	// "Message" for some errors and "message" for others, and the SDK
	// decodes by that name.
	msgKey string
	reason string // TooManyRequestsException.Reason
	err    error  // internal cause, for logs
}

func (e *lambdaError) Error() string {
	if e.err != nil {
		return e.typ + ": " + e.msg + ": " + e.err.Error()
	}
	return e.typ + ": " + e.msg
}

func (e *lambdaError) Unwrap() error { return e.err }

// ServeHTTP answers one Invoke request.
func (a *InvokeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := newRequestID()
	w.Header().Set("X-Amzn-Requestid", requestID)
	err := a.serve(w, r, requestID)
	if err == nil {
		return
	}
	var le *lambdaError
	if !errors.As(err, &le) {
		le = &lambdaError{status: http.StatusInternalServerError, typ: "ServiceException",
			msg: "Lambda service encountered an internal error.", msgKey: "Message", err: err}
	}
	if le.status >= 500 {
		a.log.Error("invoke API request failed", "path", r.URL.EscapedPath(), "error", err)
	} else {
		a.log.Debug("invoke API request refused", "path", r.URL.EscapedPath(), "error", err)
	}
	body := map[string]string{"Type": "User", le.msgKey: le.msg}
	if le.status >= 500 {
		body["Type"] = "Service"
	}
	if le.reason != "" {
		body["Reason"] = le.reason
	}
	b, _ := json.Marshal(body)
	w.Header().Set("X-Amzn-Errortype", le.typ)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(le.status)
	_, _ = w.Write(b)
}

func (a *InvokeAPI) serve(w http.ResponseWriter, r *http.Request, requestID string) error {
	rawName, ok := invokeFunctionName(r.URL.EscapedPath())
	if !ok || r.Method != http.MethodPost {
		return &lambdaError{status: http.StatusNotFound, typ: "UnknownOperationException",
			msg: "Unknown operation " + r.Method + " " + r.URL.EscapedPath(), msgKey: "message"}
	}
	body, err := a.readPayload(r)
	if err != nil {
		return err
	}
	if a.opts.Authenticate != nil {
		if err := a.opts.Authenticate(r, body); err != nil {
			status, typ, msg := sigv4.AWSError(err)
			return &lambdaError{status: status, typ: typ, msg: msg, msgKey: "message", err: err}
		}
	}
	a.mu.Lock()
	closed := a.closed
	a.mu.Unlock()
	if closed {
		return &lambdaError{status: http.StatusServiceUnavailable, typ: "ServiceException",
			msg: "Lambda service is shutting down.", msgKey: "Message"}
	}

	ref, err := a.functionRef(rawName, r.URL.Query())
	if err != nil {
		return err
	}
	if !a.opts.Local.Has(ref.name) {
		return a.notFound(ref, nil)
	}
	if len(body) > 0 && !json.Valid(body) {
		return &lambdaError{status: http.StatusBadRequest, typ: "InvalidRequestContentException",
			msg: "Could not parse request body into json: the payload is not valid JSON", msgKey: "message"}
	}
	inv := funchost.Invocation{Function: ref.name, Payload: body, TraceID: r.Header.Get("X-Amzn-Trace-Id")}

	switch typ := r.Header.Get("X-Amz-Invocation-Type"); typ {
	case "", "RequestResponse":
		res, err := a.opts.Local.Invoke(r.Context(), inv)
		if err != nil {
			return a.invokeError(ref, err)
		}
		h := w.Header()
		if res.RequestID != "" {
			h.Set("X-Amzn-Requestid", res.RequestID)
		}
		h.Set("X-Amz-Executed-Version", executedVersion)
		if res.FunctionError != "" {
			h.Set("X-Amz-Function-Error", res.FunctionError)
		}
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(res.Payload)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(res.Payload)
		return nil
	case "Event":
		if err := a.startEvent(ref, inv, requestID); err != nil {
			return err
		}
		w.WriteHeader(http.StatusAccepted)
		return nil
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return nil
	default:
		return &lambdaError{status: http.StatusBadRequest, typ: "ValidationException", msgKey: "message",
			msg: fmt.Sprintf("1 validation error detected: Value '%s' at 'invocationType' failed to satisfy constraint: "+
				"Member must satisfy enum value set: [Event, RequestResponse, DryRun]", typ)}
	}
}

// invokeFunctionName extracts the still-escaped FunctionName from an Invoke
// path.
func invokeFunctionName(escapedPath string) (string, bool) {
	rest, ok := strings.CutPrefix(escapedPath, invokePathPrefix)
	if !ok {
		return "", false
	}
	name, ok := strings.CutSuffix(rest, invokePathSuffix)
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", false
	}
	return name, true
}

// readPayload reads the request body up to MaxPayload.
func (a *InvokeAPI) readPayload(r *http.Request) ([]byte, error) {
	limit := a.opts.MaxPayload
	tooLarge := func(n string) error {
		// Read (a bounded amount of) what the client is still sending,
		// so it gets to read our answer.
		_, _ = io.CopyN(io.Discard, r.Body, drainLimit)
		return &lambdaError{status: http.StatusRequestEntityTooLarge, typ: "RequestTooLargeException", msgKey: "message",
			msg: fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", limit),
			err: fmt.Errorf("request body of %s bytes", n)}
	}
	if r.ContentLength > limit {
		return nil, tooLarge(strconv.FormatInt(r.ContentLength, 10))
	}
	b, err := readBody(r.Body, limit, r.ContentLength)
	switch {
	case errors.Is(err, ErrTooLarge):
		return nil, tooLarge("more than " + strconv.FormatInt(limit, 10))
	case err != nil:
		return nil, &lambdaError{status: http.StatusBadRequest, typ: "InvalidRequestContentException", msgKey: "message",
			msg: "Could not read the request body", err: err}
	}
	return b, nil
}

// functionRef parses FunctionName and the Qualifier parameter.
func (a *InvokeAPI) functionRef(rawName string, q url.Values) (functionRef, error) {
	name, err := url.PathUnescape(rawName)
	if err != nil {
		return functionRef{}, a.invalidName(rawName, err)
	}
	ref, err := parseFunctionRef(name, true)
	if err != nil {
		return functionRef{}, a.invalidName(name, err)
	}
	if q.Has("Qualifier") {
		qual := q.Get("Qualifier")
		if qual != "$LATEST" && !isWord(qual, 128) {
			return functionRef{}, &lambdaError{status: http.StatusBadRequest, typ: "ValidationException", msgKey: "message",
				msg: fmt.Sprintf("1 validation error detected: Value '%s' at 'qualifier' failed to satisfy constraint: "+
					"Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)", qual)}
		}
		if ref.qualifier != "" && ref.qualifier != qual {
			return functionRef{}, &lambdaError{status: http.StatusBadRequest, typ: "InvalidParameterValueException", msgKey: "message",
				msg: "The derived qualifier from the function name does not match the specified qualifier."}
		}
		ref.qualifier = qual
	}
	return ref, nil
}

func (a *InvokeAPI) invalidName(name string, err error) error {
	return &lambdaError{status: http.StatusBadRequest, typ: "ValidationException", msgKey: "message",
		msg: fmt.Sprintf("1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: "+
			"Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?"+
			"(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?", name),
		err: err}
}

// notFound is Lambda's answer for a function that does not exist.
func (a *InvokeAPI) notFound(ref functionRef, err error) error {
	arn := ref.arn
	if arn == "" {
		arn = "arn:aws:lambda:" + a.opts.Region + ":" + a.opts.AccountID + ":function:" + ref.name
	}
	if ref.qualifier != "" {
		arn += ":" + ref.qualifier
	}
	return &lambdaError{status: http.StatusNotFound, typ: "ResourceNotFoundException", msgKey: "Message",
		msg: "Function not found: " + arn, err: err}
}

// invokeError maps an error of Local.Invoke to Lambda's answer.
func (a *InvokeAPI) invokeError(ref functionRef, err error) error {
	switch {
	case errors.Is(err, funchost.ErrUnknownFunction), errors.Is(err, ErrUnknownFunction):
		return a.notFound(ref, err)
	case errors.Is(err, funchost.ErrThrottled), errors.Is(err, ErrThrottled):
		return throttled("ReservedFunctionConcurrentInvocationLimitExceeded", err)
	case errors.Is(err, funchost.ErrPayloadTooLarge), errors.Is(err, ErrRequestTooLarge):
		return &lambdaError{status: http.StatusRequestEntityTooLarge, typ: "RequestTooLargeException", msgKey: "message",
			msg: "Request payload is larger than the function accepts", err: err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The caller went away; nobody reads this answer.
		return &lambdaError{status: http.StatusRequestTimeout, typ: "RequestCanceled", msgKey: "message",
			msg: "The request was canceled", err: err}
	default:
		return &lambdaError{status: http.StatusInternalServerError, typ: "ServiceException", msgKey: "Message",
			msg: "Lambda service encountered an internal error.", err: err}
	}
}

func throttled(reason string, err error) *lambdaError {
	return &lambdaError{status: http.StatusTooManyRequests, typ: "TooManyRequestsException", msgKey: "message",
		msg: "Rate Exceeded.", reason: reason, err: err}
}

// startEvent runs inv in the background, owned by a, if a token is free.
func (a *InvokeAPI) startEvent(ref functionRef, inv funchost.Invocation, requestID string) error {
	select {
	case a.events <- struct{}{}:
	default:
		return throttled("ConcurrentInvocationLimitExceeded",
			fmt.Errorf("%d Event invocations already running", cap(a.events)))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		<-a.events
		return &lambdaError{status: http.StatusServiceUnavailable, typ: "ServiceException",
			msg: "Lambda service is shutting down.", msgKey: "Message"}
	}
	// Add under mu, so Close's Wait cannot start between the check and
	// the Add.
	a.wg.Go(func() {
		defer func() { <-a.events }()
		ctx, cancel := context.WithTimeout(a.base, a.opts.EventTimeout)
		defer cancel()
		res, err := a.opts.Local.Invoke(ctx, inv)
		switch {
		case err != nil:
			a.log.Warn("Event invocation failed", "function", ref.name, "request_id", requestID, "error", err)
		case res.FunctionError != "":
			a.log.Warn("Event invocation ended with a function error", "function", ref.name,
				"request_id", requestID, "lambda_request_id", res.RequestID, "error_type", res.ErrorType)
		default:
			a.log.Debug("Event invocation done", "function", ref.name,
				"request_id", requestID, "lambda_request_id", res.RequestID, "duration", res.Duration)
		}
	})
	return nil
}

// newRequestID returns a random UUID (version 4), the form of Lambda
// request ids.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
