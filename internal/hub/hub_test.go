package hub

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeConn is a hub.Conn that records what it was sent. It is not a mock of
// a dependency: it is the smallest real implementation of the interface the
// hub owns.
type fakeConn struct {
	id   string
	full bool
	got  atomic.Int64
}

func (c *fakeConn) ID() string { return c.id }
func (c *fakeConn) Send([]byte, bool) error {
	if c.full {
		return ErrQueueFull
	}
	c.got.Add(1)
	return nil
}
func (c *fakeConn) Close(int, string) {}
func (c *fakeConn) Alive() bool       { return true }
func (c *fakeConn) Base() Info        { return Info{ConnectedAt: time.Unix(1, 0), SourceIP: "127.0.0.1"} }

var k = Key{API: "a", Stage: "prod"}

func TestIndexes(t *testing.T) {
	h := New()
	a, b, c := &fakeConn{id: "a"}, &fakeConn{id: "b"}, &fakeConn{id: "c", full: true}
	h.Add(a, k, "ann", []string{"red", "red", "bad group!"}, map[string]string{"team": "x"})
	h.Add(b, k, "ann", nil, nil)
	h.Add(c, Key{API: "a", Stage: "dev"}, "", nil, nil)
	if h.Len() != 3 {
		t.Fatalf("Len %d", h.Len())
	}
	if in, _ := h.Info("a"); len(in.Groups) != 1 || in.Metadata["team"] != "x" || in.PrincipalID != "ann" || in.Stage != "prod" {
		t.Fatalf("Info(a) = %+v", in)
	}
	for _, tc := range []struct {
		name string
		sel  Selector
		want int
	}{
		{name: "stage", sel: Selector{Key: k}, want: 2},
		{name: "other stage", sel: Selector{Key: Key{API: "a", Stage: "dev"}}, want: 1},
		{name: "group", sel: Selector{Key: k, Group: "red"}, want: 1},
		{name: "user", sel: Selector{Key: k, Principal: "ann"}, want: 2},
		{name: "user excluding one", sel: Selector{Key: k, Principal: "ann", Exclude: "a"}, want: 1},
		{name: "metadata key", sel: Selector{Key: k, MetaKey: "team"}, want: 1},
		{name: "metadata value mismatch", sel: Selector{Key: k, MetaKey: "team", MetaValue: "y"}, want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := len(h.Select(tc.sel)); got != tc.want {
				t.Errorf("%d selected, want %d", got, tc.want)
			}
		})
	}
	if r := h.Send(Selector{Key: Key{API: "a", Stage: "dev"}}, nil, false); r.Queued != 0 || r.Dropped != 1 {
		t.Errorf("full member: %+v", r)
	}
	if err := h.Join("b", "red"); err != nil {
		t.Fatal(err)
	}
	if err := h.Join("b", "x y"); err != ErrBadGroup {
		t.Errorf("bad group: %v", err)
	}
	if err := h.Join("nope", "red"); err != ErrGone {
		t.Errorf("join of an unknown id: %v", err)
	}
	h.Remove("a")
	if got := h.Select(Selector{Key: k, Group: "red"}); len(got) != 1 || got[0].ID() != "b" {
		t.Errorf("after Remove(a), red = %v", got)
	}
	if got := h.Select(Selector{Key: k, Principal: "ann"}); len(got) != 1 {
		t.Errorf("after Remove(a), ann = %d", len(got))
	}
	if err := h.SetMetadata("b", map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if err := h.SetMetadata("b", map[string]string{"k": ""}); err != nil || h.Metadata("b") != nil {
		t.Errorf("metadata delete: %v %v", err, h.Metadata("b"))
	}
	big := map[string]string{}
	for i := range 40 {
		big[fmt.Sprint(i)] = "v"
	}
	if err := h.SetMetadata("b", big); err != ErrTooMany {
		t.Errorf("too many keys: %v", err)
	}
}

func TestList(t *testing.T) {
	h := New()
	for i := range 25 {
		h.Add(&fakeConn{id: fmt.Sprintf("c%02d", i)}, k, "", nil, nil)
	}
	seen := map[string]bool{}
	after := ""
	for pages := 0; ; pages++ {
		infos, more := h.List(Selector{Key: k}, after, 10)
		for _, in := range infos {
			if seen[in.ID] {
				t.Fatalf("%s listed twice", in.ID)
			}
			seen[in.ID] = true
		}
		if !more {
			break
		}
		after = infos[len(infos)-1].ID
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if len(seen) != 25 {
		t.Fatalf("listed %d of 25", len(seen))
	}
	// A cursor whose connection left meanwhile still continues after it.
	h.Remove("c10")
	if infos, _ := h.List(Selector{Key: k}, "c10", 1); len(infos) != 1 || infos[0].ID != "c11" {
		t.Errorf("after a removed cursor: %+v", infos)
	}
}

// TestConcurrent exercises every method at once (run with -race): no
// closed connection is ever counted after Remove returned.
func TestConcurrent(t *testing.T) {
	h := New()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 300 {
				id := fmt.Sprintf("w%d-%d", w, i)
				c := &fakeConn{id: id}
				h.Add(c, k, "u", []string{"g"}, nil)
				_ = h.Join(id, fmt.Sprintf("g%d", i%3))
				h.Send(Selector{Key: k, Group: "g"}, nil, false)
				h.Remove(id)
				if _, _, ok := h.Get(id); ok {
					t.Errorf("%s still present after Remove", id)
					return
				}
				for _, m := range h.Select(Selector{Key: k, Group: "g"}) {
					if m.ID() == id {
						t.Errorf("%s still in its group after Remove", id)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if h.Len() != 0 || len(h.Select(Selector{Key: k})) != 0 || len(h.groups) != 0 || len(h.users) != 0 {
		t.Fatalf("left over: %d conns, %d groups, %d users", h.Len(), len(h.groups), len(h.users))
	}
}

func BenchmarkSend15k(b *testing.B) {
	h := New()
	for i := range 15000 {
		h.Add(&fakeConn{id: fmt.Sprintf("c%05d", i)}, k, "", []string{"room"}, nil)
	}
	b.ReportAllocs()
	for b.Loop() {
		h.Send(Selector{Key: k, Group: "room"}, []byte("x"), false)
	}
}
