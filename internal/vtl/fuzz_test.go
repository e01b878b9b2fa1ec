package vtl

import (
	"errors"
	"testing"
	"time"
)

func fuzzSeeds(f *testing.F, add func(src string)) {
	for _, tc := range execCases {
		add(tc.src)
	}
	for _, src := range []string{photosTemplate, allParamsTemplate, serverlessTemplate,
		"#if(true)\n  #set($x = 1)\n#else\n#end", `#foreach($i in [1..1001])x#end`, `#macro(r $n)#r($n)#end#r(1)`,
		`$input.json('$..name') $input.path('$.items[0:2]')`, `\\\$a \#if #{end} #[[ ]]# #* *# ##`} {
		add(src)
	}
}

// fuzzLimits keep each fuzz execution fast while still exercising the bounds.
var fuzzLimits = Limits{MaxOutputBytes: 64 << 10, MaxSteps: 100_000, MaxAllocBytes: 1 << 20, MaxDepth: 32}

// checkExecution runs tpl and checks the promises Execute makes whatever
// the template: no panic (the fuzzer catches those), bounded output, and
// errors that are positioned *Error values.
func checkExecution(t *testing.T, tpl *Template, env *Env) {
	start := time.Now()
	out, err := tpl.Execute(env)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("execution took %v", d)
	}
	if len(out) > env.Limits.MaxOutputBytes {
		t.Fatalf("output of %d bytes exceeds the limit", len(out))
	}
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || e.Line < 1 || e.Col < 1 || e.Err == nil {
			t.Fatalf("error %#v is not a positioned *Error", err)
		}
		if out != "" {
			t.Fatalf("output %q returned with error %v", out, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	fuzzSeeds(f, func(src string) { f.Add(src) })
	f.Fuzz(func(t *testing.T, src string) {
		tpl, err := Parse("fuzz", src)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Line < 1 || e.Col < 1 {
				t.Fatalf("error %#v is not a positioned *Error", err)
			}
			return
		}
		env := testEnv()
		env.Limits = fuzzLimits
		checkExecution(t, tpl, env)
	})
}

func FuzzExecute(f *testing.F) {
	fuzzSeeds(f, func(src string) {
		f.Add(src, string(testEnv().Input.Body), false)
	})
	f.Add(photosTemplate, photosBody, true)
	f.Add(`$input.json('$.a') $input.path('$')`, `{"a":[1,{"b":"\u00e9"}],"c":1e400}`, false)
	f.Fuzz(func(t *testing.T, src, body string, literal bool) {
		tpl, err := Parse("fuzz", src)
		if err != nil {
			return
		}
		env := testEnv()
		env.Input.Body = []byte(body)
		env.LiteralNulls = literal
		env.Limits = fuzzLimits
		checkExecution(t, tpl, env)
	})
}

// fragments are pieces of VTL that FuzzExecuteFragments strings together,
// so that most inputs are templates that parse and run: loops, blow-ups,
// recursion and every $input/$util entry point.
var fragments = []string{
	"#foreach($i in [1..1000])", "#foreach($x in $input.path('$.items'))", "#foreach($k in $m.keySet())", "#end", "#end\n",
	"#if($i > 3)", "#elseif($x)", "#else", "#break", "#stop", "\n", "  ", "text", `"q"`, "{", "}",
	"#set($s = \"$s$s\")", "#set($s = $s + $s)", "#set($s = 'ab')", "#set($l = [])", "#set($d = $l.add($s))",
	"#set($d = $l.add($l))", "#set($m = {})", "#set($m.k = $l)", "#set($d = $m.put($s, $m))", "#set($n = $n * 3 + 1)",
	"#set($n = 1)", "$s", "$l", "$m", "$n", "$i", "$x", "$!x.name", "$foreach.hasNext", "$velocityCount",
	"$s.replaceAll('', 'xyz')", "$s.replace('a', $s)", "$s.split('')", "$s.substring(1)", "$s.length()",
	"$input.json('$')", "$input.json('$..name')", "$input.path('$.data')", "$input.params()", "$input.body",
	"$util.escapeJavaScript($s)", "$util.parseJson($input.body)", "$util.base64Encode($s)", "$util.urlEncode($s)",
	"#define($d)$s$d#end", "$d", "#macro(m $a)#m($a)$a#end", "#m($s)", "#macro(k $a)$a$a#end", "#k($s)",
	"$context.identity", "${stageVariables['url']}", "\\$s", "## c\n", "#*c*#", "#[[$s]]#", "[1..100000]",
}

func FuzzExecuteFragments(f *testing.F) {
	f.Add([]byte{0, 17, 31, 3})
	f.Add([]byte{19, 0, 0, 16, 3, 3})
	f.Add([]byte{18, 0, 20, 3, 36, 23})
	f.Add([]byte{49, 50, 3, 51})
	f.Fuzz(func(t *testing.T, picks []byte) {
		var b []byte
		for _, p := range picks {
			b = append(b, fragments[int(p)%len(fragments)]...)
		}
		tpl, err := Parse("fuzz", string(b))
		if err != nil {
			return
		}
		env := testEnv()
		env.Limits = fuzzLimits
		checkExecution(t, tpl, env)
	})
}
