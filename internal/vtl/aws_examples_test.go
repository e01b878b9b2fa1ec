package vtl

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// Templates from AWS's API Gateway documentation, with the outputs the
// documentation shows (where it shows one) or the output Velocity 1.7's
// whitespace rules give.

// photosBody is the request body of the documentation's photos example.
const photosBody = `{
  "photos": {
    "page": 1,
    "pages": "1234",
    "perpage": 100,
    "total": "123398",
    "photo": [
      {
        "id": "12345678901",
        "owner": "23456789@A12",
        "photographer_first_name" : "Saanvi",
        "photographer_last_name" : "Sarkar",
        "secret": "abc123d456",
        "server": "1234",
        "farm": 1,
        "title": "Sample photo 1",
        "ispublic": true,
        "isfriend": false,
        "isfamily": false
      },
      {
        "id": "23456789012",
        "owner": "34567890@B23",
        "photographer_first_name" : "Richard",
        "photographer_last_name" : "Roe",
        "secret": "bcd234e567",
        "server": "2345",
        "farm": 2,
        "title": "Sample photo 2",
        "ispublic": true,
        "isfriend": false,
        "isfamily": false
      }
    ]
  }
}`

const photosTemplate = `#set($inputRoot = $input.path('$'))
{
  "photos": [
#foreach($elem in $inputRoot.photos.photo)
    {
      "id": "$elem.id",
      "photographedBy": "$elem.photographer_first_name $elem.photographer_last_name",
      "title": "$elem.title",
      "ispublic": $elem.ispublic,
      "isfriend": $elem.isfriend,
      "isfamily": $elem.isfamily
    }#if($foreach.hasNext),#end

#end
  ]
}`

// The output the documentation prints for photosTemplate, byte for byte.
const photosOutput = `{
  "photos": [
    {
      "id": "12345678901",
      "photographedBy": "Saanvi Sarkar",
      "title": "Sample photo 1",
      "ispublic": true,
      "isfriend": false,
      "isfamily": false
    },
    {
      "id": "23456789012",
      "photographedBy": "Richard Roe",
      "title": "Sample photo 2",
      "ispublic": true,
      "isfriend": false,
      "isfamily": false
    }
  ]
}`

// The parameter-mapping example ("pass all request parameters").
const allParamsTemplate = `#set($allParams = $input.params())
{
  "params" : {
    #foreach($type in $allParams.keySet())
    #set($params = $allParams.get($type))
    "$type" : {
      #foreach($paramName in $params.keySet())
      "$paramName" : "$util.escapeJavaScript($params.get($paramName))"
      #if($foreach.hasNext),#end
      #end
    }
    #if($foreach.hasNext),#end
    #end
  }
}`

// allParamsOutput is assembled from the pieces Velocity's lexer leaves in
// each loop body: the indentation before #foreach, #if and #end stays,
// the one before #set goes, and each directive line's newline goes.
func allParamsOutput() string {
	var b strings.Builder
	b.WriteString("{\n  \"params\" : {\n    ")
	types := []struct {
		name, param, value string
		last               bool
	}{
		{"path", "id", "abc", false},
		{"querystring", "q", "it\\'s", false},
		{"header", "Host", "h.example", true},
	}
	for _, ty := range types {
		b.WriteString(`    "` + ty.name + `" : {` + "\n      ")
		b.WriteString(`      "` + ty.param + `" : "` + ty.value + `"` + "\n      " + "      ")
		b.WriteString("    }\n    ")
		if !ty.last {
			b.WriteString(",")
		}
		b.WriteString("    ")
	}
	b.WriteString("  }\n}")
	return b.String()
}

// The template the Serverless Framework installs for Lambda (non-proxy)
// integrations, which relies on #define.
const serverlessTemplate = `#define( $loop )
  {
  #foreach($key in $map.keySet())
      #set( $k = $util.escapeJavaScript($key) )
      #set( $v = $util.escapeJavaScript($map.get($key)).replaceAll("\\'", "'") )
      "$k":
        "$v"
        #if( $foreach.hasNext ) , #end
  #end
  }
#end
{
  "body": $input.json("$"),
  "principalId": "$context.authorizer.principalId",
  "stage": "$context.stage",
  #set( $map = $context.authorizer )
  "enhancedAuthContext": $loop,
  #set( $map = $input.params().header )
  "headers": $loop,
  #set( $map = $input.params().querystring )
  "query": $loop,
  #set( $map = $stageVariables )
  "stageVariables": $loop
}`

func TestAWSExamples(t *testing.T) {
	cases := []struct {
		name string
		src  string
		env  func(*Env)
		want string
	}{
		{
			name: "MOCK integration request template",
			src:  `{"statusCode": 200}`,
			want: `{"statusCode": 200}`,
		},
		{
			name: "photos transformation",
			src:  photosTemplate,
			env:  func(e *Env) { e.Input.Body = []byte(photosBody) },
			want: photosOutput,
		},
		{
			name: "photos input mapping with page fields",
			src: `#set($inputRoot = $input.path('$'))
{
  "photos": {
    "page": $inputRoot.photos.page,
    "pages": "$inputRoot.photos.pages",
    "photo": [
#foreach($elem in $inputRoot.photos.photo)
      {
        "id": "$elem.id",
        "farm": $elem.farm
      }#if($foreach.hasNext),#end
#end
    ]
  }
}`,
			env: func(e *Env) { e.Input.Body = []byte(photosBody) },
			want: `{
  "photos": {
    "page": 1,
    "pages": "1234",
    "photo": [
      {
        "id": "12345678901",
        "farm": 1
      },      {
        "id": "23456789012",
        "farm": 2
      }    ]
  }
}`,
		},
		{
			name: "parseJson example",
			src: `#set ($errorMessageObj = $util.parseJson($input.path('$.errorMessage')))
{
   "errorMessageObjKey2ArrVal" : $errorMessageObj.key2.arr[0]
}
`,
			env: func(e *Env) {
				e.Input.Body = []byte(`{"errorMessage":"{\"key1\":\"var1\",\"key2\":{\"arr\":[1,2,3]}}"}`)
			},
			want: "{\n   \"errorMessageObjKey2ArrVal\" : 1\n}\n",
		},
		{
			name: "name from the query string and the whole body",
			src: `{
    "name" : "$input.params('name')",
    "body" : $input.json('$') 
}`,
			env:  func(e *Env) { e.Input.Body = []byte(`{"Price" : "249.99", "Age": "6"}`) },
			want: "{\n    \"name\" : \"Bella\",\n    \"body\" : {\"Price\":\"249.99\",\"Age\":\"6\"} \n}",
		},
		{
			name: "things: params, path size and escaped JSON",
			src: `{
    "id" : "$input.params('id')",
    "count" : "$input.path('$.things').size()",
    "things" : $util.escapeJavaScript($input.json('$.things'))
}`,
			env: func(e *Env) {
				e.Input.Path = map[string]string{"id": "abc"}
				e.Input.Body = []byte(`{"things" : {"1" : {}, "2" : {}, "3" : {}}}`)
			},
			want: "{\n    \"id\" : \"abc\",\n    \"count\" : \"3\",\n    \"things\" : {\\\"1\\\":{},\\\"2\\\":{},\\\"3\\\":{}}\n}",
		},
		{
			name: "all request parameters",
			src:  allParamsTemplate,
			env: func(e *Env) {
				e.Input.Path = map[string]string{"id": "abc"}
				e.Input.QueryString = map[string]string{"q": "it's"}
				e.Input.Header = map[string]string{"Host": "h.example"}
			},
			want: allParamsOutput(),
		},
		{
			name: "WebSocket context variables",
			src: `{
  "connectionId": "$context.connectionId",
  "routeKey": "$context.routeKey",
  "eventType": "$context.eventType",
  "messageId": "$context.messageId",
  "requestId": "$context.requestId",
  "apiId": "$context.apiId",
  "stage": "$context.stage",
  "domainName": "$context.domainName",
  "connectedAt": $context.connectedAt,
  "requestTimeEpoch": $context.requestTimeEpoch,
  "requestTime": "$context.requestTime",
  "sourceIp": "$context.identity.sourceIp",
  "principalId": "$context.authorizer.principalId",
  "numKey": "$context.authorizer.numKey",
  "missing": "$context.error.messageString"
}`,
			want: `{
  "connectionId": "R1kmxc2VNjMCFIA=",
  "routeKey": "sendmessage",
  "eventType": "MESSAGE",
  "messageId": "R1knPc2ntjMCFIA=",
  "requestId": "R1knPH17NjMFftw=",
  "apiId": "gy415nuibc",
  "stage": "prod",
  "domainName": "gy415nuibc.execute-api.local",
  "connectedAt": 1705751697419,
  "requestTimeEpoch": 1705751700453,
  "requestTime": "20/Jan/2024:11:55:00 +0000",
  "sourceIp": "192.0.2.1",
  "principalId": "user-1",
  "numKey": "1",
  "missing": ""
}`,
		},
		{
			name: "route response echoing the message",
			src:  `{"connectionId":"$context.connectionId","echo":$input.body}`,
			env:  func(e *Env) { e.Input.Body = []byte(`{"action":"echo","n":1}`) },
			want: `{"connectionId":"R1kmxc2VNjMCFIA=","echo":{"action":"echo","n":1}}`,
		},
		{
			name: "MOCK response template chosen by a message field",
			src: `#set($id = $input.path('$.messageId'))
#if($id == 1)
{"message": "first"}
#else
{"message": "message $id"}
#end`,
			env:  func(e *Env) { e.Input.Body = []byte(`{"action":"message","messageId":2}`) },
			want: "{\"message\": \"message 2\"}\n",
		},
		{
			name: "stage variables in a template",
			src:  `{"url": "https://$stageVariables.url/x", "fn": "${stageVariables['fn']}"}`,
			want: `{"url": "https://backend.local/x", "fn": "handler"}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv()
			if tc.env != nil {
				tc.env(env)
			}
			got, err := mustParse(t, tc.src).Execute(env)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got:\n%s\nwant:\n%s\n(got %q)", got, tc.want, got)
			}
		})
	}
}

// The Serverless Framework template must produce JSON carrying every map.
func TestServerlessTemplateProducesJSON(t *testing.T) {
	env := testEnv()
	env.Input.Body = []byte(`{"msg":"it's"}`)
	env.Input.Header = map[string]string{"Host": "h", "X-Q": `a"b`}
	got, err := mustParse(t, serverlessTemplate).Execute(env)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(got), &doc); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, got)
	}
	want := map[string]any{
		"body":                map[string]any{"msg": "it's"},
		"principalId":         "user-1",
		"stage":               "prod",
		"enhancedAuthContext": map[string]any{"boolKey": "true", "numKey": "1", "principalId": "user-1"},
		"headers":             map[string]any{"Host": "h", "X-Q": `a"b`},
		"query":               map[string]any{"id": "q-1", "name": "Bella"},
		"stageVariables":      map[string]any{"fn": "handler", "url": "backend.local"},
	}
	if !reflect.DeepEqual(doc, want) {
		t.Fatalf("got %v\nwant %v", doc, want)
	}
}
