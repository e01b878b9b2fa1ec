package vtl

import (
	"math"
	"testing"
)

func TestJavaDouble(t *testing.T) {
	cases := []struct {
		name string
		in   float64
		want string
	}{
		{name: "integral", in: 3, want: "3.0"},
		{name: "fraction", in: 249.99, want: "249.99"},
		{name: "small plain", in: 0.001, want: "0.001"},
		{name: "below plain range", in: 0.0001, want: "1.0E-4"},
		{name: "large plain", in: 9999999, want: "9999999.0"},
		{name: "above plain range", in: 1e7, want: "1.0E7"},
		{name: "scientific with digits", in: -1.2345e-20, want: "-1.2345E-20"},
		{name: "zero", in: 0, want: "0.0"},
		{name: "negative zero", in: math.Copysign(0, -1), want: "-0.0"},
		{name: "NaN", in: math.NaN(), want: "NaN"},
		{name: "infinity", in: math.Inf(1), want: "Infinity"},
		{name: "negative infinity", in: math.Inf(-1), want: "-Infinity"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := javaDouble(tc.in); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMoreMethods(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{name: "map putAll containsValue remove clear", src: `#set($m = {'a': 1})#set($d = $m.putAll({'b': 2, 'a': 3}))$m $m.containsValue(2) $m.containsValue('2') #set($d = $m.remove('a'))$d $m.remove('zz')$m #set($d = $m.clear())$m.size()`, want: "{a=3, b=2} true false3 {b=2}0"},
		{name: "map get with a number key", src: `#set($m = {1: 'one'})$m.get(1) $m[1]`, want: "one one"},
		{name: "map count and isEmpty", src: `#set($m = {})$m.isEmpty() $m.count()`, want: "true 0"},
		{name: "list addAll insert lastIndexOf clear", src: `#set($l = [1, 2, 1])#set($d = $l.addAll([3]))#set($d = $l.add(0, 0))$l $l.lastIndexOf(1) $l.indexOf(7) #set($d = $l.clear())$l.isEmpty()`, want: "[0, 1, 2, 1, 3] 3 -1true"},
		{name: "list equality", src: `#if([1, 'a'] == [1, 'a'])eq#end#if([1] != [2])ne#end#if({'a': [1]} == {'a': [1]})m#end#if({'a': 1} == {'b': 1})x#end`, want: "eqnem"},
		{name: "non-ASCII searches", src: `#set($s = 'aé😀bé')$s.indexOf('é', 2) $s.lastIndexOf('é') $s.lastIndexOf('é', 3) $s.indexOf('b', 99) $s.indexOf('', 99) $s.charAt(2)$s.substring(1, 2)`, want: "5 5 1 -1 6 \uFFFDé"},
		{name: "compareTo", src: `#set($s = 'b')$s.compareTo('a') $s.compareTo('b') $s.compareTo('bb')`, want: "1 0 -1"},
		{name: "entry setValue and JSON", src: `#set($m = {'a': 1})#foreach($e in $m.entrySet())#set($d = $e.setValue(2))$d $e#end`, want: "1 a=2"},
		{name: "booleans and numbers", src: `#set($b = true)$b.booleanValue() $b.toString() $b.equals(true) #set($n = 2)$n.equals(2) $n.equals(2.0) $n.longValue() $n.floatValue()`, want: "true true truetrue false 2 2.0"},
		{name: "foreach scope properties", src: `#foreach($a in [1])#foreach($b in [2, 3])$foreach.topmost.index$foreach.getLast()$foreach.isLast();#end#end`, want: "0falsefalse;0truetrue;"},
		{name: "JSON of special values", src: `#set($l = $util.parseJson('[]'))#set($d = $l.add({'k': "a\tb"}))#set($d = $l.add(1.5))#set($d = $l.add([true]))$l`, want: `[{"k":"a\\tb"},1.5,[true]]`},
		{name: "JSON of an entry", src: `#set($m = {'a': 1})#set($l = $util.parseJson('[]'))#set($d = $l.add($m.entrySet()[0]))$l`, want: `[{"a":1}]`},
		{name: "to string of special values", src: `#foreach($x in [1])$foreach#end $util #define($d)D#end#set($l = [$d])$l`, want: "$foreach $util [D]"},
		{name: "unknown property", src: `[$context.stage.nope][$input.nope][$util.nope][$foreach.nope]`, want: "[][][][]"},
		{name: "index on input and util", src: `$input['body'] [$util['x']] [$context.stage[0]]`, want: `{"a":1} [] []`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv()
			env.Input.Body = []byte(`{"a":1}`)
			got, err := mustParse(t, tc.src).Execute(env)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
	if mustParse(t, "x").Name() != "test" {
		t.Fatal("Name() lost the template name")
	}
}
