package rpn

// opcode identifies one instruction of a compiled program.
type opcode uint8

const (
	opNumber    opcode = iota // push a constant
	opVar                     // push a DEF/CDEF column
	opVValue                  // push a VDEF value (a constant once the VDEF is computed)
	opPrevOther               // PREV(name): the previous row of another series

	// binary arithmetic
	opAdd
	opSub
	opMul
	opDiv
	opMod
	opPow
	opAddNaN
	opAtan2
	// unary arithmetic
	opSin
	opCos
	opLog
	opExp
	opSqrt
	opAtan
	opFloor
	opCeil
	opAbs
	opDeg2Rad
	opRad2Deg
	opRound
	opUN
	opIsInf
	// comparisons and selection
	opLT
	opLE
	opGT
	opGE
	opEQ
	opNE
	opIf
	opMin
	opMax
	opMinNaN
	opMaxNaN
	opLimit
	// stack
	opDup
	opPop
	opExc
	opDepth
	opCopy
	opIndex
	opRoll
	// sets
	opSort
	opRev
	opAvg
	opSMin
	opSMax
	opMedian
	opStdev
	opPercent
	// windows
	opTrend
	opTrendNaN
	opPredict
	opPredictSigma
	opPredictPerc
	// constants and row properties
	opUnkn
	opInf
	opNegInf
	opPrev
	opCount
	opNow
	opTime
	opLTime
	opStepWidth
	opNewDay
	opNewWeek
	opNewMonth
	opNewYear
)

// opNames maps the operator words of rrdgraph_rpn(1) (1.7.2, plus ROUND of
// 1.8) to opcodes.
var opNames = map[string]opcode{
	"+": opAdd, "-": opSub, "*": opMul, "/": opDiv, "%": opMod, "POW": opPow, "ADDNAN": opAddNaN,
	"ATAN2": opAtan2, "SIN": opSin, "COS": opCos, "LOG": opLog, "EXP": opExp, "SQRT": opSqrt,
	"ATAN": opAtan, "FLOOR": opFloor, "CEIL": opCeil, "ABS": opAbs, "DEG2RAD": opDeg2Rad,
	"RAD2DEG": opRad2Deg, "ROUND": opRound, "UN": opUN, "ISINF": opIsInf,
	"LT": opLT, "LE": opLE, "GT": opGT, "GE": opGE, "EQ": opEQ, "NE": opNE, "IF": opIf,
	"MIN": opMin, "MAX": opMax, "MINNAN": opMinNaN, "MAXNAN": opMaxNaN, "LIMIT": opLimit,
	"DUP": opDup, "POP": opPop, "EXC": opExc, "DEPTH": opDepth, "COPY": opCopy, "INDEX": opIndex,
	"ROLL": opRoll, "SORT": opSort, "REV": opRev, "AVG": opAvg, "SMIN": opSMin, "SMAX": opSMax,
	"MEDIAN": opMedian, "STDEV": opStdev, "PERCENT": opPercent, "TREND": opTrend,
	"TRENDNAN": opTrendNaN, "PREDICT": opPredict, "PREDICTSIGMA": opPredictSigma,
	"PREDICTPERC": opPredictPerc, "UNKN": opUnkn, "INF": opInf, "NEGINF": opNegInf, "PREV": opPrev,
	"COUNT": opCount, "NOW": opNow, "TIME": opTime, "LTIME": opLTime, "STEPWIDTH": opStepWidth,
	"NEWDAY": opNewDay, "NEWWEEK": opNewWeek, "NEWMONTH": opNewMonth, "NEWYEAR": opNewYear,
}

// IsOperator reports whether word is an RPN operator, which makes it
// unusable as a variable name.
func IsOperator(word string) bool {
	_, ok := opNames[word]
	return ok
}
