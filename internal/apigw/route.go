package apigw

import (
	"slices"
	"strings"
)

// Route returns the route with id, or a NotFoundException.
func (d *Document) Route(id string) (*Route, *Error) {
	r, ok := d.Routes[id]
	if !ok {
		return nil, notFoundID(ResourceRoute, id)
	}
	return r, nil
}

// RouteByKey returns the route with the given key, or nil.
func (d *Document) RouteByKey(key string) *Route {
	for _, r := range d.Routes {
		if r.RouteKey == key {
			return r
		}
	}
	return nil
}

// ListRoutes returns the routes ordered by id.
func (d *Document) ListRoutes() []*Route { return sortedValues(d.Routes) }

// CreateRoute validates and adds a route.
func (d *Document) CreateRoute(env *Env, in *RouteInput) (*Route, *Error) {
	if in.RouteKey == nil || *in.RouteKey == "" {
		return nil, BadRequest("Missing required member: routeKey")
	}
	if len(d.Routes) >= env.Limits.Routes {
		return nil, BadRequest("Maximum number of routes (%d) reached for this API", env.Limits.Routes)
	}
	r := &Route{AuthorizationType: AuthNone}
	if err := d.applyRoute(r, in); err != nil {
		return nil, err
	}
	ensure(&d.Routes)
	r.RouteID = uniqueID(resourceIDLen, func(id string) bool { _, ok := d.Routes[id]; return ok })
	d.Routes[r.RouteID] = r
	return r, nil
}

// UpdateRoute applies an UpdateRoute input.
func (d *Document) UpdateRoute(id string, in *RouteInput) (*Route, *Error) {
	r, err := d.Route(id)
	if err != nil {
		return nil, err
	}
	c := *r
	if err := d.applyRoute(&c, in); err != nil {
		return nil, err
	}
	*r = c
	return r, nil
}

// DeleteRoute removes a route and its route responses.
func (d *Document) DeleteRoute(id string) *Error {
	if _, err := d.Route(id); err != nil {
		return err
	}
	delete(d.Routes, id)
	delete(d.RouteResponses, id)
	return nil
}

// DeleteRouteRequestParameter removes one request parameter of a route.
func (d *Document) DeleteRouteRequestParameter(id, key string) *Error {
	r, err := d.Route(id)
	if err != nil {
		return err
	}
	if _, ok := r.RequestParameters[key]; !ok {
		return NotFound(ResourceRoute, "Invalid request parameter key specified %s", key)
	}
	delete(r.RequestParameters, key)
	if len(r.RequestParameters) == 0 {
		r.RequestParameters = nil
	}
	return nil
}

func (d *Document) applyRoute(r *Route, in *RouteInput) *Error {
	if in.RouteKey != nil {
		key := *in.RouteKey
		if err := checkLen("routeKey", key, 1, 128); err != nil {
			return err
		}
		if other := d.RouteByKey(key); other != nil && other.RouteID != r.RouteID {
			return Conflict("Route with key %s already exists for this API", key)
		}
		r.RouteKey = key
	}
	if len(in.AuthorizationScopes) > 0 {
		return BadRequest("authorizationScopes are supported only for JWT authorizers of HTTP APIs")
	}
	if in.AuthorizationType != nil {
		t := *in.AuthorizationType
		if t == "" {
			t = AuthNone
		}
		if err := checkEnum("authorizationType", t, AuthNone, AuthIAM, AuthCustom, AuthJWT); err != nil {
			return err
		}
		if t == AuthJWT {
			return BadRequest("Authorization type JWT is supported only for HTTP APIs")
		}
		r.AuthorizationType = t
		if t != AuthCustom {
			r.AuthorizerID = ""
		}
	}
	if in.AuthorizerID != nil {
		r.AuthorizerID = *in.AuthorizerID
	}
	if in.APIKeyRequired != nil {
		r.APIKeyRequired = *in.APIKeyRequired
	}
	if r.AuthorizationType != AuthNone && r.RouteKey != RouteConnect {
		return BadRequest("Currently, authorization is restricted to the $connect route only")
	}
	if r.AuthorizationType == AuthCustom {
		if r.AuthorizerID == "" {
			return BadRequest("An authorizerId is required when authorizationType is CUSTOM")
		}
		if _, ok := d.Authorizers[r.AuthorizerID]; !ok {
			return notFoundID(ResourceAuthorizer, r.AuthorizerID)
		}
	} else if r.AuthorizerID != "" {
		return BadRequest("authorizerId can be set only when authorizationType is CUSTOM")
	}
	if in.OperationName != nil {
		if *in.OperationName != "" {
			if err := checkLen("operationName", *in.OperationName, 1, 64); err != nil {
				return err
			}
		}
		r.OperationName = *in.OperationName
	}
	if in.ModelSelectionExpression != nil {
		r.ModelSelectionExpression = *in.ModelSelectionExpression
	}
	if in.RequestModels != nil {
		for k, name := range in.RequestModels {
			if k == "" {
				return BadRequest("requestModels keys must not be empty")
			}
			if d.ModelByName(name) == nil {
				return BadRequest("Invalid model specified in requestModels: %q does not exist in this API", name)
			}
		}
		r.RequestModels = in.RequestModels
		if len(r.RequestModels) == 0 {
			r.RequestModels = nil
		}
	}
	if in.RequestParameters != nil {
		for k := range in.RequestParameters {
			if !routeParamRE.MatchString(k) {
				return BadRequest("Invalid request parameter %q: use route.request.header.{name} or route.request.querystring.{name}", k)
			}
		}
		if len(in.RequestParameters) > 0 && r.RouteKey != RouteConnect {
			return BadRequest("Request parameters are supported only on the $connect route")
		}
		if r.RequestParameters == nil {
			r.RequestParameters = map[string]ParameterConstraints{}
		}
		for k, v := range in.RequestParameters {
			r.RequestParameters[k] = v
		}
		if len(r.RequestParameters) == 0 {
			r.RequestParameters = nil
		}
	}
	if in.RouteResponseSelectionExpression != nil {
		v := *in.RouteResponseSelectionExpression
		if v != "" && v != RouteDefault {
			return BadRequest("Invalid RouteResponseSelectionExpression %q: only $default is supported for WebSocket APIs", v)
		}
		r.RouteResponseSelectionExpression = v
	}
	if in.Target != nil {
		t := *in.Target
		if t != "" {
			id, ok := strings.CutPrefix(t, "integrations/")
			if !ok || id == "" {
				return BadRequest("Invalid target %q: the target must look like integrations/{integrationId}", t)
			}
			if _, ok := d.Integrations[id]; !ok {
				return BadRequest("Invalid target %q: integration %s does not exist in this API", t, id)
			}
		}
		r.Target = t
	}
	return nil
}

// TargetIntegration returns the integration id of a route's target, or "".
func (r *Route) TargetIntegration() string {
	id, _ := strings.CutPrefix(r.Target, "integrations/")
	return id
}

// RouteResponse returns a route response, or a NotFoundException.
func (d *Document) RouteResponse(routeID, id string) (*RouteResponse, *Error) {
	if _, err := d.Route(routeID); err != nil {
		return nil, err
	}
	rr, ok := d.RouteResponses[routeID][id]
	if !ok {
		return nil, notFoundID(ResourceRouteResponse, id)
	}
	return rr, nil
}

// ListRouteResponses returns a route's responses ordered by id.
func (d *Document) ListRouteResponses(routeID string) ([]*RouteResponse, *Error) {
	if _, err := d.Route(routeID); err != nil {
		return nil, err
	}
	return sortedValues(d.RouteResponses[routeID]), nil
}

// CreateRouteResponse adds a route response (only key $default exists for
// WebSocket APIs).
func (d *Document) CreateRouteResponse(routeID string, in *RouteResponseInput) (*RouteResponse, *Error) {
	if _, err := d.Route(routeID); err != nil {
		return nil, err
	}
	if in.RouteResponseKey == nil || *in.RouteResponseKey == "" {
		return nil, BadRequest("Missing required member: routeResponseKey")
	}
	rr := &RouteResponse{}
	if err := d.applyRouteResponse(routeID, rr, in); err != nil {
		return nil, err
	}
	if d.RouteResponses == nil {
		d.RouteResponses = map[string]map[string]*RouteResponse{}
	}
	m := d.RouteResponses[routeID]
	if m == nil {
		m = map[string]*RouteResponse{}
		d.RouteResponses[routeID] = m
	}
	rr.RouteResponseID = uniqueID(resourceIDLen, func(id string) bool { _, ok := m[id]; return ok })
	m[rr.RouteResponseID] = rr
	return rr, nil
}

// UpdateRouteResponse applies an UpdateRouteResponse input.
func (d *Document) UpdateRouteResponse(routeID, id string, in *RouteResponseInput) (*RouteResponse, *Error) {
	rr, err := d.RouteResponse(routeID, id)
	if err != nil {
		return nil, err
	}
	c := *rr
	if err := d.applyRouteResponse(routeID, &c, in); err != nil {
		return nil, err
	}
	*rr = c
	return rr, nil
}

// DeleteRouteResponse removes a route response.
func (d *Document) DeleteRouteResponse(routeID, id string) *Error {
	if _, err := d.RouteResponse(routeID, id); err != nil {
		return err
	}
	delete(d.RouteResponses[routeID], id)
	if len(d.RouteResponses[routeID]) == 0 {
		delete(d.RouteResponses, routeID)
	}
	return nil
}

func (d *Document) applyRouteResponse(routeID string, rr *RouteResponse, in *RouteResponseInput) *Error {
	if in.RouteResponseKey != nil {
		k := *in.RouteResponseKey
		if k != RouteDefault {
			return BadRequest("Invalid RouteResponseKey %q: only $default is supported for WebSocket APIs", k)
		}
		for _, other := range d.RouteResponses[routeID] {
			if other.RouteResponseKey == k && other.RouteResponseID != rr.RouteResponseID {
				return Conflict("RouteResponse with key %s already exists for this Route", k)
			}
		}
		rr.RouteResponseKey = k
	}
	if in.ModelSelectionExpression != nil {
		rr.ModelSelectionExpression = *in.ModelSelectionExpression
	}
	if in.ResponseModels != nil {
		rr.ResponseModels = in.ResponseModels
	}
	if in.ResponseParameters != nil {
		rr.ResponseParameters = in.ResponseParameters
	}
	return nil
}

// routesUsing returns the keys of routes whose target is the integration.
func (d *Document) routesUsing(integrationID string) []string {
	var keys []string
	for _, r := range d.Routes {
		if r.TargetIntegration() == integrationID {
			keys = append(keys, r.RouteKey)
		}
	}
	slices.Sort(keys)
	return keys
}
