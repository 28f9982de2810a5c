package tracelog

import (
	"context"
	"log/slog"
	"strings"
)

// lineHandler renders records as "msg key=value…" lines for assertions.
type lineHandler struct{ b *strings.Builder }

func (h *lineHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	h.b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		h.b.WriteString(" " + a.Key + "=" + a.Value.String())
		return true
	})
	h.b.WriteString(" \n")
	return nil
}
func (h *lineHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *lineHandler) WithGroup(string) slog.Handler      { return h }

func slogNew(h slog.Handler) *slog.Logger { return slog.New(h) }
