package graph

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// WriteInfo writes the layout as `rrdtool graphv` prints it: print[i],
// the geometry, the range and every legend text with its box, one
// "key = value" line each. The image itself is the caller's (image = …).
func (im *Image) WriteInfo(w io.Writer) error { return im.WriteInfoFor(w, "-", false) }

// WriteInfoFor is WriteInfo for an image written to file, with its
// image_info line (--imginfo); lazy (the image was not redrawn: Lazy)
// stops after the geometry, as rrdtool does.
func (im *Image) WriteInfoFor(w io.Writer, file string, lazy bool) error {
	b := make([]byte, 0, 1024)
	str := func(k, v string) {
		b = append(b, k...)
		b = append(b, " = \""...)
		b = append(b, v...)
		b = append(b, "\"\n"...)
	}
	cnt := func(k string, v int64) {
		b = append(b, k...)
		b = append(b, " = "...)
		b = strconv.AppendUint(b, uint64(v), 10)
		b = append(b, '\n')
	}
	val := func(k string, v float64) {
		b = append(b, k...)
		b = append(b, " = "...)
		b = append(b, infoValue(v)...)
		b = append(b, '\n')
	}
	for i, p := range im.Prints {
		str(fmt.Sprintf("print[%d]", i), p)
	}
	if im.Graphed {
		cnt("graph_left", int64(im.Left))
		cnt("graph_top", int64(im.Top))
		cnt("graph_width", int64(im.PlotW))
		cnt("graph_height", int64(im.PlotH))
		cnt("image_width", int64(im.Width))
		cnt("image_height", int64(im.Height))
		cnt("graph_start", im.Start)
		cnt("graph_end", im.End)
	}
	if im.Graphed && !lazy {
		val("value_min", im.Min)
		val("value_max", im.Max)
		for i, l := range im.Legend {
			str(fmt.Sprintf("legend[%d]", i), l.Text)
			str(fmt.Sprintf("coords[%d]", i), fmt.Sprintf("%s,%s,%s,%s",
				round0(l.X), round0(l.Y-float64(l.H)), round0(l.X+float64(l.W)), round0(l.Y)))
		}
	}
	if line, ok := im.ImageInfo(file); ok {
		str("image_info", line)
	}
	_, err := w.Write(b)
	return err
}

// infoValue is rrdtool's "%0.10e" of an info value, NaN as "NaN".
func infoValue(v float64) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	return cFloat(v, fmtPart{verb: 'e', prec: 10})
}

// round0 is C's "%.0f" (round half to even on the exact binary value).
func round0(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }

// Render draws a laid-out graph in the spec's image format (--imgformat);
// loc is the time zone of the time labels.
func Render(im *Image, loc *time.Location) ([]byte, error) {
	if loc == nil {
		loc = time.UTC
	}
	switch im.spec.Look.Format {
	case "", "PNG":
		return im.PNG(loc)
	case "SVG":
		return im.SVG(loc), nil
	case "PDF":
		return im.PDF(loc)
	}
	return nil, fmt.Errorf("image format %q is not supported", im.spec.Look.Format)
}
