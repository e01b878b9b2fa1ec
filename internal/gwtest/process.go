package gwtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Build compiles ./cmd/wsgate into dir and returns the binary's path.
func Build(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "wsgate")
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/wsgate")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/wsgate: %v\n%s", err, out)
	}
	return bin
}

// Process is a wsgate child process.
type Process struct {
	Cmd  *exec.Cmd
	Addr string // host:port it listens on
	URL  string

	mu     sync.Mutex
	output strings.Builder
	exited chan struct{}
}

var addrRE = regexp.MustCompile(`wsgate is ready.* addr=(\S+)`)

// StartProcess runs `bin serve args...` and waits until it logs that it is
// ready; the process is killed when the test ends.
func StartProcess(t testing.TB, bin string, args ...string) *Process {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(), "WSGATE_ACCESS_KEY_ID=", "WSGATE_SECRET_ACCESS_KEY=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("start wsgate: %v", err)
	}
	p := &Process{Cmd: cmd, exited: make(chan struct{})}
	addrCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.output.WriteString(line + "\n")
			p.mu.Unlock()
			if m := addrRE.FindStringSubmatch(line); m != nil {
				select {
				case addrCh <- m[1]:
				default:
				}
			}
		}
		_ = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.Kill() })
	select {
	case addr := <-addrCh:
		p.Addr = addr
		p.URL = "http://" + addr
	case <-p.exited:
		t.Fatalf("wsgate exited before it was ready:\n%s", p.Output())
	case <-time.After(60 * time.Second):
		t.Fatalf("wsgate not ready after 60s:\n%s", p.Output())
	}
	return p
}

// Output returns what the process logged so far.
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.output.String()
}

// Kill sends SIGKILL and waits for the process to exit.
func (p *Process) Kill() {
	_ = p.Cmd.Process.Kill()
	<-p.exited
}

// Interrupt sends SIGINT and waits up to d for a clean exit; it reports the
// exit error.
func (p *Process) Interrupt(ctx context.Context) error {
	_ = p.Cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
		if p.Cmd.ProcessState.Success() {
			return nil
		}
		return fmt.Errorf("wsgate exited with %v", p.Cmd.ProcessState)
	case <-ctx.Done():
		return ctx.Err()
	}
}
