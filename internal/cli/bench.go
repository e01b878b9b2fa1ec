package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"

	"github.com/wsgate/wsgate/bench/loadgen"
)

const benchHelp = `Load-tests a WebSocket gateway — wsgate, the raw baseline in bench/baseline,
or any other server — on this machine, and prints what it measured as a
table (and as JSON with --json). It only sends traffic to 127.0.0.0/8.

Scenarios (all by default; name some to run only those):
  idle            open --idle-conns connections, hold them: connect rate,
                  connect latency, server RSS per connection (with --pid)
  fanout          one --fanout-size message to --fanout-conns connections
                  through @broadcast, --fanout-rounds times: frames delivered
                  per second, time to first and last delivery
  fanout-stalled  the same with one more member that never reads, whose
                  queue is filled first through the echo route
  echo            --echo-conns connections each sending a --size message and
                  the next as soon as the answer arrives ($default route)
  echo-template   the same through a MOCK route with request and response
                  templates (needs --control)
  route-http      the same through an HTTP_PROXY route to a backend this
                  command runs (needs --control)
  route-proxy     the same through an AWS_PROXY route to that backend
                  (needs --control)
  push            @connections POSTs to --push-conns connections from
                  --push-concurrency requests in flight (SigV4, keep-alive)
  churn           connect and disconnect at --churn-rate for --churn-duration

Targets:
  --control http://127.0.0.1:8080   a wsgate control plane: the benchmark API
                                    (MOCK, HTTP_PROXY and AWS_PROXY routes, no
                                    $connect) is created there and deleted after
  --url ws://127.0.0.1:9000/a/b     any WebSocket URL; push and fanout use the
                                    management endpoint --mgmt (default
                                    http://HOST/PATH of --url)

Connections come from source addresses 127.0.0.2, 127.0.0.3, … (--sources).
One process may hold at most --per-process connections (default: its open
files limit less a reserve, 19000 on a machine allowing 20000); beyond that
this command runs more of itself as worker processes (--worker, internal)
and stops them when done.

  wsgate bench compare [--subject wsgate] [--base baseline] [--markdown] FILE.json...

prints the median of each figure over the runs of each label, with the
subject/base ratio.`

func runBench(ctx context.Context, args []string, s stdio) error {
	if len(args) > 0 && args[0] == "compare" {
		return runBenchCompare(args[1:], s)
	}
	fs := newFlagSet(s, "bench", "bench [--control URL | --url URL] [flags] [SCENARIO...]", benchHelp)
	var c loadgen.Config
	fs.StringVar(&c.URL, "url", "", "WebSocket `URL` to load (ws://127.x.x.x:PORT/...)")
	fs.StringVar(&c.Control, "control", "", "wsgate control plane `URL`: create the benchmark API there and target it")
	fs.StringVar(&c.Mgmt, "mgmt", "", "management endpoint `URL` of the target stage, for push and fanout")
	fs.IntVar(&c.PID, "pid", 0, "server process `id`, to read its RSS from /proc")
	fs.StringVar(&c.Label, "label", "", "`name` of the server in the report (default wsgate with --control, else target)")
	jsonOut := fs.String("json", "", "also write the report as JSON to `file` (- for stdout)")
	fs.IntVar(&c.IdleConns, "idle-conns", 19000, "connections of the idle scenario")
	fs.IntVar(&c.FanoutConns, "fanout-conns", 15000, "connections of the fanout scenarios")
	fs.IntVar(&c.EchoConns, "echo-conns", 1000, "connections of the echo and route scenarios")
	fs.IntVar(&c.PushConns, "push-conns", 1000, "connections of the push scenario")
	fs.IntVar(&c.ConnectConcurrency, "concurrency", 32, "handshakes in flight per process")
	fs.DurationVar(&c.Duration, "duration", 5e9, "measurement `time` of echo, route and push")
	fs.DurationVar(&c.Warmup, "warmup", 1e9, "warm-up `time` before echo and route measurements")
	fs.DurationVar(&c.Settle, "settle", 2e9, "`time` to wait before reading the server's RSS")
	fs.IntVar(&c.Size, "size", 100, "message `bytes` of echo, route and push")
	fs.IntVar(&c.FanoutSize, "fanout-size", 100, "message `bytes` of fanout")
	fs.IntVar(&c.FanoutRounds, "fanout-rounds", 5, "broadcasts per fanout scenario")
	fs.IntVar(&c.PushConcurrency, "push-concurrency", 64, "POSTs in flight")
	fs.Float64Var(&c.ChurnRate, "churn-rate", 1000, "connections per second of churn")
	fs.DurationVar(&c.ChurnDuration, "churn-duration", 3e9, "`time` of churn")
	fs.IntVar(&c.Sources, "sources", 8, "source addresses 127.0.0.2… to connect from")
	fs.IntVar(&c.PerProcess, "per-process", 0, "connections one process holds at most (default from the open files limit)")
	worker := fs.Bool("worker", false, "internal: serve as a worker process of another wsgate bench on stdin/stdout")
	quiet := fs.Bool("quiet", false, "log warnings and errors only")
	if err := parse(fs, args, s); err != nil {
		return err
	}
	level := slog.LevelInfo
	if *quiet || *worker {
		level = slog.LevelWarn
	}
	log := slog.New(slog.NewTextHandler(s.err, &slog.HandlerOptions{Level: level}))
	if *worker {
		// Replies go to file descriptor 3, which the coordinator opened.
		replies := os.NewFile(3, "replies")
		if replies == nil {
			return usageErr("bench --worker: file descriptor 3 is not open (it is started by wsgate bench)")
		}
		defer replies.Close()
		return loadgen.RunWorker(ctx, s.in, replies, loadgen.WorkerOptions{
			Sources: loadgen.SourceAddrs(c.Sources), MaxConns: c.PerProcess, Log: log,
		})
	}
	if (c.URL == "") == (c.Control == "") {
		return usageErr("give the target with --control (a wsgate control plane) or --url (any WebSocket URL), not both")
	}
	c.Scenarios = fs.Args()
	if c.Label == "" {
		c.Label = "target"
		if c.Control != "" {
			c.Label = "wsgate"
		}
	}
	if id := os.Getenv("AWS_ACCESS_KEY_ID"); id != "" {
		c.AccessKeyID, c.SecretAccessKey = id, os.Getenv("AWS_SECRET_ACCESS_KEY")
	}
	c.Region = os.Getenv("AWS_REGION")
	c.Log = log
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this program to run worker processes: %w", err)
	}
	perProcess, sources := strconv.Itoa(c.PerProcess), strconv.Itoa(c.Sources)
	c.WorkerCommand = func() *exec.Cmd {
		return exec.CommandContext(ctx, exe, "bench", "--worker", "--per-process", perProcess, "--sources", sources)
	}
	rep, err := loadgen.Run(ctx, c)
	if rep != nil {
		if werr := rep.WriteTable(s.out); werr != nil {
			return werr
		}
		if *jsonOut != "" {
			if jerr := writeJSON(*jsonOut, s.out, rep); jerr != nil {
				return jerr
			}
		}
	}
	if errors.Is(err, loadgen.ErrConfig) || errors.Is(err, loadgen.ErrNotLoopback) || errors.Is(err, loadgen.ErrBadURL) {
		return usageErr("bench: %v", err)
	}
	return err
}

func writeJSON(path string, stdout io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "-" {
		_, err = stdout.Write(b)
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

const benchCompareHelp = `Reads reports written by wsgate bench --json and prints, for every figure,
the median over the runs of the subject and of the base (by label) and
their ratio. Routes the base did not run (it has none) are compared with
its echo figures.`

func runBenchCompare(args []string, s stdio) error {
	fs := newFlagSet(s, "bench compare", "bench compare [--subject LABEL] [--base LABEL] [--markdown] [--json FILE] FILE.json...", benchCompareHelp)
	subject := fs.String("subject", "wsgate", "`label` of the runs measured")
	base := fs.String("base", "baseline", "`label` of the runs compared with")
	markdown := fs.Bool("markdown", false, "print a Markdown table")
	jsonOut := fs.String("json", "", "also write the comparison as JSON to `file`")
	if err := parse(fs, args, s); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageErr("bench compare: give the report files")
	}
	var subj, bas []*loadgen.Report
	for _, path := range fs.Args() {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		var rep loadgen.Report
		err = json.NewDecoder(io.LimitReader(f, 64<<20)).Decode(&rep)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		switch rep.Label {
		case *subject:
			subj = append(subj, &rep)
		case *base:
			bas = append(bas, &rep)
		}
	}
	if len(subj) == 0 || len(bas) == 0 {
		return fmt.Errorf("bench compare: need runs labelled %q and %q; got %d and %d", *subject, *base, len(subj), len(bas))
	}
	cmp := loadgen.Compare(subj, bas)
	if *markdown {
		cmp.WriteMarkdown(s.out)
	} else if err := cmp.WriteTable(s.out); err != nil {
		return err
	}
	if *jsonOut != "" {
		return writeJSON(*jsonOut, s.out, cmp)
	}
	return nil
}
