package push

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"rrdash/store"
)

// Carbon's pickle protocol (what carbon-relay and carbon-client send to
// port 2004): frames of a 4-byte big-endian length and a Python pickle of a
// list of (path, (timestamp, value)) tuples.
//
// Unpickling runs code in Python; this decoder is a small stack machine
// for the opcodes that pickles of lists, tuples, strings and numbers use
// (protocols 0 to 5), and refuses every other opcode — GLOBAL, REDUCE,
// BUILD and the rest that build objects — by name and offset. Its memory
// is bounded by the frame (MaxPickleFrame) and its stack and memo by the
// opcodes read.

// MaxPickleFrame is the largest frame accepted by default (carbon's own
// limit is 1 MiB).
const MaxPickleFrame = 1 << 20

// pickle values: string, int64, *big.Int (LONG beyond int64), float64,
// bool, nil, []any (list), pickleTuple, pickleMark.
type pickleTuple []any

type pickleMark struct{}

// PickleError is a frame that does not decode: the opcode (or what was
// wrong) and its byte offset in the pickle.
type PickleError struct {
	Offset int
	Reason string
}

func (e *PickleError) Error() string { return fmt.Sprintf("pickle offset %d: %s", e.Offset, e.Reason) }

var pickleOpNames = map[byte]string{
	'c': "GLOBAL", 0x93: "STACK_GLOBAL", 'R': "REDUCE", 'b': "BUILD", 'i': "INST", 'o': "OBJ", 0x81: "NEWOBJ",
	0x92: "NEWOBJ_EX", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 'P': "PERSID", 'Q': "BINPERSID", '}': "EMPTY_DICT",
	'd': "DICT", 's': "SETITEM", 'u': "SETITEMS", 0x8f: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET",
	0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER", 0x96: "BYTEARRAY8",
}

// unpickle decodes one pickle of plain data.
func unpickle(b []byte) (any, error) {
	var stack []any
	var marks []int
	memo := map[uint64]any{}
	pos := 0
	fail := func(at int, f string, a ...any) error { return &PickleError{Offset: at, Reason: fmt.Sprintf(f, a...)} }
	need := func(at, n int) ([]byte, error) {
		if n < 0 || pos+n > len(b) || pos+n < pos {
			return nil, fail(at, "truncated (%d bytes wanted)", n)
		}
		s := b[pos : pos+n]
		pos += n
		return s, nil
	}
	line := func(at int) (string, error) {
		i := strings.IndexByte(string(b[pos:]), '\n')
		if i < 0 {
			return "", fail(at, "unterminated text argument")
		}
		s := string(b[pos : pos+i])
		pos += i + 1
		return s, nil
	}
	pop := func(at int) (any, error) {
		if len(stack) == 0 || len(marks) > 0 && len(stack) == marks[len(marks)-1] {
			return nil, fail(at, "stack underflow")
		}
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		return v, nil
	}
	popMark := func(at int) ([]any, error) {
		if len(marks) == 0 {
			return nil, fail(at, "no mark")
		}
		m := marks[len(marks)-1]
		marks = marks[:len(marks)-1]
		items := append([]any(nil), stack[m:]...)
		stack = stack[:m]
		return items, nil
	}
	push := func(at int, v any) error {
		if len(stack) >= 1<<20 {
			return fail(at, "stack too deep")
		}
		stack = append(stack, v)
		return nil
	}
	for pos < len(b) {
		at := pos
		op := b[pos]
		pos++
		var err error
		switch op {
		case 0x80: // PROTO
			var p []byte
			if p, err = need(at, 1); err == nil && p[0] > 5 {
				err = fail(at, "pickle protocol %d", p[0])
			}
		case 0x95: // FRAME (protocol 4): only a length hint
			_, err = need(at, 8)
		case '.': // STOP
			if len(stack) != 1 || len(marks) != 0 {
				return nil, fail(at, "STOP with %d values and %d marks on the stack", len(stack), len(marks))
			}
			if pos != len(b) {
				return nil, fail(pos, "%d bytes after STOP", len(b)-pos)
			}
			return stack[0], nil
		case '(': // MARK
			if len(marks) >= 1<<16 {
				return nil, fail(at, "too many marks")
			}
			marks = append(marks, len(stack))
		case ']': // EMPTY_LIST
			err = push(at, []any{})
		case ')': // EMPTY_TUPLE
			err = push(at, pickleTuple{})
		case 'l': // LIST
			var items []any
			if items, err = popMark(at); err == nil {
				err = push(at, items)
			}
		case 't': // TUPLE
			var items []any
			if items, err = popMark(at); err == nil {
				err = push(at, pickleTuple(items))
			}
		case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
			n := int(op-0x85) + 1
			if len(stack) < n || len(marks) > 0 && len(stack)-n < marks[len(marks)-1] {
				return nil, fail(at, "stack underflow")
			}
			t := append(pickleTuple(nil), stack[len(stack)-n:]...)
			stack = stack[:len(stack)-n]
			err = push(at, t)
		case 'a': // APPEND
			var v any
			if v, err = pop(at); err == nil {
				err = appendTo(&stack, at, v)
			}
		case 'e': // APPENDS
			var items []any
			if items, err = popMark(at); err == nil {
				err = appendTo(&stack, at, items...)
			}
		case 'N':
			err = push(at, nil)
		case 0x88:
			err = push(at, true)
		case 0x89:
			err = push(at, false)
		case 'J', 'K', 'M': // BININT, BININT1, BININT2
			n := map[byte]int{'J': 4, 'K': 1, 'M': 2}[op]
			var p []byte
			if p, err = need(at, n); err == nil {
				var v int64
				switch n {
				case 4:
					v = int64(int32(binary.LittleEndian.Uint32(p)))
				case 2:
					v = int64(binary.LittleEndian.Uint16(p))
				default:
					v = int64(p[0])
				}
				err = push(at, v)
			}
		case 0x8a, 0x8b: // LONG1, LONG4
			var p []byte
			n := 0
			if op == 0x8a {
				if p, err = need(at, 1); err == nil {
					n = int(p[0])
				}
			} else if p, err = need(at, 4); err == nil {
				n = int(int32(binary.LittleEndian.Uint32(p)))
			}
			if err == nil {
				if p, err = need(at, n); err == nil {
					err = push(at, littleSigned(p))
				}
			}
		case 'G': // BINFLOAT
			var p []byte
			if p, err = need(at, 8); err == nil {
				err = push(at, math.Float64frombits(binary.BigEndian.Uint64(p)))
			}
		case 'I', 'L', 'F': // INT, LONG, FLOAT (text)
			var s string
			if s, err = line(at); err == nil {
				err = push2(at, s, op, push)
			}
		case 'X', 0x8c, 0x8d: // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
			var p []byte
			if p, err = sized(op, at, need); err == nil {
				if !utf8.Valid(p) {
					return nil, fail(at, "string is not valid UTF-8")
				}
				err = push(at, string(p))
			}
		case 'T', 'U', 'B', 'C', 0x8e: // BINSTRING, SHORT_BINSTRING, BINBYTES, SHORT_BINBYTES, BINBYTES8
			var p []byte
			if p, err = sized(op, at, need); err == nil {
				err = push(at, string(p))
			}
		case 'V': // UNICODE (raw-unicode-escape text)
			var s string
			if s, err = line(at); err == nil {
				if s, err = rawUnicodeEscape(s); err == nil {
					err = push(at, s)
				}
			}
		case 'S': // STRING: a quoted Python literal
			var s string
			if s, err = line(at); err == nil {
				if len(s) < 2 || s[0] != s[len(s)-1] || s[0] != '\'' && s[0] != '"' || strings.Contains(s[1:len(s)-1], `\`) {
					return nil, fail(at, "STRING argument %.40q (only plain quoted strings)", s)
				}
				err = push(at, s[1:len(s)-1])
			}
		case 'p', 'q', 'r', 0x94: // PUT, BINPUT, LONG_BINPUT, MEMOIZE
			var key uint64
			switch op {
			case 'p':
				var s string
				if s, err = line(at); err == nil {
					key, err = strconv.ParseUint(s, 10, 32)
				}
			case 'q':
				var p []byte
				if p, err = need(at, 1); err == nil {
					key = uint64(p[0])
				}
			case 'r':
				var p []byte
				if p, err = need(at, 4); err == nil {
					key = uint64(binary.LittleEndian.Uint32(p))
				}
			default:
				key = uint64(len(memo))
			}
			if err == nil {
				if len(stack) == 0 {
					return nil, fail(at, "memoize of an empty stack")
				}
				if len(memo) >= 1<<20 {
					return nil, fail(at, "memo too large")
				}
				memo[key] = stack[len(stack)-1]
			}
		case 'g', 'h', 'j': // GET, BINGET, LONG_BINGET
			var key uint64
			switch op {
			case 'g':
				var s string
				if s, err = line(at); err == nil {
					key, err = strconv.ParseUint(s, 10, 32)
				}
			case 'h':
				var p []byte
				if p, err = need(at, 1); err == nil {
					key = uint64(p[0])
				}
			default:
				var p []byte
				if p, err = need(at, 4); err == nil {
					key = uint64(binary.LittleEndian.Uint32(p))
				}
			}
			if err == nil {
				v, ok := memo[key]
				if !ok {
					return nil, fail(at, "memo key %d not set", key)
				}
				err = push(at, v)
			}
		case '0': // POP
			if len(marks) > 0 && len(stack) == marks[len(marks)-1] {
				marks = marks[:len(marks)-1] // POP of a mark, as Python's
			} else {
				_, err = pop(at)
			}
		case '1': // POP_MARK
			_, err = popMark(at)
		case '2': // DUP
			if len(stack) == 0 {
				return nil, fail(at, "stack underflow")
			}
			err = push(at, stack[len(stack)-1])
		default:
			if name, ok := pickleOpNames[op]; ok {
				return nil, fail(at, "opcode %s (0x%02x) builds objects: refused", name, op)
			}
			return nil, fail(at, "unknown opcode 0x%02x", op)
		}
		if err != nil {
			var pe *PickleError
			if errors.As(err, &pe) {
				return nil, err
			}
			return nil, fail(at, "%v", err)
		}
	}
	return nil, fail(pos, "no STOP")
}

func push2(at int, s string, op byte, push func(int, any) error) error {
	switch op {
	case 'F':
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("FLOAT %.40q", s)
		}
		return push(at, f)
	case 'L':
		s = strings.TrimSuffix(s, "L")
	}
	switch s { // protocol 0 writes booleans as INT 00 and 01
	case "00":
		return push(at, false)
	case "01":
		return push(at, true)
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return push(at, v)
	}
	z, ok := new(big.Int).SetString(s, 10)
	if !ok || z.BitLen() > 8*1024 {
		return fmt.Errorf("integer %.40q", s)
	}
	return push(at, z)
}

// rawUnicodeEscape decodes Python's raw-unicode-escape, in which protocol
// 0 writes str: \uXXXX and \UXXXXXXXX escapes (a backslash is \u005c),
// every other character as itself (Latin-1 bytes).
func rawUnicodeEscape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		if utf8.ValidString(s) {
			return s, nil
		}
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) && (s[i+1] == 'u' || s[i+1] == 'U') {
			n := 4
			if s[i+1] == 'U' {
				n = 8
			}
			if i+2+n > len(s) {
				return "", fmt.Errorf("UNICODE escape cut short")
			}
			r, err := strconv.ParseUint(s[i+2:i+2+n], 16, 32)
			if err != nil || r > utf8.MaxRune {
				return "", fmt.Errorf("UNICODE escape %q", s[i:i+2+n])
			}
			b.WriteRune(rune(r))
			i += 1 + n
			continue
		}
		b.WriteRune(rune(c)) // Latin-1
	}
	return b.String(), nil
}

// sized reads a length-prefixed argument.
func sized(op byte, at int, need func(int, int) ([]byte, error)) ([]byte, error) {
	var n uint64
	switch op {
	case 0x8c, 'U', 'C': // one byte
		p, err := need(at, 1)
		if err != nil {
			return nil, err
		}
		n = uint64(p[0])
	case 0x8d, 0x8e: // eight bytes
		p, err := need(at, 8)
		if err != nil {
			return nil, err
		}
		n = binary.LittleEndian.Uint64(p)
	default: // four bytes ('T' is signed)
		p, err := need(at, 4)
		if err != nil {
			return nil, err
		}
		n = uint64(binary.LittleEndian.Uint32(p))
		if op == 'T' && int32(n) < 0 {
			return nil, fmt.Errorf("negative BINSTRING length")
		}
	}
	if n > math.MaxInt32 {
		return nil, fmt.Errorf("length %d", n)
	}
	return need(at, int(n))
}

// littleSigned is a LONG1/LONG4 argument: two's complement, little endian.
func littleSigned(p []byte) any {
	if len(p) == 0 {
		return int64(0)
	}
	if len(p) <= 8 {
		var u uint64
		for i := len(p) - 1; i >= 0; i-- {
			u = u<<8 | uint64(p[i])
		}
		shift := 64 - 8*uint(len(p))
		return int64(u<<shift) >> shift
	}
	be := make([]byte, len(p))
	for i := range p {
		be[len(p)-1-i] = p[i]
	}
	z := new(big.Int).SetBytes(be)
	if p[len(p)-1]&0x80 != 0 {
		z.Sub(z, new(big.Int).Lsh(big.NewInt(1), uint(8*len(p))))
	}
	return z
}

func appendTo(stack *[]any, at int, items ...any) error {
	s := *stack
	if len(s) == 0 {
		return &PickleError{Offset: at, Reason: "APPEND without a list"}
	}
	l, ok := s[len(s)-1].([]any)
	if !ok {
		return &PickleError{Offset: at, Reason: fmt.Sprintf("APPEND to a %T", s[len(s)-1])}
	}
	s[len(s)-1] = append(l, items...)
	return nil
}

// PicklePoints decodes one frame's pickle into points: a list of
// (path, (timestamp, value)). An element that is not one is returned as
// an error in bad (with its index); the others are points. err is a frame
// that does not decode or is not a list.
func PicklePoints(b []byte) (pts []Point, bad []error, err error) {
	v, err := unpickle(b)
	if err != nil {
		return nil, nil, err
	}
	list, ok := v.([]any)
	if !ok {
		if t, isTuple := v.(pickleTuple); isTuple {
			list = t // carbon accepts any sequence
		} else {
			return nil, nil, fmt.Errorf("pickle holds a %s, want a list of (path, (timestamp, value))", pyType(v))
		}
	}
	for i, item := range list {
		p, perr := picklePoint(item)
		if perr != nil {
			bad = append(bad, fmt.Errorf("datapoint %d: %w", i, perr))
			continue
		}
		pts = append(pts, p)
	}
	return pts, bad, nil
}

func picklePoint(item any) (Point, error) {
	var p Point
	outer, ok := asPair(item)
	if !ok {
		return p, fmt.Errorf("a %s, want (path, (timestamp, value))", pyType(item))
	}
	name, ok := outer[0].(string)
	if !ok {
		return p, fmt.Errorf("path is a %s", pyType(outer[0]))
	}
	inner, ok := asPair(outer[1])
	if !ok {
		return p, fmt.Errorf("%q: datapoint is a %s, want (timestamp, value)", name, pyType(outer[1]))
	}
	ts, err := pyFloat(inner[0])
	if err != nil {
		return p, fmt.Errorf("%q: timestamp %w", name, err)
	}
	val, err := pyFloat(inner[1])
	if err != nil {
		return p, fmt.Errorf("%q: value %w", name, err)
	}
	if math.IsNaN(val) {
		return p, fmt.Errorf("%q: value is NaN", name)
	}
	if math.IsNaN(ts) || math.IsInf(ts, 0) || math.Abs(ts) > float64(maxSec) {
		return p, fmt.Errorf("%q: timestamp %v out of range", name, ts)
	}
	series, err := seriesWithSortedTags(name)
	if err != nil {
		return p, err
	}
	if err := store.ValidSeriesName(series); err != nil {
		return p, err
	}
	sec := math.Floor(ts)
	p.Series, p.Sec, p.Usec, p.Graphite = series, int64(sec), int64(math.Round((ts-sec)*1e6)), true
	if p.Usec >= 1e6 {
		p.Sec, p.Usec = p.Sec+1, 0
	}
	p.Value = strconv.FormatFloat(val, 'g', -1, 64)
	return p, nil
}

func asPair(v any) ([]any, bool) {
	switch t := v.(type) {
	case pickleTuple:
		return t, len(t) == 2
	case []any:
		return t, len(t) == 2
	}
	return nil, false
}

// pyFloat is Python's float() of what carbon receives: numbers, and
// strings that spell one.
func pyFloat(v any) (float64, error) {
	switch t := v.(type) {
	case int64:
		return float64(t), nil
	case float64:
		return t, nil
	case bool:
		if t {
			return 1, nil
		}
		return 0, nil
	case *big.Int:
		f, _ := new(big.Float).SetInt(t).Float64()
		return f, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%.40q is not a number", t)
		}
		return f, nil
	}
	return 0, fmt.Errorf("is a %s, not a number", pyType(v))
}

func pyType(v any) string {
	switch v.(type) {
	case nil:
		return "None"
	case string:
		return "str"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case bool:
		return "bool"
	case []any:
		return "list"
	case pickleTuple:
		return "tuple"
	}
	return fmt.Sprintf("%T", v)
}
