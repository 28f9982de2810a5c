package store

// Archive file I/O: descriptors read and written with pread/pwrite, an
// archive's view of its file (a place in a pack: a base offset).

import (
	"bytes"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// readRange returns n bytes at off, from buf (the file's start) when it
// holds them.
func readRange(f archFD, buf []byte, off, n int64) ([]byte, error) {
	if off+n <= int64(len(buf)) {
		return buf[off : off+n], nil
	}
	b := make([]byte, n)
	if got, err := f.readAt(b, off); int64(got) < n {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

// fileFD is an archive's open file used through plain syscalls: os.File
// adds four fcntl and an epoll_ctl to every open, half the syscalls of
// updating one series from the CLI.
type fileFD int

func openFD(path string) (fileFD, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return fileFD(fd), nil
	}
}

func (f fileFD) readAt(b []byte, off int64) (int, error) {
	done := 0
	for done < len(b) {
		n, err := syscall.Pread(int(f), b[done:], off+int64(done))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return done, err
		}
		if n == 0 {
			return done, io.EOF
		}
		done += n
	}
	return done, nil
}

func (f fileFD) writeAt(b []byte, off int64) error {
	for len(b) > 0 {
		n, err := syscall.Pwrite(int(f), b, off)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return io.ErrShortWrite
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

func (f fileFD) close() error { return syscall.Close(int(f)) }

// archFD is an open archive: a file of its own (base 0) or the pack file
// holding it, whose offsets are relative to base, where the archive
// starts — every archive keeps the same layout wherever it lies.
type archFD struct {
	fd   fileFD // -1 while the fd cache has it closed
	base int64
}

func (f archFD) readAt(b []byte, off int64) (int, error) { return f.fd.readAt(b, f.base+off) }

func (f archFD) writeAt(b []byte, off int64) error { return f.fd.writeAt(b, f.base+off) }

func allZero(b []byte) bool {
	// compared a page at a time (memequal is vectorised; a byte loop was
	// a twentieth of a time-major stream's commit)
	for len(b) > 0 {
		n := min(len(b), len(zeroPage))
		if !bytes.Equal(b[:n], zeroPage[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}

var zeroPage [pageSize]byte

// syncFS flushes the whole file system holding f (syncfs(2)).
func syncFS(f *os.File) error {
	_, _, errno := syscall.Syscall(unix.SYS_SYNCFS, f.Fd(), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
