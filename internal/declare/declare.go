// Package declare applies the APIs declared in wsgate's config file to the
// store, idempotently: an API is matched by name; its routes, integrations,
// authorizers and models become exactly what the file says (reusing the ids
// of unchanged resources), its declared stages get the file's variables and
// settings, and a stage is redeployed only when the API's content differs
// from what the stage serves. Applying the same file twice changes nothing.
//
// Apply is safe to call while the gateway serves requests: every write is a
// compare-and-swap on the API's document.
package declare

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/wsgate/wsgate/internal/apigw"
	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/snapshot"
	"github.com/wsgate/wsgate/internal/store"
)

// Options configure Apply.
type Options struct {
	Store     store.Store
	Config    *config.Config
	Limits    apigw.Limits
	Validate  func(*apigw.Snapshot) error
	Now       func() time.Time
	Functions map[string]bool // names declared under functions
}

// Result says what Apply did to one API.
type Result struct {
	Name        string
	APIID       string
	Created     bool
	Changed     bool
	Deployments map[string]string // stage → new deployment id
}

const maxAttempts = 16

// Apply applies every declared API.
func Apply(ctx context.Context, o Options) ([]Result, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Limits == (apigw.Limits{}) {
		o.Limits = apigw.DefaultLimits()
	}
	var out []Result
	for i := range o.Config.APIs {
		res, err := applyOne(ctx, o, &o.Config.APIs[i])
		if err != nil {
			return out, fmt.Errorf("apis[%d] (%s): %w", i, o.Config.APIs[i].Name, err)
		}
		out = append(out, res)
	}
	return out, nil
}

func applyOne(ctx context.Context, o Options, a *config.API) (Result, error) {
	res := Result{Name: a.Name, Deployments: map[string]string{}}
	for range maxAttempts {
		entry, cur, err := find(ctx, o.Store, a)
		if err != nil {
			return res, err
		}
		env := &apigw.Env{Now: o.Now(), Limits: o.Limits}
		var d *apigw.Document
		if cur == nil {
			id := a.ID
			if id == "" {
				id = apigw.NewAPIID()
			}
			d, err = desired(env, o, a, id, nil)
			if err != nil {
				return res, err
			}
			res.Created = true
		} else {
			d, err = desired(env, o, a, cur.API.APIID, cur)
			if err != nil {
				return res, err
			}
		}
		res.APIID = d.API.APIID
		load := func(depID string) (*apigw.Snapshot, error) {
			return snapshot.Load(ctx, o.Store, d.API.APIID, depID)
		}
		newDeps, err := deployStages(env, o, a, cur, d, load)
		if err != nil {
			return res, err
		}
		if cur != nil && reflect.DeepEqual(normalize(cur), normalize(d)) && len(newDeps) == 0 {
			return res, nil // nothing to do
		}
		res.Changed = true
		for _, dep := range newDeps {
			b, _ := json.Marshal(d.Snapshot(dep.id))
			if _, err := o.Store.Put(ctx, apigw.SnapshotKey(d.API.APIID, dep.id), b); err != nil {
				return res, fmt.Errorf("store snapshot: %w", err)
			}
		}
		b, err := json.Marshal(d)
		if err != nil {
			return res, err
		}
		if cur == nil {
			_, err = o.Store.Create(ctx, apigw.DocumentKey(d.API.APIID), b)
		} else {
			_, err = o.Store.Update(ctx, apigw.DocumentKey(d.API.APIID), b, entry.Revision)
		}
		if errors.Is(err, store.ErrConflict) {
			res = Result{Name: a.Name, Deployments: map[string]string{}}
			continue
		}
		if err != nil {
			return res, fmt.Errorf("store api: %w", err)
		}
		for _, dep := range newDeps {
			res.Deployments[dep.stage] = dep.id
		}
		return res, nil
	}
	return res, errors.New("too many concurrent changes to the API while applying the config file")
}

// Check builds every declared API in memory, with the same validation as
// Apply (and the control plane) but without a store, and reports the first
// problem of each API with its key path. `wsgate config check` uses it.
func Check(c *config.Config, validate func(*apigw.Snapshot) error) error {
	o := Options{Config: c, Validate: validate, Limits: apigw.DefaultLimits(), Now: time.Now, Functions: map[string]bool{}}
	for name := range c.Functions {
		o.Functions[name] = true
	}
	noSnapshot := func(string) (*apigw.Snapshot, error) { return nil, errors.New("none") }
	var errs []error
	for i := range c.APIs {
		a := &c.APIs[i]
		env := &apigw.Env{Now: o.Now(), Limits: o.Limits}
		d, err := desired(env, o, a, "check", nil)
		if err == nil && validate != nil {
			err = validate(d.Snapshot(""))
		}
		if err == nil {
			_, err = deployStages(env, o, a, nil, d, noSnapshot)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("apis[%d] (%s): %w", i, a.Name, err))
		}
	}
	return errors.Join(errs...)
}

// find returns the declared API's current document: by id when the file
// fixes it, else the single API with its name; nil when there is none.
func find(ctx context.Context, st store.Store, a *config.API) (store.Entry, *apigw.Document, error) {
	if a.ID == "" {
		return findByName(ctx, st, a.Name)
	}
	e, err := st.Get(ctx, apigw.DocumentKey(a.ID))
	if errors.Is(err, store.ErrNotFound) {
		return store.Entry{}, nil, nil
	}
	if err != nil {
		return store.Entry{}, nil, fmt.Errorf("load api %s: %w", a.ID, err)
	}
	d, err := apigw.DecodeDocument(e.Value)
	if err != nil {
		return store.Entry{}, nil, fmt.Errorf("api %s: %w", a.ID, err)
	}
	return e, d, nil
}

// findByName returns the single API called name, or nil.
func findByName(ctx context.Context, st store.Store, name string) (store.Entry, *apigw.Document, error) {
	entries, err := st.List(ctx, apigw.DocumentPrefix)
	if err != nil {
		return store.Entry{}, nil, fmt.Errorf("list apis: %w", err)
	}
	var found *apigw.Document
	var fe store.Entry
	for _, e := range entries {
		d, err := apigw.DecodeDocument(e.Value)
		if err != nil {
			continue
		}
		if d.API.Name != name {
			continue
		}
		if found != nil {
			return store.Entry{}, nil, fmt.Errorf("two APIs are named %q (%s and %s); the config file matches APIs by name, so rename or delete one", name, found.API.APIID, d.API.APIID)
		}
		found, fe = d, e
	}
	return fe, found, nil
}

func ptr[T any](v T) *T { return &v }

// desired builds the document the config declares, on top of cur (nil for
// a new API): content is rebuilt, ids of equal resources are kept,
// deployments and undeclared stages are kept.
func desired(env *apigw.Env, o Options, a *config.API, id string, cur *apigw.Document) (*apigw.Document, error) {
	in := &apigw.APIInput{
		Name: ptr(a.Name), ProtocolType: ptr(apigw.ProtocolWebSocket),
		RouteSelectionExpression: ptr(a.RouteSelectionExpression), Description: ptr(a.Description),
		Tags: a.Tags,
	}
	if a.APIKeySelectionExpression != "" {
		in.APIKeySelectionExpression = ptr(a.APIKeySelectionExpression)
	}
	d, e := apigw.CreateAPI(env, id, in)
	if e != nil {
		return nil, e
	}
	if cur != nil {
		base := cur.Clone() // d must not share maps or pointers with cur
		d.API.CreatedDate = base.API.CreatedDate
		if d.API.Tags == nil {
			d.API.Tags = base.API.Tags
		}
		d.Deployments = base.Deployments
		d.Stages = base.Stages
	}
	// Models and authorizers first: routes refer to them.
	for _, name := range slices.Sorted(maps.Keys(a.Models)) {
		m := a.Models[name]
		mi := &apigw.ModelInput{Name: ptr(name), Schema: ptr(m.Schema), Description: ptr(m.Description)}
		if m.ContentType != "" {
			mi.ContentType = ptr(m.ContentType)
		}
		created, e := d.CreateModel(env, mi)
		if e != nil {
			return nil, fmt.Errorf("models[%s]: %w", name, e)
		}
		if cur != nil {
			if old := cur.ModelByName(name); old != nil {
				reid(d.Models, created.ModelID, old.ModelID, func(m *apigw.Model, id string) { m.ModelID = id })
			}
		}
	}
	authIDs := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(a.Authorizers)) {
		au := a.Authorizers[name]
		created, e := d.CreateAuthorizer(env, &apigw.AuthorizerInput{
			Name: ptr(name), AuthorizerType: ptr(apigw.AuthRequest), IdentitySource: nonNil(au.IdentitySource),
			AuthorizerURI: ptr(functionURI(o, au.URI)),
		})
		if e != nil {
			return nil, fmt.Errorf("authorizers[%s]: %w", name, e)
		}
		authIDs[name] = created.AuthorizerID
		if cur != nil {
			for _, old := range cur.Authorizers {
				if old.Name == name {
					reid(d.Authorizers, created.AuthorizerID, old.AuthorizerID, func(x *apigw.Authorizer, id string) { x.AuthorizerID = id })
					authIDs[name] = old.AuthorizerID
				}
			}
		}
	}
	intIDs := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(a.Integrations)) {
		ci := a.Integrations[name]
		ii := &apigw.IntegrationInput{IntegrationType: ptr(ci.Type), Description: ptr("declared in the config file as " + name)}
		switch ci.Type {
		case apigw.IntegrationAWSProxy, apigw.IntegrationAWS:
			ii.IntegrationURI = ptr(functionURI(o, ci.URI))
		case apigw.IntegrationHTTP, apigw.IntegrationHTTPProxy:
			ii.IntegrationURI = ptr(ci.URI)
		}
		if ci.Method != "" {
			ii.IntegrationMethod = ptr(ci.Method)
		} else if ci.Type == apigw.IntegrationHTTP || ci.Type == apigw.IntegrationHTTPProxy {
			ii.IntegrationMethod = ptr("POST")
		}
		if ci.TimeoutMillis != 0 {
			ii.TimeoutInMillis = ptr(ci.TimeoutMillis)
		}
		if ci.TemplateSelectionExpression != "" {
			ii.TemplateSelectionExpression = ptr(ci.TemplateSelectionExpression)
		}
		if ci.PassthroughBehavior != "" {
			ii.PassthroughBehavior = ptr(ci.PassthroughBehavior)
		}
		if ci.ContentHandlingStrategy != "" {
			ii.ContentHandlingStrategy = ptr(ci.ContentHandlingStrategy)
		}
		ii.RequestTemplates = ci.RequestTemplates
		if len(ci.RequestParameters) > 0 {
			ii.RequestParameters = map[string]*string{}
			for k, v := range ci.RequestParameters {
				ii.RequestParameters[k] = ptr(v)
			}
		}
		created, e := d.CreateIntegration(env, ii)
		if e != nil {
			return nil, fmt.Errorf("integrations[%s]: %w", name, e)
		}
		for _, r := range ci.Responses {
			iri := &apigw.IntegrationResponseInput{IntegrationResponseKey: ptr(r.Key), ResponseTemplates: r.Templates}
			if r.TemplateSelectionExpression != "" {
				iri.TemplateSelectionExpression = ptr(r.TemplateSelectionExpression)
			}
			if r.ContentHandlingStrategy != "" {
				iri.ContentHandlingStrategy = ptr(r.ContentHandlingStrategy)
			}
			if _, e := d.CreateIntegrationResponse(created.IntegrationID, iri); e != nil {
				return nil, fmt.Errorf("integrations[%s].responses[%s]: %w", name, r.Key, e)
			}
		}
		intIDs[name] = created.IntegrationID
		// Keep the id of an existing integration with the same settings.
		if cur != nil {
			for _, old := range cur.ListIntegrations() {
				if sameIntegration(d, cur, created.IntegrationID, old.IntegrationID) && !slices.Contains(slices.Collect(maps.Values(intIDs)), old.IntegrationID) {
					moveIntegration(d, cur, created.IntegrationID, old.IntegrationID)
					intIDs[name] = old.IntegrationID
					break
				}
			}
		}
	}
	for _, key := range slices.Sorted(maps.Keys(a.Routes)) {
		cr := a.Routes[key]
		ri := &apigw.RouteInput{RouteKey: ptr(key), AuthorizationType: ptr(cr.AuthorizationType), APIKeyRequired: ptr(cr.APIKeyRequired)}
		if cr.Integration != "" {
			ri.Target = ptr("integrations/" + intIDs[cr.Integration])
		}
		if cr.Authorizer != "" {
			ri.AuthorizerID = ptr(authIDs[cr.Authorizer])
		}
		if cr.TwoWay {
			ri.RouteResponseSelectionExpression = ptr(apigw.RouteDefault)
		}
		if cr.OperationName != "" {
			ri.OperationName = ptr(cr.OperationName)
		}
		if cr.ModelSelectionExpression != "" {
			ri.ModelSelectionExpression = ptr(cr.ModelSelectionExpression)
		}
		ri.RequestModels = cr.RequestModels
		if len(cr.RequestParameters) > 0 {
			ri.RequestParameters = map[string]apigw.ParameterConstraints{}
			for k, req := range cr.RequestParameters {
				ri.RequestParameters[k] = apigw.ParameterConstraints{Required: req}
			}
		}
		created, e := d.CreateRoute(env, ri)
		if e != nil {
			return nil, fmt.Errorf("routes[%s]: %w", key, e)
		}
		if cr.TwoWay {
			if _, e := d.CreateRouteResponse(created.RouteID, &apigw.RouteResponseInput{RouteResponseKey: ptr(apigw.RouteDefault)}); e != nil {
				return nil, fmt.Errorf("routes[%s]: %w", key, e)
			}
		}
		if cur != nil {
			if old := cur.RouteByKey(key); old != nil {
				moveRoute(d, created.RouteID, old.RouteID, cur)
			}
		}
	}
	return d, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// functionURI turns a function declared under functions into its ARN, so
// the API reads back as it would on AWS; anything else is kept.
func functionURI(o Options, uri string) string {
	if o.Functions[uri] {
		return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", o.Config.Region, o.Config.AccountID, uri)
	}
	return uri
}

// reid moves a map entry from one id to another.
func reid[T any](m map[string]*T, from, to string, set func(*T, string)) {
	if from == to {
		return
	}
	v := m[from]
	delete(m, from)
	set(v, to)
	m[to] = v
}

func sameIntegration(d, cur *apigw.Document, newID, oldID string) bool {
	a, b := *d.Integrations[newID], *cur.Integrations[oldID]
	a.IntegrationID, b.IntegrationID = "", ""
	if !reflect.DeepEqual(a, b) {
		return false
	}
	ra, rb := responsesByKey(d, newID), responsesByKey(cur, oldID)
	if len(ra) != len(rb) {
		return false
	}
	for k, x := range ra {
		y, ok := rb[k]
		if !ok {
			return false
		}
		x.IntegrationResponseID, y.IntegrationResponseID = "", ""
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

// responsesByKey returns copies of an integration's responses by key (keys
// are unique per integration).
func responsesByKey(d *apigw.Document, integrationID string) map[string]apigw.IntegrationResponse {
	out := map[string]apigw.IntegrationResponse{}
	for _, ir := range d.IntegrationResponses[integrationID] {
		out[ir.IntegrationResponseKey] = *ir
	}
	return out
}

// moveIntegration gives the new integration (and its responses) the ids of
// the equal old one.
func moveIntegration(d, cur *apigw.Document, from, to string) {
	reid(d.Integrations, from, to, func(x *apigw.Integration, id string) { x.IntegrationID = id })
	irs, ok := d.IntegrationResponses[from]
	if !ok {
		return
	}
	delete(d.IntegrationResponses, from)
	oldIDs := map[string]string{}
	for id, ir := range cur.IntegrationResponses[to] {
		oldIDs[ir.IntegrationResponseKey] = id
	}
	moved := make(map[string]*apigw.IntegrationResponse, len(irs))
	for _, ir := range irs {
		if id, ok := oldIDs[ir.IntegrationResponseKey]; ok {
			ir.IntegrationResponseID = id
		}
		moved[ir.IntegrationResponseID] = ir
	}
	d.IntegrationResponses[to] = moved
}

func moveRoute(d *apigw.Document, from, to string, cur *apigw.Document) {
	reid(d.Routes, from, to, func(x *apigw.Route, id string) { x.RouteID = id })
	if rrs, ok := d.RouteResponses[from]; ok {
		delete(d.RouteResponses, from)
		// Keep the old route response id when there was one.
		if old := cur.RouteResponses[to]; len(old) == 1 && len(rrs) == 1 {
			for oldID := range old {
				for newID, rr := range rrs {
					delete(rrs, newID)
					rr.RouteResponseID = oldID
					rrs[oldID] = rr
				}
			}
		}
		d.RouteResponses[to] = rrs
	}
}

type deployment struct{ stage, id string }

// deployStages sets each declared stage's settings and deploys it when the
// API's content differs from the stage's current deployment.
func deployStages(env *apigw.Env, o Options, a *config.API, cur, d *apigw.Document, load func(string) (*apigw.Snapshot, error)) ([]deployment, error) {
	var out []deployment
	for _, name := range slices.Sorted(maps.Keys(a.Stages)) {
		cs := a.Stages[name]
		st, exists := d.Stages[name]
		if !exists {
			var e *apigw.Error
			if st, e = d.CreateStage(env, &apigw.StageInput{StageName: ptr(name)}); e != nil {
				return nil, fmt.Errorf("stages[%s]: %w", name, e)
			}
		}
		// The file says exactly which variables and settings the stage has:
		// start from none, then apply them through UpdateStage, which
		// validates them as it does for the control plane.
		f := false
		st.StageVariables, st.RouteSettings = nil, nil
		st.DefaultRouteSettings = &apigw.RouteSettings{DataTraceEnabled: &f, DetailedMetricsEnabled: &f, LoggingLevel: "OFF"}
		in := &apigw.StageInput{Description: ptr(cs.Description)}
		if len(cs.Variables) > 0 {
			in.StageVariables = map[string]*string{}
			for k, v := range cs.Variables {
				in.StageVariables[k] = ptr(v)
			}
		}
		if cs.DefaultRouteSettings != nil {
			in.DefaultRouteSettings = routeSettings(cs.DefaultRouteSettings)
		}
		for k, rs := range cs.RouteSettings {
			if in.RouteSettings == nil {
				in.RouteSettings = map[string]apigw.RouteSettings{}
			}
			in.RouteSettings[k] = *routeSettings(&rs)
		}
		if _, e := d.UpdateStage(env, name, in); e != nil {
			return nil, fmt.Errorf("stages[%s]: %w", name, e)
		}
		if cur != nil && exists {
			if old := cur.Stages[name]; old != nil && reflect.DeepEqual(settingsOf(old), settingsOf(st)) {
				st.LastUpdatedDate = old.LastUpdatedDate
			} else {
				st.LastUpdatedDate = env.Now.UTC().Truncate(time.Second)
			}
		}
		if st.DeploymentID != "" {
			if live, err := load(st.DeploymentID); err == nil && sameContent(live, d.Snapshot("")) {
				continue
			}
		}
		if o.Validate != nil {
			if err := o.Validate(d.Snapshot("")); err != nil {
				return nil, err
			}
		}
		dep, e := d.CreateDeployment(env, &apigw.DeploymentInput{StageName: ptr(name), Description: ptr("Deployed from the config file")})
		if e != nil {
			return nil, fmt.Errorf("stages[%s]: %w", name, e)
		}
		out = append(out, deployment{stage: name, id: dep.DeploymentID})
	}
	return out, nil
}

func routeSettings(rs *config.RouteSettings) *apigw.RouteSettings {
	return &apigw.RouteSettings{
		ThrottlingRateLimit:  rs.ThrottlingRateLimit,
		ThrottlingBurstLimit: rs.ThrottlingBurstLimit,
		LoggingLevel:         rs.LoggingLevel,
		DataTraceEnabled:     rs.DataTraceEnabled,
	}
}

func settingsOf(s *apigw.Stage) any {
	return []any{s.Description, s.StageVariables, s.DefaultRouteSettings, s.RouteSettings}
}

// sameContent compares two snapshots' deployable content, ignoring ids
// that name the snapshot itself.
func sameContent(a, b *apigw.Snapshot) bool {
	strip := func(s *apigw.Snapshot) string {
		c := *s
		c.DeploymentID, c.CreatedDate = "", time.Time{}
		c.API.Tags, c.API.CreatedDate = nil, time.Time{}
		raw, _ := json.Marshal(c)
		return string(raw)
	}
	return strip(a) == strip(b)
}

// normalize renders a document for comparison, without volatile members.
func normalize(d *apigw.Document) string {
	raw, _ := json.Marshal(d)
	return strings.TrimSpace(string(raw))
}
