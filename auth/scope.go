package auth

import (
	"fmt"
	"strings"
)

// Scope limits what an API token may do. The scopes nest except push:
// admin ⊇ write ⊇ read, and write and admin may push too; push alone
// reaches nothing but the ingest endpoints, so a token on a host that
// only sends metrics cannot read data, change graphs or run code.
type Scope string

// The token scopes, narrowest first.
const (
	// ScopePush allows only push ingest (/api/v1/write, /api/v1/points).
	ScopePush Scope = "push"
	// ScopeRead allows reading: series, data, charts, graphs, monitors.
	ScopeRead Scope = "read"
	// ScopeWrite adds saving, changing and deleting graphs, and push.
	ScopeWrite Scope = "write"
	// ScopeAdmin adds creating, changing, deleting and running code
	// monitors, which runs code on the server.
	ScopeAdmin Scope = "admin"
)

// Scopes lists every scope, narrowest first.
var Scopes = []Scope{ScopePush, ScopeRead, ScopeWrite, ScopeAdmin}

// ParseScope checks a scope's name.
func ParseScope(s string) (Scope, error) {
	for _, sc := range Scopes {
		if s == string(sc) {
			return sc, nil
		}
	}
	names := make([]string, len(Scopes))
	for i, sc := range Scopes {
		names[i] = string(sc)
	}
	return "", fmt.Errorf("token scope %q: want one of %s", s, strings.Join(names, ", "))
}

// Allows reports whether a token of scope s may do what needs scope need.
func (s Scope) Allows(need Scope) bool {
	switch s {
	case ScopeAdmin:
		return need == ScopeAdmin || need == ScopeWrite || need == ScopeRead || need == ScopePush
	case ScopeWrite:
		return need == ScopeWrite || need == ScopeRead || need == ScopePush
	case ScopeRead:
		return need == ScopeRead
	case ScopePush:
		return need == ScopePush
	}
	return false
}
