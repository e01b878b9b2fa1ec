package wsconn

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

// recSink records what a decoder delivers, as strings.
type recSink struct {
	events []string
	maxMsg int
}

func (s *recSink) onMessage(op Opcode, data []byte) {
	s.maxMsg = max(s.maxMsg, len(data))
	kind := "text"
	if op == Binary {
		kind = "binary"
	}
	s.events = append(s.events, kind+":"+string(data))
}
func (s *recSink) onPing(p []byte) { s.events = append(s.events, "ping:"+string(p)) }
func (s *recSink) onPong(p []byte) { s.events = append(s.events, "pong:"+string(p)) }
func (s *recSink) onClose(code int, reason string) {
	s.events = append(s.events, fmt.Sprintf("close:%d:%s", code, reason))
}

// frameOpts describe a client frame for the tests.
type frameOpts struct {
	fin      bool
	rsv      byte // as in ws.Header.Rsv (RSV1 = 4)
	op       ws.OpCode
	unmasked bool
	length   int64 // announced length when > 0 and no payload is given
}

// cframe encodes a client frame, masked unless told otherwise.
func cframe(f frameOpts, payload []byte) []byte {
	n := int64(len(payload))
	if f.length > 0 {
		n = f.length
	}
	b0 := f.rsv<<4 | byte(f.op)
	if f.fin {
		b0 |= 0x80
	}
	var mbit byte = 0x80
	if f.unmasked {
		mbit = 0
	}
	b := []byte{b0}
	switch {
	case n <= 125:
		b = append(b, mbit|byte(n))
	case n <= 0xffff:
		b = binary.BigEndian.AppendUint16(append(b, mbit|126), uint16(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, mbit|127), uint64(n))
	}
	p := append([]byte(nil), payload...)
	if !f.unmasked {
		mask := [4]byte{0x11, 0x22, 0x33, 0x44}
		b = append(b, mask[:]...)
		ws.Cipher(p, mask, 0)
	}
	return append(b, p...)
}

func text(s string) []byte { return cframe(frameOpts{fin: true, op: ws.OpText}, []byte(s)) }

func closeFrame(code int, reason string) []byte {
	p := binary.BigEndian.AppendUint16(nil, uint16(code))
	return cframe(frameOpts{fin: true, op: ws.OpClose}, append(p, reason...))
}

// deflateRaw compresses p as a permessage-deflate sender does.
func deflateRaw(t testing.TB, p []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(p); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{0, 0, 0xff, 0xff})
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func newTestCodec(maxFrame, maxMessage int, rejectBinary bool) *codec {
	return &codec{maxFrame: int64(maxFrame), maxMessage: maxMessage, rejectBinary: rejectBinary}
}

type decodeCase struct {
	name         string
	in           []byte
	deflate      bool
	rejectBinary bool
	maxFrame     int // default 1024
	maxMessage   int // default 4096
	want         []string
	wantCode     int // 0: no error
}

func decodeCases(t testing.TB) []decodeCase {
	bomb := deflateRaw(t, make([]byte, 1<<20))
	return []decodeCase{
		{name: "text", in: text("hello"), want: []string{"text:hello"}},
		{name: "empty text", in: text(""), want: []string{"text:"}},
		{name: "two messages", in: cat(text("a"), text("b")), want: []string{"text:a", "text:b"}},
		{name: "binary delivered", in: cframe(frameOpts{fin: true, op: ws.OpBinary}, []byte{0, 1, 2}), want: []string{"binary:\x00\x01\x02"}},
		{name: "binary rejected", rejectBinary: true, in: cframe(frameOpts{fin: true, op: ws.OpBinary}, []byte{1}), wantCode: 1003},
		{name: "binary rejected on header alone", rejectBinary: true, in: cframe(frameOpts{fin: true, op: ws.OpBinary, length: 100}, nil), wantCode: 1003},
		{name: "16-bit length", in: text(strings.Repeat("x", 300)), want: []string{"text:" + strings.Repeat("x", 300)}},
		{name: "fragmented", in: cat(
			cframe(frameOpts{op: ws.OpText}, []byte("he")),
			cframe(frameOpts{op: ws.OpContinuation}, []byte("ll")),
			cframe(frameOpts{fin: true, op: ws.OpContinuation}, []byte("o")),
		), want: []string{"text:hello"}},
		{name: "ping inside fragmented message", in: cat(
			cframe(frameOpts{op: ws.OpText}, []byte("he")),
			cframe(frameOpts{fin: true, op: ws.OpPing}, []byte("p")),
			cframe(frameOpts{fin: true, op: ws.OpContinuation}, []byte("llo")),
		), want: []string{"ping:p", "text:hello"}},
		{name: "utf8 rune split over fragments", in: cat(
			cframe(frameOpts{op: ws.OpText}, []byte("caf\xc3")),
			cframe(frameOpts{fin: true, op: ws.OpContinuation}, []byte("\xa9")),
		), want: []string{"text:café"}},
		{name: "ping and pong", in: cat(
			cframe(frameOpts{fin: true, op: ws.OpPing}, []byte("abc")),
			cframe(frameOpts{fin: true, op: ws.OpPong}, []byte("xyz")),
		), want: []string{"ping:abc", "pong:xyz"}},
		{name: "unmasked", in: cframe(frameOpts{fin: true, op: ws.OpText, unmasked: true}, []byte("x")), wantCode: 1002},
		{name: "rsv1 without deflate", in: cframe(frameOpts{fin: true, op: ws.OpText, rsv: 4}, []byte("x")), wantCode: 1002},
		{name: "rsv2 with deflate", deflate: true, in: cframe(frameOpts{fin: true, op: ws.OpText, rsv: 2}, []byte("x")), wantCode: 1002},
		{name: "rsv3", in: cframe(frameOpts{fin: true, op: ws.OpText, rsv: 1}, []byte("x")), wantCode: 1002},
		{name: "rsv1 on continuation", deflate: true, in: cat(
			cframe(frameOpts{op: ws.OpText, rsv: 4}, deflateRaw(t, []byte("he"))),
			cframe(frameOpts{fin: true, op: ws.OpContinuation, rsv: 4}, []byte("x")),
		), wantCode: 1002},
		{name: "rsv1 on ping", deflate: true, in: cframe(frameOpts{fin: true, op: ws.OpPing, rsv: 4}, nil), wantCode: 1002},
		{name: "reserved data opcode", in: cframe(frameOpts{fin: true, op: 3}, nil), wantCode: 1002},
		{name: "reserved control opcode", in: cframe(frameOpts{fin: true, op: 0xb}, nil), wantCode: 1002},
		{name: "control frame too long", in: cframe(frameOpts{fin: true, op: ws.OpPing}, make([]byte, 126)), wantCode: 1002},
		{name: "fragmented ping", in: cframe(frameOpts{op: ws.OpPing}, []byte("p")), wantCode: 1002},
		{name: "continuation without start", in: cframe(frameOpts{fin: true, op: ws.OpContinuation}, []byte("x")), wantCode: 1002},
		{name: "new message inside fragmented", in: cat(
			cframe(frameOpts{op: ws.OpText}, []byte("he")),
			text("x"),
		), wantCode: 1002},
		{name: "invalid utf8", in: text("\xff\xfe"), wantCode: 1007},
		{name: "invalid utf8 fragmented", in: cat(
			cframe(frameOpts{op: ws.OpText}, []byte("ok")),
			cframe(frameOpts{fin: true, op: ws.OpContinuation}, []byte("\xc3")),
		), wantCode: 1007},
		{name: "binary need not be utf8", in: cframe(frameOpts{fin: true, op: ws.OpBinary}, []byte{0xff}), want: []string{"binary:\xff"}},
		{name: "frame too big on header alone", in: cframe(frameOpts{fin: true, op: ws.OpText, length: 1025}, nil), wantCode: 1009},
		{name: "frame at limit", in: text(strings.Repeat("y", 1024)), want: []string{"text:" + strings.Repeat("y", 1024)}},
		{name: "huge announced length", in: cframe(frameOpts{fin: true, op: ws.OpText, length: 1 << 40}, nil), wantCode: 1009},
		{name: "length msb set", in: []byte{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}, wantCode: 1002},
		{name: "message too big", in: cat(
			cframe(frameOpts{op: ws.OpText}, make([]byte, 1024)),
			cframe(frameOpts{op: ws.OpContinuation}, make([]byte, 1024)),
			cframe(frameOpts{op: ws.OpContinuation}, make([]byte, 1024)),
			cframe(frameOpts{op: ws.OpContinuation}, make([]byte, 1024)),
			cframe(frameOpts{fin: true, op: ws.OpContinuation, length: 1}, nil),
		), wantCode: 1009},
		{name: "close without payload", in: cframe(frameOpts{fin: true, op: ws.OpClose}, nil), want: []string{"close:1005:"}},
		{name: "close with code and reason", in: closeFrame(4000, "bye"), want: []string{"close:4000:bye"}},
		{name: "close 1012 accepted", in: closeFrame(1012, ""), want: []string{"close:1012:"}},
		{name: "close 3000 accepted", in: closeFrame(3000, ""), want: []string{"close:3000:"}},
		{name: "close one byte", in: cframe(frameOpts{fin: true, op: ws.OpClose}, []byte{3}), wantCode: 1002},
		{name: "close 999", in: closeFrame(999, ""), wantCode: 1002},
		{name: "close 1004", in: closeFrame(1004, ""), wantCode: 1002},
		{name: "close 1005", in: closeFrame(1005, ""), wantCode: 1002},
		{name: "close 1006", in: closeFrame(1006, ""), wantCode: 1002},
		{name: "close 1015", in: closeFrame(1015, ""), wantCode: 1002},
		{name: "close 2999", in: closeFrame(2999, ""), wantCode: 1002},
		{name: "close 5000", in: closeFrame(5000, ""), wantCode: 1002},
		{name: "close reason not utf8", in: closeFrame(1000, "\xff"), wantCode: 1007},
		{name: "input after close ignored", in: cat(closeFrame(1000, ""), text("late"), []byte{0xff, 0xff}), want: []string{"close:1000:"}},
		{name: "drain after too big frame", in: cat(
			cframe(frameOpts{fin: true, op: ws.OpText}, make([]byte, 2000)),
			text("dropped"),
			cframe(frameOpts{fin: true, op: ws.OpPing}, []byte("dropped")),
			closeFrame(1000, "ok"),
		), wantCode: 1009, want: []string{"close:1000:ok"}},
		{name: "drain after binary", rejectBinary: true, in: cat(
			cframe(frameOpts{op: ws.OpBinary}, []byte("ab")),
			cframe(frameOpts{fin: true, op: ws.OpContinuation}, []byte("cd")),
			closeFrame(4000, ""),
		), wantCode: 1003, want: []string{"close:4000:"}},
		{name: "drain after invalid utf8", in: cat(text("\xff"), text("dropped"), cframe(frameOpts{fin: true, op: ws.OpClose}, nil)),
			wantCode: 1007, want: []string{"close:1005:"}},
		{name: "no drain after protocol error", in: cat(
			cframe(frameOpts{fin: true, op: ws.OpText, unmasked: true}, []byte("x")),
			closeFrame(1000, ""),
		), wantCode: 1002, want: []string{}},
		{name: "drain ends on garbage", in: cat(
			cframe(frameOpts{fin: true, op: ws.OpText}, make([]byte, 2000)),
			cframe(frameOpts{fin: true, op: ws.OpText, unmasked: true}, []byte("x")),
			closeFrame(1000, ""),
		), wantCode: 1009, want: []string{}},
		{name: "compressed", deflate: true, in: cframe(frameOpts{fin: true, op: ws.OpText, rsv: 4}, deflateRaw(t, []byte("hello hello hello"))), want: []string{"text:hello hello hello"}},
		{name: "compressed fragmented", deflate: true, in: func() []byte {
			z := deflateRaw(t, []byte(strings.Repeat("abc", 100)))
			return cat(
				cframe(frameOpts{op: ws.OpText, rsv: 4}, z[:len(z)/2]),
				cframe(frameOpts{fin: true, op: ws.OpContinuation}, z[len(z)/2:]),
			)
		}(), want: []string{"text:" + strings.Repeat("abc", 100)}},
		{name: "compressed bomb", deflate: true, maxFrame: 1 << 20, in: cframe(frameOpts{fin: true, op: ws.OpBinary, rsv: 4}, bomb), wantCode: 1009},
		{name: "compressed garbage", deflate: true, in: cframe(frameOpts{fin: true, op: ws.OpText, rsv: 4}, []byte{0xff, 0xff, 0xff}), wantCode: 1007},
		{name: "compressed invalid utf8", deflate: true, in: cframe(frameOpts{fin: true, op: ws.OpText, rsv: 4}, deflateRaw(t, []byte{'a', 0xff})), wantCode: 1007},
		{name: "compressed at limit", deflate: true, in: cframe(frameOpts{fin: true, op: ws.OpBinary, rsv: 4}, deflateRaw(t, make([]byte, 4096))), want: []string{"binary:" + string(make([]byte, 4096))}},
		{name: "compressed one over limit", deflate: true, in: cframe(frameOpts{fin: true, op: ws.OpBinary, rsv: 4}, deflateRaw(t, make([]byte, 4097))), wantCode: 1009},
	}
}

// runDecoder feeds in to a fresh decoder in the given chunks.
func runDecoder(tc decodeCase, chunks [][]byte) (*recSink, int) {
	maxFrame, maxMessage := tc.maxFrame, tc.maxMessage
	if maxFrame == 0 {
		maxFrame = 1024
	}
	if maxMessage == 0 {
		maxMessage = 4096
	}
	d := newDecoder(newTestCodec(maxFrame, maxMessage, tc.rejectBinary), tc.deflate)
	s := &recSink{}
	code := 0
	for _, ch := range chunks {
		// The decoder unmasks in place, as it does in the poller's buffer.
		p := bytes.Clone(ch)
		for range 3 { // as Conn.onData does
			_, n, err := d.feed(p, s)
			if err == nil {
				break
			}
			if code == 0 {
				code = err.(*protoError).code
			}
			p = p[n:]
		}
	}
	return s, code
}

// splits returns in as one chunk, byte by byte, and in random chunks.
func splits(in []byte, seed uint64) map[string][][]byte {
	bytewise := make([][]byte, len(in))
	for i := range in {
		bytewise[i] = in[i : i+1]
	}
	r := rand.New(rand.NewPCG(seed, 1))
	var random [][]byte
	for rest := in; len(rest) > 0; {
		n := min(len(rest), 1+r.IntN(40))
		random = append(random, rest[:n])
		rest = rest[n:]
	}
	return map[string][][]byte{"whole": {in}, "bytewise": bytewise, "random": random}
}

func TestDecoder(t *testing.T) {
	for _, tc := range decodeCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			for how, chunks := range splits(tc.in, 7) {
				s, code := runDecoder(tc, chunks)
				if code != tc.wantCode {
					t.Errorf("%s: code = %d, want %d (events %q)", how, code, tc.wantCode, s.events)
				}
				if (tc.wantCode == 0 || tc.want != nil) && strings.Join(s.events, "|") != strings.Join(tc.want, "|") {
					t.Errorf("%s: events = %q, want %q", how, s.events, tc.want)
				}
			}
		})
	}
}

// TestDecoderHoldsNoBuffers checks that buffers exist only while a frame or
// a message is incomplete.
func TestDecoderHoldsNoBuffers(t *testing.T) {
	cd := newTestCodec(1024, 4096, false)
	d := newDecoder(cd, false)
	s := &recSink{}
	msg := cat(cframe(frameOpts{op: ws.OpText}, []byte("ab")), cframe(frameOpts{fin: true, op: ws.OpContinuation}, []byte("cd")))
	if _, _, err := d.feed(msg[:3], s); err != nil {
		t.Fatal(err)
	}
	if d.pend == nil {
		t.Fatal("partial frame not buffered")
	}
	if _, _, err := d.feed(msg[3:9], s); err != nil { // first frame complete (8 bytes) + 1
		t.Fatal(err)
	}
	if d.msg == nil {
		t.Fatal("fragmented message not buffered")
	}
	if _, _, err := d.feed(msg[9:], s); err != nil {
		t.Fatal(err)
	}
	if d.pend != nil || d.msg != nil {
		t.Fatalf("decoder holds buffers after a complete message: pend=%v msg=%v", d.pend != nil, d.msg != nil)
	}
	if len(s.events) != 1 || s.events[0] != "text:abcd" {
		t.Fatalf("events = %q", s.events)
	}
}

// TestInflateBombAllocation checks that a message inflating to 64 MiB costs
// about the message limit in memory, not its inflated size.
func TestInflateBombAllocation(t *testing.T) {
	const limit = 128 << 10
	bomb := deflateRaw(t, make([]byte, 64<<20))
	in := cframe(frameOpts{fin: true, op: ws.OpText, rsv: 4}, bomb)
	cd := newTestCodec(len(bomb)+1, limit, false)
	run := func() uint64 {
		d := newDecoder(cd, true)
		frame := bytes.Clone(in) // unmasked in place
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, _, err := d.feed(frame, &recSink{})
		runtime.ReadMemStats(&after)
		if pe, ok := err.(*protoError); !ok || pe.code != CloseMessageTooBig {
			t.Fatalf("err = %v, want 1009", err)
		}
		return after.TotalAlloc - before.TotalAlloc
	}
	first := run()
	// The first run builds the pooled decompressor (~40 KB plus tables) and
	// the message buffers; nothing may scale with the inflated size.
	if first > 4*limit+256<<10 {
		t.Fatalf("inflating a 64 MiB bomb allocated %d bytes; limit is %d", first, limit)
	}
	t.Logf("bomb of %d compressed bytes: first run allocated %d bytes, second %d", len(bomb), first, run())
}

func FuzzDecoder(f *testing.F) {
	for i, tc := range decodeCases(f) {
		var flags byte
		if tc.deflate {
			flags |= 1
		}
		if tc.rejectBinary {
			flags |= 2
		}
		if len(tc.in) < 64<<10 {
			f.Add(tc.in, flags, uint64(i))
		}
	}
	f.Fuzz(func(t *testing.T, in []byte, flags byte, seed uint64) {
		tc := decodeCase{in: in, deflate: flags&1 != 0, rejectBinary: flags&2 != 0, maxFrame: 256, maxMessage: 1024}
		var ref *recSink
		var refCode int
		for _, how := range []string{"whole", "bytewise", "random"} {
			s, code := runDecoder(tc, splits(in, seed)[how])
			if s.maxMsg > tc.maxMessage {
				t.Fatalf("%s: delivered %d bytes, limit %d", how, s.maxMsg, tc.maxMessage)
			}
			if ref == nil {
				ref, refCode = s, code
				continue
			}
			// How the bytes are split must not change what is decoded.
			if code != refCode || strings.Join(s.events, "|") != strings.Join(ref.events, "|") {
				t.Fatalf("%s differs from whole: code %d vs %d, events %q vs %q", how, code, refCode, s.events, ref.events)
			}
		}
	})
}

func BenchmarkDecodeSmall(b *testing.B) {
	cd := newTestCodec(DefaultMaxFrameSize, DefaultMaxMessageSize, false)
	d := newDecoder(cd, false)
	msg := text(`{"action":"sendmessage","data":"hello world"}`)
	buf := make([]byte, len(msg))
	s := &countSink{}
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		copy(buf, msg) // the decoder unmasks in place
		if _, _, err := d.feed(buf, s); err != nil {
			b.Fatal(err)
		}
	}
	if s.n == 0 {
		b.Fatal("no message decoded")
	}
}

type countSink struct{ n int }

func (s *countSink) onMessage(Opcode, []byte) { s.n++ }
func (s *countSink) onPing([]byte)            {}
func (s *countSink) onPong([]byte)            {}
func (s *countSink) onClose(int, string)      {}
