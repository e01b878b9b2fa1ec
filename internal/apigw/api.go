package apigw

import "strings"

// CreateAPI validates a CreateApi input and returns a new Document for it.
func CreateAPI(env *Env, id string, in *APIInput) (*Document, *Error) {
	if in.Name == nil {
		return nil, BadRequest("Missing required member: name")
	}
	if in.ProtocolType == nil {
		return nil, BadRequest("Missing required member: protocolType")
	}
	switch *in.ProtocolType {
	case ProtocolWebSocket:
	case ProtocolHTTP:
		return nil, BadRequest("protocolType HTTP is not supported by wsgate: only WEBSOCKET APIs can be created")
	default:
		return nil, BadRequest("Invalid protocol specified. Must be one of [HTTP, WEBSOCKET]")
	}
	if in.RouteSelectionExpression == nil || *in.RouteSelectionExpression == "" {
		return nil, BadRequest("RouteSelectionExpression is required for WEBSOCKET APIs")
	}
	d := &Document{API: Api{
		APIID:                     id,
		APIKeySelectionExpression: DefaultAPIKeySelectionExpression,
		CreatedDate:               env.now(),
		IPAddressType:             "ipv4",
		ProtocolType:              ProtocolWebSocket,
	}}
	if in.Tags != nil {
		if err := checkTags(in.Tags); err != nil {
			return nil, err
		}
		d.API.Tags = in.Tags
	}
	if err := d.applyAPI(in); err != nil {
		return nil, err
	}
	return d, nil
}

// UpdateAPI applies an UpdateApi input.
func (d *Document) UpdateAPI(in *APIInput) *Error {
	c := d.API
	if err := d.applyAPI(in); err != nil {
		d.API = c
		return err
	}
	return nil
}

func (d *Document) applyAPI(in *APIInput) *Error {
	a := &d.API
	switch {
	case in.CorsConfiguration != nil:
		return BadRequest("corsConfiguration is supported only for HTTP APIs")
	case in.CredentialsArn != nil:
		return BadRequest("credentialsArn (quick create) is supported only for HTTP APIs")
	case in.RouteKey != nil:
		return BadRequest("routeKey (quick create) is supported only for HTTP APIs")
	case in.Target != nil:
		return BadRequest("target (quick create) is supported only for HTTP APIs")
	}
	if in.Name != nil {
		if err := checkLen("name", *in.Name, 1, 128); err != nil {
			return err
		}
		a.Name = *in.Name
	}
	if in.Description != nil {
		if err := checkLen("description", *in.Description, 0, 1024); err != nil {
			return err
		}
		a.Description = *in.Description
	}
	if in.Version != nil {
		if *in.Version != "" {
			if err := checkLen("version", *in.Version, 1, 64); err != nil {
				return err
			}
		}
		a.Version = *in.Version
	}
	if in.RouteSelectionExpression != nil {
		if strings.TrimSpace(*in.RouteSelectionExpression) == "" {
			return BadRequest("RouteSelectionExpression is required for WEBSOCKET APIs")
		}
		a.RouteSelectionExpression = *in.RouteSelectionExpression
	}
	if in.APIKeySelectionExpression != nil {
		v := *in.APIKeySelectionExpression
		if v == "" {
			v = DefaultAPIKeySelectionExpression
		}
		if v != DefaultAPIKeySelectionExpression && v != AuthorizerAPIKeySelection {
			return BadRequest("Invalid API Key Selection Expression: %q. Supported values are %s and %s", v, DefaultAPIKeySelectionExpression, AuthorizerAPIKeySelection)
		}
		a.APIKeySelectionExpression = v
	}
	if in.DisableSchemaValidation != nil {
		a.DisableSchemaValidation = *in.DisableSchemaValidation
	}
	if in.DisableExecuteAPIEndpoint != nil {
		a.DisableExecuteAPIEndpoint = *in.DisableExecuteAPIEndpoint
	}
	if in.IPAddressType != nil {
		if err := checkEnum("ipAddressType", *in.IPAddressType, "ipv4", "dualstack"); err != nil {
			return err
		}
		a.IPAddressType = *in.IPAddressType
	}
	return nil
}
