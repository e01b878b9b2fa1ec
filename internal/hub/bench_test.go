package hub

import (
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkSend is the hub's own share of a fan-out: selecting the members
// and dispatching to each, with connections whose Send only counts (the
// socket write is wsconn's, measured by BenchmarkSendQueue there). ns/op is
// per fan-out; divide by the member count for the cost per member.
func BenchmarkSend(b *testing.B) {
	for _, n := range []int{100, 15000} {
		for _, group := range []bool{false, true} {
			name := fmt.Sprintf("broadcast/%d", n)
			if group {
				name = fmt.Sprintf("group/%d", n)
			}
			b.Run(name, func(b *testing.B) {
				h := New()
				for i := range n {
					h.Add(&fakeConn{id: fmt.Sprintf("c%07d", i)}, k, "", []string{"room"}, nil)
				}
				// Other stages' connections must cost a broadcast nothing.
				for i := range n / 10 {
					h.Add(&fakeConn{id: fmt.Sprintf("o%07d", i)}, Key{API: "a", Stage: "other"}, "", nil, nil)
				}
				sel := Selector{Key: k}
				if group {
					sel.Group = "room"
				}
				msg := make([]byte, 100)
				b.ReportAllocs()
				for b.Loop() {
					if r := h.Send(sel, msg, false); r.Queued != n {
						b.Fatalf("queued %d of %d", r.Queued, n)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/member")
			})
		}
	}
}

// BenchmarkAddRemove is a connection joining the hub at connect and leaving
// it at close, with a few thousand others present.
func BenchmarkAddRemove(b *testing.B) {
	h := New()
	for i := range 5000 {
		h.Add(&fakeConn{id: fmt.Sprintf("c%07d", i)}, k, "", nil, nil)
	}
	c := &fakeConn{id: "new-conn-0000000"}
	b.ReportAllocs()
	for b.Loop() {
		h.Add(c, k, "", nil, nil)
		h.Remove(c.id)
	}
}

// TestMemberMemory bounds the hub's heap per connection (no groups): the
// entry and its slots in the id shard and the stage index. It was 173 bytes
// with id-keyed indexes, 159 with entry-keyed ones.
func TestMemberMemory(t *testing.T) {
	const n = 20000
	conns := make([]*fakeConn, n)
	for i := range conns {
		conns[i] = &fakeConn{id: fmt.Sprintf("c%015d", i)}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	h := New()
	for _, c := range conns {
		h.Add(c, k, "", nil, nil)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("hub heap per connection: %.0f B", per)
	if per > 192 {
		t.Errorf("the hub holds %.0f B per connection, more than 192", per)
	}
	runtime.KeepAlive(h)
}
