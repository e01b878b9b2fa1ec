package wsconn

import (
	"encoding/binary"
	"strings"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// Opcode is the kind of a data message.
type Opcode byte

// Data message kinds, with their wire opcodes.
const (
	Text   = Opcode(ws.OpText)
	Binary = Opcode(ws.OpBinary)
)

// Close codes used or reported by this package (RFC 6455 §7.4.1).
const (
	CloseNormal          = 1000
	CloseGoingAway       = 1001
	CloseProtocolError   = 1002
	CloseUnsupportedData = 1003
	CloseNoStatus        = 1005 // reported when the peer's close frame had no code; never sent
	CloseAbnormal        = 1006 // reported when TCP ended without a close frame; never sent
	CloseInvalidPayload  = 1007
	ClosePolicyViolation = 1008
	CloseMessageTooBig   = 1009
	CloseInternalError   = 1011
)

// maxCloseReason is what fits in a close frame after the code.
const maxCloseReason = ws.MaxControlFramePayloadSize - 2

// validCloseCode reports whether a peer may send code in a close frame:
// the RFC's defined codes, the IANA-registered 1012-1014, and 3000-4999.
// (gobwas's CheckCloseFrameData refuses 1012-1014.)
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// headerSize is the size of an unmasked server frame header for n bytes.
func headerSize(n int) int {
	return ws.HeaderSize(ws.Header{Length: int64(n)})
}

// appendHeader appends an unmasked frame header (servers never mask).
func appendHeader(b []byte, fin bool, rsv byte, op ws.OpCode, n int) []byte {
	b0 := rsv<<4 | byte(op)
	if fin {
		b0 |= 0x80
	}
	switch {
	case n <= 125:
		return append(b, b0, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, b0, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, b0, 127), uint64(n))
	}
}

// appendControl appends a whole control frame; payload must be ≤ 125 bytes.
func appendControl(b []byte, op ws.OpCode, payload []byte) []byte {
	return append(appendHeader(b, true, 0, op, len(payload)), payload...)
}

// appendClose appends a close frame carrying code and reason. A code that
// may not be sent (1005, 1006, out of range) yields an empty close frame.
// The reason is cut to fit the frame on a rune boundary.
func appendClose(b []byte, code int, reason string) []byte {
	if !validCloseCode(code) {
		return appendHeader(b, true, 0, ws.OpClose, 0)
	}
	reason = closeReason(reason)
	b = appendHeader(b, true, 0, ws.OpClose, 2+len(reason))
	b = binary.BigEndian.AppendUint16(b, uint16(code))
	return append(b, reason...)
}

// closeReason makes reason valid UTF-8 that fits in a close frame.
func closeReason(reason string) string {
	if !utf8.ValidString(reason) {
		reason = strings.ToValidUTF8(reason, "\uFFFD")
	}
	if len(reason) <= maxCloseReason {
		return reason
	}
	cut := maxCloseReason
	for cut > 0 && !utf8.RuneStart(reason[cut]) {
		cut--
	}
	return reason[:cut]
}

// encode builds the frames of one outgoing message in a pooled buffer:
// compressed when deflate is on and it helps, fragmented into frames of at
// most outFrame payload bytes when outFrame > 0.
func (cd *codec) encode(op Opcode, data []byte, deflate bool) *[]byte {
	payload := data
	var rsv byte
	if deflate && len(data) > 0 && len(data) >= cd.compressMin {
		if z := cd.deflate(data); z != nil {
			defer cd.bufs.put(z)
			payload = *z
			rsv = rsv1
		}
	}
	fs := len(payload)
	if cd.outFrame > 0 && fs > cd.outFrame {
		fs = cd.outFrame
	}
	frames := 1
	if fs > 0 {
		frames = (len(payload) + fs - 1) / fs
	}
	buf := cd.bufs.get(len(payload) + frames*headerSize(fs))
	b := *buf
	fop := ws.OpCode(op)
	for off := 0; ; {
		n := min(fs, len(payload)-off)
		fin := off+n == len(payload)
		b = appendHeader(b, fin, rsv, fop, n)
		b = append(b, payload[off:off+n]...)
		off += n
		if fin {
			break
		}
		fop, rsv = ws.OpContinuation, 0
	}
	*buf = b
	return buf
}
