package vtl

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLoopLimit(t *testing.T) {
	t.Run("stops silently after 1,000 iterations", func(t *testing.T) {
		got, err := mustParse(t, `#foreach($i in [1..1001])x#end`).Execute(testEnv())
		if err != nil {
			t.Fatal(err)
		}
		if got != strings.Repeat("x", 1000) {
			t.Fatalf("got %d iterations, want 1000", len(got))
		}
	})
	t.Run("1,000 iterations run in full", func(t *testing.T) {
		got, err := mustParse(t, `#foreach($i in [1..1000])#if(!$foreach.hasNext)$i#end#end`).Execute(testEnv())
		if err != nil || got != "1000" {
			t.Fatalf("got %q, %v", got, err)
		}
	})
	t.Run("hasNext still sees the items past the limit", func(t *testing.T) {
		// As in Velocity, whose iterator does not know about maxloops: the
		// 1,000th item is not marked last.
		got, err := mustParse(t, `#foreach($i in [1..1001])#if(!$foreach.hasNext)last#end#end`).Execute(testEnv())
		if err != nil || got != "" {
			t.Fatalf("got %q, %v", got, err)
		}
	})
	t.Run("error when configured", func(t *testing.T) {
		env := testEnv()
		env.Limits.LoopLimitError = true
		_, err := mustParse(t, "\n  #foreach($i in [1..1001])x#end").Execute(env)
		checkErr(t, err, ErrLoopLimit, 2, 3)
		if !errors.Is(err, ErrLimit) {
			t.Fatalf("%v does not match ErrLimit", err)
		}
	})
	t.Run("custom limit", func(t *testing.T) {
		env := testEnv()
		env.Limits.MaxLoopIterations = 3
		got, err := mustParse(t, `#foreach($i in $input.path('$.items'))$i.id#end#foreach($i in [1..9])$i#end`).Execute(env)
		if err != nil || got != "123123" {
			t.Fatalf("got %q, %v", got, err)
		}
	})
}

// Every bound stops a hostile template quickly with an ErrLimit error.
func TestBounds(t *testing.T) {
	cases := []struct {
		name   string
		src    string
		limits Limits
		want   error
	}{
		{name: "output from nested loops", src: `#foreach($a in [1..1000])#foreach($b in [1..1000])0123456789#end#end`, want: ErrOutputLimit},
		{name: "small output limit", src: `$input.body`, limits: Limits{MaxOutputBytes: 10}, want: ErrOutputLimit},
		{name: "steps from nested loops", src: `#foreach($a in [1..1000])#foreach($b in [1..1000])#end#end`, want: ErrStepLimit},
		{name: "three nested loops", src: `#foreach($a in [1..1000])#foreach($b in [1..1000])#foreach($c in [1..1000])#set($x = $a)#end#end#end`, want: ErrStepLimit},
		{name: "steps from work on a large string", src: `#set($s = 'x')#foreach($i in [1..19])#set($s = "$s$s")#end#foreach($a in [1..1000])#foreach($b in [1..1000])#set($n = $s.indexOf('y'))#end#end`, want: ErrStepLimit},
		{name: "decoding a large non-ASCII string", src: `#set($s = 'é')#foreach($i in [1..18])#set($s = "$s$s")#end#foreach($a in [1..1000])#foreach($b in [1..1000])#set($n = $s.length())#end#end`, want: ErrStepLimit},
		{name: "regular expression over a large string", src: `#set($s = 'é')#foreach($i in [1..18])#set($s = "$s$s")#end#foreach($a in [1..1000])#foreach($b in [1..1000])#set($n = $s.matches('.*x'))#end#end`, want: ErrStepLimit},
		{name: "small step limit", src: `#foreach($a in [1..10])$a#end`, limits: Limits{MaxSteps: 20}, want: ErrStepLimit},
		{name: "string doubling", src: `#set($s = 'xxxxxxxxxx')#foreach($i in [1..30])#set($s = "$s$s")#end`, want: ErrOutputLimit},
		{name: "concatenation doubling", src: `#set($s = 'xxxxxxxxxx')#foreach($i in [1..30])#set($s = $s + $s)#end`, want: ErrOutputLimit},
		{name: "replace blow-up", src: `#set($s = 'xxxxxxxxxxxxxxxxxxxx')#foreach($i in [1..10])#set($s = $s.replace('x', 'xxxxxxxxxx'))#end`, want: ErrOutputLimit},
		{name: "replaceAll blow-up", src: `#set($s = 'xxxxxxxxxxxxxxxxxxxx')#foreach($i in [1..10])#set($s = $s.replaceAll('', 'xxxxxxxxxx'))#end`, want: ErrStepLimit},
		{name: "replaceAll output bound", src: `#set($s = 'xxxxxxxxxxxxxxxxxxxx')#foreach($i in [1..20])#set($s = $s.replaceAll('x+', "$s$s"))#end`, want: ErrOutputLimit},
		{name: "split of a long string", src: `#set($s = 'x')#foreach($i in [1..19])#set($s = "$s$s")#end#foreach($i in [1..100])#set($l = $s.split(''))#end`, want: ErrStepLimit},
		{name: "memory held in a list", src: `#set($s = 'x')#foreach($i in [1..19])#set($s = "$s$s")#end#set($l = [])#foreach($i in [1..1000])#set($d = $l.add("$s"))#end`, want: ErrAllocLimit},
		{name: "huge range", src: `#set($r = [1..100000000])`, want: ErrAllocLimit},
		{name: "negative huge range", src: `#set($r = [0..-9223372036854775807])`, want: ErrAllocLimit},
		{name: "recursive macro", src: `#macro(r $n)#r($n)#end#r(1)`, want: ErrDepthLimit},
		{name: "self-referencing define", src: `#define($a)$a#end$a`, want: ErrDepthLimit},
		{name: "self-containing list", src: `#set($l = [])#set($d = $l.add($l))$l`, want: ErrDepthLimit},
		{name: "self-containing map", src: `#set($m = {})#set($d = $m.put('m', $m))$m`, want: ErrDepthLimit},
		{name: "comparing self-containing lists", src: `#set($l = [])#set($d = $l.add($l))#if($l == $l)x#end`, want: ErrDepthLimit},
		{name: "JSON of a self-containing list", src: `#set($l = $util.parseJson('[1]'))#set($d = $l.add($l))$l`, want: ErrDepthLimit},
		{name: "deep JSON body", src: `$input.json('$')`, want: ErrDepthLimit},
		{name: "deep JSON string", src: `$util.parseJson($input.body)`, want: ErrDepthLimit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv()
			env.Input.Body = []byte(strings.Repeat("[", 10000) + strings.Repeat("]", 10000))
			env.Limits = tc.limits
			start := time.Now()
			out, err := mustParse(t, tc.src).Execute(env)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v (output %d bytes), want %v", err, len(out), tc.want)
			}
			if !errors.Is(err, ErrLimit) {
				t.Fatalf("%v does not match ErrLimit", err)
			}
			var e *Error
			if !errors.As(err, &e) || e.Line < 1 || e.Col < 1 {
				t.Fatalf("got %#v, want an *Error with a position", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("took %v", d)
			}
		})
	}
}

func TestDefaultLimits(t *testing.T) {
	got := Limits{}.withDefaults()
	if got != DefaultLimits() {
		t.Fatalf("got %+v, want %+v", got, DefaultLimits())
	}
	if d := DefaultLimits(); d.MaxLoopIterations != 1000 || d.MaxOutputBytes != 1<<20 || d.MaxSteps != 1_000_000 {
		t.Fatalf("unexpected defaults %+v", d)
	}
}
