package selection

import (
	"errors"
	"reflect"
	"testing"
)

// parseCases are valid expressions with the variables they must yield; the
// fuzzers use them as seeds.
var parseCases = []struct {
	name   string
	expr   string
	vars   []Var // Name, Root, Path, Offset compared
	static string
	isStat bool
}{
	{name: "route body dollar", expr: "$request.body.action",
		vars: []Var{{Name: "request.body.action", Root: RootRequestBody, Path: []string{"action"}}}},
	{name: "route body braced", expr: "${request.body.action}",
		vars: []Var{{Name: "request.body.action", Root: RootRequestBody, Path: []string{"action"}}}},
	{name: "two vars with literal", expr: "${request.body.service}/${request.body.action}",
		vars: []Var{
			{Name: "request.body.service", Root: RootRequestBody, Path: []string{"service"}},
			{Name: "request.body.action", Root: RootRequestBody, Path: []string{"action"}, Offset: 24},
		}},
	{name: "braces end var before dash", expr: "${request.body.version}-beta",
		vars: []Var{{Name: "request.body.version", Root: RootRequestBody, Path: []string{"version"}}}},
	{name: "unbraced var takes dash", expr: "$request.body.version-beta",
		vars: []Var{{Name: "request.body.version-beta", Root: RootRequestBody, Path: []string{"version-beta"}}}},
	{name: "static word", expr: "action", static: "action", isStat: true},
	{name: "escaped default", expr: `\$default`, static: "$default", isStat: true},
	{name: "empty", expr: "", static: "", isStat: true},
	{name: "lone backslash is literal", expr: `a\b\`, static: `a\b\`, isStat: true},
	{name: "double backslash then escape", expr: `\\$x`, static: `\$x`, isStat: true},
	{name: "content type key", expr: "application/json", static: "application/json", isStat: true},
	{name: "nested body path", expr: "$request.body.data.room",
		vars: []Var{{Name: "request.body.data.room", Root: RootRequestBody, Path: []string{"data", "room"}}}},
	{name: "array index", expr: "$request.body.items[0].name",
		vars: []Var{{Name: "request.body.items[0].name", Root: RootRequestBody, Path: []string{"items", "0", "name"}}}},
	{name: "index on root", expr: "$request.body[2]",
		vars: []Var{{Name: "request.body[2]", Root: RootRequestBody, Path: []string{"2"}}}},
	{name: "dot before bracket", expr: "$request.body.a.[1]",
		vars: []Var{{Name: "request.body.a.[1]", Root: RootRequestBody, Path: []string{"a", "1"}}}},
	{name: "single quoted key", expr: "$request.body['a.b']",
		vars: []Var{{Name: "request.body['a.b']", Root: RootRequestBody, Path: []string{"a.b"}}}},
	{name: "double quoted key", expr: `$request.body["x y"].z`,
		vars: []Var{{Name: `request.body["x y"].z`, Root: RootRequestBody, Path: []string{"x y", "z"}}}},
	{name: "escaped quote in key", expr: `${request.body['it\'s']}`,
		vars: []Var{{Name: `request.body['it\'s']`, Root: RootRequestBody, Path: []string{"it's"}}}},
	{name: "brace inside quoted key", expr: "${request.body['a}b']}!",
		vars: []Var{{Name: "request.body['a}b']", Root: RootRequestBody, Path: []string{"a}b"}}}},
	{name: "braced key with space", expr: "${request.body.a b}",
		vars: []Var{{Name: "request.body.a b", Root: RootRequestBody, Path: []string{"a b"}}}},
	{name: "whole body", expr: "$request.body",
		vars: []Var{{Name: "request.body", Root: RootRequestBody}}},
	{name: "whole body braced", expr: "${request.body}",
		vars: []Var{{Name: "request.body", Root: RootRequestBody}}},
	{name: "trailing dot is literal", expr: "$request.body.name.",
		vars: []Var{{Name: "request.body.name", Root: RootRequestBody, Path: []string{"name"}}}},
	{name: "bracket ends unbraced non-body var", expr: "$context.a[0]",
		vars: []Var{{Name: "context.a", Root: RootContext, Path: []string{"a"}}}},
	{name: "header", expr: "$request.header.x-api-key",
		vars: []Var{{Name: "request.header.x-api-key", Root: RootRequestHeader, Path: []string{"x-api-key"}}}},
	{name: "header with dots", expr: "${request.header.X.Custom}",
		vars: []Var{{Name: "request.header.X.Custom", Root: RootRequestHeader, Path: []string{"X.Custom"}}}},
	{name: "querystring", expr: "$request.querystring.token",
		vars: []Var{{Name: "request.querystring.token", Root: RootRequestQueryString, Path: []string{"token"}}}},
	{name: "multivalue header", expr: "$request.multivalueheader.Accept",
		vars: []Var{{Name: "request.multivalueheader.Accept", Root: RootRequestMultiValueHeader, Path: []string{"Accept"}}}},
	{name: "multivalue querystring", expr: "$request.multivaluequerystring.id",
		vars: []Var{{Name: "request.multivaluequerystring.id", Root: RootRequestMultiValueQueryString, Path: []string{"id"}}}},
	{name: "basepath", expr: "$request.basepath",
		vars: []Var{{Name: "request.basepath", Root: RootRequestBasePath}}},
	{name: "context authorizer", expr: "$context.authorizer.usageIdentifierKey",
		vars: []Var{{Name: "context.authorizer.usageIdentifierKey", Root: RootContext, Path: []string{"authorizer", "usageIdentifierKey"}}}},
	{name: "stage variable", expr: "${stageVariables.fn}-alias",
		vars: []Var{{Name: "stageVariables.fn", Root: RootStageVariables, Path: []string{"fn"}}}},
	{name: "status code", expr: "$integration.response.statuscode",
		vars: []Var{{Name: "integration.response.statuscode", Root: RootIntegrationStatusCode}}},
	{name: "response header", expr: "${integration.response.header.Content-Type}",
		vars: []Var{{Name: "integration.response.header.Content-Type", Root: RootIntegrationHeader, Path: []string{"Content-Type"}}}},
	{name: "response multivalue header", expr: "$integration.response.multivalueheader.Set-Cookie",
		vars: []Var{{Name: "integration.response.multivalueheader.Set-Cookie", Root: RootIntegrationMultiValueHeader, Path: []string{"Set-Cookie"}}}},
	{name: "response body", expr: "$integration.response.body.errorMessage",
		vars: []Var{{Name: "integration.response.body.errorMessage", Root: RootIntegrationBody, Path: []string{"errorMessage"}}}},
	{name: "unknown root", expr: "${response.statuscode}",
		vars: []Var{{Name: "response.statuscode", Root: "response", Path: []string{"statuscode"}}}},
	{name: "default as variable", expr: "$default",
		vars: []Var{{Name: "default", Root: "default"}}},
	{name: "request with unknown member", expr: "$request.method",
		vars: []Var{{Name: "request.method", Root: "request", Path: []string{"method"}}}},
	{name: "bodyx is not body", expr: "${request.bodyx.a}",
		vars: []Var{{Name: "request.bodyx.a", Root: "request", Path: []string{"bodyx", "a"}}}},
	{name: "ellipsis after var", expr: "$context.stage...",
		vars: []Var{{Name: "context.stage", Root: RootContext, Path: []string{"stage"}}}},
	{name: "literal around var", expr: "pre-$request.body.a post",
		vars: []Var{{Name: "request.body.a", Root: RootRequestBody, Path: []string{"a"}, Offset: 4}}},
	{name: "dollar in braces is name", expr: "${a$b}",
		vars: []Var{{Name: "a$b", Root: "a$b"}}},
	{name: "index with leading zero", expr: "$request.body[007]",
		vars: []Var{{Name: "request.body[007]", Root: RootRequestBody, Path: []string{"7"}}}},
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse(tc.expr)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.expr, err)
			}
			if got := e.String(); got != tc.expr {
				t.Errorf("String() = %q, want %q", got, tc.expr)
			}
			got, ok := e.Static()
			if ok != tc.isStat || got != tc.static {
				t.Errorf("Static() = %q, %v; want %q, %v", got, ok, tc.static, tc.isStat)
			}
			vars := e.Vars()
			if len(vars) != len(tc.vars) {
				t.Fatalf("Vars() has %d vars, want %d: %+v", len(vars), len(tc.vars), vars)
			}
			for i, v := range vars {
				w := tc.vars[i]
				if v.Name != w.Name || v.Root != w.Root || v.Offset != w.Offset || !reflect.DeepEqual(nilIfEmpty(v.Path), nilIfEmpty(w.Path)) {
					t.Errorf("var %d = {Name:%q Root:%q Path:%q Offset:%d}, want {Name:%q Root:%q Path:%q Offset:%d}",
						i, v.Name, v.Root, v.Path, v.Offset, w.Name, w.Root, w.Path, w.Offset)
				}
			}
		})
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestVarsIsACopy(t *testing.T) {
	e, err := Parse("$request.body.a.b")
	if err != nil {
		t.Fatal(err)
	}
	v := e.Vars()
	v[0].Path[0] = "changed"
	v[0].Root = "changed"
	if got := e.Vars()[0]; got.Path[0] != "a" || got.Root != RootRequestBody {
		t.Fatalf("modifying Vars() changed the expression: %+v", got)
	}
	if got := e.Eval(&Env{Body: []byte(`{"a":{"b":"ok"}}`)}); got != "ok" {
		t.Fatalf("Eval after modifying Vars() = %q, want ok", got)
	}
}

// errorCases are malformed expressions with the offset the error must name.
var errorCases = []struct {
	name   string
	expr   string
	offset int
}{
	{name: "lone dollar", expr: "$", offset: 0},
	{name: "dollar then space", expr: "a $ b", offset: 2},
	{name: "dollar then dash", expr: "$-x", offset: 0},
	{name: "double dollar", expr: "$$a", offset: 0},
	{name: "empty braces", expr: "x${}", offset: 1},
	{name: "unclosed brace", expr: "${request.body.action", offset: 0},
	{name: "unclosed brace non-body", expr: "ab${context.x", offset: 2},
	{name: "unclosed brace after bracket", expr: "${request.body['a']", offset: 0},
	{name: "empty segment braced", expr: "${a..b}", offset: 4},
	{name: "leading dot braced", expr: "${.a}", offset: 2},
	{name: "trailing dot braced", expr: "${context.}", offset: 10},
	{name: "body deep scan", expr: "$request.body..a", offset: 14},
	{name: "body deep scan braced", expr: "${request.body..a}", offset: 15},
	{name: "wildcard dot", expr: "$request.body.*", offset: 14},
	{name: "wildcard braced", expr: "${request.body.a.*}", offset: 17},
	{name: "wildcard bracket", expr: "$request.body[*]", offset: 14},
	{name: "unclosed bracket", expr: "$request.body[", offset: 13},
	{name: "unclosed index", expr: "$request.body[12", offset: 16},
	{name: "bare word in bracket", expr: "$request.body[abc]", offset: 13},
	{name: "negative index", expr: "$request.body[-1]", offset: 13},
	{name: "index too large", expr: "$request.body[1234567890]", offset: 14},
	{name: "unterminated quoted key", expr: "$request.body['abc", offset: 13},
	{name: "quoted key without bracket close", expr: "$request.body['a'x]", offset: 17},
	{name: "junk after bracket braced", expr: "${request.body['a']x}", offset: 19},
	{name: "stray close bracket braced", expr: "${request.body.a]}", offset: 16},
	{name: "error in second var", expr: "${request.body.a}-$", offset: 18},
}

func TestParseErrors(t *testing.T) {
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse(tc.expr)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error", tc.expr, e.Vars())
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("errors.Is(%v, ErrSyntax) = false", err)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *SyntaxError", err)
			}
			if se.Offset != tc.offset || se.Expr != tc.expr {
				t.Errorf("SyntaxError{Expr:%q Offset:%d} (%v), want offset %d", se.Expr, se.Offset, err, tc.offset)
			}
		})
	}
}
