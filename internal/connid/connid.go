// Package connid makes the identifiers wsgate hands out: connection ids,
// request ids and message ids in AWS's shape (16 characters of URL-safe
// base64 encoding 11 bytes, so they end in '='), with the owning node's
// number encoded in connection ids so that any node can route a callback
// to the right node without a lookup.
//
// All functions are safe for concurrent use.
package connid

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
)

const rawLen = 11 // bytes; base64 of 11 bytes is 16 characters with one '='

// Len is the length of every identifier.
const Len = 16

// New returns a fresh connection id owned by node. Nine random bytes make
// it unguessable; the node number is stored XORed with the first two random
// bytes so ids of one node do not share a visible prefix.
func New(node uint16) string {
	var b [rawLen]byte
	_, _ = rand.Read(b[:9])
	binary.BigEndian.PutUint16(b[9:], node^binary.BigEndian.Uint16(b[0:2]))
	return base64.URLEncoding.EncodeToString(b[:])
}

// NewRequestID returns a fresh request or message id (no node inside).
func NewRequestID() string {
	var b [rawLen]byte
	_, _ = rand.Read(b[:])
	return base64.URLEncoding.EncodeToString(b[:])
}

// Node returns the node number encoded in a connection id; ok is false when
// id is not a well-formed id.
func Node(id string) (node uint16, ok bool) {
	var b [rawLen + 1]byte
	if !Valid(id) {
		return 0, false
	}
	n, err := base64.URLEncoding.Decode(b[:], []byte(id))
	if err != nil || n != rawLen {
		return 0, false
	}
	return binary.BigEndian.Uint16(b[9:11]) ^ binary.BigEndian.Uint16(b[0:2]), true
}

// Valid reports whether id has the shape of an id: 16 characters of the
// URL-safe base64 alphabet, the last one '=' and the one before it one that
// 11 bytes can end in.
func Valid(id string) bool {
	if len(id) != Len || id[Len-1] != '=' {
		return false
	}
	for i := 0; i < Len-1; i++ {
		c := id[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	// The 15th character carries 4 bits of the last byte and 2 zero bits.
	v := decodeChar(id[Len-2])
	return v&0x3 == 0
}

func decodeChar(c byte) byte {
	switch {
	case c >= 'A' && c <= 'Z':
		return c - 'A'
	case c >= 'a' && c <= 'z':
		return c - 'a' + 26
	case c >= '0' && c <= '9':
		return c - '0' + 52
	case c == '-':
		return 62
	default:
		return 63
	}
}
