package integration

import (
	"errors"
	"strings"
	"testing"
)

var functionURICases = []struct {
	name      string
	uri       string
	fn, qual  string
	arn       string // unqualified ARN remote calls send; "" for bare names
	region    string
	wantErr   bool
	errSubstr string
}{
	{name: "bare name", uri: "my-fn", fn: "my-fn"},
	{name: "bare name with alias", uri: "my_fn:live", fn: "my_fn", qual: "live"},
	{name: "bare name with version", uri: "fn:42", fn: "fn", qual: "42"},
	{name: "bare name with $LATEST", uri: "fn:$LATEST", fn: "fn", qual: "$LATEST"},
	{name: "function ARN", uri: "arn:aws:lambda:us-east-1:123456789012:function:my-fn",
		fn: "my-fn", arn: "arn:aws:lambda:us-east-1:123456789012:function:my-fn", region: "us-east-1"},
	{name: "qualified function ARN", uri: "arn:aws:lambda:eu-west-3:123456789012:function:my-fn:prod",
		fn: "my-fn", qual: "prod", arn: "arn:aws:lambda:eu-west-3:123456789012:function:my-fn", region: "eu-west-3"},
	{name: "China partition", uri: "arn:aws-cn:lambda:cn-north-1:123456789012:function:fn",
		fn: "fn", arn: "arn:aws-cn:lambda:cn-north-1:123456789012:function:fn", region: "cn-north-1"},
	{name: "GovCloud partition", uri: "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:fn:1",
		fn: "fn", qual: "1", arn: "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:fn", region: "us-gov-west-1"},
	{name: "ISO-B partition", uri: "arn:aws-iso-b:lambda:us-isob-east-1:123456789012:function:fn",
		fn: "fn", arn: "arn:aws-iso-b:lambda:us-isob-east-1:123456789012:function:fn", region: "us-isob-east-1"},
	{name: "invocation URI",
		uri: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:chat/invocations",
		fn:  "chat", arn: "arn:aws:lambda:us-east-1:123456789012:function:chat", region: "us-east-1"},
	{name: "invocation URI with alias",
		uri: "arn:aws:apigateway:us-west-2:lambda:path/2015-03-31/functions/arn:aws:lambda:us-west-2:123456789012:function:chat:live/invocations",
		fn:  "chat", qual: "live", arn: "arn:aws:lambda:us-west-2:123456789012:function:chat", region: "us-west-2"},
	{name: "invocation URI in GovCloud",
		uri: "arn:aws-us-gov:apigateway:us-gov-east-1:lambda:path/2015-03-31/functions/arn:aws-us-gov:lambda:us-gov-east-1:123456789012:function:f/invocations",
		fn:  "f", arn: "arn:aws-us-gov:lambda:us-gov-east-1:123456789012:function:f", region: "us-gov-east-1"},

	{name: "empty", uri: "", wantErr: true, errSubstr: "empty"},
	{name: "unresolved stage variable", uri: "arn:aws:lambda:us-east-1:123456789012:function:${stageVariables.fn}",
		wantErr: true, errSubstr: "stageVariables"},
	{name: "HTTP URL", uri: "https://example.com/x", wantErr: true, errSubstr: "HTTP"},
	{name: "name too long", uri: strings.Repeat("a", 65), wantErr: true, errSubstr: "1-64"},
	{name: "name with dot", uri: "my.fn", wantErr: true, errSubstr: "function name"},
	{name: "empty qualifier", uri: "fn:", wantErr: true, errSubstr: "qualifier"},
	{name: "bad qualifier", uri: "fn:a.b", wantErr: true, errSubstr: "qualifier"},
	{name: "partial ARN is not a URI", uri: "123456789012:function:fn", wantErr: true},
	{name: "ARN of another service", uri: "arn:aws:sqs:us-east-1:123456789012:queue", wantErr: true, errSubstr: "service"},
	{name: "bad partition", uri: "arn:azure:lambda:us-east-1:123456789012:function:fn", wantErr: true, errSubstr: "partition"},
	{name: "bad region", uri: "arn:aws:lambda:region:123456789012:function:fn", wantErr: true, errSubstr: "region"},
	{name: "placeholder account", uri: "arn:aws:lambda:us-east-1:account-id:function:fn", wantErr: true, errSubstr: "12 digits"},
	{name: "layer ARN", uri: "arn:aws:lambda:us-east-1:123456789012:layer:l:1", wantErr: true, errSubstr: "function:NAME"},
	{name: "too many parts", uri: "arn:aws:lambda:us-east-1:123456789012:function:fn:1:2", wantErr: true, errSubstr: "too many"},
	{name: "truncated ARN", uri: "arn:aws:lambda", wantErr: true, errSubstr: "truncated"},
	{name: "invocation URI without suffix",
		uri:     "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:f",
		wantErr: true, errSubstr: "/invocations"},
	{name: "invocation URI with bare name",
		uri:     "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/f/invocations",
		wantErr: true, errSubstr: "function ARN"},
	{name: "API Gateway ARN of another kind", uri: "arn:aws:apigateway:us-east-1::/apis/abc", wantErr: true, errSubstr: "invocation URI"},
	{name: "nested invocation URI",
		uri:     "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:f/invocations/invocations",
		wantErr: true},
}

func TestParseFunctionURI(t *testing.T) {
	for _, tc := range functionURICases {
		t.Run(tc.name, func(t *testing.T) {
			fn, qual, err := ParseFunctionURI(tc.uri)
			if tc.wantErr {
				if !errors.Is(err, ErrBadURI) {
					t.Fatalf("ParseFunctionURI(%q) = %q, %q, %v; want ErrBadURI", tc.uri, fn, qual, err)
				}
				if !strings.Contains(err.Error(), tc.errSubstr) {
					t.Errorf("error %q does not mention %q", err, tc.errSubstr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFunctionURI(%q): %v", tc.uri, err)
			}
			if fn != tc.fn || qual != tc.qual {
				t.Errorf("ParseFunctionURI(%q) = %q, %q; want %q, %q", tc.uri, fn, qual, tc.fn, tc.qual)
			}
			ref, err := parseFunctionURI(tc.uri)
			if err != nil {
				t.Fatal(err)
			}
			if ref.arn != tc.arn || ref.region != tc.region {
				t.Errorf("arn, region = %q, %q; want %q, %q", ref.arn, ref.region, tc.arn, tc.region)
			}
		})
	}
}

func TestParseFunctionRefPartialARN(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       string
		fn, qual string
		wantErr  bool
	}{
		{name: "partial ARN", in: "123456789012:function:fn", fn: "fn"},
		{name: "qualified partial ARN", in: "123456789012:function:fn:7", fn: "fn", qual: "7"},
		{name: "bad account", in: "1234:function:fn", wantErr: true},
		{name: "not function", in: "123456789012:layer:fn", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref, err := parseFunctionRef(tc.in, true)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parseFunctionRef(%q) = %+v; want an error", tc.in, ref)
				}
				return
			}
			if err != nil || ref.name != tc.fn || ref.qualifier != tc.qual {
				t.Fatalf("parseFunctionRef(%q) = %+v, %v; want %q, %q", tc.in, ref, err, tc.fn, tc.qual)
			}
		})
	}
}

func FuzzParseFunctionURI(f *testing.F) {
	for _, tc := range functionURICases {
		f.Add(tc.uri)
	}
	f.Add("123456789012:function:fn:1")
	f.Fuzz(func(t *testing.T, uri string) {
		// The Invoke API's FunctionName (partial ARNs too) obeys the same
		// rules.
		if ref, err := parseFunctionRef(uri, true); err == nil {
			if !isWord(ref.name, 64) || (ref.qualifier != "" && ref.qualifier != "$LATEST" && !isWord(ref.qualifier, 128)) {
				t.Fatalf("FunctionName %q: accepted %+v", uri, ref)
			}
		}
		ref, err := parseFunctionURI(uri)
		if err != nil {
			if !errors.Is(err, ErrBadURI) {
				t.Fatalf("error %v is not ErrBadURI", err)
			}
			return
		}
		if !isWord(ref.name, 64) {
			t.Fatalf("%q: accepted name %q", uri, ref.name)
		}
		if ref.qualifier != "" && ref.qualifier != "$LATEST" && !isWord(ref.qualifier, 128) {
			t.Fatalf("%q: accepted qualifier %q", uri, ref.qualifier)
		}
		// The shorthand of what was parsed parses to the same thing, and
		// so does the ARN remote calls send.
		short := ref.name
		if ref.qualifier != "" {
			short += ":" + ref.qualifier
		}
		if n, q, err := ParseFunctionURI(short); err != nil || n != ref.name || q != ref.qualifier {
			t.Fatalf("%q: shorthand %q parses to %q, %q, %v", uri, short, n, q, err)
		}
		if ref.arn != "" {
			again, err := parseFunctionURI(ref.arn)
			if err != nil || again.name != ref.name || again.arn != ref.arn || again.qualifier != "" {
				t.Fatalf("%q: ARN %q parses to %+v, %v", uri, ref.arn, again, err)
			}
			if !strings.HasSuffix(ref.arn, ":function:"+ref.name) || ref.region == "" {
				t.Fatalf("%q: ARN %q region %q", uri, ref.arn, ref.region)
			}
		}
	})
}

var stageVariableCases = []struct {
	name    string
	in      string
	vars    map[string]string
	want    string
	wantErr error
	errText string
}{
	{name: "no references", in: "https://example.com/a?b=c", want: "https://example.com/a?b=c"},
	{name: "host", in: "http://${stageVariables.host}/path", vars: map[string]string{"host": "api.internal:8080"},
		want: "http://api.internal:8080/path"},
	{name: "function name and alias",
		in:   "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:${stageVariables.fn}:${stageVariables.alias}/invocations",
		vars: map[string]string{"fn": "chat", "alias": "live"},
		want: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:chat:live/invocations"},
	{name: "adjacent references", in: "${stageVariables.a}${stageVariables.b_2}", vars: map[string]string{"a": "x", "b_2": "y"}, want: "xy"},
	{name: "value not rescanned", in: "${stageVariables.a}", vars: map[string]string{"a": "${stageVariables.b}"},
		want: "${stageVariables.b}"},
	{name: "empty value", in: "a${stageVariables.e}b", vars: map[string]string{"e": ""}, want: "ab"},
	{name: "other braces left alone", in: "x/${request.body.action}/${stageVariables.v}", vars: map[string]string{"v": "1"},
		want: "x/${request.body.action}/1"},
	{name: "undefined", in: "http://${stageVariables.backend}/x", wantErr: ErrUndefinedStageVariable, errText: "backend"},
	{name: "undefined with nil map", in: "${stageVariables.fn}", wantErr: ErrUndefinedStageVariable, errText: "fn"},
	{name: "unterminated", in: "http://${stageVariables.host/x", vars: map[string]string{"host": "h"}, wantErr: ErrBadURI, errText: "unterminated"},
	{name: "empty name", in: "${stageVariables.}", wantErr: ErrBadURI, errText: "name"},
	{name: "bad name", in: "${stageVariables.a-b}", vars: map[string]string{"a-b": "x"}, wantErr: ErrBadURI, errText: "a-b"},
}

func TestResolveStageVariables(t *testing.T) {
	for _, tc := range stageVariableCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResolveStageVariables(tc.in, tc.vars)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("ResolveStageVariables(%q) = %q, %v; want %v", tc.in, got, err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.errText) {
					t.Errorf("error %q does not mention %q", err, tc.errText)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ResolveStageVariables(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func FuzzResolveStageVariables(f *testing.F) {
	for _, tc := range stageVariableCases {
		f.Add(tc.in, "v")
	}
	f.Fuzz(func(t *testing.T, in, value string) {
		// Every well-formed name is defined, with a value free of
		// references, so only malformed references may fail.
		vars := map[string]string{}
		rest := in
		for {
			i := strings.Index(rest, stageVariablePrefix)
			if i < 0 {
				break
			}
			rest = rest[i+len(stageVariablePrefix):]
			if end := strings.IndexByte(rest, '}'); end >= 0 {
				vars[rest[:end]] = value
			}
		}
		// Without '$' and '{' a value cannot form a reference with the
		// text around it.
		value = strings.NewReplacer("$", "", "{", "").Replace(value)
		for k := range vars {
			vars[k] = value
		}
		got, err := ResolveStageVariables(in, vars)
		if err != nil {
			if !errors.Is(err, ErrBadURI) {
				t.Fatalf("ResolveStageVariables(%q): %v; want nil or ErrBadURI", in, err)
			}
			return
		}
		if strings.Contains(got, stageVariablePrefix) {
			t.Fatalf("ResolveStageVariables(%q) = %q still has a reference", in, got)
		}
		if !strings.Contains(in, stageVariablePrefix) && got != in {
			t.Fatalf("ResolveStageVariables(%q) = %q changed text without references", in, got)
		}
	})
}
