package loadgen

import (
	"errors"
	"net/netip"
	"testing"
)

var checkURLCases = []struct {
	name    string
	raw     string
	schemes []string
	want    string // the URL accepted, "" when refused
	err     error
}{
	{name: "loopback", raw: "ws://127.0.0.1:8080/a/b", schemes: []string{"ws"}, want: "ws://127.0.0.1:8080/a/b"},
	{name: "any 127/8 address", raw: "ws://127.200.3.4:9/x", schemes: []string{"ws"}, want: "ws://127.200.3.4:9/x"},
	{name: "localhost is pinned to 127.0.0.1", raw: "http://localhost:8080", schemes: []string{"http"}, want: "http://127.0.0.1:8080"},
	{name: "query kept", raw: "ws://127.0.0.1:1/s?x=1", schemes: []string{"ws"}, want: "ws://127.0.0.1:1/s?x=1"},
	{name: "private address", raw: "ws://10.0.0.1:8080/", schemes: []string{"ws"}, err: ErrNotLoopback},
	{name: "next to loopback", raw: "ws://128.0.0.1:8080/", schemes: []string{"ws"}, err: ErrNotLoopback},
	{name: "unspecified", raw: "ws://0.0.0.0:8080/", schemes: []string{"ws"}, err: ErrNotLoopback},
	{name: "ipv6 loopback", raw: "ws://[::1]:8080/", schemes: []string{"ws"}, err: ErrNotLoopback},
	{name: "ipv4-mapped loopback", raw: "ws://[::ffff:127.0.0.1]:8080/", schemes: []string{"ws"}, err: ErrNotLoopback},
	{name: "a name", raw: "ws://example.com:80/", schemes: []string{"ws"}, err: ErrNotLoopback},
	{name: "a name that looks local", raw: "ws://127.0.0.1.nip.io:80/", schemes: []string{"ws"}, err: ErrNotLoopback},
	{name: "no port", raw: "ws://127.0.0.1/", schemes: []string{"ws"}, err: ErrBadURL},
	{name: "wrong scheme", raw: "wss://127.0.0.1:443/", schemes: []string{"ws"}, err: ErrBadURL},
	{name: "user info", raw: "http://u:p@127.0.0.1:1/", schemes: []string{"http"}, err: ErrBadURL},
	{name: "not a URL", raw: "ws://[127.0.0.1:80", schemes: []string{"ws"}, err: ErrBadURL},
}

func TestCheckURL(t *testing.T) {
	for _, tc := range checkURLCases {
		t.Run(tc.name, func(t *testing.T) {
			u, err := CheckURL(tc.raw, tc.schemes...)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("CheckURL(%q) = %v, %v; want error %v", tc.raw, u, err, tc.err)
				}
				return
			}
			if err != nil || u.String() != tc.want {
				t.Fatalf("CheckURL(%q) = %v, %v; want %s", tc.raw, u, err, tc.want)
			}
		})
	}
}

// FuzzCheckURL checks that nothing outside 127.0.0.0/8 is ever accepted.
func FuzzCheckURL(f *testing.F) {
	for _, tc := range checkURLCases {
		f.Add(tc.raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := CheckURL(raw, "ws", "http")
		if err != nil {
			return
		}
		ip, perr := netip.ParseAddr(u.Hostname())
		if perr != nil || !ip.Is4() || !netip.MustParsePrefix("127.0.0.0/8").Contains(ip) {
			t.Fatalf("CheckURL(%q) accepted host %q", raw, u.Host)
		}
	})
}

func TestSourceAddrs(t *testing.T) {
	got := SourceAddrs(3)
	want := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}
	for i, a := range got {
		if a.String() != want[i] {
			t.Fatalf("SourceAddrs(3) = %v", got)
		}
	}
	if n := len(SourceAddrs(1000)); n != 250 {
		t.Errorf("SourceAddrs(1000) gave %d addresses, want 250 (127.0.0.2-127.0.0.251)", n)
	}
}
