package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lesismal/nbio"
	"golang.org/x/sys/unix"
)

// Worker holds client connections in one process and runs the steps of a
// scenario on them when told (Do). The coordinator drives one Worker in its
// own process and, when more connections are needed than one process may
// hold, more of them in child processes (RunWorker).
type Worker struct {
	o      WorkerOptions
	log    *slog.Logger
	eng    *nbio.Engine
	epoch  time.Time
	dialer dialer
	dials  atomic.Uint64 // rotates source addresses

	mu      sync.Mutex
	conns   []*clientConn
	stalled []*net.TCPConn
	closed  bool

	errs errCounts
	// lost counts connections the server closed while they were in use.
	lost atomic.Int64

	mode atomic.Int32

	// Echo step.
	echoFrom, echoUntil atomic.Int64 // mono
	echoHist            atomic.Pointer[Hist]
	echoCount           atomic.Int64
	echoBusy            atomic.Int64 // connections awaiting a reply
	echoMsg             atomic.Pointer[[]byte]

	// Receive step (push, fan-out).
	recvHist  atomic.Pointer[Hist]
	recvCount atomic.Int64
	recvFirst atomic.Int64 // wall-clock ns
	recvLast  atomic.Int64

	bufs sync.Pool // *[]byte frame buffers
}

// Worker modes: what a received message means.
const (
	modeIdle int32 = iota
	modeEcho
	modeRecv
)

// WorkerOptions configure a Worker.
type WorkerOptions struct {
	// Sources are the client source addresses, used in turn.
	Sources []netip.Addr
	// MaxConns is how many connections this process may hold (its open
	// files limit minus a reserve).
	MaxConns int
	// Pollers is the number of epoll goroutines; default 2.
	Pollers int
	Log     *slog.Logger
}

// clientConn is one client connection in the poller.
type clientConn struct {
	w       *Worker
	nc      *nbio.Conn
	dec     decoder // only touched by the poller goroutine
	idx     int     // in w.conns; under w.mu
	mask    atomic.Uint32
	sentAt  atomic.Int64 // mono time of the echo awaiting its reply
	waiting atomic.Bool  // an echo awaits its reply
	closing atomic.Bool  // we sent a close frame
	done    atomic.Bool  // the transport reported its end
}

// NewWorker starts a worker's poller.
func NewWorker(o WorkerOptions) (*Worker, error) {
	if o.Pollers <= 0 {
		o.Pollers = 2
	}
	if o.MaxConns <= 0 {
		o.MaxConns = PerProcessLimit()
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Worker{o: o, log: log, epoch: time.Now(), dialer: dialer{sources: o.Sources, timeout: 10 * time.Second}}
	w.bufs.New = func() any { b := make([]byte, 0, 512); return &b }
	w.eng = nbio.NewEngine(nbio.Config{Name: "loadgen", NPoller: o.Pollers, ReadBufferSize: 64 << 10})
	w.eng.OnData(w.onData)
	w.eng.OnClose(w.onClose)
	if err := w.eng.Start(); err != nil {
		return nil, fmt.Errorf("start client poller: %w", err)
	}
	return w, nil
}

// mono returns the worker's monotonic clock in nanoseconds.
func (w *Worker) mono() int64 { return int64(time.Since(w.epoch)) }

// Len returns the number of open connections.
func (w *Worker) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.conns)
}

// Close closes every connection at once and stops the poller.
func (w *Worker) Close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	conns := w.conns
	w.conns = nil
	stalled := w.stalled
	w.stalled = nil
	w.mu.Unlock()
	for _, cc := range conns {
		cc.closing.Store(true)
		_ = cc.nc.Close()
	}
	for _, c := range stalled {
		_ = c.Close()
	}
	w.eng.Stop()
}

// Command is one step a Worker runs; Op selects it. Durations are in
// nanoseconds on the wire.
type Command struct {
	Op          string        `json:"op"`
	Target      string        `json:"target,omitempty"`
	N           int           `json:"n,omitempty"`
	Concurrency int           `json:"concurrency,omitempty"`
	Timeout     time.Duration `json:"timeout,omitempty"`
	Action      string        `json:"action,omitempty"`
	Size        int           `json:"size,omitempty"`
	Warmup      time.Duration `json:"warmup,omitempty"`
	Duration    time.Duration `json:"duration,omitempty"`
	Rate        float64       `json:"rate,omitempty"`
	Bytes       int64         `json:"bytes,omitempty"`
	Fill        int           `json:"fill,omitempty"`
	WithDist    bool          `json:"withDist,omitempty"`
}

// Worker operations.
const (
	OpOpen      = "open"       // open N connections to Target
	OpClose     = "close"      // close N connections (closing handshake)
	OpEcho      = "echo"       // closed-loop echo on every connection
	OpRecvReset = "recv-reset" // start counting received messages
	OpRecvStats = "recv-stats" // report received messages
	OpStall     = "stall"      // open N connections that never read, and fill their queues
	OpUnstall   = "unstall"    // close the stalled connections
	OpChurn     = "churn"      // connect and disconnect at Rate for Duration
	OpExit      = "exit"       // close everything (child processes exit)
)

// Reply is a step's outcome. Errors are those counted since the previous
// reply.
type Reply struct {
	Err      string            `json:"err,omitempty"`
	Conns    int               `json:"conns"`
	Opened   int               `json:"opened,omitempty"`
	Failed   int               `json:"failed,omitempty"`
	StartNs  int64             `json:"startNs,omitempty"`
	EndNs    int64             `json:"endNs,omitempty"`
	Connect  Dist              `json:"connect"`
	Count    int64             `json:"count,omitempty"`
	Lat      Dist              `json:"lat"`
	FirstNs  int64             `json:"firstNs,omitempty"`
	LastNs   int64             `json:"lastNs,omitempty"`
	Unread   int64             `json:"unread,omitempty"`
	Lost     int64             `json:"lost,omitempty"`
	Errors   map[string]int64  `json:"errors,omitempty"`
	Examples map[string]string `json:"examples,omitempty"`
}

// Do runs one command.
func (w *Worker) Do(ctx context.Context, c Command) Reply {
	var r Reply
	switch c.Op {
	case OpOpen:
		r = w.open(ctx, c)
	case OpClose:
		r = w.closeConns(c)
	case OpEcho:
		r = w.echo(ctx, c)
	case OpRecvReset:
		w.recvReset()
	case OpRecvStats:
		r = w.recvStats(c.WithDist)
	case OpStall:
		r = w.stall(ctx, c)
	case OpUnstall:
		w.unstall()
	case OpChurn:
		r = w.churn(ctx, c)
	case OpExit:
		w.Close()
	default:
		r.Err = fmt.Sprintf("unknown worker operation %q", c.Op)
	}
	r.Conns = w.Len()
	r.Errors, r.Examples = w.errs.take()
	r.Lost = w.lost.Swap(0)
	return r
}

// wsTarget checks a command's target.
func wsTarget(raw string) (*url.URL, error) {
	return CheckURL(raw, "ws")
}

// open opens c.N connections with c.Concurrency handshakes at a time.
func (w *Worker) open(ctx context.Context, c Command) Reply {
	u, err := wsTarget(c.Target)
	if err != nil {
		return Reply{Err: err.Error()}
	}
	if have := w.Len(); have+c.N > w.o.MaxConns {
		return Reply{Err: fmt.Sprintf("this process may hold at most %d connections (open files limit) and has %d; %d more do not fit", w.o.MaxConns, have, c.N)}
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	path := u.RequestURI()
	var (
		hist           Hist
		next, opened   atomic.Int64
		failed         atomic.Int64
		wg             sync.WaitGroup
		start          = time.Now()
		conc           = min(max(c.Concurrency, 1), max(c.N, 1))
		maxConsecutive = int64(1000) // give up after this many failures in a row
		streak         atomic.Int64
	)
	for range conc {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(c.N) || ctx.Err() != nil || streak.Load() >= maxConsecutive {
					return
				}
				t0 := time.Now()
				if err := w.dialOne(ctx, u.Host, path); err != nil {
					failed.Add(1)
					streak.Add(1)
					w.errs.add("connect", err)
					continue
				}
				streak.Store(0)
				hist.Record(time.Since(t0))
				opened.Add(1)
			}
		})
	}
	wg.Wait()
	end := time.Now()
	r := Reply{Opened: int(opened.Load()), Failed: int(failed.Load()), StartNs: start.UnixNano(), EndNs: end.UnixNano(), Connect: hist.Dist()}
	if missing := c.N - r.Opened - r.Failed; missing > 0 {
		r.Failed += missing
		reason := "connect: not attempted (deadline passed)"
		if streak.Load() >= maxConsecutive {
			reason = "connect: not attempted (too many failures in a row)"
		}
		w.errs.addKind(reason, fmt.Sprintf("%d connections", missing))
	}
	return r
}

// dialOne opens one connection and hands it to the poller.
func (w *Worker) dialOne(ctx context.Context, host, path string) error {
	tcp, err := w.dialer.dial(ctx, host, int(w.dials.Add(1)))
	if err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	rest, err := handshake(tcp, host, path, deadline)
	if err != nil {
		_ = tcp.Close()
		return err
	}
	nc, err := nbio.NBConn(tcp) // dups the descriptor and closes tcp
	if err != nil {
		_ = tcp.Close()
		return err
	}
	// The dup lacks close-on-exec; a worker process started later must not
	// inherit the socket. (On Unix an nbio.Conn's Hash is its descriptor.)
	syscall.CloseOnExec(nc.Hash())
	cc := &clientConn{w: w, nc: nc}
	cc.mask.Store(rand.Uint32())
	nc.SetSession(cc)
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		_ = nc.Close()
		return net.ErrClosed
	}
	cc.idx = len(w.conns)
	w.conns = append(w.conns, cc)
	w.mu.Unlock()
	if len(rest) > 0 {
		if err := cc.dec.feed(rest, cc); err != nil {
			w.errs.add("read", err)
		}
	}
	if _, err := w.eng.AddConn(nc); err != nil {
		w.remove(cc)
		_ = nc.Close()
		return err
	}
	return nil
}

// remove takes cc out of the connection list.
func (w *Worker) remove(cc *clientConn) {
	w.mu.Lock()
	defer w.mu.Unlock()
	i := cc.idx
	if i < 0 || i >= len(w.conns) || w.conns[i] != cc {
		return
	}
	last := len(w.conns) - 1
	w.conns[i] = w.conns[last]
	w.conns[i].idx = i
	w.conns[last] = nil
	w.conns = w.conns[:last]
	cc.idx = -1
}

// take removes up to n connections from the list and returns them.
func (w *Worker) take(n int) []*clientConn {
	w.mu.Lock()
	defer w.mu.Unlock()
	n = min(n, len(w.conns))
	out := make([]*clientConn, n)
	copy(out, w.conns[len(w.conns)-n:])
	for i := len(w.conns) - n; i < len(w.conns); i++ {
		w.conns[i].idx = -1
		w.conns[i] = nil
	}
	w.conns = w.conns[:len(w.conns)-n]
	return out
}

// snapshot returns the open connections.
func (w *Worker) snapshot() []*clientConn {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*clientConn(nil), w.conns...)
}

// closeConns closes c.N connections with a closing handshake: the server
// answers our close frame and closes TCP first, so TIME_WAIT stays on its
// side and the load generator's ports are free again at once.
func (w *Worker) closeConns(c Command) Reply {
	cs := w.take(c.N)
	for _, cc := range cs {
		cc.closing.Store(true)
		if _, err := cc.nc.Write(closeFrame(1000, cc.nextMask())); err != nil {
			_ = cc.nc.Close()
		}
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	deadline := time.Now().Add(timeout)
	pending := cs
	for len(pending) > 0 && time.Now().Before(deadline) {
		rest := pending[:0]
		for _, cc := range pending {
			if !cc.done.Load() {
				rest = append(rest, cc)
			}
		}
		pending = rest
		if len(pending) > 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, cc := range pending {
		_ = cc.nc.Close()
	}
	if len(pending) > 0 {
		w.errs.addKind("close: no answer to our close frame in time", fmt.Sprintf("%d connections closed without it", len(pending)))
	}
	return Reply{Count: int64(len(cs))}
}

// nextMask returns a masking key. Servers only unmask, so a Weyl sequence
// from a random start is enough for a load generator.
func (cc *clientConn) nextMask() uint32 {
	return cc.mask.Add(0x9e3779b9)
}

// nbio callbacks.

func (w *Worker) onData(nc *nbio.Conn, data []byte) {
	cc, ok := nc.Session().(*clientConn)
	if !ok {
		return
	}
	if err := cc.dec.feed(data, cc); err != nil {
		w.errs.add("read", err)
		_ = nc.Close()
	}
}

func (w *Worker) onClose(nc *nbio.Conn, err error) {
	cc, ok := nc.Session().(*clientConn)
	if !ok {
		return
	}
	if cc.done.Swap(true) {
		return
	}
	if !cc.closing.Load() {
		w.remove(cc)
		w.lost.Add(1)
		if err == nil {
			err = io.EOF
		}
		w.errs.add("connection lost", err)
	}
	if cc.waiting.Swap(false) {
		w.echoBusy.Add(-1)
	}
}

// message implements frameSink.
func (cc *clientConn) message(op byte, size int, prefix []byte) {
	w := cc.w
	switch w.mode.Load() {
	case modeEcho:
		if !cc.waiting.Swap(false) {
			w.errs.addKind("echo: unexpected message", string(prefix))
			return
		}
		if isErrorFrame(prefix) {
			w.errs.addKind("echo: error frame from the server", string(prefix))
		}
		now := w.mono()
		if sent := cc.sentAt.Load(); sent >= w.echoFrom.Load() && now <= w.echoUntil.Load() {
			w.echoHist.Load().Record(time.Duration(now - sent))
			w.echoCount.Add(1)
		}
		if now < w.echoUntil.Load() {
			cc.sendEcho()
			return
		}
		w.echoBusy.Add(-1)
	case modeRecv:
		now := time.Now().UnixNano()
		if ts, ok := parseStamp(prefix); ok {
			w.recvHist.Load().Record(time.Duration(now - ts))
		}
		w.recvCount.Add(1)
		w.recvFirst.CompareAndSwap(0, now)
		for {
			l := w.recvLast.Load()
			if now <= l || w.recvLast.CompareAndSwap(l, now) {
				break
			}
		}
	default:
		w.errs.addKind("idle: unexpected message", string(prefix))
	}
}

// isErrorFrame reports whether a message is one of API Gateway's error
// frames ({"message": "Forbidden", …}).
func isErrorFrame(prefix []byte) bool {
	const p = `{"message"`
	return len(prefix) >= len(p) && string(prefix[:len(p)]) == p
}

// control implements frameSink.
func (cc *clientConn) control(op byte, payload []byte) {
	switch op {
	case opPing:
		b := cc.w.bufs.Get().(*[]byte)
		*b = appendFrame((*b)[:0], opPong, payload, cc.nextMask())
		_, _ = cc.nc.Write(*b)
		cc.w.bufs.Put(b)
	case opClose:
		if !cc.closing.Load() {
			// The server closed: answer, as RFC 6455 asks; it closes TCP.
			cc.closing.Store(true)
			cc.w.remove(cc)
			cc.w.lost.Add(1)
			code := "none"
			if len(payload) >= 2 {
				code = fmt.Sprint(int(payload[0])<<8 | int(payload[1]))
			}
			cc.w.errs.addKind("connection closed by the server with code "+code, string(payload))
			_, _ = cc.nc.Write(closeFrame(1000, cc.nextMask()))
		}
	}
}

// sendEcho sends the echo message and notes when.
func (cc *clientConn) sendEcho() {
	w := cc.w
	msg := *w.echoMsg.Load()
	b := w.bufs.Get().(*[]byte)
	*b = appendFrame((*b)[:0], opText, msg, cc.nextMask())
	cc.waiting.Store(true)
	cc.sentAt.Store(w.mono())
	if _, err := cc.nc.Write(*b); err != nil {
		if cc.waiting.Swap(false) {
			w.echoBusy.Add(-1)
		}
		w.errs.add("echo", err)
	}
	if cap(*b) <= 64<<10 {
		w.bufs.Put(b)
	}
}

// echo runs a closed loop on every connection: each sends a message, and
// sends the next as soon as the answer arrives, for c.Warmup + c.Duration.
// Round trips completed during Duration are counted and timed.
func (w *Worker) echo(ctx context.Context, c Command) Reply {
	conns := w.snapshot()
	msg := echoPayload(c.Action, c.Size)
	w.echoMsg.Store(&msg)
	hist := new(Hist)
	w.echoHist.Store(hist)
	w.echoCount.Store(0)
	now := w.mono()
	w.echoFrom.Store(now + int64(c.Warmup))
	w.echoUntil.Store(now + int64(c.Warmup+c.Duration))
	w.echoBusy.Store(int64(len(conns)))
	w.mode.Store(modeEcho)
	defer w.mode.Store(modeIdle)
	for _, cc := range conns {
		cc.sendEcho()
	}
	end := time.Now().Add(c.Warmup + c.Duration)
	t := time.NewTimer(time.Until(end))
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
	}
	// Let the answers in flight arrive (bounded).
	drain := time.Now().Add(5 * time.Second)
	for w.echoBusy.Load() > 0 && time.Now().Before(drain) {
		time.Sleep(2 * time.Millisecond)
	}
	if n := w.echoBusy.Load(); n > 0 {
		w.errs.addKind("echo: no answer within 5s after the end", fmt.Sprintf("%d connections", n))
	}
	return Reply{Count: w.echoCount.Load(), Lat: hist.Dist()}
}

// recvReset starts counting received messages (push, fan-out).
func (w *Worker) recvReset() {
	w.recvHist.Store(new(Hist))
	w.recvCount.Store(0)
	w.recvFirst.Store(0)
	w.recvLast.Store(0)
	w.mode.Store(modeRecv)
}

func (w *Worker) recvStats(withDist bool) Reply {
	r := Reply{Count: w.recvCount.Load(), FirstNs: w.recvFirst.Load(), LastNs: w.recvLast.Load()}
	if h := w.recvHist.Load(); withDist && h != nil {
		r.Lat = h.Dist()
	}
	return r
}

// stall opens c.N connections that never read, and fills each one's
// queues: it sends c.Bytes of c.Size-byte messages to c.Action (an echo
// route), whose answers pile up in the socket buffers and then in the
// server's send queue, then 64 KiB of c.Fill-byte messages so that not even
// a message of that size fits any more. It returns once the unread bytes
// stop growing.
func (w *Worker) stall(ctx context.Context, c Command) Reply {
	u, err := wsTarget(c.Target)
	if err != nil {
		return Reply{Err: err.Error()}
	}
	size := min(max(c.Size, 64), 32000)
	msg := echoPayload(c.Action, size)
	var r Reply
	for i := 0; i < c.N; i++ {
		tcp, err := w.dialer.dial(ctx, u.Host, int(w.dials.Add(1)))
		if err != nil {
			w.errs.add("stall", err)
			continue
		}
		if _, err := handshake(tcp, u.Host, u.RequestURI(), time.Now().Add(10*time.Second)); err != nil {
			w.errs.add("stall", err)
			_ = tcp.Close()
			continue
		}
		w.mu.Lock()
		w.stalled = append(w.stalled, tcp)
		w.mu.Unlock()
		// Large messages fill the buffers and most of the queue; then small
		// ones (of the fan-out size) fill what is left of it to the byte.
		big := appendFrame(nil, opText, msg, rand.Uint32())
		small := appendFrame(nil, opText, echoPayload(c.Action, max(c.Fill, 40)), rand.Uint32())
		_ = tcp.SetWriteDeadline(time.Now().Add(30 * time.Second))
		for sent := int64(0); sent < c.Bytes+64<<10; {
			frame := big
			if sent >= c.Bytes {
				frame = small
			}
			if _, err := tcp.Write(frame); err != nil {
				w.errs.add("stall", err)
				break
			}
			sent += int64(len(frame))
		}
		_ = tcp.SetWriteDeadline(time.Time{})
		r.Opened++
		r.Unread += settledUnread(tcp)
	}
	return r
}

// settledUnread waits (at most 10s) until the bytes waiting in c's receive
// buffer stop growing, and returns them.
func settledUnread(c *net.TCPConn) int64 {
	raw, err := c.SyscallConn()
	if err != nil {
		return -1
	}
	read := func() int64 {
		var n int
		_ = raw.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ) })
		return int64(n)
	}
	last, stable := read(), 0
	for deadline := time.Now().Add(10 * time.Second); stable < 6 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		n := read()
		if n == last {
			stable++
		} else {
			stable, last = 0, n
		}
	}
	return last
}

func (w *Worker) unstall() {
	w.mu.Lock()
	s := w.stalled
	w.stalled = nil
	w.mu.Unlock()
	for _, c := range s {
		_ = c.Close()
	}
}

// churn opens and closes connections at c.Rate per second for c.Duration,
// at most c.Concurrency at a time; each completes a closing handshake.
func (w *Worker) churn(ctx context.Context, c Command) Reply {
	u, err := wsTarget(c.Target)
	if err != nil {
		return Reply{Err: err.Error()}
	}
	if c.Rate <= 0 || c.Duration <= 0 {
		return Reply{Err: "churn needs a rate and a duration"}
	}
	var (
		hist         Hist
		opened, fail atomic.Int64
		wg           sync.WaitGroup
		sem          = make(chan struct{}, max(c.Concurrency, 1))
		start        = time.Now()
		total        = int(c.Rate * c.Duration.Seconds())
		behind       int
	)
	ctx, cancel := context.WithTimeout(ctx, c.Duration+30*time.Second)
	defer cancel()
	for i := 0; i < total && ctx.Err() == nil; i++ {
		due := start.Add(time.Duration(float64(i) / c.Rate * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		select {
		case sem <- struct{}{}:
		default:
			behind++ // all slots busy: the server is slower than the rate
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				continue
			}
		}
		wg.Go(func() {
			defer func() { <-sem }()
			t0 := time.Now()
			if err := w.cycle(ctx, u); err != nil {
				fail.Add(1)
				w.errs.add("churn", err)
				return
			}
			hist.Record(time.Since(t0))
			opened.Add(1)
		})
	}
	wg.Wait()
	if behind > 0 {
		w.errs.addKind("churn: behind schedule (all slots busy)", fmt.Sprintf("%d times", behind))
	}
	return Reply{Opened: int(opened.Load()), Failed: int(fail.Load()), StartNs: start.UnixNano(), EndNs: time.Now().UnixNano(), Connect: hist.Dist()}
}

// cycle connects, completes the closing handshake and disconnects.
func (w *Worker) cycle(ctx context.Context, u *url.URL) error {
	tcp, err := w.dialer.dial(ctx, u.Host, int(w.dials.Add(1)))
	if err != nil {
		return err
	}
	defer tcp.Close()
	deadline := time.Now().Add(10 * time.Second)
	if _, err := handshake(tcp, u.Host, u.RequestURI(), deadline); err != nil {
		return err
	}
	if _, err := tcp.Write(closeFrame(1000, rand.Uint32())); err != nil {
		return err
	}
	// The server answers with its close frame and closes TCP: read to EOF.
	_ = tcp.SetReadDeadline(deadline)
	var buf [256]byte
	for range 1024 {
		if _, err := tcp.Read(buf[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
	return errors.New("server kept sending after our close frame")
}

// RunWorker serves a coordinator over pipes: one JSON Command per line on
// in, one JSON Reply per line on out (file descriptor 3 of a worker
// process), until OpExit or the end of in (the
// coordinator is gone), then closes every connection.
func RunWorker(ctx context.Context, in io.Reader, out io.Writer, o WorkerOptions) error {
	w, err := NewWorker(o)
	if err != nil {
		return err
	}
	defer w.Close()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	enc := json.NewEncoder(out)
	for sc.Scan() {
		var c Command
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return fmt.Errorf("worker: bad command: %w", err)
		}
		r := w.Do(ctx, c)
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("worker: write reply: %w", err)
		}
		if c.Op == OpExit {
			return nil
		}
	}
	return sc.Err()
}
