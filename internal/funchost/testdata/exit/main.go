// Command exit is a test handler that exits with exitCode in the middle of
// an invocation when asked to, and otherwise returns its pid.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

type request struct {
	ExitCode int `json:"exitCode"`
}

func handle(_ context.Context, req request) (map[string]int, error) {
	if req.ExitCode != 0 {
		fmt.Println("exiting mid-invocation")
		os.Exit(req.ExitCode)
	}
	return map[string]int{"pid": os.Getpid()}, nil
}

func main() {
	lambda.Start(handle)
}
