// Package cluster makes a wsgate process one node of a cluster whose nodes
// share a NATS system: the configuration store in a JetStream key-value
// bucket (natsstore), callbacks and fan-outs over subjects (natsrelay). It
// owns what is about the node itself:
//
//   - the NATS connection, made so that it reconnects forever and buffers
//     nothing while disconnected;
//   - the node id's uniqueness among running nodes: Join refuses an id whose
//     holder answers a probe, and takes over one whose holder is gone (a
//     node killed and restarted with its id joins again at once);
//   - the node number, a uint16 allocated once per node id in the bucket
//     and encoded in every connection id the node hands out, so any node can
//     route a callback to the owner without a lookup;
//   - liveness: every node publishes a heartbeat, so each node knows which
//     others are running (the relay waits for their fan-out replies).
//
// Nothing here is a consensus protocol: uniqueness rests on the bucket's
// compare-and-set and on NATS request-reply. See docs/cluster.md.
//
// A Member's methods are safe for concurrent use.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wsgate/wsgate/internal/store/natsstore"
)

// Errors Join returns (wrapped, with the details in the text).
var (
	// ErrNodeIDTaken: another running node holds the node id.
	ErrNodeIDTaken = errors.New("node id is already in use by a running node")
	// ErrInvalidNodeID: the node id is empty or not 1 to 64 of [A-Za-z0-9_-].
	ErrInvalidNodeID = errors.New("invalid node id")
	// ErrNoNumbers: all 65535 node numbers are allocated.
	ErrNoNumbers = errors.New("no free node number")
)

// Options configure Join.
type Options struct {
	// URLs of NATS servers (nats://, tls://), any subset of the cluster.
	URLs []string
	// NodeID names this node; unique among running nodes. 1 to 64 of
	// [A-Za-z0-9_-].
	NodeID string
	// Creds is a NATS credentials file (JWT and nkey seed).
	Creds string
	// CAFile verifies the NATS servers' certificates; CertFile and KeyFile
	// are this node's client certificate (mutual TLS).
	CAFile, CertFile, KeyFile string
	// Bucket is the key-value bucket of the configuration store and the
	// name that separates this cluster's subjects from others' on the same
	// NATS system; default "wsgate".
	Bucket string
	// Replicas for the bucket when Join creates it; default 1. Use 3 on a
	// NATS cluster of 3.
	Replicas int

	// Heartbeat is how often the node tells the others it is alive;
	// default 1s. A node unheard of for 3 heartbeats is considered gone.
	Heartbeat time.Duration
	// ProbeTimeout bounds the wait for the holder of this node id to answer
	// Join's probe; default 1s. A holder that does not answer is gone.
	ProbeTimeout time.Duration
	// ReconnectWait is the pause between reconnect attempts; default 250ms.
	ReconnectWait time.Duration

	// Log receives membership events; nil discards them.
	Log *slog.Logger
}

func (o *Options) defaults() {
	if o.Bucket == "" {
		o.Bucket = "wsgate"
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = time.Second
	}
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = time.Second
	}
	if o.ReconnectWait <= 0 {
		o.ReconnectWait = 250 * time.Millisecond
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// ValidNodeID reports whether id can name a node (it becomes a store key
// segment and a NATS subject token), with an error matching
// ErrInvalidNodeID if not.
func ValidNodeID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("%w %q: must be 1 to 64 characters", ErrInvalidNodeID, id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("%w %q: only letters, digits, '-' and '_' are allowed", ErrInvalidNodeID, id)
		}
	}
	return nil
}

// ValidBucket reports whether name can be a bucket (and subject token).
func ValidBucket(name string) error {
	if err := ValidNodeID(name); err != nil {
		return fmt.Errorf("bucket %q: only 1 to 64 letters, digits, '-' and '_' are allowed", name)
	}
	return nil
}

// Member is this process's membership of a cluster. Make one with Join;
// end it with Leave.
type Member struct {
	o        Options
	log      *slog.Logger
	nc       *nats.Conn
	st       *natsstore.Store
	prefix   string
	number   uint16
	instance string // unique per process: tells this holder of the id from a past or future one
	self     record

	mu      sync.Mutex
	rev     uint64 // revision of this node's record
	seen    map[uint16]peer
	left    bool // Bye ran
	closed  bool // Leave ran
	subs    []*nats.Subscription
	status  chan nats.Status
	stop    context.CancelFunc
	workers sync.WaitGroup
}

// Join connects to NATS, opens the store, claims the node id and its
// number, and starts the heartbeat. On error nothing is left running.
func Join(ctx context.Context, o Options) (*Member, error) {
	o.defaults()
	if len(o.URLs) == 0 {
		return nil, errors.New("cluster: no NATS URL given")
	}
	if err := ValidNodeID(o.NodeID); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if err := ValidBucket(o.Bucket); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	log := o.Log.With("node_id", o.NodeID)
	nc, err := dial(o, log)
	if err != nil {
		return nil, err
	}
	st, err := natsstore.New(ctx, nc, natsstore.Options{Bucket: o.Bucket, Replicas: o.Replicas, Log: log.With("component", "natsstore")})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("cluster: open store: %w", err)
	}
	m := &Member{
		o: o, log: log, nc: nc, st: st,
		prefix:   "wsgate." + o.Bucket,
		instance: newInstance(),
		seen:     map[uint16]peer{},
	}
	if err := m.join(ctx); err != nil {
		m.unsubscribe()
		_ = st.Close()
		nc.Close()
		return nil, err
	}
	log.Info("joined the cluster", "node", m.number, "nats", nc.ConnectedUrlRedacted(), "bucket", o.Bucket)
	return m, nil
}

func (m *Member) join(ctx context.Context) error {
	n, err := m.allocate(ctx)
	if err != nil {
		return err
	}
	m.number = n
	m.self = newRecord(n, m.instance)
	if err := m.claim(ctx); err != nil {
		return err
	}
	return m.startPresence()
}

// NodeID returns this node's id.
func (m *Member) NodeID() string { return m.o.NodeID }

// Number returns this node's number, the one encoded in its connection ids.
func (m *Member) Number() uint16 { return m.number }

// Conn returns the NATS connection (owned by the Member: Leave closes it).
func (m *Member) Conn() *nats.Conn { return m.nc }

// Store returns the cluster's configuration store (closed by Leave).
func (m *Member) Store() *natsstore.Store { return m.st }

// Prefix returns the subject prefix of this cluster ("wsgate.<bucket>"):
// every subject the cluster's nodes use starts with it.
func (m *Member) Prefix() string { return m.prefix }

// Bye stops the heartbeat and tells the other nodes this node is leaving,
// so they stop waiting for its fan-out replies and stop retrying callbacks
// to it. The node id stays held (probes are still answered) until Leave.
// Idempotent; Leave calls it.
func (m *Member) Bye() {
	m.mu.Lock()
	if m.left {
		m.mu.Unlock()
		return
	}
	m.left = true
	stop, status := m.stop, m.status
	m.mu.Unlock()
	if stop != nil {
		stop()
	}
	if status != nil {
		m.nc.RemoveStatusListener(status)
	}
	m.workers.Wait()
	m.publish(kindBye)
}

// Leave ends the membership: Bye, then it marks the node's record as
// left and closes the store and the NATS connection. Call it after this
// node's connections are drained. Idempotent.
func (m *Member) Leave(ctx context.Context) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	m.mu.Unlock()
	m.Bye()
	m.unsubscribe()
	m.markLeft(ctx)
	if m.nc.Status() == nats.CONNECTED { // else nothing can be sent anyway
		fctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if err := m.nc.FlushWithContext(fctx); err != nil {
			m.log.Debug("flush before leaving", "err", err)
		}
		cancel()
	}
	if err := m.st.Close(); err != nil {
		m.log.Warn("close store", "err", err)
	}
	m.nc.Close()
	m.log.Info("left the cluster", "node", m.number)
}

func (m *Member) unsubscribe() {
	m.mu.Lock()
	subs := m.subs
	m.subs = nil
	m.mu.Unlock()
	for _, s := range subs {
		_ = s.Unsubscribe() // fails only when the connection is closed: gone either way
	}
}

func (m *Member) addSub(s *nats.Subscription) {
	m.mu.Lock()
	m.subs = append(m.subs, s)
	m.mu.Unlock()
}
