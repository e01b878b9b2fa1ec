package apigw

// Authorizer returns the authorizer with id, or a NotFoundException.
func (d *Document) Authorizer(id string) (*Authorizer, *Error) {
	a, ok := d.Authorizers[id]
	if !ok {
		return nil, notFoundID(ResourceAuthorizer, id)
	}
	return a, nil
}

// ListAuthorizers returns the authorizers ordered by id.
func (d *Document) ListAuthorizers() []*Authorizer { return sortedValues(d.Authorizers) }

// CreateAuthorizer validates and adds a REQUEST authorizer.
func (d *Document) CreateAuthorizer(env *Env, in *AuthorizerInput) (*Authorizer, *Error) {
	switch {
	case in.AuthorizerType == nil || *in.AuthorizerType == "":
		return nil, BadRequest("Missing required member: authorizerType")
	case in.IdentitySource == nil:
		return nil, BadRequest("Missing required member: identitySource")
	case in.Name == nil || *in.Name == "":
		return nil, BadRequest("Missing required member: name")
	}
	if len(d.Authorizers) >= env.Limits.Authorizers {
		return nil, BadRequest("Maximum number of authorizers (%d) reached for this API", env.Limits.Authorizers)
	}
	a := &Authorizer{}
	if err := d.applyAuthorizer(a, in); err != nil {
		return nil, err
	}
	ensure(&d.Authorizers)
	a.AuthorizerID = uniqueID(resourceIDLen, func(id string) bool { _, ok := d.Authorizers[id]; return ok })
	d.Authorizers[a.AuthorizerID] = a
	return a, nil
}

// UpdateAuthorizer applies an UpdateAuthorizer input.
func (d *Document) UpdateAuthorizer(id string, in *AuthorizerInput) (*Authorizer, *Error) {
	a, err := d.Authorizer(id)
	if err != nil {
		return nil, err
	}
	c := *a
	if err := d.applyAuthorizer(&c, in); err != nil {
		return nil, err
	}
	*a = c
	return a, nil
}

// DeleteAuthorizer removes an authorizer no route uses.
func (d *Document) DeleteAuthorizer(id string) *Error {
	if _, err := d.Authorizer(id); err != nil {
		return err
	}
	for _, r := range d.Routes {
		if r.AuthorizerID == id {
			return Conflict("Authorizer %s is used by route %s; change the route's authorization first", id, r.RouteKey)
		}
	}
	delete(d.Authorizers, id)
	return nil
}

func (d *Document) applyAuthorizer(a *Authorizer, in *AuthorizerInput) *Error {
	switch {
	case in.JWTConfiguration != nil:
		return BadRequest("jwtConfiguration is supported only for HTTP APIs")
	case in.EnableSimpleResponses != nil && *in.EnableSimpleResponses:
		return BadRequest("enableSimpleResponses is supported only for HTTP APIs")
	case in.AuthorizerPayloadFormatVersion != nil && *in.AuthorizerPayloadFormatVersion != "":
		return BadRequest("authorizerPayloadFormatVersion is supported only for HTTP APIs")
	}
	if in.AuthorizerType != nil {
		t := *in.AuthorizerType
		if err := checkEnum("authorizerType", t, AuthRequest, AuthJWT); err != nil {
			return err
		}
		if t == AuthJWT {
			return BadRequest("JWT authorizers are supported only for HTTP APIs; WebSocket APIs use REQUEST authorizers")
		}
		a.AuthorizerType = t
	}
	if in.Name != nil {
		if err := checkLen("name", *in.Name, 1, 128); err != nil {
			return err
		}
		for _, o := range d.Authorizers {
			if o.Name == *in.Name && o.AuthorizerID != a.AuthorizerID {
				return Conflict("Authorizer with name %s already exists for this API", *in.Name)
			}
		}
		a.Name = *in.Name
	}
	if in.IdentitySource != nil {
		for _, s := range in.IdentitySource {
			if !identitySourceRE.MatchString(s) {
				return BadRequest("Invalid identity source %q: use route.request.header.{name}, route.request.querystring.{name}, stageVariables.{name} or context.{name}", s)
			}
		}
		a.IdentitySource = append([]string{}, in.IdentitySource...)
	}
	if a.IdentitySource == nil {
		a.IdentitySource = []string{}
	}
	if in.AuthorizerURI != nil {
		if err := checkLen("authorizerUri", *in.AuthorizerURI, 0, 2048); err != nil {
			return err
		}
		a.AuthorizerURI = *in.AuthorizerURI
	}
	if a.AuthorizerURI == "" {
		return BadRequest("authorizerUri is required for REQUEST authorizers")
	}
	if in.AuthorizerCredentialsArn != nil {
		a.AuthorizerCredentialsArn = *in.AuthorizerCredentialsArn
	}
	if in.AuthorizerResultTTLInSeconds != nil {
		v := *in.AuthorizerResultTTLInSeconds
		if v < 0 || v > 3600 {
			return BadRequest("authorizerResultTtlInSeconds must be between 0 and 3600")
		}
		a.AuthorizerResultTTLInSeconds = &v
	}
	if in.IdentityValidationExpression != nil {
		a.IdentityValidationExpression = *in.IdentityValidationExpression
	}
	return nil
}
