package gateway

import (
	"context"
	"fmt"

	"github.com/wsgate/wsgate/internal/apigw"
	"github.com/wsgate/wsgate/internal/declare"
	"github.com/wsgate/wsgate/internal/snapshot"
	"github.com/wsgate/wsgate/internal/store"
)

// applyConfigAPIs applies the APIs declared in the config file.
func (g *Gateway) applyConfigAPIs(ctx context.Context, st store.Store, limits apigw.Limits, endpoint func(apiID string) string) error {
	if len(g.cfg.APIs) == 0 {
		return nil
	}
	fns := map[string]bool{}
	for name := range g.cfg.Functions {
		fns[name] = true
	}
	results, err := declare.Apply(ctx, declare.Options{Store: st, Config: g.cfg, Limits: limits, Validate: snapshot.Validate, Functions: fns})
	if err != nil {
		return fmt.Errorf("apply the config file's APIs: %w", err)
	}
	for _, r := range results {
		switch {
		case r.Created:
			g.log.Info("created API from the config file", "api", r.Name, "api_id", r.APIID, "deployments", r.Deployments)
		case r.Changed:
			g.log.Info("updated API from the config file", "api", r.Name, "api_id", r.APIID, "deployments", r.Deployments)
		default:
			g.log.Info("API from the config file is up to date", "api", r.Name, "api_id", r.APIID)
		}
	}
	for i, a := range g.cfg.APIs {
		for stage := range a.Stages {
			g.log.Info("stage from the config file", "api", a.Name, "stage", stage, "url", endpoint(results[i].APIID)+"/"+stage)
		}
	}
	return nil
}
