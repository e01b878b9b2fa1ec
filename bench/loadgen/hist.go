package loadgen

import (
	"math"
	"math/bits"
	"slices"
	"sync/atomic"
	"time"
)

// Latencies are recorded in a log-linear histogram: 128 linear buckets per
// power of two, so any recorded value is reported within 0.8% of itself,
// whatever its magnitude, in fixed memory, and histograms of several
// workers merge by adding counts.
const (
	subBits    = 7
	subCount   = 1 << subBits
	numBuckets = (63 - subBits) * subCount
)

// bucketOf returns the bucket of a value in nanoseconds (negative values
// count as 0).
func bucketOf(v int64) int {
	if v < subCount {
		return int(max(v, 0))
	}
	shift := bits.Len64(uint64(v)) - subBits - 1
	return subCount*shift + int(v>>shift)
}

// bucketRange returns the lowest value of bucket i and the bucket's width.
func bucketRange(i int) (low, width int64) {
	if i < subCount {
		return int64(i), 1
	}
	shift := i/subCount - 1
	m := int64(i - subCount*shift)
	return m << shift, 1 << shift
}

// Hist is a latency histogram that many goroutines may record into at once.
type Hist struct {
	counts [numBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Int64
	max    atomic.Int64
}

// Record adds one value.
func (h *Hist) Record(d time.Duration) {
	v := int64(max(d, 0))
	h.counts[bucketOf(v)].Add(1)
	h.n.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Dist returns what was recorded so far.
func (h *Hist) Dist() Dist {
	var d Dist
	for i := range h.counts {
		if c := h.counts[i].Load(); c > 0 {
			d.Buckets = append(d.Buckets, int32(i))
			d.Counts = append(d.Counts, c)
			d.N += c
		}
	}
	d.SumNs = h.sum.Load()
	d.MaxNs = h.max.Load()
	return d
}

// Dist is a histogram's contents: sparse buckets in increasing order. It
// travels between worker processes as JSON and merges by adding counts.
type Dist struct {
	Buckets []int32  `json:"b,omitempty"`
	Counts  []uint64 `json:"c,omitempty"`
	N       uint64   `json:"n"`
	SumNs   int64    `json:"sum"`
	MaxNs   int64    `json:"max"`
}

// Merge returns the union of d and o.
func (d Dist) Merge(o Dist) Dist {
	m := map[int32]uint64{}
	for i, b := range d.Buckets {
		m[b] += d.Counts[i]
	}
	for i, b := range o.Buckets {
		m[b] += o.Counts[i]
	}
	out := Dist{N: d.N + o.N, SumNs: d.SumNs + o.SumNs, MaxNs: max(d.MaxNs, o.MaxNs)}
	for b := range m {
		out.Buckets = append(out.Buckets, b)
	}
	slices.Sort(out.Buckets)
	for _, b := range out.Buckets {
		out.Counts = append(out.Counts, m[b])
	}
	return out
}

// Quantile returns the value below which a fraction q of the values lie
// (the midpoint of the bucket holding the ceil(q·N)-th value); 0 when
// empty. Quantile(1) is the exact maximum.
func (d Dist) Quantile(q float64) time.Duration {
	if d.N == 0 {
		return 0
	}
	if q >= 1 {
		return time.Duration(d.MaxNs)
	}
	rank := uint64(math.Ceil(q * float64(d.N)))
	rank = max(rank, 1)
	var seen uint64
	for i, b := range d.Buckets {
		seen += d.Counts[i]
		if seen >= rank {
			low, w := bucketRange(int(b))
			return time.Duration(min(low+w/2, d.MaxNs))
		}
	}
	return time.Duration(d.MaxNs)
}

// Mean returns the average value.
func (d Dist) Mean() time.Duration {
	if d.N == 0 {
		return 0
	}
	return time.Duration(d.SumNs / int64(d.N))
}
