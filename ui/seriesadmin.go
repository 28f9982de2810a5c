package ui

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/labstack/echo/v5"

	"rrdash/store"
)

// Deleting and renaming series over HTTP. Who may: seriesperm.go (API
// tokens need scope admin besides, routeScopes). A session's request
// carries the CSRF token as every other change does.

// SeriesAdmin is the part of the store that deletes and renames series;
// *store.DB has it. A store without it answers 501.
type SeriesAdmin interface {
	Delete(names ...string) error
	Rename(old, new string) error
}

var _ SeriesAdmin = (*store.DB)(nil)

func (s *Server) seriesAdmin() (SeriesAdmin, error) {
	a, ok := s.store.(SeriesAdmin)
	if !ok {
		return nil, echo.NewHTTPError(http.StatusNotImplemented, "this store cannot delete or rename series")
	}
	return a, nil
}

// apiDeleteSeries is DELETE /api/v1/series?name=A&name=B: every series or
// none (404 names an unknown one).
func (s *Server) apiDeleteSeries(c *echo.Context) error {
	a, err := s.seriesAdmin()
	if err != nil {
		return err
	}
	names := c.QueryParams()["name"]
	if len(names) == 0 {
		return echo.NewHTTPError(http.StatusBadRequest, "name: give one or more series (name=A&name=B)")
	}
	if err := s.refuseSeriesChange(c, names...); err != nil {
		return err
	}
	if err := a.Delete(names...); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return echo.NewHTTPError(http.StatusNotFound, err.Error())
		}
		return fmt.Errorf("deleting series: %w", err)
	}
	s.log.Info("series deleted", "series", names, "user", userHandle(c))
	return c.JSON(http.StatusOK, map[string]any{"deleted": names})
}

// apiRenameSeries is POST /api/v1/series/rename {"old": "a", "new": "b"}.
func (s *Server) apiRenameSeries(c *echo.Context) error {
	a, err := s.seriesAdmin()
	if err != nil {
		return err
	}
	var req struct {
		Old string `json:"old"`
		New string `json:"new"`
	}
	if err := c.Bind(&req); err != nil || req.Old == "" || req.New == "" {
		return echo.NewHTTPError(http.StatusBadRequest, `want a JSON body {"old": "name", "new": "name"}`)
	}
	if err := s.refuseSeriesChange(c, req.Old, req.New); err != nil {
		return err
	}
	if err := a.Rename(req.Old, req.New); err != nil {
		switch {
		case errors.Is(err, store.ErrNotFound):
			return echo.NewHTTPError(http.StatusNotFound, err.Error())
		case strings.Contains(err.Error(), "already exists"):
			return echo.NewHTTPError(http.StatusConflict, err.Error())
		}
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	s.log.Info("series renamed", "old", req.Old, "new", req.New, "user", userHandle(c))
	return c.JSON(http.StatusOK, map[string]string{"old": req.Old, "new": req.New})
}

// graphiteDelSeries is graphite-web's POST /tags/delSeries (path=…,
// repeated): it answers true, and, as graphite-web, a path that names no
// series is no error.
func (s *Server) graphiteDelSeries(c *echo.Context) error {
	a, err := s.seriesAdmin()
	if err != nil {
		return err
	}
	if err := c.Request().ParseForm(); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	paths := c.Request().Form["path"]
	if len(paths) == 0 {
		return c.JSON(http.StatusBadRequest, map[string]string{"error": "no path specified"})
	}
	if err := s.refuseSeriesChange(c, paths...); err != nil {
		return err
	}
	for _, p := range paths {
		// the name as given, else as Graphite normalizes it (tags sorted)
		err := a.Delete(p)
		if n := normalizeTagged(p); errors.Is(err, store.ErrNotFound) && n != p {
			err = a.Delete(n)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("deleting series %s: %w", p, err)
		}
	}
	s.log.Info("series deleted", "series", paths, "user", userHandle(c))
	return c.JSON(http.StatusOK, true)
}

// normalizeTagged sorts a tagged name's tags, as Graphite stores it.
func normalizeTagged(p string) string {
	path, rest, ok := strings.Cut(p, ";")
	if !ok {
		return p
	}
	tags := strings.Split(rest, ";")
	sort.SliceStable(tags, func(i, j int) bool {
		ki, _, _ := strings.Cut(tags[i], "=")
		kj, _, _ := strings.Cut(tags[j], "=")
		return ki < kj
	})
	return path + ";" + strings.Join(tags, ";")
}

func userHandle(c *echo.Context) string { return currentUser(c).Handle }

// sameSite refuses a form POST another site's page makes a browser send.
func sameSite(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if site := c.Request().Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
			return echo.NewHTTPError(http.StatusForbidden, "cross-site request refused")
		}
		return next(c)
	}
}
