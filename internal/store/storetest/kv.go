package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/wsgate/wsgate/internal/store"
)

func testGetMissing(t *testing.T, f Factory) {
	s, ctx := f.New(t), testCtx(t)
	if _, err := s.Get(ctx, "missing/key"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(missing) error = %v, want ErrNotFound", err)
	}
}

func testCreateGet(t *testing.T, f Factory) {
	s, ctx := f.New(t), testCtx(t)
	rev, err := s.Create(ctx, "apis/a1", []byte("one"))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if rev == 0 {
		t.Fatal("Create returned revision 0")
	}
	mustGet(ctx, t, s, "apis/a1", "one", rev)

	if _, err := s.Create(ctx, "apis/a1", []byte("two")); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Create(existing) error = %v, want ErrConflict", err)
	}
	mustGet(ctx, t, s, "apis/a1", "one", rev)
}

func testUpdate(t *testing.T, f Factory) {
	s, ctx := f.New(t), testCtx(t)
	rev1 := mustCreate(ctx, t, s, "k", "v1")
	rev2, err := s.Update(ctx, "k", []byte("v2"), rev1)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if rev2 <= rev1 {
		t.Fatalf("Update revision %d, not above %d", rev2, rev1)
	}
	mustGet(ctx, t, s, "k", "v2", rev2)

	for _, tc := range []struct {
		name string
		key  string
		rev  uint64
		want error
	}{
		{name: "stale revision", key: "k", rev: rev1, want: store.ErrConflict},
		{name: "future revision", key: "k", rev: rev2 + 1000, want: store.ErrConflict},
		{name: "revision zero on existing key", key: "k", rev: 0, want: store.ErrConflict},
		{name: "missing key", key: "nokey", rev: rev2, want: store.ErrNotFound},
		{name: "missing key, revision zero", key: "nokey", rev: 0, want: store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Update(ctx, tc.key, []byte("bad"), tc.rev); !errors.Is(err, tc.want) {
				t.Fatalf("Update(%q, rev %d) error = %v, want %v", tc.key, tc.rev, err, tc.want)
			}
		})
	}
	mustGet(ctx, t, s, "k", "v2", rev2)
	if _, err := s.Get(ctx, "nokey"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a failed Update created the key: Get error = %v", err)
	}
}

func testPut(t *testing.T, f Factory) {
	s, ctx := f.New(t), testCtx(t)
	rev1 := mustPut(ctx, t, s, "k", "v1")
	mustGet(ctx, t, s, "k", "v1", rev1)
	rev2 := mustPut(ctx, t, s, "k", "v2")
	if rev2 <= rev1 {
		t.Fatalf("second Put revision %d, not above %d", rev2, rev1)
	}
	mustGet(ctx, t, s, "k", "v2", rev2)
	if _, err := s.Update(ctx, "k", []byte("v3"), rev1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Update with revision from before a Put: error = %v, want ErrConflict", err)
	}
}

func testDelete(t *testing.T, f Factory) {
	s, ctx := f.New(t), testCtx(t)
	if err := s.Delete(ctx, "nokey", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Delete(missing) error = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "nokey", 7); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Delete(missing, rev 7) error = %v, want ErrNotFound", err)
	}

	rev := mustCreate(ctx, t, s, "k", "v")
	if err := s.Delete(ctx, "k", rev+1000); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Delete(wrong rev) error = %v, want ErrConflict", err)
	}
	mustGet(ctx, t, s, "k", "v", rev)
	if err := s.Delete(ctx, "k", rev); err != nil {
		t.Fatalf("Delete(right rev): %v", err)
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after Delete: error = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "k", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second Delete: error = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "k", rev); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second Delete with the old rev: error = %v, want ErrNotFound", err)
	}
	if _, err := s.Update(ctx, "k", []byte("x"), rev); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Update of a deleted key: error = %v, want ErrNotFound", err)
	}

	// A deleted key can be created again, and the old revision means
	// nothing for the new incarnation.
	rev2 := mustCreate(ctx, t, s, "k", "again")
	if rev2 <= rev {
		t.Fatalf("re-Create revision %d, not above %d", rev2, rev)
	}
	if err := s.Delete(ctx, "k", rev); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Delete with the first incarnation's rev: error = %v, want ErrConflict", err)
	}
	if err := s.Delete(ctx, "k", 0); err != nil {
		t.Fatalf("unconditional Delete: %v", err)
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after unconditional Delete: error = %v, want ErrNotFound", err)
	}
}

func testRevisionsIncrease(t *testing.T, f Factory) {
	s, ctx := f.New(t), testCtx(t)
	var last uint64
	check := func(op string, rev uint64) {
		t.Helper()
		if rev <= last {
			t.Fatalf("%s: revision %d, not above the previous %d", op, rev, last)
		}
		last = rev
	}
	for i := range 10 {
		key := fmt.Sprintf("k%d", i%3)
		check("Put "+key, mustPut(ctx, t, s, key, strconv.Itoa(i)))
	}
	check("Create c", mustCreate(ctx, t, s, "c", "x"))
	e := mustGetEntry(ctx, t, s, "k0")
	rev, err := s.Update(ctx, "k0", []byte("u"), e.Revision)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	check("Update k0", rev)
	if err := s.Delete(ctx, "k1", 0); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	check("Put after Delete", mustPut(ctx, t, s, "k1", "back"))
}

func testList(t *testing.T, f Factory) {
	s, ctx := f.New(t), testCtx(t)
	keys := []string{"apisx", "apis/b", "apis/a10/x", "apis/a1", "apis/a1/r", "apis/a1/r/deep", "apis/a1-x", "other/z", "a"}
	revs := map[string]uint64{}
	for _, k := range keys {
		revs[k] = mustPut(ctx, t, s, k, "v:"+k)
	}
	mustPut(ctx, t, s, "apis/gone", "x")
	if err := s.Delete(ctx, "apis/gone", 0); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		prefix string
		want   []string
	}{
		{name: "everything", prefix: "", want: []string{"a", "apis/a1", "apis/a1-x", "apis/a1/r", "apis/a1/r/deep", "apis/a10/x", "apis/b", "apisx", "other/z"}},
		{name: "one level", prefix: "apis/", want: []string{"apis/a1", "apis/a1-x", "apis/a1/r", "apis/a1/r/deep", "apis/a10/x", "apis/b"}},
		{name: "whole segment only", prefix: "apis/a1/", want: []string{"apis/a1/r", "apis/a1/r/deep"}},
		{name: "deeper", prefix: "apis/a1/r/", want: []string{"apis/a1/r/deep"}},
		{name: "sibling with longer name", prefix: "apis/a10/", want: []string{"apis/a10/x"}},
		{name: "no match", prefix: "nothing/", want: nil},
		{name: "key itself is not under its own prefix", prefix: "apisx/", want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.List(ctx, tc.prefix)
			if err != nil {
				t.Fatalf("List(%q): %v", tc.prefix, err)
			}
			var gotKeys []string
			for _, e := range got {
				gotKeys = append(gotKeys, e.Key)
				if string(e.Value) != "v:"+e.Key {
					t.Errorf("List(%q) entry %q value %q", tc.prefix, e.Key, e.Value)
				}
				if e.Revision != revs[e.Key] {
					t.Errorf("List(%q) entry %q revision %d, want %d", tc.prefix, e.Key, e.Revision, revs[e.Key])
				}
			}
			if strings.Join(gotKeys, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("List(%q) keys = %q, want %q", tc.prefix, gotKeys, tc.want)
			}
		})
	}
}

var invalidKeys = []struct {
	name string
	key  string
}{
	{name: "empty", key: ""},
	{name: "leading slash", key: "/a"},
	{name: "trailing slash", key: "a/"},
	{name: "empty segment", key: "a//b"},
	{name: "only slash", key: "/"},
	{name: "dot", key: "a.b"},
	{name: "dot segment", key: "a/./b"},
	{name: "space", key: "a b"},
	{name: "star", key: "a/*"},
	{name: "greater-than", key: "a/>"},
	{name: "non-ASCII", key: "caf\u00e9"},
	{name: "NUL", key: "a\x00b"},
	{name: "too long", key: strings.Repeat("k", store.MaxKeyLen+1)},
}

var invalidPrefixes = []struct {
	name   string
	prefix string
}{
	{name: "no trailing slash", prefix: "apis"},
	{name: "only slash", prefix: "/"},
	{name: "empty segment", prefix: "a//"},
	{name: "leading slash", prefix: "/a/"},
	{name: "dot", prefix: "a.b/"},
	{name: "wildcard", prefix: ">"},
	{name: "too long", prefix: strings.Repeat("k", store.MaxKeyLen+1) + "/"},
}

func testInvalidKeys(t *testing.T, f Factory) {
	s, ctx := f.New(t), testCtx(t)
	for _, tc := range invalidKeys {
		t.Run(tc.name, func(t *testing.T) {
			ops := []struct {
				name string
				call func() error
			}{
				{name: "Get", call: func() error { _, err := s.Get(ctx, tc.key); return err }},
				{name: "Create", call: func() error { _, err := s.Create(ctx, tc.key, []byte("v")); return err }},
				{name: "Update", call: func() error { _, err := s.Update(ctx, tc.key, []byte("v"), 1); return err }},
				{name: "Put", call: func() error { _, err := s.Put(ctx, tc.key, []byte("v")); return err }},
				{name: "Delete", call: func() error { return s.Delete(ctx, tc.key, 0) }},
			}
			for _, op := range ops {
				if err := op.call(); !errors.Is(err, store.ErrInvalidKey) {
					t.Errorf("%s(%q) error = %v, want ErrInvalidKey", op.name, tc.key, err)
				}
			}
		})
	}
	for _, tc := range invalidPrefixes {
		t.Run("prefix "+tc.name, func(t *testing.T) {
			if _, err := s.List(ctx, tc.prefix); !errors.Is(err, store.ErrInvalidKey) {
				t.Errorf("List(%q) error = %v, want ErrInvalidKey", tc.prefix, err)
			}
			wctx, cancel := context.WithCancel(ctx)
			defer cancel()
			if _, err := s.Watch(wctx, tc.prefix); !errors.Is(err, store.ErrInvalidKey) {
				t.Errorf("Watch(%q) error = %v, want ErrInvalidKey", tc.prefix, err)
			}
		})
	}
	list, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Fatalf("invalid writes left entries behind: %v", keysOf(list))
	}
}

func testLongKey(t *testing.T, f Factory) {
	s, ctx := f.New(t), testCtx(t)
	// Every allowed character, in a key of exactly MaxKeyLen bytes.
	key := "Az09_=-/" + strings.Repeat("seg0123456789/", 30)
	key += strings.Repeat("x", store.MaxKeyLen-len(key))
	if len(key) != store.MaxKeyLen {
		t.Fatalf("test key is %d bytes", len(key))
	}
	rev := mustCreate(ctx, t, s, key, "long")
	mustGet(ctx, t, s, key, "long", rev)
	prefix := key[:strings.LastIndexByte(key, '/')+1]
	got, err := s.List(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Key != key {
		t.Fatalf("List(%q) = %v", prefix, keysOf(got))
	}
}

func testValuesCopied(t *testing.T, f Factory) {
	s, ctx := f.New(t), testCtx(t)
	buf := []byte("original")
	rev, err := s.Put(ctx, "k", buf)
	if err != nil {
		t.Fatal(err)
	}
	copy(buf, "MUTATED!")
	mustGet(ctx, t, s, "k", "original", rev)

	buf = []byte("created")
	if _, err := s.Create(ctx, "c", buf); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXXXX")
	crev := mustGetEntry(ctx, t, s, "c").Revision
	mustGet(ctx, t, s, "c", "created", crev)

	buf = []byte("updated")
	urev, err := s.Update(ctx, "c", buf, crev)
	if err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXXXX")
	mustGet(ctx, t, s, "c", "updated", urev)

	e := mustGetEntry(ctx, t, s, "k")
	copy(e.Value, "MUTATED!")
	mustGet(ctx, t, s, "k", "original", rev)

	list, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range list {
		for i := range e.Value {
			e.Value[i] = 'Z'
		}
	}
	mustGet(ctx, t, s, "k", "original", rev)
	mustGet(ctx, t, s, "c", "updated", urev)
}

func testEmptyValue(t *testing.T, f Factory) {
	s, ctx := f.New(t), testCtx(t)
	for _, tc := range []struct {
		name  string
		value []byte
	}{
		{name: "nil", value: nil},
		{name: "empty", value: []byte{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "empty/" + tc.name
			rev, err := s.Put(ctx, key, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			mustGet(ctx, t, s, key, "", rev)
		})
	}
}

func testLargeValue(t *testing.T, f Factory) {
	s, ctx := f.New(t), testCtx(t)
	big := randomBytes(256 << 10)
	w := mustWatch(ctx, t, s, "big/")
	expectMarker(t, w)

	rev := mustCreate(ctx, t, s, "big/v", string(big))
	e := mustGetEntry(ctx, t, s, "big/v")
	if !bytes.Equal(e.Value, big) || e.Revision != rev {
		t.Fatalf("Get of a 256 KiB value: %d bytes, revision %d (want %d)", len(e.Value), e.Revision, rev)
	}
	if ev := next(t, w); ev.Kind != store.EventPut || !bytes.Equal(ev.Entry.Value, big) {
		t.Fatalf("watch event for a 256 KiB Create: kind %d, %d bytes", ev.Kind, len(ev.Entry.Value))
	}
	big2 := randomBytes(256 << 10)
	rev2, err := s.Update(ctx, "big/v", big2, rev)
	if err != nil {
		t.Fatalf("Update of a 256 KiB value: %v", err)
	}
	list, err := s.List(ctx, "big/")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || !bytes.Equal(list[0].Value, big2) {
		t.Fatalf("List after a 256 KiB Update: %d entries", len(list))
	}
	if ev := next(t, w); ev.Kind != store.EventPut || !bytes.Equal(ev.Entry.Value, big2) {
		t.Fatalf("watch event for a 256 KiB Update: kind %d, %d bytes", ev.Kind, len(ev.Entry.Value))
	}
	if _, err := s.Put(ctx, "big/v", big); err != nil {
		t.Fatalf("Put of a 256 KiB value: %v", err)
	}
	if rev2 == 0 {
		t.Fatal("revision 0")
	}
}

func testValueLimit(t *testing.T, f Factory) {
	s, ctx := f.New(t), testCtx(t)
	limit := f.MaxValueSize
	if limit == 0 {
		limit = store.DefaultMaxValueSize
	}
	atLimit := randomBytes(limit)
	rev, err := s.Create(ctx, "max", atLimit)
	if err != nil {
		t.Fatalf("Create of a value of exactly %d bytes: %v", limit, err)
	}
	if e := mustGetEntry(ctx, t, s, "max"); !bytes.Equal(e.Value, atLimit) {
		t.Fatalf("Get of the largest value returned %d bytes", len(e.Value))
	}
	over := randomBytes(limit + 1)
	for _, op := range []struct {
		name string
		call func() error
	}{
		{name: "Create", call: func() error { _, err := s.Create(ctx, "over", over); return err }},
		{name: "Put", call: func() error { _, err := s.Put(ctx, "over", over); return err }},
		{name: "Update", call: func() error { _, err := s.Update(ctx, "max", over, rev); return err }},
	} {
		if err := op.call(); !errors.Is(err, store.ErrTooLarge) {
			t.Errorf("%s of %d bytes: error = %v, want ErrTooLarge", op.name, len(over), err)
		}
	}
	mustGet(ctx, t, s, "max", string(atLimit), rev)
}

func testCancelledContext(t *testing.T, f Factory) {
	s := f.New(t)
	mustPut(testCtx(t), t, s, "k", "v")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, op := range []struct {
		name string
		call func() error
	}{
		{name: "Get", call: func() error { _, err := s.Get(ctx, "k"); return err }},
		{name: "List", call: func() error { _, err := s.List(ctx, ""); return err }},
		{name: "Create", call: func() error { _, err := s.Create(ctx, "new", nil); return err }},
		{name: "Update", call: func() error { _, err := s.Update(ctx, "k", nil, 1); return err }},
		{name: "Put", call: func() error { _, err := s.Put(ctx, "k", nil); return err }},
		{name: "Delete", call: func() error { return s.Delete(ctx, "k", 0) }},
		{name: "Watch", call: func() error { _, err := s.Watch(ctx, ""); return err }},
	} {
		if err := op.call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: error = %v, want context.Canceled", op.name, err)
		}
	}
	mustGet(testCtx(t), t, s, "k", "v", mustGetEntry(testCtx(t), t, s, "k").Revision)
	if _, err := s.Get(testCtx(t), "new"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a cancelled Create wrote the key: Get error = %v", err)
	}
}

func testConcurrentCAS(t *testing.T, f Factory) {
	s, ctx := f.New(t), testCtx(t)
	const workers, increments = 8, 50
	mustCreate(ctx, t, s, "counter", "0")

	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range increments {
				if err := increment(ctx, s, "counter"); err != nil {
					errs <- fmt.Errorf("worker %d increment %d: %w", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	e := mustGetEntry(ctx, t, s, "counter")
	if got := string(e.Value); got != strconv.Itoa(workers*increments) {
		t.Fatalf("counter = %s after %d CAS increments: updates were lost", got, workers*increments)
	}
}

// increment is a read-modify-write loop, the way higher layers update a
// document. The bound only stops a broken store from spinning forever.
func increment(ctx context.Context, s store.Store, key string) error {
	for range 10000 {
		e, err := s.Get(ctx, key)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(string(e.Value))
		if err != nil {
			return err
		}
		_, err = s.Update(ctx, key, []byte(strconv.Itoa(n+1)), e.Revision)
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return errors.New("no progress after 10000 conflicts")
}

func testConcurrentCreate(t *testing.T, f Factory) {
	s, ctx := f.New(t), testCtx(t)
	const workers = 8
	type result struct {
		rev uint64
		err error
	}
	results := make(chan result, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rev, err := s.Create(ctx, "once", []byte(strconv.Itoa(w)))
			results <- result{rev: rev, err: err}
		})
	}
	wg.Wait()
	close(results)
	var won []uint64
	for r := range results {
		switch {
		case r.err == nil:
			won = append(won, r.rev)
		case errors.Is(r.err, store.ErrConflict):
		default:
			t.Errorf("Create: %v", r.err)
		}
	}
	if len(won) != 1 {
		t.Fatalf("%d concurrent Creates of one key succeeded, want 1", len(won))
	}
	if e := mustGetEntry(ctx, t, s, "once"); e.Revision != won[0] {
		t.Fatalf("key revision %d, winner's revision %d", e.Revision, won[0])
	}
}
