package connid

import "testing"

// BenchmarkNewRequestID is the id drawn for each message that needs one
// (error frames, proxy events, templates): 11 random bytes in base64.
func BenchmarkNewRequestID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = NewRequestID()
	}
}

// BenchmarkNode decodes the owning node from a connection id, as every
// @connections call does to route itself.
func BenchmarkNode(b *testing.B) {
	id := New(7)
	b.ReportAllocs()
	for b.Loop() {
		if n, ok := Node(id); !ok || n != 7 {
			b.Fatal(n, ok)
		}
	}
}
