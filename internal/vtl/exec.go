package vtl

import (
	"errors"
	"regexp"
	"strings"
)

// Limits bound one Execute call. Zero fields take the defaults of
// DefaultLimits. A template that hits a bound stops with an *Error that
// matches ErrLimit; it never hangs or allocates without limit.
type Limits struct {
	// MaxOutputBytes bounds the output and every string value built
	// during execution. Default 1 MiB.
	MaxOutputBytes int
	// MaxSteps bounds evaluation work: one step per node, expression,
	// method call and loop iteration, plus a share of the bytes string
	// operations touch (one step per 256 bytes copied, per 32 bytes a
	// string method decodes, per 4 bytes a regular expression scans).
	// Default 1,000,000, which bounds an execution to well under a second.
	MaxSteps int
	// MaxLoopIterations is the number of iterations one #foreach may run
	// (API Gateway's quota: 1,000).
	MaxLoopIterations int
	// LoopLimitError makes a #foreach over a longer collection fail with
	// ErrLoopLimit. By default the loop stops silently after
	// MaxLoopIterations iterations, which is what Velocity's
	// directive.foreach.maxloops setting does.
	LoopLimitError bool
	// MaxDepth bounds run-time nesting: macro and #define calls, and the
	// depth of values rendered or compared (self-containing lists).
	// Default 100.
	MaxDepth int
	// MaxAllocBytes bounds the bytes of strings, collections and parsed
	// JSON created during one execution. Default 16 MiB.
	MaxAllocBytes int
}

// DefaultLimits returns the limits used for zero Limits fields.
func DefaultLimits() Limits {
	return Limits{
		MaxOutputBytes:    1 << 20,
		MaxSteps:          1_000_000,
		MaxLoopIterations: 1000,
		MaxDepth:          100,
		MaxAllocBytes:     16 << 20,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxOutputBytes <= 0 {
		l.MaxOutputBytes = d.MaxOutputBytes
	}
	if l.MaxSteps <= 0 {
		l.MaxSteps = d.MaxSteps
	}
	if l.MaxLoopIterations <= 0 {
		l.MaxLoopIterations = d.MaxLoopIterations
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxAllocBytes <= 0 {
		l.MaxAllocBytes = d.MaxAllocBytes
	}
	return l
}

// Input is the request (or integration response) a template maps:
// $input.body, $input.json(), $input.path() and $input.params().
type Input struct {
	// Body is the payload. An empty body reads as "{}", as API Gateway
	// presents it.
	Body []byte
	// Path, QueryString and Header are searched in that order by
	// $input.params('name') and returned by $input.params().path,
	// .querystring and .header.
	Path        map[string]string
	QueryString map[string]string
	Header      map[string]string
}

// Env is everything a template can see. Execute does not modify it, so one
// Env may be shared by concurrent executions.
type Env struct {
	Input Input
	// Context is $context: connectionId, routeKey, eventType, requestId,
	// identity (a nested map), authorizer (a nested map whose values
	// API Gateway stringifies), and so on.
	Context map[string]any
	// StageVariables is $stageVariables.
	StageVariables map[string]string
	// Vars are further top-level variables ($integration, test values...).
	// $input, $context, $util and $stageVariables take precedence.
	Vars map[string]any
	// Limits bound the execution; zero fields take DefaultLimits.
	Limits Limits
	// LiteralNulls renders a reference whose value is null as its own
	// source text ("$missing"), as stock Velocity does. API Gateway (the
	// default) renders it as an empty string. $!ref is empty either way.
	LiteralNulls bool
}

// ctl is how #break and #stop unwind the node walk.
type ctl uint8

const (
	ctlNone ctl = iota
	ctlBreak
	ctlStop
)

// state is one execution.
type state struct {
	t       *Template
	env     *Env
	lim     Limits
	vars    map[string]any
	main    strings.Builder
	out     *strings.Builder // main, or a buffer for an interpolated string
	steps   int
	alloc   int
	depth   int
	off     int // offset of the construct being evaluated, for errors
	loop    *foreachScope
	input   *inputObj
	regexps map[string]*regexp.Regexp
	lazy    map[string]map[string]any // members of $context (and Vars maps) read before full conversion
}

// Execute renders the template. Errors are *Error values carrying the
// line and column of the construct that failed; they match ErrEval,
// ErrInvalidJSON, ErrLimit (and its specific bounds) or ErrUnsupported.
// Output written before a #stop is kept, as in Velocity.
func (t *Template) Execute(env *Env) (string, error) {
	if env == nil {
		env = &Env{}
	}
	s := &state{t: t, env: env, lim: env.Limits.withDefaults(), vars: make(map[string]any, 8)}
	s.out = &s.main
	if _, err := s.execNodes(t.nodes); err != nil {
		return "", err
	}
	return s.main.String(), nil
}

func (s *state) errAt(off int, sentinel error, format string, args ...any) error {
	return newError(s.t.name, s.t.src, off, sentinel, format, args...)
}

// fail wraps an error from a helper that does not know its position.
func (s *state) fail(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return s.errAt(s.off, ErrEval, "%v", err)
}

// charge counts n evaluation steps.
func (s *state) charge(n int) error {
	s.steps += n
	if s.steps > s.lim.MaxSteps {
		return s.errAt(s.off, ErrStepLimit, "more than %d steps", s.lim.MaxSteps)
	}
	return nil
}

// chargeBytes counts the work of touching n bytes.
func (s *state) chargeBytes(n int) error { return s.charge(1 + n>>8) }

// allocate counts n bytes of new values.
func (s *state) allocate(n int) error {
	s.alloc += n
	if s.alloc > s.lim.MaxAllocBytes {
		return s.errAt(s.off, ErrAllocLimit, "more than %d bytes of values", s.lim.MaxAllocBytes)
	}
	return nil
}

// newString accounts for a string value of n bytes about to be built.
func (s *state) newString(n int) error {
	if n > s.lim.MaxOutputBytes {
		return s.errAt(s.off, ErrOutputLimit, "a string of %d bytes exceeds %d", n, s.lim.MaxOutputBytes)
	}
	if err := s.chargeBytes(n); err != nil {
		return err
	}
	return s.allocate(n)
}

func (s *state) write(str string) error {
	if s.out.Len()+len(str) > s.lim.MaxOutputBytes {
		return s.errAt(s.off, ErrOutputLimit, "more than %d bytes", s.lim.MaxOutputBytes)
	}
	if err := s.chargeBytes(len(str)); err != nil {
		return err
	}
	s.out.WriteString(str)
	return nil
}

func (s *state) enter() error {
	s.depth++
	if s.depth > s.lim.MaxDepth {
		return s.errAt(s.off, ErrDepthLimit, "nesting deeper than %d", s.lim.MaxDepth)
	}
	return nil
}

func (s *state) leave() { s.depth-- }

func (s *state) execNodes(nodes []node) (ctl, error) {
	for _, n := range nodes {
		s.off = n.offset()
		if err := s.charge(1); err != nil {
			return ctlNone, err
		}
		var (
			c   ctl
			err error
		)
		switch n := n.(type) {
		case *textNode:
			err = s.write(n.text)
		case *refNode:
			err = s.renderRef(n)
		case *setNode:
			err = s.execSet(n)
		case *ifNode:
			c, err = s.execIf(n)
		case *foreachNode:
			c, err = s.execForeach(n)
		case *stopNode:
			return ctlStop, nil
		case *breakNode:
			return ctlBreak, nil
		case *defineNode:
			s.vars[n.name] = &block{nodes: n.body}
		case *macroCallNode:
			c, err = s.execMacro(n)
		}
		if err != nil || c != ctlNone {
			return c, err
		}
	}
	return ctlNone, nil
}

func (s *state) renderRef(n *refNode) error {
	v, err := s.evalRef(n.ref)
	if err != nil {
		return err
	}
	s.off = n.ref.off
	if n.escaped {
		if v == nil {
			return s.write(n.prefix + `\` + n.ref.src)
		}
		return s.write(n.prefix + n.ref.src)
	}
	if v == nil {
		if s.env.LiteralNulls && !n.ref.quiet {
			return s.write(n.prefix + n.prefix + n.ref.src)
		}
		return s.write(n.prefix)
	}
	if n.prefix != "" {
		if err := s.write(n.prefix); err != nil {
			return err
		}
	}
	return s.writeValue(s.out, v, 0)
}

func (s *state) execSet(n *setNode) error {
	v, err := s.eval(n.rhs)
	if err != nil {
		return err
	}
	s.off = n.off
	if v == nil {
		// Velocity 1.7 (directive.set.null.allowed=false): a null right-hand
		// side leaves the left-hand side unchanged.
		return nil
	}
	lhs := n.lhs
	if len(lhs.suffixes) == 0 {
		s.vars[lhs.name] = v
		return nil
	}
	target, err := s.lookup(lhs.name)
	if err != nil {
		return err
	}
	last := len(lhs.suffixes) - 1
	for _, suf := range lhs.suffixes[:last] {
		if target == nil {
			return nil
		}
		if target, err = s.applySuffix(target, suf); err != nil {
			return err
		}
	}
	if target == nil {
		return nil
	}
	suf := lhs.suffixes[last]
	s.off = suf.off
	switch suf.kind {
	case sufProp:
		if m, ok := target.(*omap); ok {
			if err := s.allocate(len(suf.name) + 16); err != nil {
				return err
			}
			m.put(suf.name, v)
		}
	case sufIndex:
		idx, err := s.eval(suf.args[0])
		if err != nil {
			return err
		}
		s.off = suf.off
		switch c := target.(type) {
		case *list:
			i, ok := idx.(int64)
			if !ok {
				return nil
			}
			if i < 0 {
				i += int64(len(c.items))
			}
			if i < 0 || i >= int64(len(c.items)) {
				return s.errAt(suf.off, ErrEval, "index %d out of range for a list of %d", idx, len(c.items))
			}
			c.items[i] = v
		case *omap:
			k, err := s.stringOf(idx)
			if err != nil {
				return err
			}
			if err := s.allocate(len(k) + 16); err != nil {
				return err
			}
			c.put(k, v)
		}
	}
	return nil
}

func (s *state) execIf(n *ifNode) (ctl, error) {
	for i, cond := range n.conds {
		v, err := s.eval(cond)
		if err != nil {
			return ctlNone, err
		}
		if truthy(v) {
			return s.execNodes(n.blocks[i])
		}
	}
	if n.els != nil {
		return s.execNodes(n.els)
	}
	return ctlNone, nil
}

func (s *state) execForeach(n *foreachNode) (ctl, error) {
	coll, err := s.eval(n.coll)
	if err != nil {
		return ctlNone, err
	}
	s.off = n.off
	var items []any
	switch c := coll.(type) {
	case *list:
		// A snapshot: adding to the list inside the loop does not extend it.
		items = c.items[:len(c.items):len(c.items)]
	case *omap:
		items = make([]any, len(c.keys)) // Velocity iterates a map's values
		for i, k := range c.keys {
			items[i] = c.vals[k]
		}
	default:
		return ctlNone, nil // null and non-collections: Velocity skips the loop
	}
	if len(items) > s.lim.MaxLoopIterations && s.lim.LoopLimitError {
		return ctlNone, s.errAt(n.off, ErrLoopLimit, "#foreach over %d items, the maximum is %d", len(items), s.lim.MaxLoopIterations)
	}
	prev, hadPrev := s.vars[n.varName]
	outer := s.loop
	scope := &foreachScope{parent: outer}
	s.loop = scope
	defer func() {
		s.loop = outer
		if hadPrev {
			s.vars[n.varName] = prev
		} else {
			delete(s.vars, n.varName)
		}
	}()
	for i, item := range items {
		if i >= s.lim.MaxLoopIterations {
			break
		}
		s.off = n.off
		if err := s.charge(1); err != nil {
			return ctlNone, err
		}
		scope.index = i
		scope.hasNext = i+1 < len(items)
		s.vars[n.varName] = item
		c, err := s.execNodes(n.body)
		if err != nil {
			return ctlNone, err
		}
		if c == ctlStop {
			return c, nil
		}
		if c == ctlBreak {
			break
		}
	}
	return ctlNone, nil
}

func (s *state) execMacro(n *macroCallNode) (ctl, error) {
	args := make([]any, len(n.args))
	for i, a := range n.args {
		v, err := s.eval(a)
		if err != nil {
			return ctlNone, err
		}
		args[i] = v
	}
	s.off = n.off
	if err := s.enter(); err != nil {
		return ctlNone, err
	}
	defer s.leave()
	type saved struct {
		v  any
		ok bool
	}
	prev := make([]saved, len(n.m.params))
	for i, name := range n.m.params {
		v, ok := s.vars[name]
		prev[i] = saved{v, ok}
		s.vars[name] = args[i]
	}
	defer func() {
		for i, name := range n.m.params {
			if prev[i].ok {
				s.vars[name] = prev[i].v
			} else {
				delete(s.vars, name)
			}
		}
	}()
	// #break inside a macro ends the loop around the call, as in Velocity
	// 1.7 where macros have no scope of their own.
	return s.execNodes(n.m.body)
}

// renderBlock runs a #define body into the current output.
func (s *state) renderBlock(b *block) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	off := s.off
	_, err := s.execNodes(b.nodes) // #stop or #break end the block only
	s.off = off
	return err
}

// capture runs fn with output going to a fresh buffer and returns what it
// wrote. The buffer shares MaxOutputBytes as a per-string bound.
func (s *state) capture(fn func() error) (string, error) {
	saved := s.out
	var b strings.Builder
	s.out = &b
	err := fn()
	s.out = saved
	if err != nil {
		return "", err
	}
	if err := s.allocate(b.Len()); err != nil {
		return "", err
	}
	return b.String(), nil
}
