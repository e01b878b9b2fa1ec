// Package wsconn is wsgate's server side of the WebSocket protocol (RFC 6455
// and RFC 7692 permessage-deflate): one client connection, and the Engine
// that holds hundreds of thousands of them.
//
// An Engine owns a few epoll pollers (github.com/lesismal/nbio) and one
// sweeper goroutine. Upgraded *net.TCPConn connections are handed to the
// pollers, so an idle connection costs no goroutine, no timer and no buffer:
// only its small Conn value and the kernel socket. Other net.Conn types (for
// example *tls.Conn) fall back to one reader goroutine per connection, plus a
// writer goroutine while output is queued, with the same semantics.
//
// The read side is a socket-free decoder (feed bytes, get messages, control
// frames or a protocol error) that enforces the frame and message size limits
// before payloads are buffered, and bounds inflation by the message limit.
//
// Concurrency: Engine methods and Conn methods are safe to call from any
// goroutine, except that Shutdown must not be called from a Handler callback.
// Handler.OnMessage runs on a poller goroutine (or the connection's reader
// goroutine) and must not block; OnClose runs on a goroutine nbio shares
// between all epoll connections (or the reader goroutine) and must not block
// either. Neither callback runs before Upgrade has returned, no OnMessage
// follows OnClose, and OnClose runs exactly once for every connection
// Upgrade returned.
//
// Memory: an idle epoll connection holds its Conn (184 bytes), nbio's conn
// and addresses, about 0.6 KiB of heap and 0.8-1.3 KiB of RSS in all
// (TestIdleMemory), plus the kernel's socket.
//
// wsconn knows nothing of AWS, stores or routing; the dataplane maps its close
// codes and messages onto API Gateway semantics.
package wsconn
