package gateway

import (
	"context"

	"github.com/wsgate/wsgate/internal/cluster"
	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/relay"
	"github.com/wsgate/wsgate/internal/relay/natsrelay"
	"github.com/wsgate/wsgate/internal/store"
)

// clusterNode is what joining a cluster provides.
type clusterNode struct {
	Store store.Store
	Node  uint16
	Relay relay.Relay
	// Leave stops being a member (deregisters, closes the relay, the store
	// and the NATS connection).
	Leave func(ctx context.Context)
}

// joinCluster connects to NATS and joins the cluster: the store is the
// cluster's bucket, the node number comes from the node id, and the relay
// reaches the other nodes' connections over NATS.
func (g *Gateway) joinCluster(ctx context.Context, h *hub.Hub) (*clusterNode, error) {
	cfg := g.cfg
	cc := cfg.Cluster
	log := g.log.With("component", "cluster")
	m, err := cluster.Join(ctx, cluster.Options{
		URLs:     cc.NATS,
		NodeID:   cc.NodeID,
		Creds:    cfg.Resolve(cc.Creds),
		CAFile:   cfg.Resolve(cc.CAFile),
		CertFile: cfg.Resolve(cc.CertFile),
		KeyFile:  cfg.Resolve(cc.KeyFile),
		Bucket:   cc.Bucket,
		Replicas: cc.Replicas,
		Log:      log,
	})
	if err != nil {
		return nil, err
	}
	rl, err := natsrelay.New(natsrelay.Options{
		Conn:   m.Conn(),
		Hub:    h,
		Node:   m.Number(),
		Prefix: m.Prefix(),
		Live:   m.Live,
		Gone:   m.Gone,
		Log:    g.log.With("component", "relay"),
	})
	if err != nil {
		m.Leave(ctx)
		return nil, err
	}
	return &clusterNode{
		Store: m.Store(),
		Node:  m.Number(),
		Relay: rl,
		// Run calls Leave last, after the connections drained: until then
		// other nodes' callbacks to them still arrive (and answer 410 once
		// they are closed).
		Leave: func(ctx context.Context) {
			// Say goodbye first: the others stop counting on this node
			// while its relay drains.
			m.Bye()
			if err := rl.Close(ctx); err != nil {
				log.Warn("stop relay", "err", err)
			}
			m.Leave(ctx)
		},
	}, nil
}
