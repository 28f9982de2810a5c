package rpn

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
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
func (x *Export) WriteXML(w io.Writer) error { return x.WriteXMLWith(w, false, false) }

// WriteXMLWith is WriteXML with xport's --showtime (each row starts with
// its time, <t>T</t>) and --enumds (values tagged <v0>, <v1>, …).
func (x *Export) WriteXMLWith(w io.Writer, showtime, enumds bool) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n\n<xport>\n  <meta>\n")
	fmt.Fprintf(bw, "    <start>%d</start>\n    <end>%d</end>\n    <step>%d</step>\n", x.Start+x.Step, x.End, x.Step)
	fmt.Fprintf(bw, "    <rows>%d</rows>\n    <columns>%d</columns>\n    <legend>\n", x.Rows(), len(x.Columns))
	for _, l := range x.Legends {
		fmt.Fprintf(bw, "      <entry>%s</entry>\n", xmlEscape(l))
	}
	fmt.Fprintf(bw, "    </legend>\n  </meta>\n  <data>\n")
	err := writeRows(bw, x.Rows(), func(b []byte, r int) []byte {
		b = append(b, "    <row>"...)
		if showtime {
			b = append(b, "<t>"...)
			b = strconv.AppendInt(b, x.Start+int64(r+1)*x.Step, 10)
			b = append(b, "</t>"...)
		}
		for j, c := range x.Columns {
			if enumds {
				b = append(b, "<v"...)
				b = strconv.AppendInt(b, int64(j), 10)
				b = append(b, '>')
			} else {
				b = append(b, "<v>"...)
			}
			if v := c[r]; isNaN(v) {
				b = append(b, "NaN"...)
			} else {
				b = appendE10OrInf(b, v)
			}
			if enumds {
				b = append(b, "</v"...)
				b = strconv.AppendInt(b, int64(j), 10)
				b = append(b, '>')
			} else {
				b = append(b, "</v>"...)
			}
		}
		return append(b, "</row>\n"...)
	})
	if err != nil {
		return err
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
	var err error
	err = writeRows(bw, x.Rows(), func(b []byte, r int) []byte {
		if r > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n    [ "...)
		for i, c := range x.Columns {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendJSONValue(b, c[r])
		}
		return append(b, " ]"...)
	})
	if err != nil {
		return err
	}
	bw.WriteString("\n  ]\n}\n")
	return bw.Flush()
}

// appendE10OrInf is %0.10e as glibc prints it, infinities included.
func appendE10OrInf(b []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(b, "inf"...)
	case math.IsInf(v, -1):
		return append(b, "-inf"...)
	}
	return appendE10(b, v)
}

// WriteRRDtoolJSON writes the export as `rrdtool xport --json` 1.7.2
// does, byte for byte (its indentation, %0.10e numbers, null for unknown
// and infinite values, legends unescaped), with --showtime each row
// starting with its time as a string. Scripts that parse rrdtool's JSON
// read it unchanged. (WriteJSON is the API's: full precision.)
func (x *Export) WriteRRDtoolJSON(w io.Writer, showtime bool) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("{ \"about\": \"RRDtool graph JSON output\",\n  \"meta\": {\n")
	fmt.Fprintf(bw, "    \"start\": %d,\n    \"end\": %d,\n    \"step\": %d,\n    \"legend\": [\n", x.Start+x.Step, x.End, x.Step)
	for i, l := range x.Legends {
		fmt.Fprintf(bw, "      \"%s\"", strings.TrimLeft(l, " \t\n\v\f\r"))
		if i < len(x.Legends)-1 {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
	}
	bw.WriteString("          ]\n     },\n  \"data\": [\n")
	rows := x.Rows()
	err := writeRows(bw, rows, func(b []byte, r int) []byte {
		b = append(b, "    [ "...)
		if showtime {
			b = append(b, '"')
			b = strconv.AppendInt(b, x.Start+int64(r+1)*x.Step, 10)
			b = append(b, `",`...)
		}
		for j, c := range x.Columns {
			if v := c[r]; isNaN(v) || math.IsInf(v, 0) {
				b = append(b, "null"...)
			} else {
				b = appendE10(b, v)
			}
			if j < len(x.Columns)-1 {
				b = append(b, ", "...)
			}
		}
		if r < rows-1 {
			return append(b, " ],\n"...)
		}
		return append(b, " ]\n"...)
	})
	if err != nil {
		return err
	}
	bw.WriteString("  ]\n}\n")
	return bw.Flush()
}

// blockRows is how many rows one formatting goroutine handles at a time.
const blockRows = 8192

// writeRows formats rows with row (appending to its argument) and writes
// them in order. Formatting dominates a large export, so blocks of rows are
// formatted on all CPUs, one round of blocks at a time.
func writeRows(w io.Writer, rows int, row func(b []byte, r int) []byte) error {
	workers := max(1, runtime.GOMAXPROCS(0))
	bufs := make([][]byte, workers)
	for lo := 0; lo < rows; lo += workers * blockRows {
		var wg sync.WaitGroup
		for k := range workers {
			from := lo + k*blockRows
			to := min(from+blockRows, rows)
			bufs[k] = bufs[k][:0]
			if from >= to {
				continue
			}
			wg.Go(func() {
				b := bufs[k]
				for r := from; r < to; r++ {
					b = row(b, r)
				}
				bufs[k] = b
			})
		}
		wg.Wait()
		for _, b := range bufs {
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
	}
	return nil
}
