package wsconn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// protoError fails a connection: the close code to send and report, and why.
type protoError struct {
	code   int
	reason string
	drain  bool // framing is intact: the peer's close frame can still be found
}

func (e *protoError) Error() string {
	return fmt.Sprintf("websocket: fail with %d: %s", e.code, e.reason)
}

// The reasons are sent in close frames, so each stays under 123 bytes.
var (
	errFrameTooBig    = &protoError{code: CloseMessageTooBig, reason: "frame too big", drain: true}
	errMessageTooBig  = &protoError{code: CloseMessageTooBig, reason: "message too big", drain: true}
	errBinary         = &protoError{code: CloseUnsupportedData, reason: "binary messages are not supported", drain: true}
	errInvalidUTF8    = &protoError{code: CloseInvalidPayload, reason: "invalid UTF-8 in text message", drain: true}
	errBadDeflate     = &protoError{code: CloseInvalidPayload, reason: "invalid compressed data", drain: true}
	errCloseUTF8      = &protoError{code: CloseInvalidPayload, reason: "invalid UTF-8 in close reason"}
	errLengthMSB      = &protoError{code: CloseProtocolError, reason: "frame length has its most significant bit set"}
	errRsv            = &protoError{code: CloseProtocolError, reason: "reserved bits set"}
	errCompressionBit = &protoError{code: CloseProtocolError, reason: "compression bit on a control or continuation frame"}
	errClosePayload   = &protoError{code: CloseProtocolError, reason: "close frame payload of one byte"}
	errCloseCode      = &protoError{code: CloseProtocolError, reason: "invalid close code"}
	errFraming        = &protoError{code: CloseProtocolError, reason: "protocol error"}
)

// errSkip tells feed, while draining, to skip the frame whose header it just
// read.
var errSkip = errors.New("skip frame")

// frameSink receives what a decoder decodes. Slices are only valid during the
// call.
type frameSink interface {
	onMessage(op Opcode, data []byte)
	onPing(payload []byte)
	onPong(payload []byte)
	// onClose reports the peer's close frame: 1005 and "" when it carried no
	// code. The decoder ignores everything after it.
	onClose(code int, reason string)
}

// Activity bits returned by feed.
const (
	sawData    = 1 << iota // a data frame was completed
	sawControl             // a ping or pong was received
)

// Decoder flags.
const (
	decDeflate    = 1 << iota // permessage-deflate was negotiated
	decCompressed             // the message being reassembled is compressed
	decDone                   // a close frame or an error ended decoding
	decDraining               // after a limit error: only close frames count
)

// decoder turns the bytes a client sends into messages and control frames,
// enforcing RFC 6455 for a server and the codec's limits. It is a pure state
// machine with no socket: feed it bytes in any split. It holds no buffer
// between frames unless a frame or a fragmented message is incomplete.
//
// Frames wholly inside the bytes fed are unmasked in place and delivered
// without copying; only a frame split across feeds is copied (into pend), and
// only fragmented or compressed messages are reassembled (into msg).
type decoder struct {
	cd    *codec
	pend  *[]byte   // the incomplete frame so far (header, then payload)
	msg   *[]byte   // the fragmented or compressed message so far
	skip  int64     // payload bytes still to skip while draining
	op    ws.OpCode // opcode of the message being reassembled; 0 between messages
	flags uint8
}

func newDecoder(cd *codec, deflate bool) decoder {
	d := decoder{cd: cd}
	if deflate {
		d.flags = decDeflate
	}
	return d
}

// feed decodes p. It returns what kind of frames were completed and how
// many bytes of p it consumed. It stops at the first *protoError: the peer
// broke the protocol or a limit. After a protocol error decoding is over.
// After a limit error (a frame or message too big, a binary message refused,
// invalid UTF-8 or deflate data) the framing is still sound, so the decoder
// drains: fed the rest, it skips every frame but a close frame, which it
// reports, so the closing handshake can complete.
func (d *decoder) feed(p []byte, s frameSink) (act, consumed int, err error) {
	size := len(p)
	for len(p) > 0 && d.flags&decDone == 0 {
		if d.skip > 0 {
			n := int(min(int64(len(p)), d.skip))
			p = p[n:]
			d.skip -= int64(n)
			continue
		}
		var h ws.Header
		var hl int
		var frame []byte
		if d.pend != nil {
			var n int
			h, hl, n, err = d.fill(p)
			p = p[n:]
			if err == errSkip {
				d.cd.bufs.put(d.pend)
				d.pend = nil
				d.skip = h.Length
				continue
			}
			if err != nil {
				return act, size - len(p), d.fail(err, h.Length)
			}
			if hl == 0 || len(*d.pend) < hl+int(h.Length) {
				return act, size, nil // all of p was taken; the frame is still incomplete
			}
			frame = *d.pend
		} else {
			h, hl, err = parseHeader(p)
			if err != nil {
				return act, size - len(p), d.fail(err, 0)
			}
			if hl == 0 {
				d.stash(p, ws.MaxHeaderSize)
				return act, size, nil
			}
			if err = d.check(h); err != nil {
				p = p[hl:]
				if err == errSkip {
					d.skip = h.Length
					continue
				}
				return act, size - len(p), d.fail(err, h.Length)
			}
			total := hl + int(h.Length)
			if len(p) < total {
				d.stash(p, total)
				return act, size, nil
			}
			frame, p = p[:total], p[total:]
		}
		a, err := d.frame(h, frame[hl:], s)
		act |= a
		if d.pend != nil {
			d.cd.bufs.put(d.pend)
			d.pend = nil
		}
		if err != nil {
			return act, size - len(p), d.fail(err, 0)
		}
	}
	return act, size, nil
}

// stash starts pend with p, the beginning of a frame of want bytes (or of a
// header not yet complete).
func (d *decoder) stash(p []byte, want int) {
	d.pend = d.cd.bufs.get(want)
	*d.pend = append(*d.pend, p...)
}

// fill moves bytes of p into pend: first up to a complete header, which is
// then checked before any payload is taken, then up to the end of the frame.
// It returns the header once complete (hl > 0) and how much of p it took.
func (d *decoder) fill(p []byte) (h ws.Header, hl, n int, err error) {
	b := *d.pend
	h, hl, err = parseHeader(b)
	if err != nil {
		return h, 0, 0, err
	}
	if hl == 0 {
		// The header's length is only known from its second byte on, so it
		// may take two steps to complete.
		for hl == 0 && n < len(p) {
			m := min(headerLen(b)-len(b), len(p)-n)
			b = append(b, p[n:n+m]...)
			n += m
			h, hl, err = parseHeader(b)
			if err != nil {
				return h, 0, n, err
			}
		}
		*d.pend = b
		if hl == 0 {
			return h, 0, n, nil
		}
		if err = d.check(h); err != nil {
			return h, 0, n, err
		}
	}
	total := hl + int(h.Length)
	if cap(b) < total {
		nb := d.cd.bufs.get(total)
		*nb = append(*nb, b...)
		d.cd.bufs.put(d.pend)
		d.pend = nb
		b = *nb
	}
	m := min(total-len(b), len(p)-n)
	*d.pend = append(b, p[n:n+m]...)
	return h, hl, n + m, nil
}

// headerLen is the size of the header starting b, or 2 when b is too short to
// tell.
func headerLen(b []byte) int {
	if len(b) < 2 {
		return 2
	}
	n := 2
	switch b[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b[1]&0x80 != 0 {
		n += 4
	}
	return n
}

// parseHeader parses the frame header at the start of b. hl is 0 when b does
// not hold a whole header yet. (gobwas's ReadHeader wants an io.Reader that
// blocks; this is the same parse on a slice, without an allocation.)
func parseHeader(b []byte) (h ws.Header, hl int, err error) {
	hl = headerLen(b)
	if len(b) < hl {
		return h, 0, nil
	}
	h.Fin = b[0]&0x80 != 0
	h.Rsv = (b[0] >> 4) & 0x07
	h.OpCode = ws.OpCode(b[0] & 0x0f)
	h.Masked = b[1]&0x80 != 0
	i := 2
	switch l := b[1] & 0x7f; l {
	case 126:
		h.Length = int64(binary.BigEndian.Uint16(b[2:4]))
		i = 4
	case 127:
		v := binary.BigEndian.Uint64(b[2:10])
		if v>>63 != 0 {
			return h, 0, errLengthMSB
		}
		h.Length = int64(v)
		i = 10
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		copy(h.Mask[:], b[i:i+4])
	}
	return h, hl, nil
}

// check validates a complete header against RFC 6455, the negotiated
// extension and the limits, before any of its payload is buffered.
func (d *decoder) check(h ws.Header) error {
	if d.flags&decDraining != 0 {
		switch {
		case !h.Masked || h.OpCode.IsReserved() || h.OpCode.IsControl() && h.Length > ws.MaxControlFramePayloadSize:
			return errFraming
		case h.OpCode == ws.OpClose:
			return nil
		}
		return errSkip
	}
	state := ws.StateServerSide
	if d.flags&decDeflate != 0 {
		state |= ws.StateExtended
	}
	if d.op != 0 {
		state |= ws.StateFragmented
	}
	if err := ws.CheckHeader(h, state); err != nil {
		return &protoError{code: CloseProtocolError, reason: err.Error()}
	}
	// CheckHeader accepts any RSV bit once an extension is negotiated;
	// permessage-deflate defines RSV1 only, on a message's first frame only.
	if h.Rsv&^rsv1 != 0 {
		return errRsv
	}
	first := h.OpCode == ws.OpText || h.OpCode == ws.OpBinary
	if h.Rsv != 0 && !first {
		return errCompressionBit
	}
	if h.OpCode.IsControl() {
		return nil
	}
	if h.OpCode == ws.OpBinary && d.cd.rejectBinary {
		return errBinary
	}
	if h.Length > d.cd.maxFrame {
		return errFrameTooBig
	}
	compressed := h.Rsv&rsv1 != 0
	have := 0
	if !first {
		compressed = d.flags&decCompressed != 0
		if d.msg != nil {
			have = len(*d.msg)
		}
	}
	if int64(have)+h.Length > int64(d.maxPayload(compressed)) {
		return errMessageTooBig
	}
	return nil
}

// maxPayload bounds the wire bytes of one message. A compressed message is
// bounded again after inflation; deflate's stored blocks add 5 bytes per 64 KiB
// to incompressible data, hence the slack.
func (d *decoder) maxPayload(compressed bool) int {
	if compressed {
		return d.cd.maxMessage + d.cd.maxMessage/1024 + 64
	}
	return d.cd.maxMessage
}

// rsv1 is the RSV1 bit as ws.Header.Rsv holds it.
const rsv1 = 0x04

// frame handles one complete frame whose header passed check.
func (d *decoder) frame(h ws.Header, payload []byte, s frameSink) (int, error) {
	ws.Cipher(payload, h.Mask, 0)
	if h.OpCode.IsControl() {
		return d.control(h.OpCode, payload, s)
	}
	first := h.OpCode != ws.OpContinuation
	if first {
		d.op = h.OpCode
		d.flags &^= decCompressed
		if h.Rsv&rsv1 != 0 {
			d.flags |= decCompressed
		}
		if h.Fin {
			d.op = 0
			if d.flags&decCompressed == 0 {
				return sawData, d.deliver(h.OpCode, payload, s)
			}
			d.flags &^= decCompressed
			return sawData, d.deliverCompressed(h.OpCode, payload, s)
		}
	}
	if d.msg == nil {
		d.msg = d.cd.bufs.get(max(len(payload), 512))
	}
	limit := d.maxPayload(d.flags&decCompressed != 0)
	d.msg = d.cd.bufs.grow(d.msg, len(payload), limit)
	*d.msg = append(*d.msg, payload...)
	if !h.Fin {
		return sawData, nil
	}

	op, msg := d.op, d.msg
	d.op, d.msg = 0, nil
	defer d.cd.bufs.put(msg)
	if d.flags&decCompressed == 0 {
		return sawData, d.deliver(op, *msg, s)
	}
	d.flags &^= decCompressed
	return sawData, d.deliverCompressed(op, *msg, s)
}

// deliverCompressed inflates a complete compressed message and delivers it.
func (d *decoder) deliverCompressed(op ws.OpCode, compressed []byte, s frameSink) error {
	out, err := d.cd.inflate(compressed)
	if err != nil {
		return err
	}
	defer d.cd.bufs.put(out)
	return d.deliver(op, *out, s)
}

// deliver validates a complete message and hands it to the sink.
func (d *decoder) deliver(op ws.OpCode, data []byte, s frameSink) error {
	if op == ws.OpText && !utf8.Valid(data) {
		return errInvalidUTF8
	}
	s.onMessage(Opcode(op), data)
	return nil
}

// control handles a ping, pong or close frame.
func (d *decoder) control(op ws.OpCode, payload []byte, s frameSink) (int, error) {
	switch op {
	case ws.OpPing:
		s.onPing(payload)
		return sawControl, nil
	case ws.OpPong:
		s.onPong(payload)
		return sawControl, nil
	}
	// OpClose: CheckHeader already refused the reserved control opcodes.
	var code int
	var reason string
	switch len(payload) {
	case 0:
		code = CloseNoStatus
	case 1:
		return 0, errClosePayload
	default:
		code = int(binary.BigEndian.Uint16(payload))
		if !validCloseCode(code) {
			return 0, errCloseCode
		}
		if !utf8.Valid(payload[2:]) {
			return 0, errCloseUTF8
		}
		reason = string(payload[2:])
	}
	d.release()
	d.flags |= decDone
	d.skip = 0
	s.onClose(code, reason)
	return 0, nil
}

// fail ends decoding after err, or starts draining (skipping skip bytes of
// the current frame first) when the framing is still sound.
func (d *decoder) fail(err error, skip int64) error {
	d.release()
	var pe *protoError
	if errors.As(err, &pe) && pe.drain && d.flags&decDraining == 0 {
		d.flags |= decDraining
		d.skip = skip
	} else {
		d.flags |= decDone
	}
	return err
}

// release returns the decoder's buffers to the pool.
func (d *decoder) release() {
	if d.pend != nil {
		d.cd.bufs.put(d.pend)
		d.pend = nil
	}
	if d.msg != nil {
		d.cd.bufs.put(d.msg)
		d.msg = nil
	}
	d.op = 0
}
