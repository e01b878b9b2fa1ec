// Command sleep is a test handler that works for sleepMs milliseconds,
// deliberately ignoring its context's deadline, and reports its pid and when
// it started and ended.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

type request struct {
	SleepMs int  `json:"sleepMs"`
	Spawn   bool `json:"spawn"` // start a child process that outlives the handler
}

type response struct {
	PID     int   `json:"pid"`
	StartNs int64 `json:"startNs"`
	EndNs   int64 `json:"endNs"`
}

func handle(_ context.Context, req request) (response, error) {
	start := time.Now()
	// Tests find the process by this line even when it never answers.
	fmt.Printf("sleeping pid=%d\n", os.Getpid())
	if req.Spawn {
		child := exec.Command("sleep", "600")
		if err := child.Start(); err != nil {
			return response{}, err
		}
		fmt.Printf("child pid=%d\n", child.Process.Pid)
	}
	time.Sleep(time.Duration(req.SleepMs) * time.Millisecond)
	return response{PID: os.Getpid(), StartNs: start.UnixNano(), EndNs: time.Now().UnixNano()}, nil
}

func main() {
	lambda.Start(handle)
}
