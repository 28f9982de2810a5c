package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Series names are arbitrary UTF-8 (Graphite style: dots, slashes, '#',
// ';tag=value'). A file name keeps [A-Za-z0-9._-] and escapes every other
// byte as %XX, so the mapping is reversible, collision-free and can't
// traverse paths ("..", "/" are escaped). Names whose escaped form would be
// too long for a file system use a hash; the real name is in the file.
const maxFileName = 200

// ValidSeriesName reports an error for names rrdash can't store.
func ValidSeriesName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty series name")
	case len(name) > 4096:
		return fmt.Errorf("series name longer than 4096 bytes")
	case !utf8.ValidString(name):
		return fmt.Errorf("series name %q is not valid UTF-8", name)
	case strings.ContainsRune(name, 0):
		return fmt.Errorf("series name %q contains a NUL byte", name)
	}
	return nil
}

func fileNameFor(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' && i > 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	s := b.String()
	if len(s) > maxFileName {
		h := sha256.Sum256([]byte(name))
		return "~" + hex.EncodeToString(h[:20]) + ".rrd"
	}
	return s + ".rrd"
}

// nameFromFile reverses fileNameFor; ok is false for hashed names.
func nameFromFile(f string) (string, bool) {
	if !strings.HasSuffix(f, ".rrd") || strings.HasPrefix(f, "~") {
		return "", false
	}
	f = strings.TrimSuffix(f, ".rrd")
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] == '%' && i+2 < len(f) {
			var c byte
			if _, err := fmt.Sscanf(f[i+1:i+3], "%02X", &c); err != nil {
				return "", false
			}
			b.WriteByte(c)
			i += 2
			continue
		}
		b.WriteByte(f[i])
	}
	return b.String(), true
}
