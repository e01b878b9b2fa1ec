package boltstore_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/store"
	"github.com/wsgate/wsgate/internal/store/boltstore"
	"github.com/wsgate/wsgate/internal/store/storetest"
)

// testWatchLag keeps the suite's overflow test short: it writes one more
// event than the lag.
const testWatchLag = 256 // above the live events of WatchNoGap (about 100), so only WatchOverflow overflows

func TestConformance(t *testing.T) {
	var mu sync.Mutex
	paths := map[store.Store]string{}
	open := func(t *testing.T, path string) store.Store {
		t.Helper()
		s, err := boltstore.Open(path, boltstore.Options{WatchLag: testWatchLag})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		mu.Lock()
		paths[s] = path
		mu.Unlock()
		return s
	}
	storetest.Run(t, storetest.Factory{
		New: func(t *testing.T) store.Store {
			return open(t, filepath.Join(t.TempDir(), "data", "wsgate.db"))
		},
		Reopen: func(t *testing.T, s store.Store) store.Store {
			mu.Lock()
			path := paths[s]
			mu.Unlock()
			if err := s.Close(); err != nil {
				t.Fatalf("Close before reopen: %v", err)
			}
			return open(t, path)
		},
	})
}

func TestOpenInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wsgate.db")
	s, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to the open file, so a second Open in this
	// process conflicts just as another process would.
	_, err = boltstore.Open(path, boltstore.Options{LockTimeout: 50 * time.Millisecond})
	if !errors.Is(err, boltstore.ErrInUse) {
		t.Fatalf("second Open: error = %v, want ErrInUse", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = boltstore.Open(path, boltstore.Options{LockTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenBadPath(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := boltstore.Open(filepath.Join(file, "wsgate.db"), boltstore.Options{}); err == nil {
		t.Fatal("Open under a regular file succeeded")
	}
	garbage := filepath.Join(t.TempDir(), "garbage.db")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("garbage!"), 2048), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := boltstore.Open(garbage, boltstore.Options{}); err == nil {
		t.Fatal("Open of a file that is not a bbolt database succeeded")
	}
}

// crashChildEnv switches the test binary into the writer TestCrash kills.
const crashChildEnv = "WSGATE_BOLTSTORE_CRASH_CHILD"

// TestCrashChild is the child process of TestCrash: it writes keys 1, 2,
// ... and prints "ack <n> <revision>" after each write is acknowledged,
// until it is killed (or, bounded, runs out of keys).
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashChildEnv)
	if path == "" {
		t.Skip("child process of TestCrash only")
	}
	s, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 1; i <= 1_000_000; i++ {
		rev, err := s.Put(t.Context(), crashKey(i), crashValue(i))
		if err != nil {
			t.Fatal(err)
		}
		// Stdout is unbuffered: once this returns, the parent can read it.
		fmt.Printf("ack %d %d\n", i, rev)
	}
}

func crashKey(i int) string   { return fmt.Sprintf("crash/%07d", i) }
func crashValue(i int) []byte { return bytes.Repeat([]byte(strconv.Itoa(i)+";"), 1+i%300) }

func TestCrash(t *testing.T) {
	if os.Getenv(crashChildEnv) != "" {
		t.Skip("in the child")
	}
	path := filepath.Join(t.TempDir(), "wsgate.db")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()

	acked := map[int]uint64{}
	sc := bufio.NewScanner(stdout)
	const killAfter = 100
	for len(acked) < killAfter && sc.Scan() {
		parseAck(t, sc.Text(), acked)
		if len(acked) == 1 {
			// While the child holds the file, another opener fails fast.
			_, err := boltstore.Open(path, boltstore.Options{LockTimeout: 100 * time.Millisecond})
			if !errors.Is(err, boltstore.ErrInUse) {
				t.Fatalf("Open while the child has the file: error = %v, want ErrInUse", err)
			}
		}
	}
	if len(acked) < killAfter {
		t.Fatalf("child stopped after %d acks: %v", len(acked), sc.Err())
	}
	// SIGKILL: no deferred Close, no flush, nothing the child can do.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Acks already in the pipe were acknowledged before the kill too.
	for sc.Scan() {
		parseAck(t, sc.Text(), acked)
	}
	killed = true
	if err := cmd.Wait(); err == nil {
		t.Fatal("child exited cleanly; it should have been killed")
	}
	t.Logf("child killed after %d acknowledged writes", len(acked))

	s, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatalf("Open after the crash: %v", err)
	}
	defer s.Close()
	for i, rev := range acked {
		e, err := s.Get(ctx, crashKey(i))
		if err != nil {
			t.Fatalf("acknowledged key %d: %v", i, err)
		}
		if !bytes.Equal(e.Value, crashValue(i)) || e.Revision != rev {
			t.Fatalf("acknowledged key %d: %d bytes rev %d, want %d bytes rev %d", i, len(e.Value), e.Revision, len(crashValue(i)), rev)
		}
	}
	// The store is writable after the crash, and revisions go on rising.
	var maxRev uint64
	for _, rev := range acked {
		maxRev = max(maxRev, rev)
	}
	list, err := s.List(ctx, "crash/")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range list {
		maxRev = max(maxRev, e.Revision) // a write committed but not yet acked
	}
	rev, err := s.Put(ctx, "after/crash", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if rev <= maxRev {
		t.Fatalf("revision after the crash %d, not above %d", rev, maxRev)
	}
}

func parseAck(t *testing.T, line string, acked map[int]uint64) {
	t.Helper()
	var i int
	var rev uint64
	if _, err := fmt.Sscanf(line, "ack %d %d", &i, &rev); err != nil {
		return // the test framework's own output
	}
	acked[i] = rev
}

// TestWatchGoroutinesEnd checks that cancelled and cut-off watchers leave
// no goroutine behind.
func TestWatchGoroutinesEnd(t *testing.T) {
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "wsgate.db"), boltstore.Options{WatchLag: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	before := runtime.NumGoroutine()
	for i := range 20 {
		wctx, cancel := context.WithCancel(ctx)
		w, err := s.Watch(wctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			// Never read: four writes put it past a lag of 2.
			for j := range 4 {
				if _, err := s.Put(ctx, "k", []byte(strconv.Itoa(j))); err != nil {
					t.Fatal(err)
				}
			}
		}
		cancel()
		for range w { // bounded: the channel closes after at most its capacity
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, %d before the watches", runtime.NumGoroutine(), before)
		}
		<-tick.C
	}
}
