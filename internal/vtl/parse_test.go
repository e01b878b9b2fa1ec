package vtl

import (
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name      string
		src       string
		want      error
		line, col int
	}{
		{name: "if without end", src: "#if(true)", want: ErrSyntax, line: 1, col: 1},
		{name: "foreach without end", src: "x\n  #foreach($a in [1])", want: ErrSyntax, line: 2, col: 3},
		{name: "end without block", src: "a\n  #end", want: ErrSyntax, line: 2, col: 3},
		{name: "else without if", src: "#else", want: ErrSyntax, line: 1, col: 1},
		{name: "elseif without if", src: "#foreach($a in [])#elseif(true)#end", want: ErrSyntax, line: 1, col: 19},
		{name: "else after else", src: "#if(true)#else#else#end", want: ErrSyntax, line: 1, col: 15},
		{name: "set without equals", src: "#set($x 1)", want: ErrSyntax, line: 1, col: 9},
		{name: "set of a method call", src: "#set($x.y() = 1)", want: ErrSyntax, line: 1, col: 6},
		{name: "set without reference", src: "#set(x = 1)", want: ErrSyntax, line: 1, col: 6},
		{name: "set without closing parenthesis", src: "#set($x = 1", want: ErrSyntax, line: 1, col: 12},
		{name: "foreach without in", src: "#foreach($x $list)#end", want: ErrSyntax, line: 1, col: 13},
		{name: "foreach without parenthesis", src: "#foreach $x in $l#end", want: ErrSyntax, line: 1, col: 10},
		{name: "foreach over an expression variable", src: "#foreach($x.y in $l)#end", want: ErrSyntax, line: 1, col: 10},
		{name: "empty condition", src: "#if()x#end", want: ErrSyntax, line: 1, col: 5},
		{name: "incomplete expression", src: "#if(1 +)x#end", want: ErrSyntax, line: 1, col: 8},
		{name: "unterminated argument list", src: "x $a.b(", want: ErrSyntax, line: 1, col: 8},
		{name: "bad argument separator", src: "$a.b(1 2)", want: ErrSyntax, line: 1, col: 8},
		{name: "unterminated index", src: "$a[1", want: ErrSyntax, line: 1, col: 5},
		{name: "unterminated single-quoted string", src: "#set($x = 'abc)", want: ErrSyntax, line: 1, col: 11},
		{name: "unterminated double-quoted string", src: "\n\n #set($x = \"abc)", want: ErrSyntax, line: 3, col: 12},
		{name: "error inside an interpolated string", src: `#set($x = "a #if(true)")`, want: ErrSyntax, line: 1, col: 14},
		{name: "unterminated block comment", src: "a #* never closed", want: ErrSyntax, line: 1, col: 3},
		{name: "unterminated unparsed block", src: "#[[ x", want: ErrSyntax, line: 1, col: 1},
		{name: "unterminated list", src: "#set($l = [1, 2)", want: ErrSyntax, line: 1, col: 16},
		{name: "unterminated map", src: "#set($m = {'a' 1})", want: ErrSyntax, line: 1, col: 16},
		{name: "range without end", src: "#set($r = [1..)", want: ErrSyntax, line: 1, col: 15},
		{name: "unknown word in expression", src: "#if(yes)x#end", want: ErrSyntax, line: 1, col: 5},
		{name: "bad reference in expression", src: "#if($)x#end", want: ErrSyntax, line: 1, col: 5},
		{name: "macro argument count", src: "#macro(m $a)$a#end#m(1 2)", want: ErrSyntax, line: 1, col: 19},
		{name: "macro redefining a directive", src: "#macro(if)x#end", want: ErrSyntax, line: 1, col: 8},
		{name: "columns count characters", src: "éé€ #end", want: ErrSyntax, line: 1, col: 5},
		{name: "parse is unsupported", src: "a\n#parse('x.vm')", want: ErrUnsupported, line: 2, col: 1},
		{name: "include is unsupported", src: "#include('x')", want: ErrUnsupported, line: 1, col: 1},
		{name: "deep parentheses", src: "#set($x = " + strings.Repeat("(", 200) + "1" + strings.Repeat(")", 200) + ")", want: ErrDepthLimit},
		{name: "deep blocks", src: strings.Repeat("#if(true)", 200) + strings.Repeat("#end", 200), want: ErrDepthLimit},
		{name: "deep negation", src: "#set($x = " + strings.Repeat("!", 500) + "true)", want: ErrDepthLimit},
		{name: "deep interpolation", src: strings.Repeat(`#set($x = "`, 1) + strings.Repeat(`$a.b(`, 150) + `"`, want: ErrDepthLimit},
		{name: "template too large", src: strings.Repeat("x", MaxTemplateSize+1), want: ErrTemplateTooLarge, line: 1, col: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("test", tc.src)
			checkErr(t, err, tc.want, tc.line, tc.col)
		})
	}
}

func TestParseAcceptsLimitSizedTemplate(t *testing.T) {
	src := strings.Repeat("$context.stage\n", MaxTemplateSize/15)
	tpl := mustParse(t, src)
	got, err := tpl.Execute(testEnv())
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Repeat("prod\n", MaxTemplateSize/15); got != want {
		t.Fatalf("got %d bytes, want %d", len(got), len(want))
	}
}

func TestPosition(t *testing.T) {
	cases := []struct {
		name      string
		src       string
		off       int
		line, col int
	}{
		{name: "start", src: "abc", off: 0, line: 1, col: 1},
		{name: "second line", src: "ab\ncd", off: 4, line: 2, col: 2},
		{name: "multibyte", src: "é\néx", off: 5, line: 2, col: 2},
		{name: "past the end", src: "a", off: 9, line: 1, col: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			line, col := position(tc.src, tc.off)
			if line != tc.line || col != tc.col {
				t.Fatalf("got %d:%d, want %d:%d", line, col, tc.line, tc.col)
			}
		})
	}
}
