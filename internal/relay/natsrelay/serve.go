package natsrelay

import (
	"context"
	"encoding/json"

	"github.com/nats-io/nats.go"

	"github.com/wsgate/wsgate/internal/hub"
)

// maxListReply bounds the JSON of one node's listing page, below NATS's
// default max_payload (1 MiB): a page of connections with large metadata
// is cut short (and says it has more) rather than refused by the server.
const maxListReply = 900 << 10

func (r *Relay) respond(msg *nats.Msg, b []byte) {
	if msg.Reply == "" {
		return
	}
	if err := msg.Respond(b); err != nil {
		r.log.Debug("reply to another node", "err", err)
	}
}

// servePoint answers a point operation on one of this node's connections.
func (r *Relay) servePoint(msg *nats.Msg) {
	req, err := decodeRequest(msg.Data)
	if err != nil {
		r.log.Warn("undecodable request from another node", "subject", msg.Subject, "err", err)
		r.respond(msg, encodeStatus(stFailed, err.Error()))
		return
	}
	ctx := context.Background() // the local hub does not block
	switch req.op {
	case opPost:
		err = r.local.Post(ctx, req.target, req.data, req.binary)
	case opInfo:
		in, err := r.local.Info(ctx, req.target)
		if err == nil {
			r.respond(msg, encodeInfoReply(in))
			return
		}
		r.respond(msg, encodeStatus(statusOf(err), err.Error()))
		return
	case opDisconnect:
		err = r.local.Disconnect(ctx, req.target)
	case opJoin:
		err = r.local.Join(ctx, req.target, req.group)
	case opLeave:
		err = r.local.Leave(ctx, req.target, req.group)
	case opMetadata:
		err = r.local.SetMetadata(ctx, req.target, req.md)
	default:
		r.respond(msg, encodeStatus(stFailed, "not a point operation: "+req.op.String()))
		return
	}
	st := statusOf(err)
	text := ""
	if st == stFailed {
		text = err.Error()
		r.log.Error("relayed operation failed", "op", req.op.String(), "conn_id", req.target.ConnID, "err", err)
	}
	r.respond(msg, encodeStatus(st, text))
}

// serveSend fans a message out to this node's members and replies with
// the counts.
func (r *Relay) serveSend(msg *nats.Msg) {
	req, err := decodeRequest(msg.Data)
	if err != nil || req.op != opSend {
		r.log.Warn("undecodable fan-out from another node", "err", err)
		return
	}
	if req.origin == r.o.Node {
		return // our own publish: the sender served this node's members
	}
	res := r.o.Hub.Send(req.sel, req.data, req.binary)
	r.respond(msg, encodeSendReply(r.o.Node, res))
}

// serveList replies with a page of this node's connections.
func (r *Relay) serveList(msg *nats.Msg) {
	req, err := decodeRequest(msg.Data)
	if err != nil || req.op != opList {
		r.log.Warn("undecodable listing from another node", "err", err)
		return
	}
	if req.origin == r.o.Node {
		return
	}
	infos, more := r.o.Hub.List(req.sel, req.after, req.limit)
	j, cut := listJSON(infos)
	r.respond(msg, encodeListReply(r.o.Node, more || cut, j))
}

// listJSON encodes infos as a JSON array of at most maxListReply bytes,
// dropping the tail (cut) when they do not fit; the first always goes.
func listJSON(infos []hub.Info) (b []byte, cut bool) {
	b = make([]byte, 0, 256*len(infos)+2)
	b = append(b, '[')
	for i, in := range infos {
		j, _ := json.Marshal(in) // strings, times and maps of strings: cannot fail
		if i > 0 {
			if len(b)+len(j)+2 > maxListReply {
				return append(b, ']'), true
			}
			b = append(b, ',')
		}
		b = append(b, j...)
	}
	return append(b, ']'), false
}
