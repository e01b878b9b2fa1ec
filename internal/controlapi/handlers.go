package controlapi

import (
	"errors"
	"net/http"

	"github.com/wsgate/wsgate/internal/apigw"
	"github.com/wsgate/wsgate/internal/store"
)

func (h *Handler) routes() {
	// Api
	h.handle("POST /v2/apis", h.createAPI)
	h.handle("GET /v2/apis", h.getAPIs)
	h.handle("GET /v2/apis/{apiId}", h.getAPI)
	h.handle("PATCH /v2/apis/{apiId}", h.updateAPI)
	h.handle("DELETE /v2/apis/{apiId}", h.deleteAPI)

	// Route
	h.handle("POST /v2/apis/{apiId}/routes", h.createRoute)
	h.handle("GET /v2/apis/{apiId}/routes", h.getRoutes)
	h.handle("GET /v2/apis/{apiId}/routes/{routeId}", h.getRoute)
	h.handle("PATCH /v2/apis/{apiId}/routes/{routeId}", h.updateRoute)
	h.handle("DELETE /v2/apis/{apiId}/routes/{routeId}", h.deleteRoute)
	h.handle("DELETE /v2/apis/{apiId}/routes/{routeId}/requestparameters/{requestParameterKey}", h.deleteRouteRequestParameter)

	// RouteResponse
	h.handle("POST /v2/apis/{apiId}/routes/{routeId}/routeresponses", h.createRouteResponse)
	h.handle("GET /v2/apis/{apiId}/routes/{routeId}/routeresponses", h.getRouteResponses)
	h.handle("GET /v2/apis/{apiId}/routes/{routeId}/routeresponses/{routeResponseId}", h.getRouteResponse)
	h.handle("PATCH /v2/apis/{apiId}/routes/{routeId}/routeresponses/{routeResponseId}", h.updateRouteResponse)
	h.handle("DELETE /v2/apis/{apiId}/routes/{routeId}/routeresponses/{routeResponseId}", h.deleteRouteResponse)

	// Integration
	h.handle("POST /v2/apis/{apiId}/integrations", h.createIntegration)
	h.handle("GET /v2/apis/{apiId}/integrations", h.getIntegrations)
	h.handle("GET /v2/apis/{apiId}/integrations/{integrationId}", h.getIntegration)
	h.handle("PATCH /v2/apis/{apiId}/integrations/{integrationId}", h.updateIntegration)
	h.handle("DELETE /v2/apis/{apiId}/integrations/{integrationId}", h.deleteIntegration)

	// IntegrationResponse
	h.handle("POST /v2/apis/{apiId}/integrations/{integrationId}/integrationresponses", h.createIntegrationResponse)
	h.handle("GET /v2/apis/{apiId}/integrations/{integrationId}/integrationresponses", h.getIntegrationResponses)
	h.handle("GET /v2/apis/{apiId}/integrations/{integrationId}/integrationresponses/{integrationResponseId}", h.getIntegrationResponse)
	h.handle("PATCH /v2/apis/{apiId}/integrations/{integrationId}/integrationresponses/{integrationResponseId}", h.updateIntegrationResponse)
	h.handle("DELETE /v2/apis/{apiId}/integrations/{integrationId}/integrationresponses/{integrationResponseId}", h.deleteIntegrationResponse)

	// Authorizer
	h.handle("POST /v2/apis/{apiId}/authorizers", h.createAuthorizer)
	h.handle("GET /v2/apis/{apiId}/authorizers", h.getAuthorizers)
	h.handle("GET /v2/apis/{apiId}/authorizers/{authorizerId}", h.getAuthorizer)
	h.handle("PATCH /v2/apis/{apiId}/authorizers/{authorizerId}", h.updateAuthorizer)
	h.handle("DELETE /v2/apis/{apiId}/authorizers/{authorizerId}", h.deleteAuthorizer)

	// Model
	h.handle("POST /v2/apis/{apiId}/models", h.createModel)
	h.handle("GET /v2/apis/{apiId}/models", h.getModels)
	h.handle("GET /v2/apis/{apiId}/models/{modelId}", h.getModel)
	h.handle("PATCH /v2/apis/{apiId}/models/{modelId}", h.updateModel)
	h.handle("DELETE /v2/apis/{apiId}/models/{modelId}", h.deleteModel)
	h.handle("GET /v2/apis/{apiId}/models/{modelId}/template", h.getModelTemplate)

	// Deployment
	h.handle("POST /v2/apis/{apiId}/deployments", h.createDeployment)
	h.handle("GET /v2/apis/{apiId}/deployments", h.getDeployments)
	h.handle("GET /v2/apis/{apiId}/deployments/{deploymentId}", h.getDeployment)
	h.handle("PATCH /v2/apis/{apiId}/deployments/{deploymentId}", h.updateDeployment)
	h.handle("DELETE /v2/apis/{apiId}/deployments/{deploymentId}", h.deleteDeployment)

	// Stage
	h.handle("POST /v2/apis/{apiId}/stages", h.createStage)
	h.handle("GET /v2/apis/{apiId}/stages", h.getStages)
	h.handle("GET /v2/apis/{apiId}/stages/{stageName}", h.getStage)
	h.handle("PATCH /v2/apis/{apiId}/stages/{stageName}", h.updateStage)
	h.handle("DELETE /v2/apis/{apiId}/stages/{stageName}", h.deleteStage)
	h.handle("DELETE /v2/apis/{apiId}/stages/{stageName}/routesettings/{routeKey}", h.deleteRouteSettings)
	h.handle("DELETE /v2/apis/{apiId}/stages/{stageName}/accesslogsettings", h.deleteAccessLogSettings)
	h.handle("DELETE /v2/apis/{apiId}/stages/{stageName}/cache/authorizers", h.resetAuthorizersCache)

	// Tags
	h.handle("GET /v2/tags/{arn}", h.getTags)
	h.handle("POST /v2/tags/{arn}", h.tagResource)
	h.handle("DELETE /v2/tags/{arn}", h.untagResource)

	// Anything else under /v2/ is an operation wsgate does not serve.
	h.handle("/v2/", h.unknownOperation)
}

func (h *Handler) unknownOperation(c *call) (int, any, error) {
	return 0, nil, &apigw.Error{Status: http.StatusNotFound, Type: apigw.TypeNotFound,
		Msg: "No operation matches " + c.r.Method + " " + c.r.URL.EscapedPath() + " (wsgate serves the apigatewayv2 operations of WebSocket APIs)"}
}

func ok(status int, v any, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return status, v, nil
}

// withEndpoint fills the server-computed apiEndpoint.
func (h *Handler) withEndpoint(a apigw.Api) apigw.Api {
	a.APIEndpoint = h.opts.Endpoint(a.APIID)
	return a
}

// ---- Api

func (h *Handler) createAPI(c *call) (int, any, error) {
	var in apigw.APIInput
	if err := decode(c, &in); err != nil {
		return 0, nil, err
	}
	for range maxAttempts {
		id := apigw.NewAPIID()
		d, e := apigw.CreateAPI(h.env(), id, &in)
		if e != nil {
			return 0, nil, e
		}
		if err := h.validateDraft(d); err != nil {
			return 0, nil, err
		}
		b, err := marshalDoc(d)
		if err != nil {
			return 0, nil, err
		}
		if _, err := h.opts.Store.Create(c.ctx(), apigw.DocumentKey(id), b); err != nil {
			if errors.Is(err, store.ErrConflict) {
				continue // id collision: draw another
			}
			return 0, nil, storeErr("create api", err)
		}
		return http.StatusCreated, h.withEndpoint(d.API), nil
	}
	return 0, nil, apigw.Internal(errors.New("could not allocate an API id"))
}

func (h *Handler) getAPIs(c *call) (int, any, error) {
	entries, err := h.opts.Store.List(c.ctx(), apigw.DocumentPrefix)
	if err != nil {
		return 0, nil, storeErr("list apis", err)
	}
	apis := make([]apigw.Api, 0, len(entries))
	for _, e := range entries {
		d, err := apigw.DecodeDocument(e.Value)
		if err != nil {
			h.log.Error("skipping undecodable api document", "key", e.Key, "err", err)
			continue
		}
		apis = append(apis, h.withEndpoint(d.API))
	}
	p, err := paginate(c, apis, func(a apigw.Api) string { return a.APIID })
	return ok(http.StatusOK, p, err)
}

func (h *Handler) getAPI(c *call) (int, any, error) {
	d, err := h.read(c)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, h.withEndpoint(d.API), nil
}

func (h *Handler) updateAPI(c *call) (int, any, error) {
	var in apigw.APIInput
	if err := decode(c, &in); err != nil {
		return 0, nil, err
	}
	v, err := h.mutate(c, true, func(d *apigw.Document) (any, error) {
		if e := d.UpdateAPI(&in); e != nil {
			return nil, e
		}
		return h.withEndpoint(d.API), nil
	})
	return ok(http.StatusOK, v, err)
}

func (h *Handler) deleteAPI(c *call) (int, any, error) {
	apiID := c.r.PathValue("apiId")
	old, rev, err := h.load(c.ctx(), apiID)
	if err != nil {
		return 0, nil, err
	}
	if err := h.opts.Store.Delete(c.ctx(), apigw.DocumentKey(apiID), rev); err != nil {
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			// Changed or deleted meanwhile: try once more from the top.
			if old, rev, err = h.load(c.ctx(), apiID); err != nil {
				return 0, nil, err
			}
			if err := h.opts.Store.Delete(c.ctx(), apigw.DocumentKey(apiID), rev); err != nil {
				return 0, nil, storeErr("delete api", err)
			}
		} else {
			return 0, nil, storeErr("delete api", err)
		}
	}
	h.deleteSnapshots(c.ctx(), apiID, removedDeployments(old, nil))
	return http.StatusNoContent, nil, nil
}

// ---- Route

func (h *Handler) createRoute(c *call) (int, any, error) {
	var in apigw.RouteInput
	if err := decode(c, &in); err != nil {
		return 0, nil, err
	}
	v, err := h.mutate(c, true, func(d *apigw.Document) (any, error) {
		r, e := d.CreateRoute(h.env(), &in)
		return orNil(r, e)
	})
	return ok(http.StatusCreated, v, err)
}

func (h *Handler) getRoutes(c *call) (int, any, error) {
	d, err := h.read(c)
	if err != nil {
		return 0, nil, err
	}
	p, err := paginate(c, d.ListRoutes(), func(r *apigw.Route) string { return r.RouteID })
	return ok(http.StatusOK, p, err)
}

func (h *Handler) getRoute(c *call) (int, any, error) {
	d, err := h.read(c)
	if err != nil {
		return 0, nil, err
	}
	r, e := d.Route(c.r.PathValue("routeId"))
	return result(http.StatusOK, r, e)
}

func (h *Handler) updateRoute(c *call) (int, any, error) {
	var in apigw.RouteInput
	if err := decode(c, &in); err != nil {
		return 0, nil, err
	}
	v, err := h.mutate(c, true, func(d *apigw.Document) (any, error) {
		r, e := d.UpdateRoute(c.r.PathValue("routeId"), &in)
		return orNil(r, e)
	})
	return ok(http.StatusOK, v, err)
}

func (h *Handler) deleteRoute(c *call) (int, any, error) {
	_, err := h.mutate(c, true, func(d *apigw.Document) (any, error) {
		return nil, nilErr(d.DeleteRoute(c.r.PathValue("routeId")))
	})
	return ok(http.StatusNoContent, nil, err)
}

func (h *Handler) deleteRouteRequestParameter(c *call) (int, any, error) {
	_, err := h.mutate(c, true, func(d *apigw.Document) (any, error) {
		return nil, nilErr(d.DeleteRouteRequestParameter(c.r.PathValue("routeId"), c.r.PathValue("requestParameterKey")))
	})
	return ok(http.StatusNoContent, nil, err)
}

// ---- RouteResponse

func (h *Handler) createRouteResponse(c *call) (int, any, error) {
	var in apigw.RouteResponseInput
	if err := decode(c, &in); err != nil {
		return 0, nil, err
	}
	v, err := h.mutate(c, true, func(d *apigw.Document) (any, error) {
		rr, e := d.CreateRouteResponse(c.r.PathValue("routeId"), &in)
		return orNil(rr, e)
	})
	return ok(http.StatusCreated, v, err)
}

func (h *Handler) getRouteResponses(c *call) (int, any, error) {
	d, err := h.read(c)
	if err != nil {
		return 0, nil, err
	}
	items, e := d.ListRouteResponses(c.r.PathValue("routeId"))
	if e != nil {
		return 0, nil, e
	}
	p, err := paginate(c, items, func(r *apigw.RouteResponse) string { return r.RouteResponseID })
	return ok(http.StatusOK, p, err)
}

func (h *Handler) getRouteResponse(c *call) (int, any, error) {
	d, err := h.read(c)
	if err != nil {
		return 0, nil, err
	}
	rr, e := d.RouteResponse(c.r.PathValue("routeId"), c.r.PathValue("routeResponseId"))
	return result(http.StatusOK, rr, e)
}

func (h *Handler) updateRouteResponse(c *call) (int, any, error) {
	var in apigw.RouteResponseInput
	if err := decode(c, &in); err != nil {
		return 0, nil, err
	}
	v, err := h.mutate(c, true, func(d *apigw.Document) (any, error) {
		rr, e := d.UpdateRouteResponse(c.r.PathValue("routeId"), c.r.PathValue("routeResponseId"), &in)
		return orNil(rr, e)
	})
	return ok(http.StatusOK, v, err)
}

func (h *Handler) deleteRouteResponse(c *call) (int, any, error) {
	_, err := h.mutate(c, true, func(d *apigw.Document) (any, error) {
		return nil, nilErr(d.DeleteRouteResponse(c.r.PathValue("routeId"), c.r.PathValue("routeResponseId")))
	})
	return ok(http.StatusNoContent, nil, err)
}

// ---- Integration

func (h *Handler) createIntegration(c *call) (int, any, error) {
	var in apigw.IntegrationInput
	if err := decode(c, &in); err != nil {
		return 0, nil, err
	}
	v, err := h.mutate(c, true, func(d *apigw.Document) (any, error) {
		it, e := d.CreateIntegration(h.env(), &in)
		return orNil(it, e)
	})
	return ok(http.StatusCreated, v, err)
}

func (h *Handler) getIntegrations(c *call) (int, any, error) {
	d, err := h.read(c)
	if err != nil {
		return 0, nil, err
	}
	p, err := paginate(c, d.ListIntegrations(), func(i *apigw.Integration) string { return i.IntegrationID })
	return ok(http.StatusOK, p, err)
}

func (h *Handler) getIntegration(c *call) (int, any, error) {
	d, err := h.read(c)
	if err != nil {
		return 0, nil, err
	}
	it, e := d.Integration(c.r.PathValue("integrationId"))
	return result(http.StatusOK, it, e)
}

func (h *Handler) updateIntegration(c *call) (int, any, error) {
	var in apigw.IntegrationInput
	if err := decode(c, &in); err != nil {
		return 0, nil, err
	}
	v, err := h.mutate(c, true, func(d *apigw.Document) (any, error) {
		it, e := d.UpdateIntegration(c.r.PathValue("integrationId"), &in)
		return orNil(it, e)
	})
	return ok(http.StatusOK, v, err)
}

func (h *Handler) deleteIntegration(c *call) (int, any, error) {
	_, err := h.mutate(c, true, func(d *apigw.Document) (any, error) {
		return nil, nilErr(d.DeleteIntegration(c.r.PathValue("integrationId")))
	})
	return ok(http.StatusNoContent, nil, err)
}

// ---- IntegrationResponse

func (h *Handler) createIntegrationResponse(c *call) (int, any, error) {
	var in apigw.IntegrationResponseInput
	if err := decode(c, &in); err != nil {
		return 0, nil, err
	}
	v, err := h.mutate(c, true, func(d *apigw.Document) (any, error) {
		ir, e := d.CreateIntegrationResponse(c.r.PathValue("integrationId"), &in)
		return orNil(ir, e)
	})
	return ok(http.StatusCreated, v, err)
}

func (h *Handler) getIntegrationResponses(c *call) (int, any, error) {
	d, err := h.read(c)
	if err != nil {
		return 0, nil, err
	}
	items, e := d.ListIntegrationResponses(c.r.PathValue("integrationId"))
	if e != nil {
		return 0, nil, e
	}
	p, err := paginate(c, items, func(r *apigw.IntegrationResponse) string { return r.IntegrationResponseID })
	return ok(http.StatusOK, p, err)
}

func (h *Handler) getIntegrationResponse(c *call) (int, any, error) {
	d, err := h.read(c)
	if err != nil {
		return 0, nil, err
	}
	ir, e := d.IntegrationResponse(c.r.PathValue("integrationId"), c.r.PathValue("integrationResponseId"))
	return result(http.StatusOK, ir, e)
}

func (h *Handler) updateIntegrationResponse(c *call) (int, any, error) {
	var in apigw.IntegrationResponseInput
	if err := decode(c, &in); err != nil {
		return 0, nil, err
	}
	v, err := h.mutate(c, true, func(d *apigw.Document) (any, error) {
		ir, e := d.UpdateIntegrationResponse(c.r.PathValue("integrationId"), c.r.PathValue("integrationResponseId"), &in)
		return orNil(ir, e)
	})
	return ok(http.StatusOK, v, err)
}

func (h *Handler) deleteIntegrationResponse(c *call) (int, any, error) {
	_, err := h.mutate(c, true, func(d *apigw.Document) (any, error) {
		return nil, nilErr(d.DeleteIntegrationResponse(c.r.PathValue("integrationId"), c.r.PathValue("integrationResponseId")))
	})
	return ok(http.StatusNoContent, nil, err)
}

// ---- Authorizer

func (h *Handler) createAuthorizer(c *call) (int, any, error) {
	var in apigw.AuthorizerInput
	if err := decode(c, &in); err != nil {
		return 0, nil, err
	}
	v, err := h.mutate(c, true, func(d *apigw.Document) (any, error) {
		a, e := d.CreateAuthorizer(h.env(), &in)
		return orNil(a, e)
	})
	return ok(http.StatusCreated, v, err)
}

func (h *Handler) getAuthorizers(c *call) (int, any, error) {
	d, err := h.read(c)
	if err != nil {
		return 0, nil, err
	}
	p, err := paginate(c, d.ListAuthorizers(), func(a *apigw.Authorizer) string { return a.AuthorizerID })
	return ok(http.StatusOK, p, err)
}

func (h *Handler) getAuthorizer(c *call) (int, any, error) {
	d, err := h.read(c)
	if err != nil {
		return 0, nil, err
	}
	a, e := d.Authorizer(c.r.PathValue("authorizerId"))
	return result(http.StatusOK, a, e)
}

func (h *Handler) updateAuthorizer(c *call) (int, any, error) {
	var in apigw.AuthorizerInput
	if err := decode(c, &in); err != nil {
		return 0, nil, err
	}
	v, err := h.mutate(c, true, func(d *apigw.Document) (any, error) {
		a, e := d.UpdateAuthorizer(c.r.PathValue("authorizerId"), &in)
		return orNil(a, e)
	})
	return ok(http.StatusOK, v, err)
}

func (h *Handler) deleteAuthorizer(c *call) (int, any, error) {
	_, err := h.mutate(c, true, func(d *apigw.Document) (any, error) {
		return nil, nilErr(d.DeleteAuthorizer(c.r.PathValue("authorizerId")))
	})
	return ok(http.StatusNoContent, nil, err)
}

// ---- Model

func (h *Handler) createModel(c *call) (int, any, error) {
	var in apigw.ModelInput
	if err := decode(c, &in); err != nil {
		return 0, nil, err
	}
	v, err := h.mutate(c, true, func(d *apigw.Document) (any, error) {
		m, e := d.CreateModel(h.env(), &in)
		return orNil(m, e)
	})
	return ok(http.StatusCreated, v, err)
}

func (h *Handler) getModels(c *call) (int, any, error) {
	d, err := h.read(c)
	if err != nil {
		return 0, nil, err
	}
	p, err := paginate(c, d.ListModels(), func(m *apigw.Model) string { return m.ModelID })
	return ok(http.StatusOK, p, err)
}

func (h *Handler) getModel(c *call) (int, any, error) {
	d, err := h.read(c)
	if err != nil {
		return 0, nil, err
	}
	m, e := d.Model(c.r.PathValue("modelId"))
	return result(http.StatusOK, m, e)
}

func (h *Handler) updateModel(c *call) (int, any, error) {
	var in apigw.ModelInput
	if err := decode(c, &in); err != nil {
		return 0, nil, err
	}
	v, err := h.mutate(c, true, func(d *apigw.Document) (any, error) {
		m, e := d.UpdateModel(c.r.PathValue("modelId"), &in)
		return orNil(m, e)
	})
	return ok(http.StatusOK, v, err)
}

func (h *Handler) deleteModel(c *call) (int, any, error) {
	_, err := h.mutate(c, true, func(d *apigw.Document) (any, error) {
		return nil, nilErr(d.DeleteModel(c.r.PathValue("modelId")))
	})
	return ok(http.StatusNoContent, nil, err)
}

func (h *Handler) getModelTemplate(c *call) (int, any, error) {
	d, err := h.read(c)
	if err != nil {
		return 0, nil, err
	}
	t, e := d.ModelTemplate(c.r.PathValue("modelId"))
	if e != nil {
		return 0, nil, e
	}
	return http.StatusOK, map[string]string{"value": t}, nil
}

// ---- Deployment

func (h *Handler) createDeployment(c *call) (int, any, error) {
	var in apigw.DeploymentInput
	if err := decode(c, &in); err != nil {
		return 0, nil, err
	}
	v, err := h.mutate(c, false, func(d *apigw.Document) (any, error) {
		dep, e := d.CreateDeployment(h.env(), &in)
		return orNil(dep, e)
	})
	return ok(http.StatusCreated, v, err)
}

func (h *Handler) getDeployments(c *call) (int, any, error) {
	d, err := h.read(c)
	if err != nil {
		return 0, nil, err
	}
	p, err := paginate(c, d.ListDeployments(), func(x *apigw.Deployment) string { return x.DeploymentID })
	return ok(http.StatusOK, p, err)
}

func (h *Handler) getDeployment(c *call) (int, any, error) {
	d, err := h.read(c)
	if err != nil {
		return 0, nil, err
	}
	dep, e := d.Deployment(c.r.PathValue("deploymentId"))
	return result(http.StatusOK, dep, e)
}

func (h *Handler) updateDeployment(c *call) (int, any, error) {
	var in apigw.DeploymentInput
	if err := decode(c, &in); err != nil {
		return 0, nil, err
	}
	v, err := h.mutate(c, false, func(d *apigw.Document) (any, error) {
		dep, e := d.UpdateDeployment(c.r.PathValue("deploymentId"), &in)
		return orNil(dep, e)
	})
	return ok(http.StatusOK, v, err)
}

func (h *Handler) deleteDeployment(c *call) (int, any, error) {
	_, err := h.mutate(c, false, func(d *apigw.Document) (any, error) {
		return nil, nilErr(d.DeleteDeployment(c.r.PathValue("deploymentId")))
	})
	return ok(http.StatusNoContent, nil, err)
}

// ---- Stage

func (h *Handler) createStage(c *call) (int, any, error) {
	var in apigw.StageInput
	if err := decode(c, &in); err != nil {
		return 0, nil, err
	}
	autoDeploy := in.AutoDeploy != nil && *in.AutoDeploy
	v, err := h.mutate(c, autoDeploy, func(d *apigw.Document) (any, error) {
		st, e := d.CreateStage(h.env(), &in)
		return orNil(st, e)
	})
	return ok(http.StatusCreated, v, err)
}

func (h *Handler) getStages(c *call) (int, any, error) {
	d, err := h.read(c)
	if err != nil {
		return 0, nil, err
	}
	p, err := paginate(c, d.ListStages(), func(s *apigw.Stage) string { return s.StageName })
	return ok(http.StatusOK, p, err)
}

func (h *Handler) getStage(c *call) (int, any, error) {
	d, err := h.read(c)
	if err != nil {
		return 0, nil, err
	}
	st, e := d.Stage(c.r.PathValue("stageName"))
	return result(http.StatusOK, st, e)
}

func (h *Handler) updateStage(c *call) (int, any, error) {
	var in apigw.StageInput
	if err := decode(c, &in); err != nil {
		return 0, nil, err
	}
	name := c.r.PathValue("stageName")
	v, err := h.mutate(c, false, func(d *apigw.Document) (any, error) {
		before, e := d.Stage(name)
		if e != nil {
			return nil, e
		}
		wasAuto := before.AutoDeploy
		st, e := d.UpdateStage(h.env(), name, &in)
		if e != nil {
			return nil, e
		}
		if st.AutoDeploy && !wasAuto {
			d.AutoDeploy(h.env())
		}
		return st, nil
	})
	return ok(http.StatusOK, v, err)
}

func (h *Handler) deleteStage(c *call) (int, any, error) {
	_, err := h.mutate(c, false, func(d *apigw.Document) (any, error) {
		return nil, nilErr(d.DeleteStage(c.r.PathValue("stageName")))
	})
	return ok(http.StatusNoContent, nil, err)
}

func (h *Handler) deleteRouteSettings(c *call) (int, any, error) {
	_, err := h.mutate(c, false, func(d *apigw.Document) (any, error) {
		return nil, nilErr(d.DeleteRouteSettings(h.env(), c.r.PathValue("stageName"), c.r.PathValue("routeKey")))
	})
	return ok(http.StatusNoContent, nil, err)
}

func (h *Handler) deleteAccessLogSettings(c *call) (int, any, error) {
	_, err := h.mutate(c, false, func(d *apigw.Document) (any, error) {
		return nil, nilErr(d.DeleteAccessLogSettings(h.env(), c.r.PathValue("stageName")))
	})
	return ok(http.StatusNoContent, nil, err)
}

// resetAuthorizersCache succeeds for an existing stage: wsgate does not cache
// WebSocket authorizer results (AWS documents caching for HTTP APIs only).
func (h *Handler) resetAuthorizersCache(c *call) (int, any, error) {
	d, err := h.read(c)
	if err != nil {
		return 0, nil, err
	}
	if _, e := d.Stage(c.r.PathValue("stageName")); e != nil {
		return 0, nil, e
	}
	return http.StatusNoContent, nil, nil
}

// ---- helpers

func orNil[T any](v *T, e *apigw.Error) (any, error) {
	if e != nil {
		return nil, e
	}
	return v, nil
}

func nilErr(e *apigw.Error) error {
	if e == nil {
		return nil
	}
	return e
}

func result[T any](status int, v *T, e *apigw.Error) (int, any, error) {
	if e != nil {
		return 0, nil, e
	}
	return status, v, nil
}
