package computeds

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// A COMPUTE data source's expression as an rrdtool file keeps it.

// rrdOps are the numbers of rrdtool 1.7.2's enum op_en (rrd_rpncalc.h),
// as a compact expression stores them in a file; the names are those
// rpn_compact2str prints.
var rrdOps = [...]string{
	0: "", 1: "", 2: "INF", 3: "PREV", 4: "NEGINF", 5: "UNKN", 6: "NOW", 7: "TIME", 8: "+", 9: "%", 10: "-", 11: "*",
	12: "/", 13: "SIN", 14: "DUP", 15: "EXC", 16: "POP", 17: "COS", 18: "LOG", 19: "EXP", 20: "LT", 21: "LE", 22: "GT",
	23: "GE", 24: "EQ", 25: "IF", 26: "MIN", 27: "MAX", 28: "LIMIT", 29: "FLOOR", 30: "CEIL", 31: "UN", 32: "",
	33: "LTIME", 34: "NE", 35: "ISINF", 36: "", 37: "COUNT", 38: "ATAN", 39: "SQRT", 40: "SORT", 41: "REV",
	42: "TREND", 43: "TRENDNAN", 44: "ATAN2", 45: "RAD2DEG", 46: "DEG2RAD", 47: "PREDICT", 48: "PREDICTSIGMA",
	49: "AVG", 50: "ABS", 51: "ADDNAN", 52: "MINNAN", 53: "MAXNAN", 54: "MEDIAN", 55: "PREDICTPERC", 56: "DEPTH",
	57: "COPY", 58: "ROLL", 59: "INDEX", 60: "STEPWIDTH", 61: "NEWDAY", 62: "NEWWEEK", 63: "NEWMONTH",
	64: "NEWYEAR", 65: "SMIN", 66: "SMAX", 67: "STDEV", 68: "PERCENT", 69: "POW",
}

const (
	rrdOpNumber    = 0
	rrdOpVariable  = 1
	rrdOpEnd       = 32
	rrdOpPrevOther = 36
)

// FromCompact turns the compact expression an rrdtool file keeps in a
// COMPUTE DS's parameter words (4-byte nodes: the op in byte 0, a short
// in bytes 2-3, little-endian, ended by OP_END) into its text, as
// rpn_compact2str prints it; names are the file's data sources.
func FromCompact(raw []byte, names []string) (string, error) {
	var toks []string
	for i := 0; ; i++ {
		if 4*i+4 > len(raw) {
			return "", errors.New("COMPUTE expression has no end in its parameter area")
		}
		o := int(raw[4*i])
		val := int16(uint16(raw[4*i+2]) | uint16(raw[4*i+3])<<8)
		switch {
		case o == rrdOpEnd:
			if len(toks) == 0 {
				return "", errors.New("COMPUTE expression is empty")
			}
			return strings.Join(toks, ","), nil
		case o == rrdOpNumber:
			toks = append(toks, strconv.Itoa(int(val)))
		case o == rrdOpVariable || o == rrdOpPrevOther:
			if int(val) < 0 || int(val) >= len(names) {
				return "", fmt.Errorf("COMPUTE expression node %d names data source #%d of %d", i, val, len(names))
			}
			toks = append(toks, names[val])
		case o < len(rrdOps) && rrdOps[o] != "":
			toks = append(toks, rrdOps[o])
		default:
			return "", fmt.Errorf("COMPUTE expression node %d: unknown operator %d", i, o)
		}
	}
}
