package wsconn

import (
	"net"
	"sync"
)

// streamReadBuffer is the per-connection read buffer of fallback conns.
const streamReadBuffer = 4 << 10

// streamConn carries a Conn over a net.Conn that cannot be handed to a poller
// (a *tls.Conn, say): a reader goroutine feeds the decoder, and a writer
// goroutine runs while output is queued, so Write never blocks either.
type streamConn struct {
	c  *Conn
	nc net.Conn

	mu      sync.Mutex
	queue   []*[]byte // pooled copies of what Write was given
	writing bool      // a writeLoop goroutine is running
	closed  bool
}

// Write queues a copy of b for the writer goroutine.
func (s *streamConn) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, net.ErrClosed
	}
	buf := s.c.e.cd.bufs.get(len(b))
	*buf = append(*buf, b...)
	s.queue = append(s.queue, buf)
	if !s.writing {
		s.writing = true
		s.c.e.wg.Go(s.writeLoop)
	}
	return len(b), nil
}

// writeLoop writes the queue until it is empty or the connection fails.
func (s *streamConn) writeLoop() {
	bufs := &s.c.e.cd.bufs
	for {
		s.mu.Lock()
		q := s.queue
		s.queue = nil
		if len(q) == 0 || s.closed {
			s.writing = false
			s.mu.Unlock()
			for _, b := range q {
				bufs.put(b)
			}
			s.c.closeIfFlushed()
			return
		}
		s.mu.Unlock()
		for i, b := range q {
			n, err := s.nc.Write(*b)
			s.c.pending.Add(-int64(n))
			bufs.put(b)
			q[i] = nil
			if err != nil {
				for _, r := range q[i+1:] {
					bufs.put(r)
				}
				_ = s.Close() // the reader then sees the error and finishes the conn
				s.mu.Lock()
				s.writing = false
				for _, r := range s.queue {
					bufs.put(r)
				}
				s.queue = nil
				s.mu.Unlock()
				return
			}
		}
	}
}

// Close closes the net.Conn, which ends both goroutines.
func (s *streamConn) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	return s.nc.Close()
}

func (s *streamConn) RemoteAddr() net.Addr { return s.nc.RemoteAddr() }

// readLoop feeds what the client sends to the decoder until the connection
// ends, then reports the end.
func (s *streamConn) readLoop() {
	c := s.c
	buf := make([]byte, streamReadBuffer)
	for {
		n, err := s.nc.Read(buf)
		if n > 0 {
			c.rmu.Lock()
			c.onData(buf[:n])
			c.rmu.Unlock()
		}
		if err != nil {
			break
		}
	}
	_ = s.Close()
	c.finish()
}
