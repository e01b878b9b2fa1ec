package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"testing"

	"github.com/wsgate/wsgate/internal/store"
)

func testClose(t *testing.T, f Factory) {
	s, ctx := f.New(t), testCtx(t)
	rev := mustPut(ctx, t, s, "k", "v")
	w := mustWatch(ctx, t, s, "")
	unread := mustWatch(ctx, t, s, "")
	expectEvent(t, w, store.EventPut, "k")
	expectMarker(t, w)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	expectClosed(t, w, 0)
	expectClosed(t, unread, 2)
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for _, op := range []struct {
		name string
		call func() error
	}{
		{name: "Get", call: func() error { _, err := s.Get(ctx, "k"); return err }},
		{name: "List", call: func() error { _, err := s.List(ctx, ""); return err }},
		{name: "Create", call: func() error { _, err := s.Create(ctx, "new", nil); return err }},
		{name: "Update", call: func() error { _, err := s.Update(ctx, "k", nil, rev); return err }},
		{name: "Put", call: func() error { _, err := s.Put(ctx, "k", nil); return err }},
		{name: "Delete", call: func() error { return s.Delete(ctx, "k", 0) }},
		{name: "Watch", call: func() error { _, err := s.Watch(ctx, ""); return err }},
	} {
		if err := op.call(); !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close: error = %v, want ErrClosed", op.name, err)
		}
	}
}

func testReopen(t *testing.T, f Factory) {
	if f.Reopen == nil {
		t.Skip("the backend cannot reopen its data")
	}
	s, ctx := f.New(t), testCtx(t)
	want := map[string]store.Entry{}
	var maxRev uint64
	for i := range 60 {
		key := fmt.Sprintf("p/k%02d", i%25)
		var rev uint64
		switch e, err := s.Get(ctx, key); {
		case errors.Is(err, store.ErrNotFound):
			rev = mustCreate(ctx, t, s, key, strconv.Itoa(i))
		case err != nil:
			t.Fatal(err)
		case i%5 == 0:
			if err := s.Delete(ctx, key, e.Revision); err != nil {
				t.Fatal(err)
			}
			delete(want, key)
			continue
		default:
			r, err := s.Update(ctx, key, []byte(strconv.Itoa(i)), e.Revision)
			if err != nil {
				t.Fatal(err)
			}
			rev = r
		}
		want[key] = store.Entry{Key: key, Value: []byte(strconv.Itoa(i)), Revision: rev}
		maxRev = max(maxRev, rev)
	}
	// The delete of the last write is also acknowledged and must persist.
	lastRev := mustPut(ctx, t, s, "p/last", "x")
	if err := s.Delete(ctx, "p/last", lastRev); err != nil {
		t.Fatal(err)
	}

	s = f.Reopen(t, s)
	got, err := s.List(ctx, "")
	if err != nil {
		t.Fatalf("List after Reopen: %v", err)
	}
	if len(got) != len(want) {
		t.Errorf("after Reopen: %d entries, want %d: %v", len(got), len(want), keysOf(got))
	}
	for _, e := range got {
		w, ok := want[e.Key]
		if !ok || !bytes.Equal(e.Value, w.Value) || e.Revision != w.Revision {
			t.Errorf("after Reopen: %q = %q rev %d, want %q rev %d (present %v)", e.Key, e.Value, e.Revision, w.Value, w.Revision, ok)
		}
	}
	rev := mustPut(ctx, t, s, "p/after", "x")
	if rev <= lastRev {
		t.Fatalf("first revision after Reopen %d, not above %d from before", rev, lastRev)
	}
	w := mustWatch(ctx, t, s, "p/")
	for ev := next(t, w); ev.Kind != 0; ev = next(t, w) {
	}
	rev = mustPut(ctx, t, s, "p/watched", "y")
	if ev := next(t, w); ev.Entry.Revision != rev {
		t.Fatalf("watch after Reopen: %+v", ev)
	}
}
