package dataplane

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/wsgate/wsgate/internal/integration"
	"github.com/wsgate/wsgate/internal/snapshot"
)

// authorizerTimeout bounds a REQUEST authorizer call (AWS: 10 s).
const authorizerTimeout = 10 * time.Second

// maxAuthorizerResult is AWS's limit on an authorizer's answer.
const maxAuthorizerResult = 8 << 10

// authorize runs the $connect route's REQUEST authorizer. It returns a
// non-zero status to reject the handshake (401 missing identity or
// "Unauthorized", 403 deny, 500 any other failure), and the usage
// identifier key the authorizer returned.
func (p *Plane) authorize(r *http.Request, st *snapshot.Stage, route *snapshot.Route, c *conn, now time.Time) (status int, msg, usageKey string) {
	a := route.Authorizer
	if a == nil {
		return http.StatusInternalServerError, "Internal server error", ""
	}
	for _, src := range a.IdentitySource {
		if identityValue(r, st, c, src) == "" {
			return http.StatusUnauthorized, "Unauthorized", ""
		}
	}
	methodArn := fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/%s/$connect", p.o.Region, p.o.AccountID, st.APIID, st.Name)
	event := p.authorizerEvent(&c.base, st.VariablesJSON, r, methodArn, newRequestID(), newTraceID(now), now)
	uri, err := integration.ResolveStageVariables(a.AuthorizerURI, st.Variables)
	if err != nil {
		p.log.Warn("authorizer URI", "conn_id", c.base.connID, "authorizer", a.Name, "err", err)
		return http.StatusInternalServerError, "Internal server error", ""
	}
	ctx, cancel := context.WithTimeout(r.Context(), authorizerTimeout)
	defer cancel()
	started := time.Now()
	res, err := p.o.Lambda.Invoke(ctx, integration.Call{URI: uri, Body: event, Timeout: authorizerTimeout, Env: p.functionEnv(st)})
	if err != nil {
		p.log.Warn("authorizer invocation failed", "conn_id", c.base.connID, "authorizer", a.Name, "err", err)
		return http.StatusInternalServerError, "Internal server error", ""
	}
	if res.FunctionError != "" {
		var doc struct {
			ErrorMessage string `json:"errorMessage"`
		}
		_ = json.Unmarshal(res.Body, &doc)
		if doc.ErrorMessage == "Unauthorized" {
			return http.StatusUnauthorized, "Unauthorized", ""
		}
		p.log.Warn("authorizer failed", "conn_id", c.base.connID, "authorizer", a.Name, "err", functionErrorMessage(res.Body))
		return http.StatusInternalServerError, "Internal server error", ""
	}
	if len(res.Body) > maxAuthorizerResult {
		p.log.Warn("authorizer result larger than 8 KB", "conn_id", c.base.connID, "authorizer", a.Name, "bytes", len(res.Body))
		return http.StatusInternalServerError, "Internal server error", ""
	}
	out, err := parseAuthorizerResult(res.Body)
	if err != nil {
		p.log.Warn("invalid authorizer result", "conn_id", c.base.connID, "authorizer", a.Name, "err", err)
		return http.StatusInternalServerError, "Internal server error", ""
	}
	if !out.allows(methodArn) {
		return http.StatusForbidden, "Forbidden", ""
	}
	ai := c.base.setAuth()
	ai.principal = out.PrincipalID
	authorizer, authz := out.encode(time.Since(started))
	ai.authorizer, ai.authz = string(authorizer), authz
	return 0, "", out.UsageIdentifierKey
}

// identityValue returns the value of an identity source, or "".
func identityValue(r *http.Request, st *snapshot.Stage, c *conn, src string) string {
	switch {
	case strings.HasPrefix(src, "route.request.header."):
		return r.Header.Get(strings.TrimPrefix(src, "route.request.header."))
	case strings.HasPrefix(src, "route.request.querystring."):
		return r.URL.Query().Get(strings.TrimPrefix(src, "route.request.querystring."))
	case strings.HasPrefix(src, "stageVariables."):
		return st.Variables[strings.TrimPrefix(src, "stageVariables.")]
	case strings.HasPrefix(src, "context."):
		return contextValue(c, strings.TrimPrefix(src, "context."))
	}
	return ""
}

// contextValue resolves the $context variables known at connect time.
func contextValue(c *conn, name string) string {
	switch name {
	case "connectionId":
		return c.base.connID
	case "apiId":
		return c.base.st.APIID
	case "stage":
		return c.base.st.Name
	case "domainName":
		return c.base.domainName
	case "identity.sourceIp":
		return c.base.sourceIP
	case "identity.userAgent":
		return c.base.userAgent
	case "connectedAt":
		return strconv.FormatInt(c.base.connectedAt, 10)
	case "routeKey":
		return "$connect"
	case "eventType":
		return "CONNECT"
	}
	return ""
}

// authorizerResult is a REQUEST authorizer's answer (REST format).
type authorizerResult struct {
	PrincipalID        string         `json:"principalId"`
	PolicyDocument     policyDocument `json:"policyDocument"`
	Context            map[string]any `json:"context"`
	UsageIdentifierKey string         `json:"usageIdentifierKey"`
}

type policyDocument struct {
	Version   string            `json:"Version"`
	Statement []policyStatement `json:"Statement"`
}

type policyStatement struct {
	Action   stringOrList `json:"Action"`
	Effect   string       `json:"Effect"`
	Resource stringOrList `json:"Resource"`
}

// stringOrList accepts "x" and ["x", "y"] (Go handlers send lists, Node
// examples strings).
type stringOrList []string

func (s *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings: %w", err)
	}
	*s = many
	return nil
}

func parseAuthorizerResult(b []byte) (*authorizerResult, error) {
	var out authorizerResult
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	if out.PrincipalID == "" {
		return nil, fmt.Errorf("principalId is missing")
	}
	if len(out.PolicyDocument.Statement) == 0 {
		return nil, fmt.Errorf("policyDocument has no statements")
	}
	for k, v := range out.Context {
		switch v.(type) {
		case string, float64, bool:
		default:
			return nil, fmt.Errorf("context value %q must be a string, number or boolean", k)
		}
	}
	return &out, nil
}

// allows evaluates the policy for the method ARN: an explicit Deny wins,
// else some Allow must match.
func (a *authorizerResult) allows(methodArn string) bool {
	allowed := false
	for _, st := range a.PolicyDocument.Statement {
		if !matchAny(st.Action, "execute-api:Invoke") || !matchAny(st.Resource, methodArn) {
			continue
		}
		switch strings.ToLower(st.Effect) {
		case "deny":
			return false
		case "allow":
			allowed = true
		}
	}
	return allowed
}

func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if globMatch(p, s) {
			return true
		}
	}
	return false
}

// globMatch matches IAM-style patterns: '*' any run, '?' one character.
func globMatch(pattern, s string) bool {
	// path.Match treats '/' specially and supports classes; IAM does not,
	// so escape what IAM takes literally and match on a '/'-free form.
	var b strings.Builder
	for _, r := range pattern {
		switch r {
		case '*', '?':
			b.WriteRune(r)
		case '[', ']', '\\':
			b.WriteRune('\\')
			b.WriteRune(r)
		case '/':
			b.WriteRune('\x00')
		default:
			b.WriteRune(r)
		}
	}
	ok, err := path.Match(b.String(), strings.ReplaceAll(s, "/", "\x00"))
	return err == nil && ok
}

// encode renders requestContext.authorizer: principalId, the context's
// values as-is, and integrationLatency in milliseconds.
func (a *authorizerResult) encode(latency time.Duration) ([]byte, map[string]any) {
	m := map[string]any{"principalId": a.PrincipalID, "integrationLatency": latency.Milliseconds()}
	for k, v := range a.Context {
		if k != "principalId" && k != "integrationLatency" {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	return b, m
}
