package cluster_test

import (
	"context"
	"testing"
	"time"

	natstest "github.com/nats-io/nats-server/v2/test"
)

func TestTmpLeaveTiming(t *testing.T) {
	opts := natstest.DefaultTestOptions
	opts.Port = -1
	opts.JetStream = true
	opts.StoreDir = t.TempDir()
	srv := natstest.RunServer(&opts)
	a := join(t, options(srv, "a"))
	s := time.Now()
	srv.Shutdown()
	t.Logf("shutdown %v", time.Since(s))
	s = time.Now()
	a.Leave(context.Background())
	t.Logf("leave %v", time.Since(s))
}
