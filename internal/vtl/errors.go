package vtl

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Errors returned (wrapped in *Error) by Parse and Execute; match them with
// errors.Is. Every limit error also matches ErrLimit.
var (
	// ErrSyntax: the template is not valid VTL (unclosed #if, bad expression...).
	ErrSyntax = errors.New("vtl: syntax error")
	// ErrUnsupported: the template uses a Velocity feature this engine does
	// not implement (#parse, #include, #evaluate, JSONPath filters...).
	ErrUnsupported = errors.New("vtl: unsupported feature")
	// ErrEval: a runtime failure Velocity would raise as an exception
	// (index out of range, invalid regular expression, malformed URL
	// encoding...).
	ErrEval = errors.New("vtl: evaluation error")
	// ErrInvalidJSON: $input.json, $input.path or $util.parseJson was given
	// text that is not JSON.
	ErrInvalidJSON = errors.New("vtl: invalid JSON")

	// ErrLimit is matched by every bound below.
	ErrLimit = errors.New("vtl: limit exceeded")
	// ErrTemplateTooLarge: the template source exceeds MaxTemplateSize.
	ErrTemplateTooLarge = fmt.Errorf("%w: template size", ErrLimit)
	// ErrOutputLimit: the output (or one string value) exceeds Limits.MaxOutputBytes.
	ErrOutputLimit = fmt.Errorf("%w: output size", ErrLimit)
	// ErrStepLimit: evaluation took more than Limits.MaxSteps steps.
	ErrStepLimit = fmt.Errorf("%w: evaluation steps", ErrLimit)
	// ErrLoopLimit: a #foreach ran past Limits.MaxLoopIterations with
	// Limits.LoopLimitError set.
	ErrLoopLimit = fmt.Errorf("%w: #foreach iterations", ErrLimit)
	// ErrDepthLimit: nesting (blocks, expressions, macro calls, JSON,
	// rendered values) is deeper than allowed.
	ErrDepthLimit = fmt.Errorf("%w: nesting depth", ErrLimit)
	// ErrAllocLimit: the values created during one execution exceed
	// Limits.MaxAllocBytes.
	ErrAllocLimit = fmt.Errorf("%w: memory", ErrLimit)
)

// Error is the error type of Parse and Execute. Line and Col (1-based, Col
// counted in characters) locate the construct that failed in the template
// source.
type Error struct {
	Template string // template name given to Parse
	Line     int
	Col      int
	Msg      string // what went wrong, without position
	Err      error  // one of the Err* sentinels
}

func (e *Error) Error() string {
	kind := "error"
	if e.Err != nil {
		kind = strings.TrimPrefix(e.Err.Error(), "vtl: ")
	}
	return fmt.Sprintf("vtl: %s:%d:%d: %s: %s", e.Template, e.Line, e.Col, kind, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// position converts a byte offset in src into a 1-based line and column.
func position(src string, off int) (line, col int) {
	if off > len(src) {
		off = len(src)
	}
	if off < 0 {
		off = 0
	}
	line, col = 1, 1
	for i := 0; i < off; {
		r, n := utf8.DecodeRuneInString(src[i:])
		i += n
		if r == '\n' {
			line++
			col = 1
			continue
		}
		col++
	}
	return line, col
}

func newError(name, src string, off int, sentinel error, format string, args ...any) *Error {
	line, col := position(src, off)
	return &Error{Template: name, Line: line, Col: col, Msg: fmt.Sprintf(format, args...), Err: sentinel}
}
