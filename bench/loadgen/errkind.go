package loadgen

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
)

// errKind names the kind of an error for the "errors by kind" report,
// prefixed by the step that failed ("connect", "echo", "post", …).
func errKind(step string, err error) string {
	var se *statusError
	var ne net.Error
	switch {
	case errors.As(err, &se):
		return step + ": HTTP " + strconv.Itoa(se.status)
	case errors.Is(err, syscall.ECONNREFUSED):
		return step + ": connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return step + ": connection reset"
	case errors.Is(err, syscall.EPIPE):
		return step + ": broken pipe"
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EADDRINUSE):
		return step + ": no free source port"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return step + ": too many open files in the load generator"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return step + ": timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return step + ": closed by the server"
	case errors.Is(err, errHandshake):
		return step + ": bad handshake response"
	case errors.Is(err, errProtocol):
		return step + ": protocol error"
	case errors.Is(err, context.Canceled):
		return step + ": cancelled"
	}
	return step + ": other"
}

// errCounts counts errors by kind and keeps one example message of each
// kind for diagnosis.
type errCounts struct {
	mu       sync.Mutex
	n        map[string]int64
	examples map[string]string
}

func (e *errCounts) add(step string, err error) {
	e.addKind(errKind(step, err), err.Error())
}

func (e *errCounts) addKind(kind, example string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n == nil {
		e.n = map[string]int64{}
		e.examples = map[string]string{}
	}
	e.n[kind]++
	if _, ok := e.examples[kind]; !ok && len(e.examples) < 64 {
		e.examples[kind] = example
	}
}

// take returns the counts and examples so far and starts over.
func (e *errCounts) take() (map[string]int64, map[string]string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n, ex := e.n, e.examples
	e.n, e.examples = nil, nil
	return n, ex
}

// mergeCounts adds src into dst (allocating dst when nil) and returns it.
func mergeCounts(dst, src map[string]int64) map[string]int64 {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = map[string]int64{}
	}
	for k, v := range src {
		dst[k] += v
	}
	return dst
}

// mergeExamples keeps the first example of each kind.
func mergeExamples(dst, src map[string]string) map[string]string {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = map[string]string{}
	}
	for k, v := range src {
		if _, ok := dst[k]; !ok {
			dst[k] = v
		}
	}
	return dst
}
