// Package loadgen is wsgate's load generator: it opens WebSocket
// connections to a gateway (wsgate, the raw baseline in bench/baseline, or
// any other server speaking RFC 6455), drives them through the scenarios of
// docs/benchmarks.md — idle, churn, echo, push, route and fanout — and
// reports connections opened and failed, connect rate, server RSS per
// connection, round trips per second, latency percentiles, @connections
// POST rate and latency, fan-out delivery and errors by kind, as a table
// and as JSON.
//
// It only ever sends traffic to 127.0.0.0/8 (CheckURL refuses anything
// else). Client connections live in an epoll engine (lesismal/nbio), so an
// idle connection costs the load generator no goroutine; they are spread
// over several source addresses (127.0.0.2, 127.0.0.3, …) so that
// ephemeral ports do not run out, and over several worker processes when
// one process may not hold them all (this machine allows 20,000 open files
// per process). Every loop is bounded in count and time, and Run stops and
// waits for every process and goroutine it starts.
//
// Concurrency: Run and RunWorker may be called from any goroutine; a
// Worker's methods are safe for concurrent use; Hist records from many
// goroutines at once.
package loadgen
