// Command echo is a test handler: it returns its event together with what
// the Lambda environment told it (environment variables, lambdacontext,
// deadline, trace id), and can print to stdout/stderr or answer with a body
// of an exact size.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type request struct {
	Stdout      string `json:"stdout"`      // printed to stdout as is
	StderrBytes int    `json:"stderrBytes"` // length of one line printed to stderr
	Size        int    `json:"size"`        // answer with exactly this many bytes
}

type response struct {
	Event           json.RawMessage   `json:"event"`
	Env             map[string]string `json:"env"`
	PID             int               `json:"pid"`
	Cwd             string            `json:"cwd"`
	RequestID       string            `json:"requestId"`
	FunctionARN     string            `json:"functionArn"`
	HasDeadline     bool              `json:"hasDeadline"`
	DeadlineMs      int64             `json:"deadlineMs"`
	TraceCtx        string            `json:"traceCtx"`
	FunctionName    string            `json:"functionName"`
	FunctionVersion string            `json:"functionVersion"`
	MemoryLimitInMB int               `json:"memoryLimitInMB"`
	LogGroupName    string            `json:"logGroupName"`
	LogStreamName   string            `json:"logStreamName"`
	MaxConcurrency  int               `json:"maxConcurrency"`
}

func handle(ctx context.Context, event json.RawMessage) (any, error) {
	var req request
	_ = json.Unmarshal(event, &req) // non-object events are echoed too
	if req.Stdout != "" {
		fmt.Print(req.Stdout)
	}
	if req.StderrBytes > 0 {
		fmt.Fprintln(os.Stderr, strings.Repeat("e", req.StderrBytes))
	}
	if req.Size > 0 {
		// Not JSON-serializable to anything but {}, so aws-lambda-go
		// streams it as the raw response body.
		return bytes.NewReader(bytes.Repeat([]byte("a"), req.Size)), nil
	}
	env := make(map[string]string)
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	cwd, _ := os.Getwd()
	lc, _ := lambdacontext.FromContext(ctx)
	deadline, ok := ctx.Deadline()
	trace, _ := ctx.Value("x-amzn-trace-id").(string)
	return response{
		Event:           event,
		Env:             env,
		PID:             os.Getpid(),
		Cwd:             cwd,
		RequestID:       lc.AwsRequestID,
		FunctionARN:     lc.InvokedFunctionArn,
		HasDeadline:     ok,
		DeadlineMs:      deadline.UnixMilli(),
		TraceCtx:        trace,
		FunctionName:    lambdacontext.FunctionName,
		FunctionVersion: lambdacontext.FunctionVersion,
		MemoryLimitInMB: lambdacontext.MemoryLimitInMB,
		LogGroupName:    lambdacontext.LogGroupName,
		LogStreamName:   lambdacontext.LogStreamName,
		MaxConcurrency:  lambdacontext.MaxConcurrency(),
	}, nil
}

func main() {
	lambda.Start(handle)
}
