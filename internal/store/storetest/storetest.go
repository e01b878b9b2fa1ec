// Package storetest is the conformance suite for store.Store: every backend
// runs Run from its own tests, so both backends are held to one contract
// (the one written in package store) rather than to two sets of tests that
// drift apart.
//
// It covers: Get/Create/Update/Put/Delete results and errors (matched with
// errors.Is); revisions positive and rising across the store; stale and
// zero revisions; List order and whole-segment prefixes; key and prefix
// validation; copying of values in and out; empty, 256 KiB and
// limit-sized values; cancelled contexts; concurrent compare-and-swap
// (no lost update) and concurrent Create (one winner); Watch's initial
// state, marker, live events, prefix filter, coalescing, gap-free hand-over
// from initial state to live events under concurrent writes, per-watcher
// copies, cancellation, the lag bound, and Close; and, given a Reopen,
// persistence of every acknowledged write.
//
// The suite only uses the Store interface. It reads the watch lag bound
// from the capacity of the Watch channel and writes one event more than
// that, so backends' tests should configure a small lag. It waits on
// channels with deadlines, never on fixed sleeps. Run must be called from
// the test's goroutine; the stores it exercises are used concurrently.
package storetest

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/store"
)

// Factory makes the stores the suite exercises.
type Factory struct {
	// New returns a new, empty store. It registers any cleanup it needs
	// with t.Cleanup; the suite may Close the store itself first (Close
	// must be harmless to repeat).
	New func(t *testing.T) store.Store

	// Reopen closes s and opens the same data again, as a restarted
	// process would. Nil if the backend cannot.
	Reopen func(t *testing.T, s store.Store) store.Store

	// MaxValueSize is the largest value the stores from New accept; 0
	// means store.DefaultMaxValueSize.
	MaxValueSize int
}

// wait bounds every wait for an event; generous because the machine
// running the suite may be busy, never reached when things work.
const wait = 20 * time.Second

// Run runs the whole suite as subtests of t.
func Run(t *testing.T, f Factory) {
	if f.New == nil {
		t.Fatal("storetest: Factory.New is nil")
	}
	tests := []struct {
		name string
		run  func(t *testing.T, f Factory)
	}{
		{name: "GetMissing", run: testGetMissing},
		{name: "CreateGet", run: testCreateGet},
		{name: "Update", run: testUpdate},
		{name: "Put", run: testPut},
		{name: "Delete", run: testDelete},
		{name: "RevisionsIncrease", run: testRevisionsIncrease},
		{name: "List", run: testList},
		{name: "InvalidKeys", run: testInvalidKeys},
		{name: "LongKey", run: testLongKey},
		{name: "ValuesCopied", run: testValuesCopied},
		{name: "EmptyValue", run: testEmptyValue},
		{name: "LargeValue", run: testLargeValue},
		{name: "ValueLimit", run: testValueLimit},
		{name: "CancelledContext", run: testCancelledContext},
		{name: "ConcurrentCAS", run: testConcurrentCAS},
		{name: "ConcurrentCreate", run: testConcurrentCreate},
		{name: "WatchInitial", run: testWatchInitial},
		{name: "WatchInitialLargerThanLag", run: testWatchInitialLargerThanLag},
		{name: "WatchLive", run: testWatchLive},
		{name: "WatchConverges", run: testWatchConverges},
		{name: "WatchPrefix", run: testWatchPrefix},
		{name: "WatchNoGap", run: testWatchNoGap},
		{name: "WatchValuesCopied", run: testWatchValuesCopied},
		{name: "WatchCancel", run: testWatchCancel},
		{name: "WatchOverflow", run: testWatchOverflow},
		{name: "Close", run: testClose},
		{name: "Reopen", run: testReopen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, f) })
	}
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*wait)
	t.Cleanup(cancel)
	return ctx
}

func mustCreate(ctx context.Context, t *testing.T, s store.Store, key, value string) uint64 {
	t.Helper()
	rev, err := s.Create(ctx, key, []byte(value))
	if err != nil {
		t.Fatalf("Create(%q): %v", key, err)
	}
	return rev
}

func mustPut(ctx context.Context, t *testing.T, s store.Store, key, value string) uint64 {
	t.Helper()
	rev, err := s.Put(ctx, key, []byte(value))
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	if rev == 0 {
		t.Fatalf("Put(%q) returned revision 0", key)
	}
	return rev
}

func mustGetEntry(ctx context.Context, t *testing.T, s store.Store, key string) store.Entry {
	t.Helper()
	e, err := s.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if e.Key != key {
		t.Fatalf("Get(%q) returned key %q", key, e.Key)
	}
	return e
}

func mustGet(ctx context.Context, t *testing.T, s store.Store, key, value string, rev uint64) {
	t.Helper()
	e := mustGetEntry(ctx, t, s, key)
	if string(e.Value) != value || e.Revision != rev {
		t.Fatalf("Get(%q) = %.40q rev %d, want %.40q rev %d", key, e.Value, e.Revision, value, rev)
	}
}

func mustWatch(ctx context.Context, t *testing.T, s store.Store, prefix string) <-chan store.Event {
	t.Helper()
	w, err := s.Watch(ctx, prefix)
	if err != nil {
		t.Fatalf("Watch(%q): %v", prefix, err)
	}
	return w
}

// next returns the next event, failing if the channel closes or nothing
// comes within the deadline.
func next(t *testing.T, w <-chan store.Event) store.Event {
	t.Helper()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case ev, ok := <-w:
		if !ok {
			t.Fatal("watch channel closed, want an event")
		}
		return ev
	case <-timer.C:
		t.Fatalf("no watch event within %v", wait)
	}
	return store.Event{}
}

func expectMarker(t *testing.T, w <-chan store.Event) {
	t.Helper()
	if ev := next(t, w); ev.Kind != 0 || ev.Entry.Key != "" || ev.Entry.Value != nil || ev.Entry.Revision != 0 {
		t.Fatalf("got %+v, want the end-of-initial-state marker (zero Event)", ev)
	}
}

func expectEvent(t *testing.T, w <-chan store.Event, kind store.EventKind, key string) {
	t.Helper()
	if ev := next(t, w); ev.Kind != kind || ev.Entry.Key != key {
		t.Fatalf("got %+v, want kind %d for %q", ev, kind, key)
	}
}

// expectClosed waits for w to close, accepting at most pending events
// before it does.
func expectClosed(t *testing.T, w <-chan store.Event, pending int) {
	t.Helper()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for n := 0; ; n++ {
		select {
		case ev, ok := <-w:
			if !ok {
				return
			}
			if n >= pending {
				t.Fatalf("event %+v, want the channel closed", ev)
			}
		case <-timer.C:
			t.Fatalf("watch channel not closed within %v", wait)
		}
	}
}

// waitFor polls cond with a deadline, for states a channel cannot signal
// without being read (such as how full a watch buffer is).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func keysOf(entries []store.Entry) []string {
	keys := make([]string, 0, len(entries))
	for _, e := range entries {
		keys = append(keys, e.Key)
	}
	return keys
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return b
}
