package wsconn

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/lesismal/nbio"
)

// pollerProbe is the nbio session of a probe connection: OnData signals it.
type pollerProbe chan struct{}

// pollerStartTimeout bounds awaitPollers.
const pollerStartTimeout = 10 * time.Second

// awaitPollers returns once every poller goroutine has handled an event.
//
// nbio's poller clears its stop flag when its goroutine starts, so an
// Engine.Stop that comes before that is lost and the poller spins forever
// (and Stop never returns). Start therefore sends one byte over a socket
// pair to each poller and waits for it to arrive.
func (e *Engine) awaitPollers() error {
	n := e.opts.Pollers
	probes := make([]*nbio.Conn, n)
	peers := make([]int, n)
	signals := make([]pollerProbe, n)
	// A probe that reached an already probed poller stays open until the
	// end, with one more descriptor, or the next pair would get the same
	// numbers again (a pair takes two, so the poller would not change).
	var spare []*nbio.Conn
	var spareFDs []int
	defer func() {
		for i, nc := range probes {
			if nc != nil {
				_ = nc.Close()
				_ = syscall.Close(peers[i])
			}
		}
		for _, nc := range spare {
			_ = nc.Close()
		}
		for _, fd := range spareFDs {
			_ = syscall.Close(fd)
		}
	}()
	found := 0
	// Which poller gets a conn depends on its descriptor number, so a few
	// more pairs than pollers may be needed to reach them all.
	for try := 0; found < n && try < 16*n+16; try++ {
		nc, peer, err := probeConn()
		if err != nil {
			return err
		}
		i := nc.Hash() % n
		if probes[i] != nil {
			spare = append(spare, nc)
			spareFDs = append(spareFDs, peer)
			if fd, err := syscall.Dup(peer); err == nil {
				spareFDs = append(spareFDs, fd)
			}
			continue
		}
		signals[i] = make(pollerProbe, 1)
		nc.SetSession(signals[i])
		if _, err := e.nb.AddConn(nc); err != nil {
			_ = syscall.Close(peer)
			return fmt.Errorf("add probe: %w", err)
		}
		probes[i], peers[i] = nc, peer
		found++
		if _, err := syscall.Write(peer, []byte{0}); err != nil {
			return fmt.Errorf("write probe: %w", err)
		}
	}
	if found < n {
		return errors.New("no probe reached every poller")
	}
	timeout := time.After(pollerStartTimeout)
	for _, s := range signals {
		select {
		case <-s:
		case <-timeout:
			return errors.New("pollers did not start")
		}
	}
	return nil
}

// probeConn returns an nbio conn over one end of a socket pair, and the
// other end's descriptor.
func probeConn() (*nbio.Conn, int, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("probe socketpair: %w", err)
	}
	f := os.NewFile(uintptr(fds[0]), "wsconn-probe")
	fc, err := net.FileConn(f) // dups fds[0]
	_ = f.Close()
	if err != nil {
		_ = syscall.Close(fds[1])
		return nil, 0, fmt.Errorf("probe conn: %w", err)
	}
	nc, err := nbio.NBConn(fc) // dups again and closes fc
	if err != nil {
		_ = fc.Close()
		_ = syscall.Close(fds[1])
		return nil, 0, fmt.Errorf("probe conn: %w", err)
	}
	return nc, fds[1], nil
}
