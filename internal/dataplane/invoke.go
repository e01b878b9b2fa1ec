package dataplane

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/wsgate/wsgate/internal/apigw"
	"github.com/wsgate/wsgate/internal/connid"
	"github.com/wsgate/wsgate/internal/integration"
	"github.com/wsgate/wsgate/internal/snapshot"
)

func newRequestID() string { return connid.NewRequestID() }

// Extension headers a $connect integration can answer with to place the
// connection in groups and attach metadata, without an extra call.
const (
	HeaderGroups   = "Wsgate-Groups"   // comma-separated group names
	HeaderMetadata = "Wsgate-Metadata" // a JSON object of string values
)

// connectResult is what a successful $connect decided.
type connectResult struct {
	subprotocol string
	groups      []string
	metadata    map[string]string
}

// connect runs the $connect checks, authorizer and integration. A non-zero
// status rejects the handshake with it.
func (p *Plane) connect(r *http.Request, st *snapshot.Stage, c *conn, now time.Time) (res connectResult, status int, msg string) {
	route := st.Connect
	if !p.limits.allow(st, "$connect") {
		return res, http.StatusTooManyRequests, "Too Many Requests"
	}
	if route == nil {
		return res, 0, "" // $connect is optional
	}
	for _, param := range route.RequiredParameters {
		if !hasParam(r, param) {
			return res, http.StatusBadRequest, "Missing required request parameter " + param
		}
	}
	switch route.AuthorizationType {
	case apigw.AuthIAM:
		if p.o.VerifyIAM == nil {
			return res, http.StatusForbidden, "Forbidden"
		}
		akid, err := p.o.VerifyIAM(r)
		if err != nil {
			p.log.Debug("AWS_IAM authorization failed", "conn_id", c.base.connID, "err", err)
			return res, http.StatusForbidden, "Forbidden"
		}
		a := c.base.setAuth()
		id := appendStrField(appendStrField(appendStrField([]byte(a.identity), "accessKey", akid), "caller", akid), "user", akid)
		id = appendStrField(id, "accountId", p.o.AccountID)
		id = appendStrField(id, "userArn", "arn:aws:iam::"+p.o.AccountID+":user/"+akid)
		a.identity = string(id)
	}
	var usageKey string
	if route.AuthorizationType == apigw.AuthCustom {
		var s int
		var m string
		if s, m, usageKey = p.authorize(r, st, route, c, now); s != 0 {
			return res, s, m
		}
	}
	if route.APIKeyRequired {
		key := r.Header.Get("X-Api-Key")
		if st.APIKeySelection == apigw.AuthorizerAPIKeySelection {
			key = usageKey
		}
		if key == "" || !p.apiKeys[key] {
			return res, http.StatusForbidden, "Forbidden"
		}
		a := c.base.setAuth()
		a.identity = string(appendStrField([]byte(a.identity), "apiKey", key))
	}
	if route.Integration == nil {
		return res, 0, ""
	}
	requestID := newRequestID()
	traceID := newTraceID(now)
	in := route.Integration
	var out callOutput
	var err error
	switch in.IntegrationType {
	case apigw.IntegrationAWSProxy:
		event := p.connectEvent(&c.base, st.VariablesJSON, r, requestID, traceID, now)
		out, err = p.callProxy(r.Context(), st, in, event)
	default:
		out, err = p.callDirect(r.Context(), &direct{st: st, in: in, c: c, route: route, r: r, eventType: "CONNECT", requestID: requestID, now: now})
	}
	if err != nil {
		p.log.Warn("$connect integration failed", "conn_id", c.base.connID, "api_id", st.APIID, "stage", st.Name, "integration_id", in.IntegrationID, "err", err)
		return res, http.StatusBadGateway, "Internal server error"
	}
	if out.status < 200 || out.status > 299 {
		return res, out.status, http.StatusText(out.status)
	}
	res.subprotocol = headerValue(out.headers, "Sec-WebSocket-Protocol")
	if !validToken(res.subprotocol) {
		res.subprotocol = ""
	}
	if g := headerValue(out.headers, HeaderGroups); g != "" {
		for _, name := range strings.Split(g, ",") {
			if name = strings.TrimSpace(name); name != "" {
				res.groups = append(res.groups, name)
			}
		}
	}
	if m := headerValue(out.headers, HeaderMetadata); m != "" {
		if err := json.Unmarshal([]byte(m), &res.metadata); err != nil {
			p.log.Warn("ignoring malformed "+HeaderMetadata+" header from $connect", "conn_id", c.base.connID, "err", err)
			res.metadata = nil
		}
	}
	return res, 0, ""
}

func hasParam(r *http.Request, param string) bool {
	if name, ok := strings.CutPrefix(param, "route.request.header."); ok {
		return r.Header.Get(name) != ""
	}
	if name, ok := strings.CutPrefix(param, "route.request.querystring."); ok {
		return r.URL.Query().Get(name) != ""
	}
	return true
}

// validToken reports whether s can be sent as a Sec-WebSocket-Protocol
// value (an RFC 7230 token), so an integration cannot inject headers.
func validToken(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

// headerValue looks a header up case-insensitively.
func headerValue(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// callOutput is an integration's answer, normalised.
type callOutput struct {
	status  int
	headers map[string]string
	body    []byte
	binary  bool
}

// errMalformed marks a Lambda proxy result AWS would reject.
var errMalformed = errors.New("malformed Lambda proxy response")

// errFunction marks a function error (the handler failed).
var errFunction = errors.New("function error")

// proxyResult is a Lambda proxy integration's result.
type proxyResult struct {
	StatusCode        *int                `json:"statusCode"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Body              *string             `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
}

// parseProxyResult decodes a proxy result. An empty or null result is
// allowed (requireStatus false) for message routes, where AWS ignores the
// result unless the route is two-way.
func parseProxyResult(b []byte, requireStatus bool) (callOutput, error) {
	trimmed := strings.TrimSpace(unsafeString(b))
	if trimmed == "" || trimmed == "null" {
		if requireStatus {
			return callOutput{}, fmt.Errorf("%w: the function returned no result", errMalformed)
		}
		return callOutput{status: 200}, nil
	}
	var pr proxyResult
	if err := json.Unmarshal(b, &pr); err != nil {
		return callOutput{}, fmt.Errorf("%w: %v", errMalformed, err)
	}
	out := callOutput{status: 200, headers: pr.Headers}
	if pr.StatusCode != nil {
		out.status = *pr.StatusCode
	} else if requireStatus {
		return callOutput{}, fmt.Errorf("%w: statusCode is missing", errMalformed)
	}
	for k, vs := range pr.MultiValueHeaders {
		if len(vs) > 0 {
			if out.headers == nil {
				out.headers = map[string]string{}
			}
			if _, ok := out.headers[k]; !ok {
				out.headers[k] = strings.Join(vs, ",")
			}
		}
	}
	if pr.Body != nil {
		if pr.IsBase64Encoded {
			raw, err := base64.StdEncoding.DecodeString(*pr.Body)
			if err != nil {
				return callOutput{}, fmt.Errorf("%w: isBase64Encoded but the body is not base64: %v", errMalformed, err)
			}
			out.body, out.binary = raw, true
		} else {
			out.body = []byte(*pr.Body)
		}
	}
	return out, nil
}

// timeout returns the integration's timeout.
func timeout(in *snapshot.Integration) time.Duration {
	ms := in.TimeoutInMillis
	if ms <= 0 {
		ms = apigw.DefaultTimeoutMillis
	}
	return time.Duration(ms) * time.Millisecond
}

// callProxy invokes an AWS_PROXY integration with an event and returns the
// decoded proxy result. The integration URI names a Lambda function, or is
// an http(s) URL that receives the event as a POST body.
func (p *Plane) callProxy(ctx context.Context, st *snapshot.Stage, in *snapshot.Integration, event []byte) (callOutput, error) {
	return p.callProxyWith(ctx, st, in, event, true)
}

func (p *Plane) callProxyWith(ctx context.Context, st *snapshot.Stage, in *snapshot.Integration, event []byte, requireStatus bool) (callOutput, error) {
	uri, err := integration.ResolveStageVariables(in.IntegrationURI, st.Variables)
	if err != nil {
		return callOutput{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout(in))
	defer cancel()
	call := integration.Call{URI: uri, Body: event, Timeout: timeout(in)}
	var res integration.Result
	if strings.HasPrefix(uri, "http://") || strings.HasPrefix(uri, "https://") {
		call.Method = http.MethodPost
		call.Header = http.Header{"Content-Type": {"application/json"}}
		res, err = p.o.HTTP.Do(ctx, call)
		if err == nil && (res.Status < 200 || res.Status > 299) {
			err = fmt.Errorf("proxy endpoint answered %d", res.Status)
		}
	} else {
		call.Env = p.functionEnv(st)
		res, err = p.o.Lambda.Invoke(ctx, call)
		if err == nil && res.FunctionError != "" {
			err = fmt.Errorf("%w: %s", errFunction, functionErrorMessage(res.Body))
		}
	}
	if err != nil {
		return callOutput{}, err
	}
	return parseProxyResult(res.Body, requireStatus)
}

// functionErrorMessage extracts errorMessage from a Lambda error document.
func functionErrorMessage(b []byte) string {
	var doc struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	if json.Unmarshal(b, &doc) != nil {
		return string(b)
	}
	if doc.ErrorType != "" {
		return doc.ErrorType + ": " + doc.ErrorMessage
	}
	return doc.ErrorMessage
}

func (p *Plane) functionEnv(st *snapshot.Stage) map[string]string {
	ep := p.o.ManagementEndpoint(st.APIID, st.Name)
	if ep == "" {
		return nil
	}
	return map[string]string{"AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI": ep}
}

// handleMessage runs a message's integration and answers the client.
func (p *Plane) handleMessage(m *message) {
	c := m.c
	defer func() {
		c.inflight.Add(-1)
		c.busy.Done()
	}()
	defer p.recoverMessage(c, "integration")
	in := m.route.Integration
	if model, validates := m.route.RequestModel(m.body); validates {
		if model == nil || m.binary || model.Validate(m.body) != nil {
			c.m.ClientError("bad_request_body")
			c.sendFrame(badRequestFrame(c.base.connID, m.msgID()))
			return
		}
	}
	if in == nil {
		// A route without an integration: AWS fails the call.
		c.sendFrame(errorFrame("Internal server error", c.base.connID, m.reqID()))
		return
	}
	var out callOutput
	var err error
	ctx := context.Background()
	started := time.Now()
	if in.IntegrationType == apigw.IntegrationAWSProxy {
		event := p.messageEvent(c.eventBaseWith(p.o.Hub.Metadata(c.base.connID)), m.st.VariablesJSON, m.route.Key, m.msgID(), m.reqID(), m.received, m.body, m.binary)
		out, err = p.callProxyWith(ctx, m.st, in, event, m.route.TwoWay)
	} else {
		d := &direct{st: m.st, in: in, c: c, route: m.route, body: m.body, binary: m.binary, eventType: "MESSAGE", now: m.received}
		if len(in.Templates) > 0 || len(in.Responses) > 0 {
			// Only templates read the ids ($context): without any, a MOCK
			// route answers without drawing them.
			d.requestID, d.messageID = m.reqID(), m.msgID()
		}
		out, err = p.callDirect(ctx, d)
	}
	if in.IntegrationType != apigw.IntegrationMock {
		c.m.ObserveIntegration(time.Since(started))
	}
	if errors.Is(err, errNoTemplate) {
		c.m.ClientError("unsupported_media_type")
		c.sendFrame(errorFrame("Unsupported Media Type", c.base.connID, m.reqID()))
		return
	}
	if err != nil {
		if c.m != nil {
			c.m.IntegrationError.Inc()
		}
		p.log.Warn("integration failed", "conn_id", c.base.connID, "route_key", m.route.Key, "integration_id", in.IntegrationID, "request_id", m.reqID(), "err", err)
		c.sendFrame(errorFrame("Internal server error", c.base.connID, m.reqID()))
		return
	}
	if !m.route.TwoWay || len(out.body) == 0 {
		return
	}
	if len(out.body) > p.o.MaxMessageBytes {
		p.log.Warn("route response larger than the message limit", "conn_id", c.base.connID, "route_key", m.route.Key, "bytes", len(out.body), "limit", p.o.MaxMessageBytes)
		if c.m != nil {
			c.m.IntegrationError.Inc()
		}
		c.sendFrame(errorFrame("Internal server error", c.base.connID, m.reqID()))
		return
	}
	if out.binary {
		_ = c.Send(out.body, true)
		return
	}
	_ = c.Send(out.body, false)
}

// disconnect invokes the $disconnect integration; its result is ignored.
func (p *Plane) disconnect(c *conn, ci closeInfo, md map[string]string) {
	defer func() {
		if r := recover(); r != nil {
			p.log.Error("panic in $disconnect", "conn_id", c.base.connID, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	st := p.o.Registry.Stage(c.base.st.APIID, c.base.st.Name)
	if st == nil {
		st = c.base.st
	}
	p.log.Debug("disconnected", "conn_id", c.base.connID, "code", ci.code, "reason", ci.reason)
	route := st.Disconnect
	if route == nil || route.Integration == nil {
		return
	}
	in := route.Integration
	now := time.Now()
	var err error
	if in.IntegrationType == apigw.IntegrationAWSProxy {
		event := p.disconnectEvent(c.eventBaseWith(md), st.VariablesJSON, newRequestID(), now, ci)
		_, err = p.callProxyWith(context.Background(), st, in, event, false)
	} else {
		_, err = p.callDirect(context.Background(), &direct{st: st, in: in, c: c, route: route, eventType: "DISCONNECT", requestID: newRequestID(), now: now})
	}
	if err != nil && !errors.Is(err, errMalformed) {
		p.log.Warn("$disconnect integration failed", "conn_id", c.base.connID, "integration_id", in.IntegrationID, "err", err)
	}
}
