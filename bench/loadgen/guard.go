package loadgen

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// ErrNotLoopback is wrapped by CheckURL's refusals: the load generator only
// sends traffic to 127.0.0.0/8.
var ErrNotLoopback = errors.New("the load generator only sends traffic to 127.0.0.0/8 (loopback)")

// ErrBadURL is wrapped by CheckURL's other errors.
var ErrBadURL = errors.New("bad URL")

var loopback = netip.MustParsePrefix("127.0.0.0/8")

// CheckURL parses raw and accepts it only when its scheme is one of schemes
// and its host is a literal IPv4 address in 127.0.0.0/8 (or "localhost",
// which it rewrites to 127.0.0.1 so that no name is ever resolved). The port
// is required.
func CheckURL(raw string, schemes ...string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrBadURL, raw, err)
	}
	if !slices.Contains(schemes, strings.ToLower(u.Scheme)) {
		return nil, fmt.Errorf("%w: %q: the scheme must be %s", ErrBadURL, raw, strings.Join(schemes, " or "))
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: %q: user information is not supported", ErrBadURL, raw)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		return nil, fmt.Errorf("%w: %q: give the port, e.g. %s://127.0.0.1:8080", ErrBadURL, raw, u.Scheme)
	}
	if strings.EqualFold(host, "localhost") {
		host = "127.0.0.1"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Is4() || !loopback.Contains(ip) {
		return nil, fmt.Errorf("%w: refusing %q (host %q); use an address such as 127.0.0.1", ErrNotLoopback, raw, u.Hostname())
	}
	u.Host = net.JoinHostPort(ip.String(), port)
	return u, nil
}

// SourceAddrs returns n source addresses 127.0.0.2, 127.0.0.3, … for client
// connections; each gives the kernel its own range of ephemeral ports.
func SourceAddrs(n int) []netip.Addr {
	n = min(max(n, 1), 250)
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + i)})
	}
	return out
}
