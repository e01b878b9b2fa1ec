package integration

import (
	"fmt"
	"strings"
)

// functionRef is a parsed function reference.
type functionRef struct {
	name      string // the function's name: how local functions are found
	qualifier string // version or alias; "" if none
	// arn is the unqualified function ARN, "" when the reference was a
	// bare name. Remote calls send it as FunctionName.
	arn    string
	region string // from the ARN; "" for bare names and partial ARNs
}

// functionName is what a remote Invoke sends as FunctionName: the ARN when
// there is one, so the account and region named in the URI are honoured.
func (f functionRef) functionName() string {
	if f.arn != "" {
		return f.arn
	}
	return f.name
}

// invocationPrefix and invocationSuffix frame the function ARN in API
// Gateway's Lambda invocation URI.
const (
	invocationPrefix = "path/2015-03-31/functions/"
	invocationSuffix = "/invocations"
)

// ParseFunctionURI returns the function name and qualifier (version or
// alias, "" if none) a Lambda integration or authorizer URI refers to.
// Accepted forms, in any partition (aws, aws-cn, aws-us-gov, ...):
//
//	arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
//	arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]/invocations
//	NAME[:QUALIFIER]   (wsgate configuration shorthand)
//
// Anything else is ErrBadURI, with a message saying what is wrong.
func ParseFunctionURI(uri string) (name, qualifier string, err error) {
	ref, err := parseFunctionURI(uri)
	if err != nil {
		return "", "", err
	}
	return ref.name, ref.qualifier, nil
}

// parseFunctionURI is ParseFunctionURI keeping the ARN.
func parseFunctionURI(uri string) (functionRef, error) {
	ref, err := parseFunctionRef(uri, false)
	if err != nil {
		return functionRef{}, fmt.Errorf("%w: %q: %s", ErrBadURI, uri, err)
	}
	return ref, nil
}

// refError is a parse failure's explanation; the callers add the sentinel.
type refError string

func (e refError) Error() string { return string(e) }

// parseFunctionRef parses a function reference. partial also accepts
// Lambda's partial ARN ACCOUNT:function:NAME[:QUALIFIER], which the Invoke
// API takes as FunctionName but API Gateway URIs do not.
func parseFunctionRef(s string, partial bool) (functionRef, error) {
	switch {
	case s == "":
		return functionRef{}, refError("empty function reference")
	case strings.Contains(s, "${"):
		return functionRef{}, refError("unresolved variable reference; resolve ${stageVariables.name} first")
	case strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://"):
		return functionRef{}, refError("an HTTP URL is not a Lambda function; use an HTTP or HTTP_PROXY integration")
	case strings.HasPrefix(s, "arn:"):
		return parseARN(s)
	}
	parts := strings.Split(s, ":")
	switch {
	case len(parts) <= 2:
		ref := functionRef{name: parts[0]}
		if len(parts) == 2 {
			ref.qualifier = parts[1]
		}
		return ref, checkNameQualifier(ref.name, ref.qualifier, len(parts) == 2)
	case partial && (len(parts) == 3 || len(parts) == 4) && parts[1] == "function":
		if !isAccount(parts[0]) {
			return functionRef{}, refError(fmt.Sprintf("account id %q must be 12 digits", parts[0]))
		}
		ref := functionRef{name: parts[2]}
		if len(parts) == 4 {
			ref.qualifier = parts[3]
		}
		return ref, checkNameQualifier(ref.name, ref.qualifier, len(parts) == 4)
	}
	return functionRef{}, refError("not a function name, NAME:QUALIFIER, Lambda function ARN " +
		"(arn:aws:lambda:REGION:ACCOUNT:function:NAME) or API Gateway invocation URI " +
		"(arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION_ARN/invocations)")
}

// parseARN parses a Lambda function ARN or an API Gateway invocation URI.
func parseARN(s string) (functionRef, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) < 6 {
		return functionRef{}, refError("truncated ARN: want arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE")
	}
	partition, service, region := parts[1], parts[2], parts[3]
	if !isPartition(partition) {
		return functionRef{}, refError(fmt.Sprintf("partition %q is not an AWS partition (aws, aws-cn, aws-us-gov, ...)", partition))
	}
	if !isRegion(region) {
		return functionRef{}, refError(fmt.Sprintf("region %q is not a region name like us-east-1", region))
	}
	switch service {
	case "lambda":
		return parseLambdaARN(s)
	case "apigateway":
		if parts[4] != "lambda" || !strings.HasPrefix(parts[5], invocationPrefix) {
			return functionRef{}, refError("an API Gateway ARN must be a Lambda invocation URI: " +
				"arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION_ARN/invocations")
		}
		inner, ok := strings.CutSuffix(parts[5][len(invocationPrefix):], invocationSuffix)
		if !ok || strings.Contains(inner, "/") {
			return functionRef{}, refError("a Lambda invocation URI must end with /functions/FUNCTION_ARN/invocations")
		}
		if !strings.HasPrefix(inner, "arn:") {
			return functionRef{}, refError(fmt.Sprintf("%q in a Lambda invocation URI must be a function ARN "+
				"(arn:aws:lambda:REGION:ACCOUNT:function:NAME)", inner))
		}
		// inner has no '/', so only a Lambda ARN parses.
		return parseARN(inner)
	default:
		return functionRef{}, refError(fmt.Sprintf("service %q: want a Lambda function ARN (arn:aws:lambda:...) "+
			"or API Gateway invocation URI (arn:aws:apigateway:...)", service))
	}
}

// parseLambdaARN parses arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER];
// partition and region are already checked.
func parseLambdaARN(s string) (functionRef, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 7 || parts[5] != "function" {
		return functionRef{}, refError("a Lambda ARN must be arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]")
	}
	if len(parts) > 8 {
		return functionRef{}, refError("too many ':' in the Lambda ARN: want arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]")
	}
	if !isAccount(parts[4]) {
		return functionRef{}, refError(fmt.Sprintf("account id %q must be 12 digits", parts[4]))
	}
	ref := functionRef{name: parts[6], region: parts[3], arn: strings.Join(parts[:7], ":")}
	if len(parts) == 8 {
		ref.qualifier = parts[7]
	}
	return ref, checkNameQualifier(ref.name, ref.qualifier, len(parts) == 8)
}

// checkNameQualifier applies Lambda's rules: names are 1-64 letters,
// digits, '-' and '_'; a qualifier is $LATEST, a version number or an alias
// (1-128 of the same characters).
func checkNameQualifier(name, qualifier string, hasQualifier bool) error {
	if !isWord(name, 64) {
		return refError(fmt.Sprintf("function name %q must be 1-64 letters, digits, '-' or '_'", name))
	}
	if hasQualifier && qualifier != "$LATEST" && !isWord(qualifier, 128) {
		return refError(fmt.Sprintf("qualifier %q must be $LATEST, a version number or an alias "+
			"(1-128 letters, digits, '-' or '_')", qualifier))
	}
	return nil
}

// isWord reports whether s is 1..max of [A-Za-z0-9_-].
func isWord(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// isAccount reports whether s is a 12-digit account id.
func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isPartition accepts aws and aws-<word>... (aws-cn, aws-us-gov,
// aws-iso-b, aws-eusc).
func isPartition(s string) bool {
	segs := strings.Split(s, "-")
	if segs[0] != "aws" {
		return false
	}
	for _, seg := range segs[1:] {
		if !isLower(seg) {
			return false
		}
	}
	return true
}

// isRegion accepts lowercase words joined by '-' ending in a number:
// us-east-1, us-gov-west-1, cn-north-1, us-isob-east-1, eusc-de-east-1.
func isRegion(s string) bool {
	segs := strings.Split(s, "-")
	if len(segs) < 3 {
		return false
	}
	for _, seg := range segs[:len(segs)-1] {
		if !isLower(seg) {
			return false
		}
	}
	last := segs[len(segs)-1]
	if last == "" || len(last) > 3 {
		return false
	}
	for i := 0; i < len(last); i++ {
		if last[i] < '0' || last[i] > '9' {
			return false
		}
	}
	return true
}

// isLower reports whether s is a non-empty run of a-z.
func isLower(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// stageVariablePrefix opens a stage variable reference in a URI.
const stageVariablePrefix = "${stageVariables."

// ResolveStageVariables replaces every ${stageVariables.name} in s with the
// stage's value, as API Gateway does in integration and authorizer URIs.
// Values are inserted as they are and not scanned again. A reference to a
// variable vars does not define is ErrUndefinedStageVariable naming it; a
// malformed reference (no closing brace, a name outside [A-Za-z0-9_]) is
// ErrBadURI. Other ${...} text is left alone.
func ResolveStageVariables(s string, vars map[string]string) (string, error) {
	i := strings.Index(s, stageVariablePrefix)
	if i < 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		b.WriteString(s[:i])
		rest := s[i+len(stageVariablePrefix):]
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			return "", fmt.Errorf("%w: %q: unterminated %s...}", ErrBadURI, s, stageVariablePrefix)
		}
		name := rest[:end]
		if !isVarName(name) {
			return "", fmt.Errorf("%w: %q: stage variable name %q must be letters, digits or '_'", ErrBadURI, s, name)
		}
		v, ok := vars[name]
		if !ok {
			return "", fmt.Errorf("%w: %s%s} is not defined in the stage", ErrUndefinedStageVariable, stageVariablePrefix, name)
		}
		b.WriteString(v)
		s = rest[end+1:]
		i = strings.Index(s, stageVariablePrefix)
	}
	b.WriteString(s)
	return b.String(), nil
}

// isVarName is API Gateway's stage variable name rule, [A-Za-z0-9_]+.
func isVarName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
