package funchost

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
)

// inheritedVars are the only variables an instance takes from wsgate's own
// environment: enough to find programs, a home and temp directory, a locale
// and CA certificates, and nothing that could carry wsgate's secrets.
func inheritedVars() []string {
	return []string{"PATH", "HOME", "TMPDIR", "LANG", "SSL_CERT_FILE", "SSL_CERT_DIR"}
}

// inheritedEnv reads inheritedVars from the current process.
func inheritedEnv() map[string]string {
	m := make(map[string]string)
	for _, k := range inheritedVars() {
		if v, ok := os.LookupEnv(k); ok {
			m[k] = v
		}
	}
	return m
}

// isReserved reports whether Lambda sets k itself and refuses it in a
// function's configuration.
func isReserved(k string) bool {
	switch k {
	case "_HANDLER", "_X_AMZN_TRACE_ID",
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV",
		"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
		"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
		"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
		"AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN":
		return true
	}
	return false
}

// isDropped reports whether k must never reach a runtime: _LAMBDA_SERVER_PORT
// switches aws-lambda-go to the legacy net/rpc protocol (it is checked before
// AWS_LAMBDA_RUNTIME_API), and AWS_LAMBDA_MAX_CONCURRENCY makes it run several
// invocations at once in one process, which the pool does not expect.
func isDropped(k string) bool {
	return k == "_LAMBDA_SERVER_PORT" || k == "AWS_LAMBDA_MAX_CONCURRENCY"
}

// cleanEnv validates a user or invocation environment and returns a copy
// without the dropped keys, plus the keys it dropped (sorted).
func cleanEnv(env map[string]string) (map[string]string, []string, error) {
	if len(env) == 0 {
		return nil, nil, nil
	}
	out := make(map[string]string, len(env))
	var dropped []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		v := env[k]
		switch {
		case k == "" || strings.ContainsAny(k, "=\x00"):
			return nil, nil, fmt.Errorf("%w: name %q", ErrInvalidEnv, k)
		case strings.IndexByte(v, 0) >= 0:
			return nil, nil, fmt.Errorf("%w: value of %s contains NUL", ErrInvalidEnv, k)
		case isReserved(k):
			return nil, nil, fmt.Errorf("%w: %s", ErrReservedEnv, k)
		case isDropped(k):
			dropped = append(dropped, k)
		default:
			out[k] = v
		}
	}
	return out, dropped, nil
}

// envKey is the pool key of an invocation environment: equal maps give
// equal keys, different maps different keys.
func envKey(env map[string]string) string {
	if len(env) == 0 {
		return ""
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(env)) {
		// Lengths make the encoding unambiguous whatever the bytes.
		b.WriteString(strconv.Itoa(len(k)))
		b.WriteByte(':')
		b.WriteString(k)
		b.WriteString(strconv.Itoa(len(env[k])))
		b.WriteByte(':')
		b.WriteString(env[k])
	}
	return b.String()
}

// instanceEnv is the complete environment of one process: inherited
// variables, then the function's Env, then the invocation overlay, then what
// the Lambda platform sets (which the earlier layers cannot contain).
func (in *instance) instanceEnv(runtimeAPI string) []string {
	fn := in.fn
	h := fn.h
	m := maps.Clone(fn.inherited)
	if _, ok := m["LANG"]; !ok {
		m["LANG"] = "en_US.UTF-8"
	}
	if _, ok := m["PATH"]; !ok {
		m["PATH"] = "/usr/local/bin:/usr/bin:/bin"
	}
	m["TZ"] = ":UTC"
	maps.Copy(m, fn.cfg.Env)
	maps.Copy(m, in.env)

	m["AWS_LAMBDA_RUNTIME_API"] = runtimeAPI
	m["AWS_LAMBDA_FUNCTION_NAME"] = fn.cfg.Name
	m["AWS_LAMBDA_FUNCTION_VERSION"] = "$LATEST"
	m["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = strconv.Itoa(fn.cfg.MemoryMB)
	m["AWS_LAMBDA_LOG_GROUP_NAME"] = "/aws/lambda/" + fn.cfg.Name
	m["AWS_LAMBDA_LOG_STREAM_NAME"] = in.logStream
	m["AWS_LAMBDA_INITIALIZATION_TYPE"] = in.initType
	m["AWS_REGION"] = h.opts.Region
	m["AWS_DEFAULT_REGION"] = h.opts.Region
	m["AWS_EXECUTION_ENV"] = "AWS_Lambda_provided.al2023"
	m["_HANDLER"] = fn.cfg.Handler
	m["LAMBDA_TASK_ROOT"] = fn.cfg.Dir
	m["LAMBDA_RUNTIME_DIR"] = fn.cfg.Dir
	m["AWS_ACCESS_KEY_ID"] = h.opts.AccessKeyID
	m["AWS_SECRET_ACCESS_KEY"] = h.opts.SecretAccessKey
	if h.opts.SessionToken != "" {
		m["AWS_SESSION_TOKEN"] = h.opts.SessionToken
	}
	// Defence in depth: cleanEnv already refused or dropped these.
	delete(m, "_LAMBDA_SERVER_PORT")
	delete(m, "AWS_LAMBDA_MAX_CONCURRENCY")

	out := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k+"="+m[k])
	}
	return out
}
