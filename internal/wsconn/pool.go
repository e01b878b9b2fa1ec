package wsconn

import (
	"math/bits"
	"sync"
)

// Buffers come from power-of-two size classes so that a connection holds one
// only while it has a partial frame, a fragmented message or queued output.
const (
	minClassShift = 6  // 64 B: a partial header
	maxClassShift = 22 // 4 MiB: beyond it buffers are not pooled
	numClasses    = maxClassShift - minClassShift + 1
)

// bufPool is a set of sync.Pools of *[]byte, one per size class.
type bufPool struct {
	classes [numClasses]sync.Pool
}

// classOf returns the index of the smallest class holding n bytes.
func classOf(n int) int {
	if n <= 1<<minClassShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minClassShift
}

// get returns an empty buffer with capacity at least n.
func (p *bufPool) get(n int) *[]byte {
	if n > 1<<maxClassShift {
		b := make([]byte, 0, n)
		return &b
	}
	i := classOf(n)
	if v := p.classes[i].Get(); v != nil {
		b := v.(*[]byte)
		*b = (*b)[:0]
		return b
	}
	b := make([]byte, 0, 1<<(i+minClassShift))
	return &b
}

// put recycles b if it came from a class; nil is ignored.
func (p *bufPool) put(b *[]byte) {
	if b == nil {
		return
	}
	c := cap(*b)
	if c < 1<<minClassShift || c > 1<<maxClassShift || c&(c-1) != 0 {
		return
	}
	*b = (*b)[:0]
	p.classes[classOf(c)].Put(b)
}

// grow returns a buffer holding b's bytes with room for at least n more,
// recycling b when it had to move. It doubles, but never asks for more than
// limit bytes (rounded up to a class) unless len(b)+n needs it.
func (p *bufPool) grow(b *[]byte, n, limit int) *[]byte {
	if cap(*b)-len(*b) >= n {
		return b
	}
	nb := p.get(max(len(*b)+n, min(2*cap(*b), limit)))
	*nb = append(*nb, *b...)
	p.put(b)
	return nb
}
