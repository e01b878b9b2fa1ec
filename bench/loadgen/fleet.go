package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// worker is a Worker the coordinator drives: in this process, or a child
// process speaking RunWorker's protocol.
type worker interface {
	do(ctx context.Context, c Command) (Reply, error)
	stop(ctx context.Context) error
}

type localWorker struct{ w *Worker }

func (l *localWorker) do(ctx context.Context, c Command) (Reply, error) {
	r := l.w.Do(ctx, c)
	if r.Err != "" {
		return r, errors.New(r.Err)
	}
	return r, nil
}

func (l *localWorker) stop(context.Context) error {
	l.w.Close()
	return nil
}

// procWorker is a child process running RunWorker.
type procWorker struct {
	mu      sync.Mutex
	cmd     *exec.Cmd
	in      io.WriteCloser
	replies *os.File
	out     *bufio.Scanner
	exited  chan struct{}
	err     error // the process's exit status, once exited is closed
}

// startProcWorker starts cmd as a worker: commands go to its stdin, replies
// come back on its file descriptor 3 (so that anything a library prints on
// its stdout cannot corrupt them); its stdout and stderr are logged.
func startProcWorker(cmd *exec.Cmd, log *slog.Logger, name string) (*procWorker, error) {
	// A worker must not outlive the coordinator, even if it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.ExtraFiles = []*os.File{pw}
	output, err := cmd.StderrPipe()
	if err != nil {
		pr.Close()
		pw.Close()
		return nil, err
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, fmt.Errorf("start worker process: %w", err)
	}
	pw.Close() // the child holds its own copy
	p := &procWorker{cmd: cmd, in: in, replies: pr, out: bufio.NewScanner(pr), exited: make(chan struct{})}
	p.out.Buffer(make([]byte, 64<<10), 8<<20)
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		sc := bufio.NewScanner(output)
		for range 100000 {
			if !sc.Scan() {
				return
			}
			log.Info("worker output", "worker", name, "line", sc.Text())
		}
		_, _ = io.Copy(io.Discard, output)
	}()
	go func() {
		<-logged // Wait must follow the last read of the output pipe
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func (p *procWorker) do(ctx context.Context, c Command) (Reply, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, err := json.Marshal(c)
	if err != nil {
		return Reply{}, err
	}
	if _, err := p.in.Write(append(b, '\n')); err != nil {
		return Reply{}, fmt.Errorf("worker process %d: %w", p.cmd.Process.Pid, err)
	}
	type res struct {
		r   Reply
		err error
	}
	ch := make(chan res, 1)
	go func() {
		if !p.out.Scan() {
			err := p.out.Err()
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			ch <- res{err: fmt.Errorf("worker process %d stopped answering: %w", p.cmd.Process.Pid, err)}
			return
		}
		var r Reply
		if err := json.Unmarshal(p.out.Bytes(), &r); err != nil {
			ch <- res{err: fmt.Errorf("worker process %d: bad reply: %w", p.cmd.Process.Pid, err)}
			return
		}
		ch <- res{r: r}
	}()
	select {
	case x := <-ch:
		if x.err == nil && x.r.Err != "" {
			x.err = errors.New(x.r.Err)
		}
		return x.r, x.err
	case <-ctx.Done():
		// Killing the process ends the read above.
		_ = p.cmd.Process.Kill()
		<-ch
		return Reply{}, ctx.Err()
	}
}

// stop asks the process to exit, and kills it if it has not within ctx.
func (p *procWorker) stop(ctx context.Context) error {
	ectx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	_, err := p.do(ectx, Command{Op: OpExit})
	_ = p.in.Close()
	select {
	case <-p.exited:
	case <-ectx.Done():
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	p.replies.Close()
	return err
}

// fleet is every connection of a run, spread over workers.
type fleet struct {
	cfg        *Config
	log        *slog.Logger
	perProcess int
	workers    []worker
	counts     []int // connections each worker holds
	told       bool  // the spreading was explained
}

func newFleet(cfg *Config, log *slog.Logger) (*fleet, error) {
	per := cfg.PerProcess
	if per <= 0 {
		per = PerProcessLimit()
	}
	local, err := NewWorker(WorkerOptions{Sources: SourceAddrs(cfg.Sources), MaxConns: per, Log: log})
	if err != nil {
		return nil, err
	}
	return &fleet{cfg: cfg, log: log, perProcess: per, workers: []worker{&localWorker{local}}, counts: []int{0}}, nil
}

// total returns the open connections.
func (f *fleet) total() int {
	n := 0
	for _, c := range f.counts {
		n += c
	}
	return n
}

// addWorker starts one more worker process.
func (f *fleet) addWorker() error {
	if f.cfg.WorkerCommand == nil {
		return fmt.Errorf("%d connections do not fit in one process (at most %d: this machine allows %d open files per process) and no worker command is set",
			f.total()+1, f.perProcess, OpenFilesLimit(0))
	}
	// nbio dups every connection's descriptor without close-on-exec: a
	// worker would inherit them all (and hold those sockets open after
	// this process closes them), so mark them first.
	closeOnExecAll()
	cmd := f.cfg.WorkerCommand()
	p, err := startProcWorker(cmd, f.log, fmt.Sprintf("w%d", len(f.workers)))
	if err != nil {
		return err
	}
	f.workers = append(f.workers, p)
	f.counts = append(f.counts, 0)
	return nil
}

// openStats aggregates an open step over workers.
type openStats struct {
	opened, failed int
	start, end     time.Time
	connect        Dist
	errors         map[string]int64
	examples       map[string]string
	lost           int64
}

// resize opens or closes connections until n are open.
func (f *fleet) resize(ctx context.Context, target string, n int) (openStats, error) {
	var st openStats
	cur := f.total()
	if n < cur {
		return st, f.shrink(ctx, cur-n)
	}
	if n == cur {
		return st, nil
	}
	need := n - cur
	// Fill workers in order, starting processes while they do not suffice.
	plan := make([]int, len(f.workers))
	for left, i := need, 0; left > 0; i++ {
		if i == len(f.workers) {
			if err := f.addWorker(); err != nil {
				return st, err
			}
			plan = append(plan, 0)
		}
		take := min(left, f.perProcess-f.counts[i])
		plan[i] = take
		left -= take
	}
	if len(f.workers) > 1 && !f.told {
		f.told = true
		f.log.Info(fmt.Sprintf("spreading %d connections over %d processes: this machine allows %d open files per process, so one process holds at most %d connections",
			n, len(f.workers), OpenFilesLimit(0), f.perProcess))
	}
	replies, err := f.each(ctx, func(i int) (Command, bool) {
		if plan[i] == 0 {
			return Command{}, false
		}
		// Each worker gets its share of the handshake concurrency.
		return Command{Op: OpOpen, Target: target, N: plan[i], Concurrency: f.cfg.ConnectConcurrency, Timeout: f.cfg.ConnectTimeout}, true
	})
	for i, r := range replies {
		if r == nil {
			continue
		}
		f.counts[i] = r.Conns
		st.opened += r.Opened
		st.failed += r.Failed
		s, e := time.Unix(0, r.StartNs), time.Unix(0, r.EndNs)
		if st.start.IsZero() || s.Before(st.start) {
			st.start = s
		}
		if e.After(st.end) {
			st.end = e
		}
		st.connect = st.connect.Merge(r.Connect)
		st.errors = mergeCounts(st.errors, r.Errors)
		st.examples = mergeExamples(st.examples, r.Examples)
		st.lost += r.Lost
	}
	return st, err
}

// shrink closes n connections, from the last workers first.
func (f *fleet) shrink(ctx context.Context, n int) error {
	plan := make([]int, len(f.workers))
	for i := len(f.workers) - 1; i >= 0 && n > 0; i-- {
		plan[i] = min(n, f.counts[i])
		n -= plan[i]
	}
	replies, err := f.each(ctx, func(i int) (Command, bool) {
		return Command{Op: OpClose, N: plan[i]}, plan[i] > 0
	})
	for i, r := range replies {
		if r != nil {
			f.counts[i] = r.Conns
		}
	}
	return err
}

// each runs a command on the workers cmd selects, concurrently, and
// returns their replies (nil for workers not asked).
func (f *fleet) each(ctx context.Context, cmd func(i int) (Command, bool)) ([]*Reply, error) {
	out := make([]*Reply, len(f.workers))
	errs := make([]error, len(f.workers))
	var wg sync.WaitGroup
	for i, w := range f.workers {
		c, ok := cmd(i)
		if !ok {
			continue
		}
		wg.Go(func() {
			r, err := w.do(ctx, c)
			out[i] = &r
			if err != nil {
				errs[i] = fmt.Errorf("worker %d: %s: %w", i, c.Op, err)
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// all runs the same command on every worker holding connections.
func (f *fleet) all(ctx context.Context, c Command) ([]*Reply, error) {
	return f.each(ctx, func(i int) (Command, bool) { return c, f.counts[i] > 0 })
}

// refresh updates the connection counts (connections the server closed
// leave the counts) and returns the errors counted since the last reply.
func (f *fleet) refresh(ctx context.Context) (map[string]int64, map[string]string, int64) {
	replies, _ := f.each(ctx, func(int) (Command, bool) { return Command{Op: OpRecvStats}, true })
	var errs map[string]int64
	var ex map[string]string
	var lost int64
	for i, r := range replies {
		if r != nil {
			f.counts[i] = r.Conns
			errs = mergeCounts(errs, r.Errors)
			ex = mergeExamples(ex, r.Examples)
			lost += r.Lost
		}
	}
	return errs, ex, lost
}

// close closes every connection and stops every worker and worker process.
func (f *fleet) close(ctx context.Context) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if f.total() > 0 {
		if err := f.shrink(sctx, f.total()); err != nil {
			f.log.Warn("closing connections", "err", err)
		}
	}
	var wg sync.WaitGroup
	for _, w := range f.workers {
		wg.Go(func() {
			if err := w.stop(sctx); err != nil {
				f.log.Warn("stopping worker", "err", err)
			}
		})
	}
	wg.Wait()
}

// closeOnExecAll sets close-on-exec on every open descriptor above stderr,
// so that a child process inherits only the pipes os/exec hands it.
func closeOnExecAll() {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}
