package loadgen

import (
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
)

// BenchmarkLoopbackWrite is the kernel's share of a fan-out, with no
// WebSocket code at all: one write(2) of a 102-byte frame (a 100-byte
// message and its header) to each of many loopback TCP sockets in turn,
// from one or two goroutines, with the peers reading or not. ns/op is the
// cost of one delivered frame; 1e9 divided by it is the most frames per
// second a server can push from that many writers on this machine,
// whatever the server — the ceiling the fanout scenario is held against.
//
//	go test -run '^$' -bench LoopbackWrite ./bench/loadgen
func BenchmarkLoopbackWrite(b *testing.B) {
	const pairs = 2000
	for _, readers := range []bool{false, true} {
		for _, writers := range []int{1, 2} {
			b.Run(fmt.Sprintf("readers=%v/writers=%d", readers, writers), func(b *testing.B) {
				servers := loopbackPairs(b, pairs, readers)
				frame := make([]byte, 102)
				b.SetBytes(int64(len(frame)))
				b.ResetTimer()
				var wg sync.WaitGroup
				for w := range writers {
					wg.Go(func() {
						for i := w; i < b.N; i += writers {
							if _, err := servers[i%pairs].Write(frame); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
			})
		}
	}
}

// loopbackPairs connects n TCP pairs on 127.0.0.1 and returns the accepted
// ends; with read, a goroutine drains each client end.
func loopbackPairs(b *testing.B, n int, read bool) []net.Conn {
	b.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	servers := make([]net.Conn, 0, n)
	for range n {
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		servers = append(servers, s)
		if read {
			wg.Go(func() { _, _ = io.Copy(io.Discard, c) })
		}
		b.Cleanup(func() { c.Close() })
	}
	b.Cleanup(func() {
		for _, s := range servers {
			s.Close()
		}
		wg.Wait()
	})
	return servers
}
