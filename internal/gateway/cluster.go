package gateway

import (
	"context"
	"errors"

	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/relay"
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

// joinCluster connects to NATS and joins the cluster.
func (g *Gateway) joinCluster(ctx context.Context, h *hub.Hub) (*clusterNode, error) {
	return nil, errors.New("cluster mode is not available in this build")
}
