package apigw

import (
	"fmt"
	"time"
)

// Deployment returns the deployment with id, or a NotFoundException.
func (d *Document) Deployment(id string) (*Deployment, *Error) {
	dep, ok := d.Deployments[id]
	if !ok {
		return nil, notFoundID(ResourceDeployment, id)
	}
	return dep, nil
}

// ListDeployments returns the deployments, newest first.
func (d *Document) ListDeployments() []*Deployment {
	out := sortedValues(d.Deployments)
	sortByTimeDesc(out, func(x *Deployment) (time.Time, string) { return x.CreatedDate, x.DeploymentID })
	return out
}

// CreateDeployment records a new deployment of the API's current state and,
// when in.StageName is set, points that stage at it. The caller stores the
// deployment's Snapshot before it stores the document.
func (d *Document) CreateDeployment(env *Env, in *DeploymentInput) (*Deployment, *Error) {
	if len(d.Routes) == 0 {
		return nil, BadRequest("At least one route is required before deploying the Api")
	}
	var st *Stage
	if in.StageName != nil && *in.StageName != "" {
		var err *Error
		if st, err = d.Stage(*in.StageName); err != nil {
			return nil, err
		}
		if st.AutoDeploy {
			return nil, BadRequest("Stage %s has autoDeploy enabled: its deployments are created automatically on every change", st.StageName)
		}
	}
	if in.Description != nil {
		if err := checkLen("description", *in.Description, 0, 1024); err != nil {
			return nil, err
		}
	}
	if len(d.Deployments) >= env.Limits.Deployments {
		return nil, BadRequest("Maximum number of deployments (%d) reached for this API; delete old deployments first", env.Limits.Deployments)
	}
	dep := d.newDeployment(env, deref(in.Description), false)
	if st != nil {
		st.DeploymentID = dep.DeploymentID
		st.LastUpdatedDate = env.now()
	}
	return dep, nil
}

func (d *Document) newDeployment(env *Env, description string, auto bool) *Deployment {
	ensure(&d.Deployments)
	dep := &Deployment{
		AutoDeployed:     auto,
		CreatedDate:      env.now(),
		DeploymentStatus: DeploymentDeployed,
		Description:      description,
	}
	dep.DeploymentID = uniqueID(deploymentIDLen, func(id string) bool { _, ok := d.Deployments[id]; return ok })
	d.Deployments[dep.DeploymentID] = dep
	return dep
}

// AutoDeploy creates a deployment for every stage with autoDeploy enabled
// and points the stage at it. It returns the new deployments (whose
// snapshots the caller stores) and the ids of earlier automatic deployments
// no stage uses any more (whose snapshots the caller deletes): wsgate does
// not keep a history of automatic deployments.
func (d *Document) AutoDeploy(env *Env) (created []*Deployment, pruned []string) {
	for _, st := range sortedValues(d.Stages) {
		if !st.AutoDeploy {
			continue
		}
		if len(d.Routes) == 0 {
			st.LastDeploymentStatusMessage = "Deployment failed: At least one route is required before deploying the Api"
			continue
		}
		dep := d.newDeployment(env, "Automatic deployment triggered by changes to the Api configuration", true)
		st.DeploymentID = dep.DeploymentID
		st.LastDeploymentStatusMessage = fmt.Sprintf("Successfully deployed stage with deployment ID '%s'", dep.DeploymentID)
		st.LastUpdatedDate = env.now()
		created = append(created, dep)
	}
	if len(created) > 0 {
		for id, dep := range d.Deployments {
			if dep.AutoDeployed && !d.deploymentInUse(id) {
				delete(d.Deployments, id)
				pruned = append(pruned, id)
			}
		}
	}
	return created, pruned
}

// UpdateDeployment changes a deployment's description (the only mutable
// member).
func (d *Document) UpdateDeployment(id string, in *DeploymentInput) (*Deployment, *Error) {
	dep, err := d.Deployment(id)
	if err != nil {
		return nil, err
	}
	if in.Description != nil {
		if err := checkLen("description", *in.Description, 0, 1024); err != nil {
			return nil, err
		}
		dep.Description = *in.Description
	}
	return dep, nil
}

// DeleteDeployment removes a deployment no stage points at.
func (d *Document) DeleteDeployment(id string) *Error {
	if _, err := d.Deployment(id); err != nil {
		return err
	}
	if d.deploymentInUse(id) {
		return BadRequest("Active stages pointing to this deployment must be moved or deleted")
	}
	delete(d.Deployments, id)
	return nil
}

func (d *Document) deploymentInUse(id string) bool {
	for _, st := range d.Stages {
		if st.DeploymentID == id {
			return true
		}
	}
	return false
}

// Snapshot is the frozen content of a deployment: what the data plane
// serves for every stage pointing at it. It is immutable once stored.
type Snapshot struct {
	APIID                string                           `json:"apiId"`
	DeploymentID         string                           `json:"deploymentId"`
	CreatedDate          time.Time                        `json:"createdDate"`
	API                  Api                              `json:"api"`
	Routes               []Route                          `json:"routes"`
	RouteResponses       map[string][]RouteResponse       `json:"routeResponses,omitempty"`
	Integrations         []Integration                    `json:"integrations,omitempty"`
	IntegrationResponses map[string][]IntegrationResponse `json:"integrationResponses,omitempty"`
	Authorizers          []Authorizer                     `json:"authorizers,omitempty"`
	Models               []Model                          `json:"models,omitempty"`
}

// Snapshot freezes the document's deployable content for a deployment.
func (d *Document) Snapshot(deploymentID string) *Snapshot {
	c := d.Clone()
	s := &Snapshot{APIID: c.API.APIID, DeploymentID: deploymentID, API: c.API}
	if dep := c.Deployments[deploymentID]; dep != nil {
		s.CreatedDate = dep.CreatedDate
	}
	s.API.Tags = nil
	for _, r := range c.ListRoutes() {
		s.Routes = append(s.Routes, *r)
		for _, rr := range sortedValues(c.RouteResponses[r.RouteID]) {
			if s.RouteResponses == nil {
				s.RouteResponses = map[string][]RouteResponse{}
			}
			s.RouteResponses[r.RouteID] = append(s.RouteResponses[r.RouteID], *rr)
		}
	}
	for _, it := range c.ListIntegrations() {
		s.Integrations = append(s.Integrations, *it)
		for _, ir := range sortedValues(c.IntegrationResponses[it.IntegrationID]) {
			if s.IntegrationResponses == nil {
				s.IntegrationResponses = map[string][]IntegrationResponse{}
			}
			s.IntegrationResponses[it.IntegrationID] = append(s.IntegrationResponses[it.IntegrationID], *ir)
		}
	}
	for _, a := range c.ListAuthorizers() {
		s.Authorizers = append(s.Authorizers, *a)
	}
	for _, m := range c.ListModels() {
		s.Models = append(s.Models, *m)
	}
	return s
}
