package graph

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"time"

	"codeberg.org/go-pdf/fpdf"
)

// PDF renders the laid-out graph as a one-page PDF, one point per pixel,
// text in DejaVu Sans Mono (embedded, subset), as rrdtool's; in a build
// without make, the PDF core font Courier (monospaced too).
func (im *Image) PDF(loc *time.Location) ([]byte, error) {
	w, h := float64(im.Width), float64(im.Height)
	doc := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "pt", Size: fpdf.SizeType{Wd: w, Ht: h}})
	doc.SetMargins(0, 0, 0)
	doc.SetAutoPageBreak(false, 0)
	doc.SetCreator("rrdash", true)
	doc.AddPage()
	pp := &pdfPainter{doc: doc}
	if ttf := DejaVuTTF(); ttf != nil {
		// Embedded (subset) as rrdtool's cairo does; UTF-8 as given.
		doc.AddUTF8FontFromBytes("DejaVuSansMono", "", ttf)
		doc.SetFont("DejaVuSansMono", "", 8)
		pp.tr = func(s string) string { return s }
	} else {
		doc.SetFont("Courier", "", 8)
		pp.tr = doc.UnicodeTranslatorFromDescriptor("")
	}
	if err := doc.Error(); err != nil {
		return nil, fmt.Errorf("pdf: font: %w", err)
	}
	im.paint(pp, loc)
	if pp.clipped {
		doc.ClipEnd()
	}
	var buf bytes.Buffer
	if err := doc.Output(&buf); err != nil {
		return nil, fmt.Errorf("pdf: %w", err)
	}
	return buf.Bytes(), nil
}

type pdfPainter struct {
	doc     *fpdf.Fpdf
	tr      func(string) string
	clipped bool
}

func (pp *pdfPainter) setColor(c color.NRGBA, fill bool) {
	if fill {
		pp.doc.SetFillColor(int(c.R), int(c.G), int(c.B))
	} else {
		pp.doc.SetDrawColor(int(c.R), int(c.G), int(c.B))
	}
	pp.doc.SetAlpha(float64(c.A)/255, "Normal")
}

func (pp *pdfPainter) clip(r *[4]float64) {
	if pp.clipped {
		pp.doc.ClipEnd()
		pp.clipped = false
	}
	if r != nil {
		pp.doc.ClipRect(r[0], r[1], r[2]-r[0], r[3]-r[1], false)
		pp.clipped = true
	}
}

func (pp *pdfPainter) rect(x0, y0, x1, y1 float64, c color.NRGBA) {
	pp.setColor(c, true)
	pp.doc.Rect(x0, y0, x1-x0, y1-y0, "F")
}

func pdfPoints(p []pt) []fpdf.PointType {
	out := make([]fpdf.PointType, len(p))
	for i, q := range p {
		out[i] = fpdf.PointType{X: clampCoord(q.x), Y: clampCoord(q.y)}
	}
	return out
}

func (pp *pdfPainter) polygon(p []pt, c color.NRGBA) {
	if len(p) < 3 {
		return
	}
	pp.setColor(c, true)
	pp.doc.Polygon(pdfPoints(p), "F")
}

// gradPolygon clips to the polygon and paints a linear gradient over its
// bounds (PDF shadings here carry no alpha: the colors are drawn opaque).
func (pp *pdfPainter) gradPolygon(p []pt, y0 float64, c0 color.NRGBA, y1 float64, c1 color.NRGBA) {
	if len(p) < 3 {
		return
	}
	if y0 == y1 {
		pp.polygon(p, c1)
		return
	}
	b := bounds(p)
	w, h := b.maxX-b.minX, b.maxY-b.minY
	if !(w > 0 && h > 0) {
		return
	}
	pp.doc.SetAlpha(1, "Normal")
	pp.doc.ClipPolygon(pdfPoints(p), false)
	// the vector in the box's units, (0, 0) its lower left corner
	n := func(y float64) float64 { return (b.maxY - y) / h }
	pp.doc.LinearGradient(b.minX, b.minY, w, h, int(c0.R), int(c0.G), int(c0.B), int(c1.R), int(c1.G), int(c1.B), 0, n(y0), 0, n(y1))
	pp.doc.ClipEnd()
}

func (pp *pdfPainter) line(p []pt, w float64, c color.NRGBA, dash []float64, off float64) {
	if len(p) < 2 {
		return
	}
	pp.setColor(c, false)
	pp.doc.SetLineWidth(w)
	pp.doc.SetDashPattern(dash, off)
	q := pdfPoints(p)
	pp.doc.MoveTo(q[0].X, q[0].Y)
	for _, v := range q[1:] {
		pp.doc.LineTo(v.X, v.Y)
	}
	pp.doc.DrawPath("D")
	pp.doc.SetDashPattern(nil, 0)
}

func (pp *pdfPainter) text(x, y, size float64, s string, c color.NRGBA, up bool) {
	if s == "" {
		return
	}
	px := pxSize(size)
	pp.doc.SetFontSize(px)
	pp.doc.SetTextColor(int(c.R), int(c.G), int(c.B))
	pp.doc.SetAlpha(float64(c.A)/255, "Normal")
	s = pp.tr(s)
	asc := math.Ceil(px * monoAscent)
	if !up {
		pp.doc.Text(x, y+asc, s)
		return
	}
	w := pp.doc.GetStringWidth(s)
	pp.doc.TransformBegin()
	pp.doc.TransformRotate(90, x, y)
	pp.doc.Text(x-w/2, y+px*0.35, s)
	pp.doc.TransformEnd()
}
