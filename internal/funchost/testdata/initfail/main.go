// Command initfail is a test handler whose initialization fails the way
// INIT_MODE says: "exit" exits with status 2, "post" reports an init error
// through the Runtime API first, "hang" never asks for work. Any other mode
// starts normally.
package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	switch os.Getenv("INIT_MODE") {
	case "exit":
		fmt.Fprintln(os.Stderr, "init: config missing")
		os.Exit(2)
	case "post":
		url := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/init/error"
		body := `{"errorMessage":"config missing","errorType":"ConfigError"}`
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(body))
		if err != nil {
			os.Exit(4)
		}
		req.Header.Set("Lambda-Runtime-Function-Error-Type", "Runtime.ConfigError")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			os.Exit(5)
		}
		fmt.Println("init error posted:", resp.StatusCode)
		resp.Body.Close()
		os.Exit(1)
	case "hang":
		time.Sleep(time.Hour)
	}
	lambda.Start(func(context.Context) (string, error) { return "ok", nil })
}
