package natsrelay_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natstest "github.com/nats-io/nats-server/v2/test"
	"github.com/nats-io/nats.go"

	"github.com/wsgate/wsgate/internal/connid"
	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/relay"
	"github.com/wsgate/wsgate/internal/relay/natsrelay"
)

const prefix = "wsgate.test"

// testConn is a hub.Conn that keeps what it is sent. The data plane's
// connections are exercised end to end in internal/gateway's cluster
// tests; here the relay's routing and answers are under test.
type testConn struct {
	id  string
	err error // what Send returns, when set

	mu     sync.Mutex
	got    [][]byte
	binary []bool
	closed int
}

func (c *testConn) ID() string { return c.id }

func (c *testConn) Send(data []byte, binary bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	if c.closed != 0 {
		return hub.ErrGone
	}
	c.got = append(c.got, bytes.Clone(data))
	c.binary = append(c.binary, binary)
	return nil
}

func (c *testConn) Close(code int, _ string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed == 0 {
		c.closed = code
	}
}

func (c *testConn) Alive() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed == 0
}

func (c *testConn) Base() hub.Info {
	t := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	return hub.Info{ConnectedAt: t, LastActiveAt: t.Add(time.Second), SourceIP: "192.0.2.7", UserAgent: "ua/" + c.id}
}

func (c *testConn) messages() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.got))
	for i, b := range c.got {
		out[i] = string(b)
	}
	return out
}

func runServer(t *testing.T) *server.Server {
	t.Helper()
	opts := natstest.DefaultTestOptions
	opts.Port = -1
	srv := natstest.RunServer(&opts)
	t.Cleanup(srv.Shutdown)
	return srv
}

func connect(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectBufSize(-1), nats.ReconnectWait(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// node is one relay with its hub and connection.
type node struct {
	n  uint16
	h  *hub.Hub
	nc *nats.Conn
	r  *natsrelay.Relay
}

var key = hub.Key{API: "api1", Stage: "prod"}

// cluster starts relays for nodes 1..n on one server; every node is live.
func cluster(t *testing.T, srv *server.Server, n int, tweak func(*natsrelay.Options)) []*node {
	t.Helper()
	live := make([]uint16, n)
	for i := range live {
		live[i] = uint16(i + 1)
	}
	var nodes []*node
	for i := range n {
		nd := &node{n: uint16(i + 1), h: hub.New(), nc: connect(t, srv.ClientURL())}
		o := natsrelay.Options{Conn: nd.nc, Hub: nd.h, Node: nd.n, Prefix: prefix, Live: func() []uint16 { return live }}
		if tweak != nil {
			tweak(&o)
		}
		r, err := natsrelay.New(o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close(context.Background()) })
		nd.r = r
		nodes = append(nodes, nd)
	}
	return nodes
}

// add registers a connection of node nd in the test stage.
func (nd *node) add(principal string, groups ...string) *testConn {
	c := &testConn{id: connid.New(nd.n)}
	nd.h.Add(c, key, principal, groups, map[string]string{"owner": fmt.Sprint(nd.n)})
	return c
}

func target(c *testConn) relay.Target {
	return relay.Target{APIID: key.API, Stage: key.Stage, ConnID: c.id}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestPointOperations: every @connections operation through node 1 on a
// connection of node 2 does what it does on node 2, and answers with the
// hub's errors.
func TestPointOperations(t *testing.T) {
	nodes := cluster(t, runServer(t), 2, nil)
	n1, n2 := nodes[0], nodes[1]
	c := n2.add("alice")
	x := ctx(t)

	big := bytes.Repeat([]byte{0xff, 0x00, 'x'}, (128<<10)/3+1)[:128<<10]
	if err := n1.r.Post(x, target(c), []byte("hello"), false); err != nil {
		t.Fatalf("post: %v", err)
	}
	if err := n1.r.Post(x, target(c), big, true); err != nil {
		t.Fatalf("post 128 KB: %v", err)
	}
	if got := c.messages(); len(got) != 2 || got[0] != "hello" || got[1] != string(big) || !c.binary[1] || c.binary[0] {
		t.Fatalf("delivered %d messages (binary flags %v)", len(got), c.binary)
	}

	remote, err := n1.r.Info(x, target(c))
	if err != nil {
		t.Fatal(err)
	}
	local, _ := n2.r.Info(x, target(c))
	if remote.ID != c.id || remote.PrincipalID != "alice" || !remote.ConnectedAt.Equal(local.ConnectedAt) ||
		!remote.LastActiveAt.Equal(local.LastActiveAt) || remote.SourceIP != local.SourceIP || remote.Metadata["owner"] != "2" {
		t.Errorf("remote info %+v, local %+v", remote, local)
	}

	if err := n1.r.Join(x, target(c), "room-1"); err != nil {
		t.Fatal(err)
	}
	if err := n1.r.SetMetadata(x, target(c), map[string]string{"k": "v", "owner": ""}); err != nil {
		t.Fatal(err)
	}
	in, _ := n2.h.Info(c.id)
	if !slices.Equal(in.Groups, []string{"room-1"}) || len(in.Metadata) != 1 || in.Metadata["k"] != "v" {
		t.Errorf("after join and metadata: %+v", in)
	}
	if err := n1.r.Leave(x, target(c), "room-1"); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		do   func() error
		want error
	}{
		{name: "bad group", do: func() error { return n1.r.Join(x, target(c), "no spaces") }, want: hub.ErrBadGroup},
		{name: "bad metadata", do: func() error { return n1.r.SetMetadata(x, target(c), map[string]string{"": "v"}) }, want: hub.ErrBadMetadata},
		{name: "too much metadata", do: func() error {
			return n1.r.SetMetadata(x, target(c), map[string]string{"k": strings.Repeat("v", hub.MaxMetadataBytes)})
		}, want: hub.ErrTooMany},
		{name: "other stage", do: func() error {
			return n1.r.Post(x, relay.Target{APIID: key.API, Stage: "dev", ConnID: c.id}, []byte("x"), false)
		}, want: hub.ErrGone},
		{name: "unknown id of a live node", do: func() error {
			return n1.r.Post(x, relay.Target{APIID: key.API, Stage: key.Stage, ConnID: connid.New(2)}, []byte("x"), false)
		}, want: hub.ErrGone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}

	full := n2.add("")
	full.err = hub.ErrQueueFull
	if err := n1.r.Post(x, target(full), []byte("x"), false); !errors.Is(err, hub.ErrQueueFull) {
		t.Errorf("post to a full queue: %v", err)
	}

	if err := n1.r.Disconnect(x, target(c)); err != nil {
		t.Fatal(err)
	}
	if c.closed != 1000 {
		t.Errorf("disconnect closed with %d, want 1000", c.closed)
	}
}

// TestGoneNodes: an id of a node that does not run, or that does not
// answer, is Gone promptly.
func TestGoneNodes(t *testing.T) {
	srv := runServer(t)
	var gone []uint16
	var mu sync.Mutex
	nodes := cluster(t, srv, 1, func(o *natsrelay.Options) {
		o.Timeout = 300 * time.Millisecond
		o.Gone = func(n uint16) { mu.Lock(); gone = append(gone, n); mu.Unlock() }
		o.Live = func() []uint16 { return []uint16{1, 7} }
	})
	n1 := nodes[0]
	x := ctx(t)

	start := time.Now()
	err := n1.r.Post(x, relay.Target{Stage: "prod", ConnID: connid.New(9)}, []byte("x"), false)
	if !errors.Is(err, hub.ErrGone) || time.Since(start) > 200*time.Millisecond {
		t.Errorf("no node 9: err %v after %v, want ErrGone at once", err, time.Since(start))
	}
	mu.Lock()
	if !slices.Equal(gone, []uint16{9}) {
		t.Errorf("Gone told %v, want [9]", gone)
	}
	mu.Unlock()

	// Node 7 has no responder but its heartbeats say it runs (it may be
	// reconnecting to NATS): asked again for half the timeout, then Gone.
	start = time.Now()
	err = n1.r.Post(x, relay.Target{Stage: "prod", ConnID: connid.New(7)}, []byte("x"), false)
	if el := time.Since(start); !errors.Is(err, hub.ErrGone) || el < 150*time.Millisecond || el > time.Second {
		t.Errorf("live node 7 without responder: err %v after %v, want ErrGone after about 150ms", err, el)
	}

	// Node 8 is hung: subscribed, never answering.
	hung := connect(t, srv.ClientURL())
	if _, err := hung.Subscribe(prefix+".conn.8", func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	if err := hung.Flush(); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	_, err = n1.r.Info(x, relay.Target{Stage: "prod", ConnID: connid.New(8)})
	if el := time.Since(start); !errors.Is(err, hub.ErrGone) || el < 300*time.Millisecond || el > time.Second {
		t.Errorf("hung node 8: err %v after %v, want ErrGone after the 300ms timeout", err, el)
	}

	// A caller that gives up gets its own error, not Gone.
	cx, cancel := context.WithCancel(x)
	cancel()
	if err := n1.r.Post(cx, relay.Target{Stage: "prod", ConnID: connid.New(8)}, []byte("x"), false); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: %v", err)
	}
}

// TestFanOut: one send reaches the selected members of every node once,
// and the counts are the nodes' sum.
func TestFanOut(t *testing.T) {
	nodes := cluster(t, runServer(t), 3, nil)
	x := ctx(t)
	var all []*testConn
	room := map[*testConn]bool{}
	user := map[*testConn]bool{}
	for _, nd := range nodes {
		for i := range 4 {
			var c *testConn
			switch i {
			case 0:
				c = nd.add("bob", "room")
				room[c], user[c] = true, true
			case 1:
				c = nd.add("", "room")
				room[c] = true
			default:
				c = nd.add("")
			}
			all = append(all, c)
		}
	}
	full := nodes[2].add("", "room")
	full.err = hub.ErrQueueFull
	exclude := all[0]

	for _, tc := range []struct {
		name string
		sel  hub.Selector
		want func(*testConn) bool
		drop int
	}{
		{name: "broadcast", sel: hub.Selector{Key: key}, want: func(*testConn) bool { return true }, drop: 1},
		{name: "group", sel: hub.Selector{Key: key, Group: "room"}, want: func(c *testConn) bool { return room[c] }, drop: 1},
		{name: "user", sel: hub.Selector{Key: key, Principal: "bob"}, want: func(c *testConn) bool { return user[c] }},
		{name: "group excluding the sender", sel: hub.Selector{Key: key, Group: "room", Exclude: exclude.id}, want: func(c *testConn) bool { return room[c] && c != exclude }, drop: 1},
		{name: "other stage", sel: hub.Selector{Key: hub.Key{API: key.API, Stage: "dev"}}, want: func(*testConn) bool { return false }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := map[*testConn]int{}
			for _, c := range all {
				before[c] = len(c.messages())
			}
			msg := []byte("to " + tc.name)
			res, err := nodes[1].r.Send(x, tc.sel, msg, false)
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			for _, c := range all {
				got := len(c.messages()) - before[c]
				if tc.want(c) {
					want++
					if got != 1 {
						t.Errorf("member %s got %d messages", c.id, got)
					}
				} else if got != 0 {
					t.Errorf("non-member %s got %d messages", c.id, got)
				}
			}
			if res.Queued != want || res.Dropped != tc.drop {
				t.Errorf("result %+v, want queued %d dropped %d", res, want, tc.drop)
			}
		})
	}
}

// TestFanOutNodeDown: a node that the heartbeats still count as live but
// is gone costs the gather timeout, no more, and the others' counts stand.
func TestFanOutNodeDown(t *testing.T) {
	srv := runServer(t)
	live := []uint16{1, 2, 3}
	nodes := cluster(t, srv, 2, func(o *natsrelay.Options) {
		o.GatherTimeout = 300 * time.Millisecond
		o.Live = func() []uint16 { return live }
	})
	nodes[0].add("")
	nodes[1].add("")
	start := time.Now()
	res, err := nodes[0].r.Send(ctx(t), hub.Selector{Key: key}, []byte("x"), false)
	if el := time.Since(start); err != nil || res.Queued != 2 || el < 300*time.Millisecond || el > 2*time.Second {
		t.Errorf("send with node 3 missing: %+v, %v after %v", res, err, el)
	}
}

// TestList: listings merge every node's connections in id order, and
// pages chain without gaps or repeats.
func TestList(t *testing.T) {
	nodes := cluster(t, runServer(t), 3, nil)
	x := ctx(t)
	var want []string
	for i := range 25 {
		nd := nodes[i%3]
		groups := []string{}
		if i%2 == 0 {
			groups = append(groups, "even")
		}
		want = append(want, nd.add("", groups...).id)
	}
	slices.Sort(want)

	for _, limit := range []int{1, 4, 7, 25, 100} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			var got []string
			after := ""
			for range 100 {
				infos, more, err := nodes[2].r.List(x, hub.Selector{Key: key}, after, limit)
				if err != nil {
					t.Fatal(err)
				}
				if len(infos) > limit {
					t.Fatalf("page of %d, limit %d", len(infos), limit)
				}
				for _, in := range infos {
					got = append(got, in.ID)
				}
				if !more {
					break
				}
				after = infos[len(infos)-1].ID
			}
			if !slices.Equal(got, want) {
				t.Errorf("listed %d ids %v\nwant %d %v", len(got), got, len(want), want)
			}
		})
	}
	infos, _, err := nodes[0].r.List(x, hub.Selector{Key: key, Group: "even"}, "", 100)
	if err != nil || len(infos) != 13 {
		t.Errorf("group filter: %d infos, %v", len(infos), err)
	}
}

// TestNATSDown: with this node's NATS connection down, operations on other
// nodes' connections fail with ErrUnavailable (not Gone: the owner may be
// alive), local ones still work, and everything resumes after reconnect.
func TestNATSDown(t *testing.T) {
	srv := runServer(t)
	nodes := cluster(t, srv, 2, nil)
	local, remote := nodes[0].add(""), nodes[1].add("")
	x := ctx(t)
	port := srv.Addr().(*net.TCPAddr).Port
	srv.Shutdown()
	srv.WaitForShutdown()
	waitFor(t, "disconnect", func() bool { return nodes[0].nc.Status() != nats.CONNECTED })

	if err := nodes[0].r.Post(x, target(remote), []byte("x"), false); !errors.Is(err, natsrelay.ErrUnavailable) {
		t.Errorf("remote post while down: %v", err)
	}
	if _, err := nodes[0].r.Send(x, hub.Selector{Key: key}, []byte("b"), false); !errors.Is(err, natsrelay.ErrUnavailable) {
		t.Errorf("fan-out while down: %v", err)
	}
	if got := local.messages(); len(got) != 1 || got[0] != "b" {
		t.Errorf("local member got %v during the outage", got)
	}
	if err := nodes[0].r.Post(x, target(local), []byte("l"), false); err != nil {
		t.Errorf("local post while down: %v", err)
	}

	opts := natstest.DefaultTestOptions
	opts.Port = port
	srv2 := natstest.RunServer(&opts)
	t.Cleanup(srv2.Shutdown)
	waitFor(t, "reconnect", func() bool {
		return nodes[0].nc.Status() == nats.CONNECTED && nodes[1].nc.Status() == nats.CONNECTED
	})
	// Subscriptions are restored by the client on reconnect; poll until
	// node 2's has reached the new server.
	waitFor(t, "remote post after reconnect", func() bool {
		return nodes[0].r.Post(x, target(remote), []byte("again"), false) == nil
	})
	// Close drains while connected: prompt, and idempotent.
	for _, nd := range nodes {
		start := time.Now()
		if err := nd.r.Close(x); err != nil || time.Since(start) > time.Second {
			t.Errorf("close: %v after %v", err, time.Since(start))
		}
		if err := nd.r.Close(x); err != nil {
			t.Errorf("second close: %v", err)
		}
	}
	if err := nodes[0].r.Post(x, target(remote), []byte("x"), false); !errors.Is(err, hub.ErrGone) {
		t.Errorf("post to a closed relay's connection: %v", err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
