// Command error is a test handler that fails in the ways aws-lambda-go
// reports: a returned error, a returned error of a named type, and a
// response io.Reader that fails midway (reported in HTTP trailers).
package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/lambda"
)

type request struct {
	Mode string `json:"mode"`
}

// MyError is a named error type; aws-lambda-go reports its type name.
type MyError struct{ Code int }

func (e *MyError) Error() string { return fmt.Sprintf("my error %d", e.Code) }

// failingReader yields some bytes, then an error.
type failingReader struct{ sent bool }

func (r *failingReader) Read(p []byte) (int, error) {
	if !r.sent {
		r.sent = true
		return copy(p, "partial body"), nil
	}
	return 0, errors.New("stream broke")
}

func handle(_ context.Context, req request) (any, error) {
	switch req.Mode {
	case "custom":
		return nil, &MyError{Code: 42}
	case "reader":
		return &failingReader{}, nil
	default:
		return nil, errors.New("boom")
	}
}

func main() {
	lambda.Start(handle)
}
