package natsstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natstest "github.com/nats-io/nats-server/v2/test"
	"github.com/nats-io/nats.go"

	"github.com/wsgate/wsgate/internal/store"
	"github.com/wsgate/wsgate/internal/store/natsstore"
	"github.com/wsgate/wsgate/internal/store/storetest"
)

const testWatchLag = 256 // above the live events of WatchNoGap (about 100), so only WatchOverflow overflows

// runServer starts a NATS server with JetStream on a random port, storing
// under dir, and shuts it down at the end of the test.
func runServer(t *testing.T, dir string, port int) *server.Server {
	t.Helper()
	opts := natstest.DefaultTestOptions
	opts.Port = port
	opts.JetStream = true
	opts.StoreDir = dir
	srv := natstest.RunServer(&opts)
	t.Cleanup(srv.Shutdown)
	return srv
}

func connect(t *testing.T, srv *server.Server) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL(),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(20*time.Millisecond),
		nats.ReconnectBufSize(-1),
	)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func newStore(t *testing.T, nc *nats.Conn, bucket string) *natsstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	s, err := natsstore.New(ctx, nc, natsstore.Options{Bucket: bucket, WatchLag: testWatchLag})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	srv := runServer(t, t.TempDir(), -1)
	var buckets atomic.Int64
	var mu sync.Mutex
	bucketOf := map[store.Store]string{}
	connOf := map[store.Store]*nats.Conn{}
	open := func(t *testing.T, bucket string) store.Store {
		nc := connect(t, srv)
		s := newStore(t, nc, bucket)
		mu.Lock()
		bucketOf[s], connOf[s] = bucket, nc
		mu.Unlock()
		return s
	}
	storetest.Run(t, storetest.Factory{
		New: func(t *testing.T) store.Store {
			return open(t, fmt.Sprintf("b%d", buckets.Add(1)))
		},
		Reopen: func(t *testing.T, s store.Store) store.Store {
			mu.Lock()
			bucket, nc := bucketOf[s], connOf[s]
			mu.Unlock()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			nc.Close()
			return open(t, bucket)
		},
	})
}

func TestNoJetStream(t *testing.T) {
	opts := natstest.DefaultTestOptions
	opts.Port = -1
	srv := natstest.RunServer(&opts)
	defer srv.Shutdown()
	nc := connect(t, srv)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := natsstore.New(ctx, nc, natsstore.Options{})
	t.Logf("New without JetStream: %v", err)
	if !errors.Is(err, natsstore.ErrNoJetStream) {
		t.Fatalf("New without JetStream: error = %v, want ErrNoJetStream", err)
	}
}

func TestSharedBucket(t *testing.T) {
	srv := runServer(t, t.TempDir(), -1)
	a := newStore(t, connect(t, srv), "shared")
	b := newStore(t, connect(t, srv), "shared")
	ctx := t.Context()
	w, err := b.Watch(ctx, "apis/")
	if err != nil {
		t.Fatal(err)
	}
	if ev := <-w; ev.Kind != 0 {
		t.Fatalf("want marker, got %+v", ev)
	}
	rev, err := a.Create(ctx, "apis/x", []byte("from a"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w:
		if ev.Entry.Key != "apis/x" || ev.Entry.Revision != rev {
			t.Fatalf("b saw %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("b did not see a's write")
	}
	if _, err := b.Update(ctx, "apis/x", []byte("from b"), rev); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Update(ctx, "apis/x", []byte("stale a"), rev); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a's stale update: %v", err)
	}
}

// TestServerRestart restarts the server under an open Store: calls during
// the outage fail fast with ErrUnavailable, the Watch channel closes, and
// once the server is back (same port, same store directory) the data is
// there and writes and watches work again.
func TestServerRestart(t *testing.T) {
	dir := t.TempDir()
	srv := runServer(t, dir, -1)
	port := srv.Addr().(*net.TCPAddr).Port
	nc := connect(t, srv)
	s := newStore(t, nc, "restart")
	ctx := t.Context()

	before, err := s.Put(ctx, "apis/a", []byte("before"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.Watch(ctx, "apis/")
	if err != nil {
		t.Fatal(err)
	}
	expectKeys(t, w, "apis/a")

	srv.Shutdown()
	srv.WaitForShutdown()
	waitFor(t, "the client to notice the outage", func() bool { return nc.Status() != nats.CONNECTED })

	const callTimeout = 2 * time.Second
	for _, op := range []struct {
		name string
		call func(ctx context.Context) error
	}{
		{name: "Get", call: func(ctx context.Context) error { _, err := s.Get(ctx, "apis/a"); return err }},
		{name: "List", call: func(ctx context.Context) error { _, err := s.List(ctx, ""); return err }},
		{name: "Create", call: func(ctx context.Context) error { _, err := s.Create(ctx, "apis/new", nil); return err }},
		{name: "Update", call: func(ctx context.Context) error { _, err := s.Update(ctx, "apis/a", nil, before); return err }},
		{name: "Put", call: func(ctx context.Context) error { _, err := s.Put(ctx, "apis/a", []byte("lost")); return err }},
		{name: "Delete", call: func(ctx context.Context) error { return s.Delete(ctx, "apis/a", 0) }},
		{name: "Watch", call: func(ctx context.Context) error { _, err := s.Watch(ctx, ""); return err }},
	} {
		octx, cancel := context.WithTimeout(ctx, callTimeout)
		start := time.Now()
		err := op.call(octx)
		cancel()
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s during the outage: error = %v, want ErrUnavailable", op.name, err)
		}
		t.Logf("%s during the outage: %v after %v", op.name, err, time.Since(start))
		if d := time.Since(start); d > callTimeout+time.Second {
			t.Errorf("%s during the outage took %v, past its %v context", op.name, d, callTimeout)
		}
	}
	expectClosedChan(t, w)

	srv = runServer(t, dir, port)
	restarted := time.Now()
	waitFor(t, "the client to reconnect", func() bool { return nc.Status() == nats.CONNECTED })

	// The first writes after the reconnect may still meet JetStream
	// recovering its streams; retry as a caller would.
	var after uint64
	waitFor(t, "a write to succeed after the restart", func() bool {
		octx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		after, err = s.Put(octx, "apis/b", []byte("after"))
		if err != nil && !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("Put after the restart: %v", err)
		}
		return err == nil
	})
	t.Logf("write accepted %v after the restart", time.Since(restarted))
	if after <= before {
		t.Fatalf("revision after the restart %d, not above %d", after, before)
	}
	e, err := s.Get(ctx, "apis/a")
	if err != nil || string(e.Value) != "before" || e.Revision != before {
		t.Fatalf("Get of the write from before the outage: %+v, %v", e, err)
	}

	// A new Watch sees everything and goes on. A status event from the
	// outage handled late may still close a brand-new watch; re-watching
	// is what callers do, so the test does it too.
	var w2 <-chan store.Event
	waitFor(t, "a watch to survive the reconnect", func() bool {
		w2, err = s.Watch(ctx, "apis/")
		if err != nil {
			return false
		}
		return readInitial(t, w2) == 2
	})
	rev, err := s.Put(ctx, "apis/c", []byte("live"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev, ok := <-w2:
		if !ok || ev.Entry.Key != "apis/c" || ev.Entry.Revision != rev {
			t.Fatalf("live event after the restart: %+v (open %v)", ev, ok)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no live event after the restart")
	}
	// Close before the cleanup stops the server: stopping a watcher
	// deletes its consumer, which waits for a server that is gone.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	expectClosedChan(t, w2)
}

// readInitial reads a watch's initial state and returns its size, or -1 if
// the channel closed first.
func readInitial(t *testing.T, w <-chan store.Event) int {
	t.Helper()
	n := 0
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-w:
			if !ok {
				return -1
			}
			if ev.Kind == 0 {
				return n
			}
			n++
		case <-timeout:
			t.Fatal("no end-of-initial-state marker")
		}
	}
}

func expectKeys(t *testing.T, w <-chan store.Event, keys ...string) {
	t.Helper()
	if n := readInitial(t, w); n != len(keys) {
		t.Fatalf("initial state of %d entries, want %d", n, len(keys))
	}
}

func expectClosedChan(t *testing.T, w <-chan store.Event) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-w:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("watch channel not closed after the connection dropped")
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// TestStalledServer covers a server that stops answering without the
// connection dropping: the client cannot tell, so every call is bounded by
// its context and fails with ErrUnavailable (and the context's error).
func TestStalledServer(t *testing.T) {
	srv := runServer(t, t.TempDir(), -1)
	proxy := newStallProxy(t, srv.Addr().String())
	nc, err := nats.Connect(proxy.url(), nats.MaxReconnects(-1), nats.ReconnectBufSize(-1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	s := newStore(t, nc, "stall")
	ctx := t.Context()
	rev, err := s.Put(ctx, "k", []byte("v"))
	if err != nil {
		t.Fatal(err)
	}

	proxy.stall()
	const callTimeout = 300 * time.Millisecond
	for _, op := range []struct {
		name string
		call func(ctx context.Context) error
	}{
		{name: "Get", call: func(ctx context.Context) error { _, err := s.Get(ctx, "k"); return err }},
		{name: "List", call: func(ctx context.Context) error { _, err := s.List(ctx, ""); return err }},
		{name: "Update", call: func(ctx context.Context) error { _, err := s.Update(ctx, "k", []byte("x"), rev); return err }},
		{name: "Delete", call: func(ctx context.Context) error { return s.Delete(ctx, "k", rev) }},
		{name: "Watch", call: func(ctx context.Context) error { _, err := s.Watch(ctx, ""); return err }},
	} {
		octx, cancel := context.WithTimeout(ctx, callTimeout)
		start := time.Now()
		err := op.call(octx)
		elapsed := time.Since(start)
		cancel()
		if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s against a stalled server: error = %v, want ErrUnavailable and DeadlineExceeded", op.name, err)
		}
		if elapsed > callTimeout+2*time.Second {
			t.Errorf("%s against a stalled server took %v with a %v context", op.name, elapsed, callTimeout)
		}
	}
	proxy.unstall()

	// The stalled requests now reach the server; the Update may have been
	// applied after it reported ErrUnavailable (the documented ambiguity),
	// so the caller re-reads before writing again.
	waitFor(t, "the store to answer again", func() bool {
		octx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		e, err := s.Get(octx, "k")
		if err != nil {
			return false
		}
		_, err = s.Update(octx, "k", []byte("after"), e.Revision)
		return err == nil
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestNoGoroutineLeak runs many Lists and short Watches under one
// long-lived context: the goroutines they start must all end.
func TestNoGoroutineLeak(t *testing.T) {
	srv := runServer(t, t.TempDir(), -1)
	s := newStore(t, connect(t, srv), "leak")
	ctx := t.Context()
	if _, err := s.Put(ctx, "a/b", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(ctx, ""); err != nil { // warm up the client's lazily started goroutines
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	for range 50 {
		if _, err := s.List(ctx, "a/"); err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithCancel(ctx)
		w, err := s.Watch(wctx, "a/")
		if err != nil {
			t.Fatal(err)
		}
		readInitial(t, w)
		cancel()
		expectClosedChan(t, w)
	}
	const slack = 5
	waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before+slack })
}
