package rrdcached

import (
	"strings"

	storeremote "rrdash/store/remote"
)

// extHandler answers one of rrdash's own commands (XCREATE XUPDATE XFETCH
// XINFO XLIST, defined with their client in store/remote): the CLI runs
// through them with the store's exact values and error texts.
func extHandler(name string) handler {
	return func(s *Server, c *conn, args []string) reply {
		r, _ := storeremote.ServeExt(c.ctx, s.st, name, args)
		switch {
		case r.Err:
		case name == "XDELETE":
			for _, n := range args {
				s.dropImage(n)
			}
		case name == "XRENAME" && len(args) > 0:
			s.dropImage(args[0])
		}
		if r.Err {
			msg := string(storeremote.WriteReply(nil, r))
			return reply{err: true, msg: strings.TrimPrefix(msg, "-1 ")}
		}
		var body strings.Builder
		for _, l := range r.Lines {
			body.WriteString(l)
			body.WriteByte('\n')
		}
		return reply{msg: r.Msg + "\n", body: []byte(body.String()), wait: r.Wait}
	}
}
