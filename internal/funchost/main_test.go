package funchost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// handlers are the test programs under testdata/, built once by TestMain.
var handlers = []string{"echo", "error", "panic", "sleep", "exit", "initfail", "rawruntime"}

// binDir holds the built handlers; buildErr is why they could not be built.
// Set once by TestMain before any test runs.
var (
	binDir   string
	buildErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "funchost-handlers-")
	if err != nil {
		buildErr = err
	} else {
		// Resolve symlinks (macOS /tmp) so paths compare with what the
		// handlers report.
		if dir, err = filepath.EvalSymlinks(dir); err != nil {
			buildErr = err
		}
		binDir = dir
		if buildErr == nil {
			buildErr = buildHandlers(dir)
		}
	}
	m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
}

// buildHandlers builds every test handler with one go build.
func buildHandlers(dir string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, h := range handlers {
		args = append(args, "./testdata/"+h)
	}
	cmd := exec.Command(goBin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out.String())
	}
	return nil
}

// fnOf is a function running the named test handler.
func fnOf(name, handler string) Function {
	return Function{Name: name, Command: []string{"./" + handler}, Dir: binDir}
}

// newHost creates a host that is closed (and checked) when the test ends.
func newHost(t *testing.T, opts Options) *Host {
	t.Helper()
	if buildErr != nil {
		t.Fatalf("building test handlers: %v", buildErr)
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	h, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return h
}

// invoke calls fn with payload and fails the test on a non-function error.
func invoke(t *testing.T, h *Host, inv Invocation) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := h.Invoke(ctx, inv)
	if err != nil {
		t.Fatalf("Invoke %s %s: %v", inv.Function, inv.Payload, err)
	}
	return res
}

// decode unmarshals a JSON result payload.
func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return v
}

// pidResult is what panic, exit and sleep answer.
type pidResult struct {
	PID     int   `json:"pid"`
	StartNs int64 `json:"startNs"`
	EndNs   int64 `json:"endNs"`
}

// successPID invokes and returns the pid the handler reports.
func successPID(t *testing.T, h *Host, fn, payload string) int {
	t.Helper()
	res := invoke(t, h, Invocation{Function: fn, Payload: []byte(payload)})
	if res.FunctionError != "" {
		t.Fatalf("%s %s: function error %s", fn, payload, res.Payload)
	}
	pid := decode[pidResult](t, res.Payload).PID
	if pid <= 0 {
		t.Fatalf("%s: no pid in %s", fn, res.Payload)
	}
	return pid
}

// jsonEqual compares two JSON documents by value.
func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("result is not JSON: %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %q: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("document:\n got %s\nwant %s", gb, wb)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// reaped reports whether pid no longer exists at all: not running and not a
// zombie (a zombie still answers signal 0).
func reaped(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// dead reports whether pid is not running: reaped, or a zombie waiting for
// a parent that is not ours (a grandchild re-parented to init).
func dead(pid int) bool {
	if reaped(pid) {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	// Format: pid (comm) state ...; comm may contain spaces.
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// logRecord is one captured log record with its attributes as strings.
type logRecord struct {
	msg   string
	attrs map[string]string
}

// logCapture is a slog.Handler that keeps records for assertions and also
// writes them to the test's output.
type logCapture struct {
	mu    *sync.Mutex
	recs  *[]logRecord
	attrs []slog.Attr
	out   slog.Handler
}

func newLogCapture(w io.Writer) *logCapture {
	return &logCapture{mu: new(sync.Mutex), recs: new([]logRecord),
		out: slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})}
}

func (c *logCapture) Enabled(context.Context, slog.Level) bool { return true }

func (c *logCapture) Handle(ctx context.Context, r slog.Record) error {
	rec := logRecord{msg: r.Message, attrs: make(map[string]string)}
	for _, a := range c.attrs {
		rec.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	c.mu.Lock()
	*c.recs = append(*c.recs, rec)
	c.mu.Unlock()
	return c.out.Handle(ctx, r)
}

func (c *logCapture) WithAttrs(as []slog.Attr) slog.Handler {
	n := *c
	n.attrs = append(append([]slog.Attr(nil), c.attrs...), as...)
	n.out = c.out.WithAttrs(as)
	return &n
}

func (c *logCapture) WithGroup(string) slog.Handler { return c }

// records returns a copy of the records so far.
func (c *logCapture) records() []logRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]logRecord(nil), *c.recs...)
}

// pidFromLog finds "<prefix><pid>" in the captured output of a function.
func (c *logCapture) pidFromLog(fn, prefix string) int {
	for _, r := range c.records() {
		if r.attrs["function"] != fn || !strings.HasPrefix(r.msg, prefix) {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimPrefix(r.msg, prefix)); err == nil {
			return pid
		}
	}
	return 0
}
