package vtl

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// inputObj is $input.
type inputObj struct {
	in      *Input
	bodyStr string
	hasBody bool
	doc     any
	parsed  bool
	params  *omap
}

// body is $input.body. API Gateway presents an empty payload as "{}".
func (o *inputObj) body() string {
	if !o.hasBody {
		o.hasBody = true
		o.bodyStr = string(o.in.Body)
		if o.bodyStr == "" {
			o.bodyStr = "{}"
		}
	}
	return o.bodyStr
}

func (s *state) inputMethod(o *inputObj, name string, args []any) (any, error) {
	switch name {
	case "body", "getBody":
		if len(args) == 0 {
			return o.body(), nil
		}
	case "json", "path":
		p, ok := argString(args, 0)
		if !ok || len(args) != 1 {
			return nil, nil
		}
		return s.inputPath(o, p, name == "json")
	case "params":
		switch len(args) {
		case 0:
			return s.allParams(o)
		case 1:
			p, ok := args[0].(string)
			if !ok {
				return nil, nil
			}
			return o.param(p), nil
		}
	}
	return nil, nil
}

// inputPath is $input.json(p) (asJSON) and $input.path(p). A definite
// path that matches nothing gives "" and null respectively.
func (s *state) inputPath(o *inputObj, p string, asJSON bool) (any, error) {
	jp, err := compileJSONPath(p)
	if err != nil {
		if err == errJSONPathFilter {
			return nil, s.errAt(s.off, ErrUnsupported, "JSONPath %q: %v", p, err)
		}
		return nil, s.errAt(s.off, ErrEval, "invalid JSONPath: %v", err)
	}
	if !o.parsed {
		body := o.body()
		if err := s.chargeBytes(len(body)); err != nil {
			return nil, err
		}
		if err := s.allocate(2 * len(body)); err != nil {
			return nil, err
		}
		doc, err := parseJSON(body, s.lim.MaxDepth)
		if err != nil {
			return nil, s.jsonErr("$input body", err)
		}
		o.doc, o.parsed = doc, true
	}
	v, found, err := jp.eval(o.doc, func() error { return s.charge(1) })
	if err != nil {
		return nil, s.fail(err)
	}
	if !asJSON {
		return v, nil
	}
	if !found {
		return "", nil
	}
	var b strings.Builder
	if err := s.writeJSON(&b, v, 0); err != nil {
		return nil, err
	}
	if err := s.allocate(b.Len()); err != nil {
		return nil, err
	}
	return b.String(), nil
}

func (s *state) allParams(o *inputObj) (any, error) {
	if o.params == nil {
		all := newMap(3)
		for _, kv := range []struct {
			name string
			m    map[string]string
		}{{"path", o.in.Path}, {"querystring", o.in.QueryString}, {"header", o.in.Header}} {
			m, _ := fromGo(kv.m, 0)
			if m == nil {
				m = newMap(0)
			}
			all.put(kv.name, m)
		}
		o.params = all
	}
	return o.params, nil
}

// param is $input.params(name): path, then query string, then header
// (header names compared case-insensitively); "" when absent.
func (o *inputObj) param(name string) string {
	if v, ok := o.in.Path[name]; ok {
		return v
	}
	if v, ok := o.in.QueryString[name]; ok {
		return v
	}
	if v, ok := o.in.Header[name]; ok {
		return v
	}
	for k, v := range o.in.Header {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func (s *state) jsonErr(what string, err error) error {
	if errors.Is(err, errJSONDepth) {
		return s.errAt(s.off, ErrDepthLimit, "%s: %v", what, err)
	}
	return s.errAt(s.off, ErrInvalidJSON, "%s: %v", what, err)
}

// utilObj is $util.
type utilObj struct{}

func (s *state) utilMethod(name string, args []any) (any, error) {
	if len(args) != 1 || args[0] == nil {
		return nil, nil
	}
	arg, err := s.stringOf(args[0])
	if err != nil {
		return nil, err
	}
	if err := s.chargeBytes(len(arg)); err != nil {
		return nil, err
	}
	var out string
	switch name {
	case "escapeJavaScript":
		out = escapeJavaScript(arg)
	case "urlEncode":
		out = urlEncode(arg)
	case "urlDecode":
		if out, err = urlDecode(arg); err != nil {
			return nil, s.errAt(s.off, ErrEval, "urlDecode: %v", err)
		}
	case "base64Encode":
		out = base64.StdEncoding.EncodeToString([]byte(arg))
	case "base64Decode":
		if out, err = base64Decode(arg); err != nil {
			return nil, s.errAt(s.off, ErrEval, "base64Decode: %v", err)
		}
	case "parseJson":
		if err := s.allocate(2 * len(arg)); err != nil {
			return nil, err
		}
		v, err := parseJSON(arg, s.lim.MaxDepth)
		if err != nil {
			return nil, s.jsonErr("parseJson", err)
		}
		return v, nil
	default:
		return nil, nil
	}
	if err := s.newString(len(out)); err != nil {
		return nil, err
	}
	return out, nil
}

// escapeJavaScript escapes like Apache Commons Lang's
// StringEscapeUtils.escapeJavaScript: \' \" \\ \/, \b \f \n \r \t, and
// \uXXXX (upper-case hex, per UTF-16 unit) for other control characters
// and everything above U+007F.
func escapeJavaScript(str string) string {
	var b strings.Builder
	b.Grow(len(str) + len(str)/8)
	for _, r := range str {
		switch {
		case r == '\'':
			b.WriteString(`\'`)
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '/':
			b.WriteString(`\/`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r > 0x7f:
			if r > 0xffff {
				hi, lo := utf16.EncodeRune(r)
				writeU(&b, hi)
				writeU(&b, lo)
			} else {
				writeU(&b, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func writeU(b *strings.Builder, r rune) {
	b.WriteString(`\u`)
	b.WriteByte(hexDigits[r>>12&0xf])
	b.WriteByte(hexDigits[r>>8&0xf])
	b.WriteByte(hexDigits[r>>4&0xf])
	b.WriteByte(hexDigits[r&0xf])
}

// urlEncode is Java's URLEncoder.encode(s, "UTF-8"): letters, digits and
// ".-*_" stay, space becomes '+', every other byte %XX.
func urlEncode(str string) string {
	var b strings.Builder
	b.Grow(len(str) * 3 / 2)
	for i := 0; i < len(str); i++ {
		c := str[i]
		switch {
		case isAlpha(c) || isDigit(c) || c == '.' || c == '-' || c == '*' || c == '_':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xf])
		}
	}
	return b.String()
}

type decodeError string

func (e decodeError) Error() string { return string(e) }

// urlDecode is Java's URLDecoder.decode(s, "UTF-8"): '+' is a space, %XX
// a byte; a malformed escape is an error.
func urlDecode(str string) (string, error) {
	if !strings.ContainsAny(str, "+%") {
		return str, nil
	}
	buf := make([]byte, 0, len(str))
	for i := 0; i < len(str); i++ {
		switch c := str[i]; c {
		case '+':
			buf = append(buf, ' ')
		case '%':
			if i+2 >= len(str) || unhex(str[i+1]) < 0 || unhex(str[i+2]) < 0 {
				return "", decodeError("malformed escape at offset " + strconv.Itoa(i))
			}
			buf = append(buf, byte(unhex(str[i+1])<<4|unhex(str[i+2])))
			i += 2
		default:
			buf = append(buf, c)
		}
	}
	return strings.ToValidUTF8(string(buf), "\uFFFD"), nil
}

func unhex(c byte) int {
	switch {
	case isDigit(c):
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// base64Decode accepts the standard and URL-safe alphabets, with or
// without padding, ignoring whitespace; bytes that are not UTF-8 become
// U+FFFD, as decoding them into a Java String does.
func base64Decode(str string) (string, error) {
	clean := make([]byte, 0, len(str))
	for i := 0; i < len(str); i++ {
		switch c := str[i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '=':
		case c == '-':
			clean = append(clean, '+')
		case c == '_':
			clean = append(clean, '/')
		case isAlpha(c) || isDigit(c) || c == '+' || c == '/':
			clean = append(clean, c)
		default:
			return "", decodeError("invalid character " + strconv.QuoteRune(rune(c)))
		}
	}
	if len(clean)%4 == 1 {
		return "", decodeError("truncated input")
	}
	out, err := base64.RawStdEncoding.DecodeString(string(clean))
	if err != nil {
		return "", decodeError("invalid input")
	}
	if utf8.Valid(out) {
		return string(out), nil
	}
	return strings.ToValidUTF8(string(out), "\uFFFD"), nil
}
