// Package metrics defines every Prometheus metric wsgate exports, in one
// place. The per-stage metrics are named after API Gateway's CloudWatch
// metrics (ConnectCount, MessageCount, IntegrationError, ClientError,
// ExecutionError, IntegrationLatency) so dashboards translate directly.
//
// Stage returns the pre-resolved children of one stage, so that the
// per-message path does no label hashing. All methods are safe for
// concurrent use; a nil *Metrics (or *Stage) records nothing.
package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics is the set of metrics of one node.
type Metrics struct {
	Registry *prometheus.Registry

	connectCount       *prometheus.CounterVec
	messageCount       *prometheus.CounterVec
	integrationError   *prometheus.CounterVec
	clientError        *prometheus.CounterVec
	executionError     *prometheus.CounterVec
	integrationLatency *prometheus.HistogramVec
	connections        *prometheus.GaugeVec
	management         *prometheus.CounterVec
	fanoutRecipients   prometheus.Counter
	dropped            *prometheus.CounterVec

	stages sync.Map // stageKey → *Stage
}

type stageKey struct{ api, stage string }

// New creates and registers the metrics (and Go/process collectors).
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		connectCount: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgate_connect_count_total", Help: "Connection attempts ($connect requests), as CloudWatch's ConnectCount.",
		}, []string{"api_id", "stage"}),
		messageCount: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgate_message_count_total", Help: "Messages received from clients (direction=in) and sent to them (direction=out), as CloudWatch's MessageCount.",
		}, []string{"api_id", "stage", "direction"}),
		integrationError: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgate_integration_error_total", Help: "Integration calls that failed (error, timeout, malformed answer), as CloudWatch's IntegrationError.",
		}, []string{"api_id", "stage"}),
		clientError: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgate_client_error_total", Help: "Requests rejected for the client's fault (4xx handshakes, Forbidden, throttled, bad body), as CloudWatch's ClientError.",
		}, []string{"api_id", "stage", "reason"}),
		executionError: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgate_execution_error_total", Help: "Errors inside the gateway while handling a request, as CloudWatch's ExecutionError.",
		}, []string{"api_id", "stage"}),
		integrationLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "wsgate_integration_latency_seconds", Help: "Time from sending a request to an integration to its answer, as CloudWatch's IntegrationLatency.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 29},
		}, []string{"api_id", "stage"}),
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "wsgate_connections", Help: "Open WebSocket connections on this node.",
		}, []string{"api_id", "stage"}),
		management: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgate_management_requests_total", Help: "@connections and fan-out requests, by operation and HTTP status.",
		}, []string{"op", "code"}),
		fanoutRecipients: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wsgate_fanout_recipients_total", Help: "Connections fan-out sends (broadcast, group, user) were queued to.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgate_send_queue_full_total", Help: "Messages not queued because the connection's send queue was full, by source.",
		}, []string{"source"}),
	}
	r.MustRegister(m.connectCount, m.messageCount, m.integrationError, m.clientError, m.executionError,
		m.integrationLatency, m.connections, m.management, m.fanoutRecipients, m.dropped,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Stage holds one stage's metric children.
type Stage struct {
	m                   *Metrics
	api, stage          string
	Connect             prometheus.Counter
	MessagesIn          prometheus.Counter
	MessagesOut         prometheus.Counter
	IntegrationError    prometheus.Counter
	ExecutionError      prometheus.Counter
	Connections         prometheus.Gauge
	integrationLatency  prometheus.Observer
	clientErrorsByCause sync.Map // reason → prometheus.Counter
}

// Stage returns the children of a stage (created on first use).
func (m *Metrics) Stage(api, stage string) *Stage {
	if m == nil {
		return nil
	}
	k := stageKey{api, stage}
	if s, ok := m.stages.Load(k); ok {
		return s.(*Stage)
	}
	s := &Stage{
		m: m, api: api, stage: stage,
		Connect:            m.connectCount.WithLabelValues(api, stage),
		MessagesIn:         m.messageCount.WithLabelValues(api, stage, "in"),
		MessagesOut:        m.messageCount.WithLabelValues(api, stage, "out"),
		IntegrationError:   m.integrationError.WithLabelValues(api, stage),
		ExecutionError:     m.executionError.WithLabelValues(api, stage),
		Connections:        m.connections.WithLabelValues(api, stage),
		integrationLatency: m.integrationLatency.WithLabelValues(api, stage),
	}
	v, _ := m.stages.LoadOrStore(k, s)
	return v.(*Stage)
}

// ClientError counts a client error with a reason (forbidden, throttled,
// bad_request_body, unauthorized, …).
func (s *Stage) ClientError(reason string) {
	if s == nil {
		return
	}
	c, ok := s.clientErrorsByCause.Load(reason)
	if !ok {
		c, _ = s.clientErrorsByCause.LoadOrStore(reason, s.m.clientError.WithLabelValues(s.api, s.stage, reason))
	}
	c.(prometheus.Counter).Inc()
}

// ObserveIntegration records an integration call's latency.
func (s *Stage) ObserveIntegration(d time.Duration) {
	if s != nil {
		s.integrationLatency.Observe(d.Seconds())
	}
}

// Management counts one management API request.
func (m *Metrics) Management(op string, code int) {
	if m != nil {
		m.management.WithLabelValues(op, statusText(code)).Inc()
	}
}

// Fanout counts a fan-out's recipients and drops.
func (m *Metrics) Fanout(queued, dropped int) {
	if m != nil {
		m.fanoutRecipients.Add(float64(queued))
		m.dropped.WithLabelValues("fanout").Add(float64(dropped))
	}
}

// QueueFull counts a message not queued for a full send queue.
func (m *Metrics) QueueFull(source string) {
	if m != nil {
		m.dropped.WithLabelValues(source).Inc()
	}
}

func statusText(code int) string {
	switch {
	case code >= 100 && code < 1000:
		var b [3]byte
		b[0], b[1], b[2] = byte('0'+code/100), byte('0'+code/10%10), byte('0'+code%10)
		return string(b[:])
	}
	return "other"
}
