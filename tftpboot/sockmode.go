package tftpboot

import "runtime"

// socketMode is which kind of socket a transfer gets: by default
// (socketsAuto) polledSocket decides per transfer; tests and benchmarks
// force one kind to compare them.
type socketMode uint8

const (
	socketsAuto     socketMode = iota // fdConn for the first GOMAXPROCS transfers, polledConn beyond
	socketsBlocking                   // always fdConn
	socketsPolled                     // always polledConn
)

// String names the mode as benchmarks print it.
func (m socketMode) String() string {
	switch m {
	case socketsBlocking:
		return "blocking"
	case socketsPolled:
		return "netpoller"
	}
	return "auto"
}

// polledSocket says whether the transfer starting now gets a polledConn
// instead of an fdConn. A blocking read on the transfer's own locked
// thread costs one wake-up per ACK, the fewest there are, as long as the
// woken thread finds a P (GOMAXPROCS) to run on. With more transfers
// than Ps, woken threads queue for Ps and each ACK also costs a hand-off
// of a P between threads; the netpoller then does better, waking many
// goroutines from one epoll_wait and running them on the Ps it has. So
// transfers beyond GOMAXPROCS running at once get a net.UDPConn
// (BenchmarkStorm and make bench-tftp measure both).
func (s *Server) polledSocket() bool {
	switch s.sockets {
	case socketsBlocking:
		return false
	case socketsPolled:
		return true
	}
	return s.stats.active.Load() > int64(runtime.GOMAXPROCS(0))
}
