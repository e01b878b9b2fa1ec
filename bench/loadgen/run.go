package loadgen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Scenarios, in the order Run runs them.
const (
	ScenarioIdle          = "idle"           // open N, hold, measure server RSS; connect rate
	ScenarioFanout        = "fanout"         // one message to every connection through @broadcast
	ScenarioFanoutStalled = "fanout-stalled" // the same with one member that never reads
	ScenarioEcho          = "echo"           // closed-loop round trips through $default
	ScenarioEchoTemplate  = "echo-template"  // the same through a templated MOCK route (wsgate only)
	ScenarioRouteHTTP     = "route-http"     // the same through an HTTP_PROXY route to our backend
	ScenarioRouteProxy    = "route-proxy"    // the same through an AWS_PROXY route to our backend
	ScenarioPush          = "push"           // @connections POSTs from this process
	ScenarioChurn         = "churn"          // connect and disconnect at a rate
)

// AllScenarios lists every scenario in run order.
var allScenarios = []string{ScenarioIdle, ScenarioFanout, ScenarioFanoutStalled, ScenarioEcho, ScenarioEchoTemplate,
	ScenarioRouteHTTP, ScenarioRouteProxy, ScenarioPush, ScenarioChurn}

func scenarioRank(s string) int {
	if i := slices.Index(allScenarios, s); i >= 0 {
		return i
	}
	return len(allScenarios)
}

// needsControl reports whether a scenario needs the routes of the API Run
// creates through a control plane.
func needsControl(s string) bool {
	switch s {
	case ScenarioEchoTemplate, ScenarioRouteHTTP, ScenarioRouteProxy:
		return true
	}
	return false
}

// Config configures a run. Zero values select the defaults noted.
type Config struct {
	// URL is the WebSocket URL to load (ws://127.x.x.x:port/path). With
	// Control it is derived from the API Run creates.
	URL string
	// Control is a wsgate control plane (http://127.0.0.1:8080): Run
	// creates the benchmark API there, targets it, and deletes it at the
	// end.
	Control string
	// Mgmt is the management endpoint of the target's stage
	// (http://host/{apiId}/{stage}) for push and fanout; derived from URL
	// when empty.
	Mgmt string
	// PID is the server's process id, for RSS per connection; 0 skips it.
	PID int
	// Scenarios to run (default: all that the target supports).
	Scenarios []string
	Label     string

	IdleConns   int // default 19,000
	FanoutConns int // default 15,000
	EchoConns   int // default 1,000
	PushConns   int // default 1,000

	ConnectConcurrency int           // handshakes in flight per worker process; default 32
	ConnectTimeout     time.Duration // for opening a batch; default 2m
	Settle             time.Duration // wait before reading RSS; default 2s

	Duration time.Duration // of echo, route and push measurements; default 5s
	Warmup   time.Duration // before echo and route measurements; default 1s
	Size     int           // echo and push message bytes; default 100

	FanoutSize   int   // default 100
	FanoutRounds int   // default 5
	StallBytes   int64 // sent through the stalled member's echo route; default 16 MiB

	PushConcurrency int // POSTs in flight; default 64

	ChurnRate        float64       // connections per second; default 1,000
	ChurnDuration    time.Duration // default 3s
	ChurnConcurrency int           // default 64

	Sources    int // source addresses 127.0.0.2…; default 8
	PerProcess int // connections per process; default from the open files limit

	AccessKeyID, SecretAccessKey, Region string // SigV4; default wsgate/wsgate/us-east-1

	// WorkerCommand returns the command that runs a worker process
	// (RunWorker on its stdin and stdout); nil keeps every connection in
	// this process.
	WorkerCommand func() *exec.Cmd
	Log           *slog.Logger
}

func (c *Config) withDefaults() {
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	defDur := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	def(&c.IdleConns, 19000)
	def(&c.FanoutConns, 15000)
	def(&c.EchoConns, 1000)
	def(&c.PushConns, 1000)
	def(&c.ConnectConcurrency, 32)
	defDur(&c.ConnectTimeout, 2*time.Minute)
	defDur(&c.Settle, 2*time.Second)
	defDur(&c.Duration, 5*time.Second)
	defDur(&c.Warmup, time.Second)
	def(&c.Size, 100)
	def(&c.FanoutSize, 100)
	def(&c.FanoutRounds, 5)
	if c.StallBytes <= 0 {
		c.StallBytes = 16 << 20
	}
	def(&c.PushConcurrency, 64)
	if c.ChurnRate <= 0 {
		c.ChurnRate = 1000
	}
	defDur(&c.ChurnDuration, 3*time.Second)
	def(&c.ChurnConcurrency, 64)
	def(&c.Sources, 8)
	if c.AccessKeyID == "" {
		c.AccessKeyID, c.SecretAccessKey = "wsgate", "wsgate"
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// Errors Run reports.
var (
	// ErrConfig is wrapped by every configuration error.
	ErrConfig = errors.New("invalid benchmark configuration")
	// ErrScenarioFailed is returned, with the report, when a scenario
	// could not complete (see its notes and errors).
	ErrScenarioFailed = errors.New("scenarios failed")
)

// run is the state of one Run.
type run struct {
	cfg    Config
	log    *slog.Logger
	target string
	mgmt   string
	fl     *fleet
	rep    *Report
}

// Run runs the selected scenarios against one server and reports what
// they measured. It stops every worker process and closes every
// connection it opened before it returns.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.withDefaults()
	r := &run{cfg: cfg, log: cfg.Log}
	scenarios := cfg.Scenarios
	if len(scenarios) == 0 {
		for _, s := range allScenarios {
			if cfg.Control != "" || !needsControl(s) {
				scenarios = append(scenarios, s)
			}
		}
	}
	for _, s := range scenarios {
		if !slices.Contains(allScenarios, s) {
			return nil, fmt.Errorf("%w: unknown scenario %q (known: %s)", ErrConfig, s, strings.Join(allScenarios, ", "))
		}
		if needsControl(s) && cfg.Control == "" {
			return nil, fmt.Errorf("%w: scenario %s needs --control: its routes are created on a wsgate control plane", ErrConfig, s)
		}
	}
	slices.SortFunc(scenarios, func(a, b string) int { return scenarioRank(a) - scenarioRank(b) })
	scenarios = slices.Compact(scenarios)

	if cfg.Control != "" {
		be, err := startBackend()
		if err != nil {
			return nil, err
		}
		defer be.close(ctx)
		api, err := setupAPI(ctx, &r.cfg, be.URL)
		if err != nil {
			return nil, err
		}
		defer func() {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := deleteAPI(dctx, &r.cfg, api.ID); err != nil {
				r.log.Warn("could not delete the benchmark API", "api_id", api.ID, "err", err)
			}
		}()
		r.cfg.URL, r.cfg.Mgmt = api.WSURL, api.MgmtURL
		r.log.Info("benchmark API created through the control plane", "api_id", api.ID, "url", api.WSURL)
	}
	u, err := CheckURL(r.cfg.URL, "ws")
	if err != nil {
		return nil, err
	}
	r.target = u.String()
	if r.cfg.Mgmt == "" {
		r.cfg.Mgmt = "http://" + u.Host + u.Path
	}
	if slices.ContainsFunc(scenarios, func(s string) bool { return s == ScenarioPush || strings.HasPrefix(s, ScenarioFanout) }) {
		m, err := CheckURL(r.cfg.Mgmt, "http")
		if err != nil {
			return nil, err
		}
		r.mgmt = strings.TrimSuffix(m.String(), "/")
	}
	if r.cfg.PID > 0 {
		if _, err := ReadRSS(r.cfg.PID); err != nil {
			return nil, fmt.Errorf("%w: --pid %d: %v", ErrConfig, r.cfg.PID, err)
		}
		if lim := OpenFilesLimit(r.cfg.PID); lim > 0 && slices.Contains(scenarios, ScenarioIdle) && r.cfg.IdleConns > lim-100 {
			r.log.Warn(fmt.Sprintf("the server process allows %d open files: %d connections cannot all be accepted", lim, r.cfg.IdleConns))
		}
	}
	r.rep = &Report{Label: cfg.Label, Target: r.target, Started: time.Now().UTC(), Machine: ThisMachine(), Settings: r.settings()}
	fl, err := newFleet(&r.cfg, r.log)
	if err != nil {
		return nil, err
	}
	r.fl = fl
	defer fl.close(ctx)

	var failed []string
	for _, s := range scenarios {
		if ctx.Err() != nil {
			break
		}
		r.log.Info("scenario starting", "scenario", s)
		res, err := r.scenario(ctx, s)
		errs, ex, lost := fl.refresh(ctx)
		res.Errors = mergeCounts(res.Errors, errs)
		res.Examples = mergeExamples(res.Examples, ex)
		if lost > 0 {
			res.Notes = append(res.Notes, fmt.Sprintf("%d connections were closed by the server", lost))
		}
		if err != nil {
			failed = append(failed, s)
			res.Notes = append(res.Notes, "failed: "+err.Error())
			r.log.Error("scenario failed", "scenario", s, "err", err)
		}
		r.rep.Results = append(r.rep.Results, res)
	}
	if err := ctx.Err(); err != nil {
		return r.rep, err
	}
	if len(failed) > 0 {
		return r.rep, fmt.Errorf("%w: %s", ErrScenarioFailed, strings.Join(failed, ", "))
	}
	return r.rep, nil
}

func (r *run) settings() map[string]string {
	c := &r.cfg
	return map[string]string{
		"idleConns": strconv.Itoa(c.IdleConns), "fanoutConns": strconv.Itoa(c.FanoutConns), "echoConns": strconv.Itoa(c.EchoConns),
		"pushConns": strconv.Itoa(c.PushConns), "connectConcurrency": strconv.Itoa(c.ConnectConcurrency), "duration": c.Duration.String(),
		"warmup": c.Warmup.String(), "size": strconv.Itoa(c.Size), "fanoutSize": strconv.Itoa(c.FanoutSize),
		"fanoutRounds": strconv.Itoa(c.FanoutRounds), "pushConcurrency": strconv.Itoa(c.PushConcurrency),
		"churnRate": strconv.FormatFloat(c.ChurnRate, 'f', -1, 64), "churnDuration": c.ChurnDuration.String(),
		"sources": strconv.Itoa(c.Sources), "perProcess": strconv.Itoa(r.perProcess()),
	}
}

func (r *run) perProcess() int {
	if r.cfg.PerProcess > 0 {
		return r.cfg.PerProcess
	}
	return PerProcessLimit()
}

func (r *run) scenario(ctx context.Context, s string) (Result, error) {
	res := Result{Scenario: s}
	var err error
	switch s {
	case ScenarioIdle:
		err = r.idle(ctx, &res)
	case ScenarioFanout:
		err = r.fanout(ctx, &res, false)
	case ScenarioFanoutStalled:
		err = r.fanout(ctx, &res, true)
	case ScenarioEcho:
		err = r.echo(ctx, &res, ActionDefault)
	case ScenarioEchoTemplate:
		err = r.echo(ctx, &res, ActionTemplate)
	case ScenarioRouteHTTP:
		err = r.echo(ctx, &res, ActionHTTPProxy)
	case ScenarioRouteProxy:
		err = r.echo(ctx, &res, ActionAWSProxy)
	case ScenarioPush:
		err = r.push(ctx, &res)
	case ScenarioChurn:
		err = r.churn(ctx, &res)
	}
	return res, err
}

// open resizes the fleet to n connections and reports how opening went.
func (r *run) open(ctx context.Context, res *Result, n int) (openStats, error) {
	st, err := r.fl.resize(ctx, r.target, n)
	res.Errors = mergeCounts(res.Errors, st.errors)
	res.Examples = mergeExamples(res.Examples, st.examples)
	if err != nil {
		return st, err
	}
	if got := r.fl.total(); got < n {
		return st, fmt.Errorf("only %d of %d connections are open (see the errors)", got, n)
	}
	return st, nil
}
