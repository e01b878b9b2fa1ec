package connid

import (
	"regexp"
	"testing"
)

var awsShape = regexp.MustCompile(`^[A-Za-z0-9_-]{15}=$`)

func TestShapeAndNode(t *testing.T) {
	seen := map[string]bool{}
	for _, node := range []uint16{0, 1, 7, 0x1234, 0xffff} {
		for range 1000 {
			id := New(node)
			if !awsShape.MatchString(id) || !Valid(id) {
				t.Fatalf("id %q does not look like AWS's", id)
			}
			if got, ok := Node(id); !ok || got != node {
				t.Fatalf("Node(%q) = %d, %v; want %d", id, got, ok, node)
			}
			if seen[id] {
				t.Fatalf("duplicate id %q", id)
			}
			seen[id] = true
		}
	}
	if r := NewRequestID(); !awsShape.MatchString(r) {
		t.Fatalf("request id %q", r)
	}
}

func TestValid(t *testing.T) {
	for _, tc := range []struct {
		name string
		id   string
		want bool
	}{
		{name: "aws sample", id: "R1kmxc2VNjMCFIA=", want: true},
		{name: "aws sample with dash", id: "VNRXVFJOywMF3-Q=", want: true},
		{name: "aws sample with underscore", id: "Jx-TaE0_GjQFvSw=", want: true},
		{name: "too short", id: "R1kmxc2VNjMCFI=", want: false},
		{name: "no padding", id: "R1kmxc2VNjMCFIAA", want: false},
		{name: "std alphabet", id: "R1kmxc2VNjM+FIA=", want: false},
		{name: "non-canonical last char", id: "R1kmxc2VNjMCFIB=", want: false},
		{name: "empty", id: "", want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Valid(tc.id); got != tc.want {
				t.Errorf("Valid(%q) = %v, want %v", tc.id, got, tc.want)
			}
		})
	}
}

func FuzzNode(f *testing.F) {
	f.Add("R1kmxc2VNjMCFIA=")
	f.Add(New(3))
	f.Fuzz(func(t *testing.T, s string) {
		if _, ok := Node(s); ok != Valid(s) {
			t.Fatalf("Node and Valid disagree on %q", s)
		}
	})
}

func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = New(42)
	}
}
