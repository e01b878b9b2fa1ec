package loadgen

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The client side of RFC 6455, as small as a load generator needs: the
// opening handshake on a blocking socket, masked frames out, and an
// incremental decoder for the server's frames that keeps only the first
// bytes of each message (enough for a timestamp).

// WebSocket opcodes.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xa
)

// maxHandshakeResponse bounds the 101 response read from a server.
const maxHandshakeResponse = 8 << 10

// errHandshake is wrapped by every failed opening handshake.
var errHandshake = errors.New("handshake")

// statusError is a handshake answered with another status than 101.
type statusError struct{ status int }

func (e *statusError) Error() string { return "handshake: HTTP status " + strconv.Itoa(e.status) }

// dialer opens TCP connections from a rotating set of source addresses.
type dialer struct {
	sources []netip.Addr
	timeout time.Duration
}

// dial connects to addr from the i-th source address. The port is chosen at
// connect time (IP_BIND_ADDRESS_NO_PORT), so one source address serves
// ~28,000 connections to each destination rather than ~28,000 in all.
func (d *dialer) dial(ctx context.Context, addr string, i int) (*net.TCPConn, error) {
	nd := net.Dialer{
		Timeout: d.timeout,
		Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
			})
			if err != nil {
				return err
			}
			return serr
		},
	}
	if len(d.sources) > 0 {
		nd.LocalAddr = &net.TCPAddr{IP: d.sources[i%len(d.sources)].AsSlice()}
	}
	c, err := nd.DialContext(ctx, "tcp4", addr)
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// handshake performs the opening handshake on c and returns the bytes the
// server sent after its 101 response (frames already on their way).
func handshake(c net.Conn, host, path string, deadline time.Time) ([]byte, error) {
	var key [16]byte
	binary.LittleEndian.PutUint64(key[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(key[8:], rand.Uint64())
	k := base64.StdEncoding.EncodeToString(key[:])
	req := make([]byte, 0, 256)
	req = append(req, "GET "...)
	req = append(req, path...)
	req = append(req, " HTTP/1.1\r\nHost: "...)
	req = append(req, host...)
	req = append(req, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "...)
	req = append(req, k...)
	req = append(req, "\r\nSec-WebSocket-Version: 13\r\nUser-Agent: wsgate-bench\r\n\r\n"...)
	_ = c.SetDeadline(deadline)
	defer func() { _ = c.SetDeadline(time.Time{}) }()
	if _, err := c.Write(req); err != nil {
		return nil, err
	}
	buf := make([]byte, 0, 512)
	for {
		if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
			if err := checkSwitching(buf[:i+2], k); err != nil {
				return nil, err
			}
			return bytes.Clone(buf[i+4:]), nil
		}
		if len(buf) >= maxHandshakeResponse {
			return nil, fmt.Errorf("%w: response header over %d bytes", errHandshake, maxHandshakeResponse)
		}
		if cap(buf)-len(buf) < 256 {
			buf = append(buf, make([]byte, 512)...)[:len(buf)]
		}
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil && n == 0 {
			return nil, err
		}
	}
}

// checkSwitching checks a response header (status line and fields, each
// ending in CRLF) for 101 and the right Sec-WebSocket-Accept.
func checkSwitching(h []byte, key string) error {
	line, rest, _ := bytes.Cut(h, []byte("\r\n"))
	f := bytes.Fields(line)
	if len(f) < 2 || !bytes.HasPrefix(f[0], []byte("HTTP/1.")) {
		return fmt.Errorf("%w: malformed status line %q", errHandshake, line)
	}
	status, err := strconv.Atoi(string(f[1]))
	if err != nil {
		return fmt.Errorf("%w: malformed status line %q", errHandshake, line)
	}
	if status != 101 {
		return &statusError{status: status}
	}
	want := acceptKey(key)
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimSpace(name), []byte("Sec-WebSocket-Accept")) {
			if string(bytes.TrimSpace(value)) != want {
				return fmt.Errorf("%w: wrong Sec-WebSocket-Accept", errHandshake)
			}
			return nil
		}
	}
	return fmt.Errorf("%w: no Sec-WebSocket-Accept", errHandshake)
}

func acceptKey(key string) string {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte("258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// appendFrame appends one masked client frame (FIN set) carrying payload.
func appendFrame(dst []byte, op byte, payload []byte, mask uint32) []byte {
	dst = append(dst, 0x80|op)
	n := len(payload)
	switch {
	case n <= 125:
		dst = append(dst, 0x80|byte(n))
	case n <= 0xffff:
		dst = binary.BigEndian.AppendUint16(append(dst, 0x80|126), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint64(append(dst, 0x80|127), uint64(n))
	}
	var m [4]byte
	binary.BigEndian.PutUint32(m[:], mask)
	dst = append(dst, m[:]...)
	start := len(dst)
	dst = append(dst, payload...)
	for i := start; i < len(dst); i++ {
		dst[i] ^= m[(i-start)&3]
	}
	return dst
}

// closeFrame returns a masked close frame with a status code.
func closeFrame(code uint16, mask uint32) []byte {
	var p [2]byte
	binary.BigEndian.PutUint16(p[:], code)
	return appendFrame(make([]byte, 0, 8), opClose, p[:], mask)
}

// prefixLen is how many bytes of each message the decoder keeps.
const prefixLen = 40

// frameSink receives what a decoder decodes.
type frameSink interface {
	// message reports a complete data message: its opcode, its length and
	// its first bytes (at most prefixLen).
	message(op byte, size int, prefix []byte)
	// control reports a ping, pong or close frame with its payload.
	control(op byte, payload []byte)
}

// errProtocol is a server frame the decoder cannot accept.
var errProtocol = errors.New("protocol error in a server frame")

// decoder reassembles server frames fed in any split. It holds no buffer:
// only the header being read, a message's first bytes, and the current
// control frame's payload.
type decoder struct {
	hdr     [10]byte
	hn      uint8 // header bytes held
	inFrame bool  // the header is complete; payload bytes are pending
	op      byte  // opcode of the current frame
	fin     bool
	inMsg   bool // a fragmented message is in progress
	msgOp   byte
	left    int64 // payload bytes of the current frame still to come
	msgLen  int
	pre     [prefixLen]byte
	pn      uint8
	ctl     []byte // payload of the control frame being read
}

// feed decodes p.
func (d *decoder) feed(p []byte, s frameSink) error {
	for len(p) > 0 {
		if !d.inFrame {
			// Collect the header: 2 bytes, then the extended length if any.
			need := 2
			if d.hn >= 2 {
				need = d.headerLen()
			}
			n := copy(d.hdr[d.hn:need], p)
			d.hn += uint8(n)
			p = p[n:]
			if int(d.hn) < need || d.headerLen() > int(d.hn) {
				continue
			}
			d.hn = 0
			if err := d.start(s); err != nil {
				return err
			}
			continue
		}
		n := int(min(int64(len(p)), d.left))
		d.payload(p[:n])
		p = p[n:]
		d.left -= int64(n)
		if d.left == 0 {
			d.inFrame = false
			d.end(s)
		}
	}
	return nil
}

// headerLen is the size of the header whose first two bytes are held.
func (d *decoder) headerLen() int {
	switch d.hdr[1] & 0x7f {
	case 126:
		return 4
	case 127:
		return 10
	}
	return 2
}

// start begins a frame once its header is complete.
func (d *decoder) start(s frameSink) error {
	b0, b1 := d.hdr[0], d.hdr[1]
	if b1&0x80 != 0 {
		return fmt.Errorf("%w: masked frame", errProtocol)
	}
	d.fin = b0&0x80 != 0
	d.op = b0 & 0x0f
	switch b1 & 0x7f {
	case 126:
		d.left = int64(binary.BigEndian.Uint16(d.hdr[2:4]))
	case 127:
		d.left = int64(binary.BigEndian.Uint64(d.hdr[2:10]) & (1<<63 - 1))
	default:
		d.left = int64(b1 & 0x7f)
	}
	switch {
	case d.op >= opClose:
		if d.left > 125 || !d.fin {
			return fmt.Errorf("%w: bad control frame", errProtocol)
		}
		d.ctl = d.ctl[:0]
	case d.op == opContinuation:
		if !d.inMsg {
			return fmt.Errorf("%w: continuation without a message", errProtocol)
		}
	default:
		if d.inMsg {
			return fmt.Errorf("%w: new message inside a fragmented one", errProtocol)
		}
		d.inMsg, d.msgOp, d.msgLen, d.pn = true, d.op, 0, 0
	}
	if d.left == 0 {
		d.end(s)
	} else {
		d.inFrame = true
	}
	return nil
}

func (d *decoder) payload(b []byte) {
	if d.op >= opClose {
		d.ctl = append(d.ctl, b...)
		return
	}
	d.msgLen += len(b)
	if int(d.pn) < prefixLen {
		d.pn += uint8(copy(d.pre[d.pn:], b))
	}
}

// end finishes a frame whose payload is complete.
func (d *decoder) end(s frameSink) {
	if d.op >= opClose {
		s.control(d.op, d.ctl)
		return
	}
	if d.fin {
		d.inMsg = false
		s.message(d.msgOp, d.msgLen, d.pre[:d.pn])
	}
}

// stampPrefix is how fan-out and push payloads start: {"t":"<unix ns>",…
const stampPrefix = `{"t":"`

// stampedPayload returns a JSON message of exactly size bytes (at least
// 40) carrying the wall-clock time t: {"t":"<unix ns>","p":"xxx…"}.
func stampedPayload(t time.Time, size int) []byte {
	b := make([]byte, 0, max(size, 48))
	b = append(b, stampPrefix...)
	b = strconv.AppendInt(b, t.UnixNano(), 10)
	b = append(b, `","p":"`...)
	for len(b) < size-2 {
		b = append(b, 'x')
	}
	return append(b, '"', '}')
}

// parseStamp reads the time a stamped payload carries.
func parseStamp(prefix []byte) (int64, bool) {
	rest, ok := bytes.CutPrefix(prefix, []byte(stampPrefix))
	if !ok {
		return 0, false
	}
	end := bytes.IndexByte(rest, '"')
	if end <= 0 {
		return 0, false
	}
	v, err := strconv.ParseInt(string(rest[:end]), 10, 64)
	return v, err == nil
}

// echoPayload returns a message of exactly size bytes (at least 32) that
// route selection sends to action: {"action":"…","p":"xxx…"}.
func echoPayload(action string, size int) []byte {
	b := make([]byte, 0, max(size, 32+len(action)))
	b = append(b, `{"action":"`...)
	b = append(b, action...)
	b = append(b, `","p":"`...)
	for len(b) < size-2 {
		b = append(b, 'x')
	}
	return append(b, '"', '}')
}
