package wsconn
import ("testing";"log/slog";"os";"context";"time";"sync/atomic";"github.com/lesismal/nbio")
func TestHangDebug(t *testing.T) {
	for i := 0; i < 300; i++ {
		e, _ := NewEngine(Options{Log: slog.New(slog.NewTextHandler(os.Stderr, nil))})
		var opens, closes atomic.Int64
		e.nb.OnOpen(func(c *nbio.Conn) { opens.Add(1) })
		e.nb.OnClose(func(c *nbio.Conn, err error) { closes.Add(1) })
		if err := e.Start(); err != nil { t.Fatal(err) }
		done := make(chan struct{})
		go func() { e.Shutdown(context.Background(), 1001, ""); close(done) }()
		select {
		case <-done:
		case <-time.After(5*time.Second):
			t.Fatalf("iteration %d hung: opens %d closes %d pollers %d", i, opens.Load(), closes.Load(), e.opts.Pollers)
		}
	}
}
