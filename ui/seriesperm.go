package ui

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v5"
)

// Who may delete and rename series (the builder's series panel, DELETE
// /api/v1/series, POST /api/v1/series/rename, /tags/delSeries):
//
//   - with no [series_admin] section: every signed-in user, as for code
//     monitors (and the local user of the single-user mode);
//   - with one: the users listed in admins (any series), and the users of
//     an [[series_admin.owners]] entry for the series under its prefix —
//     a rename needs the old and the new name there;
//   - the single-user mode's local user always (it is the only user).
//
// An API token acts as its user and needs scope admin besides
// (routeScopes). The UI shows the controls only to who may use them; the
// handlers check again.

// SeriesAdminConfig is the [series_admin] section.
type SeriesAdminConfig struct {
	// Admins are user handles that may delete and rename any series.
	Admins []string `toml:"admins"`
	// Owners give users the series under a name prefix.
	Owners []SeriesOwner `toml:"owners"`
}

// SeriesOwner is one [[series_admin.owners]] entry.
type SeriesOwner struct {
	Prefix string   `toml:"prefix"` // e.g. "team-a." (a plain prefix, no glob)
	Users  []string `toml:"users"`
}

// Validate refuses entries that would grant nothing or everything by
// mistake.
func (c SeriesAdminConfig) Validate() error {
	for i, o := range c.Owners {
		switch {
		case o.Prefix == "":
			return fmt.Errorf("owners[%d]: prefix is empty (list the user in admins to allow every series)", i)
		case strings.ContainsAny(o.Prefix, "*?[{"):
			return fmt.Errorf("owners[%d]: prefix %q is a plain name prefix, not a glob", i, o.Prefix)
		case len(o.Users) == 0:
			return fmt.Errorf("owners[%d]: prefix %q has no users", i, o.Prefix)
		}
	}
	for _, a := range c.Admins {
		if a == "" {
			return errors.New("admins: an empty user handle")
		}
	}
	return nil
}

func (c SeriesAdminConfig) configured() bool { return len(c.Admins) > 0 || len(c.Owners) > 0 }

// mayChangeSeries reports whether the request's user may delete or
// rename every one of names.
func (s *Server) mayChangeSeries(c *echo.Context, names ...string) bool {
	if s.cfg.LocalMode || !s.cfg.SeriesAdmin.configured() {
		return true
	}
	h := currentUser(c).Handle
	if h == "" {
		return false
	}
	if slices.Contains(s.cfg.SeriesAdmin.Admins, h) {
		return true
	}
	for _, n := range names {
		owned := false
		for _, o := range s.cfg.SeriesAdmin.Owners {
			if strings.HasPrefix(n, o.Prefix) && slices.Contains(o.Users, h) {
				owned = true
				break
			}
		}
		if !owned {
			return false
		}
	}
	return len(names) > 0
}

func (s *Server) refuseSeriesChange(c *echo.Context, names ...string) error {
	if s.mayChangeSeries(c, names...) {
		return nil
	}
	return echo.NewHTTPError(http.StatusForbidden, "you may not delete or rename "+strings.Join(names, ", ")+" ([series_admin] in the configuration says who may)")
}
