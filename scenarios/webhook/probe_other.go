//go:build !unix

package webhook

import "net"

// prober would tell whether the service closed an idle connection; without
// a portable non-blocking peek it cannot tell, and a request on a
// connection the service closed fails as an attempt (it is never sent
// again on its own). See probe_unix.go.
type prober struct{}

func (p *prober) init(net.Conn) {}

// closed reports false: it cannot tell.
func (p *prober) closed() bool { return false }
