// Package natsrelay is the cluster relay.Relay: @connections operations on
// a connection owned by another node travel to that node by NATS
// request-reply, and fan-outs and listings are one NATS publish answered by
// every node. The owner of a connection is the node number encoded in its
// id (connid.Node), so routing needs no lookup; ids of this node are served
// from the local hub without touching NATS.
//
// Subjects, under the cluster's prefix P ("wsgate.<bucket>"):
//
//	P.conn.<number>  point operations for the connections of node <number>
//	P.send           fan-out: every node sends to its own members and replies with its counts
//	P.list           listing: every node replies with a page of its own connections
//
// Answers are exactly the hub's: hub.ErrGone, hub.ErrQueueFull,
// hub.ErrBadGroup, hub.ErrTooMany and hub.ErrBadMetadata cross the wire as
// status codes. An owner that does not answer within Options.Timeout, or
// has no subscription (the node is gone), is hub.ErrGone; when the
// heartbeats still say such an owner runs, it is asked again for half the
// timeout first, as it is most likely reconnecting to NATS. When this
// node's own NATS connection is down, remote operations fail with
// ErrUnavailable (a 5xx): the owner may be alive, and a 410 would make a
// backend forget a live connection.
//
// Each subscription's messages are handled in order by one goroutine of
// the NATS client; handlers only touch the hub, which never blocks.
//
// A Relay is safe for concurrent use.
package natsrelay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wsgate/wsgate/internal/connid"
	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/relay"
)

var _ relay.Relay = (*Relay)(nil)

// ErrUnavailable: this node cannot reach NATS right now, so it cannot
// reach other nodes' connections.
var ErrUnavailable = relay.ErrUnavailable

// Options configure a Relay.
type Options struct {
	// Conn is the NATS connection (not owned: Close leaves it open). It
	// should be made with nats.ReconnectBufSize(-1), so a request made
	// while disconnected fails at once instead of waiting in a buffer.
	Conn *nats.Conn
	// Hub holds this node's connections.
	Hub *hub.Hub
	// Node is this node's number.
	Node uint16
	// Prefix starts every subject ("wsgate.<bucket>").
	Prefix string
	// Live returns the numbers of the running nodes (this one may be
	// among them); fan-outs and listings wait for their replies. Nil: wait
	// for GatherTimeout every time.
	Live func() []uint16
	// Gone, if set, is told about a node that has no responder.
	Gone func(node uint16)
	// Timeout bounds a point operation on another node's connection;
	// default 1s. Past it the connection is Gone.
	Timeout time.Duration
	// GatherTimeout bounds the wait for fan-out and listing replies from
	// the live nodes; default 1s.
	GatherTimeout time.Duration
	// Log receives the relay's log lines; nil discards them.
	Log *slog.Logger
}

// Relay is a relay.Relay over NATS. Make one with New.
type Relay struct {
	o     Options
	log   *slog.Logger
	local relay.Local

	mu     sync.Mutex
	subs   []*nats.Subscription
	closed bool
}

// New subscribes to this node's subjects and returns the Relay.
func New(o Options) (*Relay, error) {
	if o.Conn == nil || o.Hub == nil || o.Prefix == "" || o.Node == 0 {
		return nil, errors.New("natsrelay: Conn, Hub, Prefix and Node are required")
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	if o.GatherTimeout <= 0 {
		o.GatherTimeout = time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	r := &Relay{o: o, log: o.Log, local: relay.Local{Hub: o.Hub}}
	for subj, h := range map[string]nats.MsgHandler{
		r.connSubject(o.Node): r.servePoint,
		o.Prefix + ".send":    r.serveSend,
		o.Prefix + ".list":    r.serveList,
	} {
		sub, err := o.Conn.Subscribe(subj, h)
		if err != nil {
			r.unsubscribe()
			return nil, fmt.Errorf("natsrelay: subscribe %s: %w", subj, err)
		}
		r.subs = append(r.subs, sub)
	}
	if err := o.Conn.Flush(); err != nil {
		r.unsubscribe()
		return nil, fmt.Errorf("natsrelay: subscribe: %w", err)
	}
	return r, nil
}

func (r *Relay) connSubject(n uint16) string {
	return r.o.Prefix + ".conn." + strconv.Itoa(int(n))
}

// Close stops serving other nodes: it drains the subscriptions (requests
// already received are answered) and waits, within ctx, for that to end.
// It leaves the connection open. Idempotent.
func (r *Relay) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	subs := r.subs
	r.subs = nil
	r.mu.Unlock()
	// Draining needs the server's acknowledgement; without a connection
	// there is nobody left to answer anyway.
	if r.o.Conn.Status() != nats.CONNECTED {
		r.unsubscribeAll(subs)
		return nil
	}
	for _, s := range subs {
		if err := s.Drain(); err != nil {
			_ = s.Unsubscribe()
		}
	}
	ctx, cancel := context.WithTimeout(ctx, closeBound)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for _, s := range subs {
		for s.IsValid() {
			select {
			case <-tick.C:
			case <-ctx.Done():
				r.unsubscribeAll(subs)
				return fmt.Errorf("natsrelay: close: %w", ctx.Err())
			}
		}
	}
	return nil
}

// closeBound caps Close's wait for the subscriptions to drain.
const closeBound = 2 * time.Second

func (r *Relay) unsubscribeAll(subs []*nats.Subscription) {
	for _, s := range subs {
		_ = s.Unsubscribe() // fails only if already gone
	}
}

func (r *Relay) unsubscribe() {
	r.unsubscribeAll(r.subs)
	r.subs = nil
}

// owner returns the node number of a connection id; ok is false for ids
// that are not well formed (they can name no connection).
func owner(id string) (uint16, bool) {
	n, ok := connid.Node(id)
	return n, ok && n != 0
}

// Post implements relay.Relay.
func (r *Relay) Post(ctx context.Context, t relay.Target, data []byte, binary bool) error {
	n, ok := owner(t.ConnID)
	switch {
	case !ok:
		return hub.ErrGone
	case n == r.o.Node:
		return r.local.Post(ctx, t, data, binary)
	}
	_, err := r.call(ctx, n, &request{op: opPost, target: t, data: data, binary: binary})
	return err
}

// Info implements relay.Relay.
func (r *Relay) Info(ctx context.Context, t relay.Target) (hub.Info, error) {
	n, ok := owner(t.ConnID)
	switch {
	case !ok:
		return hub.Info{}, hub.ErrGone
	case n == r.o.Node:
		return r.local.Info(ctx, t)
	}
	rep, err := r.call(ctx, n, &request{op: opInfo, target: t})
	if err != nil {
		return hub.Info{}, err
	}
	return rep.info, nil
}

// Disconnect implements relay.Relay: the owner closes the connection and
// runs its $disconnect.
func (r *Relay) Disconnect(ctx context.Context, t relay.Target) error {
	return r.point(ctx, t, &request{op: opDisconnect, target: t}, r.local.Disconnect)
}

// Join implements relay.Relay.
func (r *Relay) Join(ctx context.Context, t relay.Target, group string) error {
	return r.point(ctx, t, &request{op: opJoin, target: t, group: group}, func(ctx context.Context, t relay.Target) error {
		return r.local.Join(ctx, t, group)
	})
}

// Leave implements relay.Relay.
func (r *Relay) Leave(ctx context.Context, t relay.Target, group string) error {
	return r.point(ctx, t, &request{op: opLeave, target: t, group: group}, func(ctx context.Context, t relay.Target) error {
		return r.local.Leave(ctx, t, group)
	})
}

// SetMetadata implements relay.Relay.
func (r *Relay) SetMetadata(ctx context.Context, t relay.Target, md map[string]string) error {
	if len(md) > maxMetadataPairs {
		return hub.ErrTooMany
	}
	return r.point(ctx, t, &request{op: opMetadata, target: t, md: md}, func(ctx context.Context, t relay.Target) error {
		return r.local.SetMetadata(ctx, t, md)
	})
}

func (r *Relay) point(ctx context.Context, t relay.Target, req *request, local func(context.Context, relay.Target) error) error {
	n, ok := owner(t.ConnID)
	switch {
	case !ok:
		return hub.ErrGone
	case n == r.o.Node:
		return local(ctx, t)
	}
	_, err := r.call(ctx, n, req)
	return err
}

// call sends a point request to node n and waits for its reply.
func (r *Relay) call(ctx context.Context, n uint16, req *request) (*reply, error) {
	tctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	frame := encodeRequest(req)
	msg, err := r.o.Conn.RequestWithContext(tctx, r.connSubject(n), frame)
	if errors.Is(err, nats.ErrNoResponders) && r.live(n) {
		// A node that was heard from recently but has no subscription is
		// most likely reconnecting to NATS (a NATS server restarted or was
		// lost): ask again for a moment before calling its connections
		// gone, since a 410 makes backends forget live connections.
		retryUntil := time.Now().Add(r.o.Timeout / 2)
		for errors.Is(err, nats.ErrNoResponders) && time.Now().Before(retryUntil) {
			t := time.NewTimer(noResponderRetry)
			select {
			case <-t.C:
			case <-tctx.Done():
			}
			t.Stop()
			if tctx.Err() != nil {
				break
			}
			msg, err = r.o.Conn.RequestWithContext(tctx, r.connSubject(n), frame)
		}
	}
	switch {
	case err == nil:
	case ctx.Err() != nil: // the caller gave up: its answer, not the owner's
		return nil, fmt.Errorf("%s to connection %s: %w", req.op, req.target.ConnID, ctx.Err())
	case errors.Is(err, nats.ErrNoResponders):
		if r.o.Gone != nil {
			r.o.Gone(n)
		}
		return nil, fmt.Errorf("%s to connection %s: node %d is not running: %w", req.op, req.target.ConnID, n, hub.ErrGone)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return nil, fmt.Errorf("%s to connection %s: node %d did not answer within %v: %w", req.op, req.target.ConnID, n, r.o.Timeout, hub.ErrGone)
	case disconnected(err):
		return nil, fmt.Errorf("%s to connection %s on node %d: %w: %w", req.op, req.target.ConnID, n, ErrUnavailable, err)
	default:
		return nil, fmt.Errorf("%s to connection %s on node %d: %w", req.op, req.target.ConnID, n, err)
	}
	rep, err := decodeReply(req.op, msg.Data)
	if err != nil {
		return nil, fmt.Errorf("%s to connection %s: reply from node %d: %w", req.op, req.target.ConnID, n, err)
	}
	if err := rep.err(n); err != nil {
		return nil, fmt.Errorf("%s to connection %s: %w", req.op, req.target.ConnID, err)
	}
	return rep, nil
}

// noResponderRetry is the pause between asks to a live node that has no
// responder.
const noResponderRetry = 50 * time.Millisecond

// live reports whether the heartbeats say node n is running.
func (r *Relay) live(n uint16) bool {
	return r.o.Live != nil && slices.Contains(r.o.Live(), n)
}

// disconnected reports whether err says this node's NATS connection is
// down.
func disconnected(err error) bool {
	return errors.Is(err, nats.ErrReconnectBufExceeded) || errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrDisconnected) ||
		errors.Is(err, nats.ErrConnectionDraining) || errors.Is(err, nats.ErrStaleConnection)
}

// Send implements relay.Relay: one publish reaches every node, each sends
// to its own members, and the counts are the sum of the replies that came
// within GatherTimeout (every live node's, normally). This node's members
// are served from the hub directly.
func (r *Relay) Send(ctx context.Context, sel hub.Selector, data []byte, binary bool) (hub.Result, error) {
	frame := encodeRequest(&request{op: opSend, origin: r.o.Node, sel: sel, data: data, binary: binary})
	var total hub.Result
	err := r.gather(ctx, opSend, frame, func() {
		total = r.o.Hub.Send(sel, data, binary)
	}, func(rep *reply) {
		total.Queued += rep.result.Queued
		total.Dropped += rep.result.Dropped
	})
	if err != nil {
		return total, fmt.Errorf("fan-out: %w", err)
	}
	return total, nil
}

// List implements relay.Relay: every node answers with up to limit of its
// matching connections after `after`, and the pages merge in id order.
func (r *Relay) List(ctx context.Context, sel hub.Selector, after string, limit int) ([]hub.Info, bool, error) {
	if limit <= 0 {
		return nil, false, nil
	}
	limit = min(limit, maxListLimit)
	frame := encodeRequest(&request{op: opList, origin: r.o.Node, sel: sel, after: after, limit: limit})
	var pages []page
	err := r.gather(ctx, opList, frame, func() {
		infos, more := r.o.Hub.List(sel, after, limit)
		pages = append(pages, page{infos: infos, more: more})
	}, func(rep *reply) {
		pages = append(pages, page{infos: rep.infos, more: rep.more})
	})
	if err != nil {
		return nil, false, fmt.Errorf("list: %w", err)
	}
	infos, more := merge(pages, limit)
	return infos, more, nil
}

// gather publishes one request to every node, runs local meanwhile, and
// hands each reply to add (on this goroutine) until every live node other
// than this one answered or GatherTimeout passed.
func (r *Relay) gather(ctx context.Context, o op, frame []byte, local func(), add func(*reply)) error {
	var waitFor map[uint16]bool
	if r.o.Live != nil {
		waitFor = map[uint16]bool{}
		for _, n := range r.o.Live() {
			if n != r.o.Node {
				waitFor[n] = true
			}
		}
		if len(waitFor) == 0 {
			// Alone (as far as heartbeats tell): still publish, so a node
			// that just started and is not yet heard of is reached.
			waitFor = nil
		}
	}
	nc := r.o.Conn
	inbox := nc.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err == nil {
		defer func() { _ = sub.Unsubscribe() }()
		err = nc.PublishRequest(r.o.Prefix+"."+o.String(), inbox, frame)
	}
	local()
	if err != nil {
		if disconnected(err) {
			return fmt.Errorf("reached only this node's connections: %w: %w", ErrUnavailable, err)
		}
		return fmt.Errorf("reached only this node's connections: %w", err)
	}
	alone := r.o.Live != nil && waitFor == nil
	timeout := r.o.GatherTimeout
	if alone {
		// Nobody to wait for; a reply already in flight is still counted.
		timeout = 0
	}
	gctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	answered := 0
	for waitFor == nil || answered < len(waitFor) {
		msg, err := sub.NextMsgWithContext(gctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			break
		}
		rep, err := decodeReply(o, msg.Data)
		if err != nil || rep.status != stOK {
			r.log.Warn("bad fan-out reply", "op", o.String(), "err", err)
			continue
		}
		add(rep)
		if waitFor[rep.node] {
			waitFor[rep.node] = false
			answered++
		}
	}
	if waitFor != nil && answered < len(waitFor) {
		var missing []string
		for n, waiting := range waitFor {
			if waiting {
				missing = append(missing, strconv.Itoa(int(n)))
			}
		}
		slices.Sort(missing)
		r.log.Warn("nodes did not answer in time; result covers the others", "op", o.String(), "missing_nodes", strings.Join(missing, ","), "timeout", r.o.GatherTimeout)
	}
	return nil
}

// page is one node's answer to a listing.
type page struct {
	infos []hub.Info
	more  bool
}

// merge combines the nodes' pages into one page of at most limit in id
// order. A node that has more than it sent bounds the merged page: an id
// past its last one could come after ids it has not sent yet.
func merge(pages []page, limit int) ([]hub.Info, bool) {
	cutoff, cut := "", false
	var all []hub.Info
	more := false
	for _, p := range pages {
		all = append(all, p.infos...)
		if p.more {
			more = true
			if len(p.infos) > 0 {
				if last := p.infos[len(p.infos)-1].ID; !cut || last < cutoff {
					cutoff, cut = last, true
				}
			}
		}
	}
	slices.SortFunc(all, func(a, b hub.Info) int { return strings.Compare(a.ID, b.ID) })
	all = slices.CompactFunc(all, func(a, b hub.Info) bool { return a.ID == b.ID })
	if cut {
		i, found := slices.BinarySearchFunc(all, cutoff, func(in hub.Info, id string) int { return strings.Compare(in.ID, id) })
		if found {
			i++
		}
		all = all[:i]
	}
	if len(all) > limit {
		return all[:limit], true
	}
	return all, more
}
