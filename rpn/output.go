package rpn

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// xmlValue formats a value as rrdtool xport's XML does (%0.10e, NaN, inf).
func xmlValue(v float64) string {
	return string(appendXMLValue(nil, v))
}

func appendXMLValue(b []byte, v float64) []byte {
	switch {
	case isNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "inf"...)
	case math.IsInf(v, -1):
		return append(b, "-inf"...)
	}
	return appendE10(b, v)
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// WriteXML writes the export in the layout of `rrdtool xport` 1.7.2. The
// meta start is the first row's timestamp, as rrdtool prints it.
func (x *Export) WriteXML(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n\n<xport>\n  <meta>\n")
	fmt.Fprintf(bw, "    <start>%d</start>\n    <end>%d</end>\n    <step>%d</step>\n", x.Start+x.Step, x.End, x.Step)
	fmt.Fprintf(bw, "    <rows>%d</rows>\n    <columns>%d</columns>\n    <legend>\n", x.Rows(), len(x.Columns))
	for _, l := range x.Legends {
		fmt.Fprintf(bw, "      <entry>%s</entry>\n", xmlEscape(l))
	}
	fmt.Fprintf(bw, "    </legend>\n  </meta>\n  <data>\n")
	var line []byte
	for r := range x.Rows() {
		line = append(line[:0], "    <row>"...)
		for _, c := range x.Columns {
			line = append(line, "<v>"...)
			line = appendXMLValue(line, c[r])
			line = append(line, "</v>"...)
		}
		line = append(line, "</row>\n"...)
		bw.Write(line)
	}
	bw.WriteString("  </data>\n</xport>\n")
	return bw.Flush()
}

// jsonValue formats a value at full precision (the shortest text that
// reads back as the same double); unknown is null and infinities are the
// strings "inf" and "-inf", which rrdtool would print as null.
func appendJSONValue(b []byte, v float64) []byte {
	switch {
	case isNaN(v):
		return append(b, "null"...)
	case math.IsInf(v, 1):
		return append(b, `"inf"`...)
	case math.IsInf(v, -1):
		return append(b, `"-inf"`...)
	case v == 0:
		return append(b, '0') // rrdtool prints no negative zero either
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// WriteJSON writes the export with the shape of `rrdtool xport --json`,
// but as valid JSON at full precision.
func (x *Export) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("{ \"about\": \"rrdash xport JSON output\",\n  \"meta\": {\n")
	fmt.Fprintf(bw, "    \"start\": %d,\n    \"end\": %d,\n    \"step\": %d,\n    \"legend\": [", x.Start+x.Step, x.End, x.Step)
	for i, l := range x.Legends {
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n      ")
		q, err := json.Marshal(l)
		if err != nil {
			return fmt.Errorf("legend %q: %w", l, err)
		}
		bw.Write(q)
	}
	bw.WriteString("\n    ]\n  },\n  \"data\": [")
	var line []byte
	for r := range x.Rows() {
		if r > 0 {
			bw.WriteString(",")
		}
		line = append(line[:0], "\n    [ "...)
		for i, c := range x.Columns {
			if i > 0 {
				line = append(line, ", "...)
			}
			line = appendJSONValue(line, c[r])
		}
		bw.Write(append(line, " ]"...))
	}
	bw.WriteString("\n  ]\n}\n")
	return bw.Flush()
}
