//go:build !linux

package datagram

import "net"

const oobSize = 0

func enableDropCount(*net.UDPConn) bool { return false }

func dropCount([]byte) (int64, bool) { return 0, false }
