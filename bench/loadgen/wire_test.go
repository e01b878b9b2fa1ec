package loadgen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"
)

// serverFrame builds an unmasked frame as a server sends it.
func serverFrame(fin bool, op byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	switch n := len(payload); {
	case n <= 125:
		out = append(out, byte(n))
	case n <= 0xffff:
		out = binary.BigEndian.AppendUint16(append(out, 126), uint16(n))
	default:
		out = binary.BigEndian.AppendUint64(append(out, 127), uint64(n))
	}
	return append(out, payload...)
}

// recorder is a frameSink that writes down what it is given.
type recorder struct{ got []string }

func (r *recorder) message(op byte, size int, prefix []byte) {
	r.got = append(r.got, fmt.Sprintf("msg op=%d size=%d prefix=%q", op, size, prefix))
}

func (r *recorder) control(op byte, payload []byte) {
	r.got = append(r.got, fmt.Sprintf("ctl op=%d %q", op, payload))
}

var decoderCases = []struct {
	name   string
	stream []byte
	want   []string
	err    bool
}{
	{
		name:   "one text message",
		stream: serverFrame(true, opText, []byte(`{"t":"123","p":"x"}`)),
		want:   []string{`msg op=1 size=19 prefix="{\"t\":\"123\",\"p\":\"x\"}"`},
	},
	{
		name:   "empty message and a ping",
		stream: append(serverFrame(true, opBinary, nil), serverFrame(true, opPing, []byte("hi"))...),
		want:   []string{`msg op=2 size=0 prefix=""`, `ctl op=9 "hi"`},
	},
	{
		name: "fragments with a control frame between",
		stream: bytes.Join([][]byte{
			serverFrame(false, opText, bytes.Repeat([]byte("a"), 30)),
			serverFrame(true, opPong, nil),
			serverFrame(true, opContinuation, bytes.Repeat([]byte("b"), 30)),
		}, nil),
		want: []string{`ctl op=10 ""`, `msg op=1 size=60 prefix="aaaaaaaaaaaaaaaaaaaaaaaaaaaaaabbbbbbbbbb"`},
	},
	{
		name:   "16-bit length",
		stream: serverFrame(true, opText, bytes.Repeat([]byte("z"), 300)),
		want:   []string{`msg op=1 size=300 prefix="zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"`},
	},
	{
		name:   "64-bit length",
		stream: serverFrame(true, opText, bytes.Repeat([]byte("y"), 70000)),
		want:   []string{`msg op=1 size=70000 prefix="yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"`},
	},
	{
		name:   "close frame",
		stream: serverFrame(true, opClose, []byte{0x03, 0xe9, 'b', 'y', 'e'}),
		want:   []string{`ctl op=8 "\x03\xe9bye"`},
	},
	{name: "masked frame", stream: []byte{0x81, 0x81, 1, 2, 3, 4, 'x'}, err: true},
	{name: "continuation first", stream: serverFrame(true, opContinuation, []byte("x")), err: true},
	{name: "long control frame", stream: serverFrame(true, opPing, bytes.Repeat([]byte("p"), 126)), err: true},
	{
		name:   "message inside a message",
		stream: append(serverFrame(false, opText, []byte("a")), serverFrame(true, opText, []byte("b"))...),
		err:    true,
	},
}

// TestDecoderSplits feeds every case whole, byte by byte and in two parts
// at every split point: the decoder must see the same frames.
func TestDecoderSplits(t *testing.T) {
	for _, tc := range decoderCases {
		t.Run(tc.name, func(t *testing.T) {
			feedAll := func(parts [][]byte) ([]string, error) {
				var d decoder
				var r recorder
				for _, p := range parts {
					if err := d.feed(p, &r); err != nil {
						return r.got, err
					}
				}
				return r.got, nil
			}
			check := func(how string, parts [][]byte) {
				got, err := feedAll(parts)
				if tc.err {
					if !errors.Is(err, errProtocol) {
						t.Fatalf("%s: err %v, want a protocol error", how, err)
					}
					return
				}
				if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Fatalf("%s: got %q, %v; want %q", how, got, err, tc.want)
				}
			}
			check("whole", [][]byte{tc.stream})
			var bytewise [][]byte
			for i := range tc.stream {
				bytewise = append(bytewise, tc.stream[i:i+1])
			}
			if len(tc.stream) < 1000 {
				check("byte by byte", bytewise)
				for i := 1; i < len(tc.stream); i++ {
					check(fmt.Sprintf("split at %d", i), [][]byte{tc.stream[:i], tc.stream[i:]})
				}
			}
		})
	}
}

// FuzzDecoder feeds arbitrary bytes in two parts: the decoder must not
// panic, and a stream it accepts whole it must accept split the same way.
func FuzzDecoder(f *testing.F) {
	for _, tc := range decoderCases {
		f.Add(tc.stream, uint16(len(tc.stream)/2))
	}
	f.Fuzz(func(t *testing.T, stream []byte, cut uint16) {
		if len(stream) > 1<<16 {
			return
		}
		var d1, d2 decoder
		var r1, r2 recorder
		err1 := d1.feed(stream, &r1)
		c := int(cut) % (len(stream) + 1)
		err2 := d2.feed(stream[:c], &r2)
		if err2 == nil {
			err2 = d2.feed(stream[c:], &r2)
		}
		if (err1 == nil) != (err2 == nil) || err1 == nil && fmt.Sprint(r1.got) != fmt.Sprint(r2.got) {
			t.Fatalf("whole: %q, %v; split at %d: %q, %v", r1.got, err1, c, r2.got, err2)
		}
	})
}

func TestAppendFrameMasks(t *testing.T) {
	for _, n := range []int{0, 5, 125, 126, 65535, 65536} {
		payload := bytes.Repeat([]byte{0xa5}, n)
		f := appendFrame(nil, opText, payload, 0x01020304)
		if f[0] != 0x81 || f[1]&0x80 == 0 {
			t.Fatalf("%d bytes: header %x", n, f[:2])
		}
		hl := 2
		switch f[1] & 0x7f {
		case 126:
			hl = 4
		case 127:
			hl = 10
		}
		mask := f[hl : hl+4]
		body := f[hl+4:]
		if len(body) != n {
			t.Fatalf("%d bytes: body of %d", n, len(body))
		}
		for i := range body {
			if body[i]^mask[i&3] != 0xa5 {
				t.Fatalf("%d bytes: byte %d does not unmask", n, i)
			}
		}
	}
}

func TestCheckSwitching(t *testing.T) {
	key := "dGhlIHNhbXBsZSBub25jZQ=="
	ok := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
	if err := checkSwitching([]byte(ok), key); err != nil {
		t.Fatalf("the RFC's example: %v", err)
	}
	for _, tc := range []struct {
		name string
		resp string
		err  error
	}{
		{name: "refused", resp: "HTTP/1.1 403 Forbidden\r\n", err: &statusError{}},
		{name: "wrong accept", resp: "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: nope\r\n", err: errHandshake},
		{name: "no accept", resp: "HTTP/1.1 101 Switching Protocols\r\n", err: errHandshake},
		{name: "garbage", resp: "SSH-2.0\r\n", err: errHandshake},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkSwitching([]byte(tc.resp), key)
			var se *statusError
			if _, want := tc.err.(*statusError); want {
				if !errors.As(err, &se) || se.status != 403 {
					t.Fatalf("err %v, want status 403", err)
				}
				return
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
		})
	}
}

func TestPayloads(t *testing.T) {
	now := time.Unix(1700000000, 123456789)
	for _, size := range []int{40, 100, 1000} {
		p := stampedPayload(now, size)
		if len(p) != size {
			t.Errorf("stamped payload of %d bytes has %d", size, len(p))
		}
		ts, ok := parseStamp(p[:min(len(p), prefixLen)])
		if !ok || ts != now.UnixNano() {
			t.Errorf("stamp %d, %v; want %d", ts, ok, now.UnixNano())
		}
		e := echoPayload("echo", size)
		if len(e) != size || !bytes.HasPrefix(e, []byte(`{"action":"echo",`)) {
			t.Errorf("echo payload %q", e)
		}
	}
	if _, ok := parseStamp([]byte(`{"message": "Forbidden"}`)); ok {
		t.Error("an error frame parsed as stamped")
	}
}

func TestErrKind(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{name: "status", err: fmt.Errorf("dial: %w", &statusError{status: 403}), want: "connect: HTTP 403"},
		{name: "handshake", err: fmt.Errorf("%w: wrong Sec-WebSocket-Accept", errHandshake), want: "connect: bad handshake response"},
		{name: "unknown", err: errors.New("boom"), want: "connect: other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errKind("connect", tc.err); got != tc.want {
				t.Errorf("errKind = %q, want %q", got, tc.want)
			}
		})
	}
}
