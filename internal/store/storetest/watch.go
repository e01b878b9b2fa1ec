package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/store"
)

func testWatchInitial(t *testing.T, f Factory) {
	s, ctx := f.New(t), testCtx(t)
	want := map[string]string{}
	for i := range 20 {
		k := fmt.Sprintf("w/k%02d", i)
		want[k] = "v" + strconv.Itoa(i)
		mustPut(ctx, t, s, k, want[k])
	}
	mustPut(ctx, t, s, "w/k05", "changed")
	want["w/k05"] = "changed"
	for _, k := range []string{"w/k07", "w/k13"} {
		if err := s.Delete(ctx, k, 0); err != nil {
			t.Fatal(err)
		}
		delete(want, k)
	}
	mustPut(ctx, t, s, "wx", "outside")
	mustPut(ctx, t, s, "v/k", "outside")

	list, err := s.List(ctx, "w/")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]store.Entry{}
	for _, e := range list {
		listed[e.Key] = e
	}

	w := mustWatch(ctx, t, s, "w/")
	got := map[string]store.Entry{}
	prevKey := ""
	for ev := next(t, w); ev.Kind != 0; ev = next(t, w) {
		if len(got) > len(want) {
			t.Fatalf("no marker after %d initial entries", len(got))
		}
		if ev.Entry.Key <= prevKey {
			t.Fatalf("initial entry %q after %q: not in key order", ev.Entry.Key, prevKey)
		}
		prevKey = ev.Entry.Key
		if ev.Kind != store.EventPut {
			t.Fatalf("initial event of kind %d for %q, want EventPut", ev.Kind, ev.Entry.Key)
		}
		if _, dup := got[ev.Entry.Key]; dup {
			t.Fatalf("initial state repeats %q", ev.Entry.Key)
		}
		got[ev.Entry.Key] = ev.Entry
	}
	if len(got) != len(want) {
		t.Fatalf("initial state has %d entries, want %d: %v", len(got), len(want), got)
	}
	for k, v := range want {
		e, ok := got[k]
		if !ok || string(e.Value) != v {
			t.Errorf("initial state %q = %q (present %v), want %q", k, e.Value, ok, v)
		}
		if e.Revision != listed[k].Revision {
			t.Errorf("initial state %q revision %d, List says %d", k, e.Revision, listed[k].Revision)
		}
	}

	// The whole store, from "".
	all := mustWatch(ctx, t, s, "")
	n := 0
	for ev := next(t, all); ev.Kind != 0; ev = next(t, all) {
		n++
		if n > len(want)+2 {
			t.Fatalf("Watch(\"\") initial state longer than the store")
		}
	}
	if n != len(want)+2 {
		t.Fatalf("Watch(\"\") initial state has %d entries, want %d", n, len(want)+2)
	}

	// An empty prefix range: just the marker.
	empty := mustWatch(ctx, t, s, "nothing/")
	expectMarker(t, empty)
}

func testWatchInitialLargerThanLag(t *testing.T, f Factory) {
	s, ctx := f.New(t), testCtx(t)
	probeCtx, cancelProbe := context.WithCancel(ctx)
	probe := mustWatch(probeCtx, t, s, "probe/")
	lag := cap(probe)
	cancelProbe()
	if lag == 0 {
		t.Skip("the backend's watch channels are unbuffered")
	}
	// The initial state is delivered at the reader's pace, however large:
	// the lag bound is for live events.
	n := 2*lag + 5
	for i := range n {
		mustPut(ctx, t, s, fmt.Sprintf("many/%04d", i), "v")
	}
	w := mustWatch(ctx, t, s, "many/")
	waitFor(t, "the watch buffer to fill", func() bool { return len(w) == cap(w) })
	seen := map[string]bool{}
	for range n {
		ev := next(t, w)
		if ev.Kind != store.EventPut {
			t.Fatalf("event kind %d before %d initial entries", ev.Kind, n)
		}
		seen[ev.Entry.Key] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct initial entries, want %d", len(seen), n)
	}
	expectMarker(t, w)
	rev := mustPut(ctx, t, s, "many/last", "live")
	ev := next(t, w)
	if ev.Kind != store.EventPut || ev.Entry.Key != "many/last" || ev.Entry.Revision != rev {
		t.Fatalf("live event after a large initial state: %+v", ev)
	}
}

func testWatchLive(t *testing.T, f Factory) {
	s, ctx := f.New(t), testCtx(t)
	w := mustWatch(ctx, t, s, "live/")
	expectMarker(t, w)

	// Each step waits for its event before the next write, since a backend
	// may coalesce writes to one key that a watcher has not been sent yet.
	var rev uint64 // of live/a, for the conditional writes
	steps := []struct {
		name  string
		write func() (uint64, error) // revision 0: a delete, whose revision the writer does not see
		kind  store.EventKind        // 0: the write fails and makes no event
		key   string
		value string
	}{
		{name: "create", kind: store.EventPut, key: "live/a", value: "1",
			write: func() (uint64, error) { return s.Create(ctx, "live/a", []byte("1")) }},
		{name: "update", kind: store.EventPut, key: "live/a", value: "2",
			write: func() (uint64, error) { return s.Update(ctx, "live/a", []byte("2"), rev) }},
		{name: "put other key", kind: store.EventPut, key: "live/b", value: "3",
			write: func() (uint64, error) { return s.Put(ctx, "live/b", []byte("3")) }},
		{name: "failed create",
			write: func() (uint64, error) { return s.Create(ctx, "live/b", []byte("dup")) }},
		{name: "failed update",
			write: func() (uint64, error) { return s.Update(ctx, "live/a", []byte("stale"), rev-1) }},
		{name: "failed delete",
			write: func() (uint64, error) { return 0, s.Delete(ctx, "live/nokey", 0) }},
		{name: "conditional delete", kind: store.EventDelete, key: "live/a",
			write: func() (uint64, error) { return 0, s.Delete(ctx, "live/a", rev) }},
		{name: "put after delete", kind: store.EventPut, key: "live/a", value: "5",
			write: func() (uint64, error) { return s.Put(ctx, "live/a", []byte("5")) }},
		{name: "unconditional delete", kind: store.EventDelete, key: "live/b",
			write: func() (uint64, error) { return 0, s.Delete(ctx, "live/b", 0) }},
		{name: "empty value", kind: store.EventPut, key: "live/c", value: "",
			write: func() (uint64, error) { return s.Put(ctx, "live/c", nil) }},
	}
	var last uint64
	for _, st := range steps {
		got, err := st.write()
		if st.kind == 0 {
			if err == nil {
				t.Fatalf("%s: succeeded", st.name)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		ev := next(t, w)
		if ev.Kind != st.kind || ev.Entry.Key != st.key {
			t.Fatalf("%s: event kind %d key %q, want kind %d key %q", st.name, ev.Kind, ev.Entry.Key, st.kind, st.key)
		}
		if ev.Kind == store.EventPut && string(ev.Entry.Value) != st.value {
			t.Errorf("%s: event value %q, want %q", st.name, ev.Entry.Value, st.value)
		}
		if ev.Kind == store.EventDelete && ev.Entry.Value != nil {
			t.Errorf("%s: delete event has value %q", st.name, ev.Entry.Value)
		}
		if got != 0 && ev.Entry.Revision != got {
			t.Errorf("%s: event revision %d, the write returned %d", st.name, ev.Entry.Revision, got)
		}
		if ev.Entry.Revision <= last {
			t.Errorf("%s: event revision %d, not above the previous %d", st.name, ev.Entry.Revision, last)
		}
		last = ev.Entry.Revision
		if st.key == "live/a" {
			rev = got
		}
	}
	expectNoEvent(ctx, t, s, w, "live/")
}

// testWatchConverges writes one key many times without reading: a backend
// may coalesce the events, but they stay in revision order and the watcher
// ends on the latest value.
func testWatchConverges(t *testing.T, f Factory) {
	s, ctx := f.New(t), testCtx(t)
	w := mustWatch(ctx, t, s, "conv/")
	expectMarker(t, w)
	lag := max(cap(w), 1)
	var lastRev uint64
	for i := range lag {
		lastRev = mustPut(ctx, t, s, "conv/k", strconv.Itoa(i))
	}
	var prev uint64
	for {
		ev := next(t, w)
		if ev.Kind != store.EventPut || ev.Entry.Key != "conv/k" || ev.Entry.Revision <= prev {
			t.Fatalf("event %+v after revision %d", ev, prev)
		}
		prev = ev.Entry.Revision
		if prev == lastRev {
			if string(ev.Entry.Value) != strconv.Itoa(lag-1) {
				t.Fatalf("last event value %q, want %d", ev.Entry.Value, lag-1)
			}
			break
		}
	}
	expectNoEvent(ctx, t, s, w, "conv/")
}

// expectNoEvent shows that w has nothing pending, without sleeping: it
// writes a sentinel under prefix and requires that to be the next event.
func expectNoEvent(ctx context.Context, t *testing.T, s store.Store, w <-chan store.Event, prefix string) {
	t.Helper()
	key := prefix + "sentinel-" + strconv.FormatUint(rand.Uint64(), 36)
	rev := mustPut(ctx, t, s, key, "sentinel")
	ev := next(t, w)
	if ev.Entry.Key != key || ev.Entry.Revision != rev {
		t.Fatalf("unexpected event %+v before the sentinel %q", ev, key)
	}
}

func testWatchPrefix(t *testing.T, f Factory) {
	s, ctx := f.New(t), testCtx(t)
	w := mustWatch(ctx, t, s, "apis/a1/")
	expectMarker(t, w)
	for _, k := range []string{"apis/a1", "apis/a10/x", "apis/a1-x/y", "apisx", "apis/b/a1/x"} {
		mustPut(ctx, t, s, k, "outside")
	}
	rev := mustPut(ctx, t, s, "apis/a1/in", "inside")
	ev := next(t, w)
	if ev.Entry.Key != "apis/a1/in" || ev.Entry.Revision != rev {
		t.Fatalf("first event under apis/a1/ is %+v, want apis/a1/in", ev)
	}
	deep := mustPut(ctx, t, s, "apis/a1/in/deeper", "inside")
	ev = next(t, w)
	if ev.Entry.Key != "apis/a1/in/deeper" || ev.Entry.Revision != deep {
		t.Fatalf("event %+v, want apis/a1/in/deeper", ev)
	}
}

func testWatchNoGap(t *testing.T, f Factory) {
	s, ctx := f.New(t), testCtx(t)
	const writes = 150
	type result struct {
		rev uint64 // of the writer's last write
		err error
	}
	started := make(chan struct{})
	done := make(chan result, 1)
	go func() {
		for i := range writes {
			if i == writes/3 {
				close(started)
			}
			key := fmt.Sprintf("gap/k%d", i%7)
			if i%10 == 9 {
				if err := s.Delete(ctx, key, 0); err != nil && !errors.Is(err, store.ErrNotFound) {
					done <- result{err: err}
					return
				}
				continue
			}
			if _, err := s.Put(ctx, key, []byte(strconv.Itoa(i))); err != nil {
				done <- result{err: err}
				return
			}
		}
		rev, err := s.Put(ctx, "gap/end", nil)
		done <- result{rev: rev, err: err}
	}()
	<-started
	w := mustWatch(ctx, t, s, "gap/")

	// Build the state from the stream alone, reading while the writer
	// writes, until the writer's last write has come through.
	state := map[string]string{}
	var last uint64
	for ev := next(t, w); ev.Kind != 0; ev = next(t, w) {
		state[ev.Entry.Key] = string(ev.Entry.Value)
		last = max(last, ev.Entry.Revision)
	}
	var target uint64
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for target == 0 || last < target {
		select {
		case r := <-done:
			if r.err != nil {
				t.Fatalf("writer: %v", r.err)
			}
			target = r.rev
		case ev, ok := <-w:
			if !ok {
				t.Fatal("watch closed while it was being read")
			}
			if ev.Entry.Revision <= last {
				t.Fatalf("live event revision %d not above %d: repeated or out of order", ev.Entry.Revision, last)
			}
			last = ev.Entry.Revision
			switch ev.Kind {
			case store.EventPut:
				state[ev.Entry.Key] = string(ev.Entry.Value)
			case store.EventDelete:
				delete(state, ev.Entry.Key)
			default:
				t.Fatalf("live event of kind %d", ev.Kind)
			}
		case <-timer.C:
			t.Fatalf("writer's last write (revision %d) not seen within %v; at %d", target, wait, last)
		}
	}
	want, err := s.List(ctx, "gap/")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range want {
		if state[e.Key] != string(e.Value) {
			t.Errorf("state built from the watch has %q = %q, store has %q", e.Key, state[e.Key], e.Value)
		}
	}
	if len(state) != len(want) {
		t.Errorf("state built from the watch has %d keys, store has %d", len(state), len(want))
	}
}

func testWatchValuesCopied(t *testing.T, f Factory) {
	s, ctx := f.New(t), testCtx(t)
	w1 := mustWatch(ctx, t, s, "c/")
	w2 := mustWatch(ctx, t, s, "c/")
	expectMarker(t, w1)
	expectMarker(t, w2)
	buf := []byte("value")
	rev, err := s.Put(ctx, "c/k", buf)
	if err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXX")
	ev1 := next(t, w1)
	copy(ev1.Entry.Value, "YYYYY")
	ev2 := next(t, w2)
	if string(ev2.Entry.Value) != "value" {
		t.Fatalf("second watcher sees %q: values are shared", ev2.Entry.Value)
	}
	mustGet(ctx, t, s, "c/k", "value", rev)
}

func testWatchCancel(t *testing.T, f Factory) {
	s := f.New(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	w := mustWatch(ctx, t, s, "")
	expectMarker(t, w)
	cancel()
	expectClosed(t, w, 0)

	// A watcher that never read anything is closed too, and writes go on.
	ctx2, cancel2 := context.WithCancel(testCtx(t))
	mustPut(testCtx(t), t, s, "x", "1")
	w2 := mustWatch(ctx2, t, s, "")
	cancel2()
	expectClosed(t, w2, 2)
	mustPut(testCtx(t), t, s, "x", "2")
}

func testWatchOverflow(t *testing.T, f Factory) {
	s, ctx := f.New(t), testCtx(t)
	slow := mustWatch(ctx, t, s, "of/")
	fast := mustWatch(ctx, t, s, "of/")
	expectMarker(t, slow)
	expectMarker(t, fast)
	lag := cap(slow)
	if lag == 0 {
		t.Skip("the backend's watch channels are unbuffered")
	}
	// Fill the slow watcher's buffer exactly: it is lag events behind, at
	// the bound, and still open. (One key per write, so no backend may
	// coalesce them.)
	for i := range lag {
		mustPut(ctx, t, s, fmt.Sprintf("of/k%03d", i), strconv.Itoa(i))
	}
	waitFor(t, "the slow watcher's buffer to fill", func() bool { return len(slow) == lag })
	// A fast watcher on the same prefix is not affected.
	for range lag {
		next(t, fast)
	}
	// One more event puts the slow watcher past the bound: its channel is
	// closed and its pending events dropped. The write itself does not
	// wait for it.
	over := mustPut(ctx, t, s, "of/over", "over")
	waitFor(t, "the slow watcher's pending events to be dropped", func() bool { return len(slow) == 0 })
	expectClosed(t, slow, 0)
	if ev := next(t, fast); ev.Entry.Key != "of/over" || ev.Entry.Revision != over {
		t.Fatalf("fast watcher got %+v, want of/over at revision %d", ev, over)
	}
	// Re-watching resynchronises.
	again := mustWatch(ctx, t, s, "of/")
	n := 0
	for ev := next(t, again); ev.Kind != 0; ev = next(t, again) {
		if n++; n > lag+1 {
			t.Fatalf("re-Watch: more than %d initial entries", lag+1)
		}
	}
	if n != lag+1 {
		t.Fatalf("re-Watch: %d initial entries, want %d", n, lag+1)
	}
}
