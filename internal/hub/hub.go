// Package hub is one node's registry of live WebSocket connections: by id,
// by stage, by group and by principal (the authorizer's principalId), with
// per-connection groups and metadata. The data plane adds a connection once
// its handshake completes and removes it the moment it closes, so a lookup,
// a group send or a broadcast never sees a closed connection as a member.
//
// Hub is safe for concurrent use. Fan-out methods copy the member list under
// a read lock and send outside it, so a slow member never blocks the hub; a
// large fan-out is spread over up to GOMAXPROCS goroutines, each owned and
// waited for by the Send call that started it.
package hub

import (
	"errors"
	"hash/maphash"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// Errors.
var (
	ErrGone        = errors.New("hub: connection gone")
	ErrQueueFull   = errors.New("hub: connection send queue full")
	ErrBadGroup    = errors.New("hub: invalid group name")
	ErrTooMany     = errors.New("hub: too many groups or metadata entries")
	ErrBadMetadata = errors.New("hub: invalid metadata")
)

// Limits on what a connection may carry.
const (
	MaxGroupsPerConn = 64
	MaxGroupLen      = 128
	MaxMetadataKeys  = 32
	MaxMetadataBytes = 4096
)

// Conn is a live connection as the hub sees it.
type Conn interface {
	ID() string
	// Send queues data without blocking: ErrQueueFull when the connection's
	// queue is full, ErrGone when it has closed.
	Send(data []byte, binary bool) error
	// Close closes the connection with a close frame.
	Close(code int, reason string)
	// Base returns the connection's own facts (the hub adds groups and
	// metadata).
	Base() Info
	// Alive reports whether the connection is still open: false from the
	// moment its closing handshake starts, before it is removed.
	Alive() bool
}

// Key names a stage.
type Key struct{ API, Stage string }

// Info describes a connection.
type Info struct {
	ID           string            `json:"connectionId"`
	APIID        string            `json:"apiId"`
	Stage        string            `json:"stage"`
	ConnectedAt  time.Time         `json:"connectedAt"`
	LastActiveAt time.Time         `json:"lastActiveAt"`
	SourceIP     string            `json:"sourceIp"`
	UserAgent    string            `json:"userAgent,omitempty"`
	PrincipalID  string            `json:"principalId,omitempty"`
	Groups       []string          `json:"groups,omitempty"`
	Metadata     map[string]string `json:"metadata,omitempty"`
}

type entry struct {
	c         Conn
	key       Key
	principal string
	// Guarded by Hub.mu.
	groups   []string
	metadata map[string]string
}

type gkey struct {
	Key
	name string
}

const nShards = 64

type shard struct {
	mu sync.RWMutex
	m  map[string]*entry
}

// Hub holds a node's connections.
type Hub struct {
	seed   maphash.Seed
	shards [nShards]shard

	mu     sync.RWMutex // guards the indexes and entries' groups/metadata
	stages map[Key]memberSet
	groups map[gkey]memberSet
	users  map[gkey]memberSet
}

// New returns an empty Hub.
func New() *Hub {
	h := &Hub{
		seed:   maphash.MakeSeed(),
		stages: map[Key]memberSet{},
		groups: map[gkey]memberSet{},
		users:  map[gkey]memberSet{},
	}
	for i := range h.shards {
		h.shards[i].m = map[string]*entry{}
	}
	return h
}

func (h *Hub) shard(id string) *shard {
	return &h.shards[maphash.String(h.seed, id)%nShards]
}

// memberSet is an index's members. Keyed by the entry itself (8 bytes
// a slot, where an id key takes 16 and a value 8 more): every connection is
// in its stage's set, so this is per-connection memory.
type memberSet = map[*entry]struct{}

func addIndex[K comparable](m map[K]memberSet, k K, e *entry) {
	set := m[k]
	if set == nil {
		set = memberSet{}
		m[k] = set
	}
	set[e] = struct{}{}
}

func delIndex[K comparable](m map[K]memberSet, k K, e *entry) {
	if set := m[k]; set != nil {
		delete(set, e)
		if len(set) == 0 {
			delete(m, k)
		}
	}
}

// Add registers a connection of a stage, with its principal ("" when no
// authorizer ran) and initial groups and metadata (from $connect).
func (h *Hub) Add(c Conn, key Key, principal string, groups []string, metadata map[string]string) {
	e := &entry{c: c, key: key, principal: principal}
	h.mu.Lock()
	addIndex(h.stages, key, e)
	if principal != "" {
		addIndex(h.users, gkey{key, principal}, e)
	}
	for _, g := range groups {
		if validGroup(g) && len(e.groups) < MaxGroupsPerConn && !slices.Contains(e.groups, g) {
			e.groups = append(e.groups, g)
			addIndex(h.groups, gkey{key, g}, e)
		}
	}
	if len(metadata) > 0 && checkMetadata(metadata) == nil {
		e.metadata = maps.Clone(metadata)
	}
	h.mu.Unlock()
	s := h.shard(c.ID())
	s.mu.Lock()
	s.m[c.ID()] = e
	s.mu.Unlock()
}

// Remove unregisters a connection from every index at once.
func (h *Hub) Remove(id string) {
	s := h.shard(id)
	s.mu.Lock()
	e := s.m[id]
	delete(s.m, id)
	s.mu.Unlock()
	if e == nil {
		return
	}
	h.mu.Lock()
	delIndex(h.stages, e.key, e)
	if e.principal != "" {
		delIndex(h.users, gkey{e.key, e.principal}, e)
	}
	for _, g := range e.groups {
		delIndex(h.groups, gkey{e.key, g}, e)
	}
	h.mu.Unlock()
}

func (h *Hub) lookup(id string) *entry {
	s := h.shard(id)
	s.mu.RLock()
	e := s.m[id]
	s.mu.RUnlock()
	return e
}

// Get returns a connection and its stage.
func (h *Hub) Get(id string) (Conn, Key, bool) {
	e := h.lookup(id)
	if e == nil || !e.c.Alive() {
		return nil, Key{}, false
	}
	return e.c, e.key, true
}

// Info returns a connection's description, groups and metadata included.
func (h *Hub) Info(id string) (Info, bool) {
	e := h.lookup(id)
	if e == nil || !e.c.Alive() {
		return Info{}, false
	}
	return h.info(e), true
}

func (h *Hub) info(e *entry) Info {
	in := e.c.Base()
	in.ID = e.c.ID()
	in.APIID, in.Stage = e.key.API, e.key.Stage
	in.PrincipalID = e.principal
	h.mu.RLock()
	in.Groups = slices.Clone(e.groups)
	in.Metadata = maps.Clone(e.metadata)
	h.mu.RUnlock()
	return in
}

// Metadata returns a copy of a connection's metadata (nil if none).
func (h *Hub) Metadata(id string) map[string]string {
	e := h.lookup(id)
	if e == nil {
		return nil
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	return maps.Clone(e.metadata)
}

// Len returns the number of connections.
func (h *Hub) Len() int {
	n := 0
	for i := range h.shards {
		h.shards[i].mu.RLock()
		n += len(h.shards[i].m)
		h.shards[i].mu.RUnlock()
	}
	return n
}

func validGroup(g string) bool {
	if g == "" || len(g) > MaxGroupLen {
		return false
	}
	for i := 0; i < len(g); i++ {
		c := g[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.:@", c) >= 0) {
			return false
		}
	}
	return true
}

// ValidGroup reports whether g can be a group name: 1 to 128 of
// [A-Za-z0-9-_.:@].
func ValidGroup(g string) bool { return validGroup(g) }

// Join adds a connection to a group of its stage (idempotent).
func (h *Hub) Join(id, group string) error {
	if !validGroup(group) {
		return ErrBadGroup
	}
	e := h.lookup(id)
	if e == nil {
		return ErrGone
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lookup(id) != e { // closed meanwhile: never index a dead entry
		return ErrGone
	}
	if slices.Contains(e.groups, group) {
		return nil
	}
	if len(e.groups) >= MaxGroupsPerConn {
		return ErrTooMany
	}
	e.groups = append(e.groups, group)
	addIndex(h.groups, gkey{e.key, group}, e)
	return nil
}

// Leave removes a connection from a group (idempotent).
func (h *Hub) Leave(id, group string) error {
	e := h.lookup(id)
	if e == nil {
		return ErrGone
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if i := slices.Index(e.groups, group); i >= 0 {
		e.groups = slices.Delete(e.groups, i, i+1)
		delIndex(h.groups, gkey{e.key, group}, e)
	}
	return nil
}

// SetMetadata merges metadata into a connection's: an empty value deletes
// a key. The result must stay within MaxMetadataKeys and MaxMetadataBytes.
func (h *Hub) SetMetadata(id string, md map[string]string) error {
	e := h.lookup(id)
	if e == nil {
		return ErrGone
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	next := maps.Clone(e.metadata)
	if next == nil {
		next = map[string]string{}
	}
	for k, v := range md {
		if v == "" {
			delete(next, k)
		} else {
			next[k] = v
		}
	}
	if err := checkMetadata(next); err != nil {
		return err
	}
	if len(next) == 0 {
		next = nil
	}
	e.metadata = next
	return nil
}

func checkMetadata(md map[string]string) error {
	if len(md) > MaxMetadataKeys {
		return ErrTooMany
	}
	n := 0
	for k, v := range md {
		if k == "" || len(k) > 128 {
			return ErrBadMetadata
		}
		n += len(k) + len(v)
	}
	if n > MaxMetadataBytes {
		return ErrTooMany
	}
	return nil
}

// Selector chooses the connections of a stage a fan-out or list applies
// to. Zero values select everything.
type Selector struct {
	Key       Key
	Group     string
	Principal string
	// MetaKey/MetaValue select connections whose metadata has that value
	// (any value when MetaValue is empty).
	MetaKey, MetaValue string
	Exclude            string // a connection id to leave out (the sender)
}

// Select returns the matching connections, sorted by id.
func (h *Hub) Select(sel Selector) []Conn {
	es := h.selectEntries(sel, true)
	out := make([]Conn, len(es))
	for i, e := range es {
		out[i] = e.c
	}
	return out
}

func (h *Hub) selectEntries(sel Selector, sorted bool) []*entry {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var set memberSet
	switch {
	case sel.Group != "":
		set = h.groups[gkey{sel.Key, sel.Group}]
	case sel.Principal != "":
		set = h.users[gkey{sel.Key, sel.Principal}]
	default:
		set = h.stages[sel.Key]
	}
	out := make([]*entry, 0, len(set))
	for e := range set {
		if sel.Exclude != "" && e.c.ID() == sel.Exclude {
			continue
		}
		if sel.Principal != "" && e.principal != sel.Principal {
			continue
		}
		if sel.Group != "" && !slices.Contains(e.groups, sel.Group) {
			continue
		}
		if sel.MetaKey != "" {
			v, ok := e.metadata[sel.MetaKey]
			if !ok || (sel.MetaValue != "" && v != sel.MetaValue) {
				continue
			}
		}
		out = append(out, e)
	}
	if sorted {
		slices.SortFunc(out, func(a, b *entry) int { return strings.Compare(a.c.ID(), b.c.ID()) })
	}
	return out
}

// List returns up to limit connections matching sel whose ids sort after
// the id after, with their info; more reports whether more follow.
func (h *Hub) List(sel Selector, after string, limit int) (infos []Info, more bool) {
	es := h.selectEntries(sel, true)
	i, _ := slices.BinarySearchFunc(es, after, func(e *entry, id string) int { return strings.Compare(e.c.ID(), id) })
	if i < len(es) && es[i].c.ID() == after {
		i++
	}
	for ; i < len(es) && len(infos) < limit; i++ {
		infos = append(infos, h.info(es[i]))
	}
	return infos, i < len(es)
}

// Result counts what a fan-out did.
type Result struct {
	Queued  int `json:"queued"`  // connections the message was queued to
	Dropped int `json:"dropped"` // members whose queue was full
}

// fanoutChunk is the fewest members one goroutine of a fan-out sends to.
// Queueing a message costs a socket write (microseconds); starting a
// goroutine costs far less, so a large fan-out is spread over up to
// GOMAXPROCS goroutines.
const fanoutChunk = 512

// Send queues data to every connection sel matches and returns once it is
// queued to all. Each member's own queue policy applies; a full queue counts
// as dropped and never delays the others. Large fan-outs are split between
// up to GOMAXPROCS goroutines; data is only read.
func (h *Hub) Send(sel Selector, data []byte, binary bool) Result {
	es := h.selectEntries(sel, false)
	parts := min(runtime.GOMAXPROCS(0), len(es)/fanoutChunk)
	if parts <= 1 {
		return sendEach(es, data, binary)
	}
	results := make([]Result, parts)
	var wg sync.WaitGroup
	for i := range parts - 1 {
		lo, hi := i*len(es)/parts, (i+1)*len(es)/parts
		wg.Go(func() { results[i] = sendEach(es[lo:hi], data, binary) })
	}
	results[parts-1] = sendEach(es[(parts-1)*len(es)/parts:], data, binary)
	wg.Wait()
	var r Result
	for _, x := range results {
		r.Queued += x.Queued
		r.Dropped += x.Dropped
	}
	return r
}

func sendEach(es []*entry, data []byte, binary bool) Result {
	var r Result
	for _, e := range es {
		switch err := e.c.Send(data, binary); {
		case err == nil:
			r.Queued++
		case errors.Is(err, ErrQueueFull):
			r.Dropped++
		}
	}
	return r
}

// Each calls f for every connection of every stage (used at shutdown).
func (h *Hub) Each(f func(Conn)) {
	var all []Conn
	for i := range h.shards {
		h.shards[i].mu.RLock()
		for _, e := range h.shards[i].m {
			all = append(all, e.c)
		}
		h.shards[i].mu.RUnlock()
	}
	for _, c := range all {
		f(c)
	}
}
