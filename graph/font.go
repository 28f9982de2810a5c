package graph

import (
	"embed"
	"fmt"
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
	if DejaVuTTF() != nil {
		return "DejaVu Sans Mono"
	}
	return "Go Mono (DejaVu Sans Mono not embedded: build with make)"
}

// textFont is parsed once per process: the parsed font is read-only
// (faces made from it keep their own caches).
var textFont = sync.OnceValues(func() (*opentype.Font, error) {
	b := DejaVuTTF()
	if b == nil {
		b = gomono.TTF
	}
	f, err := opentype.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("font %s: %w", TextFontName(), err)
	}
	return f, nil
})
