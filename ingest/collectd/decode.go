package collectd

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
)

// Part types of collectd's binary protocol.
const (
	partHost           = 0x0000
	partTime           = 0x0001
	partPlugin         = 0x0002
	partPluginInstance = 0x0003
	partType           = 0x0004
	partTypeInstance   = 0x0005
	partValues         = 0x0006
	partInterval       = 0x0007
	partTimeHR         = 0x0008
	partIntervalHR     = 0x0009
	partMessage        = 0x0100
	partSeverity       = 0x0101
	partSignSHA256     = 0x0200
	partEncrAES256     = 0x0210
)

// SecurityLevel is collectd's SecurityLevel of a server socket.
type SecurityLevel uint8

// Security levels.
const (
	SecurityNone    SecurityLevel = iota // everything; signatures checked when there are users
	SecuritySign                         // signed or encrypted parts only
	SecurityEncrypt                      // encrypted parts only
)

// ParseSecurityLevel parses none, sign or encrypt (any case).
func ParseSecurityLevel(s string) (SecurityLevel, error) {
	switch strings.ToLower(s) {
	case "", "none":
		return SecurityNone, nil
	case "sign":
		return SecuritySign, nil
	case "encrypt":
		return SecurityEncrypt, nil
	}
	return 0, fmt.Errorf("collectd: security level %q: want none, sign or encrypt", s)
}

// ValueList is one VALUES part with the identifier and times in force.
type ValueList struct {
	Host, Plugin, PluginInstance, Type, TypeInstance string
	// Time is in 2^-30 seconds (collectd's cdtime_t); Interval likewise.
	Time, Interval uint64
	Types          []uint8  // DS type of each value
	Values         []uint64 // raw bits: uint64 COUNTER/ABSOLUTE, int64 DERIVE, float64 GAUGE
	// Signed and Encrypted tell how the values arrived; User is the
	// user that signed or encrypted them.
	Signed, Encrypted bool
	User              string
}

// Float is value i as a float64 (counters as their unsigned count).
func (vl *ValueList) Float(i int) float64 {
	switch vl.Types[i] {
	case DSGauge:
		return math.Float64frombits(vl.Values[i])
	case DSDerive:
		return float64(int64(vl.Values[i]))
	}
	return float64(vl.Values[i])
}

// DecodeError is a bad part of a packet: what and where (byte offset in
// the packet or in its decrypted payload).
type DecodeError struct {
	Offset int
	Part   uint16
	Err    error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("offset %d, part 0x%04x: %v", e.Offset, e.Part, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Errors a packet's security can end in.
var (
	ErrUnsigned     = errors.New("unsigned data refused (security level sign)")
	ErrUnencrypted  = errors.New("unencrypted data refused (security level encrypt)")
	ErrBadSignature = errors.New("HMAC-SHA-256 signature mismatch")
	ErrBadChecksum  = errors.New("SHA-1 checksum mismatch after decryption (wrong password?)")
	ErrUnknownUser  = errors.New("unknown user")
)

// Decoder decodes packets. Its fields are read-only once in use; it is
// safe for concurrent use.
type Decoder struct {
	Level SecurityLevel
	Users map[string]string // AuthFile: user → password
}

// Decode calls fn for each value list of pkt, in order. At the first bad
// part it stops and returns a *DecodeError; the value lists before it
// were passed to fn (collectd keeps them too). Parts refused by the
// security level are skipped, counted in refused, and reported by the
// error ErrUnsigned or ErrUnencrypted after the rest was decoded.
func (d *Decoder) Decode(pkt []byte, fn func(*ValueList)) (refused int, err error) {
	return d.decode(pkt, 0, false, false, "", fn)
}

func (d *Decoder) decode(buf []byte, base int, signed, encrypted bool, user string, fn func(*ValueList)) (refused int, err error) {
	vl := ValueList{Signed: signed, Encrypted: encrypted, User: user}
	var refusal error
	off := 0
	for len(buf)-off > 4 {
		typ := binary.BigEndian.Uint16(buf[off:])
		n := int(binary.BigEndian.Uint16(buf[off+2:]))
		bad := func(e error) error { return &DecodeError{Offset: base + off, Part: typ, Err: e} }
		if n < 4 || n > len(buf)-off {
			return refused, bad(fmt.Errorf("part length %d: want 4 to %d", n, len(buf)-off))
		}
		part := buf[off : off+n]
		switch {
		case typ == partEncrAES256:
			r, err := d.decrypt(part, base+off, fn)
			refused += r
			if err != nil {
				return refused, err
			}
			off += n
			continue
		case d.Level == SecurityEncrypt && !encrypted:
			refused++
			refusal = ErrUnencrypted
			off += n
			continue
		case typ == partSignSHA256:
			r, err := d.verify(buf[off:], n, base+off, encrypted, fn)
			return refused + r, err
		case d.Level == SecuritySign && !encrypted && !signed:
			refused++
			refusal = ErrUnsigned
			off += n
			continue
		}
		payload := part[4:]
		switch typ {
		case partHost, partPlugin, partPluginInstance, partType, partTypeInstance:
			if len(payload) == 0 || payload[len(payload)-1] != 0 {
				return refused, bad(errors.New("string not NUL-terminated"))
			}
			s := intern(payload[:len(payload)-1])
			switch typ {
			case partHost:
				vl.Host = s
			case partPlugin:
				vl.Plugin = s
			case partPluginInstance:
				vl.PluginInstance = s
			case partType:
				vl.Type = s
			case partTypeInstance:
				vl.TypeInstance = s
			}
		case partTime, partTimeHR, partInterval, partIntervalHR:
			if len(payload) != 8 {
				return refused, bad(fmt.Errorf("number of %d bytes, want 8", len(payload)))
			}
			v := binary.BigEndian.Uint64(payload)
			switch typ {
			case partTime:
				vl.Time = v << 30
			case partTimeHR:
				vl.Time = v
			case partInterval:
				vl.Interval = v << 30
			case partIntervalHR:
				vl.Interval = v
			}
		case partValues:
			if len(payload) < 2 {
				return refused, bad(errors.New("values part without a count"))
			}
			num := int(binary.BigEndian.Uint16(payload))
			if num == 0 || len(payload) != 2+9*num {
				return refused, bad(fmt.Errorf("%d values in %d bytes: want 2+9×count bytes, count ≥ 1", num, len(payload)))
			}
			vl.Types = vl.Types[:0]
			vl.Values = vl.Values[:0]
			for i := range num {
				t := payload[2+i]
				if t > DSAbsolute {
					return refused, bad(fmt.Errorf("value %d: unknown data source type %d", i, t))
				}
				raw := payload[2+num+8*i : 2+num+8*i+8]
				var v uint64
				if t == DSGauge {
					v = binary.LittleEndian.Uint64(raw) // collectd sends doubles in x86 order
				} else {
					v = binary.BigEndian.Uint64(raw)
				}
				vl.Types = append(vl.Types, t)
				vl.Values = append(vl.Values, v)
			}
			fn(&vl)
		default:
			// Notifications (MESSAGE, SEVERITY) and parts of later
			// versions carry no values: skipped, as collectd's network
			// plugin skips what it does not know.
		}
		off += n
	}
	if off != len(buf) {
		return refused, &DecodeError{Offset: base + off, Err: fmt.Errorf("%d trailing bytes: not a whole part", len(buf)-off)}
	}
	return refused, refusal
}

// verify checks a signature part (at the start of buf, n bytes) and
// decodes the rest of buf as signed.
func (d *Decoder) verify(buf []byte, n, base int, encrypted bool, fn func(*ValueList)) (int, error) {
	const head = 4 + sha256.Size
	if n <= head {
		return 0, &DecodeError{Offset: base, Part: partSignSHA256, Err: fmt.Errorf("signature part of %d bytes: want more than %d", n, head)}
	}
	user := string(buf[head:n])
	if d.Users == nil {
		// As collectd: with no users to check against, a signature is
		// accepted unchecked (only security level none gets here).
		return d.decode(buf[n:], base+n, false, encrypted, "", fn)
	}
	pass, ok := d.Users[user]
	if !ok {
		return 0, &DecodeError{Offset: base, Part: partSignSHA256, Err: fmt.Errorf("%w %q", ErrUnknownUser, user)}
	}
	mac := hmac.New(sha256.New, []byte(pass))
	mac.Write(buf[head:]) // the user name and everything after the part
	if !hmac.Equal(mac.Sum(nil), buf[4:head]) {
		return 0, &DecodeError{Offset: base, Part: partSignSHA256, Err: fmt.Errorf("%w (user %q)", ErrBadSignature, user)}
	}
	return d.decode(buf[n:], base+n, true, encrypted, user, fn)
}

// decrypt decodes an encryption part: user, IV, then AES-256-OFB (key:
// SHA-256 of the password) over a SHA-1 of the payload and the payload.
func (d *Decoder) decrypt(part []byte, base int, fn func(*ValueList)) (int, error) {
	bad := func(e error) error { return &DecodeError{Offset: base, Part: partEncrAES256, Err: e} }
	const fixed = 4 + 2 + aes.BlockSize + sha1.Size
	if len(part) <= fixed {
		return 0, bad(fmt.Errorf("encrypted part of %d bytes: want more than %d", len(part), fixed))
	}
	ulen := int(binary.BigEndian.Uint16(part[4:]))
	if ulen == 0 || ulen > len(part)-fixed-1 {
		return 0, bad(fmt.Errorf("user name length %d out of range", ulen))
	}
	user := string(part[6 : 6+ulen])
	pass, ok := d.Users[user]
	if !ok {
		return 0, bad(fmt.Errorf("%w %q", ErrUnknownUser, user))
	}
	iv := part[6+ulen : 6+ulen+aes.BlockSize]
	enc := part[6+ulen+aes.BlockSize:]
	key := sha256.Sum256([]byte(pass))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return 0, bad(err)
	}
	plain := make([]byte, len(enc))
	cipher.NewOFB(block, iv).XORKeyStream(plain, enc)
	sum := sha1.Sum(plain[sha1.Size:])
	if subtle.ConstantTimeCompare(sum[:], plain[:sha1.Size]) != 1 {
		return 0, bad(fmt.Errorf("%w (user %q)", ErrBadChecksum, user))
	}
	return d.decode(plain[sha1.Size:], 0, false, true, user, fn)
}

// intern returns the common identifier strings without allocating.
func intern(b []byte) string {
	for _, s := range common {
		if bytes.Equal(b, []byte(s)) {
			return s
		}
	}
	return string(b)
}

var common = [...]string{"", "cpu", "load", "memory", "interface", "df", "disk", "percent", "used", "free", "user", "system", "idle"}
