// Package vtl renders API Gateway mapping templates: the subset of Apache
// Velocity 1.7 (VTL) that request and response templates of WebSocket APIs
// use, with API Gateway's $input, $context, $stageVariables and $util.
//
// Parse a template once and Execute it per message. A *Template is
// immutable and safe for concurrent use; each Execute works on its own
// state and never modifies the Env it is given. The package is pure: no
// I/O, no goroutines, no package-level state.
//
// # Language
//
// References $x, ${x}, $!x and $!{x} with .property, .method(args) and
// [index] parts; #set, #if/#elseif/#else/#end, #foreach (with $foreach.hasNext,
// .index, .count, .first, .last, .parent and $velocityCount), #break, #stop,
// #define, #macro, ## and #* *# comments, #[[ unparsed ]]# blocks, \$ and \#
// escapes, and the braced forms #{if}, #{else}, #{end}... Expressions have
// string literals ('...' verbatim, "..." interpolated), integers, floats,
// true/false/null, lists [a, b], ranges [1..5], maps {"k": v}, and the
// operators || && ! == != < > <= >= + - * / % with their word forms (or,
// and, not, eq, ne, lt, gt, le, ge).
//
// Values behave like the Java objects Velocity sees: strings have length(),
// substring(), indexOf(), replace(), replaceAll() (Go RE2 syntax with Java
// $n replacements), split(), trim(), toLowerCase()...; lists have size(),
// get(), contains(), add()...; maps have get(), put(), keySet(),
// entrySet()... A method that does not exist yields null, as Velocity's
// introspection does; what Java would throw (an index out of range, a bad
// regular expression) is an ErrEval error.
//
// Behaviour taken from Velocity 1.7, which API Gateway runs:
//   - Whitespace: the ')' closing #set, #if, #elseif and #foreach, and the
//     words #else and #end, swallow the blanks and the one newline that
//     follow them; #set also swallows the indentation in front of it; a
//     ## comment ends with its newline. Indentation before other
//     directives is kept.
//   - A null right-hand side leaves the #set target unchanged.
//   - Conditions: null and false are false; everything else, "" and 0
//     included, is true.
//   - == compares numbers by value and other values of different types by
//     their string forms; < > <= >= compare numbers only (false otherwise);
//     a string on either side of + makes it a concatenation; / and % by
//     zero give null; integer division truncates.
//   - #foreach over a map iterates its values; over null or a non-collection
//     it does nothing. The loop variable is restored afterwards.
//   - Identifiers may contain '-': "$a-b" is the variable a-b, write ${a}-b.
//   - Backslashes in string literals are kept as written, so the AWS idiom
//     .replaceAll("\\'", "'") works.
//
// Behaviour of API Gateway (from its documentation and observations):
//   - A reference to something that does not exist renders as the empty
//     string; set Env.LiteralNulls for stock Velocity, which prints the
//     reference's source text.
//   - $input.json(p) returns JSON text (a string comes out quoted);
//     $input.path(p) returns a value: objects render like a Java map
//     ({a=1, b=x}), arrays as compact JSON ([1,"x"]). A path that matches
//     nothing gives "" and null; a body that is not JSON is ErrInvalidJSON.
//     An empty body reads as "{}".
//   - $input.params() is {path, querystring, header}; $input.params(x)
//     searches them in that order and is "" when absent.
//   - $util.escapeJavaScript escapes like Commons Lang (' becomes \', which
//     is not valid JSON; AWS documents .replaceAll("\\'", "'")),
//     $util.urlEncode like java.net.URLEncoder (space is '+').
//   - #foreach stops after 1,000 iterations (Limits.MaxLoopIterations)
//     without an error, as Velocity's directive.foreach.maxloops does;
//     Limits.LoopLimitError makes it fail instead.
//
// # Bounds
//
// Parse rejects sources over MaxTemplateSize (300 KB, API Gateway's quota)
// and nesting deeper than 100. Execute enforces Limits: output size (and
// the size of any string built), evaluation steps, loop iterations, run-time
// nesting and bytes allocated. Hitting a bound is an *Error matching
// ErrLimit; evaluation always terminates.
//
// Not supported: #parse, #include and #evaluate (ErrUnsupported), JSONPath
// filters and functions, Java methods beyond the common ones listed above.
package vtl
