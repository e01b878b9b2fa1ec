package dataplane

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wsgate/wsgate/internal/apigw"
	"github.com/wsgate/wsgate/internal/integration"
	"github.com/wsgate/wsgate/internal/selection"
	"github.com/wsgate/wsgate/internal/snapshot"
	"github.com/wsgate/wsgate/internal/vtl"
)

// errNoTemplate: passthroughBehavior rejected a message no request template
// matched.
var errNoTemplate = errors.New("no request template matches and passthroughBehavior rejects the message")

// direct is one call of a non-proxy integration (HTTP_PROXY, HTTP, MOCK,
// AWS).
type direct struct {
	st        *snapshot.Stage
	in        *snapshot.Integration
	c         *conn
	route     *snapshot.Route
	body      []byte
	binary    bool
	r         *http.Request // the upgrade request, for $connect
	eventType string
	messageID string
	requestID string // only read by templates: may be "" when there are none
	now       time.Time
	ctx       map[string]any // templateContext, once built
}

// templateContext is $context for mapping templates: the WebSocket variables
// of AWS's reference, $context.authorizer values stringified. It is built
// once per call and shared by the request and response templates (vtl
// copies what a template reads and never writes to it).
func (d *direct) templateContext() map[string]any {
	if d.ctx == nil {
		d.ctx = d.buildContext()
	}
	return d.ctx
}

func (d *direct) buildContext() map[string]any {
	b := &d.c.base
	identity := map[string]any{"sourceIp": b.sourceIP}
	if b.userAgent != "" {
		identity["userAgent"] = b.userAgent
	}
	m := map[string]any{
		"connectionId":      d.c.base.connID,
		"routeKey":          d.route.Key,
		"eventType":         d.eventType,
		"requestId":         d.requestID,
		"extendedRequestId": d.requestID,
		"apiId":             b.st.APIID,
		"stage":             b.st.Name,
		"domainName":        b.domainName,
		"connectedAt":       strconv.FormatInt(b.connectedAt, 10),
		"requestTime":       d.c.p.clf.format(d.now),
		"requestTimeEpoch":  strconv.FormatInt(d.now.UnixMilli(), 10),
		"messageDirection":  "IN",
		"identity":          identity,
	}
	if d.messageID != "" {
		m["messageId"] = d.messageID
	}
	var md map[string]string
	if d.c.registered.Load() {
		md = d.c.p.o.Hub.Metadata(d.c.base.connID)
	}
	authz := d.c.base.authz()
	if len(authz) == 0 && len(md) == 0 {
		return m // no authorizer context and no metadata: no map to build
	}
	auth := make(map[string]any, len(authz)+len(md))
	for k, v := range authz {
		auth[k] = fmt.Sprint(v)
	}
	for k, v := range md {
		if k != "principalId" {
			auth[k] = v
		}
	}
	if len(auth) > 0 {
		m["authorizer"] = auth
	}
	return m
}

// input is $input for a request template.
func (d *direct) input(body []byte) vtl.Input {
	in := vtl.Input{Body: body}
	if d.r != nil {
		in.QueryString = map[string]string{}
		for k, vs := range d.r.URL.Query() {
			in.QueryString[k] = vs[len(vs)-1]
		}
		in.Header = map[string]string{}
		for k, vs := range d.r.Header {
			in.Header[k] = joinHeader(vs)
		}
	}
	return in
}

// selectTemplate picks a template by a selection expression, falling back
// to $default; with no expression and a single template (AWS's samples key
// it by content type), that template.
func selectTemplate(tpls map[string]*vtl.Template, expr *selection.Expr, env *selection.Env) (*vtl.Template, bool) {
	if len(tpls) == 0 {
		return nil, false
	}
	if expr != nil {
		if t, ok := tpls[expr.Eval(env)]; ok {
			return t, true
		}
	}
	if t, ok := tpls[apigw.RouteDefault]; ok {
		return t, true
	}
	if expr == nil && len(tpls) == 1 {
		for _, t := range tpls {
			return t, true
		}
	}
	return nil, false
}

// requestPayload applies template selection, passthroughBehavior, the
// template and contentHandlingStrategy to the message body.
func (p *Plane) requestPayload(d *direct) ([]byte, error) {
	in := d.in
	body := d.body
	t, ok := selectTemplate(in.Templates, in.TemplateSelection, &selection.Env{Body: body})
	if !ok {
		switch in.PassthroughBehavior {
		case apigw.PassthroughNever:
			return nil, errNoTemplate
		case apigw.PassthroughWhenNoTemplates:
			if len(in.Templates) > 0 {
				return nil, errNoTemplate
			}
		}
		return convertContent(in.ContentHandlingStrategy, body, d.binary)
	}
	out, err := t.Execute(&vtl.Env{
		Input:          d.input(body),
		Context:        d.templateContext(),
		StageVariables: d.st.Variables,
	})
	if err != nil {
		return nil, fmt.Errorf("request template: %w", err)
	}
	return convertContent(in.ContentHandlingStrategy, []byte(out), d.binary)
}

// convertContent applies a contentHandlingStrategy to a payload.
func convertContent(strategy string, b []byte, binary bool) ([]byte, error) {
	switch strategy {
	case apigw.ConvertToBinary:
		if binary {
			return b, nil
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("CONVERT_TO_BINARY: the payload is not base64: %w", err)
		}
		return raw, nil
	case apigw.ConvertToText:
		if binary {
			return []byte(base64.StdEncoding.EncodeToString(b)), nil
		}
	}
	return b, nil
}

// callDirect runs a non-proxy integration and, for two-way routes, its
// integration response. The result's status is the backend's (MOCK: the
// template's statusCode).
func (p *Plane) callDirect(ctx context.Context, d *direct) (callOutput, error) {
	in := d.in
	if in.IntegrationType == apigw.IntegrationHTTPProxy {
		return p.callHTTP(ctx, d, d.body)
	}
	payload, err := p.requestPayload(d)
	if err != nil {
		return callOutput{}, err
	}
	var out callOutput
	var errorMessage string
	switch in.IntegrationType {
	case apigw.IntegrationMock:
		out = callOutput{status: mockStatus(payload), body: payload}
	case apigw.IntegrationHTTP:
		if out, err = p.callHTTP(ctx, d, payload); err != nil {
			return out, err
		}
	case apigw.IntegrationAWS:
		uri, err := integration.ResolveStageVariables(in.IntegrationURI, d.st.Variables)
		if err != nil {
			return callOutput{}, err
		}
		ctx, cancel := context.WithTimeout(ctx, timeout(in))
		defer cancel()
		if len(payload) == 0 {
			payload = []byte("{}")
		}
		res, err := p.o.Lambda.Invoke(ctx, integration.Call{URI: uri, Body: payload, Timeout: timeout(in), Env: p.functionEnv(d.st)})
		if err != nil {
			return callOutput{}, err
		}
		out = callOutput{status: 200, body: res.Body}
		if res.FunctionError != "" {
			var doc struct {
				ErrorMessage string `json:"errorMessage"`
			}
			_ = json.Unmarshal(res.Body, &doc)
			errorMessage = doc.ErrorMessage
			if !hasMatchingResponse(in, errorMessage) {
				return callOutput{}, fmt.Errorf("%w: %s", errFunction, functionErrorMessage(res.Body))
			}
		}
	default:
		return callOutput{}, fmt.Errorf("unsupported integration type %q", in.IntegrationType)
	}
	if d.route.TwoWay && d.eventType == "MESSAGE" {
		return p.integrationResponse(d, out, errorMessage)
	}
	return out, nil
}

// mockStatus reads {"statusCode": N} from a MOCK's request template output;
// anything else is 200.
func mockStatus(b []byte) int {
	if !mayHoldStatusCode(b) {
		return http.StatusOK // the common case, without decoding
	}
	var v struct {
		StatusCode json.Number `json:"statusCode"`
	}
	if json.Unmarshal(b, &v) == nil {
		if n, err := v.StatusCode.Int64(); err == nil && n >= 100 && n <= 599 {
			return int(n)
		}
	}
	return http.StatusOK
}

// mayHoldStatusCode reports whether decoding b could find a statusCode
// member: encoding/json matches member names with Unicode case folding
// (where U+017F, the long s, folds to 's'), and a name may be spelled with
// escapes, so only a payload with no ASCII casing of "statuscode", no
// backslash and no U+017F is certain not to.
func mayHoldStatusCode(b []byte) bool {
	const key = "statuscode"
	if bytes.IndexByte(b, '\\') >= 0 || bytes.Contains(b, []byte("\u017f")) {
		return true
	}
	for i := 0; i+len(key) <= len(b); i++ {
		if b[i]|0x20 != 's' {
			continue
		}
		j := 1
		for j < len(key) && b[i+j]|0x20 == key[j] {
			j++
		}
		if j == len(key) {
			return true
		}
	}
	return false
}

// hasMatchingResponse reports whether a Lambda errorMessage selects an
// integration response (a /regex/ key, or $default).
func hasMatchingResponse(in *snapshot.Integration, errorMessage string) bool {
	for _, ir := range in.Responses {
		if ir.Pattern == nil || ir.Pattern.Match(errorMessage) {
			return true
		}
	}
	return false
}

// integrationResponse selects the integration response (by status code
// for HTTP and MOCK, by errorMessage for Lambda), applies its template and
// content handling. An integration without integration responses passes
// the backend's body through.
func (p *Plane) integrationResponse(d *direct, out callOutput, errorMessage string) (callOutput, error) {
	in := d.in
	if len(in.Responses) == 0 {
		return out, nil
	}
	match := strconv.Itoa(out.status)
	if in.IntegrationType == apigw.IntegrationAWS {
		match = errorMessage
	}
	var ir *snapshot.IntegrationResponse
	for _, r := range in.Responses {
		if r.Pattern == nil || r.Pattern.Match(match) {
			ir = r
			break
		}
	}
	if ir == nil {
		return callOutput{status: out.status}, nil // nothing matches: nothing to send
	}
	env := &selection.Env{Body: d.body, ResponseBody: out.body, Lookup: func(root string, path []string) (string, bool) {
		switch root {
		case selection.RootIntegrationStatusCode:
			return strconv.Itoa(out.status), true
		case selection.RootIntegrationHeader:
			if len(path) == 1 {
				v := headerValue(out.headers, path[0])
				return v, v != ""
			}
		}
		return "", false
	}}
	body := out.body
	if t, ok := selectTemplate(ir.Templates, ir.TemplateSelection, env); ok {
		res, err := t.Execute(&vtl.Env{
			Input:          vtl.Input{Body: out.body},
			Context:        d.templateContext(),
			StageVariables: d.st.Variables,
		})
		if err != nil {
			return callOutput{}, fmt.Errorf("response template: %w", err)
		}
		body = []byte(res)
	}
	switch ir.ContentHandlingStrategy {
	case apigw.ConvertToText:
		if out.binary {
			body = []byte(base64.StdEncoding.EncodeToString(body))
		}
		return callOutput{status: out.status, body: body}, nil
	case apigw.ConvertToBinary:
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(body)))
		if err != nil {
			return callOutput{}, fmt.Errorf("CONVERT_TO_BINARY: the response is not base64: %w", err)
		}
		return callOutput{status: out.status, body: raw, binary: true}, nil
	}
	return callOutput{status: out.status, body: body, binary: out.binary}, nil
}

// callHTTP sends a payload to an HTTP or HTTP_PROXY integration.
func (p *Plane) callHTTP(ctx context.Context, d *direct, payload []byte) (callOutput, error) {
	in := d.in
	uri, err := integration.ResolveStageVariables(in.IntegrationURI, d.st.Variables)
	if err != nil {
		return callOutput{}, err
	}
	h := http.Header{}
	if len(payload) > 0 {
		h.Set("Content-Type", "application/json")
	}
	h.Set("User-Agent", "AmazonAPIGateway_"+d.st.APIID)
	h.Set("X-Amzn-Apigateway-Api-Id", d.st.APIID)
	h.Set("X-Amzn-Trace-Id", newTraceID(d.now))
	query, path, err := p.mapRequestParameters(in, d.c, d.st, d.body, d.r, h)
	if err != nil {
		return callOutput{}, err
	}
	for name, v := range path {
		uri = strings.ReplaceAll(uri, "{"+name+"}", v)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout(in))
	defer cancel()
	res, err := p.o.HTTP.Do(ctx, integration.Call{URI: uri, Method: in.IntegrationMethod, Header: h, Query: query, Body: payload, Timeout: timeout(in)})
	if err != nil {
		return callOutput{}, err
	}
	out := callOutput{status: res.Status, body: res.Body, headers: map[string]string{}}
	for k, vs := range res.Header {
		out.headers[k] = strings.Join(vs, ",")
	}
	return out, nil
}
