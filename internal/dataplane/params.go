package dataplane

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/wsgate/wsgate/internal/selection"
	"github.com/wsgate/wsgate/internal/snapshot"
)

// mapRequestParameters applies an integration's requestParameters:
// integration.request.{header|querystring|path}.NAME set from route request
// headers and query ($connect), the message body (JSONPath), $context,
// stage variables or 'static' values. Headers go into h; query and path
// parameters (for {NAME} in the integration URI) are returned.
func (p *Plane) mapRequestParameters(in *snapshot.Integration, c *conn, st *snapshot.Stage, body []byte, r *http.Request, h http.Header) (url.Values, map[string]string, error) {
	var q url.Values
	var path map[string]string
	for k, src := range in.RequestParameters {
		v, err := p.paramValue(in, src, c, st, body, r)
		if err != nil {
			return nil, nil, fmt.Errorf("request parameter %s: %w", k, err)
		}
		switch {
		case strings.HasPrefix(k, "integration.request.header."):
			h.Set(strings.TrimPrefix(k, "integration.request.header."), v)
		case strings.HasPrefix(k, "integration.request.querystring."):
			if q == nil {
				q = url.Values{}
			}
			q.Set(strings.TrimPrefix(k, "integration.request.querystring."), v)
		case strings.HasPrefix(k, "integration.request.path."):
			if path == nil {
				path = map[string]string{}
			}
			path[strings.TrimPrefix(k, "integration.request.path.")] = url.PathEscape(v)
		}
	}
	return q, path, nil
}

func (p *Plane) paramValue(in *snapshot.Integration, src string, c *conn, st *snapshot.Stage, body []byte, r *http.Request) (string, error) {
	switch {
	case len(src) >= 2 && src[0] == '\'' && src[len(src)-1] == '\'':
		return src[1 : len(src)-1], nil
	case strings.HasPrefix(src, "stageVariables."):
		return st.Variables[strings.TrimPrefix(src, "stageVariables.")], nil
	case strings.HasPrefix(src, "context."):
		return contextValue(c, strings.TrimPrefix(src, "context.")), nil
	case in.BodyParams[src] != nil:
		return in.BodyParams[src].Eval(&selection.Env{Body: body}), nil
	case r != nil && strings.HasPrefix(src, "route.request.header."):
		return r.Header.Get(strings.TrimPrefix(src, "route.request.header.")), nil
	case r != nil && strings.HasPrefix(src, "route.request.querystring."):
		return r.URL.Query().Get(strings.TrimPrefix(src, "route.request.querystring.")), nil
	case r != nil && strings.HasPrefix(src, "route.request.multivalueheader."):
		return strings.Join(r.Header.Values(strings.TrimPrefix(src, "route.request.multivalueheader.")), ","), nil
	case r != nil && strings.HasPrefix(src, "route.request.multivaluequerystring."):
		return strings.Join(r.URL.Query()[strings.TrimPrefix(src, "route.request.multivaluequerystring.")], ","), nil
	}
	return "", nil
}
