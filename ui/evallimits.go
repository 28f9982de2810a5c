package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"rrdash/rpn"
	"rrdash/store/cluster"
)

// Every request that evaluates DEF/CDEF/VDEF lines (xport, charts, PNGs,
// monitor charts) runs under a work budget and a time limit, and stops
// when its client goes away.

const (
	// DefaultEvalBudget is the work one request may do, in row-operations
	// (rpn's unit: an operator on one row, or one sample a window or set
	// operator visits): a few seconds of CPU at most.
	DefaultEvalBudget = rpn.DefaultBudget
	// DefaultEvalTimeout stops an evaluation the budget let through that
	// still runs this long (a slow disk, a loaded machine).
	DefaultEvalTimeout = 30 * time.Second
	// statusClientClosed is nginx's code for a request whose client left
	// before the answer: only the access log sees it.
	statusClientClosed = 499
)

// evalBudget is the budget handed to rpn/graph (0: none).
func (s *Server) evalBudget() int64 {
	switch b := s.cfg.EvalBudget; {
	case b == 0:
		return DefaultEvalBudget
	case b < 0:
		return 0
	default:
		return b
	}
}

// evalContext is the request's context (cancelled when the client goes
// away) bounded by the evaluation timeout.
func (s *Server) evalContext(c *echo.Context) (context.Context, context.CancelFunc) {
	t := s.cfg.EvalTimeout
	if t == 0 {
		t = DefaultEvalTimeout
	}
	if t < 0 {
		return context.WithCancel(c.Request().Context())
	}
	return context.WithTimeoutCause(c.Request().Context(), t, errEvalTimeout{t})
}

// errEvalTimeout is the cause of an evaluation stopped by the timeout.
type errEvalTimeout struct{ d time.Duration }

func (e errEvalTimeout) Error() string {
	return fmt.Sprintf("evaluation took longer than eval_timeout (%s)", e.d)
}

// evalError answers a failed evaluation: 422 over the budget (naming the
// operator, the cost and the limit), 503 past the timeout, 499 when the
// client left; else the 400 of a spec error.
func evalError(err error) error {
	var be *rpn.BudgetError
	var te errEvalTimeout
	switch {
	case errors.As(err, &be):
		body := apiError{Error: be.Error(), Cost: be.Cost, Limit: be.Limit}
		if be.Worst.Pos > 0 {
			body.Pos, body.Token = be.Worst.Pos, be.Worst.Token
		}
		if be.Worst.Stmt != "" {
			body.Stmt = be.Worst.Stmt
		}
		return &jsonError{code: http.StatusUnprocessableEntity, body: body}
	case errors.As(err, &te):
		return echo.NewHTTPError(http.StatusServiceUnavailable, te.Error()).Wrap(err)
	case errors.Is(err, context.Canceled):
		return echo.NewHTTPError(statusClientClosed, "client closed the request").Wrap(err)
	case errors.Is(err, cluster.ErrUnavailable): // cluster mode: no replica of a shard answers now
		return echo.NewHTTPError(http.StatusServiceUnavailable, err.Error()).Wrap(err)
	}
	return specError(err)
}
