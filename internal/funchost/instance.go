package funchost

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Bounds of an instance's Runtime API server and process.
const (
	apiReadHeaderTimeout = 10 * time.Second
	apiMaxHeaderBytes    = 64 << 10
	apiShutdownTimeout   = 2 * time.Second
	// processWaitDelay bounds how long Wait keeps reading stdout and stderr
	// after the process ended, in case something it spawned outside its
	// process group still holds them.
	processWaitDelay = time.Second
)

// run owns one instance from listener to reaped process: it serves the
// Runtime API, starts the process, waits for it, settles what it leaves
// behind and shuts the server down. It runs in a goroutine counted in the
// host's WaitGroup.
func (in *instance) run() {
	fn := in.fn
	h := fn.h
	log := h.log.With("function", fn.cfg.Name, "instance", in.n)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Error("runtime API listener", "err", err)
		fn.mu.Lock()
		in.fail = &failure{typ: typeUnknown, msg: "runtime API listener: " + err.Error()}
		in.stopReason = stopInit
		in.exitedLocked("")
		fn.mu.Unlock()
		return
	}
	srv := &http.Server{
		Handler:           in.routes(log),
		ReadHeaderTimeout: apiReadHeaderTimeout,
		MaxHeaderBytes:    apiMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	serveDone := make(chan struct{})
	go func() {
		defer close(serveDone)
		_ = srv.Serve(ln) // returns when the server is shut down below
	}()

	in.runProcess(log, ln.Addr().String())

	ctx, cancel := context.WithTimeout(context.Background(), apiShutdownTimeout)
	if err := srv.Shutdown(ctx); err != nil {
		_ = srv.Close()
	}
	cancel()
	<-serveDone
}

// runProcess starts the process, waits for it and settles its end.
func (in *instance) runProcess(log *slog.Logger, runtimeAPI string) {
	fn := in.fn
	h := fn.h
	stdout := newLineLogger(log.With("stream", "stdout"), h.opts.MaxLogLine)
	stderr := newLineLogger(log.With("stream", "stderr"), h.opts.MaxLogLine)
	cmd := exec.Command(fn.command[0], fn.command[1:]...)
	cmd.Dir = fn.cfg.Dir
	cmd.Env = in.instanceEnv(runtimeAPI)
	cmd.Stdin = nil // /dev/null
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = processWaitDelay

	if err := cmd.Start(); err != nil {
		log.Warn("cannot start function process", "err", err)
		fn.mu.Lock()
		in.fail = &failure{typ: typeInvalidEntry, msg: err.Error()}
		if in.stopReason == "" {
			in.stopReason = stopInit
		}
		in.exitedLocked("")
		fn.mu.Unlock()
		return
	}
	pid := cmd.Process.Pid
	fn.mu.Lock()
	in.pid = pid
	switch {
	case in.state == stateStopping:
		// Stopped while starting: the signal had nowhere to go yet.
		_ = syscall.Kill(-pid, sigKill)
	case !in.initDone: // a fast runtime may already have asked for work
		in.initTimer = afterFunc(&h.wg, h.opts.InitTimeout, in.onInitTimeout)
	}
	fn.mu.Unlock()
	log.Debug("function process started", "pid", pid, "runtime_api", runtimeAPI, "init_type", in.initType)

	_ = cmd.Wait() // the outcome is in ProcessState
	stdout.flush()
	stderr.flush()
	desc := exitDescription(cmd.ProcessState)

	fn.mu.Lock()
	reason := in.stopReason
	in.exitedLocked(desc)
	fn.mu.Unlock()
	switch reason {
	case "":
		log.Warn("function process exited", "pid", pid, "status", desc)
	case stopShutdown, stopEvicted:
		log.Debug("function process stopped", "pid", pid, "reason", reason, "status", desc)
	default: // timeouts and failed inits are worth seeing
		log.Info("function process stopped", "pid", pid, "reason", reason, "status", desc)
	}
}

// exitDescription is "" for a clean exit, else how the process ended in
// os.ProcessState's words ("exit status 3", "signal: killed"), which are
// also Lambda's.
func exitDescription(ps *os.ProcessState) string {
	switch {
	case ps == nil:
		return "unknown"
	case ps.Success():
		return ""
	default:
		return ps.String()
	}
}
