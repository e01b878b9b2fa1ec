// Package integration calls the backends a route's integration names: Lambda
// functions (AWS_PROXY and AWS integrations) and HTTP endpoints (HTTP_PROXY
// and HTTP integrations). The data plane decides what to send — a proxy
// event, a message body, a template's output — and how to read the answer;
// this package only makes the call, bounded and safe:
//
//   - every call has a deadline (Call.Timeout, the integration's
//     timeoutInMillis), and running out of it is ErrTimeout;
//   - response bodies are read with a hard limit (ErrTooLarge beyond it),
//     never whole into memory without a bound;
//   - nothing is retried: a retry could run a handler twice, and whether
//     that is acceptable is the data plane's business, not ours;
//   - HTTP backends share a keep-alive pool with a cap on connections per
//     host, redirects are returned rather than followed, TLS is verified.
//
// Lambda calls go to the local function host (package funchost) when the
// function is declared locally, and to the Lambda Invoke API otherwise — real
// AWS, LocalStack, or another wsgate node serving InvokeAPI.
//
// Failures that are not the backend's answer are returned as errors wrapping
// one of the Err* values, with detail for logs; match them with errors.Is.
// A Lambda function error is not a Go error: it is a Result with
// FunctionError set and the error document as Body, as Lambda reports it.
//
// HTTP, Lambda and InvokeAPI are safe for concurrent use. ParseFunctionURI
// and ResolveStageVariables are pure functions.
package integration
