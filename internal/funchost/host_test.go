package funchost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	uuidV4Pattern    = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	tracePattern     = regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$`)
	logStreamPattern = regexp.MustCompile(`^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$`)
	runtimeAPIPatt   = regexp.MustCompile(`^127\.0\.0\.1:\d+$`)
)

// echoResult is what the echo handler answers.
type echoResult struct {
	Event           json.RawMessage   `json:"event"`
	Env             map[string]string `json:"env"`
	PID             int               `json:"pid"`
	Cwd             string            `json:"cwd"`
	RequestID       string            `json:"requestId"`
	FunctionARN     string            `json:"functionArn"`
	HasDeadline     bool              `json:"hasDeadline"`
	DeadlineMs      int64             `json:"deadlineMs"`
	TraceCtx        string            `json:"traceCtx"`
	FunctionName    string            `json:"functionName"`
	FunctionVersion string            `json:"functionVersion"`
	MemoryLimitInMB int               `json:"memoryLimitInMB"`
	LogGroupName    string            `json:"logGroupName"`
	LogStreamName   string            `json:"logStreamName"`
	MaxConcurrency  int               `json:"maxConcurrency"`
}

func TestInvokeEchoEnvironmentAndHeaders(t *testing.T) {
	// Variables in wsgate's own environment that must not leak to handlers.
	t.Setenv("_LAMBDA_SERVER_PORT", "9999")
	t.Setenv("AWS_LAMBDA_MAX_CONCURRENCY", "4")
	t.Setenv("WSGATE_TEST_SECRET", "hunter2")

	fn := fnOf("echo-fn", "echo")
	fn.Env = map[string]string{
		"USER_VAR":                   "from-config",
		"_LAMBDA_SERVER_PORT":        "1234", // dropped with a warning
		"AWS_LAMBDA_MAX_CONCURRENCY": "8",    // dropped with a warning
	}
	fn.Timeout = 7 * time.Second
	fn.MemoryMB = 256
	fn.Handler = "bootstrap"
	h := newHost(t, Options{
		Functions:       []Function{fn},
		Region:          "eu-west-1",
		AccountID:       "123456789012",
		AccessKeyID:     "AKIDTEST",
		SecretAccessKey: "SECRETTEST",
		SessionToken:    "TOKENTEST",
	})
	overlay := map[string]string{"AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI": "http://127.0.0.1:8080/prod"}

	before := time.Now()
	res := invoke(t, h, Invocation{Function: "echo-fn", Payload: []byte(`{"hello":"world"}`), Env: overlay})
	after := time.Now()
	if res.FunctionError != "" {
		t.Fatalf("function error: %s", res.Payload)
	}
	got := decode[echoResult](t, res.Payload)

	jsonEqual(t, got.Event, `{"hello":"world"}`)
	if !uuidV4Pattern.MatchString(res.RequestID) || got.RequestID != res.RequestID {
		t.Errorf("request id: result %q, handler %q; want the same UUID v4", res.RequestID, got.RequestID)
	}
	if want := "arn:aws:lambda:eu-west-1:123456789012:function:echo-fn"; got.FunctionARN != want {
		t.Errorf("invoked function ARN = %q, want %q", got.FunctionARN, want)
	}
	if !got.HasDeadline {
		t.Error("handler context has no deadline")
	}
	if lo, hi := before.Add(7*time.Second).UnixMilli()-1, after.Add(7*time.Second).UnixMilli()+1; got.DeadlineMs < lo || got.DeadlineMs > hi {
		t.Errorf("deadline %d ms not within [%d, %d]", got.DeadlineMs, lo, hi)
	}
	if !tracePattern.MatchString(got.TraceCtx) {
		t.Errorf("trace id %q does not look like Lambda's", got.TraceCtx)
	}
	if got.Cwd != binDir {
		t.Errorf("working directory %q, want %q", got.Cwd, binDir)
	}
	if res.Duration <= 0 {
		t.Errorf("duration %v, want > 0", res.Duration)
	}

	// The environment, exactly: inherited allow-list, user env, overlay,
	// platform variables, and _X_AMZN_TRACE_ID which aws-lambda-go sets per
	// invocation.
	want := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":                 "echo-fn",
		"AWS_LAMBDA_FUNCTION_VERSION":              "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE":          "256",
		"AWS_LAMBDA_LOG_GROUP_NAME":                "/aws/lambda/echo-fn",
		"AWS_LAMBDA_INITIALIZATION_TYPE":           "on-demand",
		"AWS_REGION":                               "eu-west-1",
		"AWS_DEFAULT_REGION":                       "eu-west-1",
		"AWS_EXECUTION_ENV":                        "AWS_Lambda_provided.al2023",
		"_HANDLER":                                 "bootstrap",
		"LAMBDA_TASK_ROOT":                         binDir,
		"LAMBDA_RUNTIME_DIR":                       binDir,
		"TZ":                                       ":UTC",
		"AWS_ACCESS_KEY_ID":                        "AKIDTEST",
		"AWS_SECRET_ACCESS_KEY":                    "SECRETTEST",
		"AWS_SESSION_TOKEN":                        "TOKENTEST",
		"USER_VAR":                                 "from-config",
		"AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI": "http://127.0.0.1:8080/prod",
		"_X_AMZN_TRACE_ID":                         got.TraceCtx,
		"AWS_LAMBDA_RUNTIME_API":                   got.Env["AWS_LAMBDA_RUNTIME_API"],
		"AWS_LAMBDA_LOG_STREAM_NAME":               got.Env["AWS_LAMBDA_LOG_STREAM_NAME"],
		"LANG":                                     "en_US.UTF-8",
		"PATH":                                     "/usr/local/bin:/usr/bin:/bin",
	}
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "LANG", "SSL_CERT_FILE", "SSL_CERT_DIR"} {
		if v, ok := os.LookupEnv(k); ok {
			want[k] = v
		}
	}
	if !maps.Equal(got.Env, want) {
		for _, k := range slices.Sorted(maps.Keys(got.Env)) {
			if w, ok := want[k]; !ok || w != got.Env[k] {
				t.Errorf("env %s=%q, want %q (present %v)", k, got.Env[k], w, ok)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(want)) {
			if _, ok := got.Env[k]; !ok {
				t.Errorf("env %s missing", k)
			}
		}
	}
	for _, k := range []string{"_LAMBDA_SERVER_PORT", "AWS_LAMBDA_MAX_CONCURRENCY", "WSGATE_TEST_SECRET"} {
		if v, ok := got.Env[k]; ok {
			t.Errorf("%s=%q reached the handler", k, v)
		}
	}
	if !runtimeAPIPatt.MatchString(got.Env["AWS_LAMBDA_RUNTIME_API"]) {
		t.Errorf("AWS_LAMBDA_RUNTIME_API=%q, want 127.0.0.1:PORT", got.Env["AWS_LAMBDA_RUNTIME_API"])
	}
	if !logStreamPattern.MatchString(got.Env["AWS_LAMBDA_LOG_STREAM_NAME"]) {
		t.Errorf("AWS_LAMBDA_LOG_STREAM_NAME=%q does not look like Lambda's", got.Env["AWS_LAMBDA_LOG_STREAM_NAME"])
	}

	// What aws-lambda-go's lambdacontext read from that environment.
	if got.FunctionName != "echo-fn" || got.FunctionVersion != "$LATEST" || got.MemoryLimitInMB != 256 ||
		got.LogGroupName != "/aws/lambda/echo-fn" || got.LogStreamName != got.Env["AWS_LAMBDA_LOG_STREAM_NAME"] ||
		got.MaxConcurrency != 1 {
		t.Errorf("lambdacontext: name %q version %q memory %d group %q stream %q max concurrency %d",
			got.FunctionName, got.FunctionVersion, got.MemoryLimitInMB, got.LogGroupName, got.LogStreamName, got.MaxConcurrency)
	}

	// A second invocation reuses the process and passes a given trace id.
	const trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	res2 := invoke(t, h, Invocation{Function: "echo-fn", Payload: []byte(`[1,2]`), Env: overlay, TraceID: trace})
	got2 := decode[echoResult](t, res2.Payload)
	if got2.PID != got.PID {
		t.Errorf("second invocation ran in pid %d, want reuse of %d", got2.PID, got.PID)
	}
	if got2.TraceCtx != trace || got2.Env["_X_AMZN_TRACE_ID"] != trace {
		t.Errorf("trace id %q / env %q, want %q", got2.TraceCtx, got2.Env["_X_AMZN_TRACE_ID"], trace)
	}
	if got2.RequestID == got.RequestID {
		t.Error("two invocations got the same request id")
	}
	jsonEqual(t, got2.Event, `[1,2]`)
	waitFor(t, "the runtime to ask for work again", 5*time.Second, func() bool { return h.Stats("echo-fn").Idle == 1 })
	if s := h.Stats("echo-fn"); s.Starts != 1 || s.Invocations != 2 || s.Errors != 0 || s.Instances != 1 {
		t.Errorf("stats %+v, want 1 start, 2 invocations, 1 instance", s)
	}
}

func TestFunctionErrorDocuments(t *testing.T) {
	h := newHost(t, Options{Functions: []Function{
		fnOf("error-fn", "error"),
		fnOf("panic-fn", "panic"),
		fnOf("exit-fn", "exit"),
		fnOf("raw-fn", "rawruntime"),
	}})
	tests := []struct {
		name     string
		fn       string
		payload  string
		wantType string
		want     string // exact document; %s is the request id
		check    func(t *testing.T, doc map[string]any)
	}{
		{
			name: "returned error", fn: "error-fn", payload: `{}`, wantType: "errorString",
			want: `{"errorMessage":"boom","errorType":"errorString"}`,
		},
		{
			name: "returned named error type", fn: "error-fn", payload: `{"mode":"custom"}`, wantType: "MyError",
			want: `{"errorMessage":"my error 42","errorType":"MyError"}`,
		},
		{
			name: "response reader fails midway (trailers)", fn: "error-fn", payload: `{"mode":"reader"}`, wantType: "errorString",
			want: `{"errorMessage":"stream broke","errorType":"errorString"}`,
		},
		{
			name: "panic", fn: "panic-fn", payload: `{"panic":true}`, wantType: "string",
			check: func(t *testing.T, doc map[string]any) {
				if doc["errorMessage"] != "kaboom" || doc["errorType"] != "string" {
					t.Errorf("panic document %v", doc)
				}
				if st, ok := doc["stackTrace"].([]any); !ok || len(st) == 0 {
					t.Errorf("panic document has no stack trace: %v", doc)
				}
			},
		},
		{
			name: "process exits mid-invocation", fn: "exit-fn", payload: `{"exitCode":3}`, wantType: "Runtime.ExitError",
			want: `{"errorType":"Runtime.ExitError","errorMessage":"RequestId: %s Error: Runtime exited with error: exit status 3"}`,
		},
		{
			name: "custom runtime trailers", fn: "raw-fn", payload: `{"mode":"trailer"}`, wantType: "Custom.StreamError",
			want: `{"errorMessage":"stream broke","errorType":"Custom.StreamError"}`,
		},
		{
			name: "custom runtime plain-text error with type header", fn: "raw-fn", payload: `{"mode":"errorheader"}`, wantType: "Custom.Header",
			want: `{"errorType":"Custom.Header","errorMessage":"plain text failure"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := invoke(t, h, Invocation{Function: tt.fn, Payload: []byte(tt.payload)})
			if res.FunctionError != "Unhandled" {
				t.Fatalf("FunctionError %q, want Unhandled; payload %s", res.FunctionError, res.Payload)
			}
			if res.ErrorType != tt.wantType {
				t.Errorf("ErrorType %q, want %q", res.ErrorType, tt.wantType)
			}
			if tt.want != "" {
				want := tt.want
				if strings.Contains(want, "%s") {
					want = fmt.Sprintf(want, res.RequestID)
				}
				jsonEqual(t, res.Payload, want)
			}
			if tt.check != nil {
				tt.check(t, decode[map[string]any](t, res.Payload))
			}
		})
	}
	// A returned error keeps the process; the next invocation reuses it.
	if s := h.Stats("error-fn"); s.Starts != 1 || s.Errors != 3 || s.Crashes != 0 {
		t.Errorf("error-fn stats %+v, want 1 start, 3 errors, no crash", s)
	}
}

func TestPanicThenNextInvocationUsesNewProcess(t *testing.T) {
	h := newHost(t, Options{Functions: []Function{fnOf("panic-fn", "panic")}})
	first := successPID(t, h, "panic-fn", `{}`)
	res := invoke(t, h, Invocation{Function: "panic-fn", Payload: []byte(`{"panic":true}`)})
	if res.FunctionError != "Unhandled" {
		t.Fatalf("panic: FunctionError %q, payload %s", res.FunctionError, res.Payload)
	}
	second := successPID(t, h, "panic-fn", `{}`)
	if second == first {
		t.Fatalf("invocation after a panic ran in the panicked process %d", first)
	}
	waitFor(t, "panicked process to be reaped", 5*time.Second, func() bool { return reaped(first) })
	waitFor(t, "crash to be counted", 5*time.Second, func() bool { return h.Stats("panic-fn").Crashes == 1 })
	if s := h.Stats("panic-fn"); s.Starts != 2 || s.Errors != 1 || s.Instances != 1 {
		t.Errorf("stats %+v, want 2 starts, 1 error, 1 instance", s)
	}
}

func TestTimeoutKillsProcessGroup(t *testing.T) {
	logs := newLogCapture(t.Output())
	fn := fnOf("sleep-fn", "sleep")
	fn.Timeout = 500 * time.Millisecond
	h := newHost(t, Options{Functions: []Function{fn}, Log: slog.New(logs)})

	start := time.Now()
	res := invoke(t, h, Invocation{Function: "sleep-fn", Payload: []byte(`{"sleepMs":600000,"spawn":true}`)})
	elapsed := time.Since(start)
	if res.FunctionError != "Unhandled" || res.ErrorType != "Sandbox.Timedout" {
		t.Fatalf("FunctionError %q ErrorType %q, payload %s", res.FunctionError, res.ErrorType, res.Payload)
	}
	jsonEqual(t, res.Payload, fmt.Sprintf(
		`{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: %s Error: Task timed out after 0.50 seconds"}`, res.RequestID))
	if res.Duration < 500*time.Millisecond || elapsed > 10*time.Second {
		t.Errorf("duration %v (elapsed %v), want about the 500ms timeout", res.Duration, elapsed)
	}

	var pid, child int
	waitFor(t, "pids in the handler's output", 5*time.Second, func() bool {
		pid, child = logs.pidFromLog("sleep-fn", "sleeping pid="), logs.pidFromLog("sleep-fn", "child pid=")
		return pid > 0 && child > 0
	})
	waitFor(t, "timed-out process to be reaped", 5*time.Second, func() bool { return reaped(pid) })
	waitFor(t, "its child to be killed with the group", 5*time.Second, func() bool { return dead(child) })
	waitFor(t, "the slot to be freed", 5*time.Second, func() bool { return h.Stats("sleep-fn").Instances == 0 })

	next := successPID(t, h, "sleep-fn", `{"sleepMs":1}`)
	if next == pid {
		t.Fatalf("invocation after a timeout ran in the killed process %d", pid)
	}
	if s := h.Stats("sleep-fn"); s.Timeouts != 1 || s.Starts != 2 || s.Crashes != 0 || s.Errors != 1 {
		t.Errorf("stats %+v, want 1 timeout, 2 starts, no crash, 1 error", s)
	}
}

func TestExitMidInvocationThenRecovers(t *testing.T) {
	h := newHost(t, Options{Functions: []Function{fnOf("exit-fn", "exit")}})
	first := successPID(t, h, "exit-fn", `{}`)
	res := invoke(t, h, Invocation{Function: "exit-fn", Payload: []byte(`{"exitCode":7}`)})
	jsonEqual(t, res.Payload, fmt.Sprintf(
		`{"errorType":"Runtime.ExitError","errorMessage":"RequestId: %s Error: Runtime exited with error: exit status 7"}`, res.RequestID))
	if !reaped(first) {
		t.Errorf("exited process %d not reaped when its result was returned", first)
	}
	if second := successPID(t, h, "exit-fn", `{}`); second == first {
		t.Errorf("invocation after an exit ran in pid %d again", first)
	}
	if s := h.Stats("exit-fn"); s.Crashes != 1 || s.Starts != 2 {
		t.Errorf("stats %+v, want 1 crash, 2 starts", s)
	}
}

func TestInitFailures(t *testing.T) {
	tests := []struct {
		name     string
		mode     string
		command  string
		wantType string
		want     string // %s is the request id
		prefix   string // errorMessage prefix, when the text is the OS's
	}{
		{
			name: "exits before asking for work", mode: "exit", wantType: "Runtime.ExitError",
			want: `{"errorType":"Runtime.ExitError","errorMessage":"RequestId: %s Error: Runtime exited with error: exit status 2"}`,
		},
		{
			name: "posts init error", mode: "post", wantType: "ConfigError",
			want: `{"errorMessage":"config missing","errorType":"ConfigError"}`,
		},
		{
			name: "never asks for work", mode: "hang", wantType: "Runtime.InitError",
			want: `{"errorType":"Runtime.InitError","errorMessage":"RequestId: %s Error: Init timed out after 0.50 seconds"}`,
		},
		{
			name: "command missing", command: "./no-such-handler", wantType: "Runtime.InvalidEntrypoint",
			prefix: "RequestId: %s Error: fork/exec " + binDir + "/no-such-handler",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := fnOf("init-fn", "initfail")
			fn.Env = map[string]string{"INIT_MODE": tt.mode}
			if tt.command != "" {
				fn.Command = []string{tt.command}
			}
			h := newHost(t, Options{Functions: []Function{fn}, InitTimeout: 500 * time.Millisecond})
			res := invoke(t, h, Invocation{Function: "init-fn", Payload: []byte(`{}`)})
			if res.FunctionError != "Unhandled" || res.ErrorType != tt.wantType {
				t.Fatalf("FunctionError %q ErrorType %q, want Unhandled %q; payload %s", res.FunctionError, res.ErrorType, tt.wantType, res.Payload)
			}
			if tt.want != "" {
				want := tt.want
				if strings.Contains(want, "%s") {
					want = fmt.Sprintf(want, res.RequestID)
				}
				jsonEqual(t, res.Payload, want)
			}
			if tt.prefix != "" {
				doc := decode[errorDoc](t, res.Payload)
				if prefix := fmt.Sprintf(tt.prefix, res.RequestID); !strings.HasPrefix(doc.ErrorMessage, prefix) {
					t.Errorf("errorMessage %q, want prefix %q", doc.ErrorMessage, prefix)
				}
			}
			if res.Duration != 0 {
				t.Errorf("duration %v for an invocation no runtime saw", res.Duration)
			}
			waitFor(t, "failed instance to go", 5*time.Second, func() bool { return h.Stats("init-fn").Instances == 0 })
		})
	}
}

func TestStartPrewarms(t *testing.T) {
	warm := fnOf("warm-fn", "echo")
	warm.Prewarm = 2
	broken := fnOf("broken-fn", "initfail")
	broken.Env = map[string]string{"INIT_MODE": "exit"}
	broken.Prewarm = 1
	h := newHost(t, Options{Functions: []Function{warm, broken}})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := h.Start(ctx)
	if !errors.Is(err, ErrInitFailed) || !strings.Contains(err.Error(), "broken-fn") || strings.Contains(err.Error(), "warm-fn") {
		t.Fatalf("Start: %v, want ErrInitFailed for broken-fn only", err)
	}
	if s := h.Stats("warm-fn"); s.Instances != 2 || s.Idle != 2 || s.Starts != 2 {
		t.Fatalf("after Start: %+v, want 2 idle instances", s)
	}
	res := invoke(t, h, Invocation{Function: "warm-fn", Payload: []byte(`{}`)})
	got := decode[echoResult](t, res.Payload)
	if got.Env["AWS_LAMBDA_INITIALIZATION_TYPE"] != "provisioned-concurrency" {
		t.Errorf("AWS_LAMBDA_INITIALIZATION_TYPE=%q on a prewarmed instance", got.Env["AWS_LAMBDA_INITIALIZATION_TYPE"])
	}
	if s := h.Stats("warm-fn"); s.Starts != 2 {
		t.Errorf("an invocation started a process although two were warm: %+v", s)
	}
}

func TestConcurrencyLimitUnderBurst(t *testing.T) {
	fn := fnOf("burst-fn", "sleep")
	fn.Concurrency = 3
	h := newHost(t, Options{Functions: []Function{fn}})

	const n = 20
	results := make([]pidResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			res, err := h.Invoke(ctx, Invocation{Function: "burst-fn", Payload: []byte(`{"sleepMs":100}`)})
			switch {
			case err != nil:
				errs[i] = err
			case res.FunctionError != "":
				errs[i] = fmt.Errorf("function error %s", res.Payload)
			default:
				errs[i] = json.Unmarshal(res.Payload, &results[i])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}

	pids := make(map[int]bool)
	type edge struct {
		at    int64
		delta int
	}
	var edges []edge
	for _, r := range results {
		pids[r.PID] = true
		edges = append(edges, edge{r.StartNs, +1}, edge{r.EndNs, -1})
	}
	// Ends sort before starts at the same instant.
	slices.SortFunc(edges, func(a, b edge) int {
		if a.at != b.at {
			return int(a.at - b.at)
		}
		return a.delta - b.delta
	})
	running, maxRunning := 0, 0
	for _, e := range edges {
		running += e.delta
		maxRunning = max(maxRunning, running)
	}
	if len(pids) > 3 {
		t.Errorf("%d distinct processes, want at most 3", len(pids))
	}
	if maxRunning > 3 {
		t.Errorf("%d handlers ran at once, want at most 3", maxRunning)
	}
	s := h.Stats("burst-fn")
	if s.MaxBusy != 3 || s.Instances > 3 || s.Starts != 3 || s.Invocations != n || s.Waiting != 0 {
		t.Errorf("stats %+v, want max busy 3, 3 starts, %d invocations", s, n)
	}
	t.Logf("20 invocations on %d processes, at most %d at once", len(pids), maxRunning)
}

func TestQueueBoundAndCancellation(t *testing.T) {
	fn := fnOf("queue-fn", "sleep")
	fn.Concurrency = 1
	fn.Timeout = time.Minute
	h := newHost(t, Options{Functions: []Function{fn}, MaxQueue: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	type outcome struct {
		res Result
		err error
	}
	start := func(ctx context.Context, payload string) chan outcome {
		ch := make(chan outcome, 1)
		go func() {
			res, err := h.Invoke(ctx, Invocation{Function: "queue-fn", Payload: []byte(payload)})
			ch <- outcome{res, err}
		}()
		return ch
	}
	// The only instance is busy for a while; two more invocations queue.
	long := start(ctx, `{"sleepMs":3000}`)
	waitFor(t, "the long invocation to run", 10*time.Second, func() bool { return h.Stats("queue-fn").Invocations == 1 })
	ctxB, cancelB := context.WithCancel(ctx)
	b := start(ctxB, `{"sleepMs":1}`)
	waitFor(t, "one waiting", 5*time.Second, func() bool { return h.Stats("queue-fn").Waiting == 1 })
	c := start(ctx, `{"sleepMs":1}`)
	waitFor(t, "two waiting", 5*time.Second, func() bool { return h.Stats("queue-fn").Waiting == 2 })

	if _, err := h.Invoke(ctx, Invocation{Function: "queue-fn", Payload: []byte(`{}`)}); !errors.Is(err, ErrThrottled) {
		t.Fatalf("third waiting invocation: %v, want ErrThrottled", err)
	}
	cancelB()
	if o := <-b; !errors.Is(o.err, context.Canceled) {
		t.Errorf("cancelled waiting invocation: %v, want context.Canceled", o.err)
	}
	if w := h.Stats("queue-fn").Waiting; w != 1 {
		t.Errorf("%d waiting after a cancellation, want 1", w)
	}
	for name, ch := range map[string]chan outcome{"long": long, "queued": c} {
		o := <-ch
		if o.err != nil || o.res.FunctionError != "" {
			t.Errorf("%s invocation: err %v, result %s", name, o.err, o.res.Payload)
		}
	}
	if s := h.Stats("queue-fn"); s.Throttles != 1 || s.Invocations != 2 || s.Starts != 1 {
		t.Errorf("stats %+v, want 1 throttle, 2 invocations on 1 process", s)
	}
}

func TestContextEndsWhileInstanceStarts(t *testing.T) {
	fn := fnOf("slow-init", "initfail")
	fn.Env = map[string]string{"INIT_MODE": "hang"}
	h := newHost(t, Options{Functions: []Function{fn}, InitTimeout: 30 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := h.Invoke(ctx, Invocation{Function: "slow-init", Payload: []byte(`{}`)})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Invoke: %v, want context.DeadlineExceeded", err)
	}
	if s := h.Stats("slow-init"); s.Busy != 0 || s.Waiting != 0 || s.Instances != 1 {
		t.Errorf("stats %+v: the withdrawn call must not hold the starting instance", s)
	}
}

func TestEnvOverlaysGetSeparateInstances(t *testing.T) {
	fn := fnOf("overlay-fn", "echo")
	fn.Concurrency = 2
	h := newHost(t, Options{Functions: []Function{fn}})
	run := func(stage string) echoResult {
		t.Helper()
		var env map[string]string
		if stage != "" {
			env = map[string]string{"STAGE": stage}
		}
		res := invoke(t, h, Invocation{Function: "overlay-fn", Payload: []byte(`{}`), Env: env})
		got := decode[echoResult](t, res.Payload)
		if got.Env["STAGE"] != stage {
			t.Fatalf("STAGE=%q in an instance for %q", got.Env["STAGE"], stage)
		}
		return got
	}
	a1, b1, a2 := run("a"), run("b"), run("a")
	if a1.PID == b1.PID {
		t.Fatalf("overlays a and b shared process %d", a1.PID)
	}
	if a2.PID != a1.PID {
		t.Errorf("overlay a ran in %d then %d, want reuse", a1.PID, a2.PID)
	}
	// Both slots are held by idle instances of other overlays: one is
	// stopped to make room.
	plain := run("")
	if plain.PID == a1.PID || plain.PID == b1.PID {
		t.Fatalf("no-overlay invocation ran in an overlay's process %d", plain.PID)
	}
	waitFor(t, "an evicted process to be reaped", 5*time.Second, func() bool { return reaped(a1.PID) || reaped(b1.PID) })
	if s := h.Stats("overlay-fn"); s.Starts != 3 || s.Instances > 2 || s.Crashes != 0 {
		t.Errorf("stats %+v, want 3 starts, at most 2 instances, no crash", s)
	}
}

func TestPayloadLimits(t *testing.T) {
	const limit = 1024
	h := newHost(t, Options{MaxPayload: limit, Functions: []Function{fnOf("echo-fn", "echo"), fnOf("raw-fn", "rawruntime")}})
	pad := func(n int) []byte { // a JSON object of exactly n bytes
		return []byte(`{"p":"` + strings.Repeat("x", n-8) + `"}`)
	}
	tooLargeDoc := `{"errorType":"Function.ResponseSizeTooLarge","errorMessage":"Response payload size exceeded maximum allowed payload size (1024 bytes)."}`

	t.Run("request", func(t *testing.T) {
		if _, err := h.Invoke(context.Background(), Invocation{Function: "echo-fn", Payload: pad(limit + 1)}); !errors.Is(err, ErrPayloadTooLarge) {
			t.Errorf("request of limit+1 bytes: %v, want ErrPayloadTooLarge", err)
		}
		if len(pad(limit)) != limit {
			t.Fatalf("pad(%d) has %d bytes", limit, len(pad(limit)))
		}
		// rawruntime answers with the event itself: exactly the limit again.
		if res := invoke(t, h, Invocation{Function: "raw-fn", Payload: pad(limit)}); res.FunctionError != "" || len(res.Payload) != limit {
			t.Errorf("request of exactly the limit: %q, %d bytes", res.FunctionError, len(res.Payload))
		}
	})
	t.Run("response at the limit", func(t *testing.T) {
		res := invoke(t, h, Invocation{Function: "echo-fn", Payload: []byte(`{"size":1024}`)})
		if res.FunctionError != "" || len(res.Payload) != limit {
			t.Errorf("FunctionError %q, %d bytes, want success with %d", res.FunctionError, len(res.Payload), limit)
		}
	})
	t.Run("aws-lambda-go response over the limit", func(t *testing.T) {
		res := invoke(t, h, Invocation{Function: "echo-fn", Payload: []byte(`{"size":1025}`)})
		if res.FunctionError != "Unhandled" || res.ErrorType != "Function.ResponseSizeTooLarge" {
			t.Fatalf("FunctionError %q ErrorType %q", res.FunctionError, res.ErrorType)
		}
		jsonEqual(t, res.Payload, tooLargeDoc)
		// aws-lambda-go exits when its response is refused; a new process
		// takes the next invocation.
		if res := invoke(t, h, Invocation{Function: "echo-fn", Payload: []byte(`{"size":10}`)}); res.FunctionError != "" {
			t.Errorf("next invocation: %s", res.Payload)
		}
	})
	t.Run("custom runtime response over the limit", func(t *testing.T) {
		res := invoke(t, h, Invocation{Function: "raw-fn", Payload: []byte(`{"mode":"big","size":5000}`)})
		jsonEqual(t, res.Payload, tooLargeDoc)
		if res := invoke(t, h, Invocation{Function: "raw-fn", Payload: []byte(`{"mode":"big","size":1024}`)}); res.FunctionError != "" || len(res.Payload) != limit {
			t.Errorf("next invocation: %q, %d bytes", res.FunctionError, len(res.Payload))
		}
		if s := h.Stats("raw-fn"); s.Starts != 1 {
			t.Errorf("a runtime that survives a 413 was replaced: %+v", s)
		}
	})
}

func TestRuntimeAPIRefusals(t *testing.T) {
	h := newHost(t, Options{Functions: []Function{fnOf("raw-fn", "rawruntime")}})

	t.Run("unknown request id, init error after init, headers", func(t *testing.T) {
		res := invoke(t, h, Invocation{Function: "raw-fn", Payload: []byte(`{"mode":"probe"}`)})
		var got struct {
			Bogus struct {
				Status int
				Body   string
			}
			InitError struct {
				Status int
				Body   string
			}
			Headers map[string]string
		}
		if err := json.Unmarshal(res.Payload, &got); err != nil {
			t.Fatalf("probe result %s: %v", res.Payload, err)
		}
		if got.Bogus.Status != 400 {
			t.Errorf("post to an unknown request id: status %d", got.Bogus.Status)
		}
		jsonEqual(t, []byte(got.Bogus.Body), `{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}`)
		if got.InitError.Status != 403 || decode[errorDoc](t, []byte(got.InitError.Body)).ErrorType != "InvalidStateTransition" {
			t.Errorf("init error after init: %d %s", got.InitError.Status, got.InitError.Body)
		}
		hd := got.Headers
		if hd["Lambda-Runtime-Aws-Request-Id"] != res.RequestID ||
			hd["Lambda-Runtime-Invoked-Function-Arn"] != "arn:aws:lambda:us-east-1:000000000000:function:raw-fn" ||
			!tracePattern.MatchString(hd["Lambda-Runtime-Trace-Id"]) {
			t.Errorf("next headers %v", hd)
		}
		if ms, err := strconv.ParseInt(hd["Lambda-Runtime-Deadline-Ms"], 10, 64); err != nil || ms < time.Now().UnixMilli() {
			t.Errorf("Lambda-Runtime-Deadline-Ms %q is not a future epoch ms", hd["Lambda-Runtime-Deadline-Ms"])
		}
	})
	t.Run("next before answering", func(t *testing.T) {
		res := invoke(t, h, Invocation{Function: "raw-fn", Payload: []byte(`{"mode":"nextagain"}`)})
		var got struct {
			Status int
			Body   string
		}
		if err := json.Unmarshal(res.Payload, &got); err != nil || got.Status != 403 {
			t.Fatalf("second next: %s (%v)", res.Payload, err)
		}
		if typ := decode[errorDoc](t, []byte(got.Body)).ErrorType; typ != "InvalidStateTransition" {
			t.Errorf("second next: errorType %q", typ)
		}
	})
}

func TestHandlerOutputIsLoggedByLine(t *testing.T) {
	logs := newLogCapture(t.Output())
	h := newHost(t, Options{Functions: []Function{fnOf("echo-fn", "echo")}, Log: slog.New(logs)})
	res := invoke(t, h, Invocation{Function: "echo-fn", Payload: []byte(`{"stdout":"hello\r\nworld\n","stderrBytes":40000}`)})
	if res.FunctionError != "" {
		t.Fatalf("function error %s", res.Payload)
	}
	var stdout []string
	var stderr []int
	waitFor(t, "all output lines", 5*time.Second, func() bool {
		stdout, stderr = nil, nil
		for _, r := range logs.records() {
			if r.attrs["function"] != "echo-fn" || r.attrs["instance"] != "1" {
				continue
			}
			switch r.attrs["stream"] {
			case "stdout":
				stdout = append(stdout, r.msg)
			case "stderr":
				stderr = append(stderr, len(r.msg))
			}
		}
		return len(stdout) >= 2 && len(stderr) >= 3
	})
	if !slices.Equal(stdout[:2], []string{"hello", "world"}) {
		t.Errorf("stdout lines %q", stdout)
	}
	if !slices.Equal(stderr, []int{DefaultMaxLogLine, DefaultMaxLogLine, 40000 - 2*DefaultMaxLogLine}) {
		t.Errorf("a 40000-byte stderr line was logged in pieces of %v", stderr)
	}
}

func TestCloseStopsEverything(t *testing.T) {
	if buildErr != nil {
		t.Fatalf("building test handlers: %v", buildErr)
	}
	before := runtime.NumGoroutine()
	logs := newLogCapture(t.Output())
	sleep := fnOf("sleep-fn", "sleep")
	sleep.Timeout = 10 * time.Minute
	sleep.Concurrency = 1
	h, err := New(Options{Functions: []Function{fnOf("echo-fn", "echo"), sleep, fnOf("panic-fn", "panic")}, Log: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	echoPID := decode[echoResult](t, invoke(t, h, Invocation{Function: "echo-fn", Payload: []byte(`{}`)}).Payload).PID
	invoke(t, h, Invocation{Function: "panic-fn", Payload: []byte(`{"panic":true}`)})
	inflight := make(chan error, 1)
	go func() {
		_, err := h.Invoke(context.Background(), Invocation{Function: "sleep-fn", Payload: []byte(`{"sleepMs":600000}`)})
		inflight <- err
	}()
	var sleepPID int
	waitFor(t, "the sleeping handler to start", 10*time.Second, func() bool {
		sleepPID = logs.pidFromLog("sleep-fn", "sleeping pid=")
		return sleepPID > 0
	})
	queued := make(chan error, 1)
	go func() {
		_, err := h.Invoke(context.Background(), Invocation{Function: "sleep-fn", Payload: []byte(`{}`)})
		queued <- err
	}()
	waitFor(t, "an invocation to queue", 10*time.Second, func() bool { return h.Stats("sleep-fn").Waiting == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-inflight; !errors.Is(err, ErrClosed) {
		t.Errorf("in-flight invocation: %v, want ErrClosed", err)
	}
	if err := <-queued; !errors.Is(err, ErrClosed) {
		t.Errorf("queued invocation: %v, want ErrClosed", err)
	}
	for _, pid := range []int{echoPID, sleepPID} {
		if !reaped(pid) {
			t.Errorf("process %d still exists after Close", pid)
		}
	}
	for _, name := range []string{"echo-fn", "sleep-fn", "panic-fn"} {
		if s := h.Stats(name); s.Instances != 0 || s.Busy != 0 || s.Waiting != 0 {
			t.Errorf("%s after Close: %+v", name, s)
		}
	}
	if _, err := h.Invoke(context.Background(), Invocation{Function: "echo-fn", Payload: []byte(`{}`)}); !errors.Is(err, ErrClosed) {
		t.Errorf("Invoke after Close: %v, want ErrClosed", err)
	}
	if err := h.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}

	// Every goroutine of the host is gone (net/http's connection goroutines
	// may need a moment to notice their closed sockets).
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNewValidation(t *testing.T) {
	ok := fnOf("ok", "echo")
	with := func(f func(*Function)) Function {
		fn := ok
		f(&fn)
		return fn
	}
	tests := []struct {
		name string
		opts Options
		want error
	}{
		{name: "duplicate names", opts: Options{Functions: []Function{ok, ok}}, want: ErrInvalidOptions},
		{name: "bad name", opts: Options{Functions: []Function{with(func(f *Function) { f.Name = "a:b" })}}, want: ErrInvalidOptions},
		{name: "empty command", opts: Options{Functions: []Function{with(func(f *Function) { f.Command = nil })}}, want: ErrInvalidOptions},
		{name: "negative timeout", opts: Options{Functions: []Function{with(func(f *Function) { f.Timeout = -1 })}}, want: ErrInvalidOptions},
		{name: "timeout over 15m", opts: Options{Functions: []Function{with(func(f *Function) { f.Timeout = 16 * time.Minute })}}, want: ErrInvalidOptions},
		{name: "concurrency too high", opts: Options{Functions: []Function{with(func(f *Function) { f.Concurrency = MaxConcurrency + 1 })}}, want: ErrInvalidOptions},
		{name: "prewarm over concurrency", opts: Options{Functions: []Function{with(func(f *Function) { f.Concurrency = 2; f.Prewarm = 3 })}}, want: ErrInvalidOptions},
		{name: "memory too small", opts: Options{Functions: []Function{with(func(f *Function) { f.MemoryMB = 64 })}}, want: ErrInvalidOptions},
		{name: "reserved env", opts: Options{Functions: []Function{with(func(f *Function) { f.Env = map[string]string{"AWS_REGION": "x"} })}}, want: ErrReservedEnv},
		{name: "runtime API env", opts: Options{Functions: []Function{with(func(f *Function) { f.Env = map[string]string{"AWS_LAMBDA_RUNTIME_API": "x"} })}}, want: ErrReservedEnv},
		{name: "env name with =", opts: Options{Functions: []Function{with(func(f *Function) { f.Env = map[string]string{"A=B": "x"} })}}, want: ErrInvalidEnv},
		{name: "bad account id", opts: Options{AccountID: "12", Functions: []Function{ok}}, want: ErrInvalidOptions},
		{name: "valid", opts: Options{Functions: []Function{ok, with(func(f *Function) { f.Name = "other"; f.Env = map[string]string{"TZ": "Europe/Paris"} })}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := New(tt.opts)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("New: %v, want %v", err, tt.want)
			}
			if h != nil {
				if !h.Has("ok") || h.Has("nope") {
					t.Error("Has")
				}
				if err := h.Close(context.Background()); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func TestInvokeRefusals(t *testing.T) {
	h := newHost(t, Options{Functions: []Function{fnOf("echo-fn", "echo")}})
	tests := []struct {
		name string
		inv  Invocation
		want error
	}{
		{name: "unknown function", inv: Invocation{Function: "nope"}, want: ErrUnknownFunction},
		{name: "reserved overlay", inv: Invocation{Function: "echo-fn", Env: map[string]string{"AWS_ACCESS_KEY_ID": "x"}}, want: ErrReservedEnv},
		{name: "NUL in overlay", inv: Invocation{Function: "echo-fn", Env: map[string]string{"X": "a\x00b"}}, want: ErrInvalidEnv},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := h.Invoke(context.Background(), tt.inv); !errors.Is(err, tt.want) {
				t.Errorf("Invoke: %v, want %v", err, tt.want)
			}
		})
	}
	if s := h.Stats("echo-fn"); s.Starts != 0 {
		t.Errorf("refused invocations started a process: %+v", s)
	}
}
