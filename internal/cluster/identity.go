package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wsgate/wsgate/internal/store"
)

// Store keys of the membership, beside the control plane's "apis/" and
// "snapshots/".
const (
	nodesPrefix   = "cluster/nodes/"   // + node id → record
	numbersPrefix = "cluster/numbers/" // + node number → node id
)

// flushTimeout bounds the wait for the server to confirm a subscription.
const flushTimeout = 5 * time.Second

// claimAttempts bounds Join's compare-and-set loop on the node's record;
// it only loops when another process with the same id is joining too.
const claimAttempts = 5

// record is a node id's entry in the store, and what its holder answers to
// a probe.
type record struct {
	Number   uint16     `json:"number"`
	Instance string     `json:"instance"`
	Host     string     `json:"host,omitempty"`
	PID      int        `json:"pid,omitempty"`
	JoinedAt time.Time  `json:"joinedAt"`
	LeftAt   *time.Time `json:"leftAt,omitempty"`
}

func newRecord(n uint16, instance string) record {
	host, _ := os.Hostname()
	return record{Number: n, Instance: instance, Host: host, PID: os.Getpid(), JoinedAt: time.Now().UTC()}
}

func (r record) describe() string {
	s := fmt.Sprintf("node number %d", r.Number)
	if r.Host != "" {
		s += ", host " + r.Host
	}
	if r.PID != 0 {
		s += ", pid " + strconv.Itoa(r.PID)
	}
	if !r.JoinedAt.IsZero() {
		s += ", joined " + r.JoinedAt.Format(time.RFC3339)
	}
	return s
}

func newInstance() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (m *Member) nodeKey() string { return nodesPrefix + m.o.NodeID }

// idSubject is where the holder of this node id answers probes.
func (m *Member) idSubject() string { return m.prefix + ".id." + m.o.NodeID }

// allocate returns the node number of this node id: the one allocated
// before if any, else the lowest free one, claimed with Create so that two
// ids starting together cannot get the same number. A number is never
// given back: it stays with its id, so a restarted node's old connection
// ids (still held by backends) never route to another node.
func (m *Member) allocate(ctx context.Context) (uint16, error) {
	entries, err := m.st.List(ctx, numbersPrefix)
	if err != nil {
		return 0, fmt.Errorf("cluster: allocate a node number: %w", err)
	}
	taken := make(map[uint16]bool, len(entries))
	for _, e := range entries {
		n, err := strconv.ParseUint(strings.TrimPrefix(e.Key, numbersPrefix), 10, 16)
		if err != nil || n == 0 {
			continue // not ours to interpret
		}
		if string(e.Value) == m.o.NodeID {
			return uint16(n), nil
		}
		taken[uint16(n)] = true
	}
	for n := 1; n <= 65535; n++ {
		if taken[uint16(n)] {
			continue
		}
		key := numbersPrefix + strconv.Itoa(n)
		_, err := m.st.Create(ctx, key, []byte(m.o.NodeID))
		if err == nil {
			return uint16(n), nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return 0, fmt.Errorf("cluster: allocate a node number: %w", err)
		}
		// Taken meanwhile, perhaps by another start of this very id.
		e, err := m.st.Get(ctx, key)
		if err != nil {
			return 0, fmt.Errorf("cluster: allocate a node number: %w", err)
		}
		if string(e.Value) == m.o.NodeID {
			return uint16(n), nil
		}
	}
	return 0, fmt.Errorf("cluster: %w", ErrNoNumbers)
}

// claim makes this process the holder of the node id. The holder always
// subscribes to the id's probe subject before it writes its record, and a
// claimer probes after reading the record it will overwrite; so a claimer
// that read a live holder's record hears from it, and one that read an
// older record loses the compare-and-set.
func (m *Member) claim(ctx context.Context) error {
	for range claimAttempts {
		var rev uint64
		switch e, err := m.st.Get(ctx, m.nodeKey()); {
		case err == nil:
			rev = e.Revision
		case errors.Is(err, store.ErrNotFound):
		default:
			return fmt.Errorf("cluster: read node %q: %w", m.o.NodeID, err)
		}
		holder, alive, err := m.probe(ctx)
		if err != nil {
			return err
		}
		if alive {
			return fmt.Errorf("cluster: node id %q: %w (%s); give this node another --node-id, or stop the other one first", m.o.NodeID, ErrNodeIDTaken, holder.describe())
		}
		sub, err := m.nc.Subscribe(m.idSubject(), m.answerProbe)
		if err != nil {
			return fmt.Errorf("cluster: subscribe: %w", err)
		}
		if err := m.nc.FlushTimeout(flushTimeout); err != nil {
			_ = sub.Unsubscribe()
			return fmt.Errorf("cluster: subscribe: %w", err)
		}
		val, _ := json.Marshal(m.self)
		var newRev uint64
		if rev == 0 {
			newRev, err = m.st.Create(ctx, m.nodeKey(), val)
		} else {
			newRev, err = m.st.Update(ctx, m.nodeKey(), val, rev)
		}
		if err == nil {
			m.mu.Lock()
			m.rev = newRev
			m.mu.Unlock()
			m.addSub(sub)
			return nil
		}
		_ = sub.Unsubscribe()
		if !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("cluster: register node %q: %w", m.o.NodeID, err)
		}
		m.log.Debug("node record changed while joining; reading it again")
	}
	return fmt.Errorf("cluster: node id %q: %w (another process with this id is joining at the same time)", m.o.NodeID, ErrNodeIDTaken)
}

// probe asks whoever holds the node id whether it is alive. No responder,
// or none within ProbeTimeout, means the holder is gone (killed, or cut off
// from NATS).
func (m *Member) probe(ctx context.Context) (record, bool, error) {
	pctx, cancel := context.WithTimeout(ctx, m.o.ProbeTimeout)
	defer cancel()
	msg, err := m.nc.RequestWithContext(pctx, m.idSubject(), []byte(m.instance))
	switch {
	case err == nil:
		var r record
		if jerr := json.Unmarshal(msg.Data, &r); jerr != nil {
			m.log.Warn("undecodable answer to a node id probe; assuming the holder is alive", "err", jerr)
		}
		return r, true, nil
	case errors.Is(err, nats.ErrNoResponders):
		return record{}, false, nil
	case ctx.Err() != nil:
		return record{}, false, fmt.Errorf("cluster: probe node %q: %w", m.o.NodeID, ctx.Err())
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		m.log.Warn("the previous holder of this node id did not answer; taking it over", "timeout", m.o.ProbeTimeout)
		return record{}, false, nil
	default:
		return record{}, false, fmt.Errorf("cluster: probe node %q: %w", m.o.NodeID, err)
	}
}

func (m *Member) answerProbe(msg *nats.Msg) {
	if string(msg.Data) == m.instance {
		return // our own probe, after a reconnect: not a rival
	}
	b, _ := json.Marshal(m.self)
	if err := msg.Respond(b); err != nil {
		m.log.Debug("answer a node id probe", "err", err)
	}
	m.log.Warn("another process tried to join with this node's id and was refused")
}

// verify checks, after a reconnect, that the store still names this
// process as the holder of the node id. Another process can have taken it
// over only if this one was cut off from NATS for longer than the probe
// timeout while it was restarted elsewhere: then two nodes share a number
// and callbacks to either may reach the other, which an operator must fix.
func (m *Member) verify(ctx context.Context) {
	e, err := m.st.Get(ctx, m.nodeKey())
	if err != nil {
		m.log.Debug("re-read node record after reconnect", "err", err)
		return
	}
	var r record
	if err := json.Unmarshal(e.Value, &r); err != nil || r.Instance != m.instance {
		m.log.Error("another process took over this node id while this node was cut off from NATS; "+
			"both now use the same node number and callbacks may reach the wrong one: stop one of them",
			"node", m.number, "other", r.describe())
	}
}

// markLeft records that the holder left cleanly (for operators reading the
// bucket); the number stays allocated to the id.
func (m *Member) markLeft(ctx context.Context) {
	m.mu.Lock()
	rev := m.rev
	m.mu.Unlock()
	r := m.self
	now := time.Now().UTC()
	r.LeftAt = &now
	val, _ := json.Marshal(r)
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := m.st.Update(wctx, m.nodeKey(), val, rev); err != nil {
		m.log.Debug("mark node record as left", "err", err)
	}
}
