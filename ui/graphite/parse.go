package graphite

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind is the kind of a target expression node.
type Kind uint8

// Expression kinds, as graphite-web's grammar.
const (
	KindPath   Kind = iota + 1 // a metric path expression (globs allowed)
	KindCall                   // f(args..., k=v...)
	KindNumber                 // 1, -2.5, 1e3
	KindString                 // "x" or 'x' (no escape processing, as graphite-web)
	KindBool                   // true, false
	KindNone                   // none
)

// Expr is one parsed node of a target.
type Expr struct {
	Kind   Kind
	Pos    int    // 1-based byte offset in the target
	Path   string // KindPath
	Func   string // KindCall
	Args   []*Expr
	Kwargs []Kwarg
	Raw    string  // KindCall: the call's source text (seriesByTag fetches by it)
	Num    float64 // KindNumber
	IsInt  bool    // KindNumber written without '.' or exponent
	Str    string  // KindString
	Bool   bool
}

// Kwarg is name=value in a call.
type Kwarg struct {
	Name  string
	Value *Expr
}

// ParseError names the position (1-based byte offset) of a syntax error.
type ParseError struct {
	Target string
	Pos    int
	Msg    string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("target %q: position %d: %s", e.Target, e.Pos, e.Msg)
}

// maxDepth bounds nesting so that a hostile target cannot exhaust the stack.
const maxDepth = 200

type parser struct {
	src   string
	pos   int
	depth int
}

// Parse parses one render target with graphite-web's grammar: path
// expressions, calls with positional then keyword arguments, numbers,
// quoted strings, true/false/none/inf, and pipes ("a.b|scale(2)" is
// scale(a.b,2)). Unlike graphite-web, trailing text is an error, not
// ignored. template() is refused.
func Parse(target string) (*Expr, error) {
	p := &parser{src: target}
	p.skipSpace()
	e, err := p.expression()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.src) {
		return nil, p.errf("unexpected %q after the expression", p.rest(10))
	}
	return e, nil
}

func (p *parser) errf(format string, a ...any) error {
	return &ParseError{Target: p.src, Pos: p.pos + 1, Msg: fmt.Sprintf(format, a...)}
}

func (p *parser) rest(n int) string {
	r := p.src[p.pos:]
	if len(r) > n {
		r = r[:n]
	}
	return r
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n' || p.src[p.pos] == '\r') {
		p.pos++
	}
}

// expression: (call | path) ('|' call)*
func (p *parser) expression() (*Expr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.errf("nested more than %d deep", maxDepth)
	}
	e, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		save := p.pos
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != '|' {
			p.pos = save
			return e, nil
		}
		p.pos++
		p.skipSpace()
		start := p.pos
		name := p.ident()
		if name == "" || p.pos >= len(p.src) || p.src[p.pos] != '(' {
			p.pos = start
			return nil, p.errf("want a function call after '|'")
		}
		c, err := p.call(name, start)
		if err != nil {
			return nil, err
		}
		c.Args = append([]*Expr{e}, c.Args...)
		e = c
	}
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || c >= '0' && c <= '9' }

func (p *parser) ident() string {
	start := p.pos
	if p.pos < len(p.src) && isIdentStart(p.src[p.pos]) {
		p.pos++
		for p.pos < len(p.src) && isIdentChar(p.src[p.pos]) {
			p.pos++
		}
	}
	return p.src[start:p.pos]
}

func (p *parser) primary() (*Expr, error) {
	start := p.pos
	if p.pos >= len(p.src) {
		return nil, p.errf("want a metric path or a function call, got the end")
	}
	name := p.ident()
	if name != "" && p.pos < len(p.src) && p.src[p.pos] == '(' {
		if name == "template" {
			p.pos = start
			return nil, p.errf("template() is not supported")
		}
		return p.call(name, start)
	}
	p.pos = start
	return p.path()
}

func (p *parser) call(name string, start int) (*Expr, error) {
	e := &Expr{Kind: KindCall, Func: name, Pos: start + 1}
	p.pos++ // '('
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ')' {
		p.pos++
		e.Raw = p.src[start:p.pos]
		return e, nil
	}
	for {
		p.skipSpace()
		// name=value (a keyword argument) or a positional argument
		save := p.pos
		kw := p.ident()
		p.skipSpace()
		if kw != "" && p.pos < len(p.src) && p.src[p.pos] == '=' && !strings.HasPrefix(p.src[p.pos:], "==") {
			p.pos++
			p.skipSpace()
			v, err := p.arg()
			if err != nil {
				return nil, err
			}
			e.Kwargs = append(e.Kwargs, Kwarg{Name: kw, Value: v})
		} else {
			p.pos = save
			if len(e.Kwargs) > 0 {
				return nil, p.errf("positional argument after a keyword argument")
			}
			v, err := p.arg()
			if err != nil {
				return nil, err
			}
			e.Args = append(e.Args, v)
		}
		p.skipSpace()
		if p.pos >= len(p.src) {
			return nil, p.errf("want ',' or ')' to close %s(, got the end", name)
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case ')':
			p.pos++
			e.Raw = p.src[start:p.pos]
			return e, nil
		default:
			return nil, p.errf("want ',' or ')' in %s(, got %q", name, p.rest(10))
		}
	}
}

// argEnd reports whether an argument may end at i (graphite-web's
// lookahead after numbers and keywords: ',', ')' or the end).
func (p *parser) argEnd(i int) bool {
	for i < len(p.src) && (p.src[i] == ' ' || p.src[i] == '\t') {
		i++
	}
	return i >= len(p.src) || p.src[i] == ',' || p.src[i] == ')'
}

func (p *parser) arg() (*Expr, error) {
	if p.pos >= len(p.src) {
		return nil, p.errf("want an argument, got the end")
	}
	start := p.pos
	c := p.src[p.pos]
	if c == '"' || c == '\'' {
		return p.str()
	}
	// keywords
	for _, kw := range []string{"true", "false", "none", "inf"} {
		if len(p.src)-p.pos >= len(kw) && strings.EqualFold(p.src[p.pos:p.pos+len(kw)], kw) {
			end := p.pos + len(kw)
			if (end >= len(p.src) || !isIdentChar(p.src[end]) && p.src[end] != '$') && p.argEnd(end) {
				p.pos = end
				switch kw {
				case "true", "false":
					return &Expr{Kind: KindBool, Bool: kw == "true", Pos: start + 1}, nil
				case "none":
					return &Expr{Kind: KindNone, Pos: start + 1}, nil
				default:
					return &Expr{Kind: KindNumber, Num: inf, Pos: start + 1}, nil
				}
			}
		}
	}
	if n, isInt, end, ok := p.number(); ok && p.argEnd(end) {
		p.pos = end
		return &Expr{Kind: KindNumber, Num: n, IsInt: isInt, Pos: start + 1}, nil
	}
	return p.expression()
}

// number scans -?\d+(\.\d+)?([eE]-?\d+)? at pos without consuming it.
func (p *parser) number() (float64, bool, int, bool) {
	i := p.pos
	s := p.src
	if i < len(s) && s[i] == '-' {
		i++
	}
	d := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == d {
		return 0, false, 0, false
	}
	isInt := true
	if i+1 < len(s) && s[i] == '.' && s[i+1] >= '0' && s[i+1] <= '9' {
		isInt = false
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && s[j] == '-' {
			j++
		}
		k := j
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j > k {
			isInt = false
			i = j
		}
	}
	v, err := strconv.ParseFloat(s[p.pos:i], 64)
	if err != nil {
		return 0, false, 0, false
	}
	return v, isInt, i, true
}

func (p *parser) str() (*Expr, error) {
	start := p.pos
	q := p.src[p.pos]
	i := p.pos + 1
	for i < len(p.src) {
		switch p.src[i] {
		case '\\':
			i += 2
			continue
		case q:
			p.pos = i + 1
			return &Expr{Kind: KindString, Str: p.src[start+1 : i], Pos: start + 1}, nil
		case '\n', '\r':
			return nil, p.errf("newline in a string")
		}
		i++
	}
	return nil, p.errf("unterminated string")
}

// pathSymbols may not appear unescaped in a metric path (graphite-web's
// symbols, braces excepted where they delimit {a,b}).
const pathSymbols = "(){},.'\"\\|"

// path scans a metric path expression: elements of printable characters
// other than the symbols, "\x" escapes, {a,b} alternatives, joined by '.'.
// The backslash is kept (the finder drops it) so that names print as
// written.
func (p *parser) path() (*Expr, error) {
	start := p.pos
	var b strings.Builder
	elem := 0
	brace := false
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == '\\':
			if p.pos+1 >= len(p.src) || !strings.ContainsRune(pathSymbols+"=", rune(p.src[p.pos+1])) {
				return nil, p.errf("bad escape in a metric path")
			}
			b.WriteByte(c)
			b.WriteByte(p.src[p.pos+1])
			p.pos += 2
			elem++
			continue
		case c == '{':
			if brace {
				return nil, p.errf("nested '{' in a metric path")
			}
			brace = true
		case c == '}':
			if !brace {
				return nil, p.errf("'}' without '{' in a metric path")
			}
			brace = false
		case c == ',':
			if !brace {
				goto done
			}
		case c == '.':
			if brace {
				return nil, p.errf("'.' inside {…} in a metric path")
			}
			if elem == 0 {
				return nil, p.errf("empty node in a metric path")
			}
			elem = -1
		case strings.IndexByte(pathSymbols, c) >= 0 || c <= ' ' || c == 0x7f:
			goto done
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(p.src[p.pos:])
			if r == utf8.RuneError || !unicode.IsPrint(r) || unicode.IsSpace(r) {
				return nil, p.errf("invalid character in a metric path")
			}
			b.WriteString(p.src[p.pos : p.pos+n])
			p.pos += n
			elem++
			continue
		}
		b.WriteByte(c)
		p.pos++
		elem++
	}
done:
	if brace {
		return nil, p.errf("unclosed '{' in a metric path")
	}
	if p.pos == start {
		if p.pos < len(p.src) {
			return nil, p.errf("want a metric path or a function call, got %q", p.rest(10))
		}
		return nil, p.errf("want a metric path or a function call, got the end")
	}
	if elem <= 0 {
		return nil, p.errf("metric path %q ends with '.'", p.src[start:p.pos])
	}
	return &Expr{Kind: KindPath, Path: b.String(), Pos: start + 1}, nil
}

// String prints an expression back (for names and errors).
func (e *Expr) String() string {
	switch e.Kind {
	case KindPath:
		return e.Path
	case KindCall:
		return e.Raw
	case KindNumber:
		return pyStr(e.Num, e.IsInt)
	case KindString:
		return strconv.Quote(e.Str)
	case KindBool:
		if e.Bool {
			return "True"
		}
		return "False"
	case KindNone:
		return "None"
	}
	return "?"
}
