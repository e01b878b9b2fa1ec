// Command echo is a Lambda handler built with aws-lambda-go for the tests of
// package integration: it returns the event it got, the value of the
// environment variable the event names in "env", fails with the message in
// "fail", and first sleeps "sleepMs" milliseconds (or until its deadline).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Fail    string `json:"fail"`
	Env     string `json:"env"`
	SleepMs int    `json:"sleepMs"`
}

func handle(ctx context.Context, raw json.RawMessage) (map[string]any, error) {
	var e event
	_ = json.Unmarshal(raw, &e) // events that are not objects are echoed too
	if e.SleepMs > 0 {
		t := time.NewTimer(time.Duration(e.SleepMs) * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
	if e.Fail != "" {
		return nil, errors.New(e.Fail)
	}
	out := map[string]any{"event": raw}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		out["requestId"] = lc.AwsRequestID
	}
	if e.Env != "" {
		out["env"] = os.Getenv(e.Env)
	}
	return out, nil
}

func main() { lambda.Start(handle) }
