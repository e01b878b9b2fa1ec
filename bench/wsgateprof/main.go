// Command wsgateprof is the wsgate command line with profiling, for
// benchmark investigations only (the product has no pprof endpoint): it
// runs `wsgate ARGS...` exactly as cmd/wsgate does, writing a CPU profile
// to $WSGATE_CPUPROFILE for the whole run and a heap profile to
// $WSGATE_MEMPROFILE when it ends (SIGINT or SIGTERM end `serve` cleanly,
// so the profiles are complete) and to $WSGATE_MEMPROFILE.N on the N-th
// SIGUSR1 (with the runtime's memory statistics on stderr), to see what
// live connections hold. $WSGATE_MEMPROFILERATE sets
// runtime.MemProfileRate (1: every allocation) for exact heap profiles.
//
//	WSGATE_CPUPROFILE=/tmp/gw.cpu go run ./bench/wsgateprof serve --listen 127.0.0.1:8080
//	go tool pprof -top /tmp/gw.cpu
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"syscall"

	"github.com/lesismal/nbio/logging"

	"github.com/wsgate/wsgate/internal/cli"
)

func main() {
	// nbio logs lifecycle chatter to stdout through a process-wide logger;
	// keep only its errors, as cmd/wsgate does.
	logging.SetLevel(logging.LevelError)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx)
	stop()
	os.Exit(code)
}

func run(ctx context.Context) int {
	if v := os.Getenv("WSGATE_MEMPROFILERATE"); v != "" {
		// Set before anything allocates much: 1 records every allocation.
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			runtime.MemProfileRate = n
		}
	}
	if path := os.Getenv("WSGATE_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "wsgateprof:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "wsgateprof:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(done)
	wg.Go(func() {
		for n := 1; ; n++ {
			select {
			case <-usr1:
				if path := os.Getenv("WSGATE_MEMPROFILE"); path != "" {
					writeHeap(fmt.Sprintf("%s.%d", path, n))
				}
			case <-done:
				return
			}
		}
	})
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	writeHeap(os.Getenv("WSGATE_MEMPROFILE"))
	return code
}

// writeHeap collects garbage, reports the runtime's memory statistics and
// writes a heap profile to path (if set).
func writeHeap(path string) {
	if path == "" {
		return
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(os.Stderr, "wsgateprof: heap in use %d KiB, heap idle %d KiB (released %d KiB), stacks %d KiB, runtime metadata %d KiB, sys %d KiB, goroutines %d\n",
		ms.HeapInuse>>10, ms.HeapIdle>>10, ms.HeapReleased>>10, ms.StackInuse>>10, (ms.MSpanInuse+ms.MCacheInuse+ms.BuckHashSys+ms.GCSys+ms.OtherSys)>>10, ms.Sys>>10, runtime.NumGoroutine())
	f, err := os.Create(path)
	if err == nil {
		err = pprof.WriteHeapProfile(f)
		f.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "wsgateprof:", err)
	}
}
