package datagram

import (
	"encoding/binary"
	"net"
	"syscall"
)

const oobSize = 64

// enableDropCount asks the kernel to attach its count of datagrams
// dropped on this socket to each datagram read (SO_RXQ_OVFL).
func enableDropCount(pc *net.UDPConn) bool {
	rc, err := pc.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RXQ_OVFL, 1)
	}); err != nil || serr != nil {
		return false
	}
	return true
}

// dropCount finds the SO_RXQ_OVFL counter (a uint32 in host byte order)
// among the control messages.
func dropCount(oob []byte) (int64, bool) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, m := range msgs {
		if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SO_RXQ_OVFL && len(m.Data) >= 4 {
			return int64(binary.NativeEndian.Uint32(m.Data)), true
		}
	}
	return 0, false
}
