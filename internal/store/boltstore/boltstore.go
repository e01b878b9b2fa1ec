// Package boltstore is the single-node store.Store: one bbolt file under the
// data directory. Every write is one bbolt transaction, fsynced before it is
// acknowledged, so a crash loses nothing a caller was told was written.
// Revisions come from a counter kept in the same file, so they keep
// increasing across restarts.
//
// Watchers are fed in-process, after each commit and in commit order. The
// file is locked while open: a second process opening it fails with
// ErrInUse instead of waiting forever.
//
// All methods of Store are safe for concurrent use.
package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/wsgate/wsgate/internal/store"
)

var _ store.Store = (*Store)(nil)

// ErrInUse is returned by Open when another process holds the file.
var ErrInUse = errors.New("data directory is in use by another wsgate process")

// Options tune a Store. The zero value is ready to use.
type Options struct {
	// LockTimeout bounds the wait for the file lock another process may
	// hold; default 1s.
	LockTimeout time.Duration
	// MaxValueSize is the largest value accepted; default
	// store.DefaultMaxValueSize, which matches natsstore's default.
	MaxValueSize int
	// WatchLag is how many live events a watcher may leave unread before
	// its channel is closed; default store.DefaultWatchLag.
	WatchLag int
	// Log receives the store's few log lines; nil discards them.
	Log *slog.Logger
}

// Layout of the file: bucket "kv" maps each key to an 8-byte big-endian
// revision followed by the value; bucket "meta" holds the revision counter
// and the layout version.
var (
	bucketKV      = []byte("kv")
	bucketMeta    = []byte("meta")
	metaRevision  = []byte("revision")
	metaFormat    = []byte("format")
	formatVersion = []byte{1}
)

const revLen = 8

// Store is a store.Store on a bbolt file. Make one with Open.
type Store struct {
	db       *bbolt.DB
	log      *slog.Logger
	maxValue int
	watchLag int

	// wmu serialises writes with the notification of their events, so
	// watchers see events in commit order, and with Watch's snapshot, so
	// no event falls between a watcher's initial state and its live
	// events. bbolt serialises writers anyway, so this costs no
	// concurrency.
	wmu      sync.Mutex
	closed   bool                  // guarded by wmu
	watchers map[*watcher]struct{} // guarded by wmu

	isClosed atomic.Bool   // for the read paths, which do not take wmu
	done     chan struct{} // closed by Close: stops every pump
	pumps    sync.WaitGroup
}

// Open opens (creating if needed, with its parent directory) the store file
// at path. If another process has it open, Open fails after
// opts.LockTimeout with an error matching ErrInUse.
func Open(path string, opts Options) (*Store, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	if opts.MaxValueSize <= 0 {
		opts.MaxValueSize = store.DefaultMaxValueSize
	}
	if opts.WatchLag <= 0 {
		opts.WatchLag = store.DefaultWatchLag
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("boltstore: create data directory: %w", err)
	}
	// The defaults keep bbolt's fsync on every commit (NoSync false),
	// which is what makes an acknowledged write survive a crash.
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: opts.LockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("boltstore: open %s: %w (lock not released within %v)", path, ErrInUse, opts.LockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketKV); err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		switch v := meta.Get(metaFormat); {
		case v == nil:
			return meta.Put(metaFormat, formatVersion)
		case !bytes.Equal(v, formatVersion):
			return fmt.Errorf("file format %x, this version reads %x", v, formatVersion)
		}
		return nil
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("boltstore: initialise %s: %w", path, err), db.Close())
	}
	opts.Log.Debug("store opened", "path", path)
	return &Store{
		db:       db,
		log:      opts.Log,
		maxValue: opts.MaxValueSize,
		watchLag: opts.WatchLag,
		watchers: make(map[*watcher]struct{}),
		done:     make(chan struct{}),
	}, nil
}

// Close stops every watcher, waits for them, and closes the file.
func (s *Store) Close() error {
	s.wmu.Lock()
	if s.closed {
		s.wmu.Unlock()
		return nil
	}
	s.closed = true
	s.isClosed.Store(true)
	close(s.done)
	s.wmu.Unlock()
	s.pumps.Wait()
	// bbolt's Close waits for read transactions still running.
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("boltstore: close: %w", err)
	}
	return nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, key string) (store.Entry, error) {
	if err := store.ValidKey(key); err != nil {
		return store.Entry{}, fmt.Errorf("get %q: %w", key, err)
	}
	if err := s.readable(ctx); err != nil {
		return store.Entry{}, fmt.Errorf("get %q: %w", key, err)
	}
	var e store.Entry
	err := s.db.View(func(tx *bbolt.Tx) error {
		raw := tx.Bucket(bucketKV).Get([]byte(key))
		if raw == nil {
			return store.ErrNotFound
		}
		var err error
		e, err = decode(key, raw)
		return err
	})
	if err != nil {
		return store.Entry{}, fmt.Errorf("get %q: %w", key, mapErr(err))
	}
	return e, nil
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, prefix string) ([]store.Entry, error) {
	if err := store.ValidPrefix(prefix); err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	if err := s.readable(ctx); err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	var list []store.Entry
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		list, err = scan(tx, prefix)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, mapErr(err))
	}
	return list, nil
}

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, key string, value []byte) (uint64, error) {
	rev, err := s.write(ctx, key, value, false, func(cur uint64, exists bool) error {
		if exists {
			return store.ErrConflict
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("create %q: %w", key, err)
	}
	return rev, nil
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	newRev, err := s.write(ctx, key, value, false, func(cur uint64, exists bool) error {
		switch {
		case !exists:
			return store.ErrNotFound
		case cur != rev:
			return fmt.Errorf("%w: revision is %d, not %d", store.ErrConflict, cur, rev)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("update %q: %w", key, err)
	}
	return newRev, nil
}

// Put implements store.Store.
func (s *Store) Put(ctx context.Context, key string, value []byte) (uint64, error) {
	rev, err := s.write(ctx, key, value, false, func(uint64, bool) error { return nil })
	if err != nil {
		return 0, fmt.Errorf("put %q: %w", key, err)
	}
	return rev, nil
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, key string, rev uint64) error {
	_, err := s.write(ctx, key, nil, true, func(cur uint64, exists bool) error {
		switch {
		case !exists:
			return store.ErrNotFound
		case rev != 0 && cur != rev:
			return fmt.Errorf("%w: revision is %d, not %d", store.ErrConflict, cur, rev)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	return nil
}

// write runs one write transaction, which writes value or, with del,
// deletes the key: check decides from the key's current revision whether
// it may go ahead. After the commit, still holding wmu, it hands the event
// to the watchers.
func (s *Store) write(ctx context.Context, key string, value []byte, del bool, check func(cur uint64, exists bool) error) (uint64, error) {
	if err := store.ValidKey(key); err != nil {
		return 0, err
	}
	if len(value) > s.maxValue {
		return 0, fmt.Errorf("%w: %d bytes, limit %d", store.ErrTooLarge, len(value), s.maxValue)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed {
		return 0, store.ErrClosed
	}
	var rev uint64
	err := s.db.Update(func(tx *bbolt.Tx) error {
		kv, meta := tx.Bucket(bucketKV), tx.Bucket(bucketMeta)
		var cur uint64
		raw := kv.Get([]byte(key))
		if raw != nil {
			if len(raw) < revLen {
				return fmt.Errorf("corrupt record for %q: %d bytes", key, len(raw))
			}
			cur = binary.BigEndian.Uint64(raw)
		}
		if err := check(cur, raw != nil); err != nil {
			return err
		}
		if c := meta.Get(metaRevision); c != nil {
			rev = binary.BigEndian.Uint64(c)
		}
		rev++
		if err := meta.Put(metaRevision, binary.BigEndian.AppendUint64(nil, rev)); err != nil {
			return err
		}
		if del {
			return kv.Delete([]byte(key))
		}
		// bbolt keeps a reference to the slice until the commit, and the
		// caller may reuse it as soon as we return: build a fresh one.
		rec := make([]byte, revLen+len(value))
		binary.BigEndian.PutUint64(rec, rev)
		copy(rec[revLen:], value)
		return kv.Put([]byte(key), rec)
	})
	if err != nil {
		return 0, mapErr(err)
	}
	ev := store.Event{Kind: store.EventPut, Entry: store.Entry{Key: key, Value: value, Revision: rev}}
	if del {
		ev = store.Event{Kind: store.EventDelete, Entry: store.Entry{Key: key, Revision: rev}}
	}
	s.notify(ev)
	return rev, nil
}

// readable checks what every read checks after its arguments.
func (s *Store) readable(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.isClosed.Load() {
		return store.ErrClosed
	}
	return nil
}

// mapErr turns bbolt's "closed" into ours; a read racing Close can see it.
func mapErr(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) || errors.Is(err, berrors.ErrTxClosed) {
		return fmt.Errorf("%w: %w", store.ErrClosed, err)
	}
	return err
}

// decode copies a record out of bbolt's memory map, which is only valid
// during the transaction.
func decode(key string, raw []byte) (store.Entry, error) {
	if len(raw) < revLen {
		return store.Entry{}, fmt.Errorf("corrupt record for %q: %d bytes", key, len(raw))
	}
	return store.Entry{
		Key:      key,
		Value:    bytes.Clone(raw[revLen:]),
		Revision: binary.BigEndian.Uint64(raw),
	}, nil
}

// scan returns the entries under prefix in key order (bbolt's byte order,
// which is Go's string order), reading the one range the prefix covers.
func scan(tx *bbolt.Tx, prefix string) ([]store.Entry, error) {
	var list []store.Entry
	c := tx.Bucket(bucketKV).Cursor()
	p := []byte(prefix)
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		e, err := decode(string(k), v)
		if err != nil {
			return nil, err
		}
		list = append(list, e)
	}
	return list, nil
}
