package graph

import (
	"cmp"
	"encoding/binary"
	"math/bits"
	"slices"
)

// rowDeflater writes a zlib stream (RFC 1950/1951) of PNG scanlines.
//
// Hand-written because compress/flate is measurably unfit for a graph
// drawn by a short-lived process: its BestSpeed writer allocates 1.2 MB
// per image (the 800×200 graph of BenchmarkRowDeflate; this encoder 0.33
// MB) and hashes every byte to find matches, at ~2× this encoder's CPU
// for a 20% larger stream, while most of a graph's repeats are
// at four distances known in advance: the pixel before and the one
// before that (runs; dotted horizontal lines), the row above and the one
// above that (repeated rows; dotted vertical lines). Those are compared
// directly; only where none matches (text, antialiased curves) is a
// small hash table of earlier 4-byte strings consulted (repeated
// labels). Matches are taken greedily and written with dynamic Huffman
// codes per block, as zlib does. The stream is plain deflate: any
// inflater reads it.
type rowDeflater struct {
	bpp     int      // bytes per pixel: the run distance
	hist    []byte   // the bytes written, from some point on: the window
	lastRow int      // the length of the row before (0: none)
	table   []int32  // hash of 4 bytes → 1 + their position in hist
	tokens  []uint32 // literal b: b; match: 1<<31 | (length-3)<<16 | distance
	litFreq [286]int32
	dstFreq [30]int32
	adler   uint32
	out     []byte
	acc     uint64 // bits not yet in out, LSB first
	nacc    uint
}

const (
	// maxBlockTokens bounds a block's token buffer (and so its memory):
	// a block's Huffman codes then also follow the image's changes.
	maxBlockTokens = 1 << 15
	window         = 32768 // deflate's farthest distance
	hashBits       = 13
)

func newRowDeflater(bpp int, out []byte) *rowDeflater {
	// zlib header: deflate, 32 KiB window, fastest (FLEVEL 0), FCHECK.
	return &rowDeflater{bpp: bpp, adler: 1, out: append(out, 0x78, 0x01),
		tokens: make([]uint32, 0, maxBlockTokens+1024), hist: make([]byte, 0, 3*window), table: make([]int32, 1<<hashBits)}
}

// writeRow appends one scanline (filter byte and pixels).
func (d *rowDeflater) writeRow(row []byte) {
	d.adler = adler32Add(d.adler, row)
	n := len(row)
	if len(d.hist)+n > cap(d.hist) && len(d.hist) > window {
		// Slide: keep the last window of history, move the table along.
		drop := len(d.hist) - window
		d.hist = d.hist[:copy(d.hist, d.hist[drop:])]
		for i, v := range d.table {
			d.table[i] = max(0, v-int32(drop))
		}
	}
	start := len(d.hist)
	d.hist = append(d.hist, row...)
	h := d.hist
	end := len(h)
	// Row distances: the row above when it was as long (an interlaced
	// pass changes the length), and the one above that.
	upDist := 0
	if d.lastRow == n && n <= window && start >= n {
		upDist = n
	}
	d.lastRow = n
	bpp := d.bpp
	for p := start; p < end; {
		// Candidates in order, each taken when longer than the best so
		// far (the pixel before wins ties: its distance costs no extra
		// bits). A far match costs ~10 extra bits: worth it from 5
		// bytes; a pixel-distance one from deflate's least, 3. A match
		// as long as deflate's longest (or the row's end) stops the
		// search: runs and repeated rows cost a compare per byte.
		cur := h[p:min(end, p+258)]
		c0 := cur[0]
		best, dist := 2, 0
		if p >= bpp && h[p-bpp] == c0 {
			if l := matchLen(cur, h[p-bpp:]); l >= 3 {
				best, dist = l, bpp
			}
		}
		if best < len(cur) && upDist > 0 {
			if h[p-upDist] == c0 {
				if l := matchLen(cur, h[p-upDist:]); l >= 5 && l > best {
					best, dist = l, upDist
				}
			}
			if best < len(cur) && p >= 2*upDist && 2*upDist <= window && h[p-2*upDist] == c0 {
				if l := matchLen(cur, h[p-2*upDist:]); l >= 5 && l > best {
					best, dist = l, 2*upDist
				}
			}
		}
		if best < len(cur) && p >= 2*bpp && h[p-2*bpp] == c0 {
			if l := matchLen(cur, h[p-2*bpp:]); l >= 3 && l > best {
				best, dist = l, 2*bpp
			}
		}
		if dist == 0 && len(cur) >= 4 {
			k := binary.LittleEndian.Uint32(cur) * 0x1e35a7bd >> (32 - hashBits)
			if c := int(d.table[k]) - 1; c >= 0 && p-c <= window && h[c] == c0 {
				if l := matchLen(cur, h[c:]); l >= 5 {
					best, dist = l, p-c
				}
			}
			d.table[k] = int32(p + 1)
		}
		if dist != 0 {
			d.match(best, dist)
			p += best
			continue
		}
		d.tokens = append(d.tokens, uint32(h[p]))
		d.litFreq[h[p]]++
		p++
	}
	if len(d.tokens) >= maxBlockTokens {
		d.block(false)
	}
}

// match records a match of length l (any length: split into ≤ 258 pieces,
// none shorter than 3) at distance dist.
func (d *rowDeflater) match(l, dist int) {
	dc := distCode(dist)
	for l > 0 {
		m := min(l, 258)
		if l-m > 0 && l-m < 3 {
			m = l - 3 // leave a piece of 3
		}
		d.tokens = append(d.tokens, 1<<31|uint32(m-3)<<16|uint32(dist))
		d.litFreq[257+lenCode(m)]++
		d.dstFreq[dc]++
		l -= m
	}
}

// matchLen is the length of the common prefix of a and b (a no longer than b).
func matchLen(a, b []byte) int {
	n := 0
	for len(a) >= 8 {
		x := binary.LittleEndian.Uint64(a) ^ binary.LittleEndian.Uint64(b)
		if x != 0 {
			return n + bits.TrailingZeros64(x)>>3
		}
		a, b, n = a[8:], b[8:], n+8
	}
	for i := range a {
		if a[i] != b[i] {
			return n + i
		}
	}
	return n + len(a)
}

// close ends the stream (the last block, the Adler-32) and returns it.
func (d *rowDeflater) close() []byte {
	d.block(true)
	d.flushBits()
	return binary.BigEndian.AppendUint32(d.out, d.adler)
}

// atLeastTwoCodes gives unused symbols a count until at least two are
// used, so the Huffman code built from f is complete.
func atLeastTwoCodes(f []int32) {
	used := 0
	for _, c := range f {
		if c > 0 {
			used++
		}
	}
	for i := 0; used < 2; i++ {
		if f[i] == 0 {
			f[i], used = 1, used+1
		}
	}
}

// block writes the tokens so far as one dynamic-Huffman block.
func (d *rowDeflater) block(final bool) {
	d.litFreq[256]++ // end of block
	atLeastTwoCodes(d.litFreq[:])
	atLeastTwoCodes(d.dstFreq[:])
	var litLen [286]uint8
	var dstLen [30]uint8
	huffLengths(d.litFreq[:], litLen[:], 15)
	huffLengths(d.dstFreq[:], dstLen[:], 15)
	nlit := 286
	for nlit > 257 && litLen[nlit-1] == 0 {
		nlit--
	}
	ndst := 30
	for ndst > 1 && dstLen[ndst-1] == 0 {
		ndst--
	}
	// The two length sequences, run-length coded with symbols 16–18.
	var all [286 + 30]uint8
	seq := append(append(all[:0], litLen[:nlit]...), dstLen[:ndst]...)
	var clSyms [286 + 30]uint16 // symbol | extra<<8
	syms := clSyms[:0]
	var clFreq [19]int32
	for i := 0; i < len(seq); {
		v := seq[i]
		r := 1
		for i+r < len(seq) && seq[i+r] == v {
			r++
		}
		i += r
		if v == 0 {
			for r >= 11 {
				k := min(r, 138)
				syms = append(syms, 18|uint16(k-11)<<8)
				clFreq[18]++
				r -= k
			}
			if r >= 3 {
				syms = append(syms, 17|uint16(r-3)<<8)
				clFreq[17]++
				r = 0
			}
		} else {
			syms = append(syms, uint16(v))
			clFreq[v]++
			r--
			for r >= 3 {
				k := min(r, 6)
				syms = append(syms, 16|uint16(k-3)<<8)
				clFreq[16]++
				r -= k
			}
		}
		for ; r > 0; r-- {
			syms = append(syms, uint16(v))
			clFreq[v]++
		}
	}
	atLeastTwoCodes(clFreq[:])
	var clLen [19]uint8
	huffLengths(clFreq[:], clLen[:], 7)
	order := [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
	ncl := 19
	for ncl > 4 && clLen[order[ncl-1]] == 0 {
		ncl--
	}
	fin := uint64(0)
	if final {
		fin = 1
	}
	d.bits(fin|2<<1, 3) // BFINAL, BTYPE 10: dynamic
	d.bits(uint64(nlit-257), 5)
	d.bits(uint64(ndst-1), 5)
	d.bits(uint64(ncl-4), 4)
	for _, s := range order[:ncl] {
		d.bits(uint64(clLen[s]), 3)
	}
	var clCode [19]uint16
	huffCodes(clLen[:], clCode[:])
	for _, s := range syms {
		v := s & 0xff
		d.bits(uint64(clCode[v]), uint(clLen[v]))
		switch v {
		case 16:
			d.bits(uint64(s>>8), 2)
		case 17:
			d.bits(uint64(s>>8), 3)
		case 18:
			d.bits(uint64(s>>8), 7)
		}
	}
	var litCode [286]uint16
	var dstCode [30]uint16
	huffCodes(litLen[:], litCode[:])
	huffCodes(dstLen[:], dstCode[:])
	for _, t := range d.tokens {
		if t < 256 {
			d.bits(uint64(litCode[t]), uint(litLen[t]))
			continue
		}
		l := int(t>>16&0x7fff) + 3
		lc := lenCode(l)
		d.bits(uint64(litCode[257+lc]), uint(litLen[257+lc]))
		if eb := lenExtra[lc]; eb > 0 {
			d.bits(uint64(l-int(lenBase[lc])), uint(eb))
		}
		dist := int(t & 0xffff)
		dc := distCode(dist)
		d.bits(uint64(dstCode[dc]), uint(dstLen[dc]))
		if eb := distExtra(dc); eb > 0 {
			d.bits(uint64(dist-distBase(dc)), eb)
		}
	}
	d.bits(uint64(litCode[256]), uint(litLen[256]))
	d.tokens = d.tokens[:0]
	clear(d.litFreq[:])
	clear(d.dstFreq[:])
}

// bits appends the n low bits of v (n ≤ 32), LSB first.
func (d *rowDeflater) bits(v uint64, n uint) {
	d.acc |= v << d.nacc
	d.nacc += n
	if d.nacc >= 32 {
		d.out = binary.LittleEndian.AppendUint32(d.out, uint32(d.acc))
		d.acc >>= 32
		d.nacc -= 32
	}
}

func (d *rowDeflater) flushBits() {
	for d.nacc > 0 {
		d.out = append(d.out, byte(d.acc))
		d.acc >>= 8
		d.nacc -= min(d.nacc, 8)
	}
	d.acc, d.nacc = 0, 0
}

// Length codes (RFC 1951 3.2.5): lenBase and lenExtra are each code's
// first length and extra bits (code c is symbol 257+c).
var (
	lenBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
)

// lenCode is the length code of a match of length l (3–258): lengths
// 3–10 one code each, then four codes per power of two.
func lenCode(l int) int {
	v := l - 3
	switch {
	case v == 255:
		return 28
	case v < 8:
		return v
	}
	e := bits.Len(uint(v)) - 3
	return 4*e + 4 + (v>>e)&3
}

// distCode is the distance code of a distance 1–32768: codes 0–3 are
// distances 1–4, then two codes per power of two.
func distCode(dist int) int {
	if dist <= 4 {
		return dist - 1
	}
	e := bits.Len(uint(dist-1)) - 1 // ≥ 2
	return 2*e + int((dist-1)>>(e-1)&1)
}

func distExtra(code int) uint {
	if code < 4 {
		return 0
	}
	return uint(code/2 - 1)
}

func distBase(code int) int {
	if code < 4 {
		return code + 1
	}
	e := code/2 - 1
	return 1 + (2+code&1)<<e
}

// huffLengths sets lens[i] to the code length of symbol i for the
// frequencies freq (0: unused), at most maxBits long. Huffman's lengths,
// then, when too long, the count of codes per length is corrected until
// the code is complete again (Kraft sum 1), longest codes to the rarest
// symbols.
func huffLengths(freq []int32, lens []uint8, maxBits int) {
	type leaf struct {
		f   int32
		sym uint16
	}
	var buf [286]leaf
	ls := buf[:0]
	for s, f := range freq {
		lens[s] = 0
		if f > 0 {
			ls = append(ls, leaf{f, uint16(s)})
		}
	}
	slices.SortFunc(ls, func(a, b leaf) int {
		if c := cmp.Compare(a.f, b.f); c != 0 {
			return c
		}
		return cmp.Compare(a.sym, b.sym)
	})
	n := len(ls)
	if n == 0 {
		return
	}
	if n == 1 {
		lens[ls[0].sym] = 1
		return
	}
	// Two queues: leaves in order, internal nodes in creation order
	// (their weights come out sorted too). parent[] links every node.
	var w [2 * 286]int64
	var parent [2 * 286]int32
	for i, l := range ls {
		w[i] = int64(l.f)
	}
	li, ii, next := 0, n, n
	pick := func() int {
		if li < n && (ii >= next || w[li] <= w[ii]) {
			li++
			return li - 1
		}
		ii++
		return ii - 1
	}
	for next < 2*n-1 {
		a, b := pick(), pick()
		w[next] = w[a] + w[b]
		parent[a], parent[b] = int32(next), int32(next)
		next++
	}
	// depth of each node from the root (the last one)
	var depth [2 * 286]int
	depth[2*n-2] = 0
	for k := 2*n - 3; k >= 0; k-- {
		depth[k] = depth[parent[k]] + 1
	}
	var count [64]int
	for i := range n {
		count[min(depth[i], 63)]++
	}
	// Too long: fold the longer lengths into maxBits, then shorten the
	// tree's oversubscription one code at a time.
	for l := maxBits + 1; l < 64; l++ {
		count[maxBits] += count[l]
		count[l] = 0
	}
	total := 0
	for l := 1; l <= maxBits; l++ {
		total += count[l] << (maxBits - l)
	}
	for total > 1<<maxBits {
		count[maxBits]--
		for l := maxBits - 1; l > 0; l-- {
			if count[l] > 0 {
				count[l]--
				count[l+1] += 2
				break
			}
		}
		total--
	}
	// Lengths by rarity: the rarest symbols (first in ls) get the longest.
	k := 0
	for l := maxBits; l > 0; l-- {
		for range count[l] {
			lens[ls[k].sym] = uint8(l)
			k++
		}
	}
}

// huffCodes sets the canonical codes of the lengths (RFC 1951 3.2.2),
// bit-reversed for deflate's LSB-first order.
func huffCodes(lens []uint8, codes []uint16) {
	var count [16]uint16
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	var next [16]uint16
	code := uint16(0)
	for l := 1; l < 16; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	for s, l := range lens {
		if l > 0 {
			codes[s] = bits.Reverse16(next[l]) >> (16 - l)
			next[l]++
		}
	}
}

// adler32Add adds p to the Adler-32 checksum a (RFC 1950), eight bytes
// a step: hash/adler32 adds a byte at a time, ~5 instructions a byte, a
// tenth of a graph's encoding. For bytes b0…b7, s1 grows by their sum
// and s2 by 8·s1 + 8·b0 + 7·b1 + … + 1·b7: the even and odd bytes are
// spread into 16-bit lanes and summed and weighted by one multiply each
// (no lane exceeds 16 bits, so no carry crosses lanes).
func adler32Add(a uint32, p []byte) uint32 {
	const (
		mod  = 65521
		nmax = 5552 // the most bytes before s2 could overflow 32 bits; a multiple of 8
		lane = 0x00ff00ff00ff00ff
	)
	s1, s2 := uint64(a&0xffff), uint64(a>>16)
	for len(p) > 0 {
		c := p[:min(len(p), nmax)]
		p = p[len(c):]
		for ; len(c) >= 8; c = c[8:] {
			x := binary.LittleEndian.Uint64(c[:8])
			even := x & lane       // b0, b2, b4, b6 from the lowest lane up
			odd := (x >> 8) & lane // b1, b3, b5, b7
			s2 += 8*s1 + (even*(2|4<<16|6<<32|8<<48))>>48 + (odd*(1|3<<16|5<<32|7<<48))>>48
			s1 += ((even + odd) * 0x0001000100010001) >> 48
		}
		for _, b := range c {
			s1 += uint64(b)
			s2 += s1
		}
		s1 %= mod
		s2 %= mod
	}
	return uint32(s2<<16 | s1)
}
