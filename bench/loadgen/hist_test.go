package loadgen

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBuckets(t *testing.T) {
	prev := -1
	for _, v := range []int64{0, 1, 127, 128, 129, 255, 256, 257, 1000, 4095, 4096, 1e6, 1e9, 3e10, math.MaxInt64 / 2} {
		i := bucketOf(v)
		low, w := bucketRange(i)
		if v < low || v >= low+w {
			t.Errorf("value %d in bucket %d = [%d, %d)", v, i, low, low+w)
		}
		if v >= subCount && float64(w)/float64(low) > 1.0/subCount+1e-12 {
			t.Errorf("bucket %d of value %d is %d wide from %d: over 1/%d", i, v, w, low, subCount)
		}
		if i < prev {
			t.Errorf("buckets not monotonic at %d", v)
		}
		prev = i
	}
	if bucketOf(-5) != 0 {
		t.Error("a negative value is not in bucket 0")
	}
	// Every bucket is reachable and contiguous.
	for i := 1; i < numBuckets; i++ {
		lo0, w0 := bucketRange(i - 1)
		lo1, _ := bucketRange(i)
		if lo0+w0 != lo1 {
			t.Fatalf("gap between buckets %d and %d", i-1, i)
		}
	}
}

func TestQuantileAgainstExact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		gen  func() time.Duration
	}{
		{name: "uniform ms", gen: func() time.Duration { return time.Duration(r.Int64N(int64(10 * time.Millisecond))) }},
		{name: "exponential", gen: func() time.Duration { return time.Duration(r.ExpFloat64() * float64(time.Millisecond)) }},
		{name: "bimodal", gen: func() time.Duration {
			if r.IntN(100) == 0 {
				return 200*time.Millisecond + time.Duration(r.Int64N(int64(time.Millisecond)))
			}
			return time.Duration(r.Int64N(int64(time.Millisecond)))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Hist
			vals := make([]float64, 20000)
			for i := range vals {
				d := tc.gen()
				h.Record(d)
				vals[i] = float64(d)
			}
			slices.Sort(vals)
			d := h.Dist()
			if d.N != uint64(len(vals)) {
				t.Fatalf("N = %d", d.N)
			}
			for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
				exact := vals[int(math.Ceil(q*float64(len(vals))))-1]
				got := float64(d.Quantile(q))
				if math.Abs(got-exact) > exact/100+1 {
					t.Errorf("q%.3f = %.0f, exact %.0f", q, got, exact)
				}
			}
			if got := d.Quantile(1); float64(got) != vals[len(vals)-1] {
				t.Errorf("max = %v, exact %v", got, vals[len(vals)-1])
			}
		})
	}
}

func TestDistMergeAndJSON(t *testing.T) {
	var a, b, all Hist
	for i := range 1000 {
		d := time.Duration(i) * time.Microsecond
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	raw, err := json.Marshal(a.Dist())
	if err != nil {
		t.Fatal(err)
	}
	var back Dist
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	m := back.Merge(b.Dist())
	want := all.Dist()
	if m.N != want.N || m.SumNs != want.SumNs || m.MaxNs != want.MaxNs || !slices.Equal(m.Buckets, want.Buckets) || !slices.Equal(m.Counts, want.Counts) {
		t.Fatalf("merged %+v, want %+v", m, want)
	}
	if (Dist{}).Quantile(0.5) != 0 || (Dist{}).Mean() != 0 {
		t.Error("an empty distribution is not 0")
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []float64
		want float64
	}{
		{name: "odd", in: []float64{3, 1, 2}, want: 2},
		{name: "even", in: []float64{4, 1, 3, 2}, want: 2.5},
		{name: "one", in: []float64{7}, want: 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Median(tc.in); got != tc.want {
				t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("Median(nil) is not NaN")
	}
}
