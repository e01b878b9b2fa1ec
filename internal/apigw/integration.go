package apigw

import (
	"net/url"
	"strings"
)

// Integration returns the integration with id, or a NotFoundException.
func (d *Document) Integration(id string) (*Integration, *Error) {
	in, ok := d.Integrations[id]
	if !ok {
		return nil, notFoundID(ResourceIntegration, id)
	}
	return in, nil
}

// ListIntegrations returns the integrations ordered by id.
func (d *Document) ListIntegrations() []*Integration { return sortedValues(d.Integrations) }

// CreateIntegration validates and adds an integration, filling in AWS's
// server-side defaults.
func (d *Document) CreateIntegration(env *Env, in *IntegrationInput) (*Integration, *Error) {
	if in.IntegrationType == nil || *in.IntegrationType == "" {
		return nil, BadRequest("Missing required member: integrationType")
	}
	if len(d.Integrations) >= env.Limits.Integrations {
		return nil, BadRequest("Maximum number of integrations (%d) reached for this API", env.Limits.Integrations)
	}
	it := &Integration{
		ConnectionType:      ConnectionInternet,
		PassthroughBehavior: PassthroughWhenNoMatch,
		TimeoutInMillis:     DefaultTimeoutMillis,
	}
	if err := applyIntegration(it, in); err != nil {
		return nil, err
	}
	ensure(&d.Integrations)
	it.IntegrationID = uniqueID(resourceIDLen, func(id string) bool { _, ok := d.Integrations[id]; return ok })
	d.Integrations[it.IntegrationID] = it
	return it, nil
}

// UpdateIntegration applies an UpdateIntegration input: requestParameters
// merge (an empty value deletes a key, as Terraform expects), requestTemplates
// are replaced as a whole, other members replace their value.
func (d *Document) UpdateIntegration(id string, in *IntegrationInput) (*Integration, *Error) {
	it, err := d.Integration(id)
	if err != nil {
		return nil, err
	}
	c := *it
	c.RequestParameters = cloneMap(it.RequestParameters)
	if err := applyIntegration(&c, in); err != nil {
		return nil, err
	}
	*it = c
	return it, nil
}

// DeleteIntegration removes an integration and its integration responses.
// An integration still targeted by a route cannot be deleted.
func (d *Document) DeleteIntegration(id string) *Error {
	if _, err := d.Integration(id); err != nil {
		return err
	}
	if keys := d.routesUsing(id); len(keys) > 0 {
		return Conflict("Integration %s is the target of route(s) %s; change or delete those routes first", id, quoteList(keys))
	}
	delete(d.Integrations, id)
	delete(d.IntegrationResponses, id)
	return nil
}

func applyIntegration(it *Integration, in *IntegrationInput) *Error {
	switch {
	case in.IntegrationSubtype != nil && *in.IntegrationSubtype != "":
		return BadRequest("integrationSubtype is supported only for HTTP APIs")
	case len(in.ResponseParameters) > 0:
		return BadRequest("responseParameters on integrations are supported only for HTTP APIs")
	case in.TLSConfig != nil && in.TLSConfig.ServerNameToVerify != "":
		return BadRequest("tlsConfig is supported only for HTTP APIs")
	}
	if in.IntegrationType != nil {
		t := *in.IntegrationType
		if err := checkEnum("integrationType", t, IntegrationAWS, IntegrationHTTP, IntegrationMock, IntegrationHTTPProxy, IntegrationAWSProxy); err != nil {
			return err
		}
		it.IntegrationType = t
	}
	if in.ConnectionType != nil {
		v := *in.ConnectionType
		if v == "" {
			v = ConnectionInternet
		}
		if err := checkEnum("connectionType", v, ConnectionInternet, ConnectionVPCLink); err != nil {
			return err
		}
		if v == ConnectionVPCLink {
			return BadRequest("connectionType VPC_LINK is not supported by wsgate: integrations reach their backends directly")
		}
		it.ConnectionType = v
	}
	if in.ConnectionID != nil {
		it.ConnectionID = *in.ConnectionID
	}
	if in.ContentHandlingStrategy != nil {
		v := *in.ContentHandlingStrategy
		if v != "" {
			if err := checkEnum("contentHandlingStrategy", v, ConvertToBinary, ConvertToText); err != nil {
				return err
			}
		}
		it.ContentHandlingStrategy = v
	}
	if in.CredentialsArn != nil {
		it.CredentialsArn = *in.CredentialsArn
	}
	if in.Description != nil {
		if err := checkLen("description", *in.Description, 0, 1024); err != nil {
			return err
		}
		it.Description = *in.Description
	}
	if in.IntegrationMethod != nil {
		if *in.IntegrationMethod != "" {
			if err := checkLen("integrationMethod", *in.IntegrationMethod, 1, 64); err != nil {
				return err
			}
		}
		it.IntegrationMethod = strings.ToUpper(*in.IntegrationMethod)
	}
	if in.IntegrationURI != nil {
		if err := checkLen("integrationUri", *in.IntegrationURI, 0, 2048); err != nil {
			return err
		}
		it.IntegrationURI = *in.IntegrationURI
	}
	if in.PassthroughBehavior != nil {
		v := *in.PassthroughBehavior
		if v == "" {
			v = PassthroughWhenNoMatch
		}
		if err := checkEnum("passthroughBehavior", v, PassthroughWhenNoMatch, PassthroughNever, PassthroughWhenNoTemplates); err != nil {
			return err
		}
		it.PassthroughBehavior = v
	}
	if in.PayloadFormatVersion != nil {
		v := *in.PayloadFormatVersion
		// WebSocket events always have the 1.0 shape; "2.0" is accepted and
		// echoed because the common Terraform/boto3 recipes send it.
		if v != "" {
			if err := checkEnum("payloadFormatVersion", v, "1.0", "2.0"); err != nil {
				return err
			}
		}
		it.PayloadFormatVersion = v
	}
	if in.RequestParameters != nil {
		if err := checkIntegrationRequestParameters(in.RequestParameters); err != nil {
			return err
		}
		if it.RequestParameters == nil {
			it.RequestParameters = map[string]string{}
		}
		for k, v := range in.RequestParameters {
			if v == nil || *v == "" {
				delete(it.RequestParameters, k)
			} else {
				it.RequestParameters[k] = *v
			}
		}
		if len(it.RequestParameters) == 0 {
			it.RequestParameters = nil
		}
	}
	if in.RequestTemplates != nil {
		if err := checkTemplates("requestTemplates", in.RequestTemplates); err != nil {
			return err
		}
		it.RequestTemplates = in.RequestTemplates
		if len(it.RequestTemplates) == 0 {
			it.RequestTemplates = nil
		}
	}
	if in.TemplateSelectionExpression != nil {
		it.TemplateSelectionExpression = *in.TemplateSelectionExpression
	}
	if in.TimeoutInMillis != nil {
		v := *in.TimeoutInMillis
		if v < 50 || v > DefaultTimeoutMillis {
			return BadRequest("Invalid timeoutInMillis %d: WebSocket integrations allow 50 to 29000 milliseconds", v)
		}
		it.TimeoutInMillis = v
	}

	// Checks and defaults that depend on the final type.
	switch it.IntegrationType {
	case IntegrationAWS, IntegrationAWSProxy:
		if it.IntegrationURI == "" {
			return BadRequest("integrationUri is required for %s integrations", it.IntegrationType)
		}
		if it.IntegrationMethod == "" {
			it.IntegrationMethod = "POST"
		}
	case IntegrationHTTP, IntegrationHTTPProxy:
		if it.IntegrationURI == "" {
			return BadRequest("integrationUri is required for %s integrations", it.IntegrationType)
		}
		if !strings.Contains(it.IntegrationURI, "${stageVariables.") {
			u, err := url.Parse(it.IntegrationURI)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return BadRequest("Invalid integrationUri %q: HTTP integrations need an absolute http or https URL", it.IntegrationURI)
			}
		}
		if it.IntegrationMethod == "" {
			return BadRequest("integrationMethod is required for %s integrations", it.IntegrationType)
		}
	case IntegrationMock:
	}
	if it.PayloadFormatVersion == "" {
		it.PayloadFormatVersion = DefaultPayloadFormatVersion
	}
	switch it.IntegrationType {
	case IntegrationAWS:
		it.IntegrationResponseSelectionExpression = "${integration.response.body.errorMessage}"
	case IntegrationHTTP, IntegrationMock:
		it.IntegrationResponseSelectionExpression = "${integration.response.statuscode}"
	default:
		it.IntegrationResponseSelectionExpression = ""
	}
	return nil
}

// IntegrationResponse returns an integration response, or a NotFoundException.
func (d *Document) IntegrationResponse(integrationID, id string) (*IntegrationResponse, *Error) {
	if _, err := d.Integration(integrationID); err != nil {
		return nil, err
	}
	ir, ok := d.IntegrationResponses[integrationID][id]
	if !ok {
		return nil, notFoundID(ResourceIntegrationResponse, id)
	}
	return ir, nil
}

// ListIntegrationResponses returns an integration's responses ordered by id.
func (d *Document) ListIntegrationResponses(integrationID string) ([]*IntegrationResponse, *Error) {
	if _, err := d.Integration(integrationID); err != nil {
		return nil, err
	}
	return sortedValues(d.IntegrationResponses[integrationID]), nil
}

// CreateIntegrationResponse adds an integration response.
func (d *Document) CreateIntegrationResponse(integrationID string, in *IntegrationResponseInput) (*IntegrationResponse, *Error) {
	if _, err := d.Integration(integrationID); err != nil {
		return nil, err
	}
	if in.IntegrationResponseKey == nil || *in.IntegrationResponseKey == "" {
		return nil, BadRequest("Missing required member: integrationResponseKey")
	}
	ir := &IntegrationResponse{}
	if err := d.applyIntegrationResponse(integrationID, ir, in); err != nil {
		return nil, err
	}
	if d.IntegrationResponses == nil {
		d.IntegrationResponses = map[string]map[string]*IntegrationResponse{}
	}
	m := d.IntegrationResponses[integrationID]
	if m == nil {
		m = map[string]*IntegrationResponse{}
		d.IntegrationResponses[integrationID] = m
	}
	ir.IntegrationResponseID = uniqueID(resourceIDLen, func(id string) bool { _, ok := m[id]; return ok })
	m[ir.IntegrationResponseID] = ir
	return ir, nil
}

// UpdateIntegrationResponse applies an UpdateIntegrationResponse input.
func (d *Document) UpdateIntegrationResponse(integrationID, id string, in *IntegrationResponseInput) (*IntegrationResponse, *Error) {
	ir, err := d.IntegrationResponse(integrationID, id)
	if err != nil {
		return nil, err
	}
	c := *ir
	c.ResponseParameters = cloneMap(ir.ResponseParameters)
	if err := d.applyIntegrationResponse(integrationID, &c, in); err != nil {
		return nil, err
	}
	*ir = c
	return ir, nil
}

// DeleteIntegrationResponse removes an integration response.
func (d *Document) DeleteIntegrationResponse(integrationID, id string) *Error {
	if _, err := d.IntegrationResponse(integrationID, id); err != nil {
		return err
	}
	delete(d.IntegrationResponses[integrationID], id)
	if len(d.IntegrationResponses[integrationID]) == 0 {
		delete(d.IntegrationResponses, integrationID)
	}
	return nil
}

func (d *Document) applyIntegrationResponse(integrationID string, ir *IntegrationResponse, in *IntegrationResponseInput) *Error {
	if in.IntegrationResponseKey != nil {
		k := *in.IntegrationResponseKey
		if err := checkIntegrationResponseKey(k); err != nil {
			return err
		}
		for _, other := range d.IntegrationResponses[integrationID] {
			if other.IntegrationResponseKey == k && other.IntegrationResponseID != ir.IntegrationResponseID {
				return Conflict("IntegrationResponse with key %s already exists for this Integration", k)
			}
		}
		ir.IntegrationResponseKey = k
	}
	if in.ContentHandlingStrategy != nil {
		v := *in.ContentHandlingStrategy
		if v != "" {
			if err := checkEnum("contentHandlingStrategy", v, ConvertToBinary, ConvertToText); err != nil {
				return err
			}
		}
		ir.ContentHandlingStrategy = v
	}
	if in.ResponseParameters != nil {
		if ir.ResponseParameters == nil {
			ir.ResponseParameters = map[string]string{}
		}
		for k, v := range in.ResponseParameters {
			if v == nil || *v == "" {
				delete(ir.ResponseParameters, k)
			} else {
				ir.ResponseParameters[k] = *v
			}
		}
		if len(ir.ResponseParameters) == 0 {
			ir.ResponseParameters = nil
		}
	}
	if in.ResponseTemplates != nil {
		if err := checkTemplates("responseTemplates", in.ResponseTemplates); err != nil {
			return err
		}
		ir.ResponseTemplates = in.ResponseTemplates
		if len(ir.ResponseTemplates) == 0 {
			ir.ResponseTemplates = nil
		}
	}
	if in.TemplateSelectionExpression != nil {
		ir.TemplateSelectionExpression = *in.TemplateSelectionExpression
	}
	return nil
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return nil
	}
	c := make(map[K]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
