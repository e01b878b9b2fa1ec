package apigw

import (
	"encoding/json"
	"fmt"
	"strings"
)

// How APIs are kept in the store (the layout every reader and writer
// shares): each API is one Document under DocumentKey; each deployment's
// Snapshot is a write-once key under SnapshotKey, written before the
// document that references it.
const (
	DocumentPrefix = "apis/"
	SnapshotPrefix = "snapshots/"
)

// DocumentKey is the store key of an API's document.
func DocumentKey(apiID string) string { return DocumentPrefix + apiID }

// SnapshotKey is the store key of a deployment's snapshot.
func SnapshotKey(apiID, deploymentID string) string {
	return SnapshotPrefix + apiID + "/" + deploymentID
}

// DecodeDocument decodes a stored document.
func DecodeDocument(b []byte) (*Document, error) {
	var d Document
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("decode api document: %w", err)
	}
	return &d, nil
}

// DecodeSnapshot decodes a stored snapshot.
func DecodeSnapshot(b []byte) (*Snapshot, error) {
	var s Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode snapshot: %w", err)
	}
	return &s, nil
}

// APIFromHost returns the API id of a Host header of the form
// {apiId}.execute-api.<anything> (AWS's default endpoint), or "".
func APIFromHost(host string) string {
	label, rest, ok := strings.Cut(strings.ToLower(host), ".")
	if !ok || !strings.HasPrefix(rest, "execute-api.") || len(label) > 64 || !ValidAPIID(label) {
		return ""
	}
	return label
}
