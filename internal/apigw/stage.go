package apigw

import (
	"slices"
	"strings"
	"time"
)

// Stage returns the stage with the given name, or a NotFoundException.
func (d *Document) Stage(name string) (*Stage, *Error) {
	st, ok := d.Stages[name]
	if !ok {
		return nil, NotFound(ResourceStage, "Invalid stage identifier specified %s", name)
	}
	return st, nil
}

// ListStages returns the stages ordered by name.
func (d *Document) ListStages() []*Stage { return sortedValues(d.Stages) }

// CreateStage validates and adds a stage. If the stage has autoDeploy, the
// caller runs AutoDeploy afterwards.
func (d *Document) CreateStage(env *Env, in *StageInput) (*Stage, *Error) {
	if in.StageName == nil || *in.StageName == "" {
		return nil, BadRequest("Missing required member: stageName")
	}
	name := *in.StageName
	if !ValidStageName(name) {
		return nil, BadRequest("Invalid stage name %q: stage names are 1 to 128 letters, digits, '-' or '_'", name)
	}
	if _, ok := d.Stages[name]; ok {
		return nil, Conflict("Stage already exists: %s", name)
	}
	if len(d.Stages) >= env.Limits.Stages {
		return nil, BadRequest("Maximum number of stages (%d) reached for this API", env.Limits.Stages)
	}
	if err := checkStageVariables(in.StageVariables, true); err != nil {
		return nil, err
	}
	if in.Tags != nil {
		if err := checkTags(in.Tags); err != nil {
			return nil, err
		}
	}
	f := false
	st := &Stage{
		StageName:            name,
		CreatedDate:          env.now(),
		LastUpdatedDate:      env.now(),
		DefaultRouteSettings: &RouteSettings{DataTraceEnabled: &f, DetailedMetricsEnabled: &f, LoggingLevel: "OFF"},
		Tags:                 in.Tags,
	}
	if err := d.applyStage(env, st, in); err != nil {
		return nil, err
	}
	ensure(&d.Stages)
	d.Stages[name] = st
	return st, nil
}

// UpdateStage applies an UpdateStage input: stageVariables merge ("" deletes
// a variable), routeSettings merge per route key, defaultRouteSettings merge
// per member, other members are replaced.
func (d *Document) UpdateStage(env *Env, name string, in *StageInput) (*Stage, *Error) {
	st, err := d.Stage(name)
	if err != nil {
		return nil, err
	}
	if err := checkStageVariables(in.StageVariables, false); err != nil {
		return nil, err
	}
	c := *st
	c.StageVariables = cloneMap(st.StageVariables)
	c.RouteSettings = cloneMap(st.RouteSettings)
	if st.DefaultRouteSettings != nil {
		drs := *st.DefaultRouteSettings
		c.DefaultRouteSettings = &drs
	}
	if in.DeploymentID != nil && *in.DeploymentID != st.DeploymentID && (st.AutoDeploy && (in.AutoDeploy == nil || *in.AutoDeploy)) {
		return nil, BadRequest("deploymentId cannot be updated on stage %s because autoDeploy is enabled", name)
	}
	if err := d.applyStage(env, &c, in); err != nil {
		return nil, err
	}
	c.LastUpdatedDate = env.now()
	*st = c
	return st, nil
}

func (d *Document) applyStage(env *Env, st *Stage, in *StageInput) *Error {
	if in.Description != nil {
		if err := checkLen("description", *in.Description, 0, 1024); err != nil {
			return err
		}
		st.Description = *in.Description
	}
	if in.ClientCertificateID != nil {
		st.ClientCertificateID = *in.ClientCertificateID
	}
	if in.DeploymentID != nil {
		id := *in.DeploymentID
		if id != "" {
			if _, err := d.Deployment(id); err != nil {
				return err
			}
		}
		st.DeploymentID = id
	}
	if in.AutoDeploy != nil {
		st.AutoDeploy = *in.AutoDeploy
		if !st.AutoDeploy {
			st.LastDeploymentStatusMessage = ""
		}
	}
	if in.StageVariables != nil {
		if st.StageVariables == nil {
			st.StageVariables = map[string]string{}
		}
		for k, v := range in.StageVariables {
			if v == nil || *v == "" {
				delete(st.StageVariables, k)
			} else {
				st.StageVariables[k] = *v
			}
		}
		if len(st.StageVariables) == 0 {
			st.StageVariables = nil
		}
	}
	if in.DefaultRouteSettings != nil {
		if err := checkRouteSettings("defaultRouteSettings", in.DefaultRouteSettings); err != nil {
			return err
		}
		if st.DefaultRouteSettings == nil {
			st.DefaultRouteSettings = &RouteSettings{}
		}
		MergeRouteSettings(st.DefaultRouteSettings, in.DefaultRouteSettings)
	}
	if in.RouteSettings != nil {
		for k, v := range in.RouteSettings {
			if k == "" {
				return BadRequest("routeSettings keys must be route keys")
			}
			if err := checkRouteSettings("routeSettings["+k+"]", &v); err != nil {
				return err
			}
		}
		if st.RouteSettings == nil {
			st.RouteSettings = map[string]RouteSettings{}
		}
		for k, v := range in.RouteSettings {
			cur := st.RouteSettings[k]
			MergeRouteSettings(&cur, &v)
			st.RouteSettings[k] = cur
		}
		if len(st.RouteSettings) == 0 {
			st.RouteSettings = nil
		}
	}
	if in.AccessLogSettings != nil {
		a := *in.AccessLogSettings
		if a.Format != "" {
			if len(a.Format) > 3*1024 {
				return BadRequest("accessLogSettings.format must be at most 3 KB")
			}
			if strings.ContainsAny(a.Format, "\r\n") {
				return BadRequest("accessLogSettings.format must be a single line")
			}
			if !strings.Contains(a.Format, "$context.requestId") && !strings.Contains(a.Format, "$context.extendedRequestId") {
				return BadRequest("accessLogSettings.format must contain $context.requestId or $context.extendedRequestId")
			}
		}
		if a.Format == "" && a.DestinationArn == "" {
			st.AccessLogSettings = nil
		} else {
			st.AccessLogSettings = &a
		}
	}
	return nil
}

// MergeRouteSettings copies the members src sets onto dst.
func MergeRouteSettings(dst, src *RouteSettings) {
	if src.DataTraceEnabled != nil {
		dst.DataTraceEnabled = src.DataTraceEnabled
	}
	if src.DetailedMetricsEnabled != nil {
		dst.DetailedMetricsEnabled = src.DetailedMetricsEnabled
	}
	if src.LoggingLevel != "" {
		dst.LoggingLevel = src.LoggingLevel
	}
	if src.ThrottlingBurstLimit != nil {
		dst.ThrottlingBurstLimit = src.ThrottlingBurstLimit
	}
	if src.ThrottlingRateLimit != nil {
		dst.ThrottlingRateLimit = src.ThrottlingRateLimit
	}
}

// DeleteStage removes a stage.
func (d *Document) DeleteStage(name string) *Error {
	if _, err := d.Stage(name); err != nil {
		return err
	}
	delete(d.Stages, name)
	return nil
}

// DeleteRouteSettings removes the settings of one route key from a stage.
func (d *Document) DeleteRouteSettings(env *Env, name, routeKey string) *Error {
	st, err := d.Stage(name)
	if err != nil {
		return err
	}
	if _, ok := st.RouteSettings[routeKey]; !ok {
		return NotFound(ResourceRouteSettings, "Invalid route key specified: no route settings for %s in stage %s", routeKey, name)
	}
	delete(st.RouteSettings, routeKey)
	if len(st.RouteSettings) == 0 {
		st.RouteSettings = nil
	}
	st.LastUpdatedDate = env.now()
	return nil
}

// DeleteAccessLogSettings clears a stage's access log settings.
func (d *Document) DeleteAccessLogSettings(env *Env, name string) *Error {
	st, err := d.Stage(name)
	if err != nil {
		return err
	}
	st.AccessLogSettings = nil
	st.LastUpdatedDate = env.now()
	return nil
}

func sortByTimeDesc[T any](xs []T, key func(T) (time.Time, string)) {
	slices.SortStableFunc(xs, func(a, b T) int {
		ta, ia := key(a)
		tb, ib := key(b)
		if c := tb.Compare(ta); c != 0 {
			return c
		}
		return strings.Compare(ia, ib)
	})
}
