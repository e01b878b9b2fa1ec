package apigw

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

var (
	stageNameRE      = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	stageVarNameRE   = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)
	stageVarValueRE  = regexp.MustCompile(`^[A-Za-z0-9\-._~:/?#&=,]+$`)
	modelNameRE      = regexp.MustCompile(`^[A-Za-z0-9]{1,128}$`)
	apiIDRE          = regexp.MustCompile(`^[a-z0-9]{1,64}$`)
	paramNameRE      = `[a-zA-Z0-9._$-]+`
	routeParamRE     = regexp.MustCompile(`^route\.request\.(header|querystring)\.` + paramNameRE + `$`)
	integParamKeyRE  = regexp.MustCompile(`^integration\.request\.(header|querystring|path)\.` + paramNameRE + `$`)
	integParamValRE  = regexp.MustCompile(`^(route\.request\.(querystring|header|multivaluequerystring|multivalueheader)\.` + paramNameRE + `|route\.request\.body\.\S+|context\.[a-zA-Z0-9._-]+|stageVariables\.[A-Za-z0-9_]+|'[^']*')$`)
	identitySourceRE = regexp.MustCompile(`^(route\.request\.(header|querystring)\.` + paramNameRE + `|stageVariables\.[A-Za-z0-9_]+|context\.[a-zA-Z0-9._-]+)$`)
)

// ValidAPIID reports whether id has the shape of an API identifier. It is
// used to reject obviously bad path labels early.
func ValidAPIID(id string) bool { return apiIDRE.MatchString(id) }

// ValidStageName reports whether name can be a stage name: it becomes a URL
// path segment, so wsgate allows letters, digits, '-' and '_'.
func ValidStageName(name string) bool { return stageNameRE.MatchString(name) }

func checkLen(member, v string, min, max int) *Error {
	n := utf8.RuneCountInString(v)
	if n < min || n > max {
		if min == max {
			return BadRequest("%s must be %d characters long", member, min)
		}
		return BadRequest("%s must be between %d and %d characters long", member, min, max)
	}
	return nil
}

func checkEnum(member, v string, allowed ...string) *Error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return BadRequest("Invalid %s specified: %q. Must be one of [%s]", member, v, strings.Join(allowed, ", "))
}

func checkTags(tags map[string]string) *Error {
	if len(tags) > 50 {
		return BadRequest("Too many tags: a resource can have at most 50 tags")
	}
	for k, v := range tags {
		if err := checkLen("Tag key", k, 1, 128); err != nil {
			return err
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return BadRequest("Tag keys starting with 'aws:' are reserved: %q", k)
		}
		if err := checkLen("Tag value", v, 0, 1600); err != nil {
			return err
		}
	}
	return nil
}

func checkStageVariables(vars map[string]*string, forCreate bool) *Error {
	if len(vars) > 100 {
		return BadRequest("Too many stage variables: a stage can have at most 100")
	}
	for k, v := range vars {
		if !stageVarNameRE.MatchString(k) {
			return BadRequest("Stage variable name %q is invalid: names may contain only letters, digits and underscores and be at most 64 characters long", k)
		}
		if v == nil || *v == "" {
			if forCreate {
				return BadRequest("Stage variable %q must have a value", k)
			}
			continue // deletion on update
		}
		if len(*v) > 2048 || !stageVarValueRE.MatchString(*v) {
			return BadRequest("Stage variable value for %q is invalid: values may contain only letters, digits and -._~:/?#&=, and be at most 2048 characters long", k)
		}
	}
	return nil
}

func checkRouteSettings(where string, s *RouteSettings) *Error {
	if s == nil {
		return nil
	}
	if s.LoggingLevel != "" {
		if err := checkEnum(where+".loggingLevel", s.LoggingLevel, "ERROR", "INFO", "OFF"); err != nil {
			return err
		}
	}
	if s.ThrottlingBurstLimit != nil && *s.ThrottlingBurstLimit < 0 {
		return BadRequest("%s.throttlingBurstLimit must not be negative", where)
	}
	if s.ThrottlingRateLimit != nil && *s.ThrottlingRateLimit < 0 {
		return BadRequest("%s.throttlingRateLimit must not be negative", where)
	}
	return nil
}

func checkIntegrationRequestParameters(params map[string]*string) *Error {
	for k, v := range params {
		if !integParamKeyRE.MatchString(k) {
			return BadRequest("Invalid mapping expression specified: %q. Request parameter keys must look like integration.request.{header|querystring|path}.{name}", k)
		}
		if v == nil || *v == "" {
			continue
		}
		if !integParamValRE.MatchString(*v) {
			return BadRequest("Invalid mapping expression specified: %q for %q. Use route.request.{querystring|header}.{name}, route.request.body.{JSONPath}, context.{name}, stageVariables.{name} or a 'static' value", *v, k)
		}
	}
	return nil
}

func checkTemplates(member string, t map[string]string) *Error {
	for k, v := range t {
		if err := checkLen(member+" key", k, 1, 256); err != nil {
			return err
		}
		if len(v) > 32*1024 {
			return BadRequest("%s[%q] is longer than 32768 characters", member, k)
		}
	}
	return nil
}

// isPatternKey reports whether key is an integration response key of the
// /regex/ form.
func isPatternKey(key string) bool {
	return len(key) >= 2 && key[0] == '/' && key[len(key)-1] == '/'
}

func checkIntegrationResponseKey(key string) *Error {
	if key == RouteDefault {
		return nil
	}
	if !isPatternKey(key) {
		return BadRequest("Invalid integration response key %q: use $default or a /regex/", key)
	}
	if _, err := regexp.Compile(key[1 : len(key)-1]); err != nil {
		return BadRequest("Invalid integration response key %q: %v", key, err)
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func quoteList(xs []string) string { return fmt.Sprintf("[%s]", strings.Join(xs, ", ")) }
