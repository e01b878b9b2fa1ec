package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"strings"
	"sync"
)

// maxCachedKeys bounds the signing-key cache. A key is valid for one
// (secret, day, region, service), so a gateway with a handful of callers
// needs a few entries a day; the bound only matters against clients that
// rotate regions or dates on purpose.
const maxCachedKeys = 256

type scopeKey struct{ secret, date, region, service string }

// keyCache memoises derived signing keys: deriving one costs four HMACs,
// more than checking the signature itself, and @connections callers sign
// every request with the same key all day.
type keyCache struct {
	mu   sync.RWMutex
	keys map[scopeKey][32]byte
}

func (c *keyCache) get(secret string, cr credential) [32]byte {
	k := scopeKey{secret, cr.date, cr.region, cr.service}
	c.mu.RLock()
	key, ok := c.keys[k]
	c.mu.RUnlock()
	if ok {
		return key
	}
	key = deriveKey(secret, cr.date, cr.region, cr.service)
	// Clone: k's strings point into the request's headers, which the cache
	// must not keep alive.
	k = scopeKey{strings.Clone(secret), strings.Clone(cr.date), strings.Clone(cr.region), strings.Clone(cr.service)}
	c.mu.Lock()
	if c.keys == nil {
		c.keys = make(map[scopeKey][32]byte)
	}
	if len(c.keys) >= maxCachedKeys {
		for old := range c.keys { // evict an arbitrary entry
			delete(c.keys, old)
			break
		}
	}
	c.keys[k] = key
	c.mu.Unlock()
	return key
}

func deriveKey(secret, date, region, service string) [32]byte {
	mac := func(key []byte, data string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(data))
		return h.Sum(nil)
	}
	k := mac([]byte("AWS4"+secret), date)
	k = mac(k, region)
	k = mac(k, service)
	k = mac(k, terminator)
	return [32]byte(k)
}

// hmacSHA256 is RFC 2104 HMAC for a 32-byte key, computed with
// sha256.Sum256 over buffers that stay on the stack for messages up to a
// few hundred bytes. It exists because crypto/hmac allocates five times per
// call, and this runs for every verified request.
func hmacSHA256(key *[32]byte, msg []byte) [32]byte {
	const block = 64
	var stack [block + 256]byte
	buf := stack[:block]
	for i := range block {
		var k byte
		if i < len(key) {
			k = key[i]
		}
		buf[i] = k ^ 0x36
	}
	buf = append(buf, msg...)
	inner := sha256.Sum256(buf)

	var outer [block + sha256.Size]byte
	for i := range block {
		var k byte
		if i < len(key) {
			k = key[i]
		}
		outer[i] = k ^ 0x5c
	}
	copy(outer[block:], inner[:])
	return sha256.Sum256(outer[:])
}
