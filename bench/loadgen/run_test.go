package loadgen

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/gwtest"
)

// TestHelperWorker is the worker process of TestRunSmoke: the test binary
// re-executed, as `wsgate bench` re-executes itself.
func TestHelperWorker(t *testing.T) {
	if os.Getenv("LOADGEN_TEST_WORKER") != "1" {
		t.Skip("run by TestRunSmoke as a worker process")
	}
	replies := os.NewFile(3, "replies")
	if err := RunWorker(context.Background(), os.Stdin, replies, WorkerOptions{Sources: SourceAddrs(2), MaxConns: 6}); err != nil {
		t.Fatal(err)
	}
}

// TestRunSmoke runs every scenario with a handful of connections against a
// gateway in this process, spreading them over a worker process (at most
// 6 connections a process here), and checks that each measured something
// and nothing failed.
func TestRunSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a gateway")
	}
	t.Setenv("WSGATE_TEST_QUIET", "1")
	gw := gwtest.Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Config{
		Control: gw.URL, PID: os.Getpid(), Label: "smoke",
		IdleConns: 10, FanoutConns: 8, EchoConns: 4, PushConns: 4,
		ConnectConcurrency: 4, Settle: time.Millisecond,
		Duration: 300 * time.Millisecond, Warmup: 50 * time.Millisecond,
		FanoutRounds: 2, StallBytes: 8 << 20, PushConcurrency: 2,
		ChurnRate: 50, ChurnDuration: 200 * time.Millisecond, ChurnConcurrency: 4,
		Sources: 2, PerProcess: 6,
		WorkerCommand: func() *exec.Cmd {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWorker$")
			cmd.Env = append(os.Environ(), "LOADGEN_TEST_WORKER=1")
			return cmd
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		ScenarioIdle:          {"connections opened", "connect rate", "server RSS"},
		ScenarioFanout:        {"frames delivered per second", "time to last delivery"},
		ScenarioFanoutStalled: {"frames delivered per second", "dropped (last round)"},
		ScenarioEcho:          {"round trips per second", "round trip p99"},
		ScenarioEchoTemplate:  {"round trips per second"},
		ScenarioRouteHTTP:     {"round trips per second"},
		ScenarioRouteProxy:    {"round trips per second"},
		ScenarioPush:          {"POSTs per second", "delivered messages per second"},
		ScenarioChurn:         {"connect-disconnect cycles per second"},
	}
	for _, r := range rep.Results {
		for k, n := range r.Errors {
			t.Errorf("%s: %d × %s (e.g. %s)", r.Scenario, n, k, r.Examples[k])
		}
		for _, note := range r.Notes {
			if strings.HasPrefix(note, "failed") || strings.HasSuffix(note, "were closed by the server") {
				t.Errorf("%s: %s", r.Scenario, note)
			}
		}
		for _, name := range want[r.Scenario] {
			f, ok := rep.Figure(r.Scenario, name)
			if !ok || f.Value <= 0 && name != "dropped (last round)" {
				t.Errorf("%s: %q = %+v, %v", r.Scenario, name, f, ok)
			}
		}
		delete(want, r.Scenario)
	}
	if len(want) > 0 {
		t.Errorf("scenarios not run: %v", want)
	}
	if f, _ := rep.Figure(ScenarioIdle, "connections opened"); f.Value != 10 {
		t.Errorf("opened %v of 10 connections", f.Value)
	}
	if f, _ := rep.Figure(ScenarioFanoutStalled, "dropped (last round)"); f.Value != 1 {
		t.Errorf("the stalled member was dropped %v times in the last round, want 1", f.Value)
	}
	if gw.Hub().Len() != 0 {
		t.Errorf("%d connections left open on the gateway", gw.Hub().Len())
	}
}

// TestRunRefusesOtherTargets checks that nothing is sent anywhere but
// 127.0.0.0/8, and that route scenarios need a control plane.
func TestRunRefusesOtherTargets(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		err  error
	}{
		{name: "remote URL", cfg: Config{URL: "ws://192.0.2.1:80/a/b"}, err: ErrNotLoopback},
		{name: "remote control plane", cfg: Config{Control: "http://192.0.2.1:8080"}, err: ErrNotLoopback},
		{name: "remote management endpoint", cfg: Config{URL: "ws://127.0.0.1:1/a/b", Mgmt: "http://192.0.2.1:80/a/b", Scenarios: []string{ScenarioPush}}, err: ErrNotLoopback},
		{name: "route without control plane", cfg: Config{URL: "ws://127.0.0.1:1/a/b", Scenarios: []string{ScenarioRouteHTTP}}, err: ErrConfig},
		{name: "unknown scenario", cfg: Config{URL: "ws://127.0.0.1:1/a/b", Scenarios: []string{"soak"}}, err: ErrConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Run(context.Background(), tc.cfg); !errors.Is(err, tc.err) {
				t.Fatalf("Run = %v, want %v", err, tc.err)
			}
		})
	}
}
