package natsstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wsgate/wsgate/internal/store"
)

// Watch implements store.Store.
//
// Each Watch is one JetStream ordered consumer (the client's KeyValue
// watcher) on the prefix's subject filter, with a forwarder goroutine that
// translates its entries. The forwarder hands over the initial state at
// the caller's pace and the live events without waiting: when the
// caller's channel is full (WatchLag events unread) the watch is closed.
//
// Every Watch channel is closed when the connection drops, even if the
// client would later resume the consumer: events written meanwhile by
// other nodes could otherwise arrive long after the fact, with the
// watcher unaware its state was stale. Watchers re-Watch (retrying while
// that returns ErrUnavailable) and rebuild from the initial state.
func (s *Store) Watch(ctx context.Context, prefix string) (<-chan store.Event, error) {
	if err := store.ValidPrefix(prefix); err != nil {
		return nil, fmt.Errorf("watch %q: %w", prefix, err)
	}
	if err := s.ready(ctx); err != nil {
		return nil, fmt.Errorf("watch %q: %w", prefix, err)
	}
	tr, err := s.track()
	if err != nil {
		return nil, fmt.Errorf("watch %q: %w", prefix, err)
	}
	kw, err := s.watchKV(ctx, prefix)
	if err != nil {
		s.untrack(tr)
		return nil, fmt.Errorf("watch %q: %w", prefix, err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.stopWatcher(kw)
		s.untrack(tr)
		return nil, fmt.Errorf("watch %q: %w", prefix, store.ErrClosed)
	}
	s.workers.Add(1) // under mu, so Close's Wait cannot start first
	s.mu.Unlock()

	out := make(chan store.Event, s.watchLag)
	go s.forward(ctx, prefix, tr, kw, out)
	return out, nil
}

// forward owns out: it is the only sender and closes it when it returns.
func (s *Store) forward(ctx context.Context, prefix string, tr *tracker, kw jetstream.KeyWatcher, out chan store.Event) {
	defer s.workers.Done()
	defer s.untrack(tr)
	defer s.stopWatcher(kw)
	// Close out first: stopping kw deletes the consumer on the server,
	// which can take the client's request timeout when the connection has
	// just dropped, and the caller should learn at once.
	defer close(out)

	initial, err := s.readInitial(ctx, tr, kw)
	if err != nil {
		s.log.Debug("watch ended before its initial state", "prefix", prefix, "err", err)
		return
	}
	// The initial state goes at the caller's pace: it is not "behind".
	// Live events wait meanwhile in the client's buffers.
	for _, e := range append(initial, store.Entry{}) {
		ev := store.Event{Kind: store.EventPut, Entry: e}
		if e.Key == "" {
			ev = store.Event{} // the end-of-initial-state marker
		}
		select {
		case out <- ev:
		case <-ctx.Done():
			return
		case <-tr.lost:
			return
		case <-s.done:
			return
		}
	}

	for {
		select {
		case e, ok := <-kw.Updates():
			if !ok {
				return // the subscription ended: the connection was closed
			}
			if e == nil {
				continue // the client sends one marker; never seen here
			}
			select {
			case out <- event(e):
			default:
				s.log.Debug("watcher fell behind; closing it", "prefix", prefix)
				drain(out)
				return
			}
		case <-ctx.Done():
			return
		case <-tr.lost:
			return
		case <-s.done:
			return
		}
	}
}

// readInitial reads a JetStream watcher up to its end-of-initial-values
// marker and returns the live entries, sorted by key. It applies deletes
// rather than skipping them: the consumer's initial values are the last
// message of each key when it started, and writes made before the marker
// arrive mixed in, so a key listed early may be deleted later in the same
// batch.
func (s *Store) readInitial(ctx context.Context, tr *tracker, kw jetstream.KeyWatcher) ([]store.Entry, error) {
	state := map[string]store.Entry{}
	for {
		select {
		case e, ok := <-kw.Updates():
			if !ok {
				return nil, fmt.Errorf("%w: %w", store.ErrUnavailable, nats.ErrConnectionClosed)
			}
			if e == nil {
				list := make([]store.Entry, 0, len(state))
				for _, entry := range state {
					list = append(list, entry)
				}
				slices.SortFunc(list, func(a, b store.Entry) int { return strings.Compare(a.Key, b.Key) })
				return list, nil
			}
			ev := event(e)
			if ev.Kind == store.EventDelete {
				delete(state, ev.Entry.Key)
			} else {
				state[ev.Entry.Key] = ev.Entry
			}
		case <-tr.lost:
			return nil, fmt.Errorf("%w: connection lost", store.ErrUnavailable)
		case <-ctx.Done():
			return nil, mapErr(ctx.Err())
		case <-s.done:
			return nil, store.ErrClosed
		}
	}
}

func event(e jetstream.KeyValueEntry) store.Event {
	entry := store.Entry{Key: toKey(e.Key()), Revision: e.Revision()}
	if op := e.Operation(); op == jetstream.KeyValueDelete || op == jetstream.KeyValuePurge {
		return store.Event{Kind: store.EventDelete, Entry: entry}
	}
	entry.Value = slices.Clone(e.Value())
	return store.Event{Kind: store.EventPut, Entry: entry}
}

// drain drops the events a cut-off watcher has not read: it must
// resynchronise anyway. Bounded by the capacity, as the caller of drain is
// the only sender.
func drain(ch chan store.Event) {
	for range cap(ch) {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// A tracker is a call that must end when the connection drops: a Watch
// for its whole life, a List while it reads.
type tracker struct {
	// reconnects is the connection's reconnect count when the call began;
	// a different count later means the connection dropped in between.
	reconnects uint64
	lost       chan struct{}
	once       sync.Once
}

func (tr *tracker) lose() { tr.once.Do(func() { close(tr.lost) }) }

func (s *Store) track() (*tracker, error) {
	tr := &tracker{reconnects: s.nc.Stats().Reconnects, lost: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, store.ErrClosed
	}
	s.trackers[tr] = struct{}{}
	s.mu.Unlock()
	// A drop between reading the count and registering was swept before
	// tr was there to see it; catch it here instead.
	if s.nc.Status() != nats.CONNECTED || s.nc.Stats().Reconnects != tr.reconnects {
		tr.lose()
	}
	return tr, nil
}

func (s *Store) untrack(tr *tracker) {
	s.mu.Lock()
	delete(s.trackers, tr)
	s.mu.Unlock()
}

// statusLoop ends every tracked call when the connection drops. It runs
// until Close.
func (s *Store) statusLoop() {
	for {
		select {
		case st, ok := <-s.status:
			if !ok {
				return // Close removed the listener
			}
			s.sweep(st)
		case <-s.done:
			return
		}
	}
}

// sweep loses every tracker begun before the latest drop. The status it
// was woken for may be stale (events are queued), so it looks at the
// connection as it is now: a watch begun after a reconnect survives an old
// DISCONNECTED event.
func (s *Store) sweep(st nats.Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	connected := s.nc.Status() == nats.CONNECTED
	reconnects := s.nc.Stats().Reconnects
	n := 0
	for tr := range s.trackers {
		if !connected || tr.reconnects != reconnects {
			select {
			case <-tr.lost:
			default:
				tr.lose()
				n++
			}
		}
	}
	if n > 0 {
		s.log.Info("NATS connection lost; closed watchers must re-Watch", "status", st.String(), "closed", n)
	}
}
