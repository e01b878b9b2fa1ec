package funchost

import (
	"slices"
	"sync"
	"syscall"
	"time"
)

// function is the pool of one configured function. Everything in it below mu
// — its instances' state, their calls and the waiting queue — is guarded by
// mu; the lock is held only for bookkeeping, never across I/O or process
// start-up.
type function struct {
	h         *Host
	cfg       Function // defaults applied
	arn       string
	command   []string // Command with argv[0] resolved
	inherited map[string]string

	mu        sync.Mutex
	closed    bool
	instances []*instance // live: not yet exited
	waiters   []*call     // FIFO of calls not yet given to an instance
	nextN     int         // last instance number used
	maxBusy   int
	counters  Stats // only the counter fields are used
}

// call is one invocation on its way through the pool.
type call struct {
	id      string
	traceID string
	payload []byte
	env     map[string]string
	key     string

	// Guarded by function.mu.
	inst      *instance // holder; nil while waiting
	delivered bool      // handed to the runtime by /next
	start     time.Time // when delivered
	finished  bool

	// Written once before done is closed.
	res  Result
	err  error
	done chan struct{}
}

// instState is where an instance's runtime is in its life. Whether the
// instance holds a call is instance.current: a polling instance without one
// is idle; a running instance without one has answered and is on its way
// back to /next.
type instState int

const (
	stateStarting instState = iota // launched, has not asked for work yet
	statePolling                   // waiting in /next
	stateRunning                   // an event was delivered; the invoke phase lasts until the next /next
	stateStopping                  // signalled to stop
	stateExited                    // process waited for
)

// Reasons an instance is stopped on purpose.
const (
	stopShutdown = "shutdown"
	stopEvicted  = "evicted for another environment"
	stopTimeout  = "invocation timed out"
	stopInit     = "init failed"
)

// Signals the host sends to process groups.
const (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
)

// instance is one child process with its own Runtime API listener.
type instance struct {
	fn        *function
	n         int
	key       string
	env       map[string]string
	initType  string
	logStream string

	ready chan struct{} // closed at the first /next
	gone  chan struct{} // closed once the process has been waited for
	wake  chan struct{} // cap 1: a call was assigned while /next may be waiting

	// Guarded by fn.mu.
	state       instState
	current     *call
	initDone    bool
	fail        *failure // why the held call fails if the process ends
	stopReason  string
	pid         int
	initTimer   *trackedTimer
	deadline    *trackedTimer
	deadlineSeq uint64
}

// enqueue puts c in the waiting queue and lets the scheduler place it.
func (fn *function) enqueue(c *call) error {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	if fn.closed {
		return ErrClosed
	}
	fn.waiters = append(fn.waiters, c)
	fn.dispatchLocked()
	if c.inst == nil && !c.finished && len(fn.waiters) > fn.h.opts.MaxQueue {
		fn.removeWaiterLocked(c)
		fn.counters.Throttles++
		return ErrThrottled
	}
	return nil
}

// abandon withdraws c after its caller gave up. A call that already reached
// a runtime keeps running (its result is dropped); one that did not is taken
// back from the queue or from the instance reserved for it. It reports
// whether c finished anyway, in which case its result stands.
func (fn *function) abandon(c *call) bool {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	switch {
	case c.finished:
		return true
	case c.inst == nil:
		fn.removeWaiterLocked(c)
	case !c.delivered:
		c.inst.current = nil
		c.inst = nil
		fn.dispatchLocked()
	}
	return false
}

func (fn *function) removeWaiterLocked(c *call) {
	if i := slices.Index(fn.waiters, c); i >= 0 {
		fn.waiters = slices.Delete(fn.waiters, i, i+1)
	}
}

// completeLocked records the outcome of c and wakes its caller.
func (fn *function) completeLocked(c *call, res Result, err error) {
	if c.finished {
		return
	}
	c.finished = true
	if !c.start.IsZero() {
		res.Duration = time.Since(c.start)
	}
	res.RequestID = c.id
	if res.FunctionError != "" {
		fn.counters.Errors++
	}
	c.res, c.err = res, err
	close(c.done)
}

// failLocked completes c with a function error document.
func (fn *function) failLocked(c *call, doc []byte, typ string) {
	fn.completeLocked(c, Result{Payload: doc, FunctionError: "Unhandled", ErrorType: typ}, nil)
}

// liveLocked counts processes that occupy a concurrency slot, stopping ones
// included: a slot is free only once its process is gone.
func (fn *function) liveLocked() int {
	return len(fn.instances)
}

// dispatchLocked places waiting calls, oldest first: on an instance of their
// environment that is free or about to be (see freeLocked); else on a new
// instance while the function is below its concurrency; else, when idle
// instances of other environments hold the slots, it stops one per waiting
// call so that a slot frees up for it. It runs whenever a call arrives or
// leaves, or an instance becomes free or goes away.
func (fn *function) dispatchLocked() {
	if fn.closed || len(fn.waiters) == 0 {
		return
	}
	rest := fn.waiters[:0]
	for _, c := range fn.waiters {
		if in := fn.freeLocked(c.key); in != nil {
			fn.assignLocked(in, c)
			continue
		}
		rest = append(rest, c)
	}
	clear(fn.waiters[len(rest):])
	fn.waiters = rest

	freeing := 0 // slots that stopping instances are about to free
	for _, in := range fn.instances {
		if in.state == stateStopping {
			freeing++
		}
	}
	rest = fn.waiters[:0]
	for i, c := range fn.waiters {
		if fn.liveLocked() < fn.cfg.Concurrency {
			fn.assignLocked(fn.startLocked(c.key, c.env, "on-demand"), c)
			continue
		}
		if freeing > 0 {
			freeing--
			rest = append(rest, c)
			continue
		}
		// Idle instances left after the first pass belong to environments
		// no waiting call wants.
		victim := fn.anyIdleLocked()
		if victim == nil {
			rest = append(rest, fn.waiters[i:]...)
			break
		}
		victim.stopLocked(sigKill, stopEvicted)
		rest = append(rest, c)
	}
	clear(fn.waiters[len(rest):])
	fn.waiters = rest
}

// freeLocked returns the instance of the environment key that can take a
// call soonest without a cold start: an idle one, else one that has just
// answered and is coming back to /next, else one still starting that nobody
// claimed. Waiting for a warm runtime beats starting another: aws-lambda-go
// asks for the next event right after answering, and if it exits instead
// (after a panic) the call is handed on untouched.
func (fn *function) freeLocked(key string) *instance {
	var finishing, starting *instance
	for _, in := range fn.instances {
		if in.current != nil || in.key != key {
			continue
		}
		switch in.state {
		case statePolling:
			return in
		case stateRunning:
			if finishing == nil {
				finishing = in
			}
		case stateStarting:
			if starting == nil {
				starting = in
			}
		}
	}
	if finishing != nil {
		return finishing
	}
	return starting
}

// anyIdleLocked returns any idle instance, or nil.
func (fn *function) anyIdleLocked() *instance {
	for _, in := range fn.instances {
		if in.state == statePolling && in.current == nil {
			return in
		}
	}
	return nil
}

// assignLocked gives c to in; /next delivers it.
func (fn *function) assignLocked(in *instance, c *call) {
	in.current = c
	c.inst = in
	busy := 0
	for _, x := range fn.instances {
		if x.current != nil {
			busy++
		}
	}
	fn.maxBusy = max(fn.maxBusy, busy)
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

// startLocked registers a new instance and launches its process in a
// goroutine owned by the host.
func (fn *function) startLocked(key string, env map[string]string, initType string) *instance {
	fn.nextN++
	in := &instance{
		fn:        fn,
		n:         fn.nextN,
		key:       key,
		env:       env,
		initType:  initType,
		logStream: newLogStreamName(time.Now()),
		ready:     make(chan struct{}),
		gone:      make(chan struct{}),
		wake:      make(chan struct{}, 1),
		state:     stateStarting,
	}
	fn.instances = append(fn.instances, in)
	fn.counters.Starts++
	fn.h.wg.Go(in.run)
	return in
}

// stopLocked signals the instance's process group. The instance keeps its
// concurrency slot until the process is gone.
func (in *instance) stopLocked(sig syscall.Signal, reason string) {
	if in.state == stateExited {
		return
	}
	if in.stopReason == "" {
		in.stopReason = reason
	}
	in.state = stateStopping
	if in.pid > 0 {
		// The process leads its own group (Setpgid): this reaches whatever
		// it spawned too. ESRCH only means it is already dead.
		_ = syscall.Kill(-in.pid, sig)
	}
	// With no pid yet, run kills the process as soon as it has started.
}

// onInitTimeout kills an instance that did not ask for work in time.
func (in *instance) onInitTimeout() {
	fn := in.fn
	fn.mu.Lock()
	defer fn.mu.Unlock()
	if in.initDone || in.fail != nil || in.state >= stateStopping {
		return
	}
	in.fail = &failure{typ: typeInitError, msg: "Init timed out after " + formatSeconds(fn.h.opts.InitTimeout) + " seconds"}
	in.stopLocked(sigKill, stopInit)
}

// onDeadline ends an invoke phase that ran out of time: the held call fails
// with Lambda's timeout document and the process group is killed, since a
// runtime cannot be interrupted any other way. A runtime that answered but
// did not ask for the next event in time is killed as well, as on Lambda.
func (in *instance) onDeadline(seq uint64) {
	fn := in.fn
	fn.mu.Lock()
	defer fn.mu.Unlock()
	if in.deadlineSeq != seq || in.state >= stateStopping {
		return
	}
	if c := in.current; c != nil && c.delivered && !c.finished {
		fn.counters.Timeouts++
		fn.failLocked(c, timeoutDocument(c.id, fn.cfg.Timeout), typeTimeout)
		in.current = nil
	}
	in.stopLocked(sigKill, stopTimeout)
}

// exitedLocked settles everything an ended process leaves behind.
func (in *instance) exitedLocked(desc string) {
	fn := in.fn
	in.state = stateExited
	in.initTimer.stop()
	in.deadline.stop()
	in.initTimer, in.deadline = nil, nil
	if i := slices.Index(fn.instances, in); i >= 0 {
		fn.instances = slices.Delete(fn.instances, i, i+1)
	}
	if in.stopReason == "" {
		fn.counters.Crashes++
	}
	if c := in.current; c != nil {
		in.current = nil
		switch {
		case c.finished:
		case fn.closed:
			fn.completeLocked(c, Result{}, ErrClosed)
		case !c.delivered && in.initDone && in.fail == nil:
			// The runtime never saw it: try again elsewhere, first in line.
			c.inst = nil
			fn.waiters = slices.Insert(fn.waiters, 0, c)
		default:
			f := in.fail
			if f == nil {
				f = exitFailure(desc)
			}
			doc, typ := f.document(c.id)
			fn.failLocked(c, doc, typ)
		}
	}
	close(in.gone)
	fn.dispatchLocked()
}

func (fn *function) stats() Stats {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	s := fn.counters
	s.Instances = len(fn.instances)
	s.Waiting = len(fn.waiters)
	s.MaxBusy = fn.maxBusy
	for _, in := range fn.instances {
		switch {
		case in.current != nil:
			s.Busy++
		case in.state == statePolling:
			s.Idle++
		}
	}
	return s
}

// trackedTimer is a time.AfterFunc whose callback is counted in a WaitGroup,
// so Close can wait for callbacks that already fired.
type trackedTimer struct {
	t  *time.Timer
	wg *sync.WaitGroup
}

func afterFunc(wg *sync.WaitGroup, d time.Duration, f func()) *trackedTimer {
	wg.Add(1)
	return &trackedTimer{wg: wg, t: time.AfterFunc(d, func() {
		defer wg.Done()
		f()
	})}
}

// stop cancels the timer; a nil timer is fine.
func (t *trackedTimer) stop() {
	if t != nil && t.t.Stop() {
		t.wg.Done()
	}
}
