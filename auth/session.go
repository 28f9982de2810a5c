package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Session is a signed-in browser. ID is the hash of the cookie value: the
// database never holds a usable session id.
type Session struct {
	ID       string
	UserID   int64
	CSRF     string // per-session CSRF token
	IDToken  string // raw ID token, the id_token_hint at logout
	Created  time.Time
	LastSeen time.Time
}

// ErrNoSession is returned for an unknown, expired or missing session or
// pending login.
var ErrNoSession = errors.New("no session")

// SessionStore keeps sessions and pending logins; store/meta implements it.
type SessionStore interface {
	CreateSession(ctx context.Context, s Session) error
	// Session returns ErrNoSession (wrapped) when id is unknown.
	Session(ctx context.Context, id string) (Session, error)
	TouchSession(ctx context.Context, id string, t time.Time) error
	DeleteSession(ctx context.Context, id string) error
	// DeleteExpiredSessions deletes sessions last seen before idle or
	// created before absolute.
	DeleteExpiredSessions(ctx context.Context, idle, absolute time.Time) error
	PutLogin(ctx context.Context, id string, p Pending, created time.Time) error
	// TakeLogin returns and deletes a pending login (ErrNoSession if none),
	// so each can be finished once.
	TakeLogin(ctx context.Context, id string) (Pending, time.Time, error)
}

// SessionConfig sets expiry and cookie attributes.
type SessionConfig struct {
	Idle     time.Duration // a session unused this long ends (default 8h)
	Absolute time.Duration // a session ends this long after login (default 7 days)
	Secure   bool          // cookies only over https (and named __Host-…)
	Now      func() time.Time
}

// LoginTTL bounds the time between starting a login and its callback.
const LoginTTL = 10 * time.Minute

// touchEvery limits last-seen writes to one per session per minute.
const touchEvery = time.Minute

// Sessions manages session and pending-login cookies over a store.
type Sessions struct {
	store SessionStore
	cfg   SessionConfig
}

// NewSessions applies defaults.
func NewSessions(store SessionStore, cfg SessionConfig) *Sessions {
	if cfg.Idle <= 0 {
		cfg.Idle = 8 * time.Hour
	}
	if cfg.Absolute <= 0 {
		cfg.Absolute = 7 * 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Sessions{store: store, cfg: cfg}
}

// HashID is how a cookie value is stored.
func HashID(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:])
}

// SessionCookie and LoginCookie are the cookie names (with the __Host-
// prefix when Secure).
func (s *Sessions) SessionCookie() string { return s.name("rrdash_session") }
func (s *Sessions) LoginCookie() string   { return s.name("rrdash_login") }

func (s *Sessions) name(n string) string {
	if s.cfg.Secure {
		return "__Host-" + n
	}
	return n
}

func (s *Sessions) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: s.cfg.Secure, SameSite: http.SameSiteLaxMode}
}

// Begin creates a session for a user who just logged in, ending the
// browser's previous session if any: the id is always fresh (no fixation).
func (s *Sessions) Begin(ctx context.Context, w http.ResponseWriter, r *http.Request, userID int64, idToken string) (Session, error) {
	if c, err := r.Cookie(s.SessionCookie()); err == nil && c.Value != "" {
		if err := s.store.DeleteSession(ctx, HashID(c.Value)); err != nil {
			return Session{}, fmt.Errorf("end previous session: %w", err)
		}
	}
	now := s.cfg.Now()
	if err := s.store.DeleteExpiredSessions(ctx, now.Add(-s.cfg.Idle), now.Add(-s.cfg.Absolute)); err != nil {
		return Session{}, fmt.Errorf("expire sessions: %w", err)
	}
	value := RandomString(32)
	sess := Session{ID: HashID(value), UserID: userID, CSRF: RandomString(32), IDToken: idToken, Created: now, LastSeen: now}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return Session{}, fmt.Errorf("create session: %w", err)
	}
	// The cookie lives as long as the session can; the server decides.
	http.SetCookie(w, s.cookie(s.SessionCookie(), value, int(s.cfg.Absolute/time.Second)))
	return sess, nil
}

// fromCookie looks up the session named by the request's cookie; the id
// is the cookie's hash, as stored.
func (s *Sessions) fromCookie(ctx context.Context, r *http.Request) (string, Session, error) {
	c, err := r.Cookie(s.SessionCookie())
	if err != nil || c.Value == "" {
		return "", Session{}, ErrNoSession
	}
	id := HashID(c.Value)
	sess, err := s.store.Session(ctx, id)
	return id, sess, err
}

// Load returns the request's live session. An expired one is deleted.
func (s *Sessions) Load(ctx context.Context, r *http.Request) (Session, error) {
	id, sess, err := s.fromCookie(ctx, r)
	if err != nil {
		return Session{}, err
	}
	now := s.cfg.Now()
	if now.Sub(sess.LastSeen) > s.cfg.Idle || now.Sub(sess.Created) > s.cfg.Absolute {
		if err := s.store.DeleteSession(ctx, id); err != nil {
			return Session{}, fmt.Errorf("delete expired session: %w", err)
		}
		return Session{}, fmt.Errorf("session expired: %w", ErrNoSession)
	}
	if now.Sub(sess.LastSeen) >= touchEvery {
		if err := s.store.TouchSession(ctx, id, now); err != nil {
			return Session{}, fmt.Errorf("touch session: %w", err)
		}
		sess.LastSeen = now
	}
	return sess, nil
}

// End deletes the request's session (if any) and clears its cookie.
func (s *Sessions) End(ctx context.Context, w http.ResponseWriter, r *http.Request) (Session, error) {
	http.SetCookie(w, s.cookie(s.SessionCookie(), "", -1))
	id, sess, err := s.fromCookie(ctx, r)
	if err != nil {
		return Session{}, err
	}
	if err := s.store.DeleteSession(ctx, id); err != nil {
		return Session{}, fmt.Errorf("delete session: %w", err)
	}
	return sess, nil
}

// StartLogin keeps a pending login under a fresh cookie.
func (s *Sessions) StartLogin(ctx context.Context, w http.ResponseWriter, p Pending) error {
	value := RandomString(32)
	if err := s.store.PutLogin(ctx, HashID(value), p, s.cfg.Now()); err != nil {
		return fmt.Errorf("save pending login: %w", err)
	}
	http.SetCookie(w, s.cookie(s.LoginCookie(), value, int(LoginTTL/time.Second)))
	return nil
}

// TakeLogin returns (and forgets) the browser's pending login.
func (s *Sessions) TakeLogin(ctx context.Context, w http.ResponseWriter, r *http.Request) (Pending, error) {
	c, err := r.Cookie(s.LoginCookie())
	if err != nil || c.Value == "" {
		return Pending{}, fmt.Errorf("no login in progress in this browser: %w", ErrNoSession)
	}
	http.SetCookie(w, s.cookie(s.LoginCookie(), "", -1))
	p, created, err := s.store.TakeLogin(ctx, HashID(c.Value))
	if err != nil {
		return Pending{}, err
	}
	if s.cfg.Now().Sub(created) > LoginTTL {
		return Pending{}, fmt.Errorf("login started more than %s ago: %w", LoginTTL, ErrNoSession)
	}
	return p, nil
}

// CheckCSRF compares a submitted token with the session's in constant time.
func (sess Session) CheckCSRF(token string) bool {
	return sess.CSRF != "" && subtle.ConstantTimeCompare([]byte(sess.CSRF), []byte(token)) == 1
}
