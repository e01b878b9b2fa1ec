package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/wsgate/wsgate/client"
)

// idle opens IdleConns connections as fast as ConnectConcurrency allows,
// holds them, and reads the server's RSS before and after.
func (r *run) idle(ctx context.Context, res *Result) error {
	if _, err := r.fl.resize(ctx, r.target, 0); err != nil {
		return err
	}
	var rss0 int64
	if r.cfg.PID > 0 {
		var err error
		if rss0, err = ReadRSS(r.cfg.PID); err != nil {
			return err
		}
	}
	n := r.cfg.IdleConns
	st, err := r.open(ctx, res, n)
	res.add("connections opened", float64(st.opened), "", "higher")
	res.add("connections failed", float64(st.failed), "", "lower")
	if el := st.end.Sub(st.start); st.opened > 0 && el > 0 {
		res.add("connect rate", float64(st.opened)/el.Seconds(), "conn/s", "higher")
	}
	res.addLatency("connect", st.connect)
	if r.cfg.PID > 0 && st.opened > 0 {
		if err := sleep(ctx, r.cfg.Settle); err != nil {
			return err
		}
		rss1, err := ReadRSS(r.cfg.PID)
		if err != nil {
			return err
		}
		held := r.fl.total()
		res.add("server RSS per idle connection", float64(rss1-rss0)/float64(max(held, 1)), "B", "lower")
		res.add("server RSS", float64(rss1)/(1<<20), "MiB", "lower")
		res.Notes = append(res.Notes, fmt.Sprintf("server RSS %d KiB before, %d KiB with %d connections (after %s)", rss0>>10, rss1>>10, held, r.cfg.Settle))
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// mgmtClient returns a client of the target's management endpoint with a
// keep-alive pool of n connections.
func (r *run) mgmtClient(n int) (*client.Client, error) {
	tr := &http.Transport{
		MaxIdleConns: 2 * n, MaxIdleConnsPerHost: 2 * n, MaxConnsPerHost: 2 * n,
		IdleConnTimeout: time.Minute, DisableCompression: true,
	}
	return client.New(r.mgmt, client.Options{
		Region:      r.cfg.Region,
		Credentials: credentials.NewStaticCredentialsProvider(r.cfg.AccessKeyID, r.cfg.SecretAccessKey, ""),
		HTTPClient:  &http.Client{Transport: tr, Timeout: 30 * time.Second},
	})
}

// recvTotals are the received-message counters summed over workers.
type recvTotals struct {
	count       int64
	first, last int64 // wall ns; 0 if nothing arrived
	lat         Dist
}

func (r *run) recvStats(ctx context.Context, withDist bool) (recvTotals, error) {
	replies, err := r.fl.all(ctx, Command{Op: OpRecvStats, WithDist: withDist})
	var t recvTotals
	for _, x := range replies {
		if x == nil {
			continue
		}
		t.count += x.Count
		if x.FirstNs > 0 && (t.first == 0 || x.FirstNs < t.first) {
			t.first = x.FirstNs
		}
		t.last = max(t.last, x.LastNs)
		t.lat = t.lat.Merge(x.Lat)
	}
	return t, err
}

// awaitRecv polls until want messages have arrived or timeout passes.
func (r *run) awaitRecv(ctx context.Context, want int64, timeout time.Duration) (recvTotals, error) {
	deadline := time.Now().Add(timeout)
	poll := 2 * time.Millisecond
	if len(r.fl.workers) > 1 {
		poll = 5 * time.Millisecond
	}
	for {
		t, err := r.recvStats(ctx, false)
		if err != nil {
			return t, err
		}
		if t.count >= want || time.Now().After(deadline) {
			return r.recvStats(ctx, true)
		}
		if err := sleep(ctx, poll); err != nil {
			return t, err
		}
	}
}

// fanout sends FanoutRounds broadcasts of FanoutSize bytes to FanoutConns
// connections, one after the other, and measures how fast each reaches
// everyone. stalled adds a member that never reads and whose queue is
// full first.
func (r *run) fanout(ctx context.Context, res *Result, stalled bool) error {
	n := r.cfg.FanoutConns
	if _, err := r.open(ctx, res, n); err != nil {
		return err
	}
	if stalled {
		rep, err := r.fl.workers[0].do(ctx, Command{Op: OpStall, Target: r.target, N: 1, Action: ActionDefault, Size: 32000, Bytes: r.cfg.StallBytes, Fill: r.cfg.FanoutSize})
		res.Errors = mergeCounts(res.Errors, rep.Errors)
		res.Examples = mergeExamples(res.Examples, rep.Examples)
		if err != nil {
			return err
		}
		if rep.Opened != 1 {
			return errors.New("the stalled member could not be set up (see the errors)")
		}
		defer func() { _, _ = r.fl.workers[0].do(context.WithoutCancel(ctx), Command{Op: OpUnstall}) }()
		res.add("stalled member's unread bytes", float64(rep.Unread)/(1<<10), "KiB", "")
	}
	mc, err := r.mgmtClient(2)
	if err != nil {
		return err
	}
	var rates, lasts, firsts, posts []float64
	var lat Dist
	var queued, dropped int
	want := int64(r.fl.total())
	for round := 0; round < r.cfg.FanoutRounds; round++ {
		if _, err := r.fl.all(ctx, Command{Op: OpRecvReset}); err != nil {
			return err
		}
		t0 := time.Now()
		out, err := mc.Broadcast(ctx, stampedPayload(t0, r.cfg.FanoutSize), "")
		posted := time.Since(t0)
		if err != nil {
			return fmt.Errorf("broadcast: %w", err)
		}
		queued, dropped = out.Queued, out.Dropped
		t, err := r.awaitRecv(ctx, want, 30*time.Second)
		if err != nil {
			return err
		}
		if t.count < want {
			res.Notes = append(res.Notes, fmt.Sprintf("round %d: %d of %d messages arrived within 30s", round+1, t.count, want))
		}
		if t.count == 0 {
			continue
		}
		toLast := time.Duration(t.last - t0.UnixNano())
		rates = append(rates, float64(t.count)/toLast.Seconds())
		lasts = append(lasts, ms(toLast))
		firsts = append(firsts, ms(time.Duration(t.first-t0.UnixNano())))
		posts = append(posts, ms(posted))
		lat = lat.Merge(t.lat)
	}
	res.add("connections", float64(want), "", "")
	res.add("frames delivered per second", Median(rates), "frames/s", "higher")
	res.add("time to last delivery", Median(lasts), "ms", "lower")
	res.add("time to first delivery", Median(firsts), "ms", "lower")
	res.add("broadcast POST latency", Median(posts), "ms", "lower")
	res.add("queued (last round)", float64(queued), "", "")
	res.add("dropped (last round)", float64(dropped), "", "")
	res.addLatency("delivery", lat)
	res.Notes = append(res.Notes, fmt.Sprintf("medians of %d rounds; frames/s = frames delivered / (last delivery - POST sent)", len(rates)))
	return nil
}

// echo runs the closed-loop echo on EchoConns connections with messages
// that route selection sends to action.
func (r *run) echo(ctx context.Context, res *Result, action string) error {
	if _, err := r.open(ctx, res, r.cfg.EchoConns); err != nil {
		return err
	}
	replies, err := r.fl.all(ctx, Command{Op: OpEcho, Action: action, Size: r.cfg.Size, Warmup: r.cfg.Warmup, Duration: r.cfg.Duration})
	var count int64
	var lat Dist
	for _, x := range replies {
		if x != nil {
			count += x.Count
			lat = lat.Merge(x.Lat)
		}
	}
	res.add("connections", float64(r.fl.total()), "", "")
	res.add("round trips per second", float64(count)/r.cfg.Duration.Seconds(), "msg/s", "higher")
	res.addLatency("round trip", lat)
	res.Notes = append(res.Notes, fmt.Sprintf("%d-byte messages to route action %q, one in flight per connection", r.cfg.Size, action))
	return err
}

// push opens PushConns connections and POSTs to them through
// @connections from PushConcurrency goroutines for Duration.
func (r *run) push(ctx context.Context, res *Result) error {
	if _, err := r.open(ctx, res, r.cfg.PushConns); err != nil {
		return err
	}
	p := r.cfg.PushConcurrency
	mc, err := r.mgmtClient(p)
	if err != nil {
		return err
	}
	ids, err := listIDs(ctx, mc, r.cfg.PushConns)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return errors.New("the management endpoint lists no connections")
	}
	if _, err := r.fl.all(ctx, Command{Op: OpRecvReset}); err != nil {
		return err
	}
	var (
		hist  Hist
		ok    atomic.Int64
		wg    sync.WaitGroup
		errs  errCounts
		start = time.Now()
		end   = start.Add(r.cfg.Duration)
	)
	for g := range p {
		wg.Go(func() {
			// Requests are not cut short at the end, so that every POST
			// answered 200 is a message that must arrive.
			for i := g; time.Now().Before(end) && ctx.Err() == nil; i += p {
				t0 := time.Now()
				err := mc.Post(ctx, ids[i%len(ids)], stampedPayload(t0, r.cfg.Size))
				if err != nil {
					errs.addKind(postErrKind(err), err.Error())
					continue
				}
				hist.Record(time.Since(t0))
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	t, err := r.awaitRecv(ctx, ok.Load(), 10*time.Second)
	if err != nil {
		return err
	}
	e, ex := errs.take()
	res.Errors = mergeCounts(res.Errors, e)
	res.Examples = mergeExamples(res.Examples, ex)
	res.add("connections", float64(len(ids)), "", "")
	res.add("POSTs per second", float64(ok.Load())/elapsed.Seconds(), "req/s", "higher")
	if t.count > 0 && t.last > start.UnixNano() {
		res.add("delivered messages per second", float64(t.count)/time.Duration(t.last-start.UnixNano()).Seconds(), "msg/s", "higher")
	}
	res.add("messages not delivered", float64(ok.Load()-t.count), "", "lower")
	res.addLatency("POST", hist.Dist())
	res.addLatency("delivery", t.lat)
	res.Notes = append(res.Notes, fmt.Sprintf("%d-byte messages, %d POSTs in flight over keep-alive HTTP, SigV4-signed by wsgate's client package", r.cfg.Size, p))
	return nil
}

// postErrKind names a failed POST.
func postErrKind(err error) string {
	var ce *client.Error
	if errors.As(err, &ce) {
		return "post: HTTP " + strconv.Itoa(ce.Status) + " " + ce.Type
	}
	return errKind("post", err)
}

// listIDs lists up to limit connection ids of the stage.
func listIDs(ctx context.Context, mc *client.Client, limit int) ([]string, error) {
	var ids []string
	in := client.ListInput{MaxResults: 500}
	for page := 0; page < limit/500+10; page++ {
		out, err := mc.List(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list connections: %w", err)
		}
		for _, c := range out.Items {
			ids = append(ids, c.ConnectionID)
		}
		if out.NextToken == "" || len(ids) >= limit {
			break
		}
		in.NextToken = out.NextToken
	}
	return ids, nil
}

// churn connects and disconnects at ChurnRate per second for
// ChurnDuration, with no other connection open.
func (r *run) churn(ctx context.Context, res *Result) error {
	if _, err := r.fl.resize(ctx, r.target, 0); err != nil {
		return err
	}
	rep, err := r.fl.workers[0].do(ctx, Command{Op: OpChurn, Target: r.target, Rate: r.cfg.ChurnRate, Duration: r.cfg.ChurnDuration, Concurrency: r.cfg.ChurnConcurrency})
	res.Errors = mergeCounts(res.Errors, rep.Errors)
	res.Examples = mergeExamples(res.Examples, rep.Examples)
	if err != nil {
		return err
	}
	el := time.Duration(rep.EndNs - rep.StartNs)
	res.add("target rate", r.cfg.ChurnRate, "conn/s", "")
	if el > 0 {
		res.add("connect-disconnect cycles per second", float64(rep.Opened)/el.Seconds(), "conn/s", "higher")
	}
	res.add("cycles failed", float64(rep.Failed), "", "lower")
	res.addLatency("cycle", rep.Connect)
	res.Notes = append(res.Notes, "a cycle: TCP connect, upgrade, close frame, the server's close frame, TCP closed by the server")
	return nil
}
