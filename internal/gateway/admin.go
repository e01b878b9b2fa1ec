package gateway

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// stageInfo is what GET /_wsgate/stages reports of a live stage.
type stageInfo struct {
	APIID        string   `json:"apiId"`
	Stage        string   `json:"stage"`
	DeploymentID string   `json:"deploymentId"`
	Routes       []string `json:"routes"`
}

// serveStages lists the stages this node serves and the deployment each one
// is live on: the way to observe which snapshot a stage runs.
func (g *Gateway) serveStages(w http.ResponseWriter, r *http.Request) {
	var out []stageInfo
	for _, s := range g.Registry().Stages() {
		si := stageInfo{APIID: s.APIID, Stage: s.Name, DeploymentID: s.DeploymentID}
		for k := range s.Routes {
			si.Routes = append(si.Routes, k)
		}
		slices.Sort(si.Routes)
		out = append(out, si)
	}
	slices.SortFunc(out, func(a, b stageInfo) int {
		if c := strings.Compare(a.APIID, b.APIID); c != 0 {
			return c
		}
		return strings.Compare(a.Stage, b.Stage)
	})
	if out == nil {
		out = []stageInfo{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"stages": out})
}
