package graph

import (
	"embed"
	"fmt"
	"io"
	"io/fs"
	"sync"

	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/opentype"
)

// fontData holds DejaVu Sans Mono when make has copied it in (see
// fontdata/README.md); a plain go build embeds only the README.
//
//go:embed fontdata
var fontData embed.FS

const dejaVuFile = "fontdata/DejaVuSansMono.ttf"

// DejaVuTTF is DejaVu Sans Mono's TrueType file when this binary embeds
// it, else nil (built without make).
func DejaVuTTF() []byte {
	b, err := fontData.ReadFile(dejaVuFile)
	if err != nil {
		return nil
	}
	return b
}

// TextFontName names the font PNG and PDF text is drawn with.
func TextFontName() string {
	if _, err := fs.Stat(fontData, dejaVuFile); err == nil {
		return "DejaVu Sans Mono"
	}
	return "Go Mono (DejaVu Sans Mono not embedded: build with make)"
}

// textFont is parsed once per process: the parsed font is read-only
// (faces made from it keep their own caches).
//
// The embedded file is read where it lies (ReadAt), never copied whole:
// a graph draws a few dozen glyphs of its 340 kB, and a copy costs a
// one-shot `rrdash graph` its page faults.
var textFont = sync.OnceValues(func() (*opentype.Font, error) {
	var f *opentype.Font
	var err error
	if file, oerr := fontData.Open(dejaVuFile); oerr == nil {
		ra, ok := file.(io.ReaderAt)
		if !ok {
			return nil, fmt.Errorf("font %s: the embedded file cannot be read at offsets", dejaVuFile)
		}
		f, err = opentype.ParseReaderAt(ra)
	} else {
		f, err = opentype.Parse(gomono.TTF)
	}
	if err != nil {
		return nil, fmt.Errorf("font %s: %w", TextFontName(), err)
	}
	return f, nil
})
