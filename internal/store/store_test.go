package store_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/store"
)

var keyTests = []struct {
	name  string
	key   string
	valid bool
}{
	{name: "one segment", key: "apis", valid: true},
	{name: "nested", key: "apis/a1b2/routes/r-1", valid: true},
	{name: "every allowed byte", key: "AZaz09_=-/x", valid: true},
	{name: "base64url-ish", key: "conns/AbC-_d12345678=", valid: true},
	{name: "longest", key: strings.Repeat("k", store.MaxKeyLen), valid: true},
	{name: "empty", key: ""},
	{name: "too long", key: strings.Repeat("k", store.MaxKeyLen+1)},
	{name: "leading slash", key: "/apis"},
	{name: "trailing slash", key: "apis/"},
	{name: "double slash", key: "apis//a"},
	{name: "dot", key: "apis.a"},
	{name: "NATS wildcard star", key: "apis/*"},
	{name: "NATS wildcard tail", key: "apis/>"},
	{name: "space", key: "a b"},
	{name: "tab", key: "a\tb"},
	{name: "non-ASCII", key: "r\u00e9sum\u00e9"},
	{name: "invalid UTF-8", key: "a\xffb"},
	{name: "NUL", key: "a\x00"},
}

func TestValidKey(t *testing.T) {
	for _, tc := range keyTests {
		t.Run(tc.name, func(t *testing.T) {
			err := store.ValidKey(tc.key)
			if tc.valid && err != nil {
				t.Fatalf("ValidKey(%q) = %v, want nil", tc.key, err)
			}
			if !tc.valid && !errors.Is(err, store.ErrInvalidKey) {
				t.Fatalf("ValidKey(%q) = %v, want ErrInvalidKey", tc.key, err)
			}
		})
	}
}

func TestValidPrefix(t *testing.T) {
	for _, tc := range []struct {
		name   string
		prefix string
		valid  bool
	}{
		{name: "everything", prefix: "", valid: true},
		{name: "one segment", prefix: "apis/", valid: true},
		{name: "nested", prefix: "apis/a1/routes/", valid: true},
		{name: "longest", prefix: strings.Repeat("k", store.MaxKeyLen) + "/", valid: true},
		{name: "too long", prefix: strings.Repeat("k", store.MaxKeyLen+1) + "/"},
		{name: "no trailing slash", prefix: "apis"},
		{name: "only slash", prefix: "/"},
		{name: "double slash", prefix: "apis//"},
		{name: "leading slash", prefix: "/apis/"},
		{name: "dot", prefix: "a.b/"},
		{name: "wildcard", prefix: ">"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := store.ValidPrefix(tc.prefix)
			if tc.valid && err != nil {
				t.Fatalf("ValidPrefix(%q) = %v, want nil", tc.prefix, err)
			}
			if !tc.valid && !errors.Is(err, store.ErrInvalidKey) {
				t.Fatalf("ValidPrefix(%q) = %v, want ErrInvalidKey", tc.prefix, err)
			}
		})
	}
}

// keyRule is the key rule written as a regular expression, to check the
// hand-written scanner against.
var keyRule = regexp.MustCompile(`^[A-Za-z0-9_=-]+(/[A-Za-z0-9_=-]+)*$`)

func FuzzValidKey(f *testing.F) {
	for _, tc := range keyTests {
		f.Add(tc.key)
	}
	f.Fuzz(func(t *testing.T, key string) {
		want := len(key) <= store.MaxKeyLen && keyRule.MatchString(key)
		err := store.ValidKey(key)
		if (err == nil) != want {
			t.Fatalf("ValidKey(%q) = %v, rule says valid=%v", key, err, want)
		}
		if err != nil && !errors.Is(err, store.ErrInvalidKey) {
			t.Fatalf("ValidKey(%q) error %v does not match ErrInvalidKey", key, err)
		}
		// A prefix is a valid key plus '/'.
		if perr := store.ValidPrefix(key + "/"); (perr == nil) != want {
			t.Fatalf("ValidPrefix(%q) = %v, ValidKey says valid=%v", key+"/", perr, want)
		}
		// natsstore's mapping of '/' to '.' must be reversible.
		if want && strings.ReplaceAll(strings.ReplaceAll(key, "/", "."), ".", "/") != key {
			t.Fatalf("key %q does not survive the '/' to '.' mapping", key)
		}
	})
}
