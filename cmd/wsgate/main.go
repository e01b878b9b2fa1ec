// Command wsgate is a self-hosted WebSocket API gateway that speaks AWS API
// Gateway's wire protocols. Run `wsgate --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/lesismal/nbio/logging"

	"github.com/wsgate/wsgate/internal/cli"
)

func main() {
	// nbio, the epoll engine under internal/wsconn, logs lifecycle chatter
	// to stdout through a process-wide logger; keep only its errors.
	logging.SetLevel(logging.LevelError)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
