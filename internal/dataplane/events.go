package dataplane

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/wsgate/wsgate/internal/snapshot"
)

// eventBase is what every event of one connection repeats. Every open
// connection holds one, so it is kept small: the API id and stage name
// come from the stage the connection was accepted on.
type eventBase struct {
	connID      string
	st          *snapshot.Stage // the stage at connect time (its APIID and Name never change)
	domainName  string
	connectedAt int64 // Unix milliseconds
	sourceIP    string
	userAgent   string
	auth        *authInfo // nil unless an authorizer, AWS_IAM or an API key ran
}

// authInfo is what authorization added to a connection. Most connections
// have none, so it lives behind a pointer and they do not pay for it.
type authInfo struct {
	principal string         // the authorizer's principalId
	authz     map[string]any // the authorizer's whole context
	// authorizer is requestContext.authorizer as encoded JSON, or "".
	authorizer string
	// identity holds extra requestContext.identity members (AWS_IAM,
	// API keys) as encoded "k":"v", pairs, or "".
	identity string
}

// setAuth returns the connection's authInfo, creating it on first use
// (during $connect, before anything reads it concurrently).
func (b *eventBase) setAuth() *authInfo {
	if b.auth == nil {
		b.auth = &authInfo{}
	}
	return b.auth
}

// principal returns the authorizer's principalId, or "".
func (b *eventBase) principal() string {
	if b.auth == nil {
		return ""
	}
	return b.auth.principal
}

// authz returns the authorizer's context, or nil.
func (b *eventBase) authz() map[string]any {
	if b.auth == nil {
		return nil
	}
	return b.auth.authz
}

// clfCache formats requestTime (CLF, UTC) once per second.
type clfCache struct {
	v atomic.Pointer[clfEntry]
}

type clfEntry struct {
	sec int64
	s   string
}

func (c *clfCache) format(t time.Time) string {
	sec := t.Unix()
	if e := c.v.Load(); e != nil && e.sec == sec {
		return e.s
	}
	e := &clfEntry{sec: sec, s: t.UTC().Format("02/Jan/2006:15:04:05 -0700")}
	c.v.Store(e)
	return e.s
}

// appendContext appends the requestContext object.
func (p *Plane) appendContext(dst []byte, b *eventBase, routeKey, eventType, messageID, requestID string, now time.Time, disconnect *closeInfo) []byte {
	dst = append(dst, `"requestContext":{`...)
	dst = appendStrField(dst, "routeKey", routeKey)
	if messageID != "" {
		dst = appendStrField(dst, "messageId", messageID)
	}
	if disconnect != nil {
		dst = appendIntField(dst, "disconnectStatusCode", int64(disconnect.code))
	}
	dst = appendStrField(dst, "eventType", eventType)
	dst = appendStrField(dst, "extendedRequestId", requestID)
	dst = appendStrField(dst, "requestTime", p.clf.format(now))
	dst = appendStrField(dst, "messageDirection", "IN")
	if disconnect != nil {
		dst = appendStrField(dst, "disconnectReason", disconnect.reason)
	}
	dst = appendStrField(dst, "stage", b.st.Name)
	dst = appendIntField(dst, "connectedAt", b.connectedAt)
	dst = appendIntField(dst, "requestTimeEpoch", now.UnixMilli())
	if b.auth != nil && b.auth.authorizer != "" {
		dst = appendKey(dst, "authorizer")
		dst = append(dst, b.auth.authorizer...)
		dst = append(dst, ',')
	}
	dst = append(dst, `"identity":{`...)
	if b.auth != nil {
		dst = append(dst, b.auth.identity...)
	}
	if b.userAgent != "" {
		dst = appendStrField(dst, "userAgent", b.userAgent)
	}
	dst = appendStrField(dst, "sourceIp", b.sourceIP)
	dst = trimComma(dst)
	dst = append(dst, '}', ',')
	dst = appendStrField(dst, "requestId", requestID)
	dst = appendStrField(dst, "domainName", b.domainName)
	dst = appendStrField(dst, "connectionId", b.connID)
	dst = appendStrField(dst, "apiId", b.st.APIID)
	dst = trimComma(dst)
	return append(dst, '}', ',')
}

// messageEvent builds a MESSAGE proxy event.
func (p *Plane) messageEvent(b *eventBase, vars []byte, routeKey, messageID, requestID string, now time.Time, body []byte, binary bool) []byte {
	// Sized for the whole event at once: the fixed members, the
	// connection's variable ones, and the body with room for some escapes
	// (or for base64's third).
	n := 512 + len(b.domainName) + len(b.userAgent) + len(routeKey) + len(vars) + len(body) + len(body)/8
	if binary {
		n += len(body)/3 + 4
	}
	if b.auth != nil {
		n += len(b.auth.authorizer) + len(b.auth.identity)
	}
	dst := make([]byte, 0, n)
	dst = append(dst, '{')
	dst = p.appendContext(dst, b, routeKey, "MESSAGE", messageID, requestID, now, nil)
	if vars != nil {
		dst = appendKey(dst, "stageVariables")
		dst = append(dst, vars...)
		dst = append(dst, ',')
	}
	dst = appendKey(dst, "body")
	if binary {
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, body)
		dst = append(dst, '"')
		dst = append(dst, `,"isBase64Encoded":true}`...)
		return dst
	}
	dst = appendBytesString(dst, body)
	return append(dst, `,"isBase64Encoded":false}`...)
}

// closeInfo is why a connection ended.
type closeInfo struct {
	code   int
	reason string
}

// disconnectEvent builds a DISCONNECT proxy event with AWS's synthetic
// headers.
func (p *Plane) disconnectEvent(b *eventBase, vars []byte, requestID string, now time.Time, ci closeInfo) []byte {
	dst := make([]byte, 0, 768)
	dst = append(dst, `{"headers":{`...)
	dst = appendStrField(dst, "Host", b.domainName)
	dst = append(dst, `"x-api-key":"","X-Forwarded-For":"","x-restapi":""},"multiValueHeaders":{`...)
	dst = appendKey(dst, "Host")
	dst = append(dst, '[')
	dst = appendString(dst, b.domainName)
	dst = append(dst, `],"x-api-key":[""],"X-Forwarded-For":[""],"x-restapi":[""]},`...)
	dst = p.appendContext(dst, b, "$disconnect", "DISCONNECT", "", requestID, now, &ci)
	if vars != nil {
		dst = appendKey(dst, "stageVariables")
		dst = append(dst, vars...)
		dst = append(dst, ',')
	}
	return append(dst, `"isBase64Encoded":false}`...)
}

// headerCase restores the usual spelling of headers Go canonicalizes
// differently from how clients (and AWS events) write them.
var headerCase = map[string]string{
	"Sec-Websocket-Key":        "Sec-WebSocket-Key",
	"Sec-Websocket-Version":    "Sec-WebSocket-Version",
	"Sec-Websocket-Protocol":   "Sec-WebSocket-Protocol",
	"Sec-Websocket-Extensions": "Sec-WebSocket-Extensions",
	"X-Amzn-Trace-Id":          "X-Amzn-Trace-Id",
}

// connectHeaders returns the headers of a CONNECT (or authorizer) event:
// the client's upgrade-request headers plus AWS's X-Amzn-Trace-Id and
// X-Forwarded-*. The $connect event leaves out Connection and Upgrade; the
// authorizer event keeps them and adds content-length: 0, as AWS does.
func (p *Plane) connectHeaders(r *http.Request, traceID, sourceIP string, forAuthorizer bool) ([]string, map[string][]string) {
	h := make(map[string][]string, len(r.Header)+5)
	for k, vs := range r.Header {
		if !forAuthorizer && (k == "Connection" || k == "Upgrade") {
			continue
		}
		if c, ok := headerCase[k]; ok {
			k = c
		}
		h[k] = vs
	}
	h["Host"] = []string{r.Host}
	h["X-Amzn-Trace-Id"] = []string{traceID}
	h["X-Forwarded-For"] = []string{sourceIP}
	h["X-Forwarded-Port"] = []string{p.port}
	h["X-Forwarded-Proto"] = []string{p.proto}
	if forAuthorizer {
		h["content-length"] = []string{"0"}
	}
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, h
}

// appendRequestParts appends headers, multiValueHeaders and (when the URL
// has a query) the two query maps.
func appendRequestParts(dst []byte, keys []string, h map[string][]string, query url.Values) []byte {
	single := make(map[string]string, len(h))
	for _, k := range keys {
		vs := h[k]
		single[k] = joinHeader(vs)
	}
	dst = appendKey(dst, "headers")
	dst = appendStringMap(dst, keys, single)
	dst = append(dst, ',')
	dst = appendKey(dst, "multiValueHeaders")
	dst = appendMultiMap(dst, keys, h)
	dst = append(dst, ',')
	if len(query) > 0 {
		qk := make([]string, 0, len(query))
		last := make(map[string]string, len(query))
		for k, vs := range query {
			qk = append(qk, k)
			last[k] = vs[len(vs)-1]
		}
		slices.Sort(qk)
		dst = appendKey(dst, "queryStringParameters")
		dst = appendStringMap(dst, qk, last)
		dst = append(dst, ',')
		dst = appendKey(dst, "multiValueQueryStringParameters")
		dst = appendMultiMap(dst, qk, query)
		dst = append(dst, ',')
	}
	return dst
}

func joinHeader(vs []string) string {
	switch len(vs) {
	case 0:
		return ""
	case 1:
		return vs[0]
	}
	n := 0
	for _, v := range vs {
		n += len(v) + 1
	}
	b := make([]byte, 0, n)
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, v...)
	}
	return string(b)
}

// connectEvent builds the CONNECT proxy event.
func (p *Plane) connectEvent(b *eventBase, vars []byte, r *http.Request, requestID, traceID string, now time.Time) []byte {
	keys, h := p.connectHeaders(r, traceID, b.sourceIP, false)
	dst := make([]byte, 0, 2048)
	dst = append(dst, '{')
	dst = appendRequestParts(dst, keys, h, r.URL.Query())
	dst = p.appendContext(dst, b, "$connect", "CONNECT", "", requestID, now, nil)
	if vars != nil {
		dst = appendKey(dst, "stageVariables")
		dst = append(dst, vars...)
		dst = append(dst, ',')
	}
	return append(dst, `"isBase64Encoded":false}`...)
}

// authorizerEvent builds a REQUEST authorizer's input event.
func (p *Plane) authorizerEvent(b *eventBase, vars []byte, r *http.Request, methodArn, requestID, traceID string, now time.Time) []byte {
	keys, h := p.connectHeaders(r, traceID, b.sourceIP, true)
	dst := make([]byte, 0, 2048)
	dst = append(dst, '{')
	dst = appendStrField(dst, "type", "REQUEST")
	dst = appendStrField(dst, "methodArn", methodArn)
	dst = appendRequestParts(dst, keys, h, r.URL.Query())
	dst = appendKey(dst, "stageVariables")
	if vars != nil {
		dst = append(dst, vars...)
	} else {
		dst = append(dst, '{', '}')
	}
	dst = append(dst, ',')
	dst = p.appendContext(dst, b, "$connect", "CONNECT", "", requestID, now, nil)
	dst = trimComma(dst) // requestContext is last
	return append(dst, '}')
}

// newTraceID returns an X-Ray trace header value.
func newTraceID(now time.Time) string {
	var r [12]byte
	_, _ = rand.Read(r[:])
	return "Root=1-" + strconv.FormatInt(now.Unix(), 16) + "-" + hex.EncodeToString(r[:])
}
