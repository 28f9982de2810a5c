package graph

import (
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"io"
)

// encodePNG writes an RGBA canvas as a PNG, faster than image/png, which
// tries five row filters per row (most of its time on a graph). An opaque
// image of at most 256 colors — a graph without much antialiasing — is
// written with a palette, one byte a pixel, unfiltered; other opaque images
// as 8-bit RGB rows, unfiltered (on rrdash's graphs both smaller and
// faster to deflate than with the Sub filter, whose subtractions cost
// more than they gain), deflated by rowDeflater (rowdeflate.go: why not
// compress/flate). The pixels are the canvas's
// either way. interlace writes Adam7 passes (rrdtool's --interlaced), which
// image/png cannot. An image with transparency (a --color BACK with alpha)
// goes through image/png unless interlaced.
func encodePNG(w io.Writer, img *image.RGBA, interlace bool) error {
	opaque, pal, index := paletteOf(img)
	if opaque && pal == nil {
		// paletteOf stopped at the 257th color: the rest of the pixels are
		// checked for opacity as they are converted to RGB.
		idat, ok := pngRows(img, 3, nil, interlace)
		if ok {
			return writePNG(w, img, 2, nil, idat, interlace)
		}
		opaque = false
	}
	switch {
	case !opaque && !interlace:
		return (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(w, img)
	case !opaque:
		idat, _ := pngRows(img, 4, nil, interlace)
		return writePNG(w, img, 6, nil, idat, interlace)
	}
	idat, _ := pngRows(img, 1, index, interlace)
	return writePNG(w, img, 3, pal, idat, interlace)
}

// writePNG writes the chunks of a PNG of color type ctype.
func writePNG(w io.Writer, img *image.RGBA, ctype byte, pal, idat []byte, interlace bool) error {
	var hdr [13]byte
	binary.BigEndian.PutUint32(hdr[0:], uint32(img.Bounds().Dx()))
	binary.BigEndian.PutUint32(hdr[4:], uint32(img.Bounds().Dy()))
	hdr[8] = 8 // bits per sample
	hdr[9] = ctype
	if interlace {
		hdr[12] = 1
	}
	pw := &pngWriter{w: w}
	pw.write([]byte("\x89PNG\r\n\x1a\n"))
	pw.chunk("IHDR", hdr[:])
	if pal != nil {
		pw.chunk("PLTE", pal)
	}
	pw.chunk("IDAT", idat)
	pw.chunk("IEND", nil)
	return pw.err
}

// pngRows deflates the image's rows (Adam7 passes when interlaced) at bpp
// bytes a pixel: 1 through the palette index, 3 RGB, 4 RGBA
// un-premultiplied. For RGB it tells whether every pixel was opaque (when
// not, the stream is of no use).
func pngRows(img *image.RGBA, bpp int, index func([]byte) byte, interlace bool) ([]byte, bool) {
	b := img.Bounds()
	width, height := b.Dx(), b.Dy()
	zw := newRowDeflater(bpp, nil)
	alpha := uint8(0xff) // the AND of the RGB rows' alphas
	// A row: its filter byte, then its pixels (a pass's columns x0, x0+dx…).
	row := make([]byte, 1+width*bpp)
	writeRow := func(y, x0, dx int) {
		n := 0
		if x0 < width {
			n = (width - x0 + dx - 1) / dx
		}
		r := row[:1+n*bpp]
		p := img.Pix[(y-b.Min.Y)*img.Stride:]
		r[0] = 0 // filter None
		switch bpp {
		case 1:
			for i := range n {
				r[1+i] = index(p[4*(x0+i*dx):])
			}
		case 3:
			alpha &= rgbRow(r[1:], p[4*x0:], n, 4*dx)
		default: // RGBA, un-premultiplied
			for i := range n {
				q := p[4*(x0+i*dx):]
				a := q[3]
				o := 1 + 4*i
				if a == 0 {
					r[o], r[o+1], r[o+2], r[o+3] = 0, 0, 0, 0
					continue
				}
				r[o], r[o+1], r[o+2], r[o+3] = unpremul(q[0], a), unpremul(q[1], a), unpremul(q[2], a), a
			}
		}
		zw.writeRow(r)
	}
	passes := [][4]int{{0, 0, 1, 1}}
	if interlace { // Adam7: x0, y0, dx, dy of each pass
		passes = [][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}}
	}
	for _, ps := range passes {
		if ps[0] >= width || ps[1] >= height {
			continue // an empty pass has no rows at all
		}
		for y := ps[1]; y < height; y += ps[3] {
			writeRow(b.Min.Y+y, ps[0], ps[2])
			if alpha != 0xff {
				return nil, false
			}
		}
	}
	return zw.close(), true
}

// rgbRow writes n pixels of src (RGBA, stride bytes apart) to dst as RGB
// and returns the AND of their alphas (0xff: all opaque). Adjacent pixels
// (stride 4, all but interlaced passes) go four at a time: two 8-byte
// loads, the alpha bytes shifted out, 12 bytes stored.
func rgbRow(dst, src []byte, n, stride int) uint8 {
	if n == 0 {
		return 0xff
	}
	dst = dst[:3*n]
	src = src[:stride*(n-1)+4]
	alphas := uint64(0xff000000ff000000)
	if stride == 4 {
		for len(src) >= 16 && len(dst) >= 12 {
			a := binary.LittleEndian.Uint64(src)
			b := binary.LittleEndian.Uint64(src[8:])
			alphas &= a & b
			binary.LittleEndian.PutUint64(dst, a&0xffffff|a>>32&0xffffff<<24|b&0xffff<<48)
			binary.LittleEndian.PutUint32(dst[8:], uint32(b>>16&0xff|b>>32&0xffffff<<8))
			src, dst = src[16:], dst[12:]
		}
	}
	alpha := uint8(alphas>>24) & uint8(alphas>>56)
	for i, o := 0, 0; o+2 < len(dst); i, o = i+stride, o+3 {
		q := src[i : i+4 : i+4]
		d := dst[o : o+3 : o+3]
		d[0], d[1], d[2] = q[0], q[1], q[2]
		alpha &= q[3]
	}
	return alpha
}

// unpremul undoes premultiplied alpha as color.NRGBAModel (and image/png) do.
func unpremul(c, a uint8) uint8 { return uint8((uint32(c) * 0xffff / uint32(a)) >> 8) }

// paletteOf tells whether an image is opaque and, when it is and has at
// most 256 colors, returns the PLTE bytes and a pixel → index function
// (else nil). One pass over the pixels: colors are found through a small
// open-addressed table; runs of one color (most of a graph) skip it. It
// stops at the 257th color: "opaque" then means the pixels seen so far
// (the RGB writer checks the rest, no second pass).
func paletteOf(img *image.RGBA) (bool, []byte, func([]byte) byte) {
	const slots = 1024 // a power of two, 4× the most colors kept
	var keys [slots]uint32
	var idx [slots]byte
	var pal []byte
	n := 0
	find := func(c uint32) (int, bool) {
		h := (c * 0x9e3779b1) >> 22 // top 10 bits
		for {
			switch keys[h] {
			case c | 1<<24:
				return int(h), true
			case 0:
				return int(h), false
			}
			h = (h + 1) & (slots - 1)
		}
	}
	b := img.Bounds()
	h := b.Dy()
	lastW := uint32(0) // alpha 0: never an opaque pixel's word
	// Every step-th row from the middle on, wrapping around (step prime
	// to h: every row once): an antialiased curve shows the 257th color
	// soon wherever it is in the plot, where margins, title and legend
	// have few.
	step := 1
	for _, s := range []int{7, 11, 13, 17, 19} {
		if h%s != 0 {
			step = s
			break
		}
	}
	for k := 0; k < h; k++ {
		y := (h/2 + k*step) % h
		p := img.Pix[y*img.Stride : y*img.Stride+4*b.Dx()]
		for i := 0; i+3 < len(p); i += 4 {
			w := binary.LittleEndian.Uint32(p[i:])
			if w == lastW {
				continue // the color of the pixel before
			}
			lastW = w
			if w>>24 != 0xff {
				return false, nil, nil
			}
			c := uint32(p[i])<<16 | uint32(p[i+1])<<8 | uint32(p[i+2])
			h, ok := find(c)
			if ok {
				continue
			}
			if n == 256 {
				return true, nil, nil // opaque so far; the rest is not looked at
			}
			keys[h], idx[h] = c|1<<24, byte(n) // bit 24 marks a used slot
			pal = append(pal, p[i], p[i+1], p[i+2])
			n++
		}
	}
	lastC, lastI := uint32(1<<31), byte(0)
	return true, pal, func(q []byte) byte {
		c := uint32(q[0])<<16 | uint32(q[1])<<8 | uint32(q[2])
		if c != lastC {
			h, _ := find(c)
			lastC, lastI = c, idx[h]
		}
		return lastI
	}
}

// pngWriter writes chunks, keeping the first error.
type pngWriter struct {
	w   io.Writer
	err error
}

func (pw *pngWriter) write(b []byte) {
	if pw.err == nil {
		_, pw.err = pw.w.Write(b)
	}
}

func (pw *pngWriter) chunk(kind string, data []byte) {
	var hd [8]byte
	binary.BigEndian.PutUint32(hd[:4], uint32(len(data)))
	copy(hd[4:], kind)
	crc := crc32.NewIEEE()
	crc.Write(hd[4:])
	crc.Write(data)
	pw.write(hd[:])
	pw.write(data)
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc.Sum32())
	pw.write(sum[:])
}
