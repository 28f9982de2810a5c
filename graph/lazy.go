package graph

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// checkImgInfo accepts an --imginfo format as rrdtool's bad_format_imginfo:
// text (%% for a percent sign) around exactly %s, %lu and %lu, in order.
func checkImgInfo(f string) error {
	want := []string{"%s", "%lu", "%lu"}
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		if strings.HasPrefix(f[i:], "%%") {
			i++
			continue
		}
		if len(want) == 0 || !strings.HasPrefix(f[i:], want[0]) {
			break
		}
		i += len(want[0]) - 1
		want = want[1:]
		if len(want) == 0 && !strings.Contains(strings.ReplaceAll(f[i+1:], "%%", ""), "%") {
			return nil
		}
	}
	return fmt.Errorf("invalid format string %q (want text with %%s, %%lu and %%lu in that order)", f)
}

// ImageInfo is the --imginfo line for an image written to file ("-":
// rrdtool's "memory"): the format with the file's base name, the image
// width and height. ok is false without --imginfo.
func (im *Image) ImageInfo(file string) (line string, ok bool) {
	f := im.look.ImgInfo
	if f == "" {
		return "", false
	}
	name := "memory"
	if file != "-" {
		name = filepath.Base(file)
	}
	args := []string{name, strconv.Itoa(im.Width), strconv.Itoa(im.Height)}
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		switch {
		case strings.HasPrefix(f[i:], "%%"):
			b.WriteByte('%')
			i++
		case strings.HasPrefix(f[i:], "%s"), strings.HasPrefix(f[i:], "%lu"):
			b.WriteString(args[0])
			args = args[1:]
			if f[i+1] == 'l' {
				i++
			}
			i++
		default:
			b.WriteByte(f[i])
		}
	}
	return b.String(), true
}

// Lazy reports whether, with --lazy, the image in file can stay as it is,
// as rrdtool's lazy_check: the file was written less than one pixel's
// worth of time ago (by now) and, for a PNG, reads as one. Writing to
// "-" is never lazy.
func (im *Image) Lazy(file string, now time.Time) bool {
	if !im.look.Lazy || file == "-" || im.PlotW <= 0 {
		return false
	}
	st, err := os.Stat(file)
	if err != nil {
		return false
	}
	if now.Unix()-st.ModTime().Unix() > (im.End-im.Start)/int64(im.PlotW) {
		return false
	}
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	if im.look.Format != "" && im.look.Format != "PNG" {
		return true
	}
	_, _, err = pngSize(f)
	return err == nil
}

// pngSize reads a PNG's width and height from its IHDR.
func pngSize(r io.Reader) (int, int, error) {
	var h [24]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, 0, fmt.Errorf("png header: %w", err)
	}
	if !bytes.Equal(h[:8], []byte("\x89PNG\r\n\x1a\n")) || string(h[12:16]) != "IHDR" {
		return 0, 0, errors.New("not a PNG")
	}
	return int(binary.BigEndian.Uint32(h[16:])), int(binary.BigEndian.Uint32(h[20:])), nil
}
