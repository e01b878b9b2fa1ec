package apigw

import (
	"encoding/json"
	"maps"
	"slices"
	"time"
)

// Document is one API and everything under it, persisted as one value so
// that every control-plane change is a single atomic write.
type Document struct {
	API                  Api                                        `json:"api"`
	Routes               map[string]*Route                          `json:"routes,omitempty"`
	RouteResponses       map[string]map[string]*RouteResponse       `json:"routeResponses,omitempty"`
	Integrations         map[string]*Integration                    `json:"integrations,omitempty"`
	IntegrationResponses map[string]map[string]*IntegrationResponse `json:"integrationResponses,omitempty"`
	Authorizers          map[string]*Authorizer                     `json:"authorizers,omitempty"`
	Models               map[string]*Model                          `json:"models,omitempty"`
	Deployments          map[string]*Deployment                     `json:"deployments,omitempty"`
	Stages               map[string]*Stage                          `json:"stages,omitempty"`
}

// Limits bound how many resources an API may hold. The defaults are AWS's
// quotas; a self-hosted operator may raise them.
type Limits struct {
	Routes       int
	Integrations int
	Stages       int
	Authorizers  int
	Models       int
	Deployments  int
}

// DefaultLimits returns AWS's default quotas (and a bound on deployments,
// which AWS does not document).
func DefaultLimits() Limits {
	return Limits{Routes: 300, Integrations: 300, Stages: 10, Authorizers: 10, Models: 200, Deployments: 1000}
}

// Env carries what a mutation needs besides its input: the time to stamp and
// the quotas to enforce.
type Env struct {
	Now    time.Time
	Limits Limits
}

func (e *Env) now() time.Time { return e.Now.UTC().Truncate(time.Second) }

// Clone returns a deep copy of d.
func (d *Document) Clone() *Document {
	b, err := json.Marshal(d)
	if err != nil {
		panic("apigw: document does not marshal: " + err.Error())
	}
	var c Document
	if err := json.Unmarshal(b, &c); err != nil {
		panic("apigw: document does not unmarshal: " + err.Error())
	}
	return &c
}

// sortedValues returns the map's values ordered by key, for stable listing
// and pagination.
func sortedValues[T any](m map[string]*T) []*T {
	keys := slices.Sorted(maps.Keys(m))
	out := make([]*T, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}

func ensure[T any](m *map[string]*T) {
	if *m == nil {
		*m = map[string]*T{}
	}
}
