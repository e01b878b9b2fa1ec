package natsrelay

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/relay"
)

// The wire format between nodes: compact binary frames, so a 128 KB
// payload costs 128 KB plus a few dozen bytes and fits NATS's default
// max_payload (1 MB) with room to spare.
//
//	request:  version(1) op(1) body
//	  point ops (post info disconnect join leave metadata):
//	           str apiId, str stage, str connectionId, then
//	             post:     binary(1) data(rest)
//	             join/leave: str group
//	             metadata: uvarint n, n × (str key, str value)
//	  send:    u16 origin, selector, binary(1) data(rest)
//	  list:    u16 origin, selector, str after, uvarint limit
//	  selector: str apiId, str stage, str group, str principalId,
//	            str metadataKey, str metadataValue, str exclude
//	reply:    version(1) status(1) body
//	  ok info: JSON hub.Info
//	  ok send: u16 node, uvarint queued, uvarint dropped
//	  ok list: u16 node, more(1), JSON []hub.Info
//	  failed:  message text
//
// str is a uvarint length and that many bytes; u16 is big-endian.
const version = 1

type op byte

const (
	opPost op = iota + 1
	opInfo
	opDisconnect
	opJoin
	opLeave
	opMetadata
	opSend
	opList
)

func (o op) String() string {
	switch o {
	case opPost:
		return "post"
	case opInfo:
		return "info"
	case opDisconnect:
		return "disconnect"
	case opJoin:
		return "join"
	case opLeave:
		return "leave"
	case opMetadata:
		return "metadata"
	case opSend:
		return "send"
	case opList:
		return "list"
	}
	return fmt.Sprintf("op(%d)", byte(o))
}

// status is the outcome in a reply: the hub's errors by number.
type status byte

const (
	stOK status = iota
	stGone
	stQueueFull
	stBadGroup
	stTooMany
	stBadMetadata
	stFailed
)

var statusErrs = map[status]error{
	stGone:        hub.ErrGone,
	stQueueFull:   hub.ErrQueueFull,
	stBadGroup:    hub.ErrBadGroup,
	stTooMany:     hub.ErrTooMany,
	stBadMetadata: hub.ErrBadMetadata,
}

func statusOf(err error) status {
	if err == nil {
		return stOK
	}
	for st, e := range statusErrs {
		if errors.Is(err, e) {
			return st
		}
	}
	return stFailed
}

// errMalformed: a frame does not decode.
var errMalformed = errors.New("natsrelay: malformed frame")

// maxMetadataPairs bounds a metadata frame's count before any allocation.
const maxMetadataPairs = 1024

// request is a decoded request frame.
type request struct {
	op     op
	target relay.Target
	origin uint16
	sel    hub.Selector
	binary bool
	data   []byte
	group  string
	md     map[string]string
	after  string
	limit  int
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendSelector(b []byte, sel hub.Selector) []byte {
	for _, s := range []string{sel.Key.API, sel.Key.Stage, sel.Group, sel.Principal, sel.MetaKey, sel.MetaValue, sel.Exclude} {
		b = appendStr(b, s)
	}
	return b
}

// encodeRequest makes a request frame.
func encodeRequest(r *request) []byte {
	b := make([]byte, 0, 64+len(r.data))
	b = append(b, version, byte(r.op))
	switch r.op {
	case opSend, opList:
		b = binary.BigEndian.AppendUint16(b, r.origin)
		b = appendSelector(b, r.sel)
		if r.op == opSend {
			b = appendBool(b, r.binary)
			return append(b, r.data...)
		}
		b = appendStr(b, r.after)
		return binary.AppendUvarint(b, uint64(max(r.limit, 0)))
	}
	b = appendStr(b, r.target.APIID)
	b = appendStr(b, r.target.Stage)
	b = appendStr(b, r.target.ConnID)
	switch r.op {
	case opPost:
		b = appendBool(b, r.binary)
		b = append(b, r.data...)
	case opJoin, opLeave:
		b = appendStr(b, r.group)
	case opMetadata:
		b = binary.AppendUvarint(b, uint64(len(r.md)))
		// Sorted, so equal requests make equal frames.
		for _, k := range slices.Sorted(maps.Keys(r.md)) {
			b = appendStr(b, k)
			b = appendStr(b, r.md[k])
		}
	}
	return b
}

// reader consumes a frame; the first failure sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) byte() byte {
	if r.err != nil || len(r.b) < 1 {
		r.err = errMalformed
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) bool() bool {
	switch r.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	r.err = errMalformed
	return false
}

func (r *reader) u16() uint16 {
	if r.err != nil || len(r.b) < 2 {
		r.err = errMalformed
		return 0
	}
	v := binary.BigEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errMalformed
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) str() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) {
		r.err = errMalformed
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// rest returns what is left (aliasing the frame).
func (r *reader) rest() []byte {
	b := r.b
	r.b = nil
	return b
}

func (r *reader) end() error {
	if r.err == nil && len(r.b) > 0 {
		r.err = errMalformed
	}
	return r.err
}

func (r *reader) selector() hub.Selector {
	var sel hub.Selector
	sel.Key.API = r.str()
	sel.Key.Stage = r.str()
	sel.Group = r.str()
	sel.Principal = r.str()
	sel.MetaKey = r.str()
	sel.MetaValue = r.str()
	sel.Exclude = r.str()
	return sel
}

// decodeRequest parses a request frame. Data aliases b.
func decodeRequest(b []byte) (*request, error) {
	r := &reader{b: b}
	if r.byte() != version {
		return nil, fmt.Errorf("%w: unknown version", errMalformed)
	}
	req := &request{op: op(r.byte())}
	switch req.op {
	case opSend, opList:
		req.origin = r.u16()
		req.sel = r.selector()
		if req.op == opSend {
			req.binary = r.bool()
			req.data = r.rest()
		} else {
			req.after = r.str()
			n := r.uvarint()
			if n > maxListLimit {
				n = maxListLimit
			}
			req.limit = int(n)
		}
	case opPost, opInfo, opDisconnect, opJoin, opLeave, opMetadata:
		req.target.APIID = r.str()
		req.target.Stage = r.str()
		req.target.ConnID = r.str()
		switch req.op {
		case opPost:
			req.binary = r.bool()
			req.data = r.rest()
		case opJoin, opLeave:
			req.group = r.str()
		case opMetadata:
			n := r.uvarint()
			if n > maxMetadataPairs {
				return nil, fmt.Errorf("%w: %d metadata entries", errMalformed, n)
			}
			req.md = make(map[string]string, n)
			for range n {
				k := r.str()
				req.md[k] = r.str()
			}
		}
	default:
		return nil, fmt.Errorf("%w: unknown op %d", errMalformed, req.op)
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	return req, nil
}

// maxListLimit caps a list page a node is asked for.
const maxListLimit = 10000

// reply is a decoded reply frame.
type reply struct {
	status status
	msg    string // stFailed
	info   hub.Info
	node   uint16
	result hub.Result
	more   bool
	infos  []hub.Info
}

func encodeStatus(st status, msg string) []byte {
	b := []byte{version, byte(st)}
	if st == stFailed {
		b = append(b, msg...)
	}
	return b
}

func encodeInfoReply(in hub.Info) []byte {
	j, _ := json.Marshal(in)
	return append([]byte{version, byte(stOK)}, j...)
}

func encodeSendReply(node uint16, res hub.Result) []byte {
	b := []byte{version, byte(stOK)}
	b = binary.BigEndian.AppendUint16(b, node)
	b = binary.AppendUvarint(b, uint64(max(res.Queued, 0)))
	return binary.AppendUvarint(b, uint64(max(res.Dropped, 0)))
}

// encodeListReply makes a list reply from already-encoded JSON infos.
func encodeListReply(node uint16, more bool, infosJSON []byte) []byte {
	b := make([]byte, 0, 5+len(infosJSON))
	b = append(b, version, byte(stOK))
	b = binary.BigEndian.AppendUint16(b, node)
	b = appendBool(b, more)
	return append(b, infosJSON...)
}

// maxCount bounds a fan-out count in a reply (no node holds more
// connections than this).
const maxCount = 1 << 31

// decodeReply parses a reply to a request of kind o.
func decodeReply(o op, b []byte) (*reply, error) {
	r := &reader{b: b}
	if r.byte() != version {
		return nil, fmt.Errorf("%w: unknown version", errMalformed)
	}
	rep := &reply{status: status(r.byte())}
	if r.err != nil {
		return nil, r.err
	}
	switch {
	case rep.status == stFailed:
		rep.msg = string(r.rest())
	case rep.status != stOK:
		if _, ok := statusErrs[rep.status]; !ok {
			return nil, fmt.Errorf("%w: unknown status %d", errMalformed, rep.status)
		}
	case o == opInfo:
		if err := json.Unmarshal(r.rest(), &rep.info); err != nil {
			return nil, fmt.Errorf("%w: info: %w", errMalformed, err)
		}
	case o == opSend:
		rep.node = r.u16()
		q, d := r.uvarint(), r.uvarint()
		if q > maxCount || d > maxCount {
			return nil, fmt.Errorf("%w: count out of range", errMalformed)
		}
		rep.result = hub.Result{Queued: int(q), Dropped: int(d)}
	case o == opList:
		rep.node = r.u16()
		rep.more = r.bool()
		if r.err == nil {
			if err := json.Unmarshal(r.rest(), &rep.infos); err != nil {
				return nil, fmt.Errorf("%w: list: %w", errMalformed, err)
			}
		}
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	return rep, nil
}

// err returns the reply's outcome as an error for the caller.
func (rep *reply) err(node uint16) error {
	switch rep.status {
	case stOK:
		return nil
	case stFailed:
		return fmt.Errorf("node %d: %s", node, rep.msg)
	}
	return statusErrs[rep.status]
}
