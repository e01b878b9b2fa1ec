package wsconn

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestIdleMemory measures the server's memory per idle connection: a child
// process (this test binary, running TestIdleMemoryClient) opens the
// connections, so only the server's descriptors count against this process.
//
//	WSGATE_MEM_TEST=1 [WSGATE_MEM_CONNS=10000] go test -run TestIdleMemory -v ./internal/wsconn
func TestIdleMemory(t *testing.T) {
	if os.Getenv("WSGATE_MEM_TEST") != "1" {
		t.Skip("set WSGATE_MEM_TEST=1 to measure memory per idle connection")
	}
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("WSGATE_MEM_CONNS")); err == nil && v > 0 {
		n = v
	}
	ts := startServer(t, serverConfig{opts: Options{IdleTimeout: 10 * time.Minute, MaxAge: 2 * time.Hour}})
	rss0, heap0 := settledMemory(t)
	sock0, slab0 := kernelTCPMem(t), meminfo(t, "Slab:")

	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleMemoryClient$")
	cmd.Env = append(os.Environ(), "WSGATE_MEM_CLIENT_ADDR="+ts.addr, "WSGATE_MEM_CONNS="+strconv.Itoa(n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close() // the client exits when its stdin closes
		if err := cmd.Wait(); err != nil {
			t.Errorf("client: %v", err)
		}
	}()
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "READY") || strings.HasPrefix(sc.Text(), "FAIL") {
				ready <- sc.Text()
			}
		}
		close(ready)
	}()
	select {
	case line := <-ready:
		if !strings.HasPrefix(line, "READY") {
			t.Fatalf("client: %q", line)
		}
	case <-time.After(5 * time.Minute):
		t.Fatal("client not ready")
	}
	deadline := time.Now().Add(time.Minute)
	for ts.e.Len() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d conns registered", ts.e.Len(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Drain the upgrade channel so it holds no Conn.
	for len(ts.conns) > 0 {
		<-ts.conns
	}

	if path := os.Getenv("WSGATE_MEM_PROFILE"); path != "" {
		// Heap profiles lag frees by a cycle or two.
		for range 3 {
			runtime.GC()
		}
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.WriteHeapProfile(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	rssGC, _ := rssAfterGC(t)
	rss1, heap1 := settledMemory(t)
	sock1, slab1 := kernelTCPMem(t), meminfo(t, "Slab:")
	t.Logf("%d idle conns, %d goroutines", n, runtime.NumGoroutine())
	t.Logf("server RSS growth per conn: %.0f B after GC, %.0f B after FreeOSMemory; heap in use per conn: %.0f B",
		float64(rssGC-rss0)/float64(n), float64(rss1-rss0)/float64(n), float64(heap1-heap0)/float64(n))
	if sock0 >= 0 && sock1 >= 0 {
		t.Logf("kernel TCP buffer memory (sockstat, client and server sockets): %+d B for %d socket pairs", sock1-sock0, n)
	}
	if slab0 >= 0 && slab1 >= 0 {
		// Machine-wide, so other processes add noise; it covers both ends.
		t.Logf("kernel slab growth: %.0f B per socket (client and server ends)", float64(slab1-slab0)/float64(2*n))
	}
}

// TestIdleMemoryClient is TestIdleMemory's client process.
func TestIdleMemoryClient(t *testing.T) {
	addr := os.Getenv("WSGATE_MEM_CLIENT_ADDR")
	if addr == "" {
		t.Skip("run by TestIdleMemory")
	}
	n, _ := strconv.Atoi(os.Getenv("WSGATE_MEM_CONNS"))
	conns := make([]net.Conn, 0, n)
	req := []byte("GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	buf := make([]byte, 512)
	for i := range n {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			fmt.Printf("FAIL dial %d: %v\n", i, err)
			return
		}
		if _, err := nc.Write(req); err != nil {
			fmt.Printf("FAIL write %d: %v\n", i, err)
			return
		}
		_ = nc.SetReadDeadline(time.Now().Add(time.Minute))
		var resp []byte
		for !bytes.Contains(resp, []byte("\r\n\r\n")) && len(resp) < 4096 {
			k, err := nc.Read(buf)
			if err != nil {
				fmt.Printf("FAIL read %d: %v\n", i, err)
				return
			}
			resp = append(resp, buf[:k]...)
		}
		if !bytes.HasPrefix(resp, []byte("HTTP/1.1 101")) {
			fmt.Printf("FAIL handshake %d: %q\n", i, resp)
			return
		}
		conns = append(conns, nc)
	}
	fmt.Println("READY")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes stdin
	for _, nc := range conns {
		nc.Close()
	}
}

// rssAfterGC collects garbage and returns VmRSS and the heap in use.
func rssAfterGC(t *testing.T) (rss, heap int64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return vmRSS(t), int64(ms.HeapInuse)
}

// settledMemory also returns freed pages to the OS first.
func settledMemory(t *testing.T) (rss, heap int64) {
	runtime.GC()
	debug.FreeOSMemory()
	return rssAfterGC(t)
}

func vmRSS(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// kernelTCPMem returns the kernel's TCP buffer memory in bytes from
// /proc/net/sockstat, or -1.
func kernelTCPMem(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/net/sockstat")
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if !strings.HasPrefix(line, "TCP:") {
			continue
		}
		f := strings.Fields(line)
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "mem" {
				pages, err := strconv.ParseInt(f[i+1], 10, 64)
				if err == nil {
					return pages * int64(os.Getpagesize())
				}
			}
		}
	}
	return -1
}

// meminfo returns a /proc/meminfo field in bytes, or -1.
func meminfo(t *testing.T, field string) int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}
