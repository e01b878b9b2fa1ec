package wsconn

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"
)

// TestStartShutdownCycles guards the workaround for nbio losing a Stop that
// comes before its pollers run (Start waits for every poller).
func TestStartShutdownCycles(t *testing.T) {
	for i := range 100 {
		e, err := NewEngine(Options{Pollers: 1 + i%5})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- e.Shutdown(context.Background(), CloseGoingAway, "") }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("cycle %d: %v", i, err)
			}
		case <-time.After(waitFor):
			t.Fatalf("cycle %d: Shutdown hung with %d pollers", i, 1+i%5)
		}
	}
}

func TestEngineLifecycle(t *testing.T) {
	if _, err := NewEngine(Options{MaxFrameSize: -1}); !errors.Is(err, errOptions) {
		t.Fatalf("negative option: %v", err)
	}
	e, err := NewEngine(Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Shutdown before Start is fine; Start after it is not.
	if err := e.Shutdown(context.Background(), 1001, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Start after Shutdown: %v", err)
	}

	ts := startServer(t, serverConfig{})
	if err := ts.e.Start(); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("second Start: %v", err)
	}
	if err := ts.e.Shutdown(context.Background(), 1001, "bye"); err != nil {
		t.Fatal(err)
	}
	if err := ts.e.Shutdown(context.Background(), 1001, "bye"); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	_, resp, err := websocket.DefaultDialer.Dial(ts.url(), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after shutdown: %v, %v", err, resp)
	}
}

func TestIdleTimeout(t *testing.T) {
	const idle = 200 * time.Millisecond
	t.Run("closes after no data", func(t *testing.T) {
		ts := startServer(t, serverConfig{opts: Options{IdleTimeout: idle}})
		cl, _ := ts.dial(t, nil)
		if err := cl.WriteMessage(websocket.TextMessage, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if _, _, err := cl.ReadMessage(); err != nil {
			t.Fatal(err)
		}
		last := ts.conn(t).LastActive()
		// Pings are not activity: keep pinging while waiting for the close.
		go func() {
			for range 100 {
				if cl.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second)) != nil {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
		if code, reason := readUntilClose(t, cl); code != 1001 || reason != "Going away" {
			t.Fatalf("client saw (%d, %q)", code, reason)
		}
		ev := ts.h.expectClose(t, 1001, "Going away")
		if d := ev.at.Sub(last); d < idle {
			t.Fatalf("closed %v after the last data frame, before IdleTimeout", d)
		}
	})
	t.Run("pings count when told", func(t *testing.T) {
		ts := startServer(t, serverConfig{opts: Options{IdleTimeout: idle, PingCountsAsActivity: true}})
		cl, _ := ts.dial(t, nil)
		pongs := make(chan struct{}, 100)
		cl.SetPongHandler(func(string) error { pongs <- struct{}{}; return nil })
		go func() {
			for {
				if _, _, err := cl.ReadMessage(); err != nil {
					return
				}
			}
		}()
		// Twenty pings 30ms apart span three idle timeouts.
		for i := range 20 {
			if err := cl.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second)); err != nil {
				t.Fatalf("ping %d: %v", i, err)
			}
			select {
			case <-pongs:
			case <-time.After(waitFor):
				t.Fatalf("no pong %d", i)
			}
			select {
			case ev := <-ts.h.closed:
				t.Fatalf("closed (%d) while pinging", ev.code)
			case <-time.After(30 * time.Millisecond):
			}
		}
	})
}

func TestMaxAge(t *testing.T) {
	const age = 200 * time.Millisecond
	ts := startServer(t, serverConfig{opts: Options{MaxAge: age, IdleTimeout: time.Minute}})
	cl, _ := ts.dial(t, nil)
	c := ts.conn(t)
	// Activity does not matter.
	go func() {
		for range 100 {
			if cl.WriteMessage(websocket.TextMessage, []byte("busy")) != nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	if code, _ := readUntilClose(t, cl); code != 1001 {
		t.Fatalf("client saw %d", code)
	}
	ev := ts.h.expectClose(t, 1001, "Going away")
	if d := ev.at.Sub(c.ConnectedAt()); d < age {
		t.Fatalf("closed after %v, before MaxAge", d)
	}
}

func TestPingInterval(t *testing.T) {
	const interval = 100 * time.Millisecond
	t.Run("silent peer is dropped", func(t *testing.T) {
		ts := startServer(t, serverConfig{opts: Options{PingInterval: interval}})
		rc, _ := ts.dialRaw(t)
		c := ts.conn(t)
		h, _ := rc.readFrame(t)
		if h.OpCode != ws.OpPing {
			t.Fatalf("got %v, want a ping", h.OpCode)
		}
		rc.expectEOF(t) // no pong, nothing else: dropped without a close frame
		ev := ts.h.expectClose(t, CloseAbnormal, "")
		if d := ev.at.Sub(c.ConnectedAt()); d < 2*interval {
			t.Fatalf("dropped after %v", d)
		}
	})
	t.Run("answering peer stays", func(t *testing.T) {
		ts := startServer(t, serverConfig{opts: Options{PingInterval: interval}})
		cl, _ := ts.dial(t, nil)
		pings := make(chan struct{}, 100)
		cl.SetPingHandler(func(s string) error {
			pings <- struct{}{}
			return cl.WriteControl(websocket.PongMessage, []byte(s), time.Now().Add(time.Second))
		})
		go func() {
			for {
				if _, _, err := cl.ReadMessage(); err != nil {
					return
				}
			}
		}()
		// Four pings take at least four intervals: a conn whose pongs did
		// not count would have been dropped after two.
		for i := range 4 {
			select {
			case <-pings:
			case ev := <-ts.h.closed:
				t.Fatalf("closed (%d) after %d pings", ev.code, i)
			case <-time.After(waitFor):
				t.Fatalf("no ping %d", i)
			}
		}
	})
}

func TestShutdown(t *testing.T) {
	t.Run("graceful", func(t *testing.T) {
		ts := startServer(t, serverConfig{})
		const n = 8
		results := make(chan string, n)
		for range n {
			cl, _ := ts.dial(t, nil)
			go func() {
				code, reason := readUntilClose(t, cl)
				results <- fmt.Sprintf("%d %s", code, reason)
			}()
		}
		eventually(t, "all conns registered", func() bool { return ts.e.Len() == n })
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := ts.e.Shutdown(ctx, 1012, "restarting"); err != nil {
			t.Fatal(err)
		}
		for range n {
			if got := <-results; got != "1012 restarting" {
				t.Fatalf("client saw %q", got)
			}
			ts.h.expectClose(t, 1012, "restarting")
		}
		if ts.e.Len() != 0 {
			t.Fatalf("Len = %d after Shutdown", ts.e.Len())
		}
	})
	t.Run("deadline", func(t *testing.T) {
		ts := startServer(t, serverConfig{opts: Options{CloseTimeout: time.Minute}})
		rc, _ := ts.dialRaw(t) // never answers the close frame
		ts.conn(t)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if err := ts.e.Shutdown(ctx, 1001, "going"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown: %v", err)
		}
		if code, reason := rc.readClose(t); code != 1001 || reason != "going" {
			t.Fatalf("close frame (%d, %q)", code, reason)
		}
		rc.expectEOF(t)
		ts.h.expectClose(t, 1001, "going")
	})
}

// TestOnCloseOnce races Close calls from many goroutines against the
// client's own close or drop.
func TestOnCloseOnce(t *testing.T) {
	ts := startServer(t, serverConfig{opts: Options{CloseTimeout: 200 * time.Millisecond}})
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		cl, _ := ts.dial(t, nil)
		c := ts.conn(t)
		for j := range 4 {
			wg.Go(func() { c.Close(4000+j, "race") })
		}
		wg.Go(func() {
			_ = c.Send(Text, []byte("x"))
		})
		wg.Go(func() {
			if i%2 == 0 {
				_ = cl.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4100, "client"))
			} else {
				cl.NetConn().Close()
			}
		})
	}
	wg.Wait()
	for range n {
		ts.h.waitClose(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := ts.e.Shutdown(ctx, 1001, ""); err != nil {
		t.Fatal(err)
	}
	ts.h.mu.Lock()
	defer ts.h.mu.Unlock()
	if len(ts.h.counts) != n {
		t.Fatalf("OnClose for %d conns, want %d", len(ts.h.counts), n)
	}
	for c, k := range ts.h.counts {
		if k != 1 {
			t.Fatalf("OnClose called %d times for %v", k, c.RemoteAddr())
		}
	}
	if len(ts.h.closed) != 0 {
		t.Fatalf("%d extra OnClose calls", len(ts.h.closed))
	}
}
