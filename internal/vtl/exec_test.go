package vtl

import (
	"errors"
	"maps"
	"sync"
	"testing"
)

type execCase struct {
	name    string
	src     string
	want    string
	literal bool // Env.LiteralNulls
	body    string
}

// execCases exercise every construct; they also seed the fuzzers.
var execCases = []execCase{
	// Text and references.
	{name: "plain text", src: `{"statusCode": 200}`, want: `{"statusCode": 200}`},
	{name: "set and reference", src: `#set($x = 'v')$x`, want: "v"},
	{name: "formal reference", src: `#set($x = 'v')${x}y`, want: "vy"},
	{name: "missing renders empty", src: `[$missing][$missing.a.b()]`, want: "[][]"},
	{name: "missing renders literally with LiteralNulls", src: `[$missing.foo][${missing}][$x.y('a')]`, want: `[$missing.foo][${missing}][$x.y('a')]`, literal: true},
	{name: "quiet reference", src: `[$!missing][$!{missing}]`, want: "[][]", literal: true},
	{name: "dollar that is not a reference", src: `cost $5, $ and $. and $!`, want: `cost $5, $ and $. and $!`},
	{name: "dot after reference is text", src: `#set($a = 'x')$a. $a.1 $a..`, want: "x. x.1 x.."},
	{name: "hyphen belongs to the identifier", src: `#set($a = 'x')[$a-b][${a}-b]`, want: "[][x-b]"},
	{name: "unclosed formal reference is text", src: `#set($a = 'x')${a b}`, want: "${a b}"},
	{name: "context property", src: `$context.identity.sourceIp $context.authorizer.principalId`, want: "192.0.2.1 user-1"},
	{name: "context number", src: `$context.connectedAt`, want: "1705751697419"},
	{name: "context member read before a change to $context is the same object", src: `#set($id = $context.identity)#set($context.identity.sourceIp = 'x')#set($context.extra = 1)$id.sourceIp $context.identity.sourceIp $context.extra`, want: "x x 1"},
	{name: "whole context keys", src: `$context.keySet().size() $context.identity.keySet()`, want: "14 [sourceIp, userAgent]"},
	{name: "Vars map read lazily", src: `$integration.response.statuscode $integration.keySet()`, want: "200 [response]"},
	{name: "stage variables three ways", src: `$stageVariables.url ${stageVariables['url']} $stageVariables['fn']`, want: "backend.local backend.local handler"},
	{name: "list index", src: `#set($l = [1, 2, 3])$l[0]$l[-1]$l[1 + 1]`, want: "133"},
	{name: "map index", src: `#set($m = {"a": 1})#set($k = 'a')$m['a']$m["a"]$m[$k]`, want: "111"},
	{name: "method chain", src: `#set($s = ' Ab ')$s.trim().toLowerCase().length()`, want: "2"},
	{name: "unknown method is null", src: `[$context.stage.nope()][$context.stage.substring('x')]`, want: "[][]"},
	{name: "null target skips arguments", src: `#set($l = [])$missing.foo($l.add(1))$l.size()`, want: "0"},
	{name: "escaped references", src: `#set($a = 'x')\$a \$missing \\$a \\\$a`, want: `$a \$missing \x \$a`},
	{name: "escaped directives", src: `\#if(true)x\#end \\#if(true)y#end`, want: `#if(true)x#end \y`},
	{name: "backslash elsewhere", src: `a\b\\c \#foo`, want: `a\b\\c \#foo`},
	{name: "hash that is not a directive", src: `a # b #fff #{x} #1 #foo(bar) #end1 #iffy`, want: `a # b #fff #{x} #1 #foo(bar) #end1 #iffy`},
	{name: "set without parenthesis is text", src: `#set $x`, want: `#set `},

	// Directives.
	{name: "if elseif else", src: `#set($n = 2)#if($n == 1)one#elseif($n == 2)two#else other#end`, want: "two"},
	{name: "else keeps the space before its text", src: `#if(false)a#else b#end`, want: " b"},
	{name: "braced directives", src: `#{if}(false)a#{else}b#{end}#{set}($x = 1)$x`, want: "b1"},
	{name: "spaces around parenthesis", src: `#if ( true )ok#end#set ($x = 2)$x#foreach ( $i in [1] )$i#end`, want: "ok21"},
	{name: "nested if", src: `#if(true)#if(false)a#elseif(true)b#end#end`, want: "b"},
	{name: "truthiness", src: `#if("")T#end#if(0)Z#end#if([])L#end#if($missing)M#end#if(false)F#end#if(null)N#end`, want: "TZL"},
	{name: "relational operators", src: `#if(1 < 2 && 2 <= 2 && 3 > 2 && 3 >= 3 && !(1 > 2))ok#end`, want: "ok"},
	{name: "word operators", src: `#if(1 lt 2 and 2 le 2 and 3 gt 2 and 3 ge 3 and not false or false)ok#end#if(1 eq 1 and 1 ne 2)!#end`, want: "ok!"},
	{name: "equality across types", src: `#if("1" == 1)a#end#if(1 == 1.0)b#end#if("a" != "b")c#end#if($m1 == $m2)d#end#if($m1 == "")e#end#if(true == "true")f#end`, want: "abcdf"},
	{name: "strings do not order", src: `#if("a" < "b")x#else y#end`, want: " y"},
	{name: "arithmetic", src: `#set($r = [7 + 1, 7 - 10, 7 * 3, 7 / 2, 7 % 3, 7.0 / 2, -7 / 2, 2 * 1.5, 0.1 + 0.2, 1e10 * 1])$r`, want: "[8, -3, 21, 3, 1, 3.5, -3, 3.0, 0.30000000000000004, 1.0E10]"},
	{name: "division by zero is null", src: `#set($x = 5)#set($x = 1 / 0)#set($y = 5 % 0)$x|$!y`, want: "5|"},
	{name: "integer overflow becomes floating point", src: `#set($x = 9223372036854775807 + 1)$x`, want: "9.223372036854776E18"},
	{name: "unary minus", src: `#set($a = 3)#set($b = -$a)$b`, want: "-3"},
	{name: "string concatenation", src: `#set($s = "a" + 1 + true)$s #set($t = 1 + 2 + "c")$t`, want: "a1true3c"},
	{name: "concatenation with null uses its source", src: `#set($s = "a" + $nope)$s`, want: "a$nope"},
	{name: "null right-hand side keeps the old value", src: `#set($x = 'keep')#set($x = $missing)#set($x = $input.path('$.nope'))$x`, want: "keep"},
	{name: "set map entries", src: `#set($m = {})#set($m.a = 1)#set($m['b'] = 2)$m`, want: "{a=1, b=2}"},
	{name: "set nested map entries", src: `#set($m = {"in": {}})#set($m.in.x = 'y')$m.in.x`, want: "y"},
	{name: "set list element", src: `#set($l = [1, 2])#set($l[0] = 9)#set($l[-1] = 8)$l`, want: "[9, 8]"},
	{name: "list literal renders like ArrayList", src: `#set($l = [1, 'a', "b", true, 2.5, [3], {'k': 'v'}, []])$l`, want: "[1, a, b, true, 2.5, [3], {k=v}, []]"},
	{name: "map literal renders like LinkedHashMap", src: `#set($m = {"z": 1, 'a': [1, 2], "n": {}})$m $m.a $m.a.size()`, want: "{z=1, a=[1, 2], n={}} [1, 2] 2"},
	{name: "range", src: `#set($r = [3..1])$r#set($n = 2)#set($q = [0..$n])$q`, want: "[3, 2, 1][0, 1, 2]"},
	{name: "range of non-numbers is null", src: `#set($r = 'keep')#set($r = ['a'..2])$r`, want: "keep"},

	// #foreach.
	{name: "foreach with hasNext", src: `#foreach($i in [1, 2, 3])$i#if($foreach.hasNext),#end#end`, want: "1,2,3"},
	{name: "foreach scope", src: `#foreach($x in ['a', 'b'])$foreach.index$foreach.count$foreach.first$foreach.last$velocityCount$velocityHasNext;#end`, want: "01truefalse1true;12falsetrue2false;"},
	{name: "foreach scope methods", src: `#foreach($x in [7])$foreach.hasNext()$foreach.getIndex()$foreach.getCount()$foreach.isFirst()#end`, want: "false01true"},
	{name: "foreach over map values", src: `#foreach($v in {'a': 1, 'b': 2})$v#end`, want: "12"},
	{name: "foreach over null or a string", src: `#foreach($v in $missing)x#end#foreach($c in 'abc')y#end.`, want: "."},
	{name: "foreach restores the variable", src: `#set($x = 'outer')#foreach($x in [1, 2])$x#end$x#foreach($y in [1])#end[$y]`, want: "12outer[]"},
	{name: "nested foreach parent", src: `#foreach($a in [1, 2])#foreach($b in [3])$foreach.parent.index$foreach.index#end#end`, want: "0010"},
	{name: "foreach over a list that grows iterates the original items", src: `#set($l = [1])#foreach($x in $l)#set($d = $l.add($x))#end$l.size()`, want: "2"},
	{name: "foreach over JSON array", src: `#foreach($it in $input.path('$.items'))$it.name#end`, want: "xyz"},
	{name: "break", src: `#foreach($i in [1..5])#if($i == 3)#break#end$i#end.`, want: "12."},
	{name: "break only leaves the inner loop", src: `#foreach($a in [1, 2])#foreach($b in [1, 2])#break#end$a#end`, want: "12"},
	{name: "break with scope argument", src: `#foreach($i in [1, 2])$i#break($foreach)#end`, want: "1"},
	{name: "stop", src: `a#stop b`, want: "a"},
	{name: "stop inside a loop ends the template", src: `#foreach($i in [1, 2])$i#stop#end after`, want: "1"},
	{name: "break outside a loop ends the template", src: `a#break b`, want: "a"},
	{name: "stop inside define ends the block", src: `#define($d)x#stop y#end$d$d.`, want: "xx."},
	{name: "foreach scope outside a loop is null", src: `[$foreach.index][$velocityCount]`, want: "[][]"},

	// Comments and unparsed blocks.
	{name: "line comment eats its newline", src: "a## comment\nb ##\r\nc", want: "ab c"},
	{name: "block comment", src: "a#* $x\n#if *#b#** doc *#c", want: "abc"},
	{name: "unparsed block", src: "#[[ $x #if( ]]#", want: " $x #if( "},

	// Maps and lists.
	{name: "map methods", src: `#set($m = {'a': 1, 'b': 2})$m.keySet() $m.values() $m.entrySet() $m.size() $m.containsKey('a') $m.get('b') $m.isEmpty() $m.getOrDefault('c', 0)`, want: "[a, b] [1, 2] [a=1, b=2] 2 true 2 false 0"},
	{name: "map put and remove", src: `#set($m = {})#set($old = $m.put('a', 1))#set($old = $m.put('a', 2))$old #set($r = $m.remove('a'))$r $m`, want: "12 {}"},
	{name: "entrySet entries", src: `#set($m = {'a': 1, 'b': 2})#foreach($e in $m.entrySet())$e.key=$e.value,$e.getKey()$e.getValue();#end`, want: "a=1,a1;b=2,b2;"},
	{name: "list methods", src: `#set($l = ['a', 'b'])#set($d = $l.add('c'))$l $l.size() $l.get(1) $l.contains('c') $l.indexOf('b') $l.isEmpty() $l.subList(1, 3) $l.empty`, want: "[a, b, c] 3 b true 1 false [b, c] false"},
	{name: "list set and remove", src: `#set($l = [1, 2, 3])#set($d = $l.set(0, 9))#set($d = $l.remove(1))$d $l #set($d = $l.remove('x'))$d`, want: "2 [9, 3]false"},

	// Strings.
	{name: "string methods", src: `#set($s = 'Hello, World')$s.length() $s.substring(7) $s.substring(0, 5) $s.indexOf('o') $s.indexOf('o', 5) $s.lastIndexOf('o') $s.toUpperCase() $s.toLowerCase() $s.startsWith('He') $s.endsWith('x') $s.contains('lo,') $s.isEmpty() $s.charAt(1) $s.equals('Hello, World') $s.equalsIgnoreCase('hello, world') $s.concat('!')`, want: "12 World Hello 4 8 8 HELLO, WORLD hello, world true false true false e true true Hello, World!"},
	{name: "string replace", src: `#set($s = 'a.b.c')$s.replace('.', '-') $s.replaceAll('\.', '/') $s.replaceFirst('[.]', '') $s.replace('', '|')`, want: "a-b-c a/b/c ab.c |a|.|b|.|c|"},
	{name: "replaceAll groups", src: `#set($s = 'john smith')$s.replaceAll('(\w+) (\w+)', '$2, $1') $s.replaceAll('o', '\$')`, want: "smith, john j$hn smith"},
	{name: "split", src: `#set($s = 'a,b,,c,,')$s.split(',') $s.split(',').size() $s.split(',', 2) $s.split('')`, want: "[a, b, , c] 4 [a, b,,c,,] [a, ,, b, ,, ,, c, ,, ,]"},
	{name: "matches and trim", src: `#set($s = "  ab12  ")$s.trim().matches('[a-z]+\d+') $s.trim().matches('\d+')`, want: "true false"},
	{name: "utf-16 indexes", src: `#set($s = 'é😀x')$s.length() $s.indexOf('x') $s.substring(3)`, want: "4 3 x"},
	{name: "string equals is typed", src: `#set($s = '1')$s.equals(1) $s.equals('1')`, want: "false true"},
	{name: "number methods", src: `#set($n = 7)$n.toString() $n.doubleValue() $n.compareTo(9) #set($f = 2.9)$f.intValue()`, want: "7 7.0 -12"},
	{name: "empty property", src: `#set($s = '')$s.empty ${context.empty}`, want: "true "},

	// Interpolation and literals.
	{name: "double quotes interpolate", src: `#set($n = 'W')#set($s = "Hello $n #if(true)!#end$!nope")$s`, want: "Hello W !"},
	{name: "single quotes are verbatim", src: `#set($s = '$n #if')$s`, want: "$n #if"},
	{name: "doubled quotes", src: `#set($s = 'it''s')$s #set($t = "say ""hi""")$t`, want: `it'ssay "hi"`},
	{name: "backslashes stay in literals", src: `#set($s = "a\\'b\"c")$s`, want: `a\\'b\"c`},
	{name: "interpolated null reference renders empty", src: `#set($s = "[$nope]")$s`, want: "[]"},
	{name: "interpolated null reference renders literally with LiteralNulls", src: `#set($s = "[$nope]")$s`, want: "[$nope]", literal: true},

	// #define and #macro.
	{name: "define", src: `#define($greet)Hi $name#end#set($name = 'Bo')$greet!#set($name = 'Al')$greet.`, want: "Hi Bo!Hi Al."},
	{name: "define in a string", src: `#define($d)x#end#set($s = "[$d]")$s`, want: "[x]"},
	{name: "macro", src: "#macro(twice $v)$v$v#end\n#twice('ab') #twice($context.stage)", want: "abab prodprod"},
	{name: "break in a macro ends the calling loop", src: `#macro(stopAt $i)#if($i == 2)#break#end#end#foreach($i in [1, 2, 3])#stopAt($i)$i#end`, want: "1"},
	{name: "macro arguments are restored", src: `#set($v = 'outer')#macro(m $v)$v#end#m('in')$v`, want: "inouter"},
	{name: "macro without parenthesis is text", src: `#macro(m)x#end#m #m()`, want: "#m x"},
}

func TestExecute(t *testing.T) {
	for _, tc := range execCases {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv()
			env.Vars = map[string]any{"integration": map[string]any{"response": map[string]any{"statuscode": 200}}}
			env.LiteralNulls = tc.literal
			if tc.body != "" {
				env.Input.Body = []byte(tc.body)
			}
			got, err := mustParse(t, tc.src).Execute(env)
			if err != nil {
				t.Fatalf("Execute: %v", err)
			}
			if got != tc.want {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// Velocity 1.7 whitespace rules, derived from its lexer.
func TestWhitespace(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{name: "set line leaves nothing", src: "a\n#set($x = 1)\nb", want: "a\nb"},
		{name: "indented set after a directive leaves nothing", src: "#if(true)\n    #set($x = 1)\nv$x\n#end", want: "v1\n"},
		{name: "indented set after text keeps the indentation", src: "a\n  #set($x = 1)\nb", want: "a\n  b"},
		{name: "if and end lines leave nothing", src: "a\n#if(true)\nb\n#end\nc", want: "a\nb\nc"},
		{name: "else lines leave nothing", src: "#if(false)\na\n#else\nb\n#end\n", want: "b\n"},
		{name: "elseif line leaves nothing", src: "#if(false)\na\n#elseif(true)\nb\n#end\n", want: "b\n"},
		{name: "indentation before other directives stays", src: "{\n  #foreach($i in [1, 2])\n  $i\n  #end\n}", want: "{\n    1\n    2\n  }"},
		{name: "blanks then newline after end are eaten", src: "#if(true)x#end   \ny", want: "xy"},
		{name: "blanks without newline stay", src: "#if(true)  x#end  y", want: "  x  y"},
		{name: "only one newline is eaten", src: "#set($x = 1)\n\nz", want: "\nz"},
		{name: "CRLF", src: "#set($x = 1)\r\na#if(true)\r\nb#end\r\nc", want: "abc"},
		{name: "comment keeps what is before it", src: "a ## c\nb", want: "a b"},
		{name: "reference keeps its newline", src: "#set($x = 1)$x\n", want: "1\n"},
		{name: "macro definition lines leave nothing", src: "#macro(m)\nx\n#end\n#m()\n", want: "x\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mustParse(t, tc.src).Execute(testEnv())
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestRuntimeErrors(t *testing.T) {
	cases := []struct {
		name      string
		src       string
		body      string
		want      error
		line, col int
	}{
		{name: "substring out of range", src: "#set($s = 'abc')\n  $s.substring(5)", want: ErrEval, line: 2, col: 5},
		{name: "list get out of range", src: "#set($l = [1])\n$l.get(3)", want: ErrEval, line: 2, col: 3},
		{name: "index out of range", src: "#set($l = [1])$l[5]", want: ErrEval, line: 1, col: 17},
		{name: "invalid regular expression", src: "#set($s = 'a')$s.replaceAll('(', 'x')", want: ErrEval, line: 1, col: 17},
		{name: "bad replacement group", src: "#set($s = 'a')$s.replaceAll('a', '$2')", want: ErrEval, line: 1, col: 17},
		{name: "malformed urlDecode", src: "$util.urlDecode('%zz')", want: ErrEval, line: 1, col: 6},
		{name: "invalid base64", src: "$util.base64Decode('!!')", want: ErrEval, line: 1, col: 6},
		{name: "body is not JSON", src: "ok\n$input.json('$.a')", body: "not json", want: ErrInvalidJSON, line: 2, col: 7},
		{name: "parseJson of non-JSON", src: "$util.parseJson('{')", want: ErrInvalidJSON, line: 1, col: 6},
		{name: "invalid JSONPath", src: "$input.path('$.a[')", want: ErrEval, line: 1, col: 7},
		{name: "JSONPath filter", src: "$input.path('$.items[?(@.id > 1)]')", want: ErrUnsupported, line: 1, col: 7},
		{name: "charAt out of range", src: "#set($s = '')$s.charAt(0)", want: ErrEval, line: 1, col: 16},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv()
			if tc.body != "" {
				env.Input.Body = []byte(tc.body)
			}
			_, err := mustParse(t, tc.src).Execute(env)
			checkErr(t, err, tc.want, tc.line, tc.col)
		})
	}
}

func TestErrorFormat(t *testing.T) {
	_, err := Parse("route/$default", "ok\n#if(true)")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v", err)
	}
	if got, want := err.Error(), "vtl: route/$default:2:1: syntax error: #if without #end"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestTemplateIsReusable(t *testing.T) {
	tpl := mustParse(t, `#set($m = {})#set($x = $m.put('k', $context.stage))$m`)
	for range 3 {
		got, err := tpl.Execute(testEnv())
		if err != nil || got != "{k=prod}" {
			t.Fatalf("got %q, %v", got, err)
		}
	}
	got, err := tpl.Execute(nil)
	if err != nil || got != "{k=null}" {
		t.Fatalf("nil env: got %q, %v", got, err)
	}
}

// Execute must not modify the Env, and one Template and Env may be used
// from many goroutines at once (run with -race).
func TestConcurrentExecuteLeavesEnvAlone(t *testing.T) {
	tpl := mustParse(t, `#set($h = $input.params().header)#set($d = $h.put('X-New', 'v'))`+
		`#set($c = $context.identity)#set($c.sourceIp = 'changed')#set($l = $input.path('$.items'))#set($d = $l.add(9))`+
		`$h.size() $context.identity.sourceIp $l.size() $input.path('$.items').size()`)
	env := testEnv()
	headers := maps.Clone(env.Input.Header)
	identity := maps.Clone(env.Context["identity"].(map[string]any))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 50 {
				got, err := tpl.Execute(env)
				if err == nil && got != "3 changed 4 4" {
					err = errors.New("unexpected output " + got)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if !maps.Equal(env.Input.Header, headers) || !maps.Equal(env.Context["identity"].(map[string]any), identity) {
		t.Fatalf("Execute modified the Env: %v %v", env.Input.Header, env.Context["identity"])
	}
}
