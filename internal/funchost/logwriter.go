package funchost

import (
	"bytes"
	"context"
	"log/slog"
)

// lineLogger is the io.Writer behind a process's stdout or stderr: it logs
// each line as one record and splits lines longer than max, so a handler
// that prints without newlines cannot make the host buffer without bound.
// os/exec calls Write from a single goroutine and flush runs after Wait, so
// it needs no lock.
type lineLogger struct {
	log *slog.Logger
	max int
	buf []byte
	// split: part of the pending line was already logged, so a newline
	// right after a full piece must not log an empty line.
	split bool
}

func newLineLogger(log *slog.Logger, max int) *lineLogger {
	if max < 1 {
		max = 1
	}
	return &lineLogger{log: log, max: max}
}

func (l *lineLogger) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.buf = append(l.buf, p...)
			l.spill()
			break
		}
		l.buf = append(l.buf, p[:i]...)
		p = p[i+1:]
		l.spill()
		if len(l.buf) > 0 || !l.split {
			l.emit(l.buf)
		}
		l.buf = l.buf[:0]
		l.split = false
	}
	return n, nil
}

// spill logs full max-sized pieces of the pending line.
func (l *lineLogger) spill() {
	if len(l.buf) < l.max {
		return
	}
	off := 0
	for len(l.buf)-off >= l.max {
		l.emit(l.buf[off : off+l.max])
		off += l.max
	}
	l.split = true
	l.buf = append(l.buf[:0], l.buf[off:]...)
}

// flush logs a last line that had no newline.
func (l *lineLogger) flush() {
	if len(l.buf) > 0 {
		l.emit(l.buf)
		l.buf = l.buf[:0]
	}
	l.split = false
}

func (l *lineLogger) emit(line []byte) {
	line = bytes.TrimSuffix(line, []byte("\r"))
	l.log.Log(context.Background(), slog.LevelInfo, string(line))
}
