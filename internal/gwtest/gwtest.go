// Package gwtest runs a whole wsgate gateway for tests: in-process on
// 127.0.0.1:0 with a temporary data directory (Start), or as a real child
// process of the wsgate binary (Build, StartProcess), and hands out real AWS
// SDK clients pointed at it.
package gwtest

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/gateway"
)

// Test credentials; tests that configure them sign with these.
const (
	AccessKeyID     = "AKIDWSGATETEST"
	SecretAccessKey = "wsgate-test-secret"
	Region          = "us-east-1"
)

// Gateway is a running in-process gateway.
type Gateway struct {
	*gateway.Gateway
	Config *config.Config
	URL    string // http://127.0.0.1:port
	cancel context.CancelFunc
	done   chan error
}

// Start runs a gateway with cfg (nil: defaults) on 127.0.0.1:0 with a
// temporary data directory unless cfg sets one, and stops it when the test
// ends.
func Start(t testing.TB, cfg *config.Config) *Gateway {
	t.Helper()
	if cfg == nil {
		cfg = config.Default()
	}
	cfg.Listen = "127.0.0.1:0"
	if cfg.Data == "" || cfg.Data == "./wsgate-data" {
		cfg.Data = t.TempDir()
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("gwtest: invalid config: %v", err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if os.Getenv("WSGATE_TEST_QUIET") != "" {
		log = slog.New(slog.DiscardHandler)
	}
	g, err := gateway.New(cfg, log)
	if err != nil {
		t.Fatalf("gwtest: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	gw := &Gateway{Gateway: g, Config: cfg, cancel: cancel, done: make(chan error, 1)}
	go func() { gw.done <- g.Run(ctx, nil) }()
	select {
	case <-g.Ready():
	case err := <-gw.done:
		cancel()
		t.Fatalf("gwtest: gateway did not start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("gwtest: gateway not ready after 30s")
	}
	gw.URL = g.BaseURL()
	t.Cleanup(func() { gw.Stop(t) })
	return gw
}

// Stop shuts the gateway down and waits for Run to return (idempotent).
func (g *Gateway) Stop(t testing.TB) {
	t.Helper()
	g.cancel()
	select {
	case err, ok := <-g.done:
		if ok && err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("gwtest: gateway stopped with error: %v", err)
		}
		if ok {
			close(g.done)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("gwtest: gateway did not stop within 30s")
	}
}

// Host returns host:port of the listener.
func (g *Gateway) Host() string { return g.Addr().String() }

// AWSConfig returns an aws.Config with static test credentials.
func AWSConfig() aws.Config {
	return aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		// Retries would hide the exact status of an error; tests want it.
		RetryMaxAttempts: 1,
	}
}

// APIGatewayV2 returns the real apigatewayv2 client pointed at the gateway.
func APIGatewayV2(baseURL string) *apigatewayv2.Client {
	return apigatewayv2.NewFromConfig(AWSConfig(), func(o *apigatewayv2.Options) {
		o.BaseEndpoint = aws.String(baseURL)
	})
}

// Management returns the real @connections client for a stage, using the
// path form endpoint {base}/{apiId}/{stage}.
func Management(baseURL, apiID, stage string) *apigatewaymanagementapi.Client {
	return apigatewaymanagementapi.NewFromConfig(AWSConfig(), func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(baseURL + "/" + apiID + "/" + stage)
	})
}

// FreeAddr returns an unused 127.0.0.1 address (for child processes that
// must be told their port).
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}
