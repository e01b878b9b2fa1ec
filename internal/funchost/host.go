package funchost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Errors returned by Invoke, Start and New; match them with errors.Is.
var (
	// ErrUnknownFunction: no function has that name.
	ErrUnknownFunction = errors.New("funchost: unknown function")
	// ErrThrottled: the function's queue of waiting invocations is full
	// (Lambda's TooManyRequestsException).
	ErrThrottled = errors.New("funchost: too many waiting invocations")
	// ErrPayloadTooLarge: the invocation payload exceeds Options.MaxPayload
	// (Lambda's RequestTooLargeException).
	ErrPayloadTooLarge = errors.New("funchost: payload too large")
	// ErrClosed: the host was closed before the invocation completed.
	ErrClosed = errors.New("funchost: host closed")
	// ErrReservedEnv: an environment variable that Lambda reserves for itself
	// was given in Function.Env or Invocation.Env.
	ErrReservedEnv = errors.New("funchost: reserved environment variable")
	// ErrInvalidEnv: an environment variable name or value cannot be passed
	// to a process (empty name, '=' in the name, NUL byte).
	ErrInvalidEnv = errors.New("funchost: invalid environment variable")
	// ErrInitFailed: a prewarmed instance exited or failed before asking
	// for its first invocation (returned by Start).
	ErrInitFailed = errors.New("funchost: instance failed to initialize")
	// ErrInvalidOptions: New was given options it cannot run with.
	ErrInvalidOptions = errors.New("funchost: invalid options")
)

// Defaults and limits. Timeouts and memory follow Lambda's.
const (
	DefaultTimeout     = 3 * time.Second
	MaxTimeout         = 15 * time.Minute
	DefaultConcurrency = 10
	MaxConcurrency     = 1000
	DefaultMemoryMB    = 128
	MinMemoryMB        = 128
	MaxMemoryMB        = 10240
	DefaultMaxPayload  = 6 << 20
	DefaultInitTimeout = 10 * time.Second
	DefaultMaxQueue    = 100
	DefaultStopGrace   = 2 * time.Second
	DefaultMaxLogLine  = 16 << 10
	DefaultRegion      = "us-east-1"
	DefaultAccountID   = "000000000000"
	// DefaultCredential is the access key id and secret handlers get when
	// none are configured; SDKs refuse to sign without credentials, and a
	// local gateway accepts these.
	DefaultCredential = "wsgate"
)

// Function is one local Lambda function.
type Function struct {
	Name string
	// Command is the argv of the process. Command[0] is resolved relative
	// to Dir if it contains a '/' and is not absolute, else looked up in
	// PATH.
	Command []string
	// Dir is the working directory and LAMBDA_TASK_ROOT; default the
	// current directory.
	Dir string
	// Env is added to every instance's environment. Keys Lambda reserves
	// (AWS_REGION, AWS_LAMBDA_*, credentials, ...) are refused, as Lambda
	// refuses them; _LAMBDA_SERVER_PORT and AWS_LAMBDA_MAX_CONCURRENCY are
	// dropped with a warning because they change how aws-lambda-go talks to
	// the host.
	Env map[string]string
	// Timeout of one invocation; default 3s, at most 15m.
	Timeout time.Duration
	// Concurrency is the maximum number of processes; default 10.
	Concurrency int
	// Prewarm is the number of instances Start launches (with an empty
	// Invocation.Env), reported to them as provisioned concurrency.
	Prewarm int
	// MemoryMB is reported in AWS_LAMBDA_FUNCTION_MEMORY_SIZE (not
	// enforced); default 128.
	MemoryMB int
	// Handler is _HANDLER; default Name.
	Handler string
}

// Options configure a Host.
type Options struct {
	Functions []Function
	// Region is AWS_REGION and AWS_DEFAULT_REGION; default us-east-1.
	Region string
	// AccountID goes into the invoked function ARN; default 000000000000.
	AccountID string
	// Credentials given to handlers; AccessKeyID and SecretAccessKey
	// default to "wsgate", SessionToken is passed only if set.
	AccessKeyID, SecretAccessKey, SessionToken string
	// Log receives the host's events and the handlers' output; nil
	// discards.
	Log *slog.Logger
	// MaxPayload bounds invocation payloads and response or error bodies;
	// default 6 MiB.
	MaxPayload int
	// InitTimeout is how long a started process may take to ask for its
	// first invocation before it is killed; default 10s.
	InitTimeout time.Duration
	// MaxQueue is how many invocations of one function may wait for an
	// instance; default 100.
	MaxQueue int
	// StopGrace is how long Close waits after SIGTERM before SIGKILL;
	// default 2s.
	StopGrace time.Duration
	// MaxLogLine is the longest log line taken from a handler's output
	// before it is split; default 16 KiB.
	MaxLogLine int
}

// Invocation is one call of a function.
type Invocation struct {
	Function string
	Payload  []byte
	// Env is added to the environment of the instance that runs the
	// invocation (for example AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI for
	// the invoking API and stage). Instances are pooled per (Function,
	// Env): invocations with different Env never share a process.
	Env map[string]string
	// TraceID is sent as Lambda-Runtime-Trace-Id; generated if empty.
	TraceID string
}

// Result is the outcome of an invocation that reached the function.
type Result struct {
	// Payload is the handler's response body, or on a function error the
	// error document ({"errorMessage":...,"errorType":...,...}).
	Payload []byte
	// FunctionError is "" on success and "Unhandled" on a function error,
	// like Lambda's X-Amz-Function-Error.
	FunctionError string
	// ErrorType is the error document's errorType (or the runtime's
	// Lambda-Runtime-Function-Error-Type), for logs and metrics.
	ErrorType string
	// RequestID is the Lambda request id the handler saw.
	RequestID string
	// Duration is the time from handing the event to the runtime to its
	// answer; zero if the event never reached a runtime.
	Duration time.Duration
}

// Stats are counters of one function, for tests and metrics.
type Stats struct {
	Instances int // live processes (starting, idle, busy or stopping)
	Busy      int // processes holding an invocation
	Idle      int // processes waiting for an invocation
	Waiting   int // invocations waiting for a process
	MaxBusy   int // highest Busy seen

	Invocations uint64 // invocations handed to a runtime
	Errors      uint64 // invocations that ended with a function error
	Timeouts    uint64 // invocations that timed out
	Throttles   uint64 // invocations refused with ErrThrottled
	Starts      uint64 // instances launched (cold starts), including commands that failed to start
	Crashes     uint64 // processes that exited without being asked to
}

// Host runs local functions. Create it with New, optionally Start it, and
// Close it to stop every process.
type Host struct {
	opts  Options
	log   *slog.Logger
	fns   map[string]*function
	names []string // sorted, for deterministic iteration

	wg sync.WaitGroup // every goroutine and timer callback of the host

	mu      sync.Mutex
	started bool
	closed  bool
}

// namePattern is Lambda's function name rule (without ARNs or qualifiers).
var namePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// accountPattern is a 12-digit AWS account id.
var accountPattern = regexp.MustCompile(`^[0-9]{12}$`)

// New validates opts, applies defaults and returns a Host. No process is
// started until Start or the first Invoke.
func New(opts Options) (*Host, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.AccountID == "" {
		opts.AccountID = DefaultAccountID
	}
	if !accountPattern.MatchString(opts.AccountID) {
		return nil, fmt.Errorf("%w: accountId %q: must be 12 digits", ErrInvalidOptions, opts.AccountID)
	}
	if opts.AccessKeyID == "" {
		opts.AccessKeyID = DefaultCredential
	}
	if opts.SecretAccessKey == "" {
		opts.SecretAccessKey = DefaultCredential
	}
	if opts.MaxPayload == 0 {
		opts.MaxPayload = DefaultMaxPayload
	}
	if opts.InitTimeout == 0 {
		opts.InitTimeout = DefaultInitTimeout
	}
	if opts.MaxQueue == 0 {
		opts.MaxQueue = DefaultMaxQueue
	}
	if opts.StopGrace == 0 {
		opts.StopGrace = DefaultStopGrace
	}
	if opts.MaxLogLine == 0 {
		opts.MaxLogLine = DefaultMaxLogLine
	}
	switch {
	case opts.MaxPayload < 0:
		return nil, fmt.Errorf("%w: maxPayload: must not be negative", ErrInvalidOptions)
	case opts.InitTimeout < 0:
		return nil, fmt.Errorf("%w: initTimeout: must not be negative", ErrInvalidOptions)
	case opts.MaxQueue < 0:
		return nil, fmt.Errorf("%w: maxQueue: must not be negative", ErrInvalidOptions)
	case opts.StopGrace < 0:
		return nil, fmt.Errorf("%w: stopGrace: must not be negative", ErrInvalidOptions)
	case opts.MaxLogLine < 0:
		return nil, fmt.Errorf("%w: maxLogLine: must not be negative", ErrInvalidOptions)
	}
	for _, v := range []string{opts.Region, opts.AccessKeyID, opts.SecretAccessKey, opts.SessionToken} {
		if strings.IndexByte(v, 0) >= 0 {
			return nil, fmt.Errorf("%w: region and credentials must not contain NUL", ErrInvalidOptions)
		}
	}

	h := &Host{opts: opts, log: opts.Log, fns: make(map[string]*function, len(opts.Functions))}
	inherited := inheritedEnv()
	for i, f := range opts.Functions {
		fn, err := h.newFunction(f, inherited)
		if err != nil {
			return nil, fmt.Errorf("functions[%d]: %w", i, err)
		}
		if _, dup := h.fns[fn.cfg.Name]; dup {
			return nil, fmt.Errorf("functions[%d].name: %w: duplicate function %q", i, ErrInvalidOptions, fn.cfg.Name)
		}
		h.fns[fn.cfg.Name] = fn
		h.names = append(h.names, fn.cfg.Name)
	}
	slices.Sort(h.names)
	return h, nil
}

// newFunction validates f, applies defaults and resolves its command.
func (h *Host) newFunction(f Function, inherited map[string]string) (*function, error) {
	if !namePattern.MatchString(f.Name) {
		return nil, fmt.Errorf("name: %w: %q must be 1-64 letters, digits, '-' or '_'", ErrInvalidOptions, f.Name)
	}
	if len(f.Command) == 0 || f.Command[0] == "" {
		return nil, fmt.Errorf("command: %w: must not be empty", ErrInvalidOptions)
	}
	for i, a := range f.Command {
		if strings.IndexByte(a, 0) >= 0 {
			return nil, fmt.Errorf("command[%d]: %w: contains NUL", i, ErrInvalidOptions)
		}
	}
	switch {
	case f.Timeout == 0:
		f.Timeout = DefaultTimeout
	case f.Timeout < 0 || f.Timeout > MaxTimeout:
		return nil, fmt.Errorf("timeout: %w: %v is outside (0, %v]", ErrInvalidOptions, f.Timeout, MaxTimeout)
	}
	switch {
	case f.Concurrency == 0:
		f.Concurrency = DefaultConcurrency
	case f.Concurrency < 0 || f.Concurrency > MaxConcurrency:
		return nil, fmt.Errorf("concurrency: %w: %d is outside [1, %d]", ErrInvalidOptions, f.Concurrency, MaxConcurrency)
	}
	if f.Prewarm < 0 || f.Prewarm > f.Concurrency {
		return nil, fmt.Errorf("prewarm: %w: %d is outside [0, concurrency %d]", ErrInvalidOptions, f.Prewarm, f.Concurrency)
	}
	switch {
	case f.MemoryMB == 0:
		f.MemoryMB = DefaultMemoryMB
	case f.MemoryMB < MinMemoryMB || f.MemoryMB > MaxMemoryMB:
		return nil, fmt.Errorf("memoryMB: %w: %d is outside [%d, %d]", ErrInvalidOptions, f.MemoryMB, MinMemoryMB, MaxMemoryMB)
	}
	if f.Handler == "" {
		f.Handler = f.Name
	}
	if strings.IndexByte(f.Handler, 0) >= 0 {
		return nil, fmt.Errorf("handler: %w: contains NUL", ErrInvalidOptions)
	}
	dir := f.Dir
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("dir: %w: %w", ErrInvalidOptions, err)
	}
	f.Dir = abs

	env, dropped, err := cleanEnv(f.Env)
	if err != nil {
		return nil, fmt.Errorf("env: %w", err)
	}
	for _, k := range dropped {
		h.log.Warn("dropping environment variable that would change how the runtime talks to wsgate",
			"function", f.Name, "env", k)
	}
	f.Env = env

	command := slices.Clone(f.Command)
	if !filepath.IsAbs(command[0]) && strings.Contains(command[0], "/") {
		command[0] = filepath.Join(f.Dir, command[0])
	}
	return &function{
		h:         h,
		cfg:       f,
		arn:       "arn:aws:lambda:" + h.opts.Region + ":" + h.opts.AccountID + ":function:" + f.Name,
		command:   command,
		inherited: inherited,
	}, nil
}

// Start launches every function's prewarmed instances and waits until each
// has asked for its first invocation, failed, or ctx ended. Failed instances
// are reported as errors wrapping ErrInitFailed; the host stays usable.
// Calling Start is optional and only the first call does anything.
func (h *Host) Start(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return ErrClosed
	}
	if h.started {
		h.mu.Unlock()
		return nil
	}
	h.started = true
	h.mu.Unlock()

	var warm []*instance
	for _, name := range h.names {
		fn := h.fns[name]
		fn.mu.Lock()
		if fn.closed {
			fn.mu.Unlock()
			return ErrClosed
		}
		for range fn.cfg.Prewarm {
			if fn.liveLocked() >= fn.cfg.Concurrency {
				break
			}
			warm = append(warm, fn.startLocked("", nil, "provisioned-concurrency"))
		}
		fn.mu.Unlock()
	}
	var errs []error
	for _, in := range warm {
		select {
		case <-in.ready:
		case <-in.gone:
		case <-ctx.Done():
			return fmt.Errorf("start: %w", ctx.Err())
		}
		select {
		case <-in.ready:
		default:
			errs = append(errs, fmt.Errorf("function %s instance %d: %w", in.fn.cfg.Name, in.n, ErrInitFailed))
		}
	}
	return errors.Join(errs...)
}

// Has reports whether a function of that name is configured.
func (h *Host) Has(name string) bool {
	_, ok := h.fns[name]
	return ok
}

// Names returns the declared functions' names, sorted.
func (h *Host) Names() []string {
	return slices.Sorted(maps.Keys(h.fns))
}

// Invoke runs inv on an instance of its function and returns the result.
// Function errors (the handler failed, panicked, timed out, crashed) are
// Results with FunctionError set; the error is non-nil only when the
// invocation did not run to a result: ErrUnknownFunction,
// ErrPayloadTooLarge, ErrReservedEnv, ErrInvalidEnv, ErrThrottled, ErrClosed
// or ctx's error. If ctx ends after the event reached the runtime, Invoke
// returns at once and the handler runs on until it answers or times out, as
// on Lambda; if it ends before, the event is withdrawn.
func (h *Host) Invoke(ctx context.Context, inv Invocation) (Result, error) {
	fn, ok := h.fns[inv.Function]
	if !ok {
		return Result{}, fmt.Errorf("invoke %q: %w", inv.Function, ErrUnknownFunction)
	}
	if len(inv.Payload) > h.opts.MaxPayload {
		return Result{}, fmt.Errorf("invoke %s: %w: %d bytes, limit %d", fn.cfg.Name, ErrPayloadTooLarge, len(inv.Payload), h.opts.MaxPayload)
	}
	env, dropped, err := cleanEnv(inv.Env)
	if err != nil {
		return Result{}, fmt.Errorf("invoke %s: env: %w", fn.cfg.Name, err)
	}
	for _, k := range dropped {
		h.log.Warn("dropping invocation environment variable that would change how the runtime talks to wsgate",
			"function", fn.cfg.Name, "env", k)
	}
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("invoke %s: %w", fn.cfg.Name, err)
	}
	traceID := inv.TraceID
	if traceID == "" {
		traceID = newTraceID(time.Now())
	}
	c := &call{
		id:      newRequestID(),
		traceID: traceID,
		payload: bytes.Clone(inv.Payload), // the runtime may read it after Invoke returns
		env:     env,
		key:     envKey(env),
		done:    make(chan struct{}),
	}
	if err := fn.enqueue(c); err != nil {
		return Result{}, fmt.Errorf("invoke %s: %w", fn.cfg.Name, err)
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		if !fn.abandon(c) {
			return Result{RequestID: c.id}, fmt.Errorf("invoke %s: %w", fn.cfg.Name, ctx.Err())
		}
	}
	if c.err != nil {
		return c.res, fmt.Errorf("invoke %s: %w", fn.cfg.Name, c.err)
	}
	return c.res, nil
}

// Stats returns the counters of the named function (zero if unknown).
func (h *Host) Stats(name string) Stats {
	fn, ok := h.fns[name]
	if !ok {
		return Stats{}
	}
	return fn.stats()
}

// Close stops every instance — SIGTERM to each process group, SIGKILL to
// those still running after Options.StopGrace or when ctx ends — fails
// waiting and running invocations with ErrClosed, and waits for every process
// and goroutine of the host. It returns ctx's error if ctx ended before the
// processes stopped gracefully. Close may be called more than once.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()

	var gone []chan struct{}
	for _, name := range h.names {
		fn := h.fns[name]
		fn.mu.Lock()
		fn.closed = true
		for _, c := range fn.waiters {
			fn.completeLocked(c, Result{RequestID: c.id}, ErrClosed)
		}
		fn.waiters = nil
		for _, in := range fn.instances {
			in.stopLocked(sigTerm, stopShutdown)
			gone = append(gone, in.gone)
		}
		fn.mu.Unlock()
	}

	grace := time.NewTimer(h.opts.StopGrace)
	defer grace.Stop()
	var ctxErr error
wait:
	for _, g := range gone {
		select {
		case <-g:
		case <-grace.C:
			break wait
		case <-ctx.Done():
			ctxErr = fmt.Errorf("close: %w", ctx.Err())
			break wait
		}
	}
	for _, name := range h.names {
		fn := h.fns[name]
		fn.mu.Lock()
		for _, in := range fn.instances {
			in.stopLocked(sigKill, stopShutdown)
		}
		fn.mu.Unlock()
	}
	h.wg.Wait()
	return ctxErr
}
