//go:build unix

package webhook

import (
	"errors"
	"net"
	"syscall"
)

// prober looks at an idle connection's socket, without waiting and without
// consuming anything, to tell whether the service closed it (or reset it,
// or sent something unasked, which also makes it unfit for a request)
// while it sat in the pool: net/http learns the same from the read loop it
// runs on every idle connection. A look costs one system call and no
// allocation. A prober belongs to one fconn, used by one request at a time.
type prober struct {
	raw  syscall.RawConn // nil when the connection is not a socket
	peek func(fd uintptr) bool
	buf  [1]byte
	gone bool // the last look's verdict
}

// init binds the prober to nc's socket, when nc is one.
func (p *prober) init(nc net.Conn) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	p.raw = raw
	// Bound once: a method value made per request would allocate.
	p.peek = p.peekFD
}

// peekFD runs with the socket's descriptor, which Go keeps non-blocking:
// MSG_PEEK with nothing to read answers EAGAIN at once.
func (p *prober) peekFD(fd uintptr) bool {
	_, _, err := syscall.Recvfrom(int(fd), p.buf[:], syscall.MSG_PEEK)
	// EAGAIN: idle and open, as it should be. No error: the service's FIN
	// (0 bytes) or an answer nobody asked for. Any other error: a dead
	// socket. EINTR says nothing either way; the request goes ahead.
	p.gone = !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR)
	return true // never wait for the socket
}

// closed reports whether the connection is unfit for a request: closed,
// reset, or holding unasked bytes. It reports false when it cannot tell.
func (p *prober) closed() bool {
	if p.raw == nil {
		return false
	}
	p.gone = false
	if err := p.raw.Read(p.peek); err != nil {
		return true
	}
	return p.gone
}
