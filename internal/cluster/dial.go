package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// dial connects to NATS with the options every wsgate node needs: it never
// gives up reconnecting, and it buffers nothing while reconnecting, so a
// write that reported failure can never be sent later (natsstore relies on
// it) and a relay request fails at once instead of waiting in a buffer.
func dial(o Options, log *slog.Logger) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name("wsgate node " + o.NodeID),
		nats.MaxReconnects(-1),
		nats.ReconnectBufSize(-1),
		nats.ReconnectWait(o.ReconnectWait),
		nats.Timeout(connectTimeout),
		// A NATS server that vanished without closing its sockets is noticed
		// after PingInterval × MaxPingsOutstanding.
		nats.PingInterval(10 * time.Second),
		nats.MaxPingsOutstanding(3),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("NATS connection lost; reconnecting", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("NATS connection restored", "server", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			log.Warn("NATS asynchronous error", "subject", subj, "err", err)
		}),
	}
	if o.Creds != "" {
		opts = append(opts, nats.UserCredentials(o.Creds))
	}
	if o.CAFile != "" {
		opts = append(opts, nats.RootCAs(o.CAFile))
	}
	if o.CertFile != "" || o.KeyFile != "" {
		if o.CertFile == "" || o.KeyFile == "" {
			return nil, errors.New("cluster: the NATS client certificate needs both certFile and keyFile")
		}
		opts = append(opts, nats.ClientCert(o.CertFile, o.KeyFile))
	}
	// nats.Connect takes no context; each server gets one attempt of at
	// most connectTimeout, so a start against unreachable servers ends.
	nc, err := nats.Connect(strings.Join(o.URLs, ","), opts...)
	if err != nil {
		return nil, fmt.Errorf("cluster: connect to NATS at %s: %w", redact(o.URLs), err)
	}
	return nc, nil
}

// connectTimeout bounds each attempt to reach one NATS server.
const connectTimeout = 5 * time.Second

// redact hides passwords and tokens in NATS URLs before they are logged.
func redact(urls []string) string {
	out := make([]string, len(urls))
	for i, u := range urls {
		if at := strings.LastIndexByte(u, '@'); at >= 0 {
			if scheme := strings.Index(u, "://"); scheme >= 0 && scheme < at {
				u = u[:scheme+3] + "[redacted]" + u[at:]
			}
		}
		out[i] = u
	}
	return strings.Join(out, ",")
}
