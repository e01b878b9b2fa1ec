// Package funchost runs unmodified AWS Lambda handlers — binaries built with
// github.com/aws/aws-lambda-go, or any language's runtime interface client —
// as local child processes, and invokes them the way Lambda does: through the
// Lambda Runtime API (/2018-06-01/runtime/...).
//
// # Instances and endpoints
//
// Every instance (one child process) gets its own Runtime API listener on
// 127.0.0.1:0, passed to it in AWS_LAMBDA_RUNTIME_API. One endpoint per
// function would be simpler, but the Runtime API never says who is calling:
// GET /next carries no identity, so with a shared endpoint the host could not
// tell which process took an invocation. It could then neither kill the right
// process when that invocation times out, nor blame the right invocation when
// a process dies, nor keep processes started with different environment
// overlays apart. A listener per process makes the connection the identity,
// for the price of one loopback port per instance.
//
// An instance handles one invocation at a time (AWS_LAMBDA_MAX_CONCURRENCY is
// never passed, so aws-lambda-go runs a single /next loop). Instances are
// pooled per (function, Invocation.Env): two overlays never share a process.
// A function never has more than Function.Concurrency live processes across
// all its pools; when every slot is taken, invocations wait in a FIFO queue of
// at most Options.MaxQueue (ErrThrottled beyond) until a process is free or
// their context ends. An idle process of another pool is stopped to make room
// when nothing else can free a slot.
//
// # Failures
//
// Failures are reported as Lambda reports them to an Invoke caller: a Result
// with FunctionError "Unhandled" and an error document as Payload.
//
//   - The handler returns an error or panics: the document the runtime posted
//     to /error, unchanged (aws-lambda-go: {"errorMessage","errorType",
//     "stackTrace"?}). After a panic aws-lambda-go exits; the next invocation
//     starts a new process.
//   - A response streamed with the Lambda-Runtime-Function-Error-Type and
//     -Error-Body trailers (aws-lambda-go sets them when the handler's
//     io.Reader fails midway): the document from the trailer.
//   - The process exits mid-invocation: {"errorType":"Runtime.ExitError",
//     "errorMessage":"RequestId: ID Error: Runtime exited with error: exit
//     status N"} ("signal: killed" for signals; "Runtime exited without
//     providing a reason" for status 0), as Lambda words it.
//   - Timeout: the process group is killed (SIGKILL, as Lambda does) and the
//     result is {"errorType":"Sandbox.Timedout","errorMessage":"RequestId: ID
//     Error: Task timed out after 3.00 seconds"}, the shape Lambda has
//     returned since 2023 (older runtimes returned only an errorMessage of
//     the form "<RFC3339 time> ID Task timed out after 3.00 seconds"). The
//     timeout covers the whole invoke phase, until the runtime asks for the
//     next event, as on Lambda.
//   - The runtime posts /init/error: its document, unchanged; the process is
//     killed. A process that exits before asking for work gets the
//     Runtime.ExitError document above (what Lambda returns when a Go
//     binary's init fails). A process that does not call /next within
//     Options.InitTimeout is killed and the waiting invocation gets
//     {"errorType":"Runtime.InitError","errorMessage":"RequestId: ID Error:
//     Init timed out after 10.00 seconds"} (Lambda retries init inside the
//     invoke instead; a local host reports it plainly).
//   - The command cannot be started: {"errorType":"Runtime.InvalidEntrypoint",
//     "errorMessage":"RequestId: ID Error: fork/exec ...: no such file or
//     directory"}, as Lambda reports a missing bootstrap.
//   - A response or error body larger than Options.MaxPayload: the runtime
//     gets 413 RequestEntityTooLarge and the caller {"errorType":
//     "Function.ResponseSizeTooLarge","errorMessage":"Response payload size
//     exceeded maximum allowed payload size (N bytes)."}.
//
// Errors that are not function errors (unknown function, throttling, payload
// too large, context ended, host closed) are returned as Go errors; match them
// with errors.Is against the Err* values.
//
// # Processes and goroutines
//
// Each process runs in its own process group, so timeouts and shutdown kill
// whatever it spawned too, and is always waited for (no zombies). Its stdout
// and stderr go to the slog logger line by line (attributes function,
// instance, pid, stream; lines longer than Options.MaxLogLine are split).
// Every goroutine the host starts is owned by the Host and waited for by
// Close.
//
// All methods of Host are safe for concurrent use.
package funchost
