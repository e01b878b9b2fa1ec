package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natstest "github.com/nats-io/nats-server/v2/test"
	"github.com/nats-io/nats.go"

	"github.com/wsgate/wsgate/internal/cluster"
)

func runServer(t *testing.T) *server.Server {
	t.Helper()
	opts := natstest.DefaultTestOptions
	opts.Port = -1
	opts.JetStream = true
	opts.StoreDir = t.TempDir()
	srv := natstest.RunServer(&opts)
	t.Cleanup(srv.Shutdown)
	return srv
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func options(srv *server.Server, id string) cluster.Options {
	return cluster.Options{URLs: []string{srv.ClientURL()}, NodeID: id, ReconnectWait: 20 * time.Millisecond}
}

// join joins with o and leaves when the test ends.
func join(t *testing.T, o cluster.Options) *cluster.Member {
	t.Helper()
	m, err := cluster.Join(ctx(t), o)
	if err != nil {
		t.Fatalf("join %s: %v", o.NodeID, err)
	}
	t.Cleanup(func() { m.Leave(context.Background()) })
	return m
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestNumbers: each node id gets its own number, and keeps it across
// restarts.
func TestNumbers(t *testing.T) {
	srv := runServer(t)
	a := join(t, options(srv, "a"))
	b := join(t, options(srv, "b"))
	if a.Number() == 0 || b.Number() == 0 || a.Number() == b.Number() {
		t.Fatalf("numbers %d and %d", a.Number(), b.Number())
	}
	na := a.Number()
	a.Leave(ctx(t))
	a.Leave(ctx(t)) // idempotent
	c := join(t, options(srv, "c"))
	a2 := join(t, options(srv, "a"))
	if a2.Number() != na {
		t.Errorf("a rejoined with number %d, had %d", a2.Number(), na)
	}
	if c.Number() == na || c.Number() == b.Number() {
		t.Errorf("c got number %d, taken by a (%d) or b (%d)", c.Number(), na, b.Number())
	}
	if a2.Prefix() != "wsgate.wsgate" || a2.NodeID() != "a" {
		t.Errorf("prefix %q, id %q", a2.Prefix(), a2.NodeID())
	}
}

// TestDuplicateNodeID: a second process with a running node's id is
// refused at once with a message naming the id.
func TestDuplicateNodeID(t *testing.T) {
	srv := runServer(t)
	join(t, options(srv, "node-1"))
	start := time.Now()
	_, err := cluster.Join(ctx(t), options(srv, "node-1"))
	if !errors.Is(err, cluster.ErrNodeIDTaken) {
		t.Fatalf("second join: %v", err)
	}
	if !strings.Contains(err.Error(), `"node-1"`) || !strings.Contains(err.Error(), "already in use") {
		t.Errorf("message does not name the id: %v", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("refusal took %v", el)
	}
}

// TestConcurrentJoin: processes starting together with one id: exactly
// one joins.
func TestConcurrentJoin(t *testing.T) {
	srv := runServer(t)
	join(t, options(srv, "warmup")) // the bucket exists before the race
	const n = 4
	var wg sync.WaitGroup
	results := make(chan error, n)
	for range n {
		wg.Go(func() {
			m, err := cluster.Join(ctx(t), options(srv, "x"))
			if err == nil {
				t.Cleanup(func() { m.Leave(context.Background()) })
			}
			results <- err
		})
	}
	wg.Wait()
	close(results)
	ok := 0
	for err := range results {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, cluster.ErrNodeIDTaken):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent joins with one id succeeded", ok, n)
	}
}

// TestRejoinAfterKill: a node whose process died (its NATS connection
// closed, no Leave) can be restarted with its id at once, and keeps its
// number; the dead instance cannot later overwrite the new one's record.
func TestRejoinAfterKill(t *testing.T) {
	srv := runServer(t)
	other := join(t, options(srv, "other"))
	dead, err := cluster.Join(ctx(t), options(srv, "k"))
	if err != nil {
		t.Fatal(err)
	}
	dead.Conn().Close() // what the kernel does for a killed process
	start := time.Now()
	m := join(t, options(srv, "k"))
	if el := time.Since(start); el > time.Second {
		t.Errorf("rejoin took %v", el)
	}
	if m.Number() != dead.Number() {
		t.Errorf("number %d after restart, was %d", m.Number(), dead.Number())
	}
	dead.Leave(ctx(t)) // must neither hang nor disturb the new holder

	e, err := other.Store().Get(ctx(t), "cluster/nodes/k")
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		LeftAt *time.Time `json:"leftAt"`
	}
	if err := json.Unmarshal(e.Value, &rec); err != nil || rec.LeftAt != nil {
		t.Errorf("record after the dead instance's Leave: %s (%v)", e.Value, err)
	}
	if _, err := cluster.Join(ctx(t), options(srv, "k")); !errors.Is(err, cluster.ErrNodeIDTaken) {
		t.Errorf("third start: %v", err)
	}
}

// TestHungHolder: a holder that is subscribed but does not answer within
// the probe timeout is taken over.
func TestHungHolder(t *testing.T) {
	srv := runServer(t)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Subscribe("wsgate.wsgate.id.h", func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	o := options(srv, "h")
	o.ProbeTimeout = 200 * time.Millisecond
	start := time.Now()
	join(t, o)
	if el := time.Since(start); el < 200*time.Millisecond || el > 5*time.Second {
		t.Errorf("join took %v, want the probe timeout and a little", el)
	}
}

// TestPresence: nodes learn of each other at once (hello), forget a node
// that leaves at once (bye), and one that dies when its heartbeats stop.
func TestPresence(t *testing.T) {
	srv := runServer(t)
	slow := func(id string) cluster.Options {
		o := options(srv, id)
		o.Heartbeat = time.Hour // only hello and bye can explain what follows
		return o
	}
	a, b, c := join(t, slow("a")), join(t, slow("b")), join(t, slow("c"))
	all := []uint16{a.Number(), b.Number(), c.Number()}
	slices.Sort(all)
	for _, m := range []*cluster.Member{a, b, c} {
		waitFor(t, 5*time.Second, m.NodeID()+" sees all", func() bool { return slices.Equal(m.Live(), all) })
	}
	if nodes := a.Nodes(); len(nodes) != 3 || nodes[0].Number != all[0] {
		t.Errorf("Nodes() = %+v", nodes)
	}
	c.Leave(ctx(t))
	ab := []uint16{a.Number(), b.Number()}
	slices.Sort(ab)
	waitFor(t, 5*time.Second, "bye", func() bool { return slices.Equal(a.Live(), ab) && slices.Equal(b.Live(), ab) })

	b.Gone(a.Number())
	if slices.Contains(b.Live(), a.Number()) {
		t.Errorf("Gone did not forget node %d", a.Number())
	}
	b.Gone(b.Number()) // never forgets itself
	if !slices.Contains(b.Live(), b.Number()) {
		t.Error("Gone forgot the node itself")
	}
}

// TestHeartbeatExpiry: a killed node (no bye) drops out after its
// heartbeats stop.
func TestHeartbeatExpiry(t *testing.T) {
	srv := runServer(t)
	fast := func(id string) cluster.Options {
		o := options(srv, id)
		o.Heartbeat = 100 * time.Millisecond
		return o
	}
	a := join(t, fast("a"))
	b, err := cluster.Join(ctx(t), fast("b"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Leave(context.Background())
	waitFor(t, 5*time.Second, "a sees b", func() bool { return len(a.Live()) == 2 })
	b.Conn().Close()
	start := time.Now()
	waitFor(t, 5*time.Second, "a forgets b", func() bool { return len(a.Live()) == 1 })
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Errorf("b forgotten after %v, before its heartbeats could expire", el)
	}
}

// TestReconnect: after the NATS server restarts, the members still see
// each other and the store works again.
func TestReconnect(t *testing.T) {
	opts := natstest.DefaultTestOptions
	opts.Port = -1
	opts.JetStream = true
	opts.StoreDir = t.TempDir()
	srv := natstest.RunServer(&opts)
	o := func(id string) cluster.Options {
		o := options(srv, id)
		o.Heartbeat = 100 * time.Millisecond
		return o
	}
	a, b := join(t, o("a")), join(t, o("b"))
	waitFor(t, 5*time.Second, "a sees b", func() bool { return len(a.Live()) == 2 })
	opts.Port = srv.Addr().(*net.TCPAddr).Port
	srv.Shutdown()
	srv.WaitForShutdown()
	waitFor(t, 5*time.Second, "a sees the outage", func() bool { return a.Conn().Status() != nats.CONNECTED })
	waitFor(t, 5*time.Second, "a forgets b", func() bool { return len(a.Live()) == 1 })
	srv = natstest.RunServer(&opts)
	t.Cleanup(srv.Shutdown)
	waitFor(t, 10*time.Second, "a sees b again", func() bool { return len(a.Live()) == 2 && len(b.Live()) == 2 })
	waitFor(t, 10*time.Second, "store", func() bool {
		_, err := a.Store().Put(ctx(t), "test/k", []byte("v"))
		return err == nil
	})
}

func TestInvalidOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    cluster.Options
		want error
	}{
		{name: "no urls", o: cluster.Options{NodeID: "a"}},
		{name: "empty id", o: cluster.Options{URLs: []string{"nats://127.0.0.1:1"}}, want: cluster.ErrInvalidNodeID},
		{name: "dot in id", o: cluster.Options{URLs: []string{"nats://127.0.0.1:1"}, NodeID: "a.b"}, want: cluster.ErrInvalidNodeID},
		{name: "wildcard in id", o: cluster.Options{URLs: []string{"nats://127.0.0.1:1"}, NodeID: "*"}, want: cluster.ErrInvalidNodeID},
		{name: "long id", o: cluster.Options{URLs: []string{"nats://127.0.0.1:1"}, NodeID: strings.Repeat("a", 65)}, want: cluster.ErrInvalidNodeID},
		{name: "bad bucket", o: cluster.Options{URLs: []string{"nats://127.0.0.1:1"}, NodeID: "a", Bucket: "x y"}},
		{name: "half a client certificate", o: cluster.Options{URLs: []string{"nats://127.0.0.1:1"}, NodeID: "a", CertFile: "c.pem"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cluster.Join(ctx(t), tc.o)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("Join: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestUnreachableNATS(t *testing.T) {
	o := cluster.Options{URLs: []string{"nats://user:secret@127.0.0.1:1"}, NodeID: "a"}
	_, err := cluster.Join(ctx(t), o)
	if err == nil || strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("Join: %v", err)
	}
}
