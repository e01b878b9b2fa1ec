package wsconn

import (
	"errors"
	"io"
	"testing"
)

// BenchmarkSendQueue measures Send: framing, the queue bound and the hand-off
// to nbio, for a 64-byte message.
func BenchmarkSendQueue(b *testing.B) {
	msg := []byte(`{"action":"message","data":"0123456789012345678901234567"}`)[:64]
	b.Run("socket", func(b *testing.B) {
		// The client drains, so most messages go straight to the socket.
		ts := startServer(b, serverConfig{})
		rc, _ := ts.dialRaw(b)
		go func() { _, _ = io.Copy(io.Discard, rc) }()
		c := ts.conn(b)
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			for {
				err := c.Send(Text, msg)
				if err == nil {
					break
				}
				if !errors.Is(err, ErrQueueFull) {
					b.Fatal(err)
				}
				eventually(b, "queue drained", func() bool { return c.Pending() == 0 })
			}
		}
	})
	b.Run("queued", func(b *testing.B) {
		// The client never reads: once the socket buffers are full, every
		// message is queued in memory (the enqueue path proper).
		ts := startServer(b, serverConfig{opts: Options{SendQueueBytes: 1 << 30}})
		ts.dialRaw(b)
		c := ts.conn(b)
		for i := 0; c.Pending() == 0; i++ {
			if i > 1<<20 {
				b.Fatal("socket never filled")
			}
			if err := c.Send(Text, msg); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			if err := c.Send(Text, msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}
