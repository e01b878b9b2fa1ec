package wsconn

import (
	"bytes"
	"compress/flate"
	"io"
	"sync"

	"github.com/gobwas/ws/wsflate"
)

// codec is what all connections of an engine share for framing: the limits
// and the pools of buffers, inflaters and deflaters.
type codec struct {
	maxFrame     int64
	maxMessage   int
	rejectBinary bool
	compressMin  int // outgoing messages shorter than this are not compressed
	outFrame     int // outgoing frame payload limit; 0 = one frame per message

	bufs      bufPool
	inflaters sync.Pool // *inflater
	deflaters sync.Pool // *deflater
}

// inflater decompresses one permessage-deflate message at a time. wsflate's
// reader appends the empty final block that RFC 7692 senders strip.
type inflater struct {
	src bytes.Reader
	r   *wsflate.Reader
}

// flateReader lets wsflate.Reader reuse its compress/flate decompressor:
// flate.Resetter's Reset takes a dictionary too, so without this adapter
// wsflate.Reader.Reset would build a new ~40 KB decompressor per message.
type flateReader struct{ io.ReadCloser }

func (f flateReader) Reset(r io.Reader) {
	_ = f.ReadCloser.(flate.Resetter).Reset(r, nil)
}

func newFlateReader(r io.Reader) wsflate.Decompressor {
	return flateReader{flate.NewReader(r)}
}

// maxZeroReads bounds a decompressor that keeps returning (0, nil).
const maxZeroReads = 64

// inflate decompresses in into a pooled buffer. Output is read into a buffer
// capped at maxMessage, so a deflate bomb costs at most that much memory; one
// more byte of output means the message is too big.
func (cd *codec) inflate(in []byte) (*[]byte, error) {
	z, _ := cd.inflaters.Get().(*inflater)
	if z == nil {
		z = &inflater{}
		z.r = wsflate.NewReader(&z.src, newFlateReader)
	}
	z.src.Reset(in)
	z.r.Reset(&z.src)
	defer func() {
		z.src.Reset(nil)
		cd.inflaters.Put(z)
	}()

	limit := cd.maxMessage
	out := cd.bufs.get(min(limit, max(4*len(in), 512)))
	zero := 0
	for {
		b := *out
		var n int
		var err error
		if len(b) >= limit {
			var probe [1]byte
			n, err = z.r.Read(probe[:])
			if n > 0 {
				cd.bufs.put(out)
				return nil, errMessageTooBig
			}
		} else {
			if len(b) == cap(b) {
				out = cd.bufs.grow(out, 1, limit)
				b = *out
			}
			n, err = z.r.Read(b[len(b):min(cap(b), limit)])
			*out = b[:len(b)+n]
		}
		switch {
		case err == io.EOF:
			return out, nil
		case err != nil:
			cd.bufs.put(out)
			return nil, errBadDeflate
		case n == 0:
			zero++
			if zero > maxZeroReads {
				cd.bufs.put(out)
				return nil, errBadDeflate
			}
		default:
			zero = 0
		}
	}
}

// deflater compresses one outgoing message at a time into a pooled buffer.
// wsflate's writer strips the 0x00 0x00 0xff 0xff tail of the sync flush.
type deflater struct {
	out poolWriter
	w   *wsflate.Writer
}

// poolWriter appends to a buffer from a bufPool.
type poolWriter struct {
	pool *bufPool
	b    *[]byte
}

func (w *poolWriter) Write(p []byte) (int, error) {
	w.b = w.pool.grow(w.b, len(p), len(*w.b)+len(p))
	*w.b = append(*w.b, p...)
	return len(p), nil
}

func newFlateWriter(w io.Writer) wsflate.Compressor {
	// BestSpeed: the gateway relays small JSON messages; the ratio gained by
	// higher levels is not worth the CPU.
	fw, _ := flate.NewWriter(w, flate.BestSpeed)
	return fw
}

// deflate compresses data, or returns nil when that would not make it
// smaller (the message is then sent uncompressed).
func (cd *codec) deflate(data []byte) *[]byte {
	z, _ := cd.deflaters.Get().(*deflater)
	if z == nil {
		z = &deflater{out: poolWriter{pool: &cd.bufs}}
		z.out.b = cd.bufs.get(len(data)/2 + 64)
		z.w = wsflate.NewWriter(&z.out, newFlateWriter)
	} else {
		z.out.b = cd.bufs.get(len(data)/2 + 64)
		z.w.Reset(&z.out)
	}
	defer cd.deflaters.Put(z)
	_, werr := z.w.Write(data)
	ferr := z.w.Flush()
	res := z.out.b
	z.out.b = nil
	if werr != nil || ferr != nil || len(*res) >= len(data) {
		cd.bufs.put(res)
		return nil
	}
	return res
}
