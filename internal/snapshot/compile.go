// Package snapshot turns a deployment's frozen content plus its stage's live
// settings into the immutable, compiled form the data plane serves (Stage),
// and keeps the live one of every stage (Registry), recompiling when the
// store says an API changed. Deployments are snapshots: route changes reach
// clients only through a new deployment, while stage settings (variables,
// throttling, logging) apply without one — as on AWS.
//
// A compiled Stage is never mutated after Compile returns and is safe to
// share between goroutines. Registry is safe for concurrent use.
package snapshot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/wsgate/wsgate/internal/apigw"
	"github.com/wsgate/wsgate/internal/selection"
	"github.com/wsgate/wsgate/internal/vtl"
)

// Stage is a compiled, live stage: what one WebSocket connection's messages
// are routed against.
type Stage struct {
	APIID        string
	Name         string
	DeploymentID string
	APIName      string
	// APIKeySelection is the API's apiKeySelectionExpression.
	APIKeySelection string

	RouteSelection *selection.Expr
	Routes         map[string]*Route // by route key
	Connect        *Route            // nil if the API has no $connect route
	Disconnect     *Route
	Default        *Route

	Variables map[string]string
	// VariablesJSON is Variables as the JSON object proxy events carry in
	// stageVariables, encoded once; nil when there are none.
	VariablesJSON   []byte
	DefaultSettings apigw.RouteSettings
	RouteSettings   map[string]apigw.RouteSettings
	AccessLog       *apigw.AccessLogSettings

	Authorizers map[string]*Authorizer
	Models      map[string]*Model // by name
}

// Route is a compiled route.
type Route struct {
	ID                string
	Key               string
	AuthorizationType string
	Authorizer        *Authorizer
	APIKeyRequired    bool
	// RequiredParameters are route.request.{header|querystring}.X marked
	// required ($connect only).
	RequiredParameters []string
	// TwoWay: the integration's answer goes back to the client (the route
	// has routeResponseSelectionExpression $default and a $default route
	// response).
	TwoWay         bool
	Integration    *Integration // nil when the route has no target
	ModelSelection *selection.Expr
	RequestModels  map[string]*Model
}

// Integration is a compiled integration.
type Integration struct {
	apigw.Integration
	TemplateSelection *selection.Expr
	Templates         map[string]*vtl.Template // requestTemplates, parsed
	// BodyParams are the requestParameters sources route.request.body.X,
	// parsed once (keyed by the source as written).
	BodyParams map[string]*selection.Expr
	Responses  []*IntegrationResponse // $default last
}

// IntegrationResponse is a compiled integration response.
type IntegrationResponse struct {
	apigw.IntegrationResponse
	Pattern           *selection.Pattern // nil for $default
	TemplateSelection *selection.Expr
	Templates         map[string]*vtl.Template // responseTemplates, parsed
}

// parseTemplates parses a template map; errors name the template and the
// line and column.
func parseTemplates(what string, src map[string]string) (map[string]*vtl.Template, error) {
	if len(src) == 0 {
		return nil, nil
	}
	out := make(map[string]*vtl.Template, len(src))
	for k, v := range src {
		t, err := vtl.Parse(k, v)
		if err != nil {
			return nil, apigw.BadRequest("Invalid mapping template %s[%q]: %v", what, k, err)
		}
		out[k] = t
	}
	return out, nil
}

// Authorizer is a compiled REQUEST authorizer.
type Authorizer struct {
	apigw.Authorizer
}

// Model is an API model with its compiled schema.
type Model struct {
	apigw.Model
	schema *jsonschema.Schema
}

// RequestModel returns the model a message must match on a route, and
// whether the route validates at all. A route with requestModels selects
// the model with its modelSelectionExpression (falling back to $default);
// when nothing matches, validation fails (nil model, true).
func (r *Route) RequestModel(body []byte) (*Model, bool) {
	if len(r.RequestModels) == 0 {
		return nil, false
	}
	key := apigw.RouteDefault
	if r.ModelSelection != nil {
		key = r.ModelSelection.Eval(&selection.Env{Body: body})
	}
	if m, ok := r.RequestModels[key]; ok {
		return m, true
	}
	return r.RequestModels[apigw.RouteDefault], true
}

// Settings returns the effective settings of a route key: the stage's
// defaultRouteSettings overridden member by member by routeSettings[key].
func (s *Stage) Settings(routeKey string) apigw.RouteSettings {
	eff := s.DefaultSettings
	if rs, ok := s.RouteSettings[routeKey]; ok {
		apigw.MergeRouteSettings(&eff, &rs)
	}
	return eff
}

// Select picks the route for a text message: the route whose key equals the
// route selection expression's value, else $default; nil when neither
// exists (the client then gets the Forbidden frame). Messages that are not
// JSON go to $default. ok reports whether a route was found.
func (s *Stage) Select(body []byte) (*Route, bool) {
	if s.RouteSelection != nil {
		var buf [64]byte
		key, isJSON := s.RouteSelection.AppendRouteKey(buf[:0], body)
		if isJSON {
			// routes[string(key)] does not allocate.
			if r, ok := s.Routes[string(key)]; ok && r != s.Connect && r != s.Disconnect {
				return r, true
			}
		}
	}
	return s.Default, s.Default != nil
}

// Compile builds the live form of a stage from its deployment's snapshot.
// Errors are *apigw.Error BadRequestExceptions naming what is wrong.
func Compile(snap *apigw.Snapshot, st *apigw.Stage) (*Stage, error) {
	s := &Stage{
		APIID:           snap.APIID,
		DeploymentID:    snap.DeploymentID,
		APIName:         snap.API.Name,
		APIKeySelection: snap.API.APIKeySelectionExpression,
		Routes:          map[string]*Route{},
		Authorizers:     map[string]*Authorizer{},
		Models:          map[string]*Model{},
	}
	if st != nil {
		s.Name = st.StageName
		s.Variables = st.StageVariables
		s.VariablesJSON = encodeVariables(st.StageVariables)
		if st.DefaultRouteSettings != nil {
			s.DefaultSettings = *st.DefaultRouteSettings
		}
		s.RouteSettings = st.RouteSettings
		s.AccessLog = st.AccessLogSettings
	}
	rse, err := parseExpr("routeSelectionExpression", snap.API.RouteSelectionExpression, selection.RootRequestBody)
	if err != nil {
		return nil, err
	}
	s.RouteSelection = rse

	models, err := compileModels(snap.Models, snap.API.DisableSchemaValidation)
	if err != nil {
		return nil, err
	}
	s.Models = models
	for _, a := range snap.Authorizers {
		s.Authorizers[a.AuthorizerID] = &Authorizer{Authorizer: a}
	}
	integrations := map[string]*Integration{}
	for _, it := range snap.Integrations {
		ci, err := compileIntegration(it, snap.IntegrationResponses[it.IntegrationID])
		if err != nil {
			return nil, err
		}
		integrations[it.IntegrationID] = ci
	}
	for _, r := range snap.Routes {
		cr := &Route{
			ID:                r.RouteID,
			Key:               r.RouteKey,
			AuthorizationType: r.AuthorizationType,
			APIKeyRequired:    r.APIKeyRequired,
		}
		if r.AuthorizerID != "" {
			cr.Authorizer = s.Authorizers[r.AuthorizerID]
			if cr.Authorizer == nil {
				return nil, apigw.BadRequest("Route %s uses authorizer %s, which does not exist", r.RouteKey, r.AuthorizerID)
			}
		}
		for k, pc := range r.RequestParameters {
			if pc.Required {
				cr.RequiredParameters = append(cr.RequiredParameters, k)
			}
		}
		if id := r.TargetIntegration(); id != "" {
			cr.Integration = integrations[id]
			if cr.Integration == nil {
				return nil, apigw.BadRequest("Route %s targets integration %s, which does not exist", r.RouteKey, id)
			}
		}
		if r.RouteResponseSelectionExpression == apigw.RouteDefault {
			for _, rr := range snap.RouteResponses[r.RouteID] {
				if rr.RouteResponseKey == apigw.RouteDefault {
					cr.TwoWay = true
				}
			}
		}
		if r.ModelSelectionExpression != "" {
			if cr.ModelSelection, err = parseExpr("modelSelectionExpression of route "+r.RouteKey, r.ModelSelectionExpression, selection.RootRequestBody); err != nil {
				return nil, err
			}
		}
		if len(r.RequestModels) > 0 {
			cr.RequestModels = map[string]*Model{}
			for k, name := range r.RequestModels {
				m := s.Models[name]
				if m == nil {
					return nil, apigw.BadRequest("Route %s uses model %s, which does not exist", r.RouteKey, name)
				}
				cr.RequestModels[k] = m
			}
		}
		s.Routes[r.RouteKey] = cr
	}
	s.Connect = s.Routes[apigw.RouteConnect]
	s.Disconnect = s.Routes[apigw.RouteDisconnect]
	s.Default = s.Routes[apigw.RouteDefault]
	return s, nil
}

func compileIntegration(it apigw.Integration, responses []apigw.IntegrationResponse) (*Integration, error) {
	ci := &Integration{Integration: it}
	var err error
	if ci.Templates, err = parseTemplates("requestTemplates of integration "+it.IntegrationID, it.RequestTemplates); err != nil {
		return nil, err
	}
	for k, src := range it.RequestParameters {
		path, ok := strings.CutPrefix(src, "route.request.body.")
		if !ok {
			continue
		}
		e, err := selection.Parse("${request.body." + path + "}")
		if err != nil {
			return nil, apigw.BadRequest("Invalid mapping expression specified for %s: %q: %v", k, src, err)
		}
		if ci.BodyParams == nil {
			ci.BodyParams = map[string]*selection.Expr{}
		}
		ci.BodyParams[src] = e
	}
	if it.TemplateSelectionExpression != "" {
		e, err := parseExpr("templateSelectionExpression of integration "+it.IntegrationID, it.TemplateSelectionExpression, selection.RootRequestBody)
		if err != nil {
			return nil, err
		}
		ci.TemplateSelection = e
	}
	var def *IntegrationResponse
	for _, ir := range responses {
		cir := &IntegrationResponse{IntegrationResponse: ir}
		if cir.Templates, err = parseTemplates("responseTemplates of integration response "+ir.IntegrationResponseKey, ir.ResponseTemplates); err != nil {
			return nil, err
		}
		if ir.TemplateSelectionExpression != "" {
			e, err := parseExpr("templateSelectionExpression of integration response "+ir.IntegrationResponseKey, ir.TemplateSelectionExpression,
				selection.RootRequestBody, selection.RootIntegrationStatusCode, selection.RootIntegrationHeader, selection.RootIntegrationMultiValueHeader, selection.RootIntegrationBody)
			if err != nil {
				return nil, err
			}
			cir.TemplateSelection = e
		}
		if ir.IntegrationResponseKey == apigw.RouteDefault {
			def = cir
			continue
		}
		p, err := selection.ParsePattern(ir.IntegrationResponseKey)
		if err != nil {
			return nil, apigw.BadRequest("Invalid integration response key %q: %v", ir.IntegrationResponseKey, err)
		}
		cir.Pattern = p
		ci.Responses = append(ci.Responses, cir)
	}
	if def != nil {
		ci.Responses = append(ci.Responses, def)
	}
	return ci, nil
}

// parseExpr parses a selection expression whose variables must have one of
// the allowed roots.
func parseExpr(member, src string, roots ...string) (*selection.Expr, error) {
	text := src
	if text == apigw.RouteDefault {
		// AWS reads a bare "$default" as the literal fallback key (its
		// routeResponseSelectionExpression must even be written that way).
		text = `\$default`
	}
	e, err := selection.Parse(text)
	if err != nil {
		return nil, apigw.BadRequest("Invalid %s %q: %v", member, src, err)
	}
	for _, v := range e.Vars() {
		ok := false
		for _, r := range roots {
			if v.Root == r {
				ok = true
			}
		}
		if !ok {
			return nil, apigw.BadRequest("Invalid %s %q: $%s is not supported here; use %s", member, src, v.Name, describeRoots(roots))
		}
	}
	return e, nil
}

func describeRoots(roots []string) string {
	out := make([]string, len(roots))
	for i, r := range roots {
		out[i] = "$" + r + ".…"
	}
	return strings.Join(out, ", ") + " or static text"
}

// Validate checks that a snapshot compiles.
func Validate(snap *apigw.Snapshot) error {
	_, err := Compile(snap, nil)
	if err != nil {
		return fmt.Errorf("%w", err)
	}
	return nil
}

// encodeVariables encodes stage variables as a JSON object (keys sorted,
// no HTML escaping), or nil when there are none.
func encodeVariables(vars map[string]string) []byte {
	if len(vars) == 0 {
		return nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(vars); err != nil {
		return nil
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
