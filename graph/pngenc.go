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
	b := img.Bounds()
	width, height := b.Dx(), b.Dy()
	opaque, pal, index := paletteOf(img)
	if !opaque && !interlace {
		return (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(w, img)
	}
	var hdr [13]byte
	binary.BigEndian.PutUint32(hdr[0:], uint32(width))
	binary.BigEndian.PutUint32(hdr[4:], uint32(height))
	hdr[8] = 8 // bits per sample
	bpp := 1
	switch {
	case !opaque:
		hdr[9], bpp = 6, 4 // RGBA
	case pal != nil:
		hdr[9] = 3 // palette
	default:
		hdr[9], bpp = 2, 3 // RGB
	}
	if interlace {
		hdr[12] = 1
	}
	pw := &pngWriter{w: w}
	pw.write([]byte("\x89PNG\r\n\x1a\n"))
	pw.chunk("IHDR", hdr[:])
	if pal != nil {
		pw.chunk("PLTE", pal)
	}
	zw := newRowDeflater(bpp, nil)
	// A row: its filter byte, then its pixels (a pass's columns x0, x0+dx…).
	row := make([]byte, 1+width*bpp)
	writeRow := func(y, x0, dx int) {
		n := 0
		if x0 < width {
			n = (width - x0 + dx - 1) / dx
		}
		r := row[:1+n*bpp]
		p := img.Pix[(y-b.Min.Y)*img.Stride:]
		switch {
		case pal != nil:
			r[0] = 0 // None
			for i := range n {
				r[1+i] = index(p[4*(x0+i*dx):])
			}
		case bpp == 3:
			r[0] = 0 // None
			rgbRow(r[1:], p[4*x0:], n, 4*dx)
		default: // RGBA, un-premultiplied
			r[0] = 0
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
		}
	}
	pw.chunk("IDAT", zw.close())
	pw.chunk("IEND", nil)
	return pw.err
}

// rgbRow writes n pixels of src (RGBA, stride bytes apart) to dst as RGB.
// Adjacent pixels (stride 4, all but interlaced passes) go four at a
// time: two 8-byte loads, the alpha bytes shifted out, 12 bytes stored.
func rgbRow(dst, src []byte, n, stride int) {
	if n == 0 {
		return
	}
	dst = dst[:3*n]
	src = src[:stride*(n-1)+4]
	if stride == 4 {
		for len(src) >= 16 && len(dst) >= 12 {
			a := binary.LittleEndian.Uint64(src)
			b := binary.LittleEndian.Uint64(src[8:])
			binary.LittleEndian.PutUint64(dst, a&0xffffff|a>>32&0xffffff<<24|b&0xffff<<48)
			binary.LittleEndian.PutUint32(dst[8:], uint32(b>>16&0xff|b>>32&0xffffff<<8))
			src, dst = src[16:], dst[12:]
		}
	}
	for i, o := 0, 0; o+2 < len(dst); i, o = i+stride, o+3 {
		q := src[i : i+3 : i+3]
		d := dst[o : o+3 : o+3]
		d[0], d[1], d[2] = q[0], q[1], q[2]
	}
}

// unpremul undoes premultiplied alpha as color.NRGBAModel (and image/png) do.
func unpremul(c, a uint8) uint8 { return uint8((uint32(c) * 0xffff / uint32(a)) >> 8) }

// paletteOf tells whether an image is opaque and, when it is and has at
// most 256 colors, returns the PLTE bytes and a pixel → index function
// (else nil). One pass over the pixels: colors are found through a small
// open-addressed table; runs of one color (most of a graph) skip it.
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
	// Rows from the middle on, wrapping to the top: an antialiased plot
	// shows its 257th color there soon, where the margins, title and
	// legend above and below have few.
	for k := 0; k < h; k++ {
		y := (h/2 + k) % h
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
				return opaqueFrom(img, k, i), nil, nil
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

// opaqueFrom tells whether the pixels from the k-th row in paletteOf's
// order, byte i of it, on are opaque (two pixels a compare).
func opaqueFrom(img *image.RGBA, k, i int) bool {
	const alphas = 0xff000000ff000000
	b := img.Bounds()
	h := b.Dy()
	for ; k < h; k, i = k+1, 0 {
		y := (h/2 + k) % h
		p := img.Pix[y*img.Stride : y*img.Stride+4*b.Dx()]
		for p = p[i:]; len(p) >= 8; p = p[8:] {
			if binary.LittleEndian.Uint64(p)&alphas != alphas {
				return false
			}
		}
		if len(p) >= 4 && p[3] != 0xff {
			return false
		}
	}
	return true
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
