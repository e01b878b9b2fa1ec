package integration

import "errors"

// Errors returned by HTTP.Do, Lambda.Invoke, ParseFunctionURI and
// ResolveStageVariables, always wrapped with detail; match them with
// errors.Is. Errors from the function host and the AWS SDK stay in the chain
// too, so errors.Is/As against funchost.Err* or SDK types also work.
var (
	// ErrTimeout: the backend did not answer within Call.Timeout. API
	// Gateway's execution log says "Endpoint request timed out"; the client
	// is told "Internal server error".
	ErrTimeout = errors.New("integration: endpoint request timed out")
	// ErrTooLarge: the backend's response body exceeds the configured
	// MaxResponseBytes.
	ErrTooLarge = errors.New("integration: response too large")
	// ErrRequestTooLarge: the payload is larger than the function accepts
	// (Lambda's RequestTooLargeException).
	ErrRequestTooLarge = errors.New("integration: request payload too large")
	// ErrUnknownFunction: no such function, locally or at the Lambda
	// endpoint (Lambda's ResourceNotFoundException).
	ErrUnknownFunction = errors.New("integration: function not found")
	// ErrThrottled: the function is at its concurrency limit (Lambda's
	// TooManyRequestsException, or the local host's queue is full).
	ErrThrottled = errors.New("integration: function throttled")
	// ErrUnreachable: no usable HTTP response came back: connection
	// refused or reset, DNS failure, TLS handshake or certificate failure,
	// a malformed response.
	ErrUnreachable = errors.New("integration: backend unreachable")
	// ErrBadURI: the integration URI (or HTTP method) cannot be used: not a
	// Lambda function reference, not an http(s) URL, malformed stage
	// variable reference.
	ErrBadURI = errors.New("integration: invalid integration URI")
	// ErrUndefinedStageVariable: a ${stageVariables.name} reference names a
	// variable the stage does not define. AWS fails such calls.
	ErrUndefinedStageVariable = errors.New("integration: undefined stage variable")
	// ErrService: the Lambda service (remote or local) failed the
	// invocation for a reason not covered above: another AWS error type
	// (access denied, service exception, ...), credentials that could not
	// be loaded, the local host shutting down or refusing the environment.
	ErrService = errors.New("integration: Lambda service error")
)
