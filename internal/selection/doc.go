// Package selection parses and evaluates the selection expressions of AWS API
// Gateway WebSocket APIs: the route selection expression of an Api
// (`$request.body.action`), template, model and integration-response selection
// expressions, and the `/regex/` keys of integration responses.
//
// # Grammar
//
// An expression is literal text mixed with variables, evaluated in a single
// pass (a variable's value is never re-parsed as an expression):
//
//   - `$name.path` is a variable that runs as long as it meets characters that
//     can be in a variable: ASCII letters, digits, '_', '-', and '.' followed
//     by another such character. After `request.body` and
//     `integration.response.body` it may also hold JSONPath brackets:
//     `[0]`, `['a.b']`, `["x"]`. A trailing '.' is literal text, so
//     `$request.body.name.` ends with a literal dot.
//   - `${name.path}` delimits a variable explicitly; inside the braces every
//     character up to the closing '}' belongs to the variable (a '}' inside a
//     quoted JSONPath bracket key does not close it).
//   - `\$` is a literal dollar (`\$default` evaluates to `$default`). A
//     backslash before anything else is an ordinary character.
//   - A '$' that starts no variable (`$`, `$ `, `${}`) is a syntax error, as
//     are an unclosed `${`, empty path segments (`a..b`), bad brackets and
//     JSONPath wildcards.
//
// Any dotted name parses; the package knows the roots listed as Root*
// constants and leaves it to callers to reject roots their expression kind
// does not allow (see Expr.Vars).
//
// # Values
//
// Missing values evaluate to the empty string. A selected JSON string gives
// its unescaped text (invalid UTF-8 and lone surrogates become U+FFFD, as
// with encoding/json); a number, true or false gives its JSON text unchanged
// (`1.50` stays `1.50`); a top-level null gives the empty string. Arrays and
// objects are printed the way AWS's Java runtime prints collections:
// `[item1, item2]` (documented by AWS) and `{a=1, b=x}` (Java Map style, not
// confirmed against AWS), with members in document order, nested strings
// unquoted and nested nulls as `null`.
//
// # Reading JSON
//
// Body variables are read by a scanner that walks the message to the
// requested path, validating what it passes over, and stops there; it never
// decodes the message and allocates only past 256 levels of nesting. For a
// message whose first JSON value is well formed the result is exactly what
// encoding/json would give (including "last duplicate key wins", which
// matches Go, JavaScript, Python and Jackson); otherwise:
//
//   - A syntax error before the end of the first occurrence of the selected
//     value (or of the point where the path is known to be missing) makes the
//     message "not JSON".
//   - Bytes after that point are not validated: `{"action":"a"}garbage` and
//     `{"action":"a",` select `a`. To honour "last duplicate wins" without
//     reading everything, the scanner searches the rest of the message for
//     the path's keys and for backslashes (a fast byte search, no parsing);
//     only if one occurs does it rescan the whole first JSON value, and if
//     that rescan meets a syntax error the first occurrence stands.
//   - A top-level scalar must be the whole message apart from whitespace.
//   - Nesting deeper than 10000 containers (encoding/json's limit) is not
//     JSON; the scanner is iterative, so depth never grows the stack.
//
// # Concurrency
//
// Parse, ParsePattern and IsPattern are pure functions. An *Expr or *Pattern
// is immutable once returned and safe for concurrent use by any number of
// goroutines.
package selection
