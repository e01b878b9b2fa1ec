package apigw

import (
	"crypto/rand"
	"encoding/binary"
)

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// Lengths of generated identifiers, as seen in AWS examples: API ids are 10
// lowercase alphanumerics (they become a DNS label), deployments 6, other
// resources 7.
const (
	apiIDLen        = 10
	deploymentIDLen = 6
	resourceIDLen   = 7
)

// NewID returns n random characters of [a-z0-9].
func NewID(n int) string {
	b := make([]byte, n)
	var r [8]byte
	for i := range b {
		// Rejection sampling keeps the distribution uniform.
		for {
			_, _ = rand.Read(r[:])
			v := binary.LittleEndian.Uint64(r[:])
			limit := ^uint64(0) - (^uint64(0) % uint64(len(idAlphabet)))
			if v < limit {
				b[i] = idAlphabet[v%uint64(len(idAlphabet))]
				break
			}
		}
	}
	return string(b)
}

// NewAPIID returns a fresh API identifier.
func NewAPIID() string { return NewID(apiIDLen) }

// uniqueID returns an id of length n for which taken reports false.
func uniqueID(n int, taken func(string) bool) string {
	for {
		id := NewID(n)
		if !taken(id) {
			return id
		}
	}
}
