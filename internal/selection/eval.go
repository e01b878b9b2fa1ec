package selection

// Env supplies variable values to Eval.
type Env struct {
	// Body is the message (or request) body, read for $request.body, and for
	// $integration.response.body when ResponseBody is nil.
	Body []byte
	// ResponseBody is the integration's response body, read for
	// $integration.response.body.
	ResponseBody []byte
	// Lookup resolves every other variable; root and path are a Var's Root
	// and Path and must not be modified. A nil Lookup, or ok == false,
	// evaluates to the empty string.
	Lookup func(root string, path []string) (value string, ok bool)
}

// Eval evaluates the expression. Missing values, and body variables over a
// body that is not JSON, evaluate to the empty string. A nil env leaves
// every variable empty.
func (e *Expr) Eval(env *Env) string {
	if e.static {
		return e.bare
	}
	var buf [128]byte
	return string(e.AppendEval(buf[:0], env))
}

// AppendEval appends the value of the expression to dst, as Eval computes it.
func (e *Expr) AppendEval(dst []byte, env *Env) []byte {
	for _, p := range e.parts {
		if p.v < 0 {
			dst = append(dst, p.lit...)
			continue
		}
		if env == nil {
			continue
		}
		v := &e.vars[p.v]
		switch v.kind {
		case kindRequestBody:
			dst = appendBody(dst, env.Body, v)
		case kindResponseBody:
			body := env.ResponseBody
			if body == nil {
				body = env.Body
			}
			dst = appendBody(dst, body, v)
		default:
			if env.Lookup != nil {
				if s, ok := env.Lookup(v.Root, v.Path); ok {
					dst = append(dst, s...)
				}
			}
		}
	}
	return dst
}

func appendBody(dst, body []byte, v *Var) []byte {
	if s, ok := lookup(body, v); ok && s.start >= 0 {
		dst = appendText(dst, body[s.start:s.end])
	}
	return dst
}

// SelectRoute evaluates the expression as an Api's route selection
// expression against a text message, returning the route key to look up and
// whether the message is JSON; AWS sends messages that are not JSON to the
// $default route.
//
// For an expression with body variables, isJSON follows the lazy reading the
// package doc describes; a missing path gives "" with isJSON true. For an
// expression without body variables (a static key), isJSON only reports
// whether the message starts like JSON: its first non-whitespace byte opens
// an object or array, or the whole message is one JSON scalar; an object or
// array is not scanned at all. When isJSON is false, key is the expression
// evaluated with every variable empty. Variables other than body variables
// are always empty here.
//
// The returned key is freshly allocated unless it is empty or static; use
// AppendRouteKey to select without allocating.
func (e *Expr) SelectRoute(body []byte) (key string, isJSON bool) {
	if !e.body {
		return e.bare, startsLikeJSON(body)
	}
	var buf [128]byte
	k, ok := e.AppendRouteKey(buf[:0], body)
	return string(k), ok
}

// AppendRouteKey is SelectRoute appending the key to dst. It does not
// allocate beyond growing dst, so `routes[string(key)]` on its result
// selects a route without allocating.
func (e *Expr) AppendRouteKey(dst, body []byte) (key []byte, isJSON bool) {
	if !e.body {
		return append(dst, e.bare...), startsLikeJSON(body)
	}
	n := len(dst)
	for _, p := range e.parts {
		if p.v < 0 {
			dst = append(dst, p.lit...)
			continue
		}
		v := &e.vars[p.v]
		if v.kind == kindLookup {
			continue
		}
		s, ok := lookup(body, v)
		if !ok {
			return append(dst[:n], e.bare...), false
		}
		if s.start >= 0 {
			dst = appendText(dst, body[s.start:s.end])
		}
	}
	return dst, true
}
