package wsconn

import (
	"errors"
	"io"
	"testing"
	"time"
)

// BenchmarkSendQueue measures Send: framing, the queue bound and the hand-off
// to nbio, for a 64-byte message.
func BenchmarkSendQueue(b *testing.B) {
	msg := []byte(`{"action":"message","data":"0123456789012345678901234567890123"}`) // 64 bytes
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
		const high, low = 64 << 20, 32 << 20
		ts := startServer(b, serverConfig{opts: Options{SendQueueBytes: 2 * high}})
		rc, _ := ts.dialRaw(b)
		_ = rc.SetDeadline(time.Time{})
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
			if c.Pending() > high {
				// Let the client read part of the queue, untimed; the rest
				// keeps the socket full so Send still only queues.
				b.StopTimer()
				if _, err := io.CopyN(io.Discard, rc, high-low); err != nil {
					b.Fatal(err)
				}
				eventually(b, "queue below the low mark", func() bool { return c.Pending() < low+high/8 })
				b.StartTimer()
			}
			if err := c.Send(Text, msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}
