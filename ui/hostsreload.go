package ui

// SetAllowedHosts replaces the allowed_hosts part of the Host allow-list
// while the server runs (serve's SIGHUP); the hosts of base_url, the OIDC
// redirect URL and the listen address stay as configured. A list that does
// not parse changes nothing.
func (s *Server) SetAllowedHosts(hosts []string) error {
	cfg := s.cfg
	cfg.AllowedHosts = hosts
	h, err := hostPolicy(cfg)
	if err != nil {
		return err
	}
	s.hosts.Store(h)
	return nil
}
