package cluster

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
)

// Presence messages, published on <prefix>.presence.
const (
	kindHello = "hello" // joined or reconnected: others answer with a beat at once
	kindBeat  = "beat"
	kindBye   = "bye" // leaving cleanly: forget me now
)

type presence struct {
	Kind     string `json:"kind"`
	NodeID   string `json:"nodeId"`
	Number   uint16 `json:"number"`
	Instance string `json:"instance"`
}

// peer is another node as last heard.
type peer struct {
	id       string
	instance string
	at       time.Time
}

// Node describes a live node.
type Node struct {
	ID     string
	Number uint16
}

func (m *Member) presenceSubject() string { return m.prefix + ".presence" }

// expiry is how long a node stays live without a heartbeat.
func (m *Member) expiry() time.Duration { return 3*m.o.Heartbeat + m.o.Heartbeat/2 }

// startPresence subscribes to the other nodes' heartbeats, says hello, and
// starts the heartbeat and reconnect loops.
func (m *Member) startPresence() error {
	sub, err := m.nc.Subscribe(m.presenceSubject(), m.onPresence)
	if err != nil {
		return err
	}
	m.addSub(sub)
	ctx, cancel := context.WithCancel(context.Background())
	m.mu.Lock()
	m.stop = cancel
	m.status = m.nc.StatusChanged(nats.CONNECTED)
	status := m.status
	m.mu.Unlock()
	m.publish(kindHello)
	m.workers.Go(func() { m.beat(ctx) })
	m.workers.Go(func() { m.onReconnect(ctx, status) })
	return nil
}

func (m *Member) publish(kind string) {
	b, _ := json.Marshal(presence{Kind: kind, NodeID: m.o.NodeID, Number: m.number, Instance: m.instance})
	if err := m.nc.Publish(m.presenceSubject(), b); err != nil {
		m.log.Debug("publish presence", "kind", kind, "err", err)
	}
}

func (m *Member) beat(ctx context.Context) {
	t := time.NewTicker(m.o.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			m.publish(kindBeat)
		case <-ctx.Done():
			return
		}
	}
}

// onReconnect says hello again after every reconnect (the others may have
// forgotten this node during the outage, and it them) and checks the node
// id was not taken over meanwhile.
func (m *Member) onReconnect(ctx context.Context, status chan nats.Status) {
	for {
		select {
		case _, ok := <-status:
			if !ok {
				return
			}
			m.publish(kindHello)
			vctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			m.verify(vctx)
			cancel()
		case <-ctx.Done():
			return
		}
	}
}

func (m *Member) onPresence(msg *nats.Msg) {
	var p presence
	if err := json.Unmarshal(msg.Data, &p); err != nil || p.Instance == m.instance || p.Number == 0 {
		return
	}
	m.mu.Lock()
	old, known := m.seen[p.Number]
	switch p.Kind {
	case kindBye:
		if known && old.instance == p.Instance {
			delete(m.seen, p.Number)
		}
	case kindHello, kindBeat:
		m.seen[p.Number] = peer{id: p.NodeID, instance: p.Instance, at: time.Now()}
	}
	left := m.left
	m.mu.Unlock()
	switch {
	case p.Kind == kindBye && known:
		m.log.Info("node left the cluster", "peer_node_id", p.NodeID, "peer_node", p.Number)
	case p.Kind != kindBye && (!known || old.instance != p.Instance):
		m.log.Info("node joined the cluster", "peer_node_id", p.NodeID, "peer_node", p.Number)
	}
	if p.Kind == kindHello && !left {
		m.publish(kindBeat)
	}
}

// Live returns the numbers of the nodes heard from recently, this one
// included, in increasing order.
func (m *Member) Live() []uint16 {
	now := time.Now()
	exp := m.expiry()
	m.mu.Lock()
	out := make([]uint16, 0, len(m.seen)+1)
	out = append(out, m.number)
	for n, p := range m.seen {
		if now.Sub(p.at) <= exp && n != m.number {
			out = append(out, n)
		}
	}
	m.mu.Unlock()
	slices.Sort(out)
	return out
}

// Nodes returns the live nodes, this one included, by number.
func (m *Member) Nodes() []Node {
	now := time.Now()
	exp := m.expiry()
	m.mu.Lock()
	out := []Node{{ID: m.o.NodeID, Number: m.number}}
	for n, p := range m.seen {
		if now.Sub(p.at) <= exp && n != m.number {
			out = append(out, Node{ID: p.id, Number: n})
		}
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b Node) int { return int(a.Number) - int(b.Number) })
	return out
}

// Gone tells the Member a node did not answer (no responders to a request
// for it): it is forgotten until its next heartbeat, so fan-outs stop
// waiting for it at once rather than after its heartbeats expire.
func (m *Member) Gone(n uint16) {
	m.mu.Lock()
	p, ok := m.seen[n]
	if ok {
		delete(m.seen, n)
	}
	m.mu.Unlock()
	if ok {
		m.log.Info("node does not answer; considered gone", "peer_node_id", p.id, "peer_node", n)
	}
}
