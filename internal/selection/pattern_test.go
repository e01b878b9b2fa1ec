package selection

import (
	"errors"
	"regexp/syntax"
	"testing"
)

var patternCases = []struct {
	name  string
	key   string
	input string
	want  bool
}{
	{name: "4xx matches 404", key: `/4\d\d/`, input: "404", want: true},
	{name: "4xx rejects 200", key: `/4\d\d/`, input: "200", want: false},
	{name: "2xx matches 201", key: `/2\d\d/`, input: "201", want: true},
	{name: "whole string: no prefix match", key: `/4\d\d/`, input: "4040", want: false},
	{name: "whole string: no substring match", key: `/404/`, input: "x404", want: false},
	{name: "prefix needs dot star", key: `/Invalid.*/`, input: "Invalid input", want: true},
	{name: "star is not a glob", key: `/Invalid*/`, input: "Invalid input", want: false},
	{name: "substring with dot stars", key: `/.*not found.*/`, input: "Error: not found here", want: true},
	{name: "dot does not match newline", key: `/Bad.*/`, input: "Bad\nthing", want: false},
	{name: "newline class", key: `/Bad(.|\n)*/`, input: "Bad\nthing", want: true},
	{name: "alternation anchored as a whole", key: `/a|b/`, input: "ab", want: false},
	{name: "alternation", key: `/400|404/`, input: "404", want: true},
	{name: "escaped slash", key: `/a\/b/`, input: "a/b", want: true},
	{name: "empty regex matches empty", key: `//`, input: "", want: true},
	{name: "empty regex rejects text", key: `//`, input: "x", want: false},
	{name: "case flag", key: `/(?i)error/`, input: "ERROR", want: true},
	{name: "bracketed message", key: `/\[BadRequest\].*/`, input: "[BadRequest] missing id", want: true},
}

func TestPatternMatch(t *testing.T) {
	for _, tc := range patternCases {
		t.Run(tc.name, func(t *testing.T) {
			if !IsPattern(tc.key) {
				t.Fatalf("IsPattern(%q) = false", tc.key)
			}
			p, err := ParsePattern(tc.key)
			if err != nil {
				t.Fatalf("ParsePattern(%q): %v", tc.key, err)
			}
			if got := p.Match(tc.input); got != tc.want {
				t.Errorf("Match(%q) = %v, want %v", tc.input, got, tc.want)
			}
			if p.String() != tc.key {
				t.Errorf("String() = %q", p.String())
			}
		})
	}
}

func TestParsePatternErrors(t *testing.T) {
	tests := []struct {
		name      string
		key       string
		notPatern bool
	}{
		{name: "default is not a pattern", key: "$default", notPatern: true},
		{name: "plain status", key: "404", notPatern: true},
		{name: "single slash", key: "/", notPatern: true},
		{name: "unterminated", key: "/4\\d\\d", notPatern: true},
		{name: "unbalanced injection", key: "/a)|(b/"},
		{name: "bad class", key: "/[a/"},
		{name: "trailing backslash", key: `/a\/`},
		{name: "java lookahead", key: "/(?=a)a/"},
		{name: "java backreference", key: `/(a)\1/`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if IsPattern(tc.key) == tc.notPatern {
				t.Errorf("IsPattern(%q) = %v", tc.key, !tc.notPatern)
			}
			p, err := ParsePattern(tc.key)
			if err == nil {
				t.Fatalf("ParsePattern(%q) = %v, want an error", tc.key, p)
			}
			if got := errors.Is(err, ErrNotPattern); got != tc.notPatern {
				t.Errorf("errors.Is(%v, ErrNotPattern) = %v", err, got)
			}
			var se *syntax.Error
			if !tc.notPatern && !errors.As(err, &se) {
				t.Errorf("error %v does not wrap *syntax.Error", err)
			}
		})
	}
}
