package rpn

import (
	"fmt"
	"math"
	"strings"
)

// VFunc is a VDEF function.
type VFunc uint8

// VDEF functions of rrdgraph_rpn(1).
const (
	VMaximum VFunc = iota + 1
	VMinimum
	VAverage
	VStdev
	VLast
	VFirst
	VTotal
	VPercent
	VPercentNaN
	VLSLSlope
	VLSLInt
	VLSLCorrel
)

var vfuncNames = map[string]VFunc{
	"MAXIMUM": VMaximum, "MINIMUM": VMinimum, "AVERAGE": VAverage, "STDEV": VStdev,
	"LAST": VLast, "FIRST": VFirst, "TOTAL": VTotal, "PERCENT": VPercent,
	"PERCENTNAN": VPercentNaN, "LSLSLOPE": VLSLSlope, "LSLINT": VLSLInt, "LSLCORREL": VLSLCorrel,
}

// VDef is a compiled VDEF expression: "src,FUNC" or "src,p,PERCENT[NAN]".
type VDef struct {
	Src   string
	Fn    VFunc
	Param float64
}

// ParseVDef parses the RPN part of a VDEF. stmt names the statement in
// errors.
func ParseVDef(stmt, expr string) (VDef, error) {
	parts := strings.Split(expr, ",")
	bad := func(pos int, format string, args ...any) error {
		return &Error{Stmt: stmt, Pos: pos + 1, Token: parts[pos], Msg: fmt.Sprintf(format, args...)}
	}
	if len(parts) < 2 || len(parts) > 3 {
		return VDef{}, &Error{Stmt: stmt, Msg: "want vname,FUNCTION or vname,number,PERCENT"}
	}
	if !isVName(parts[0]) {
		return VDef{}, bad(0, "invalid variable name")
	}
	last := len(parts) - 1
	fn, ok := vfuncNames[parts[last]]
	if !ok {
		return VDef{}, bad(last, "unknown VDEF function")
	}
	d := VDef{Src: parts[0], Fn: fn}
	switch {
	case fn == VPercent || fn == VPercentNaN:
		if len(parts) != 3 {
			return VDef{}, bad(last, "%s needs a percentile: vname,p,%s", parts[last], parts[last])
		}
		p, ok := parseNumber(parts[1])
		if !ok {
			return VDef{}, bad(1, "percentile is not a number")
		}
		if !(p >= 0 && p <= 100) {
			return VDef{}, bad(1, "percentile must be between 0 and 100")
		}
		d.Param = p
	case len(parts) != 2:
		return VDef{}, bad(1, "%s takes no parameter", parts[last])
	}
	return d, nil
}

// Compute applies the VDEF to a series, as rrdtool's vdef_calc does over
// all rows of the series.
func (d VDef) Compute(s *Series) VValue {
	data := s.Values
	steps := len(data)
	rowEnd := func(i int) int64 { return s.Start + int64(i+1)*s.Step }
	nan := VValue{Value: math.NaN()}
	switch d.Fn {
	case VPercent, VPercentNaN:
		arr := make([]float64, 0, steps)
		for _, v := range data {
			if d.Fn == VPercent || !isNaN(v) {
				arr = append(arr, v)
			}
		}
		if len(arr) == 0 {
			return nan // rrdtool 1.7.2 reads outside the array here
		}
		msort(arr, make([]float64, len(arr)), vdefCmp)
		field := int(math.Round(d.Param * float64(len(arr)-1) / 100))
		return VValue{Value: arr[min(max(field, 0), len(arr)-1)]}
	case VMaximum, VMinimum:
		i := 0
		for i < steps && isNaN(data[i]) {
			i++
		}
		if i == steps {
			return nan
		}
		res := VValue{Value: data[i], Time: rowEnd(i), HasTime: true}
		for ; i < steps; i++ {
			v := data[i]
			if isNaN(v) || math.IsInf(v, 0) {
				continue
			}
			if (d.Fn == VMaximum && v > res.Value) || (d.Fn == VMinimum && v < res.Value) {
				res.Value, res.Time = v, rowEnd(i)
			}
		}
		return res
	case VAverage, VTotal, VStdev:
		sum, cnt := 0.0, 0
		for _, v := range data {
			if !isNaN(v) && !math.IsInf(v, 0) {
				sum += v
				cnt++
			}
		}
		if cnt == 0 {
			return nan
		}
		switch d.Fn {
		case VTotal:
			return VValue{Value: sum * float64(s.Step)}
		case VAverage:
			return VValue{Value: sum / float64(cnt)}
		}
		avg := sum / float64(cnt)
		sq := 0.0
		for _, v := range data {
			if !isNaN(v) && !math.IsInf(v, 0) {
				sq += math.Pow(v-avg, 2)
			}
		}
		return VValue{Value: math.Pow(sq/float64(cnt), 0.5)}
	case VFirst:
		for i, v := range data {
			if !isNaN(v) {
				return VValue{Value: v, Time: s.Start + int64(i)*s.Step, HasTime: true}
			}
		}
		return nan
	case VLast:
		for i := steps - 1; i >= 0; i-- {
			if !isNaN(data[i]) {
				return VValue{Value: data[i], Time: rowEnd(i), HasTime: true}
			}
		}
		return nan
	case VLSLSlope, VLSLInt, VLSLCorrel:
		var sx, sy, sxy, sxx, syy float64
		cnt := 0
		for i, v := range data {
			if isNaN(v) || math.IsInf(v, 0) {
				continue
			}
			x := float64(i)
			cnt++
			sx += x
			sxx += float64(int64(i) * int64(i))
			sxy += x * v
			sy += v
			syy += v * v
		}
		if cnt == 0 {
			return nan
		}
		n := float64(cnt)
		slope := (sx*sy - n*sxy) / (sx*sx - n*sxx)
		switch d.Fn {
		case VLSLSlope:
			return VValue{Value: slope}
		case VLSLInt:
			return VValue{Value: (sy - slope*sx) / n}
		}
		return VValue{Value: (sxy - (sx*sy)/n) / math.Sqrt((sxx-(sx*sx)/n)*(syy-(sy*sy)/n))}
	}
	return nan
}
