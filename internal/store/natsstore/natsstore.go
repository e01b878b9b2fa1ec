// Package natsstore is the cluster store.Store: a NATS JetStream key-value
// bucket shared by every wsgate node. Revisions are the bucket stream's
// sequence numbers; Create, Update and conditional Delete are JetStream's
// expected-last-sequence checks, so compare-and-swap holds across nodes.
//
// A store key's '/' separators become '.' in the bucket (store keys cannot
// contain '.'), so each segment is a subject token and a prefix watch is
// the subject filter "prefix.>".
//
// The connection belongs to the caller, who should make it with
// nats.MaxReconnects(-1) and nats.ReconnectBufSize(-1): without the latter
// a write racing a disconnect can sit in the client's reconnect buffer and
// be applied after it reported ErrUnavailable. While the connection is
// down every call fails at once with store.ErrUnavailable, and every
// Watch channel is closed (see Store.Watch).
//
// Durability is JetStream's: with file storage, an acknowledged write is
// on the server (on a quorum of replicas for Replicas > 1), but a single
// server only fsyncs on its sync_interval (2 minutes by default), so
// there a machine crash (not a process crash) can lose recent writes.
//
// Where it differs from boltstore, within the store contract:
//   - Watch coalesces: the bucket keeps one message per key, so a write a
//     watcher was not yet sent is gone once the key is written again, and
//     the watcher gets only the newer event.
//   - A deleted key keeps a delete marker whose revision a watcher sees in
//     its EventDelete. Update or Delete passing that revision succeeds on
//     the deleted key (recreating it, or writing another marker), where
//     boltstore says ErrNotFound; pass only revisions of live entries.
//   - With Replicas > 1, Get may be answered by a follower a moment
//     behind the leader (KV buckets allow direct gets), so a read right
//     after another node's write can miss it; Create and Update still
//     cannot lose a write.
//
// All methods of Store are safe for concurrent use.
package natsstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wsgate/wsgate/internal/store"
)

var _ store.Store = (*Store)(nil)

// ErrNoJetStream is returned by New when the server does not offer
// JetStream (nats-server needs -js, or jetstream {} in its config).
var ErrNoJetStream = errors.New("natsstore: JetStream is not enabled on the NATS server (start nats-server with -js)")

// headerRoom is kept free of max_payload for the message headers a
// conditional write carries.
const headerRoom = 4 << 10

// Options tune a Store. The zero value is ready to use.
type Options struct {
	// Bucket is the key-value bucket, created if missing; default "wsgate".
	Bucket string
	// Replicas for a bucket New creates; default 1.
	Replicas int
	// History is how many values per key a bucket New creates keeps;
	// default 1 (the store only reads the latest).
	History int
	// MaxValueSize is the largest value accepted; default
	// store.DefaultMaxValueSize, and never more than the server's
	// max_payload less room for headers.
	MaxValueSize int
	// WatchLag is how many live events a watcher may leave unread before
	// its channel is closed; default store.DefaultWatchLag.
	WatchLag int
	// Log receives the store's few log lines; nil discards them.
	Log *slog.Logger
}

// Store is a store.Store on a JetStream key-value bucket. Make one with New.
type Store struct {
	nc       *nats.Conn
	kv       jetstream.KeyValue
	log      *slog.Logger
	maxValue int
	watchLag int

	mu       sync.Mutex
	closed   bool
	trackers map[*tracker]struct{} // calls that must end when the connection drops

	done    chan struct{} // closed by Close
	status  chan nats.Status
	workers sync.WaitGroup // the status loop and every watch forwarder
}

// New opens the bucket opts.Bucket on nc, creating it (file storage) if it
// does not exist. It does not take ownership of nc: Close leaves it open.
func New(ctx context.Context, nc *nats.Conn, opts Options) (*Store, error) {
	if opts.Bucket == "" {
		opts.Bucket = "wsgate"
	}
	if opts.Replicas <= 0 {
		opts.Replicas = 1
	}
	if opts.History <= 0 {
		opts.History = 1
	}
	if opts.History > jetstream.KeyValueMaxHistory {
		return nil, fmt.Errorf("natsstore: history %d is more than the %d JetStream allows", opts.History, jetstream.KeyValueMaxHistory)
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
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("natsstore: %w", err)
	}
	kv, err := openBucket(ctx, js, opts)
	if err != nil {
		return nil, err
	}
	s := &Store{
		nc:       nc,
		kv:       kv,
		log:      opts.Log,
		maxValue: opts.MaxValueSize,
		watchLag: opts.WatchLag,
		trackers: make(map[*tracker]struct{}),
		done:     make(chan struct{}),
		status:   nc.StatusChanged(),
	}
	s.workers.Go(s.statusLoop)
	return s, nil
}

func openBucket(ctx context.Context, js jetstream.JetStream, opts Options) (jetstream.KeyValue, error) {
	// Two nodes starting together may both find the bucket missing; the
	// loser of the create finds it on the second look.
	for range 2 {
		kv, err := js.KeyValue(ctx, opts.Bucket)
		if err == nil {
			return kv, nil
		}
		if !errors.Is(err, jetstream.ErrBucketNotFound) {
			return nil, bucketErr(opts.Bucket, err)
		}
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      opts.Bucket,
			Description: "wsgate configuration",
			History:     uint8(opts.History),
			Storage:     jetstream.FileStorage,
			Replicas:    opts.Replicas,
		})
		if err == nil {
			opts.Log.Info("created key-value bucket", "bucket", opts.Bucket, "replicas", opts.Replicas)
			return kv, nil
		}
		if !errors.Is(err, jetstream.ErrBucketExists) {
			return nil, bucketErr(opts.Bucket, err)
		}
	}
	return nil, fmt.Errorf("natsstore: bucket %s: created and deleted concurrently", opts.Bucket)
}

func bucketErr(bucket string, err error) error {
	if errors.Is(err, jetstream.ErrJetStreamNotEnabled) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) ||
		errors.Is(err, nats.ErrNoResponders) {
		return fmt.Errorf("%w: bucket %s: %w", ErrNoJetStream, bucket, err)
	}
	return fmt.Errorf("natsstore: bucket %s: %w", bucket, mapErr(err))
}

// Close stops every watcher and waits for them. It leaves the connection
// open. Stopping a watcher deletes its consumer on the server, so if the
// server vanished and the client has not noticed yet, Close waits out the
// client's request timeout (5s).
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	s.mu.Unlock()
	s.nc.RemoveStatusListener(s.status)
	s.workers.Wait()
	return nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, key string) (store.Entry, error) {
	if err := store.ValidKey(key); err != nil {
		return store.Entry{}, fmt.Errorf("get %q: %w", key, err)
	}
	if err := s.ready(ctx); err != nil {
		return store.Entry{}, fmt.Errorf("get %q: %w", key, err)
	}
	e, err := s.kv.Get(ctx, toSubject(key))
	if err != nil {
		return store.Entry{}, fmt.Errorf("get %q: %w", key, mapErr(err))
	}
	return store.Entry{Key: key, Value: slices.Clone(e.Value()), Revision: e.Revision()}, nil
}

// List implements store.Store. It reads the latest message of every key
// under prefix through one ordered consumer, rather than listing keys and
// getting each, so it costs one consumer whatever the number of keys.
func (s *Store) List(ctx context.Context, prefix string) ([]store.Entry, error) {
	if err := store.ValidPrefix(prefix); err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	if err := s.ready(ctx); err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	tr, err := s.track()
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	defer s.untrack(tr)
	kw, err := s.watchKV(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	defer s.stopWatcher(kw)
	list, err := s.readInitial(ctx, tr, kw)
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	return list, nil
}

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, key string, value []byte) (uint64, error) {
	if err := s.writable(ctx, key, value); err != nil {
		return 0, fmt.Errorf("create %q: %w", key, err)
	}
	rev, err := s.kv.Create(ctx, toSubject(key), value)
	if err != nil {
		return 0, fmt.Errorf("create %q: %w", key, mapErr(err))
	}
	return rev, nil
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	if err := s.writable(ctx, key, value); err != nil {
		return 0, fmt.Errorf("update %q: %w", key, err)
	}
	if rev == 0 {
		// JetStream reads expected revision 0 as "must not exist", which
		// would make this a Create; the store's revisions are never 0.
		return 0, fmt.Errorf("update %q: %w", key, s.conflictOrMissing(ctx, key))
	}
	newRev, err := s.kv.Update(ctx, toSubject(key), value, rev)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		err = s.conflictOrMissing(ctx, key)
	}
	if err != nil {
		return 0, fmt.Errorf("update %q: %w", key, mapErr(err))
	}
	return newRev, nil
}

// Put implements store.Store.
func (s *Store) Put(ctx context.Context, key string, value []byte) (uint64, error) {
	if err := s.writable(ctx, key, value); err != nil {
		return 0, fmt.Errorf("put %q: %w", key, err)
	}
	rev, err := s.kv.Put(ctx, toSubject(key), value)
	if err != nil {
		return 0, fmt.Errorf("put %q: %w", key, mapErr(err))
	}
	return rev, nil
}

// Delete implements store.Store. JetStream writes a delete marker whether
// or not the key exists, so Delete always makes it conditional on the
// revision it read: that is how it reports ErrNotFound, and why an
// unconditional Delete retries if the key changes under it.
func (s *Store) Delete(ctx context.Context, key string, rev uint64) error {
	if err := store.ValidKey(key); err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	if err := s.ready(ctx); err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	subj := toSubject(key)
	const attempts = 100 // only ever reached under a storm of writes to this one key
	for range attempts {
		expect := rev
		if expect == 0 {
			e, err := s.kv.Get(ctx, subj)
			if err != nil {
				return fmt.Errorf("delete %q: %w", key, mapErr(err))
			}
			expect = e.Revision()
		}
		err := s.kv.Delete(ctx, subj, jetstream.LastRevision(expect))
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			err = s.conflictOrMissing(ctx, key)
			if rev == 0 && errors.Is(err, store.ErrConflict) {
				continue
			}
		}
		if err != nil {
			return fmt.Errorf("delete %q: %w", key, mapErr(err))
		}
		return nil
	}
	return fmt.Errorf("delete %q: %w: changed %d times while deleting", key, store.ErrConflict, attempts)
}

// conflictOrMissing tells apart the two reasons a revision check fails.
func (s *Store) conflictOrMissing(ctx context.Context, key string) error {
	_, err := s.kv.Get(ctx, toSubject(key))
	switch {
	case err == nil:
		return store.ErrConflict
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return store.ErrNotFound
	default:
		return mapErr(err)
	}
}

// ready checks what every call checks, after its arguments, before it
// talks to the server. Failing fast while disconnected is what keeps a call
// from waiting out its whole context for a server that is not there.
func (s *Store) ready(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return store.ErrClosed
	}
	switch st := s.nc.Status(); st {
	case nats.CONNECTED:
		return nil
	case nats.CLOSED:
		return fmt.Errorf("%w: %w", store.ErrUnavailable, nats.ErrConnectionClosed)
	case nats.RECONNECTING:
		return fmt.Errorf("%w: %w", store.ErrUnavailable, nats.ErrConnectionReconnecting)
	case nats.DRAINING_SUBS, nats.DRAINING_PUBS:
		return fmt.Errorf("%w: %w", store.ErrUnavailable, nats.ErrConnectionDraining)
	default:
		return fmt.Errorf("%w: %w (connection %s)", store.ErrUnavailable, nats.ErrDisconnected, st)
	}
}

func (s *Store) writable(ctx context.Context, key string, value []byte) error {
	if err := store.ValidKey(key); err != nil {
		return err
	}
	limit := s.maxValue
	if mp := int(s.nc.MaxPayload()) - headerRoom; mp > 0 && mp < limit {
		limit = mp
	}
	if len(value) > limit {
		return fmt.Errorf("%w: %d bytes, limit %d", store.ErrTooLarge, len(value), limit)
	}
	return s.ready(ctx)
}

// mapErr turns client and server errors into the store's. Causes stay
// wrapped for the logs; callers match the store errors.
func mapErr(err error) error {
	var apiErr *jetstream.APIError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict),
		errors.Is(err, store.ErrUnavailable), errors.Is(err, store.ErrClosed):
		return err
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		return fmt.Errorf("%w: %w", store.ErrConflict, err)
	case errors.Is(err, nats.ErrMaxPayload), errors.Is(err, jetstream.ErrStreamMessageExceedsMaximum):
		return fmt.Errorf("%w: %w", store.ErrTooLarge, err)
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, nats.ErrTimeout),
		errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, nats.ErrConnectionClosed),
		errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrConnectionDraining),
		errors.Is(err, nats.ErrReconnectBufExceeded),
		errors.Is(err, nats.ErrDisconnected),
		errors.Is(err, nats.ErrStaleConnection),
		errors.Is(err, jetstream.ErrConnectionClosed),
		errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, jetstream.ErrJetStreamNotEnabled),
		errors.As(err, &apiErr) && apiErr.Code == 503:
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	default:
		return err
	}
}

func toSubject(key string) string { return strings.ReplaceAll(key, "/", ".") }
func toKey(subject string) string { return strings.ReplaceAll(subject, ".", "/") }

// filter is the subject filter for a store prefix ("" or ending in '/').
func filter(prefix string) string {
	if prefix == "" {
		return ">"
	}
	return toSubject(prefix) + ">"
}

// watchKV starts a JetStream watcher on prefix. The client ties the
// subscription to ctx, and ends that tie when the watcher stops.
func (s *Store) watchKV(ctx context.Context, prefix string) (jetstream.KeyWatcher, error) {
	kw, err := s.kv.Watch(ctx, filter(prefix))
	if err != nil {
		return nil, mapErr(err)
	}
	return kw, nil
}

// drainBound caps the wait for the client to close a stopped watcher's
// channel; it is reached only if the client misbehaves.
const drainBound = 10 * time.Second

// stopWatcher stops a JetStream watcher and reads its channel until the
// client closes it: the client's delivery goroutine blocks on a full
// channel, so a watcher stopped without draining can leak it.
func (s *Store) stopWatcher(kw jetstream.KeyWatcher) {
	_ = kw.Stop() // fails only if the subscription is already gone, which is the goal
	timer := time.NewTimer(drainBound)
	defer timer.Stop()
	for {
		select {
		case _, ok := <-kw.Updates():
			if !ok {
				return
			}
		case <-timer.C:
			s.log.Warn("NATS client did not close a stopped watcher", "after", drainBound)
			return
		}
	}
}
