package wsconn

import (
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws/wsflate"
)

// HandshakeError says why a request cannot be upgraded and how to answer it.
type HandshakeError struct {
	Status int         // HTTP status to answer with: 400, or 426 for a wrong version
	Reason string      // human-readable cause, safe to send to the client
	Header http.Header // headers to add to the answer (Sec-WebSocket-Version on 426)
}

func (e *HandshakeError) Error() string {
	return "websocket handshake: " + e.Reason
}

// WriteResponse answers the request with the error's status, headers and
// reason as a plain-text body.
func (e *HandshakeError) WriteResponse(w http.ResponseWriter) {
	for k, vs := range e.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	http.Error(w, e.Reason, e.Status)
}

func badHandshake(reason string) *HandshakeError {
	return &HandshakeError{Status: http.StatusBadRequest, Reason: reason}
}

// CheckUpgrade validates r as an RFC 6455 opening handshake. The error is a
// *HandshakeError carrying the status to answer. Callers run it before doing
// slow work for a request that cannot be upgraded anyway.
func CheckUpgrade(r *http.Request) error {
	if r.Method != http.MethodGet {
		return badHandshake("method must be GET")
	}
	if !r.ProtoAtLeast(1, 1) || r.ProtoMajor != 1 {
		return badHandshake("HTTP/1.1 required")
	}
	if !hasToken(r.Header, "Connection", "upgrade") {
		return badHandshake(`"Connection" header must contain "upgrade"`)
	}
	if !hasToken(r.Header, "Upgrade", "websocket") {
		return badHandshake(`"Upgrade" header must contain "websocket"`)
	}
	if v := r.Header.Values("Sec-Websocket-Version"); len(v) != 1 || strings.TrimSpace(v[0]) != "13" {
		return &HandshakeError{
			Status: http.StatusUpgradeRequired,
			Reason: "unsupported Sec-WebSocket-Version",
			Header: http.Header{"Sec-Websocket-Version": {"13"}},
		}
	}
	keys := r.Header.Values("Sec-Websocket-Key")
	if len(keys) != 1 {
		return badHandshake("exactly one Sec-WebSocket-Key required")
	}
	if k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(keys[0])); err != nil || len(k) != 16 {
		return badHandshake("Sec-WebSocket-Key must be 16 bytes in base64")
	}
	return nil
}

// hasToken reports whether a comma-separated header contains token,
// case-insensitively.
func hasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

// acceptKey computes Sec-WebSocket-Accept for a client key.
func acceptKey(key string) string {
	h := sha1.New()
	h.Write([]byte(strings.TrimSpace(key)))
	h.Write([]byte("258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// deflateResponse is the extension accepted: no compression state outlives a
// message in either direction.
const deflateResponse = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

// negotiateDeflate accepts the first acceptable permessage-deflate offer,
// always with no context takeover in both directions: no compression state
// outlives a message, so an idle connection holds none. It returns the
// Sec-WebSocket-Extensions value to answer, or "" to decline.
func negotiateDeflate(h http.Header) string {
	for _, v := range h.Values("Sec-Websocket-Extensions") {
		offers, ok := httphead.ParseOptions([]byte(v), nil)
		if !ok {
			continue
		}
		for _, offer := range offers {
			ext := wsflate.Extension{Parameters: wsflate.Parameters{
				ServerNoContextTakeover: true,
				ClientNoContextTakeover: true,
			}}
			_, err := ext.Negotiate(offer)
			if _, ok := ext.Accepted(); err != nil || !ok {
				continue
			}
			// What Negotiate accepts with these parameters, spelled with the
			// customary spaces (httphead.WriteOptions omits them).
			return deflateResponse
		}
	}
	return ""
}

// validHeaderValue reports whether v can go in a response header as is.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// validToken reports whether k is an HTTP token (a valid header name).
func validToken(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

// ownHeader reports whether Upgrade sets the (canonical) response header k
// itself, so that ExtraHeader cannot override it.
func ownHeader(k string) bool {
	switch k {
	case "Upgrade", "Connection", "Sec-Websocket-Accept", "Sec-Websocket-Protocol", "Sec-Websocket-Extensions":
		return true
	}
	return false
}

// appendSwitching builds the 101 response.
func appendSwitching(b []byte, key, subprotocol, extensions string, extra http.Header) []byte {
	b = append(b, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	b = append(b, acceptKey(key)...)
	b = append(b, "\r\n"...)
	if subprotocol != "" {
		b = append(b, "Sec-WebSocket-Protocol: "...)
		b = append(b, subprotocol...)
		b = append(b, "\r\n"...)
	}
	if extensions != "" {
		b = append(b, "Sec-WebSocket-Extensions: "...)
		b = append(b, extensions...)
		b = append(b, "\r\n"...)
	}
	for k, vs := range extra {
		ck := http.CanonicalHeaderKey(k)
		if ownHeader(ck) || !validToken(k) {
			continue
		}
		for _, v := range vs {
			if !validHeaderValue(v) {
				continue
			}
			b = append(b, ck...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	return append(b, "\r\n"...)
}
