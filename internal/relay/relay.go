// Package relay delivers @connections operations to the node that owns the
// connection: in-process on one node (Local), over NATS request-reply in a
// cluster. Every operation is scoped to a stage, so a connection id used
// with another stage's endpoint is Gone, as on AWS.
//
// Implementations are safe for concurrent use.
package relay

import (
	"context"
	"errors"

	"github.com/wsgate/wsgate/internal/hub"
)

// ErrUnavailable: the relay cannot reach the node that owns a connection
// right now (in a cluster, NATS is down); the connection may be alive, so
// this is a 503, not a 410.
var ErrUnavailable = errors.New("relay: owner unreachable")

// Target names one connection through a stage's endpoint. APIID may be
// empty when the endpoint does not say (the /{stage}/@connections form on a
// plain host); the connection id is unique across APIs anyway.
type Target struct {
	APIID  string
	Stage  string
	ConnID string
}

// Relay is what the management API needs. Errors: hub.ErrGone (410),
// hub.ErrQueueFull (429), hub.ErrBadGroup / hub.ErrTooMany /
// hub.ErrBadMetadata (400); anything else is a 5xx.
type Relay interface {
	Post(ctx context.Context, t Target, data []byte, binary bool) error
	Info(ctx context.Context, t Target) (hub.Info, error)
	Disconnect(ctx context.Context, t Target) error
	Join(ctx context.Context, t Target, group string) error
	Leave(ctx context.Context, t Target, group string) error
	SetMetadata(ctx context.Context, t Target, md map[string]string) error
	// Send fans a message out to every connection sel matches, on every
	// node.
	Send(ctx context.Context, sel hub.Selector, data []byte, binary bool) (hub.Result, error)
	// List returns up to limit connections matching sel with ids after
	// `after`, across nodes, in id order; more reports whether more follow.
	List(ctx context.Context, sel hub.Selector, after string, limit int) (infos []hub.Info, more bool, err error)
}

// Local serves every operation from this node's hub.
type Local struct {
	Hub *hub.Hub
}

var _ Relay = (*Local)(nil)

// Conn returns the hub connection a target names, or hub.ErrGone.
func (l *Local) conn(t Target) (hub.Conn, error) {
	c, key, ok := l.Hub.Get(t.ConnID)
	if !ok || key.Stage != t.Stage || (t.APIID != "" && key.API != t.APIID) {
		return nil, hub.ErrGone
	}
	return c, nil
}

// Post queues data to one connection.
func (l *Local) Post(_ context.Context, t Target, data []byte, binary bool) error {
	c, err := l.conn(t)
	if err != nil {
		return err
	}
	return c.Send(data, binary)
}

// Info describes one connection.
func (l *Local) Info(_ context.Context, t Target) (hub.Info, error) {
	if _, err := l.conn(t); err != nil {
		return hub.Info{}, err
	}
	in, ok := l.Hub.Info(t.ConnID)
	if !ok {
		return hub.Info{}, hub.ErrGone
	}
	return in, nil
}

// Disconnect closes one connection with 1000; its $disconnect runs.
func (l *Local) Disconnect(_ context.Context, t Target) error {
	c, err := l.conn(t)
	if err != nil {
		return err
	}
	c.Close(1000, "Connection Closed Normally")
	return nil
}

// Join adds a connection to a group.
func (l *Local) Join(_ context.Context, t Target, group string) error {
	if _, err := l.conn(t); err != nil {
		return err
	}
	return l.Hub.Join(t.ConnID, group)
}

// Leave removes a connection from a group.
func (l *Local) Leave(_ context.Context, t Target, group string) error {
	if _, err := l.conn(t); err != nil {
		return err
	}
	return l.Hub.Leave(t.ConnID, group)
}

// SetMetadata merges metadata into a connection's.
func (l *Local) SetMetadata(_ context.Context, t Target, md map[string]string) error {
	if _, err := l.conn(t); err != nil {
		return err
	}
	return l.Hub.SetMetadata(t.ConnID, md)
}

// Send fans out on this node.
func (l *Local) Send(_ context.Context, sel hub.Selector, data []byte, binary bool) (hub.Result, error) {
	return l.Hub.Send(sel, data, binary), nil
}

// List lists this node's connections.
func (l *Local) List(_ context.Context, sel hub.Selector, after string, limit int) ([]hub.Info, bool, error) {
	infos, more := l.Hub.List(sel, after, limit)
	return infos, more, nil
}
