package managed

import (
	"context"
	"fmt"
)

// ServerAt returns the process listening on addr (a data node or a
// sentinel), or nil.
func (d *Deployment) ServerAt(addr string) *Server {
	for _, s := range d.Servers() {
		if s.Addr() == addr {
			return s
		}
	}
	return nil
}

// Kill stops s at once (SIGKILL), as a crash would. The deployment keeps
// it in its lists, so that Restart can start it again.
func (d *Deployment) Kill(s *Server) { s.Stop() }

// Restart starts a stopped (killed) server again on the same port, in the
// same directory, with its configuration file as the server left it (a
// sentinel may have rewritten it), and waits until it answers PING. The
// new process replaces the old one in the deployment, which Close then
// stops. It returns the new process. Restarting a server still running is
// an error. Data is not kept: deployments have no persistence.
func (d *Deployment) Restart(ctx context.Context, s *Server) (*Server, error) {
	if !s.Exited() {
		return nil, fmt.Errorf("managed: %s %s: restart: still running", s.role, s.Addr())
	}
	spec := s.spec
	spec.keepConf = true
	ns, _, err := startOn(ctx, spec, s.port)
	if err != nil {
		return nil, fmt.Errorf("managed: restarting %s %s: %w", s.role, s.Addr(), err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		ns.Stop()
		return nil, fmt.Errorf("managed: restart: the deployment is closed")
	}
	replaced := false
	for _, list := range []*[]*Server{&d.primaries, &d.replicas, &d.sentinels} {
		for i, x := range *list {
			if x == s {
				(*list)[i], replaced = ns, true
			}
		}
	}
	if !replaced {
		ns.Stop()
		return nil, fmt.Errorf("managed: restart: %s %s is not part of the deployment", s.role, s.Addr())
	}
	return ns, nil
}
