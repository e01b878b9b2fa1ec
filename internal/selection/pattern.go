package selection

import (
	"errors"
	"fmt"
	"regexp"
)

// ErrNotPattern is returned (wrapped) by ParsePattern for a key that is not
// written /regex/.
var ErrNotPattern = errors.New("not a /regex/ pattern")

// Pattern is an integration response key written /regex/, such as `/4\d\d/`.
// It is immutable and safe for concurrent use.
//
// AWS matches the key against the backend's HTTP status code (HTTP and MOCK
// integrations) or the Lambda error's errorMessage (AWS integrations). Match
// requires the regex to match the whole string, as Java's String.matches
// does: on AWS (REST APIs, which share the mechanism) `Invalid*` does not
// select "Invalid input" while `Invalid.*` does, and users anchor with `.*`
// for substrings. The syntax is Go's RE2, close to Java's for what such keys
// use; Java-only constructs (backreferences, lookaround, possessive
// quantifiers) fail to parse. As in Java, '.' does not match '\n' (Java also
// excludes '\r', U+0085, U+2028 and U+2029; RE2 does not).
type Pattern struct {
	src string
	re  *regexp.Regexp
}

// IsPattern reports whether an integration response key is written /regex/.
// Callers handle `$default` themselves.
func IsPattern(key string) bool {
	return len(key) >= 2 && key[0] == '/' && key[len(key)-1] == '/'
}

// ParsePattern compiles a /regex/ key. Errors wrap ErrNotPattern or the
// *regexp/syntax.Error that rejected the regex.
func ParsePattern(key string) (*Pattern, error) {
	if !IsPattern(key) {
		return nil, fmt.Errorf("parse integration response key %q: %w", key, ErrNotPattern)
	}
	inner := key[1 : len(key)-1]
	// Compiling the regex on its own first makes sure it is balanced, so
	// wrapping it cannot change its meaning (think `a)|(b`).
	if _, err := regexp.Compile(inner); err != nil {
		return nil, fmt.Errorf("parse integration response key %q: %w", key, err)
	}
	re, err := regexp.Compile(`\A(?:` + inner + `)\z`)
	if err != nil {
		return nil, fmt.Errorf("parse integration response key %q: %w", key, err)
	}
	return &Pattern{src: key, re: re}, nil
}

// Match reports whether the regex matches the whole of s.
func (p *Pattern) Match(s string) bool { return p.re.MatchString(s) }

// String returns the key as written, slashes included.
func (p *Pattern) String() string { return p.src }
