// Command panic is a test handler that panics when asked to (aws-lambda-go
// then reports the panic and exits) and otherwise returns its pid.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

type request struct {
	Panic bool `json:"panic"`
}

func handle(_ context.Context, req request) (map[string]int, error) {
	if req.Panic {
		panic("kaboom")
	}
	return map[string]int{"pid": os.Getpid()}, nil
}

func main() {
	lambda.Start(handle)
}
