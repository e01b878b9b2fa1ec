// Package store defines the key-value store wsgate keeps its configuration in:
// APIs, deployment snapshots and cluster membership. A Store is a flat, ordered
// key space with per-key revisions and compare-and-swap writes, which is what
// both backends offer natively: an embedded bbolt file (boltstore, the single-node
// default) and NATS JetStream KV (natsstore, for a cluster).
//
// Higher layers keep each API in one document under one key and update it with
// read-modify-write loops on the revision, so no multi-key transactions are
// needed. Every implementation must pass storetest.Run.
//
// All methods are safe for concurrent use.
package store

import (
	"context"
	"errors"
	"fmt"
)

// Errors every backend returns (wrapped or bare); match them with errors.Is.
var (
	// ErrNotFound: the key does not exist.
	ErrNotFound = errors.New("store: key not found")
	// ErrConflict: a conditional write or delete found a different revision
	// than expected (or, for Create, an existing key).
	ErrConflict = errors.New("store: revision conflict")
	// ErrUnavailable: the backend cannot be reached right now (NATS down).
	// It wraps the cause (a timeout, a closed connection, ...), so a
	// write whose context expired matches both ErrUnavailable and
	// context.DeadlineExceeded. A write refused before it was sent (the
	// connection was already down) was not applied; a write that timed out
	// after it was sent may or may not have been applied, as with any
	// request over a network: callers re-read and retry with Create or
	// Update, which cannot apply twice.
	ErrUnavailable = errors.New("store: unavailable")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
	// ErrInvalidKey: a key or prefix breaks the key rules (see ValidKey).
	ErrInvalidKey = errors.New("store: invalid key")
	// ErrTooLarge: a value is larger than the backend's limit (see
	// DefaultMaxValueSize).
	ErrTooLarge = errors.New("store: value too large")
)

const (
	// MaxKeyLen is the longest key, in bytes.
	MaxKeyLen = 512

	// DefaultMaxValueSize is the largest value every backend accepts with
	// its default options. It is below NATS's default max_payload (1 MiB)
	// with room for the message headers, so a configuration that fits the
	// single-node store also fits a cluster.
	DefaultMaxValueSize = 1000 << 10

	// DefaultWatchLag is how many live events a watcher may leave unread
	// before its channel is closed (see Store.Watch).
	DefaultWatchLag = 1024
)

// Entry is one key with its value and revision. Revisions are positive and
// strictly increase with every write to the store (deletes included); a
// key's revision changes on every write to it. Revisions are opaque: they
// are not dense, and the two backends number them differently.
//
// Values are copied in both directions: the store keeps no reference to a
// slice passed to a write, and callers own the slices they get back. An
// empty value reads back with length 0 (nil or not).
type Entry struct {
	Key      string
	Value    []byte
	Revision uint64
}

// EventKind says what happened to a key.
type EventKind int

const (
	// EventPut: the key was created or updated; Entry holds the new value.
	EventPut EventKind = iota + 1
	// EventDelete: the key was deleted; Entry.Value is nil.
	EventDelete
)

// Event is one change seen by a Watch.
type Event struct {
	Kind  EventKind
	Entry Entry
}

// Keys are one or more segments separated by '/', each segment one or more
// of [A-Za-z0-9_=-], at most MaxKeyLen bytes in all: "apis/a1b2c3/routes/x".
// So no empty segment, no leading or trailing '/', and no '.': natsstore
// maps '/' to '.' to make segments NATS subject tokens, which is what lets
// a prefix watch be a subject filter. Every method rejects another key with
// an error matching ErrInvalidKey (see ValidKey).
//
// A prefix passed to List or Watch is "" (everything) or a valid key
// followed by '/' ("apis/" or "apis/a1/"), so a prefix always selects
// whole segments: "apis/a1/" matches "apis/a1/x" but neither "apis/a1" nor
// "apis/a10/x" (see ValidPrefix).

// Store is the interface both backends implement.
type Store interface {
	// Get returns the entry for key, or ErrNotFound.
	Get(ctx context.Context, key string) (Entry, error)

	// List returns every entry whose key starts with prefix, sorted by key.
	List(ctx context.Context, prefix string) ([]Entry, error)

	// Create writes key only if it does not exist (else ErrConflict) and
	// returns the new revision.
	Create(ctx context.Context, key string, value []byte) (uint64, error)

	// Update writes key only if its current revision is rev (else
	// ErrConflict; ErrNotFound if it does not exist) and returns the new
	// revision.
	Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error)

	// Put writes key unconditionally and returns the new revision.
	Put(ctx context.Context, key string, value []byte) (uint64, error)

	// Delete removes key. With rev > 0 it deletes only if the current
	// revision is rev (else ErrConflict). Deleting a missing key returns
	// ErrNotFound.
	Delete(ctx context.Context, key string, rev uint64) error

	// Watch reports the changes to keys under prefix, in revision order
	// (but see coalescing below), until ctx is cancelled or the store is
	// closed; then the channel is closed. It first delivers the current
	// entries under prefix, in key order, as EventPut events (so a watcher
	// can build its state from the stream alone), a consistent snapshot,
	// followed by one event with Kind 0 (Event{}) marking the end of the
	// initial state. Every live event has a higher revision than every
	// initial entry.
	//
	// A backend may coalesce: when a key is written again before a
	// watcher was sent the earlier write, the watcher may get only the
	// later event (natsstore does, as its bucket keeps one revision per
	// key; boltstore sends every event). So a watcher always converges on
	// the current state, and never sees an older value after a newer one,
	// but must not count on seeing every intermediate value of a key.
	//
	// Writers never wait for watchers. The channel is buffered; a watcher
	// that leaves more than its backend's watch lag (DefaultWatchLag
	// unless configured; the channel's capacity) live events unread has
	// its channel closed and its pending events dropped. A backend may
	// also close the channel when it loses its connection (natsstore does,
	// on every disconnect). So a channel that closes while ctx is still
	// live means "resynchronise": call Watch again (retrying with backoff
	// while it returns ErrUnavailable) and rebuild the state from the
	// fresh initial entries.
	Watch(ctx context.Context, prefix string) (<-chan Event, error)

	// Close releases the store. Pending Watch channels are closed; later
	// calls return ErrClosed. Closing twice is harmless.
	Close() error
}

// ValidKey reports whether key follows the key rules, with an error
// matching ErrInvalidKey if not.
func ValidKey(key string) error {
	if len(key) > MaxKeyLen {
		return fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidKey, len(key), MaxKeyLen)
	}
	if err := validSegments(key); err != nil {
		return fmt.Errorf("%w %q: %s", ErrInvalidKey, key, err)
	}
	return nil
}

// ValidPrefix reports whether prefix may be passed to List or Watch: "" or
// a valid key followed by '/'. The error matches ErrInvalidKey.
func ValidPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if prefix[len(prefix)-1] != '/' {
		return fmt.Errorf("%w: prefix %q does not end with '/'", ErrInvalidKey, prefix)
	}
	if len(prefix)-1 > MaxKeyLen {
		return fmt.Errorf("%w: prefix of %d bytes, more than %d", ErrInvalidKey, len(prefix), MaxKeyLen+1)
	}
	if err := validSegments(prefix[:len(prefix)-1]); err != nil {
		return fmt.Errorf("%w: prefix %q: %s", ErrInvalidKey, prefix, err)
	}
	return nil
}

// validSegments checks the segment syntax of a key; the reason it returns
// is for people, not for matching.
func validSegments(key string) error {
	if key == "" {
		return errors.New("empty")
	}
	segLen := 0
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '/':
			if segLen == 0 {
				return fmt.Errorf("empty segment at byte %d", i)
			}
			segLen = 0
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '=', c == '-':
			segLen++
		default:
			return fmt.Errorf("byte %#x at %d is not one of [A-Za-z0-9_=-/]", c, i)
		}
	}
	if segLen == 0 {
		return errors.New("ends with '/'")
	}
	return nil
}
