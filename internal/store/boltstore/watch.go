package boltstore

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/wsgate/wsgate/internal/store"
)

// A watcher is one Watch call. Writers hand it events through in, never
// blocking; its pump goroutine moves the initial state and then the live
// events into out, the caller's channel. Both channels hold watchLag
// events, so a watcher is cut off when out is full (the caller is watchLag
// events behind) and one more event arrives, or when in is full (the
// caller is still reading a large initial state and watchLag live events
// queued up meanwhile).
type watcher struct {
	prefix   string
	in       chan store.Event
	out      chan store.Event
	overflow chan struct{} // closed by the writer that found in full
	cut      bool          // overflow is closed; guarded by Store.wmu
}

// Watch implements store.Store.
func (s *Store) Watch(ctx context.Context, prefix string) (<-chan store.Event, error) {
	if err := store.ValidPrefix(prefix); err != nil {
		return nil, fmt.Errorf("watch %q: %w", prefix, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("watch %q: %w", prefix, err)
	}
	w := &watcher{
		prefix:   prefix,
		in:       make(chan store.Event, s.watchLag),
		out:      make(chan store.Event, s.watchLag),
		overflow: make(chan struct{}),
	}

	// Register and take the snapshot under wmu, so every commit is either
	// in the snapshot or notified to w; then read the snapshot without
	// holding up writers.
	s.wmu.Lock()
	if s.closed {
		s.wmu.Unlock()
		return nil, fmt.Errorf("watch %q: %w", prefix, store.ErrClosed)
	}
	tx, err := s.db.Begin(false)
	if err != nil {
		s.wmu.Unlock()
		return nil, fmt.Errorf("watch %q: %w", prefix, mapErr(err))
	}
	s.watchers[w] = struct{}{}
	s.pumps.Add(1)
	s.wmu.Unlock()

	initial, err := scan(tx, prefix)
	// A read-only transaction has nothing to roll back; Rollback only
	// releases it, and its error says nothing about the data.
	_ = tx.Rollback()
	if err != nil {
		s.unregister(w)
		s.pumps.Done()
		return nil, fmt.Errorf("watch %q: %w", prefix, err)
	}
	go s.pump(ctx, w, initial)
	return w.out, nil
}

// notify hands ev to every watcher of its key. Called with wmu held, right
// after the commit, so watchers see commits in order.
func (s *Store) notify(ev store.Event) {
	for w := range s.watchers {
		if w.cut || !strings.HasPrefix(ev.Entry.Key, w.prefix) {
			continue
		}
		e := ev
		e.Entry.Value = bytes.Clone(ev.Entry.Value) // each watcher owns its copy
		select {
		case w.in <- e:
		default:
			w.cut = true
			close(w.overflow)
			s.log.Debug("watcher fell behind; closing it", "prefix", w.prefix)
		}
	}
}

// pump owns w.out: it is the only sender and closes it when it returns.
func (s *Store) pump(ctx context.Context, w *watcher, initial []store.Entry) {
	defer s.pumps.Done()
	defer close(w.out)
	defer s.unregister(w)

	// The initial state goes at the reader's pace: it is not "behind".
	for _, e := range initial {
		select {
		case w.out <- store.Event{Kind: store.EventPut, Entry: e}:
		case <-ctx.Done():
			return
		case <-s.done:
			return
		case <-w.overflow:
			drain(w.out)
			return
		}
	}
	select {
	case w.out <- store.Event{}:
	case <-ctx.Done():
		return
	case <-s.done:
		return
	case <-w.overflow:
		drain(w.out)
		return
	}

	for {
		select {
		case ev := <-w.in:
			select {
			case w.out <- ev:
			default:
				s.log.Debug("watcher fell behind; closing it", "prefix", w.prefix)
				drain(w.out)
				return
			}
		case <-ctx.Done():
			return
		case <-s.done:
			return
		case <-w.overflow:
			drain(w.out)
			return
		}
	}
}

func (s *Store) unregister(w *watcher) {
	s.wmu.Lock()
	delete(s.watchers, w)
	s.wmu.Unlock()
}

// drain drops the events a cut-off watcher has not read: it must
// resynchronise anyway, and they would only hold memory. Bounded by the
// channel's capacity, since the caller of drain is the only sender.
func drain(ch chan store.Event) {
	for range cap(ch) {
		select {
		case <-ch:
		default:
			return
		}
	}
}
