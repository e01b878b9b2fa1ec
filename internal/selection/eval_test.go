package selection

import (
	"reflect"
	"testing"
)

const chatBody = `{"service":"chat","action":"join","data":{"room":"room1234"}}`

// evalCases run through Eval (Env.Body) and, where route says so, through
// SelectRoute with the same expectations; the fuzzers use them as seeds.
var evalCases = []struct {
	name   string
	expr   string
	body   string
	want   string
	isJSON bool // SelectRoute's answer
}{
	// The AWS developer guide examples (spec §2.4).
	{name: "aws dollar path", expr: "$request.body.action", body: chatBody, want: "join", isJSON: true},
	{name: "aws braced path", expr: "${request.body.action}", body: chatBody, want: "join", isJSON: true},
	{name: "aws two vars", expr: "${request.body.service}/${request.body.action}", body: chatBody, want: "chat/join", isJSON: true},
	{name: "aws missing path", expr: "${request.body.action}-${request.body.invalidPath}", body: chatBody, want: "join-", isJSON: true},
	{name: "aws static", expr: "action", body: chatBody, want: "action", isJSON: true},
	{name: "aws escaped default", expr: `\$default`, body: chatBody, want: "$default", isJSON: true},

	// Paths.
	{name: "nested", expr: "$request.body.data.room", body: chatBody, want: "room1234", isJSON: true},
	{name: "nested missing leaf", expr: "$request.body.data.nope", body: chatBody, want: "", isJSON: true},
	{name: "path through string", expr: "$request.body.action.x", body: chatBody, want: "", isJSON: true},
	{name: "array index", expr: "$request.body.items[1]", body: `{"items":["a","b","c"]}`, want: "b", isJSON: true},
	{name: "array index past end", expr: "$request.body.items[3]", body: `{"items":["a","b","c"]}`, want: "", isJSON: true},
	{name: "index then key", expr: "$request.body.items[1].id", body: `{"items":[{"id":1},{"id":2}]}`, want: "2", isJSON: true},
	{name: "top-level array", expr: "$request.body[0].action", body: `[{"action":"x"}]`, want: "x", isJSON: true},
	{name: "key on array is missing", expr: "$request.body.items.0", body: `{"items":["a"]}`, want: "", isJSON: true},
	{name: "index on object is missing", expr: "$request.body[0]", body: `{"0":"a"}`, want: "", isJSON: true},
	{name: "quoted numeric key", expr: "$request.body['0']", body: `{"0":"a"}`, want: "a", isJSON: true},
	{name: "bracket key with dot", expr: "$request.body['a.b']", body: `{"a":{"b":"nested"},"a.b":"flat"}`, want: "flat", isJSON: true},
	{name: "double quoted bracket key", expr: `$request.body["x"]`, body: `{"x":"y"}`, want: "y", isJSON: true},
	{name: "empty key", expr: `${request.body['']}`, body: `{"":"empty"}`, want: "empty", isJSON: true},
	{name: "skip nested siblings", expr: "$request.body.k", body: `{"a":{"b":[1,{"c":"}"}],"d":"\""},"k":"v"}`, want: "v", isJSON: true},

	// Value text.
	{name: "unicode escape", expr: "$request.body.a", body: `{"a":"caf\u00e9"}`, want: "café", isJSON: true},
	{name: "surrogate pair", expr: "$request.body.a", body: `{"a":"\ud83d\ude00!"}`, want: "😀!", isJSON: true},
	{name: "lone high surrogate", expr: "$request.body.a", body: `{"a":"\ud83dx"}`, want: "\uFFFDx", isJSON: true},
	{name: "high surrogate then non-low escape", expr: "$request.body.a", body: `{"a":"\ud83d\u0041"}`, want: "\uFFFDA", isJSON: true},
	{name: "lone low surrogate", expr: "$request.body.a", body: `{"a":"\ude00"}`, want: "\uFFFD", isJSON: true},
	{name: "simple escapes", expr: "$request.body.a", body: `{"a":"q\"b\\s\/n\nt\tr\rb\bf\f"}`, want: "q\"b\\s/n\nt\tr\rb\bf\f", isJSON: true},
	{name: "raw utf8", expr: "$request.body.a", body: `{"a":"日本"}`, want: "日本", isJSON: true},
	{name: "invalid utf8 replaced", expr: "$request.body.a", body: "{\"a\":\"x\xffy\"}", want: "x\uFFFDy", isJSON: true},
	{name: "escaped key", expr: "$request.body.action", body: `{"\u0061ction":"join"}`, want: "join", isJSON: true},
	{name: "unicode key", expr: "${request.body.café}", body: `{"caf\u00e9":"ok"}`, want: "ok", isJSON: true},
	{name: "integer", expr: "$request.body.n", body: `{"n":5}`, want: "5", isJSON: true},
	{name: "decimal kept as written", expr: "$request.body.n", body: `{"n":1.50}`, want: "1.50", isJSON: true},
	{name: "exponent kept as written", expr: "$request.body.n", body: `{"n":-1E+3}`, want: "-1E+3", isJSON: true},
	{name: "true", expr: "$request.body.b", body: `{"b":true}`, want: "true", isJSON: true},
	{name: "false", expr: "$request.body.b", body: `{"b":false}`, want: "false", isJSON: true},
	{name: "null is empty", expr: "$request.body.b", body: `{"b":null}`, want: "", isJSON: true},
	{name: "array stringified", expr: "$request.body.a", body: `{"a":["item1","item2"]}`, want: "[item1, item2]", isJSON: true},
	{name: "object stringified", expr: "$request.body.o", body: `{"o":{"a":1,"b":"x"}}`, want: "{a=1, b=x}", isJSON: true},
	{name: "nested collections stringified", expr: "$request.body.o",
		body: `{"o":{"a":[1,"x",null,true,{"b":"c\u0021"}],"e":{},"f":[]}}`, want: "{a=[1, x, null, true, {b=c!}], e={}, f=[]}", isJSON: true},
	{name: "whole body", expr: "$request.body", body: `{"a":1}`, want: "{a=1}", isJSON: true},
	{name: "whole scalar body", expr: "$request.body", body: ` "hi" `, want: "hi", isJSON: true},
	{name: "key with literal around", expr: "pre-${request.body.a}-post", body: `{"a":"x"}`, want: "pre-x-post", isJSON: true},

	// Whitespace everywhere JSON allows it.
	{name: "whitespace", expr: "$request.body.a.b[1]",
		body: " \t\r\n{ \"x\" : [ 1 , { } ] ,\n \"a\"\t:\r{ \"b\" : [ 0 ,\n\"two\" ] } } \n", want: "two", isJSON: true},
	{name: "whitespace in stringified", expr: "$request.body.a", body: "{\"a\": [ 1 ,\n {\"b\" : \"c d\" } ] }", want: "[1, {b=c d}]", isJSON: true},

	// Duplicate keys: the last one wins, as with encoding/json.
	{name: "duplicate last wins", expr: "$request.body.action", body: `{"action":"a","action":"b"}`, want: "b", isJSON: true},
	{name: "duplicate after escapes", expr: "$request.body.action", body: `{"action":"a","t":"\n","action":"b"}`, want: "b", isJSON: true},
	{name: "duplicate escaped key", expr: "$request.body.action", body: `{"action":"a","\u0061ction":"b"}`, want: "b", isJSON: true},
	{name: "duplicate parent replaces", expr: "$request.body.data.room", body: `{"data":{"room":"r1"},"data":{"other":1}}`, want: "", isJSON: true},
	{name: "duplicate parent supplies", expr: "$request.body.data.room", body: `{"data":{},"data":{"room":"r2"}}`, want: "r2", isJSON: true},
	{name: "duplicate leaf in nested", expr: "$request.body.data.room", body: `{"data":{"room":"r1","room":"r2"}}`, want: "r2", isJSON: true},
	{name: "key text in value is not a duplicate", expr: "$request.body.action", body: `{"action":"a","t":"\"action\""}`, want: "a", isJSON: true},
	{name: "malformed after duplicate keeps first", expr: "$request.body.action", body: `{"action":"a","action":"b",`, want: "a", isJSON: true},

	// Lazy reading: what comes after the value is not validated.
	{name: "garbage after object", expr: "$request.body.action", body: `{"action":"join"}garbage`, want: "join", isJSON: true},
	{name: "truncated after value", expr: "$request.body.action", body: `{"action":"join",`, want: "join", isJSON: true},
	{name: "garbage after missing", expr: "$request.body.action", body: `{"a":1}garbage`, want: "", isJSON: true},

	// Not JSON.
	{name: "plain text", expr: "$request.body.action", body: "hi", want: "", isJSON: false},
	{name: "empty body", expr: "$request.body.action", body: "", want: "", isJSON: false},
	{name: "blank body", expr: "$request.body.action", body: " \n\t", want: "", isJSON: false},
	{name: "truncated before value", expr: "$request.body.action", body: `{"action":`, want: "", isJSON: false},
	{name: "truncated in value", expr: "$request.body.action", body: `{"action":"jo`, want: "", isJSON: false},
	{name: "malformed before value", expr: "$request.body.action", body: `{"x":tru,"action":"a"}`, want: "", isJSON: false},
	{name: "unquoted key", expr: "$request.body.action", body: `{action:"a"}`, want: "", isJSON: false},
	{name: "trailing comma before value", expr: "$request.body.action", body: `{"x":1,,"action":"a"}`, want: "", isJSON: false},
	{name: "control char in string", expr: "$request.body.action", body: "{\"action\":\"a\tb\"}", want: "", isJSON: false},
	{name: "bad escape", expr: "$request.body.action", body: `{"action":"\x"}`, want: "", isJSON: false},
	{name: "leading zero", expr: "$request.body.action", body: `{"x":01,"action":"a"}`, want: "", isJSON: false},
	{name: "mismatched bracket", expr: "$request.body.action", body: `{"x":[1},"action":"a"}`, want: "", isJSON: false},
	{name: "scalar with garbage", expr: "$request.body.action", body: `5 garbage`, want: "", isJSON: false},
	{name: "non-json keeps literals", expr: "x-${request.body.a}-y", body: "hi", want: "x--y", isJSON: false},
	{name: "top-level scalar missing path", expr: "$request.body.action", body: `"hello"`, want: "", isJSON: true},
	{name: "top-level number", expr: "$request.body.action", body: `42`, want: "", isJSON: true},

	// Static expressions: isJSON says whether the message starts like JSON.
	{name: "static object", expr: "fixed", body: `{"whatever`, want: "fixed", isJSON: true},
	{name: "static array", expr: "fixed", body: ` [`, want: "fixed", isJSON: true},
	{name: "static scalar", expr: "fixed", body: `"s"`, want: "fixed", isJSON: true},
	{name: "static text", expr: "fixed", body: `hi`, want: "fixed", isJSON: false},
	{name: "static bad scalar", expr: "fixed", body: `nope`, want: "fixed", isJSON: false},
	{name: "static empty", expr: "fixed", body: ``, want: "fixed", isJSON: false},
}

func TestEval(t *testing.T) {
	for _, tc := range evalCases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse(tc.expr)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.expr, err)
			}
			if got := e.Eval(&Env{Body: []byte(tc.body)}); got != tc.want {
				t.Errorf("Eval = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSelectRoute(t *testing.T) {
	for _, tc := range evalCases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse(tc.expr)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.expr, err)
			}
			key, isJSON := e.SelectRoute([]byte(tc.body))
			if key != tc.want || isJSON != tc.isJSON {
				t.Errorf("SelectRoute = %q, %v; want %q, %v", key, isJSON, tc.want, tc.isJSON)
			}
			buf := []byte("prefix:")
			k, ok := e.AppendRouteKey(buf, []byte(tc.body))
			if string(k) != "prefix:"+tc.want || ok != tc.isJSON {
				t.Errorf("AppendRouteKey = %q, %v; want %q, %v", k, ok, "prefix:"+tc.want, tc.isJSON)
			}
		})
	}
}

func TestEvalLookup(t *testing.T) {
	type call struct {
		root string
		path []string
	}
	values := map[string]string{
		RootRequestHeader + "/x-api-key":                "k123",
		RootRequestQueryString + "/token":               "t",
		RootContext + "/authorizer.usageIdentifierKey":  "uik",
		RootContext + "/connectionId":                   "abc=",
		RootStageVariables + "/fn":                      "myfunc",
		RootIntegrationStatusCode + "/":                 "404",
		RootIntegrationHeader + "/Content-Type":         "text/plain",
		RootIntegrationMultiValueHeader + "/Set-Cookie": "a=1",
		RootRequestMultiValueHeader + "/Accept":         "a/b",
		RootRequestMultiValueQueryString + "/id":        "1",
		RootRequestBasePath + "/":                       "v1",
		"response/statuscode":                           "200",
	}
	key := func(root string, path []string) string {
		k := root + "/"
		for i, p := range path {
			if i > 0 {
				k += "."
			}
			k += p
		}
		return k
	}
	tests := []struct {
		name  string
		expr  string
		want  string
		calls []call
	}{
		{name: "api key header", expr: "$request.header.x-api-key", want: "k123",
			calls: []call{{RootRequestHeader, []string{"x-api-key"}}}},
		{name: "usage identifier", expr: "$context.authorizer.usageIdentifierKey", want: "uik",
			calls: []call{{RootContext, []string{"authorizer", "usageIdentifierKey"}}}},
		{name: "stage variable in uri", expr: "arn:fn:${stageVariables.fn}:live", want: "arn:fn:myfunc:live",
			calls: []call{{RootStageVariables, []string{"fn"}}}},
		{name: "status code", expr: "${integration.response.statuscode}", want: "404",
			calls: []call{{RootIntegrationStatusCode, nil}}},
		{name: "response header", expr: "$integration.response.header.Content-Type", want: "text/plain",
			calls: []call{{RootIntegrationHeader, []string{"Content-Type"}}}},
		{name: "multivalue", expr: "$request.multivalueheader.Accept|$request.multivaluequerystring.id|$integration.response.multivalueheader.Set-Cookie",
			want: "a/b|1|a=1", calls: []call{
				{RootRequestMultiValueHeader, []string{"Accept"}},
				{RootRequestMultiValueQueryString, []string{"id"}},
				{RootIntegrationMultiValueHeader, []string{"Set-Cookie"}},
			}},
		{name: "basepath", expr: "$request.basepath", want: "v1", calls: []call{{RootRequestBasePath, nil}}},
		{name: "unknown root still looked up", expr: "${response.statuscode}", want: "200",
			calls: []call{{"response", []string{"statuscode"}}}},
		{name: "missing is empty", expr: "[$request.querystring.nope]", want: "[]",
			calls: []call{{RootRequestQueryString, []string{"nope"}}}},
		{name: "mixed with body", expr: "${request.body.action}:${context.connectionId}", want: "join:abc=",
			calls: []call{{RootContext, []string{"connectionId"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			var calls []call
			env := &Env{Body: []byte(chatBody), Lookup: func(root string, path []string) (string, bool) {
				calls = append(calls, call{root, nilIfEmpty(append([]string(nil), path...))})
				v, ok := values[key(root, path)]
				return v, ok
			}}
			if got := e.Eval(env); got != tc.want {
				t.Errorf("Eval = %q, want %q", got, tc.want)
			}
			if !reflect.DeepEqual(calls, tc.calls) {
				t.Errorf("Lookup calls = %q, want %q", calls, tc.calls)
			}
		})
	}
}

func TestEvalEnvEdges(t *testing.T) {
	tests := []struct {
		name string
		expr string
		env  *Env
		want string
	}{
		{name: "nil env", expr: "a${request.body.x}b${context.y}c", env: nil, want: "abc"},
		{name: "nil lookup", expr: "a${context.y}c", env: &Env{}, want: "ac"},
		{name: "response body", expr: "$integration.response.body.errorMessage",
			env: &Env{Body: []byte(`{"errorMessage":"req"}`), ResponseBody: []byte(`{"errorMessage":"boom"}`)}, want: "boom"},
		{name: "response body falls back to body", expr: "$integration.response.body.errorMessage",
			env: &Env{Body: []byte(`{"errorMessage":"req"}`)}, want: "req"},
		{name: "empty response body does not fall back", expr: "$integration.response.body.errorMessage",
			env: &Env{Body: []byte(`{"errorMessage":"req"}`), ResponseBody: []byte{}}, want: ""},
		{name: "request body ignores response body", expr: "$request.body.errorMessage",
			env: &Env{Body: []byte(`{"errorMessage":"req"}`), ResponseBody: []byte(`{"errorMessage":"boom"}`)}, want: "req"},
		{name: "non-json body var is empty", expr: "<$request.body.a>", env: &Env{Body: []byte("hi")}, want: "<>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Eval(tc.env); got != tc.want {
				t.Errorf("Eval = %q, want %q", got, tc.want)
			}
		})
	}
}
