package config

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
)

// API declares a WebSocket API. APIs are matched by name when the file is
// applied, so applying the same file twice changes nothing.
type API struct {
	Name string `yaml:"name"`
	// ID fixes the API's id (lowercase letters and digits), so that its URLs
	// stay the same across data directories; the API is then matched by id.
	ID                        string                 `yaml:"id"`
	Description               string                 `yaml:"description"`
	RouteSelectionExpression  string                 `yaml:"routeSelectionExpression"`
	APIKeySelectionExpression string                 `yaml:"apiKeySelectionExpression"`
	Routes                    map[string]Route       `yaml:"routes"`
	Integrations              map[string]Integration `yaml:"integrations"`
	Authorizers               map[string]Authorizer  `yaml:"authorizers"`
	Models                    map[string]Model       `yaml:"models"`
	Stages                    map[string]Stage       `yaml:"stages"`
	Tags                      map[string]string      `yaml:"tags"`
}

// Route declares a route; the map key is the route key.
type Route struct {
	// Integration names an entry of the API's integrations.
	Integration string `yaml:"integration"`
	// AuthorizationType NONE, AWS_IAM or CUSTOM ($connect only).
	AuthorizationType string `yaml:"authorizationType"`
	// Authorizer names an entry of the API's authorizers (CUSTOM).
	Authorizer     string `yaml:"authorizer"`
	APIKeyRequired bool   `yaml:"apiKeyRequired"`
	// TwoWay adds routeResponseSelectionExpression $default and a $default
	// route response, so the integration's answer goes back to the client.
	TwoWay                   bool              `yaml:"twoWay"`
	RequestParameters        map[string]bool   `yaml:"requestParameters"`
	RequestModels            map[string]string `yaml:"requestModels"`
	ModelSelectionExpression string            `yaml:"modelSelectionExpression"`
	OperationName            string            `yaml:"operationName"`
}

// Integration declares an integration.
type Integration struct {
	// Type AWS_PROXY (default), AWS, HTTP_PROXY, HTTP or MOCK.
	Type string `yaml:"type"`
	// URI: for Lambda types a function name declared under functions, a
	// function ARN, or an invocation URI; for HTTP types the backend URL.
	URI                         string                `yaml:"uri"`
	Method                      string                `yaml:"method"`
	TimeoutMillis               int                   `yaml:"timeoutMillis"`
	RequestTemplates            map[string]string     `yaml:"requestTemplates"`
	TemplateSelectionExpression string                `yaml:"templateSelectionExpression"`
	PassthroughBehavior         string                `yaml:"passthroughBehavior"`
	RequestParameters           map[string]string     `yaml:"requestParameters"`
	ContentHandlingStrategy     string                `yaml:"contentHandlingStrategy"`
	Responses                   []IntegrationResponse `yaml:"responses"`
}

// IntegrationResponse declares an integration response.
type IntegrationResponse struct {
	Key                         string            `yaml:"key"`
	Templates                   map[string]string `yaml:"templates"`
	TemplateSelectionExpression string            `yaml:"templateSelectionExpression"`
	ContentHandlingStrategy     string            `yaml:"contentHandlingStrategy"`
}

// Authorizer declares a Lambda REQUEST authorizer.
type Authorizer struct {
	URI            string   `yaml:"uri"`
	IdentitySource []string `yaml:"identitySource"`
}

// Model declares a JSON Schema model.
type Model struct {
	Schema      string `yaml:"schema"`
	ContentType string `yaml:"contentType"`
	Description string `yaml:"description"`
}

// Stage declares a stage; each start deploys the API to it when the API's
// content changed.
type Stage struct {
	Description          string                   `yaml:"description"`
	Variables            map[string]string        `yaml:"variables"`
	DefaultRouteSettings *RouteSettings           `yaml:"defaultRouteSettings"`
	RouteSettings        map[string]RouteSettings `yaml:"routeSettings"`
}

// RouteSettings are throttling and logging settings.
type RouteSettings struct {
	ThrottlingRateLimit  *float64 `yaml:"throttlingRateLimit"`
	ThrottlingBurstLimit *int     `yaml:"throttlingBurstLimit"`
	LoggingLevel         string   `yaml:"loggingLevel"`
	DataTraceEnabled     *bool    `yaml:"dataTraceEnabled"`
}

func (a *API) applyDefaults() {
	if a.RouteSelectionExpression == "" {
		a.RouteSelectionExpression = "$request.body.action"
	}
	for k, in := range a.Integrations {
		if in.Type == "" {
			in.Type = "AWS_PROXY"
		}
		a.Integrations[k] = in
	}
	for k, r := range a.Routes {
		if r.AuthorizationType == "" {
			r.AuthorizationType = "NONE"
			if r.Authorizer != "" {
				r.AuthorizationType = "CUSTOM"
			}
		}
		a.Routes[k] = r
	}
}

var (
	stageNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	apiIDRE     = regexp.MustCompile(`^[a-z0-9]{1,64}$`)
)

func (c *Config) validateAPIs() []error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	names := map[string]int{}
	for i, a := range c.APIs {
		p := fmt.Sprintf("apis[%d]", i)
		if a.Name == "" {
			add(p+".name", "required")
		} else if j, dup := names[a.Name]; dup {
			add(p+".name", "%q is also the name of apis[%d]; API names must be unique", a.Name, j)
		}
		names[a.Name] = i
		if a.ID != "" && !apiIDRE.MatchString(a.ID) {
			add(p+".id", "API ids are 1 to 64 lowercase letters and digits, not %q", a.ID)
		}
		if len(a.Routes) == 0 {
			add(p+".routes", "at least one route is required")
		}
		for _, key := range slices.Sorted(maps.Keys(a.Routes)) {
			r := a.Routes[key]
			rp := fmt.Sprintf("%s.routes[%s]", p, key)
			if r.Integration != "" {
				if _, ok := a.Integrations[r.Integration]; !ok {
					add(rp+".integration", "names integration %q, which is not declared under %s.integrations", r.Integration, p)
				}
			}
			switch r.AuthorizationType {
			case "NONE", "AWS_IAM", "CUSTOM":
			default:
				add(rp+".authorizationType", "must be NONE, AWS_IAM or CUSTOM, not %q", r.AuthorizationType)
			}
			if r.AuthorizationType != "NONE" && key != "$connect" {
				add(rp+".authorizationType", "authorization is restricted to the $connect route only")
			}
			if r.Authorizer != "" {
				if _, ok := a.Authorizers[r.Authorizer]; !ok {
					add(rp+".authorizer", "names authorizer %q, which is not declared under %s.authorizers", r.Authorizer, p)
				}
			} else if r.AuthorizationType == "CUSTOM" {
				add(rp+".authorizer", "required when authorizationType is CUSTOM")
			}
			for mk, m := range r.RequestModels {
				if _, ok := a.Models[m]; !ok {
					add(rp+".requestModels["+mk+"]", "names model %q, which is not declared under %s.models", m, p)
				}
			}
		}
		for _, name := range slices.Sorted(maps.Keys(a.Integrations)) {
			in := a.Integrations[name]
			ip := fmt.Sprintf("%s.integrations[%s]", p, name)
			switch in.Type {
			case "AWS_PROXY", "AWS", "HTTP_PROXY", "HTTP":
				if in.URI == "" {
					add(ip+".uri", "required for %s integrations", in.Type)
				}
			case "MOCK":
			default:
				add(ip+".type", "must be AWS_PROXY, AWS, HTTP_PROXY, HTTP or MOCK, not %q", in.Type)
			}
			if in.TimeoutMillis != 0 && (in.TimeoutMillis < 50 || in.TimeoutMillis > 29000) {
				add(ip+".timeoutMillis", "must be between 50 and 29000")
			}
		}
		for _, name := range slices.Sorted(maps.Keys(a.Authorizers)) {
			if a.Authorizers[name].URI == "" {
				add(fmt.Sprintf("%s.authorizers[%s].uri", p, name), "required")
			}
		}
		for _, name := range slices.Sorted(maps.Keys(a.Models)) {
			if a.Models[name].Schema == "" {
				add(fmt.Sprintf("%s.models[%s].schema", p, name), "required")
			}
		}
		for _, name := range slices.Sorted(maps.Keys(a.Stages)) {
			if !stageNameRE.MatchString(name) {
				add(fmt.Sprintf("%s.stages[%s]", p, name), "stage names are 1 to 128 letters, digits, '-' or '_'")
			}
		}
	}
	return errs
}
