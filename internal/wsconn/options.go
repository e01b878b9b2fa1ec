package wsconn

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"
)

// Defaults applied by NewEngine to zero-valued Options fields. The size
// limits are API Gateway's (32 KB frames, 128 KB messages).
const (
	DefaultMaxFrameSize   = 32 << 10
	DefaultMaxMessageSize = 128 << 10
	DefaultSendQueueBytes = 1 << 20
	DefaultCloseTimeout   = 2 * time.Second
)

// Options configure an Engine. Zero values select the documented defaults.
type Options struct {
	// MaxFrameSize bounds one incoming data frame's payload. A frame whose
	// header announces more is failed with 1009 before its payload is read.
	MaxFrameSize int
	// MaxMessageSize bounds one incoming message after reassembly and
	// inflation; over it the connection is failed with 1009.
	MaxMessageSize int
	// RejectBinary fails a connection that sends a binary message with 1003
	// (API Gateway's behaviour); false delivers it as Binary.
	RejectBinary bool
	// SendQueueBytes bounds the bytes queued for one connection and not yet
	// written to its socket. Send beyond it returns ErrQueueFull and the
	// connection stays open.
	SendQueueBytes int
	// IdleTimeout closes a connection with 1001 "Going away" when no data
	// frame went either way for this long. 0 disables it.
	IdleTimeout time.Duration
	// PingCountsAsActivity makes received ping and pong frames reset the idle
	// timer. API Gateway does not count them, hence the default.
	PingCountsAsActivity bool
	// MaxAge closes a connection with 1001 "Going away" this long after it
	// was upgraded, whatever its activity. 0 disables it.
	MaxAge time.Duration
	// PingInterval makes the server ping a peer that sent nothing for this
	// long, and drop it (reported as 1006) after twice as long. 0 disables it.
	PingInterval time.Duration
	// CloseTimeout is how long to wait for the peer's close frame after ours
	// (and for queued output to drain before closing TCP).
	CloseTimeout time.Duration
	// Compression negotiates permessage-deflate (with no context takeover
	// either way) when the client offers it.
	Compression bool
	// CompressMinSize: outgoing messages shorter than this are sent
	// uncompressed even on a compressed connection.
	CompressMinSize int
	// OutFrameSize fragments outgoing messages into frames of at most this
	// many payload bytes; 0 sends every message as one frame.
	OutFrameSize int
	// Pollers is the number of epoll goroutines; default GOMAXPROCS.
	Pollers int
	// Log receives the engine's diagnostics; nil discards them.
	Log *slog.Logger
}

// errOptions is wrapped by every Options validation error.
var errOptions = errors.New("wsconn: invalid options")

// withDefaults validates o and fills in defaults.
func (o Options) withDefaults() (Options, error) {
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"MaxFrameSize", int64(o.MaxFrameSize)},
		{"MaxMessageSize", int64(o.MaxMessageSize)},
		{"SendQueueBytes", int64(o.SendQueueBytes)},
		{"IdleTimeout", int64(o.IdleTimeout)},
		{"MaxAge", int64(o.MaxAge)},
		{"PingInterval", int64(o.PingInterval)},
		{"CloseTimeout", int64(o.CloseTimeout)},
		{"CompressMinSize", int64(o.CompressMinSize)},
		{"OutFrameSize", int64(o.OutFrameSize)},
		{"Pollers", int64(o.Pollers)},
	} {
		if f.v < 0 {
			return o, fmt.Errorf("%w: %s is negative", errOptions, f.name)
		}
	}
	if o.MaxFrameSize == 0 {
		o.MaxFrameSize = DefaultMaxFrameSize
	}
	if o.MaxMessageSize == 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	if o.SendQueueBytes == 0 {
		o.SendQueueBytes = DefaultSendQueueBytes
	}
	if o.CloseTimeout == 0 {
		o.CloseTimeout = DefaultCloseTimeout
	}
	if o.Pollers == 0 {
		o.Pollers = runtime.GOMAXPROCS(0)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// sweepInterval is how often the sweeper looks at every connection: a quarter
// of the shortest configured duration, at most a second and at least 5ms.
func (o Options) sweepInterval() time.Duration {
	tick := time.Second
	for _, d := range []time.Duration{o.IdleTimeout, o.MaxAge, o.PingInterval, o.CloseTimeout} {
		if d > 0 && d/4 < tick {
			tick = d / 4
		}
	}
	return max(tick, 5*time.Millisecond)
}
