package vtl

import (
	"testing"
)

func TestUtil(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want string
	}{
		{name: "escapeJavaScript quotes, slashes and controls", src: `$util.escapeJavaScript("it's ""q"" \ / ` + "\n\t\r\b\f\x01\x1f\x7f" + `")`, want: `it\'s \"q\" \\ \/ \n\t\r\b\f\u0001\u001F` + "\x7f"},
		{name: "escapeJavaScript non-ASCII as UTF-16 escapes", src: `$util.escapeJavaScript('é€😀')`, want: `\u00E9\u20AC\uD83D\uDE00`},
		{name: "escapeJavaScript of JSON text", src: `$util.escapeJavaScript('{"foo": 123}')`, want: `{\"foo\": 123}`},
		{name: "escapeJavaScript quote fix from the AWS docs", src: `$util.escapeJavaScript("it's").replaceAll("\\'","'")`, want: `it's`},
		{name: "escapeJavaScript of a number", src: `$util.escapeJavaScript(1)`, want: `1`},
		{name: "escapeJavaScript of null", src: `[$util.escapeJavaScript($nope)]`, want: `[]`},
		{name: "urlEncode like URLEncoder", src: `$util.urlEncode("a b&c=d/é~*._-+")`, want: `a+b%26c%3Dd%2F%C3%A9%7E*._-%2B`},
		{name: "urlDecode", src: `$util.urlDecode('a+b%26c%3Dd%2F%C3%A9%7e')`, want: `a b&c=d/é~`},
		{name: "urlDecode of invalid UTF-8", src: `$util.urlDecode('%FF')`, want: "\uFFFD"},
		{name: "base64Encode", src: `$util.base64Encode('héllo')`, want: `aMOpbGxv`},
		{name: "base64Decode", src: `$util.base64Decode('aMOpbGxv')`, want: `héllo`},
		{name: "base64Decode without padding and URL-safe", src: `$util.base64Decode('Pz8-') $util.base64Decode('YQ')`, want: `??> a`},
		{name: "base64 round trip", src: `$util.base64Decode($util.base64Encode($input.body))`, want: `{"a":"b c"}`},
		{name: "parseJson object", src: `#set($o = $util.parseJson('{"key1":"var1","key2":{"arr":[1,2,3]}}'))$o.key2.arr[0] $o.key2.arr $o.key2 $o.key1`, want: `1 [1,2,3] {arr=[1,2,3]} var1`},
		{name: "parseJson scalars", src: `$util.parseJson('"s"') $util.parseJson('1.50') $util.parseJson('true') [$util.parseJson('null')]`, want: `s 1.5 true []`},
		{name: "unknown util function", src: `[$util.toJson('x')][$util.escapeJavaScript()]`, want: `[][]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv()
			env.Input.Body = []byte(`{"a":"b c"}`)
			got, err := mustParse(t, tc.src).Execute(env)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestInput(t *testing.T) {
	cases := []struct {
		name string
		src  string
		body string // testEnv's body when empty
		want string
	}{
		{name: "body is raw", src: `$input.body`, body: "not json\n", want: "not json\n"},
		{name: "empty body reads as an empty object", src: `$input.body $input.json('$')`, body: "-", want: `{} {}`},
		{name: "json of the whole body is compact", src: `$input.json('$')`, body: "{ \"a\" : [1, 2.50, \"x\"] , \"b\":null}", want: `{"a":[1,2.5,"x"],"b":null}`},
		{name: "json of a string is quoted", src: `$input.json('$.action')`, want: `"send"`},
		{name: "json of scalars", src: `$input.json('$.data.n') $input.json('$.data.price') $input.json('$.data.ok') $input.json('$.data.nothing')`, want: `3 249.99 true null`},
		{name: "json of a missing member is empty", src: `[$input.json('$.nope')][$input.json('$.data.room.x')][$input.json('$.items[9]')]`, want: `[][][]`},
		{name: "json escapes strings", src: `$input.json('$.s')`, body: `{"s":"a\"b\\c\n\u00e9\/"}`, want: `"a\"b\\c\né/"`},
		{name: "json bracket notation", src: `$input.json("$['data']['room']") $input.json('$.items[-1].name') $input.json('data.room')`, want: `"r1" "z" "r1"`},
		{name: "json wildcard", src: `$input.json('$.items[*].id') $input.json('$.data.tags.*')`, want: `[1,2,3] ["a","b"]`},
		{name: "json deep scan", src: `$input.json('$..name')`, body: `{"a":{"name":"deep"},"name":"top"}`, want: `["top","deep"]`},
		{name: "json slices and unions", src: `$input.json('$.items[0:2].id') $input.json('$.items[1:].id') $input.json('$.items[0,2].name') $input.json("$.data['room','n']")`, want: `[1,2] [2,3] ["x","z"] ["r1",3]`},
		{name: "json of no matches is an empty array", src: `$input.json('$.items[*].nope')`, want: `[]`},
		{name: "json of a top-level array", src: `$input.json('$[1]') $input.json('$.length')`, body: `[10,20]`, want: `20 `},
		{name: "path of an object renders like a Java map", src: `$input.path('$.data')`, want: `{room=r1, n=3, price=249.99, tags=["a","b"], nothing=null, ok=true}`},
		{name: "path of an array renders as JSON", src: `$input.path('$.items')`, want: `[{"id":1,"name":"x"},{"id":2,"name":"y"},{"id":3,"name":"z"}]`},
		{name: "path values", src: `$input.path('$.data.room') $input.path('$.data.n') [$input.path('$.nope')] $input.path('$.items').size() $input.path('$.items')[1].name`, want: `r1 3 [] 3 y`},
		{name: "path of a number compares numerically", src: `#if($input.path('$.data.n') > 2)big#end`, want: `big`},
		{name: "path size of an object", src: `$input.path('$.things').size() $input.path('$.things').count()`, body: `{"things":{"1":{},"2":{},"3":{}}}`, want: `3 3`},
		{name: "path of a JSON string body", src: `$input.path('$')`, body: `"hello"`, want: `hello`},
		{name: "params searches path, query string, header", src: `$input.params('id') $input.params('name') $input.params('X-Trace') $input.params('x-trace') [$input.params('nope')]`, want: `p-1 Bella t-1 t-1 []`},
		{name: "params map", src: `$input.params() $input.params().header.get('Host') $input.params().querystring.keySet()`, want: `{path={id=p-1}, querystring={id=q-1, name=Bella}, header={Host=abc.execute-api.local, X-Trace=t-1}} abc.execute-api.local [id, name]`},
		{name: "input as a string", src: `$input ${input.body.length()}`, body: `{}`, want: `$input 2`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv()
			switch tc.body {
			case "":
			case "-":
				env.Input.Body = nil
			default:
				env.Input.Body = []byte(tc.body)
			}
			got, err := mustParse(t, tc.src).Execute(env)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestContextConversion(t *testing.T) {
	type custom struct{ A int }
	env := &Env{
		Context: map[string]any{
			"ints":    []int{1, 2},
			"uint":    uint64(1) << 63,
			"f32":     float32(1.5),
			"strs":    map[string]string{"b": "2", "a": "1"},
			"ptr":     &custom{A: 1},
			"nilptr":  (*custom)(nil),
			"bytes":   []byte("raw"),
			"anyList": []any{"x", int32(3), nil},
		},
		Vars: map[string]any{"integration": map[string]any{"response": map[string]any{"statuscode": 200}}},
	}
	got, err := mustParse(t, `$context.ints $context.uint $context.f32 $context.strs [$context.nilptr] $context.bytes $context.anyList $integration.response.statuscode $context.ptr`).Execute(env)
	if err != nil {
		t.Fatal(err)
	}
	if want := `[1, 2] 9.223372036854776E18 1.5 {a=1, b=2} [] raw [x, 3, null] 200 {1}`; got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}
